#include "outputs/http/request_framing.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace coreplay::http_replay {

namespace {

constexpr std::size_t npos = std::string_view::npos;

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != npos;
}

// One line starting at `pos`: its content (without CR LF) and where the next line starts.
// False when there is no line ending left.
bool next_line(std::string_view p, std::size_t pos, std::string_view& line, std::size_t& next) noexcept {
  auto nl = p.find('\n', pos);
  if (nl == npos) return false;
  auto end = nl;
  if (end > pos && p[end - 1] == '\r') --end;
  line = p.substr(pos, end - pos);
  next = nl + 1;
  return true;
}

bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

// Walks a chunked body from `pos`; returns where it ends or sets a defect.
std::size_t walk_chunks(std::string_view p, std::size_t pos, request_defect& defect) noexcept {
  for (;;) {
    std::string_view line;
    std::size_t next;
    if (!next_line(p, pos, line, next)) {
      defect = request_defect::truncated_body;
      return 0;
    }
    auto semi = line.find(';');
    auto hex = trim(line.substr(0, semi));
    std::uint64_t size = 0;
    if (hex.empty() || hex.size() > 15) {
      defect = request_defect::bad_chunk;
      return 0;
    }
    auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
    if (ec != std::errc{} || ptr != hex.data() + hex.size()) {
      defect = request_defect::bad_chunk;
      return 0;
    }
    pos = next;
    if (size == 0) {
      // Trailer fields, then the blank line.
      for (;;) {
        if (!next_line(p, pos, line, next)) {
          defect = request_defect::truncated_body;
          return 0;
        }
        pos = next;
        if (line.empty()) return pos;
      }
    }
    if (size > p.size() - pos) {
      defect = request_defect::truncated_body;
      return 0;
    }
    pos += size;
    if (pos < p.size() && p[pos] == '\n') {
      pos += 1;
    } else if (pos + 1 < p.size() && p[pos] == '\r' && p[pos + 1] == '\n') {
      pos += 2;
    } else if (pos >= p.size() || (pos + 1 == p.size() && p[pos] == '\r')) {
      defect = request_defect::truncated_body;
      return 0;
    } else {
      defect = request_defect::bad_chunk;
      return 0;
    }
  }
}

}  // namespace

std::string_view to_string(request_defect d) noexcept {
  switch (d) {
    case request_defect::none: return "none";
    case request_defect::no_request_line: return "no request line";
    case request_defect::unsupported_version: return "not HTTP/1.x";
    case request_defect::bad_header: return "malformed header line";
    case request_defect::truncated_header: return "headers not terminated";
    case request_defect::bad_content_length: return "bad Content-Length";
    case request_defect::bad_transfer_encoding: return "unsupported Transfer-Encoding";
    case request_defect::bad_chunk: return "bad chunk";
    case request_defect::truncated_body: return "truncated body";
  }
  return "unknown";
}

framed_request frame_request(std::string_view payload) {
  framed_request f;
  frame_request(payload, f);
  return f;
}

