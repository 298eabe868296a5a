#include "outputs/http/elasticsearch_document.hpp"

#include "core/http/http_view.hpp"
#include "outputs/http/request_framing.hpp"

#include <charconv>
#include <ctime>
#include <stdexcept>

namespace coreplay::http_replay {

namespace {

constexpr auto npos = std::string_view::npos;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Userinfo is percent-encoded in a URL (`p%40ss` is `p@ss`); Basic credentials are not.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool iequals_ascii(std::string_view a, std::string_view b) { return http::iequals(a, b); }

// Length of the well-formed UTF-8 sequence starting at s[i] (a byte >= 0x80), 0 when it is
// not one (Unicode Table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  auto cont = [](unsigned b) { return b >= 0x80 && b <= 0xBF; };
  unsigned b0 = at(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(at(1)) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    unsigned lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}

bool plain_json_byte(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

void append_field(std::string& out, std::string_view name, std::string_view value) {
  if (out.back() != '{') out.push_back(',');
  out.push_back('"');
  out.append(name).append("\":");
  append_json_string(out, value);
}

void append_header_field(std::string& out, std::string_view name, const http::http_view& v, std::string_view header,
                         bool omit_empty) {
  std::string_view value;
  if (auto h = v.header(header)) value = h->value;
  if (omit_empty && value.empty()) return;
  append_field(out, name, value);
}

}  // namespace

elasticsearch_target parse_elasticsearch_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("--output-http-elasticsearch '" + std::string(url) + "': " + why);
  };
  elasticsearch_target t;
  std::string_view rest = url;
  auto scheme_end = rest.find("://");
  if (scheme_end == npos)
    throw bad("needs a scheme and an index, e.g. http://" + std::string(url.empty() ? "host:9200/index" : url));
  auto scheme = rest.substr(0, scheme_end);
  if (iequals_ascii(scheme, "https")) t.tls = true;
  else if (!iequals_ascii(scheme, "http")) throw bad("the scheme must be http or https");
  rest.remove_prefix(scheme_end + 3);

  auto path_start = rest.find_first_of("/?#");
  auto authority = rest.substr(0, path_start);
  auto path = path_start == npos ? std::string_view{} : rest.substr(path_start);
  if (auto end = path.find_first_of("?#"); end != npos) path = path.substr(0, end);

  if (auto at = authority.rfind('@'); at != npos) {
    t.authorization = "Basic " + base64_encode(percent_decode(authority.substr(0, at)));
    authority.remove_prefix(at + 1);
  }
  host_port hp;
  try {
    hp = split_host_port(authority);
  } catch (const std::invalid_argument& e) {
    throw bad(e.what());
  }
  auto host = hp.host;
  auto port = hp.port;
  bool bracketed = hp.bracketed;
  if (host.empty()) throw bad("no host");
  if (port.empty()) port = "9200";
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc{} || end != port.data() + port.size() || number == 0 || number > 65535)
    throw bad("bad port '" + std::string(port) + "'");
  t.host = std::string(host);
  t.port = std::string(port);
  t.authority = (bracketed ? "[" + t.host + "]" : t.host) + ":" + t.port;

  auto last = path.rfind('/');
  auto index = last == npos ? std::string_view{} : path.substr(last + 1);
  if (index.empty()) throw bad("no index: it is the last path segment, e.g. http://host:9200/gor");
  t.index = std::string(index);
  t.bulk_path = std::string(path.substr(0, last)) + "/_bulk";
  return t;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (plain_json_byte(c)) {
      std::size_t j = i + 1;
      while (j < s.size() && plain_json_byte(static_cast<unsigned char>(s[j]))) ++j;
      out.append(s.substr(i, j - i));
      i = j;
      continue;
    }
    if (c < 0x80) {
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          out.append("\\u00");
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 0xF]);
      }
      ++i;
      continue;
    }
    if (auto n = utf8_sequence(s, i)) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append("\\ufffd");
      ++i;
    }
  }
  out.push_back('"');
}

void append_rfc3339_nano(std::string& out, std::int64_t unix_ns) {
  std::int64_t secs = unix_ns / 1'000'000'000, nanos = unix_ns % 1'000'000'000;
  if (nanos < 0) nanos += 1'000'000'000, --secs;
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buf, n);
  if (nanos > 0) {
    char frac[10];
    for (int k = 8; k >= 0; --k, nanos /= 10) frac[k] = static_cast<char>('0' + nanos % 10);
    std::size_t len = 9;
    while (frac[len - 1] == '0') --len;
    out.push_back('.');
    out.append(frac, len);
  }
  out.push_back('Z');
}

