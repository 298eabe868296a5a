// Reading gor files: one file's records in timestamp order within a window, and the k-way
// merge of several files by timestamp (the smallest next timestamp wins).
#pragma once

#include "core/block_file.hpp"
#include "core/gor_record.hpp"
#include "core/gzip_stream.hpp"
#include "inputs/file/gor_read_ahead.hpp"
#include "inputs/file/record_window.hpp"

#include <coreplay/message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coreplay {

namespace asio = boost::asio;

struct gor_file_read_options {
  std::size_t read_depth = 100;                           // window per file, >= 1
  std::size_t max_record_bytes = default_max_record_bytes;
  std::size_t block_bytes = std::size_t{256} << 10;       // one read(2) / io_uring read (file_input.hpp)
  bool prefer_io_uring = true;
  // > 0: a thread reads and parses this many blocks ahead of the consumer (gor_read_ahead);
  // 0: the coroutine reads each block itself (io_uring or read(2)) when it needs it.
  std::size_t read_ahead_blocks = 0;
};

// One file. Opening throws std::system_error naming the path; corrupt gzip throws
// std::runtime_error naming the path and the compressed offset.
class gor_file_reader {
 public:
  gor_file_reader(asio::any_io_executor ex, std::string path, const gor_file_read_options& opts,
                  gor_record_reader::skip_handler on_skip = {});

  // Reads until the window holds read_depth records or the file has ended.
  asio::awaitable<void> fill();
  // The same from bytes already read; false when that needs I/O (then call fill()).
  bool fill_buffered();
  ~gor_file_reader();
  // After fill(): true when the file has no more records.
  bool empty() const noexcept { return window_.empty(); }
  std::int64_t top_timestamp() const noexcept { return window_.top_timestamp(); }
  message_ptr pop() { return window_.pop(); }

  const std::string& path() const noexcept { return path_; }
  std::uint64_t file_size() const noexcept { return file_size_; }
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  const gor_record_reader& records() const noexcept { return records_; }
  bool uses_io_uring() const noexcept { return file_.uses_io_uring(); }

 private:
  asio::awaitable<void> read_more();
  enum class ahead_step { record, wait, done };
  ahead_step step_ahead();
  void adopt(gor_read_ahead::batch* b);
  void take(const gor_record_span& r);
  void report_skips_before(std::uint64_t offset);

  std::string path_;
  gor_file_read_options opts_;
  block_file file_;
  std::uint64_t file_size_ = 0;
  std::uint64_t bytes_read_ = 0;
  gor_record_reader records_;
  std::optional<gzip_decoder> gunzip_;
  std::string compressed_;  // the block being inflated
  bool file_eof_ = false;
  bool done_ = false;
  record_window window_;
  // With read-ahead: the batch whose records go into the window next.
  std::unique_ptr<gor_read_ahead> ahead_;
  gor_read_ahead::batch* batch_ = nullptr;
  gor_region_splitter region_;  // its region's records not yet in the window
  const gor_read_ahead::record_ref* next_ = nullptr;  // its records not yet in the window
  const gor_read_ahead::record_ref* last_ = nullptr;
  const gor_record_skip* skip_next_ = nullptr;  // its skips not yet reported (in file order
  const gor_record_skip* skip_last_ = nullptr;  // with the malformed records found here)
  gor_record_reader::skip_handler on_skip_;
};

// Several files merged by timestamp: each file's head is the smallest timestamp in its
// window, and the smallest head goes first (ties: the file first in the glob).
//
// Up to `eager_files` files are all opened at the start. A larger glob (gor's default 256-record
// chunks make thousands of files) would exhaust descriptors and memory, so then each file is
// first opened briefly to learn its first head, and only opened for good when the merge
// reaches that timestamp. The order is the same as with every file open; only files whose
// time ranges overlap are open together, and a finished file frees its buffers.
class gor_file_merge {
 public:
  static constexpr std::size_t eager_files = 64;
  // Read-ahead threads only for a glob of at most this many files: more threads than the
  // machine's cores gain nothing, and thousands of small files would pay a thread each.
  static constexpr std::size_t read_ahead_files = 2;

  gor_file_merge(asio::any_io_executor ex, std::vector<std::string> paths, gor_file_read_options opts,
                 std::function<void(const std::string& path, const gor_record_skip&)> on_skip = {});
  ~gor_file_merge();

  // The next record in timestamp order; nullptr once every file has ended. The first call
  // opens the files (throws naming a file that cannot be read) before returning anything.
  asio::awaitable<message_ptr> next();
  // The next record when it needs no I/O (the common case), else nullptr: then call next().
  message_ptr try_next();

  std::size_t file_count() const noexcept { return paths_.size(); }
  // On-disk sizes of all files, and bytes read from them so far (for progress).
  std::uint64_t total_bytes() const noexcept { return total_bytes_; }
  std::uint64_t bytes_read() const noexcept;
  // Files open now.
  std::size_t open_files() const noexcept;

 private:
  std::unique_ptr<gor_file_reader> open(std::size_t i, const gor_file_read_options& o);
  asio::awaitable<void> prime();
  asio::awaitable<void> activate(std::size_t i);
  bool activation_due() const noexcept;
  message_ptr pop_top();
  void reinsert(std::size_t i);

  asio::any_io_executor ex_;
  std::vector<std::string> paths_;
  gor_file_read_options opts_;
  std::function<void(const std::string&, const gor_record_skip&)> on_skip_;
  std::vector<std::unique_ptr<gor_file_reader>> files_;  // by glob position; null when not open
  std::vector<std::pair<std::int64_t, std::size_t>> waiting_;  // (first head, file), by head descending
  std::vector<std::size_t> heap_;  // open files, min-heap by (top timestamp, index)
  bool primed_ = false;
  std::optional<std::size_t> refill_;  // the file popped last, to refill before the next pop
  std::uint64_t total_bytes_ = 0;
  std::uint64_t done_bytes_ = 0;       // read from files already closed
  std::vector<std::uint64_t> skips_reported_;  // per file: offset + 1 of the last skip reported
};

// filepath.Glob: matches in lexical order. Throws std::runtime_error naming the pattern when
// nothing matches.
std::vector<std::string> expand_input_glob(const std::string& pattern);

}  // namespace coreplay