void frame_request(std::string_view p, framed_request& f) {
  f.defect = request_defect::none;
  f.method = {};
  f.target = {};
  f.host_values.clear();
  f.header_end = f.message_end = 0;
  f.chunked = false;
  f.has_authorization = false;
  f.line_ending = "\r\n";

  auto fail = [&f](request_defect d) { f.defect = d; };

  // Request line: METHOD SP request-target SP HTTP-version.
  std::string_view line;
  std::size_t pos = 0;
  if (!next_line(p, 0, line, pos)) return fail(request_defect::no_request_line);
  if (pos >= 2 && p[pos - 2] == '\r') f.line_ending = "\r\n";
  else f.line_ending = "\n";
  auto sp1 = line.find(' ');
  if (sp1 == npos || sp1 == 0) return fail(request_defect::no_request_line);
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == npos || sp2 == sp1 + 1) return fail(request_defect::no_request_line);
  auto method = line.substr(0, sp1);
  if (!std::all_of(method.begin(), method.end(), is_token_char)) return fail(request_defect::no_request_line);
  auto version = line.substr(sp2 + 1);
  if (version.size() < 8 || version.substr(0, 5) != "HTTP/") return fail(request_defect::no_request_line);
  if (version.substr(5, 2) != "1.") return fail(request_defect::unsupported_version);
  f.method = method;
  f.target = {sp1 + 1, sp2};

  // Header fields.
  std::optional<std::uint64_t> content_length;
  std::string_view last_transfer_encoding;
  bool any_transfer_encoding = false;
  for (;;) {
    std::size_t line_start = pos;
    if (!next_line(p, pos, line, pos)) return fail(request_defect::truncated_header);
    if (line.empty()) break;
    if (is_space(line.front())) continue;  // obsolete line folding: part of the previous value
    auto colon = line.find(':');
    if (colon == npos || colon == 0) return fail(request_defect::bad_header);
    auto name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) return fail(request_defect::bad_header);
    auto raw_value = line.substr(colon + 1);
    auto value = trim(raw_value);
    if (iequals(name, "host")) {
      auto begin = line_start + colon + 1 + static_cast<std::size_t>(value.data() - raw_value.data());
      f.host_values.push_back({begin, begin + value.size()});
    } else if (iequals(name, "content-length")) {
      std::uint64_t n;
      if (!parse_decimal(value, n)) return fail(request_defect::bad_content_length);
      if (content_length && *content_length != n) return fail(request_defect::bad_content_length);
      content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      any_transfer_encoding = true;
      last_transfer_encoding = value;
    } else if (iequals(name, "authorization")) {
      f.has_authorization = true;
    }
  }
  f.header_end = pos;

  if (any_transfer_encoding) {
    auto comma = last_transfer_encoding.rfind(',');
    auto final_coding = trim(comma == npos ? last_transfer_encoding : last_transfer_encoding.substr(comma + 1));
    if (!iequals(final_coding, "chunked")) return fail(request_defect::bad_transfer_encoding);
    f.chunked = true;
    request_defect d = request_defect::none;
    auto end = walk_chunks(p, pos, d);
    if (d != request_defect::none) return fail(d);
    f.message_end = end;
    return;
  }
  if (content_length) {
    if (*content_length > p.size() - pos) return fail(request_defect::truncated_body);
    f.message_end = pos + static_cast<std::size_t>(*content_length);
    return;
  }
  f.message_end = pos;
}

std::string_view origin_form(std::string_view target) noexcept {
  auto scheme_end = target.find("://");
  if (target.empty() || target.front() == '/' || scheme_end == npos) return target;
  // Only a scheme of letters counts: `/a?x=http://b` is already origin form.
  for (std::size_t i = 0; i < scheme_end; ++i) {
    char c = lower(target[i]);
    if (!(c >= 'a' && c <= 'z') && c != '+' && c != '-' && c != '.') return target;
  }
  auto rest = target.substr(scheme_end + 3);
  auto slash = rest.find_first_of("/?");
  if (slash == npos) return "/";
  // `http://h?q` has no path to view as origin form; servers must accept the absolute form.
  if (rest[slash] == '?') return target;
  return rest.substr(slash);
}

std::string base64_encode(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    auto v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
             std::uint8_t(in[i + 2]);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == in.size()) {
    auto v = std::uint32_t(std::uint8_t(in[i])) << 16;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    auto v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

host_port split_host_port(std::string_view authority) {
  host_port hp;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == npos) throw std::invalid_argument("unterminated IPv6 address");
    hp.host = authority.substr(1, close - 1);
    hp.bracketed = true;
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw std::invalid_argument("junk after the IPv6 address");
      hp.port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    hp.host = authority.substr(0, colon);
    if (colon != npos) hp.port = authority.substr(colon + 1);
  }
  return hp;
}

