// --output-file: writes gor files (optionally gzip), chunked and named as gor names them.
#pragma once

#include "core/options.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace coreplay {

struct file_output_options {
  std::string path;                                        // template: %Y %m %d %H %M %S %NS %r %t %i
  byte_size size_limit{32u << 20};                         // --output-file-size-limit; 0 = none
  std::int64_t queue_limit = 256;                          // --output-file-queue-limit (records); 0 = none
  byte_size max_size_limit{std::uint64_t{1} << 40};        // --output-file-max-size-limit; 0 = none
  bool append = false;                                     // --output-file-append: one file, no _N
  std::chrono::nanoseconds flush_interval{std::chrono::seconds{1}};  // 0 means 100 ms, as gor
  byte_size write_buffer_size{256u << 10};                 // written when this full, or at a flush
  std::int64_t gzip_level = 6;                             // for paths ending in .gz (1-9)
  // write(2) by default: buffered io_uring writes to ext4 go through io_uring's worker threads
  // and measured 4x slower here (bench/file_io, BENCHMARKS.md).
  bool prefer_io_uring = false;
};

// Every message taken is on disk when run() returns, whether the stream ended or run() was
// cancelled: cleanup writes synchronously and closes every file (gzip trailer included).
// Files are opened O_APPEND, never truncated. Past max_size_limit_bytes of records, messages
// are dropped and counted ("dropped_max_size", drops). Expects a serial executor (one thread
// or a strand): run() and its flush timer share state without locks.
//
// Stats counters: "files_opened", "bytes_written" (on disk, compressed for .gz),
// "dropped_max_size".
// gor's --output-file-* flags bound to file_output_options (the path comes from --output-file).
option_group<file_output_options> file_output_option_group();

class file_output final : public sink {
 public:
  explicit file_output(file_output_options opts);
  asio::awaitable<void> run(message_reader in) override;

  const file_output_options& options() const noexcept { return opts_; }

 private:
  file_output_options opts_;
};

}  // namespace coreplay
