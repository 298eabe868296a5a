#include "capture/http_framer.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <emmintrin.h>

namespace coreplay::capture {

namespace {

constexpr std::size_t max_start_line = 64 * 1024;
constexpr std::size_t max_header_bytes = 1024 * 1024;
constexpr std::size_t max_method = 32;

// RFC 9110 token characters, as a table: every request line's method goes through it.
constexpr auto tchar_table = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] = true;
  return t;
}();

bool is_tchar(unsigned char c) noexcept { return tchar_table[c]; }

// Request targets: visible ASCII and any non-ASCII byte (seen in the wild), no controls or spaces.
bool is_target_char(unsigned char c) noexcept { return c > 0x20 && c != 0x7f; }

// The end of the run of target characters in s starting at i: 16 bytes per step.
std::size_t skip_target_chars(std::string_view s, std::size_t i) noexcept {
  const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
  for (; i + 16 <= s.size(); i += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, space), v);  // c <= 0x20, unsigned
    unsigned bad = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(v, del))));
    if (bad) return i + static_cast<std::size_t>(__builtin_ctz(bad));
  }
  if (i < s.size() && s.size() >= 16) {  // the rest: the last 16 bytes, without those seen
    const std::size_t at = s.size() - 16;
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + at));
    __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, space), v);
    unsigned bad = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(low, _mm_cmpeq_epi8(v, del))));
    bad &= ~((1u << (i - at)) - 1);
    return bad ? at + static_cast<std::size_t>(__builtin_ctz(bad)) : s.size();
  }
  while (i < s.size() && is_target_char(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

// The first '\n' in [p, p + n), or nullptr; start lines are short, so inline beats a memchr call.
const char* find_newline(const char* p, std::size_t n) noexcept {
  const __m128i newline = _mm_set1_epi8('\n');
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), newline)));
    if (mask) return p + i + static_cast<std::size_t>(__builtin_ctz(mask));
  }
  for (; i < n; ++i)
    if (p[i] == '\n') return p + i;
  return nullptr;
}

// Only Content-Length, Transfer-Encoding and Expect matter for framing: most header lines stop
// at their first byte, before any call. A line starting with white space is an obsolete fold.
inline bool may_frame(std::string_view line) noexcept {
  const char first = static_cast<char>(line.front() | 0x20);
  return first == 'c' || first == 't' || first == 'e';
}

