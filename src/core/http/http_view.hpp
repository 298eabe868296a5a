// Byte-level reading and editing of a raw HTTP/1.x payload (request or response).
//
// Every byte that an edit does not target is kept: header order, name case, duplicates,
// line endings (CRLF or bare LF) and the body. Only the head of the FIRST message is read
// or edited: a record that holds several pipelined messages keeps the later ones as opaque
// bytes after the first head (they are part of what this view calls the body). That is
// what gor does too, and it keeps edits from ever touching bytes inside a body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coreplay::http {

// `METHOD SP request-target SP HTTP/1.x EOL` with any token method (PURGE, PROPFIND...).
struct request_line {
  std::string_view method;
  std::string_view target;   // path + query, or an absolute/authority/asterisk form
  std::string_view version;  // "HTTP/1.0" or "HTTP/1.1"
  std::size_t next = 0;      // offset just after the line's EOL
};

// `HTTP/1.x SP 3DIGIT [SP reason] EOL` with any three-digit status.
struct status_line {
  std::string_view version;
  int status = 0;
  std::string_view reason;
  std::size_t next = 0;
};

// Parses the first line of payload; nullopt unless it is a complete, well-formed request
// line ending in CRLF or LF.
std::optional<request_line> parse_request_line(std::string_view payload) noexcept;
std::optional<status_line> parse_status_line(std::string_view payload) noexcept;

// One header line of the first message head. Offsets are into the viewed payload.
struct header_field {
  std::string_view name;   // as written (case kept)
  std::string_view value;  // trimmed of bytes <= 0x20 on both sides, as gor does
  std::size_t line_begin = 0;
  std::size_t line_end = 0;  // just after the line's EOL (or payload end for a cut-off line)
  std::size_t value_begin = 0;
  std::size_t value_end = 0;
};

bool iequals(std::string_view a, std::string_view b) noexcept;
// A non-empty RFC 9110 token (what methods and header names are made of).
bool is_token(std::string_view s) noexcept;
// Bytes allowed in a request-target: no space, no control byte.
bool is_target_text(std::string_view s) noexcept;

// A read-only view of the first message head of a payload. Cheap to build (it scans for
// the end of the head once); keeps pointers into the payload, which must outlive it.
class http_view {
 public:
  explicit http_view(std::string_view payload) noexcept;
  // For a payload whose request line is already parsed (`line` must come from this payload).
  http_view(std::string_view payload, const request_line& line) noexcept;

  std::string_view payload() const noexcept { return p_; }
  const std::optional<request_line>& request() const noexcept { return req_; }
  const std::optional<status_line>& response() const noexcept { return resp_; }
  bool has_start_line() const noexcept { return req_ || resp_; }

  // EOL of the start line ("\r\n" or "\n"): what inserted header lines use.
  std::string_view eol() const noexcept { return crlf_ ? std::string_view("\r\n") : "\n"; }
  // Where header lines begin (after the start line; 0 when there is none).
  std::size_t headers_begin() const noexcept { return headers_begin_; }
  // Where the blank line that ends the head begins; payload size when the head is cut off.
  std::size_t headers_end() const noexcept { return scan(), headers_end_; }
  // After the blank line; payload size when the head is cut off.
  std::size_t body_begin() const noexcept { return scan(), body_begin_; }
  bool head_complete() const noexcept { return scan(), complete_; }
  std::string_view body() const noexcept { return p_.substr(body_begin()); }

  // The first header with that name (case-insensitive), never looking past the head.
  std::optional<header_field> header(std::string_view name) const noexcept;
  // Calls f(const header_field&) for each header line in order; f returns false to stop.
  template <class F>
  void for_each_header(F&& f) const {
    std::size_t pos = headers_begin_;
    header_field h;
    while (next_header(pos, h))
      if (!f(static_cast<const header_field&>(h))) return;
  }

  // The request-target (empty for a response or no start line).
  std::string_view target() const noexcept { return req_ ? req_->target : std::string_view{}; }
  // Value of the first `name=` parameter of the query (raw, not URL-decoded).
  std::optional<std::string_view> query_param(std::string_view name) const noexcept;

 private:
  // The end of the head is found lazily: a header lookup that reaches it records it, so a
  // view used only for lookups scans the head once.
  void scan() const noexcept {
    if (!scanned_) find_head_end();
  }
  void find_head_end() const noexcept;
  void note_end(std::size_t headers_end, std::size_t body_begin, bool complete) const noexcept {
    headers_end_ = headers_end;
    body_begin_ = body_begin;
    complete_ = complete;
    scanned_ = true;
  }
  // Reads the header line at pos; advances pos; false at the end of the head.
  bool next_header(std::size_t& pos, header_field& out) const noexcept;

  std::string_view p_;
  std::optional<request_line> req_;
  std::optional<status_line> resp_;
  std::size_t headers_begin_ = 0;
  mutable std::size_t headers_end_ = 0;
  mutable std::size_t body_begin_ = 0;
  mutable bool complete_ = false;
  mutable bool scanned_ = false;
  bool crlf_ = true;
};

// Offsets of a query parameter's value inside a request-target.
struct param_span {
  std::size_t value_begin = 0;
  std::size_t value_end = 0;
};
std::optional<param_span> find_query_param(std::string_view target, std::string_view name) noexcept;

// Edits of the first message head, in place. Each returns false when the payload has no
// head to edit (no request/status line), leaving it unchanged.

// Replaces the value of the first header with that name, or inserts `Name: value` right
// after the start line (with the start line's EOL style).
bool set_header(std::string& payload, std::string_view name, std::string_view value);
// Inserts `Name: value` right after the start line, even if the name exists.
bool insert_header(std::string& payload, std::string_view name, std::string_view value);
// Appends `Name: value` at the end of the head (before the blank line).
bool append_header(std::string& payload, std::string_view name, std::string_view value);
// Removes every line of that header from the head; returns how many.
std::size_t delete_header(std::string& payload, std::string_view name);
// Replaces the request-target (requests only).
bool set_target(std::string& payload, std::string_view target);
// Replaces the value of the first `name=` query parameter, or appends `?name=value` /
// `&name=value`. No URL encoding is done (as gor).
bool set_query_param(std::string& payload, std::string_view name, std::string_view value);

// FNV-1a, 32 bits: what gor's header and param limiters hash.
constexpr std::uint32_t fnv1a32(std::string_view s) noexcept {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

}  // namespace coreplay::http
