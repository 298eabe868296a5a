#include "core/http/http_view.hpp"

#include <array>
#include <cstring>

namespace coreplay::http {

namespace {

// Byte classes for the request line: 1 = token char (method), 2 = request-target char.
constexpr auto char_class = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0x21; c < 0x7f; ++c) t[c] |= 2;
  for (int c = 0x80; c < 0x100; ++c) t[c] |= 2;  // obs-text: kept, as servers do
  for (int c = '0'; c <= '9'; ++c) t[c] |= 1;
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= 1;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] |= 1;
  return t;
}();

constexpr bool is_tchar(unsigned char c) noexcept { return char_class[c] & 1; }
constexpr bool is_target_char(unsigned char c) noexcept { return char_class[c] & 2; }

constexpr unsigned char lower(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c + 32) : c;
}

// The first line without its EOL, and the offset after the EOL; nullopt when there is no LF.
struct first_line {
  std::string_view text;
  std::size_t next;
  bool crlf;
};

std::optional<first_line> split_first_line(std::string_view p) noexcept {
  const void* nl = p.empty() ? nullptr : std::memchr(p.data(), '\n', p.size());
  if (!nl) return std::nullopt;
  std::size_t n = static_cast<const char*>(nl) - p.data();
  bool crlf = n > 0 && p[n - 1] == '\r';
  return first_line{p.substr(0, crlf ? n - 1 : n), n + 1, crlf};
}

bool is_http1_version(std::string_view v) noexcept {
  return v == "HTTP/1.1" || v == "HTTP/1.0";
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_target_text(std::string_view s) noexcept {
  for (char c : s)
    if (!is_target_char(static_cast<unsigned char>(c))) return false;
  return true;
}

std::optional<request_line> parse_request_line(std::string_view payload) noexcept {
  // Cheap rejection before looking for the EOL: a body-only payload must not cost a scan.
  if (payload.empty() || !is_tchar(static_cast<unsigned char>(payload[0]))) return std::nullopt;
  auto fl = split_first_line(payload);
  if (!fl) return std::nullopt;
  std::string_view line = fl->text;
  std::size_t i = 0;
  while (i < line.size() && is_tchar(static_cast<unsigned char>(line[i]))) ++i;
  if (i == 0 || i >= line.size() || line[i] != ' ') return std::nullopt;
  std::string_view method = line.substr(0, i);
  std::size_t t0 = ++i;
  while (i < line.size() && is_target_char(static_cast<unsigned char>(line[i]))) ++i;
  if (i == t0 || i >= line.size() || line[i] != ' ') return std::nullopt;
  std::string_view target = line.substr(t0, i - t0);
  std::string_view version = line.substr(i + 1);
  if (!is_http1_version(version)) return std::nullopt;
  return request_line{method, target, version, fl->next};
}

std::optional<status_line> parse_status_line(std::string_view payload) noexcept {
  if (payload.size() < 13 || payload.substr(0, 5) != "HTTP/") return std::nullopt;
  auto fl = split_first_line(payload);
  if (!fl) return std::nullopt;
  std::string_view line = fl->text;
  if (line.size() < 12 || !is_http1_version(line.substr(0, 8)) || line[8] != ' ')
    return std::nullopt;
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return std::nullopt;
    status = status * 10 + (line[i] - '0');
  }
  std::string_view reason;
  if (line.size() > 12) {
    if (line[12] != ' ') return std::nullopt;
    reason = line.substr(13);
    for (char c : reason)
      if (c == '\r') return std::nullopt;
  }
  return status_line{line.substr(0, 8), status, reason, fl->next};
}

http_view::http_view(std::string_view payload) noexcept : p_(payload) {
  if ((req_ = parse_request_line(p_))) {
    headers_begin_ = req_->next;
  } else if ((resp_ = parse_status_line(p_))) {
    headers_begin_ = resp_->next;
  } else {
    headers_begin_ = 0;
    note_end(0, 0, false);
    return;
  }
  crlf_ = headers_begin_ >= 2 && p_[headers_begin_ - 2] == '\r';
}

http_view::http_view(std::string_view payload, const request_line& line) noexcept
    : p_(payload), req_(line) {
  headers_begin_ = line.next;
  crlf_ = headers_begin_ >= 2 && p_[headers_begin_ - 2] == '\r';
}

void http_view::find_head_end() const noexcept {
  // The head ends at the first empty line (CRLF CRLF, LF LF, or mixed).
  std::size_t pos = headers_begin_;
  while (pos < p_.size()) {
    const void* nl = std::memchr(p_.data() + pos, '\n', p_.size() - pos);
    if (!nl) break;
    std::size_t n = static_cast<const char*>(nl) - p_.data();
    if (n == pos || (n == pos + 1 && p_[pos] == '\r')) return note_end(pos, n + 1, true);
    pos = n + 1;
  }
  note_end(p_.size(), p_.size(), false);
}