// Whether `name` is `lower_name` (lowercase letters and '-') in any case, eight bytes at a
// time: bit 0x20 is set in `name` where `lower_name` has a letter (bit 0x40), so letters
// compare case-blind and '-' exactly (a CR would otherwise pass for it).
bool name_is(std::string_view name, std::string_view lower_name) noexcept {
  if (name.size() != lower_name.size()) return false;
  std::size_t i = 0;
  for (; i + 8 <= name.size(); i += 8) {
    std::uint64_t a, b;
    std::memcpy(&a, name.data() + i, 8);
    std::memcpy(&b, lower_name.data() + i, 8);
    if ((a | ((b & 0x4040404040404040ull) >> 1)) != b) return false;
  }
  if (i < name.size() && name.size() >= 8) {  // the rest: the last eight bytes, overlapping
    std::uint64_t a, b;
    std::memcpy(&a, name.data() + name.size() - 8, 8);
    std::memcpy(&b, lower_name.data() + name.size() - 8, 8);
    return (a | ((b & 0x4040404040404040ull) >> 1)) == b;
  }
  for (; i < name.size(); ++i)
    if ((name[i] | ((lower_name[i] & 0x40) >> 1)) != lower_name[i]) return false;
  return true;
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "HTTP/1.0" or "HTTP/1.1" at the start of s; when partial, s may also be a prefix of it.
[[gnu::always_inline]] inline bool version_ok(std::string_view s, bool partial) noexcept {
  static constexpr std::string_view head = "HTTP/1.";
  if (s.size() >= 8) {  // every whole line: one 8-byte compare (memcmp was a call per line)
    std::uint64_t v, want;
    std::memcpy(&v, s.data(), 8);
    std::memcpy(&want, "HTTP/1.0", 8);
    return (v | 0x0100000000000000ull) == (want | 0x0100000000000000ull);  // '0' or '1' last
  }
  std::size_t k = std::min(s.size(), head.size());
  if (s.substr(0, k) != head.substr(0, k)) return false;
  if (s.size() < 8) return partial;
  return s[7] == '0' || s[7] == '1';
}

// Whether `s` is (when partial, could still become) a request line.
bool request_line_ok(std::string_view s, bool partial) noexcept {
  std::size_t i = 0;
  while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
  if (i == s.size()) return partial && i <= max_method;
  if (i == 0 || i > max_method || s[i] != ' ') return false;
  std::size_t t = ++i;
  i = skip_target_chars(s, i);
  if (i == s.size()) return partial;
  if (i == t || s[i] != ' ') return false;
  std::string_view version = s.substr(i + 1);
  if (!version_ok(version, partial)) return false;
  return version.size() == 8 || (partial && version.size() < 8);
}

bool status_line_ok(std::string_view s, bool partial) noexcept {
  if (!version_ok(s, partial)) return false;
  if (s.size() <= 8) return partial;
  if (s[8] != ' ') return false;
  for (std::size_t i = 9; i < 12; ++i) {
    if (i == s.size()) return partial;
    if (s[i] < '0' || s[i] > '9') return false;
  }
  if (s[9] == '0') return false;
  if (s.size() == 12) return true;
  if (s[12] != ' ') return false;
  for (std::size_t i = 13; i < s.size(); ++i)
    if (s[i] == '\r' || s[i] == '\n') return false;
  return true;
}

std::string_view strip_eol(std::string_view line) noexcept {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

bool is_request_line(std::string_view line) noexcept { return request_line_ok(line, false); }
bool is_status_line(std::string_view line) noexcept { return status_line_ok(line, false); }

void http_framer::begin(const stream_position& pos, std::size_t offset) {
  info_ = http_message_info{};
  info_.first_timestamp_ns = pos.timestamp_ns;
  info_.last_timestamp_ns = pos.timestamp_ns;
  info_.first_seq = pos.seq + static_cast<std::uint32_t>(offset);
  info_.first_ack = pos.ack;
  content_length_.reset();
  bad_content_length_ = false;
  has_transfer_encoding_ = false;
  chunked_ = false;
  expect_continue_ = false;
  chunk_size_ = 0;
  chunk_digits_ = 0;
}

void http_framer::feed(std::string_view data, const stream_position& pos) {
  lend_ = false;
  scan(data, pos);
}

void http_framer::feed_borrowed(std::string_view data, const stream_position& pos) {
  lend_ = true;
  scan(data, pos);
}

void http_framer::append(std::string_view piece) {
  // A message that starts and ends inside one feed() is never copied here: it is a range of
  // the caller's bytes until it ends (or the feed does).
  if (borrowing_) {
    if (piece.data() == data_.data() + borrow_off_ + borrow_len_) {
      borrow_len_ += piece.size();
      return;
    }
    keep_borrowed();
  } else if (msg_.empty() && !data_.empty()) {
    borrowing_ = true;
    borrow_off_ = static_cast<std::size_t>(piece.data() - data_.data());
    borrow_len_ = piece.size();
    return;
  }
  msg_.append(piece);
}

void http_framer::keep_borrowed() {
  if (!borrowing_) return;
  borrowing_ = false;
  std::size_t want = borrow_len_;
  if (state_ == state::body_length)
    want += static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, 64 * 1024));
  msg_.reserve(want);
  msg_.assign(data_.substr(borrow_off_, borrow_len_));
}

void http_framer::clear_message() {
  borrowing_ = false;
  msg_.clear();
}