std::string bulk_action_line(std::string_view index) {
  std::string s = "{\"index\":{\"_index\":";
  append_json_string(s, index);
  s.append("}}\n");
  return s;
}

void append_document(std::string& out, std::string_view request, std::string_view response, std::int64_t rtt_ns,
                     std::int64_t at_unix_ns) {
  // Interim answers (100 Continue, 103 Early Hints) come before the final one in the bytes
  // the output read; the document describes the final one, as Go's client returns it.
  for (;;) {
    auto line = http::parse_status_line(response);
    if (!line || line->status < 100 || line->status > 199 || line->status == 101) break;
    http::http_view interim(response);
    if (!interim.head_complete() || interim.body_begin() >= response.size()) break;
    response.remove_prefix(interim.body_begin());
  }
  http::http_view req(request), resp(response);
  std::string_view target, method, proto;
  if (auto& l = req.request()) target = l->target, method = l->method;
  char status[4] = {0, 0, 0, 0};
  std::string_view status_text;
  if (auto& l = resp.response()) {
    proto = l->version;
    if (l->status >= 100 && l->status <= 999) {
      status[0] = static_cast<char>('0' + l->status / 100);
      status[1] = static_cast<char>('0' + l->status / 10 % 10);
      status[2] = static_cast<char>('0' + l->status % 10);
      status_text = std::string_view(status, 3);
    }
  }
  out.push_back('{');
  append_field(out, "Req_URL", target);
  append_field(out, "Req_Method", method);
  append_header_field(out, "Req_User-Agent", req, "User-Agent", false);
  append_header_field(out, "Req_Accept-Language", req, "Accept-Language", true);
  append_header_field(out, "Req_Accept", req, "Accept", true);
  append_header_field(out, "Req_Accept-Encoding", req, "Accept-Encoding", true);
  append_header_field(out, "Req_If-Modified-Since", req, "If-Modified-Since", true);
  append_header_field(out, "Req_Connection", req, "Connection", true);
  append_header_field(out, "Req_Cookies", req, "Cookie", true);
  append_field(out, "Resp_Status", status_text);
  append_field(out, "Resp_Status-Code", status_text);
  if (!proto.empty()) append_field(out, "Resp_Proto", proto);
  append_header_field(out, "Resp_Content-Length", resp, "Content-Length", true);
  append_header_field(out, "Resp_Content-Type", resp, "Content-Type", true);
  append_header_field(out, "Resp_Transfer-Encoding", resp, "Transfer-Encoding", true);
  append_header_field(out, "Resp_Content-Encoding", resp, "Content-Encoding", true);
  append_header_field(out, "Resp_Expires", resp, "Expires", true);
  append_header_field(out, "Resp_Cache-Control", resp, "Cache-Control", true);
  append_header_field(out, "Resp_Vary", resp, "Vary", true);
  append_header_field(out, "Resp_Set-Cookie", resp, "Set-Cookie", true);
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, rtt_ns / 1'000'000);
  (void)ec;
  out.append(",\"RTT\":").append(num, static_cast<std::size_t>(end - num));
  out.append(",\"Timestamp\":\"");
  append_rfc3339_nano(out, at_unix_ns);
  out.append("\"}\n");
}

bulk_result read_bulk_response(std::string_view body) {
  bulk_result r;
  auto errors = body.find("\"errors\":");
  if (errors == npos) return r;
  auto v = body.find_first_not_of(" \t\r\n", errors + 9);
  if (v == npos || body.substr(v, 4) != "true") return r;
  auto items = body.find("\"items\"");
  if (items == npos) return r;
  // Every item has a status; nested error objects have none.
  for (auto pos = body.find("\"status\":", items); pos != npos; pos = body.find("\"status\":", pos)) {
    pos += 9;
    while (pos < body.size() && body[pos] == ' ') ++pos;
    int status = 0;
    auto [end, ec] = std::from_chars(body.data() + pos, body.data() + body.size(), status);
    if (ec == std::errc{} && status >= 300) ++r.failed;
    pos = static_cast<std::size_t>(end - body.data());
  }
  if (auto reason = body.find("\"reason\":\"", items); reason != npos) {
    reason += 10;
    std::size_t end = reason;
    while (end < body.size() && body[end] != '"') end += body[end] == '\\' ? 2 : 1;
    r.first_reason = std::string(body.substr(reason, std::min<std::size_t>(std::min(end, body.size()) - reason, 300)));
  }
  return r;
}

}  // namespace coreplay::http_replay
