// gor's middleware line protocol: each message crosses the pipe as ONE line, the lowercase
// hex of its record (meta line + '\n' + payload) followed by '\n'.
//
// Decoding accepts upper- or lowercase hex and tolerates a trailing '\r' (gor rejects the
// '\r\n' line ending as odd-length hex). A decoded record must parse as a message
// (message::parse: a meta line of at least 3 fields with a numeric timestamp); unlike gor,
// a record without a '\n' (meta only, no payload) is still a message with an empty payload
// when its meta is valid.
#pragma once

#include <coreplay/message.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coreplay::http {

// Appends the hex of `bytes` (lowercase) to out.
void hex_encode_append(std::string& out, std::string_view bytes);
// Decodes hex into out (cleared first); false on a non-hex byte or an odd length.
bool hex_decode(std::string_view hex, std::string& out);

enum class middleware_error : std::uint8_t { none, empty, odd_length, not_hex, bad_meta };
std::string_view to_string(middleware_error e) noexcept;

struct middleware_decoded {
  message_ptr msg;  // null when error != none
  middleware_error error = middleware_error::none;
};

// One line for the child's stdin: hex(record) + '\n'.
std::string middleware_encode(const message& m);
void middleware_encode_append(std::string& out, const message& m);

// One line from the child's stdout (with or without its '\n', and a '\r' before it).
middleware_decoded middleware_decode(std::string_view line);

// Cuts a byte stream into lines with bounded memory. Lines longer than max_line_bytes
// (without the '\n') are skipped up to their '\n' and counted in oversized().
class line_splitter {
 public:
  explicit line_splitter(std::size_t max_line_bytes) : max_(max_line_bytes) {}

  void feed(std::string_view bytes);
  // The next complete line without its '\n'; valid until the next feed() or next().
  std::optional<std::string_view> next();
  // At end of stream: what is left without a final '\n' (at most max_line_bytes), once.
  std::optional<std::string_view> finish();

  std::uint64_t oversized() const noexcept { return oversized_; }
  std::size_t buffered() const noexcept { return buf_.size() - head_; }

 private:
  void compact();

  std::size_t max_;
  std::string buf_;
  std::size_t head_ = 0;     // start of the unread part of buf_
  std::size_t scanned_ = 0;  // bytes from head_ already known to hold no '\n'
  bool skipping_ = false;    // inside an oversized line: drop bytes up to the next '\n'
  std::uint64_t oversized_ = 0;
};

}  // namespace coreplay::http