[[gnu::flatten]] void http_framer::scan(std::string_view data, const stream_position& pos) {
  if (data.empty()) return;
  data_ = data;
  if (state_ == state::seek && !synced_) at_line_start_ = true;  // segment starts are line starts
  if (state_ != state::seek) info_.last_timestamp_ns = pos.timestamp_ns;
  std::size_t i = 0;
  const std::size_t n = data.size();
  // A candidate start line carried over from an earlier segment that turns out invalid is
  // dropped, and this segment's own start is tried as a line start instead.
  bool may_rescan = state_ == state::start_line && !synced_;
  while (i < n) {
    switch (state_) {
      case state::seek: {
        if (protocol_ == capture_protocol::binary) {
          begin(pos, i);
          info_.index = index_++;
          info_.is_request = role_ == http_role::request;
          state_ = state::binary;
          emit_start();
          break;
        }
        if (!at_line_start_) {
          auto nl = data.find('\n', i);
          std::size_t stop = nl == std::string_view::npos ? n : nl + 1;
          skipped_ += stop - i;
          i = stop;
          at_line_start_ = nl != std::string_view::npos;
          break;
        }
        if (synced_ && (data[i] == '\r' || data[i] == '\n')) {
          // Stray CRLF between messages (after some POST bodies) is allowed and ignored.
          ++skipped_;
          ++i;
          break;
        }
        begin(pos, i);
        if (!borrowing_ && msg_.empty() && whole_header(data, i)) break;
        state_ = state::start_line;
        break;
      }
      case state::start_line: {
        auto nl = data.find('\n', i);
        std::size_t stop = nl == std::string_view::npos ? n : nl + 1;
        append(data.substr(i, stop - i));
        i = stop;
        if (nl == std::string_view::npos) {
          std::string_view partial = msg();
          if (!partial.empty() && partial.back() == '\r') partial.remove_suffix(1);
          bool maybe = msg_size() <= max_start_line &&
                       ((role_ != http_role::response && request_line_ok(partial, true)) ||
                        (role_ != http_role::request && status_line_ok(partial, true)));
          if (!maybe) {
            reject_start_line(false);
            if (may_rescan) {
              may_rescan = false;
              skipped_ -= i;
              i = 0;
              at_line_start_ = true;
            }
          }
          break;
        }
        if (!accept_start_line(strip_eol(msg()))) {
          reject_start_line(true);
          if (may_rescan) {
            may_rescan = false;
            skipped_ -= i;  // counted again when rescanned
            i = 0;
          }
        }
        break;
      }
      case state::headers: {
        auto nl = data.find('\n', i);
        std::size_t stop = nl == std::string_view::npos ? n : nl + 1;
        append(data.substr(i, stop - i));
        i = stop;
        if (msg_size() > max_header_bytes) {
          fail();
          break;
        }
        if (nl == std::string_view::npos) break;
        std::string_view line = strip_eol(msg().substr(line_start_));
        line_start_ = msg_size();
        if (line.empty())
          end_headers();
        else if (may_frame(line))
          header_line(line);
        break;
      }
      case state::body_length:
      case state::chunk_data: {
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n - i));
        append(data.substr(i, take));
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          if (state_ == state::body_length)
            finish(true);
          else
            state_ = state::chunk_data_end;
        }
        break;
      }
      case state::body_close:
      case state::binary:
        append(data.substr(i));
        i = n;
        break;
      case state::chunk_size: {
        char c = data[i++];
        append(data.substr(i - 1, 1));
        int v = hex_value(c);
        if (v >= 0) {
          if (++chunk_digits_ > 15) {
            fail();
            break;
          }
          chunk_size_ = chunk_size_ * 16 + static_cast<std::uint64_t>(v);
        } else if (chunk_digits_ == 0) {
          fail();
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = state::chunk_ext;
        } else if (c == '\r') {
          state_ = state::chunk_size_lf;
        } else if (c == '\n') {
          end_chunk_size_line();
        } else {
          fail();
        }
        break;
      }
      case state::chunk_ext: {
        auto nl = data.find('\n', i);
        std::size_t stop = nl == std::string_view::npos ? n : nl + 1;
        append(data.substr(i, stop - i));
        i = stop;
        if (nl != std::string_view::npos) end_chunk_size_line();
        else if (msg_size() - line_start_ > max_start_line) fail();
        break;
      }
      case state::chunk_size_lf: {
        char c = data[i++];
        append(data.substr(i - 1, 1));
        if (c == '\n')
          end_chunk_size_line();
        else
          fail();
        break;
      }
      case state::chunk_data_end:
      case state::chunk_data_lf: {
        // Its own state for the CR: the byte before it is chunk data and may be anything,
        // a CR included (a binary body failed here once in 256 chunks).
        char c = data[i++];
        append(data.substr(i - 1, 1));
        if (c == '\n') {
          state_ = state::chunk_size;
          line_start_ = msg_size();
        } else if (c == '\r' && state_ == state::chunk_data_end) {
          state_ = state::chunk_data_lf;
        } else {
          fail();
        }
        break;
      }
      case state::trailer_line_start: {
        char c = data[i++];
        append(data.substr(i - 1, 1));
        if (c == '\r')
          state_ = state::trailer_end;
        else if (c == '\n')
          finish(true);
        else
          state_ = state::trailer_line;
        break;
      }
      case state::trailer_line: {
        auto nl = data.find('\n', i);
        std::size_t stop = nl == std::string_view::npos ? n : nl + 1;
        append(data.substr(i, stop - i));
        i = stop;
        if (msg_size() - line_start_ > max_header_bytes)
          fail();
        else if (nl != std::string_view::npos)
          state_ = state::trailer_line_start;
        break;
      }
      case state::trailer_end: {
        char c = data[i++];
        append(data.substr(i - 1, 1));
        if (c == '\n')
          finish(true);
        else
          fail();
        break;
      }
    }
  }
  // The caller's bytes go away after this call: a message still in progress keeps a copy.
  keep_borrowed();
  data_ = {};
}