bool http_view::next_header(std::size_t& pos, header_field& out) const noexcept {
  for (;;) {
    const std::size_t limit = scanned_ ? headers_end_ : p_.size();
    if (pos >= limit) {
      if (!scanned_) note_end(p_.size(), p_.size(), false);
      return false;
    }
    std::size_t begin = pos;
    const void* nl = std::memchr(p_.data() + pos, '\n', limit - pos);
    std::size_t text_end, line_end;
    if (nl) {
      std::size_t n = static_cast<const char*>(nl) - p_.data();
      text_end = (n > begin && p_[n - 1] == '\r') ? n - 1 : n;
      line_end = n + 1;
      if (text_end == begin) {  // the empty line that ends the head
        if (!scanned_) note_end(begin, line_end, true);
        return false;
      }
    } else {
      text_end = line_end = limit;  // a head cut off mid-line
    }
    pos = line_end;
    std::string_view text = p_.substr(begin, text_end - begin);
    auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // not a header line
    std::size_t vb = begin + colon + 1, ve = text_end;
    while (vb < ve && static_cast<unsigned char>(p_[vb]) <= 0x20) ++vb;
    while (ve > vb && static_cast<unsigned char>(p_[ve - 1]) <= 0x20) --ve;
    out.name = text.substr(0, colon);
    out.value = p_.substr(vb, ve - vb);
    out.line_begin = begin;
    out.line_end = line_end;
    out.value_begin = vb;
    out.value_end = ve;
    return true;
  }
}

std::optional<header_field> http_view::header(std::string_view name) const noexcept {
  std::size_t pos = headers_begin_;
  header_field h;
  while (next_header(pos, h))
    if (iequals(h.name, name)) return h;
  return std::nullopt;
}

std::optional<param_span> find_query_param(std::string_view target,
                                           std::string_view name) noexcept {
  auto q = target.find('?');
  if (q == std::string_view::npos || name.empty()) return std::nullopt;
  std::size_t pos = q + 1;
  while (pos <= target.size()) {
    auto amp = target.find('&', pos);
    std::size_t end = amp == std::string_view::npos ? target.size() : amp;
    std::string_view pair = target.substr(pos, end - pos);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=')
      return param_span{pos + name.size() + 1, end};
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return std::nullopt;
}

std::optional<std::string_view> http_view::query_param(std::string_view name) const noexcept {
  if (!req_) return std::nullopt;
  auto s = find_query_param(req_->target, name);
  if (!s) return std::nullopt;
  return req_->target.substr(s->value_begin, s->value_end - s->value_begin);
}

namespace {

std::string header_line(std::string_view name, std::string_view value, std::string_view eol) {
  std::string line;
  line.reserve(name.size() + value.size() + 2 + eol.size());
  line.append(name).append(": ").append(value).append(eol);
  return line;
}

}  // namespace

bool insert_header(std::string& payload, std::string_view name, std::string_view value) {
  http_view v(payload);
  if (!v.has_start_line()) return false;
  payload.insert(v.headers_begin(), header_line(name, value, v.eol()));
  return true;
}

bool append_header(std::string& payload, std::string_view name, std::string_view value) {
  http_view v(payload);
  if (!v.has_start_line()) return false;
  std::size_t at = v.headers_end();
  if (!v.head_complete() && at > v.headers_begin() && payload[at - 1] != '\n') {
    // A cut-off last line: finish it before adding ours.
    payload.insert(at, v.eol());
    at += v.eol().size();
  }
  payload.insert(at, header_line(name, value, v.eol()));
  return true;
}

bool set_header(std::string& payload, std::string_view name, std::string_view value) {
  http_view v(payload);
  if (!v.has_start_line()) return false;
  if (auto h = v.header(name)) {
    // `Name:` with nothing after the colon gets the usual single space.
    bool bare = h->value_begin == h->value_end && h->value_begin > 0 &&
                payload[h->value_begin - 1] == ':';
    if (bare) {
      std::string v2;
      v2.reserve(value.size() + 1);
      v2.push_back(' ');
      v2.append(value);
      payload.replace(h->value_begin, 0, v2);
    } else {
      payload.replace(h->value_begin, h->value_end - h->value_begin, value);
    }
    return true;
  }
  payload.insert(v.headers_begin(), header_line(name, value, v.eol()));
  return true;
}

std::size_t delete_header(std::string& payload, std::string_view name) {
  std::size_t removed = 0;
  for (;;) {
    http_view v(payload);
    auto h = v.header(name);
    if (!h) return removed;
    payload.erase(h->line_begin, h->line_end - h->line_begin);
    ++removed;
  }
}

bool set_target(std::string& payload, std::string_view target) {
  auto rl = parse_request_line(payload);
  if (!rl) return false;
  std::size_t at = static_cast<std::size_t>(rl->target.data() - payload.data());
  payload.replace(at, rl->target.size(), target);
  return true;
}

bool set_query_param(std::string& payload, std::string_view name, std::string_view value) {
  auto rl = parse_request_line(payload);
  if (!rl) return false;
  std::size_t t0 = static_cast<std::size_t>(rl->target.data() - payload.data());
  if (auto s = find_query_param(rl->target, name)) {
    payload.replace(t0 + s->value_begin, s->value_end - s->value_begin, value);
    return true;
  }
  std::string add;
  add.reserve(name.size() + value.size() + 2);
  std::string_view t = rl->target;
  auto q = t.find('?');
  if (q == std::string_view::npos)
    add.push_back('?');
  else if (q + 1 != t.size() && t.back() != '&')  // `/p?` and `/p?a=1&` need no separator
    add.push_back('&');
  add.append(name).append("=").append(value);
  payload.insert(t0 + t.size(), add);
  return true;
}

}  // namespace coreplay::http
