// --prettify-http: de-chunks `Transfer-Encoding: chunked` bodies and gunzips
// `Content-Encoding: gzip` bodies, so outputs and middleware see plain bodies.
//
// Applies to every message type (requests and responses) with a complete head. Header
// names and the `chunked`/`gzip` tokens match case-insensitively (gor: exact case only).
// The decoded message loses Transfer-Encoding / Content-Encoding and gets a Content-Length
// (replacing an existing one; otherwise where Transfer-Encoding was, or after the start
// line). Chunked trailer fields are moved into the head (RFC 9112 §7.1.2 allows that when
// de-chunking) and the `Trailer` header is removed. Bytes after the first message's body
// (a pipelined message) are kept as they are.
//
// A body that does not decode (bad chunk framing, truncated or corrupt gzip, or inflating
// past max_inflated_bytes) leaves the message unchanged and is counted; gor drops a message
// with a bad gzip header silently.
#pragma once

#include <coreplay/plugin.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coreplay::http {

struct http_prettifier_options {
  // Inflated bodies larger than this are left compressed (zip-bomb guard).
  std::size_t max_inflated_bytes = 64u << 20;
};

class http_prettifier final : public message_filter {
 public:
  explicit http_prettifier(http_prettifier_options options = {}) : opt_(options) {}

  message_ptr apply(message_ptr m) override;

  enum class outcome { unchanged, changed, failed };
  // The sans-message core. `out` holds the new payload when the outcome is `changed`.
  outcome prettify(std::string_view payload, std::string& out) const;

  struct counters {
    std::atomic<std::uint64_t> dechunked{0};
    std::atomic<std::uint64_t> gunzipped{0};
    std::atomic<std::uint64_t> bad_chunked{0};  // passed unchanged
    std::atomic<std::uint64_t> bad_gzip{0};     // passed unchanged (includes too large)
  };
  const counters& stats() const noexcept { return stats_; }
  // One line for --stats: "dechunked=… gunzipped=… bad_chunked=… bad_gzip=…".
  std::string summary() const;

 private:
  http_prettifier_options opt_;
  mutable counters stats_;
};

// Decodes a chunked body starting at `body`. On success fills `out` with the data and
// `trailers` with the trailer lines (each without its EOL, joined by '\n'), and returns the
// number of bytes consumed (through the final empty line); nullopt on bad or cut-off framing.
std::optional<std::size_t> decode_chunked(std::string_view body, std::string& out,
                                          std::string& trailers);

// Inflates one or more concatenated gzip members. False on corrupt or truncated input or
// when the output would exceed max_bytes.
bool gunzip(std::string_view in, std::string& out, std::size_t max_bytes);

}  // namespace coreplay::http