bool http_framer::whole_header(std::string_view data, std::size_t& i) {
  // The usual case, a start line and all its headers inside this feed: the start line is
  // checked first (bytes that are no HTTP cost nothing more), then one pass finds the line
  // ends 16 at a time and looks only at lines that may frame and at the blank line. Anything
  // else (headers split across segments, no start line, oversized headers) falls back to the
  // line-by-line states from the same position, which redo this work: the header fields noted
  // on the way are noted again from the same lines (the same values), and nothing else
  // changes until the headers are known complete.
  const char* const base = data.data() + i;
  const std::size_t n = std::min(data.size() - i, max_header_bytes);
  const char* eol = find_newline(base, std::min(n, max_start_line + 1));
  if (!eol) return false;
  std::size_t line = static_cast<std::size_t>(eol - base) + 1;  // the next line
  const std::string_view start = strip_eol(std::string_view(base, line));
  const int kind = start_line_kind(start);
  if (kind == 0) return false;
  auto at_line_end = [&](std::size_t nl) {  // false: the blank line, the headers end here
    const char* l = base + line;
    const std::size_t len = nl - line;  // without the '\n'
    line = nl + 1;
    if (len == 0 || (len == 1 && l[0] == '\r')) return false;
    if (may_frame(std::string_view(l, len))) header_line(strip_eol(std::string_view(l, len + 1)));
    return true;
  };
  const __m128i newline = _mm_set1_epi8('\n');
  std::size_t k = line;
  for (; k + 16 <= n; k += 16) {
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(base + k)), newline)));
    for (; mask; mask &= mask - 1)
      if (!at_line_end(k + static_cast<std::size_t>(__builtin_ctz(mask)))) return accept_whole_header(start, kind, line, i);
  }
  for (; k < n; ++k)
    if (base[k] == '\n' && !at_line_end(k)) return accept_whole_header(start, kind, line, i);
  return false;
}

bool http_framer::accept_whole_header(std::string_view start_line, int kind, std::size_t length, std::size_t& i) {
  accept_start_line_of(start_line, kind == 1);
  borrowing_ = true;
  borrow_off_ = i;
  borrow_len_ = length;
  i += length;
  end_headers();
  return true;
}

int http_framer::start_line_kind(std::string_view line) const noexcept {
  if (role_ != http_role::response && request_line_ok(line, false)) return 1;
  if (role_ != http_role::request && status_line_ok(line, false)) return 2;
  return 0;
}

bool http_framer::accept_start_line(std::string_view line) {
  const int kind = start_line_kind(line);
  if (kind == 0) return false;
  accept_start_line_of(line, kind == 1);
  return true;
}

