#include "inputs/file/gor_read_ahead.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <stdexcept>

namespace coreplay {

gor_read_ahead::gor_read_ahead(asio::any_io_executor ex, block_file file, std::string path,
                               gor_read_ahead_options opts)
    : ex_(ex),
      path_(std::move(path)),
      opts_(opts),
      file_(std::move(file)),
      // Blocks come back once the batches and messages using them are gone: room for every
      // batch in flight and a few pinned downstream, so the steady state allocates nothing.
      records_(opts.max_record_bytes, [this](const gor_record_skip& s) { filling_->skips.push_back(s); },
               opts.depth + 4),
      wake_(std::make_shared<asio::steady_timer>(ex)) {
  opts_.depth = std::max<std::size_t>(opts_.depth, 1);
  half_batches_ = std::max<std::size_t>(opts_.depth / 2, 1);
  opts_.block_bytes = std::clamp<std::size_t>(opts_.block_bytes, 4096, max_record_bytes_limit);
  if (opts_.max_record_bytes > max_record_bytes_limit)
    throw std::invalid_argument("gor_read_ahead: records over 1 GiB need the reader without a thread");
  if (opts_.gzip) gunzip_.emplace();
  for (std::size_t i = 0; i < opts_.depth; ++i) {
    batches_.push_back(std::make_unique<batch>());
    free_.push_back(batches_.back().get());
  }
  thread_ = std::thread([this] { run(); });
}

gor_read_ahead::~gor_read_ahead() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

// With no free batch the thread sleeps until half of them are free, not until the first one
// is: waking a thread costs both cores a few microseconds on a VM (an IPI, a halted vCPU
// resumed), and a thread woken for one batch soon sleeps again.
gor_read_ahead::batch* gor_read_ahead::acquire_free() {
  std::unique_lock lk(mu_);
  if (free_.empty() && waiting_) {  // every batch is ready: the consumer must take one now
    waiting_ = false;
    lk.unlock();
    wake_consumer();
    lk.lock();
  }
  if (free_.empty()) {
    reader_waiting_ = true;
    cv_.wait(lk, [&] { return stop_ || free_.size() >= half_batches_; });
    reader_waiting_ = false;
  }
  if (stop_) return nullptr;
  batch* b = free_.back();
  free_.pop_back();
  return b;
}

// A consumer waiting for data is woken once several batches are ready (or the last one, or
// when the thread runs out of free batches), not at every batch: waking the io_context from
// here costs a system call on each side and often a reschedule (~5 us), and the consumer
// usually drains a batch faster than this thread fills one, so it would sleep again at once.
void gor_read_ahead::publish(batch* b) {
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    ready_.push_back(b);
    backlog_.store(ready_.size(), std::memory_order_relaxed);
    wake = waiting_ && (b->end || ready_.size() >= half_batches_);
    if (wake) waiting_ = false;
  }
  if (wake) wake_consumer();
}

void gor_read_ahead::wake_consumer() {
  // The consumer's wait ends on its own executor; the timer may be gone by then.
  asio::post(ex_, [w = std::weak_ptr<asio::steady_timer>(wake_)] {
    if (auto t = w.lock()) t->cancel();
  });
}

void gor_read_ahead::run() noexcept {
  for (;;) {
    batch* b = acquire_free();
    if (!b) break;
    b->records.clear();
    b->region = {0, 0};
    b->skips.clear();
    b->block.reset();
    b->end = false;
    b->error = nullptr;
    try {
      b->end = produce(*b);
    } catch (...) {
      b->end = true;
      b->error = std::current_exception();
    }
    publish(b);
    if (b->end) break;
  }
  file_.close();
}

std::size_t gor_read_ahead::read_block(std::span<char> out) {
  if (!gunzip_) return file_.read_some_sync(out);
  try {
    for (;;) {
      if (gunzip_->needs_input()) {
        if (file_eof_) {
          gunzip_->finish();
          return 0;
        }
        compressed_.resize(opts_.block_bytes);
        std::size_t n = file_.read_some_sync(compressed_);
        bytes_read_ += n;
        if (n == 0) {
          file_eof_ = true;
          continue;
        }
        gunzip_->set_input(std::string_view(compressed_).substr(0, n));
      }
      if (std::size_t n = gunzip_->inflate_some(out)) return n;
    }
  } catch (const gzip_error& e) {
    throw e.in_file(path_);
  }
}

// One block (more while a record is longer than a block); true at the end of the file.
bool gor_read_ahead::produce(batch& b) {
  filling_ = &b;
  for (;;) {
    auto span = records_.prepare(opts_.block_bytes);
    std::size_t n = read_block(span);
    records_.commit(n);
    if (!gunzip_) bytes_read_ += n;
    if (n == 0) records_.finish();
    gor_record_span s;
    const char* block = records_.current_block().get();
    b.base = records_.block_offset();
    auto ref = [&](const gor_record_span& r) {
      return record_ref{static_cast<std::uint32_t>(r.bytes.data() - block), static_cast<std::uint32_t>(r.bytes.size())};
    };
    // Splitting records costs this thread about as much as the read's copy. While the
    // consumer keeps up (fewer than half the batches wait for it) this thread is the slower
    // side: it hands the block's whole records over as one region for the consumer to split.
    // The two sides balance on this queue whatever else either core is doing.
    if (n != 0 && backlog_.load(std::memory_order_relaxed) < half_batches_ && records_.next_region(s))
      b.region = ref(s);
    while (records_.next_span(s)) b.records.push_back(ref(s));
    b.bytes_read = bytes_read_;
    const bool any = !b.records.empty() || b.region.size != 0;
    if (any) b.block = records_.current_block();
    if (n == 0) return true;
    if (any || !b.skips.empty()) return false;
    std::lock_guard lk(mu_);
    if (stop_) return true;
  }
}

gor_read_ahead::batch* gor_read_ahead::try_next() {
  std::lock_guard lk(mu_);
  if (current_) {
    current_->block.reset();  // the messages made from it hold it now
    free_.push_back(current_);
    current_ = nullptr;
    if (reader_waiting_ && free_.size() >= half_batches_) cv_.notify_one();
  }
  if (ready_.empty()) return nullptr;
  current_ = ready_.front();
  ready_.pop_front();
  backlog_.store(ready_.size(), std::memory_order_relaxed);
  return current_;
}

asio::awaitable<gor_read_ahead::batch*> gor_read_ahead::next() {
  for (;;) {
    if (batch* b = try_next()) co_return b;
    {
      std::lock_guard lk(mu_);
      if (!ready_.empty()) continue;
      waiting_ = true;
    }
    wake_->expires_at(asio::steady_timer::time_point::max());
    co_await wake_->async_wait(asio::as_tuple(asio::use_awaitable));  // ended by a publish or a cancellation
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none)
      throw boost::system::system_error(asio::error::operation_aborted);
  }
}

}  // namespace coreplay