target_url parse_target_url(std::string_view url) {
  auto bad = [&](const char* why) {
    return std::invalid_argument("output-http URL '" + std::string(url) + "': " + why);
  };
  target_url t;
  std::string_view rest = url;
  auto scheme_end = rest.find("://");
  if (scheme_end != npos) {
    auto scheme = rest.substr(0, scheme_end);
    if (iequals(scheme, "https")) t.tls = true;
    else if (!iequals(scheme, "http")) throw bad("the scheme must be http or https");
    rest.remove_prefix(scheme_end + 3);
  }
  auto path_start = rest.find_first_of("/?#");
  auto authority = rest.substr(0, path_start);
  auto path = path_start == npos ? std::string_view{} : rest.substr(path_start);
  if (auto hash = path.find('#'); hash != npos) path = path.substr(0, hash);

  if (auto at = authority.rfind('@'); at != npos) {
    // Userinfo becomes Basic credentials, as Go's client does with a URL's user.
    t.authorization = "Basic " + base64_encode(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) throw bad("no host");
  t.authority = std::string(authority);
  host_port hp;
  try {
    hp = split_host_port(authority);
  } catch (const std::invalid_argument& e) {
    throw bad(e.what());
  }
  auto host = hp.host;
  auto port = hp.port;
  if (host.empty()) throw bad("no host");
  if (port.empty()) {
    if (!t.authority.empty() && t.authority.back() == ':') t.authority.pop_back();
    port = t.tls ? "443" : "80";
  }
  std::uint64_t port_number;
  if (!parse_decimal(port, port_number) || port_number == 0 || port_number > 65535) throw bad("bad port");
  t.host = std::string(host);
  t.port = std::string(port);

  // gor (#862): a URL with a path or a query sends every request to exactly that target.
  // "http://h/" has the path "/", which counts.
  if (!path.empty()) {
    if (path.front() == '?') t.path_and_query = "/" + std::string(path);
    else t.path_and_query = std::string(path);
  }
  if (t.path_and_query.empty()) t.authorization.clear();  // gor: userinfo only applies with a path
  return t;
}

void assemble_request(std::string_view payload, const framed_request& f, const assemble_params& params,
                      std::string& scratch, std::vector<std::string_view>& pieces) {
  pieces.clear();
  scratch.clear();
  const std::string_view eol = f.line_ending;
  const bool add_host = !params.host.empty() && f.host_values.empty();
  const bool add_auth = !params.authorization.empty() && !f.has_authorization;
  // Build every added line first: views into `scratch` must not move afterwards.
  std::size_t host_off = 0, auth_off = 0;
  if (add_host) {
    host_off = scratch.size();
    scratch.append("Host: ").append(params.host).append(eol);
  }
  if (add_auth) {
    auth_off = scratch.size();
    scratch.append("Authorization: ").append(params.authorization).append(eol);
  }
  std::string_view built(scratch);
  const std::size_t host_len = add_host ? 6 + params.host.size() + eol.size() : 0;
  const std::size_t auth_len = add_auth ? 15 + params.authorization.size() + eol.size() : 0;

  auto recorded_target = payload.substr(f.target.begin, f.target.size());
  auto target = params.target.empty() ? origin_form(recorded_target) : params.target;

  // Request line.
  pieces.push_back(payload.substr(0, f.target.begin));
  pieces.push_back(target);
  auto line_end = payload.find('\n', f.target.end) + 1;
  pieces.push_back(payload.substr(f.target.end, line_end - f.target.end));
  if (add_host) pieces.push_back(built.substr(host_off, host_len));
  if (add_auth) pieces.push_back(built.substr(auth_off, auth_len));

  // Header lines and body, with each Host value replaced.
  std::size_t pos = line_end;
  if (!params.host.empty()) {
    for (auto& hv : f.host_values) {
      pieces.push_back(payload.substr(pos, hv.begin - pos));
      pieces.push_back(params.host);
      pos = hv.end;
    }
  }
  pieces.push_back(payload.substr(pos, f.message_end - pos));
}

}  // namespace coreplay::http_replay