void http_framer::accept_start_line_of(std::string_view line, bool request) {
  info_.index = index_++;
  info_.is_request = request;
  if (request) {  // a valid request line: the method is followed by a space
    info_.kind = line.starts_with("HEAD ")      ? request_kind::head
                 : line.starts_with("CONNECT ") ? request_kind::connect
                                                : request_kind::normal;
  } else {
    info_.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  }
  emit_start();
  state_ = state::headers;
  line_start_ = msg_size();
}

void http_framer::reject_start_line(bool at_line_end) {
  skipped_ += msg_size();
  clear_message();
  if (synced_) ++framing_errors_;
  synced_ = false;
  state_ = state::seek;
  at_line_start_ = at_line_end;
}

void http_framer::header_line(std::string_view line) {
  // may_frame() let through a line starting with 'c', 't' or 'e': the one name that matters for
  // each is Content-Length, Transfer-Encoding or Expect, whose colon (or, rarely, white space
  // before it) comes right after it. Anything else there rules the line out without looking
  // for the colon (Content-Type and the like stop here).
  const char first = static_cast<char>(line.front() | 0x20);
  const std::size_t name_len = first == 'c' ? 14 : first == 't' ? 17 : 6;
  if (line.size() <= name_len) return;
  const char after = line[name_len];
  if (after != ':' && after != ' ' && after != '\t') return;
  const std::string_view name = line.substr(0, name_len);
  // Each with its literal, so the comparison is compiled for its length.
  if (!(first == 'c'   ? name_is(name, "content-length")
        : first == 't' ? name_is(name, "transfer-encoding")
                       : name_is(name, "expect")))
    return;
  const auto colon = after == ':' ? name_len : line.find(':');
  if (colon == std::string_view::npos || !trim(line.substr(name_len, colon - name_len)).empty()) return;
  std::string_view value = trim(line.substr(colon + 1));
  if (first == 'c') {
    std::uint64_t v = 0;
    bool ok = !value.empty() && value.size() <= 18;
    for (char c : value) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!ok || (content_length_ && *content_length_ != v))
      bad_content_length_ = true;
    else
      content_length_ = v;
  } else if (first == 't') {
    has_transfer_encoding_ = true;
    auto comma = value.rfind(',');
    std::string_view last = trim(comma == std::string_view::npos ? value : value.substr(comma + 1));
    chunked_ = iequals(last, "chunked");
  } else {
    expect_continue_ = iequals(value, "100-continue");
  }
}

void http_framer::end_headers() {
  header_end_ = msg_size();
  line_start_ = msg_size();
  const bool body_by_length = !has_transfer_encoding_;
  if (info_.is_request) {
    if (chunked_) {
      state_ = state::chunk_size;
    } else if (has_transfer_encoding_ || bad_content_length_) {
      fail();  // a request body we cannot delimit
    } else if (content_length_.value_or(0) > 0) {
      remaining_ = *content_length_;
      reserve_body();
      state_ = state::body_length;
    } else {
      finish(true);
      if (info_.kind == request_kind::connect) tunnel();
    }
    return;
  }
  const int status = info_.status;
  if (status < 200) {
    // Interim (100, 102, 103): no body, and the final response is still to come.
    finish(true);
    if (status == 101) tunnel();
    return;
  }
  request_kind kind = request_kind::normal;
  if (!expected_.empty()) {
    kind = expected_.front();
    expected_.pop_front();
  }
  if (kind == request_kind::head || status == 204 || status == 304) {
    finish(true);
  } else if (kind == request_kind::connect && status < 300) {
    finish(true);
    tunnel();
  } else if (chunked_) {
    state_ = state::chunk_size;
  } else if (body_by_length && bad_content_length_) {
    fail();
  } else if (body_by_length && content_length_) {
    if (*content_length_ == 0) {
      finish(true);
    } else {
      remaining_ = *content_length_;
      reserve_body();
      state_ = state::body_length;
    }
  } else {
    state_ = state::body_close;
  }
}

void http_framer::reserve_body() {
  // One allocation for the whole message when the length is known; a lying Content-Length
  // cannot make us reserve much.
  constexpr std::uint64_t max_reserve = 64 * 1024;
  if (borrowing_) return;  // done when the message is copied out of the caller's bytes
  msg_.reserve(msg_.size() + static_cast<std::size_t>(std::min(remaining_, max_reserve)));
}

