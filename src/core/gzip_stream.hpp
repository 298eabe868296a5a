// Streaming gzip with zlib, sans-I/O: bytes in, bytes out, no files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace coreplay {

// Corrupt or truncated compressed data; `offset` is the compressed byte offset where it was seen.
class gzip_error : public std::runtime_error {
 public:
  gzip_error(const std::string& what, std::uint64_t offset)
      : std::runtime_error(what), offset_(offset) {}
  std::uint64_t offset() const noexcept { return offset_; }
  // The same error as a reader of the file `path` reports it.
  std::runtime_error in_file(const std::string& path) const {
    return std::runtime_error("gzip file '" + path + "' at compressed byte " + std::to_string(offset_) + ": " +
                              what());
  }

 private:
  std::uint64_t offset_;
};

// Inflates gzip data; several concatenated members read as one stream (as `gzip -d` does).
class gzip_decoder {
 public:
  gzip_decoder();
  ~gzip_decoder();
  gzip_decoder(const gzip_decoder&) = delete;
  gzip_decoder& operator=(const gzip_decoder&) = delete;

  // The next compressed bytes; they must stay valid until needs_input() is true again.
  void set_input(std::string_view in);
  bool needs_input() const noexcept;
  // Inflates into `out`; returns the number of bytes written (0 when input is needed).
  // Throws gzip_error on corrupt data.
  std::size_t inflate_some(std::span<char> out);
  // End of the compressed stream: throws gzip_error if it stopped inside a member.
  void finish() const;
  std::uint64_t bytes_in() const noexcept { return total_in_; }

 private:
  struct impl;
  std::unique_ptr<impl> z_;
  std::uint64_t total_in_ = 0;
  bool in_member_ = false;  // header or data of a member seen and its trailer not yet
};

// Deflates into gzip format; output is appended to a caller's string.
class gzip_encoder {
 public:
  explicit gzip_encoder(int level = 6);
  ~gzip_encoder();
  gzip_encoder(const gzip_encoder&) = delete;
  gzip_encoder& operator=(const gzip_encoder&) = delete;

  void write(std::string_view in, std::string& out);
  // Makes everything written so far decodable (Z_SYNC_FLUSH), as gor's periodic flush does.
  void sync_flush(std::string& out);
  // Writes the trailer; the encoder can then only be destroyed.
  void finish(std::string& out);
  std::uint64_t bytes_out() const noexcept { return total_out_; }

 private:
  void run(std::string_view in, int flush, std::string& out);
  struct impl;
  std::unique_ptr<impl> z_;
  std::uint64_t total_out_ = 0;
  bool finished_ = false;
};

}  // namespace coreplay
