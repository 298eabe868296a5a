// A regular file read or written in large blocks: through io_uring (asio::stream_file) when the
// build has it and the kernel allows it, else plain read(2)/write(2) on the calling thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace coreplay {

namespace asio = boost::asio;

class block_file {
 public:
  enum class open_mode {
    read,
    write_truncate,  // create, or truncate an existing file
    write_append,    // create, or append to an existing file (O_APPEND)
  };
  // Opens `path`; throws std::system_error whose message names the path.
  // prefer_io_uring = false forces read(2)/write(2) (benchmarks, tests).
  block_file(asio::any_io_executor ex, const std::string& path, open_mode mode,
             bool prefer_io_uring = true);
  ~block_file();
  block_file(block_file&&) noexcept;
  block_file& operator=(block_file&&) noexcept;

  // Reads up to out.size() bytes; 0 at end of file. Throws std::system_error naming the path.
  asio::awaitable<std::size_t> read_some(std::span<char> out);
  // The same with read(2), blocking the calling thread (a reader thread of its own).
  std::size_t read_some_sync(std::span<char> out);
  // Writes all bytes; never cancelled half way (cancellation is not forwarded to it).
  // Throws std::system_error naming the path.
  asio::awaitable<void> write_all(std::string_view bytes);
  // The same, blocking the calling thread: for cleanup that must finish even when cancelled.
  void write_all_sync(std::string_view bytes);

  // Size on disk now (fstat).
  std::uint64_t size() const;
  void close();
  bool is_open() const noexcept;
  bool uses_io_uring() const noexcept;
  const std::string& path() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace coreplay