void http_framer::end_chunk_size_line() {
  line_start_ = msg_size();
  chunk_digits_ = 0;
  if (chunk_size_ == 0) {
    state_ = state::trailer_line_start;
  } else {
    remaining_ = chunk_size_;
    chunk_size_ = 0;
    state_ = state::chunk_data;
  }
}

void http_framer::emit_start() {
  if (listener_)
    listener_->on_start(info_);
  else
    events_.push_back(http_event{http_event::kind::start, info_, {}, {}});
}

void http_framer::finish(bool complete) {
  info_.complete = complete && !info_.damaged;
  if (!complete) info_.damaged = true;
  if (listener_) {
    // The bytes are read during the call, wherever they are: no event, no copy.
    const bool owned = !borrowing_;
    borrowing_ = false;
    state_ = state::seek;
    synced_ = complete;
    at_line_start_ = true;
    listener_->on_end(info_, owned ? std::string_view(msg_) : data_.substr(borrow_off_, borrow_len_));
    if (owned) msg_ = std::string();
    return;
  }
  http_event e{http_event::kind::end, info_, {}, {}};
  if (!borrowing_) {
    e.bytes = std::move(msg_);
    msg_ = std::string();
  } else if (lend_) {
    e.borrowed = msg();
  } else {
    e.bytes.assign(msg());
  }
  borrowing_ = false;
  events_.push_back(std::move(e));
  state_ = state::seek;
  synced_ = complete;
  at_line_start_ = true;
}

void http_framer::fail() {
  ++framing_errors_;
  bool eol = msg_size() != 0 && msg().back() == '\n';
  finish(false);
  synced_ = false;
  at_line_start_ = eol;
}

void http_framer::tunnel() {
  // After 101 Switching Protocols or CONNECT the bytes are no longer HTTP/1.x messages.
  synced_ = false;
  at_line_start_ = false;
}

bool http_framer::body_state() const noexcept {
  return state_ != state::seek && state_ != state::start_line && state_ != state::headers;
}

bool http_framer::expect_without_body() const noexcept {
  // The client asked for 100-continue and never sent the body (a final response came instead).
  return state_ == state::body_length && info_.is_request && expect_continue_ &&
         msg_size() == header_end_;
}

void http_framer::gap(std::uint64_t bytes) {
  if (bytes == 0) return;
  if (state_ == state::body_length && bytes <= remaining_) {
    // The body length still tells where the message ends: keep the framing.
    info_.damaged = true;
    remaining_ -= bytes;
    if (remaining_ == 0) finish(true);
    return;
  }
  if (state_ == state::body_close || state_ == state::binary) {
    info_.damaged = true;
    return;
  }
  if (state_ == state::start_line) {
    skipped_ += msg_size();
    clear_message();
    state_ = state::seek;
  } else if (state_ != state::seek) {
    finish(false);
  }
  synced_ = false;
  at_line_start_ = true;
}

void http_framer::close() {
  switch (state_) {
    case state::seek:
      break;
    case state::start_line:
      reject_start_line(false);
      break;
    case state::body_close:
    case state::binary:
      finish(true);
      break;
    default:
      finish(expect_without_body());
      break;
  }
  synced_ = false;
  at_line_start_ = true;
}

void http_framer::flush() {
  switch (state_) {
    case state::seek:
      break;
    case state::start_line:
      reject_start_line(false);
      at_line_start_ = true;
      break;
    case state::binary:
      finish(true);
      break;
    default:
      finish(expect_without_body());
      synced_ = false;
      break;
  }
}

void http_framer::drop_message() {
  skipped_ += msg_size();
  borrowing_ = false;
  std::string().swap(msg_);  // assigning an empty string would keep the capacity
  state_ = state::seek;
  synced_ = false;
  at_line_start_ = false;
}

std::optional<http_event> http_framer::next() {
  if (events_head_ == events_.size()) return std::nullopt;
  http_event e = std::move(events_[events_head_++]);
  if (events_head_ == events_.size()) {
    events_.clear();
    events_head_ = 0;
  }
  return e;
}

}  // namespace coreplay::capture
