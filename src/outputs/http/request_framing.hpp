// Sans-I/O pieces of the HTTP output: finding where a recorded request ends, and re-assembling
// it for the target with only the Host header and (when the output URL has a path) the
// request-target changed. Everything else goes out byte for byte as recorded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay::http_replay {

// Why a recorded request cannot be sent. Such a request is counted and skipped, never sent half.
enum class request_defect {
  none,
  no_request_line,        // no line ending, or not `METHOD SP target SP HTTP/x.y`
  unsupported_version,    // not HTTP/1.x (e.g. the HTTP/2 preface `PRI * HTTP/2.0`)
  bad_header,             // a header line without a colon, or an empty name
  truncated_header,       // no blank line after the headers
  bad_content_length,     // not a number, or several that disagree
  bad_transfer_encoding,  // a transfer coding other than a final `chunked`
  bad_chunk,              // a chunk size line that is not hex
  truncated_body,         // fewer body bytes than the framing announces
};
std::string_view to_string(request_defect d) noexcept;

// A byte range [begin, end) of the payload.
struct byte_range {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const noexcept { return end - begin; }
};

// Where things are in one recorded request. Offsets index the payload it was framed from.
struct framed_request {
  request_defect defect = request_defect::none;
  std::string_view method;
  byte_range target;                // the request-target in the request line
  std::vector<byte_range> host_values;  // the value of each Host header (without spaces around)
  std::size_t header_end = 0;       // just past the blank line
  std::size_t message_end = 0;      // just past the body: bytes after it are not part of this request
  bool chunked = false;
  bool has_authorization = false;
  std::string_view line_ending = "\r\n";  // of the request line, used for lines we add

  bool ok() const noexcept { return defect == request_defect::none; }
  bool is_head() const noexcept { return method == "HEAD"; }
};

// Frames the first request in `payload`. Accepts bare LF line endings as recorded; the body
// length comes from Transfer-Encoding: chunked, else Content-Length, else there is none.
framed_request frame_request(std::string_view payload);
// Reuses `out`'s storage (its host_values keep their capacity between requests).
void frame_request(std::string_view payload, framed_request& out);

// The output's URL: `http://host:port/path?query`, https too; no scheme means http.
struct target_url {
  bool tls = false;
  std::string host;       // without brackets for IPv6 literals
  std::string port;       // always set: explicit, or 80/443
  std::string authority;  // host[:port] as written: the Host header value
  std::string path_and_query;  // empty when the URL has neither path nor query
  std::string authorization;   // "Basic ..." from userinfo, empty without
};
// Throws std::invalid_argument naming the URL when it cannot be used.
target_url parse_target_url(std::string_view url);

// "host", "host:port", "[v6]", "[v6]:port" (views into `authority`). Throws
// std::invalid_argument with a short reason for a broken IPv6 literal.
struct host_port {
  std::string_view host;
  std::string_view port;  // empty when absent
  bool bracketed = false;
};
host_port split_host_port(std::string_view authority);

struct assemble_params {
  std::string_view host;          // replaces every Host value; empty keeps them (original host)
  std::string_view target;        // replaces the request-target; empty keeps it
  std::string_view authorization; // added as an Authorization header when the request has none
};

// Pieces whose concatenation is the request to send: views into `payload`, `params` and
// static text. `scratch` holds lines built here; keep it alive until the pieces are written.
void assemble_request(std::string_view payload, const framed_request& f, const assemble_params& params,
                      std::string& scratch, std::vector<std::string_view>& pieces);

// The request-target in origin form: `http://h/p?q` becomes `/p?q` (a server is not a proxy).
std::string_view origin_form(std::string_view target) noexcept;

// Base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view in);

}  // namespace coreplay::http_replay
