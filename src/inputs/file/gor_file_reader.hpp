// Reading gor files: one file's records in timestamp order within a window, and the k-way
// merge of several files by timestamp (the smallest next timestamp wins).
#pragma once

#include "core/block_file.hpp"
#include "core/gor_record.hpp"
#include "core/gzip_stream.hpp"
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
  std::size_t block_bytes = std::size_t{1} << 20;         // one read(2) / io_uring read
  bool prefer_io_uring = true;
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
};

// Several files merged by timestamp.
class gor_file_merge {
 public:
  // Opens every file now (so a bad path fails before anything is sent).
  gor_file_merge(asio::any_io_executor ex, const std::vector<std::string>& paths,
                 gor_file_read_options opts,
                 std::function<void(const std::string& path, const gor_record_skip&)> on_skip = {});

  // The next record in timestamp order; nullptr once every file has ended.
  asio::awaitable<message_ptr> next();
  // The next record when it needs no I/O (the common case), else nullptr: then call next().
  message_ptr try_next();

  const std::vector<std::unique_ptr<gor_file_reader>>& files() const noexcept { return files_; }

 private:
  std::vector<std::unique_ptr<gor_file_reader>> files_;
  message_ptr pop_top();
  void reinsert(std::size_t i);

  std::vector<std::size_t> heap_;  // indexes into files_, min-heap by (top timestamp, index)
  bool primed_ = false;
  std::optional<std::size_t> refill_;  // the file popped last, to refill before the next pop
};

// filepath.Glob: matches in lexical order. Throws std::runtime_error naming the pattern when
// nothing matches.
std::vector<std::string> expand_input_glob(const std::string& pattern);

}  // namespace coreplay
