// --input-file: replays gor files on their recorded schedule.
#pragma once

#include "core/gor_record.hpp"
#include "core/options.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <ostream>
#include <string>

namespace coreplay {

struct file_input_options {
  std::string path;                          // glob; several files merge by timestamp
  bool loop = false;                         // --input-file-loop
  std::int64_t read_depth = 100;             // --input-file-read-depth: per-file reordering window
  std::chrono::nanoseconds max_wait{0};      // --input-file-max-wait: caps each scaled gap; 0 = no cap
  bool dry_run = false;                      // --input-file-dry-run: print gor's summary, emit nothing
  double speed_factor = 1.0;                 // "|200%" → 2.0; <= 0: as fast as possible
  byte_size max_record_size{default_max_record_bytes};  // --copy-buffer-size: larger records skipped
  // One read(2) or io_uring read. Records are views into these blocks, so a message a slow
  // output keeps pins its block: 256 KiB reads as fast as 1 MiB here and pins a quarter.
  byte_size read_block_size{256u << 10};
  bool prefer_io_uring = true;
  // Blocks a reader thread reads and parses ahead of the replay (one or two files); 0: none,
  // each block is read by the replay's own thread when needed (io_uring or read(2)).
  std::size_t read_ahead_blocks = 8;
  std::ostream* dry_run_out = nullptr;       // where the dry-run summary goes; stdout when null
};

// Sends each record at start + (ts - ts0) / speed_factor on a monotonic clock (gaps capped by
// max_wait), never sleeping message to message, so no drift accumulates. Records older than
// the previous one go at once and are counted ("out_of_order"). Returns at the end of the
// files (unless looping). Throws, naming the path, when the glob matches nothing, a file
// cannot be read, or a .gz file is corrupt or truncated.
//
// Stats: counters "malformed", "oversized" (also in drops), "out_of_order", "lag_ns" (how late
// the last record went), "max_lag_ns", "bytes_read", "bytes_total" (on-disk sizes, for
// progress); `detail` renders lag and progress for --stats.
// gor's --input-file-* flags bound to file_input_options (the path comes from --input-file).
option_group<file_input_options> file_input_option_group();

class file_input final : public source {
 public:
  explicit file_input(file_input_options opts);
  asio::awaitable<void> run(message_writer out) override;

  const file_input_options& options() const noexcept { return opts_; }

 private:
  file_input_options opts_;
};

}  // namespace coreplay
