// A gor file read, inflated and split into records on a thread of its own, a few blocks ahead
// of the coroutine that makes messages of them: the kernel's copy and the separator scan run on
// the second core while the first one parses the meta lines and routes. (The meta lines were
// parsed here too, but this thread was the slower one by far: reading each record's first line
// on the replay's side costs no more than handing its parsed fields across.)
#pragma once

#include "core/block_file.hpp"
#include "core/gor_record.hpp"
#include "core/gzip_stream.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace coreplay {

namespace asio = boost::asio;

struct gor_read_ahead_options {
  std::size_t block_bytes = std::size_t{256} << 10;  // one read(2)
  std::size_t max_record_bytes = default_max_record_bytes;
  std::size_t depth = 8;  // batches read ahead (each about one block): the memory bound
  bool gzip = false;
};

// The thread reads one block at a time and hands over its records as a batch; at most `depth`
// batches wait for the consumer (back-pressure: the thread sleeps until one is given back).
// Errors travel in order, after the records read before them. The destructor stops the thread
// and joins it (a read(2) in progress finishes first): for regular files only, since a read(2)
// from a pipe waits for its writer. One consumer, on one executor (a single thread or a strand).
class gor_read_ahead {
 public:
  // A record's place in the batch's block: 8 bytes, not a 24-byte span. The thread writes
  // these and the consumer reads them, so each one is a cache line's share that crosses
  // between the cores (and back, when the thread reuses the batch).
  struct record_ref {
    std::uint32_t start;
    std::uint32_t size;
  };
  struct batch {
    std::shared_ptr<char[]> block;             // holds every record's bytes
    std::uint64_t base = 0;                    // stream offset of block[0]
    // Whole records the thread left for the consumer to split (gor_region_splitter), when
    // the consumer was keeping up (size 0: none); they come before `records`.
    record_ref region{0, 0};
    std::vector<record_ref> records;           // meta lines not yet parsed
    std::vector<gor_record_skip> skips;        // skipped while reading this batch (by offset)
    std::uint64_t bytes_read = 0;              // file bytes read up to the end of this batch
    bool end = false;                          // nothing follows
    std::exception_ptr error;                  // with end: reading failed after the records

    gor_record_span span(const record_ref& r) const noexcept {
      return {base + r.start, std::string_view(block.get() + r.start, r.size)};
    }
  };

  // Blocks hold up to max_record_bytes + block_bytes: record_ref's 32-bit fields bound both.
  static constexpr std::size_t max_record_bytes_limit = std::size_t{1} << 30;

  // `file` is open (opening errors belong to the caller); `path` names it in errors.
  gor_read_ahead(asio::any_io_executor ex, block_file file, std::string path, gor_read_ahead_options opts);
  ~gor_read_ahead();
  gor_read_ahead(const gor_read_ahead&) = delete;
  gor_read_ahead& operator=(const gor_read_ahead&) = delete;

  // The next batch when one is ready, else nullptr. Either call gives the previously returned
  // batch back to the thread: its records (and their view of the block) are gone then.
  batch* try_next();
  // Waits for the next batch. Never nullptr: the last batch has `end` set.
  asio::awaitable<batch*> next();

 private:
  void run() noexcept;
  bool produce(batch& b);
  std::size_t read_block(std::span<char> out);
  batch* acquire_free();
  void publish(batch* b);
  void wake_consumer();

  asio::any_io_executor ex_;
  std::string path_;
  gor_read_ahead_options opts_;
  // The thread's side.
  block_file file_;
  gor_record_reader records_;
  std::optional<gzip_decoder> gunzip_;
  std::string compressed_;
  std::uint64_t bytes_read_ = 0;
  bool file_eof_ = false;
  batch* filling_ = nullptr;
  // Shared, under mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<batch>> batches_;
  std::vector<batch*> free_;
  std::deque<batch*> ready_;
  bool stop_ = false;
  bool waiting_ = false;  // the consumer sleeps on wake_: a publish posts a wake-up (see publish)
  // Each side sleeps until this many batches are its own again (ready ones end the consumer's
  // wait, free ones the thread's); fewer ready ones than this: the thread hands blocks over.
  std::size_t half_batches_ = 1;
  std::atomic<std::size_t> backlog_{0};  // ready_.size(), for the thread's split-or-hand-over choice
  bool reader_waiting_ = false;
  // The consumer's side.
  batch* current_ = nullptr;
  std::shared_ptr<asio::steady_timer> wake_;  // a wait that a posted cancel() ends
  std::thread thread_;
};

}  // namespace coreplay
