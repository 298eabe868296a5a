#include "outputs/file/file_output.hpp"

#include "core/block_file.hpp"
#include "core/gor_record.hpp"
#include "core/gzip_stream.hpp"
#include "core/log.hpp"
#include "outputs/file/chunk_naming.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <time.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace coreplay {

namespace {

// Awaits with no cancellation: file writes must never stop half way.
auto uncancellable() {
  return asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable));
}

// One writer at a time between run() and the flush timer (same serial executor).
class write_gate {
 public:
  explicit write_gate(const asio::any_io_executor& ex) : wake_(ex, asio::steady_timer::time_point::max()) {}
  asio::awaitable<void> lock() {
    // The timer never expires: only unlock()'s cancel() wakes the waiters, which re-check.
    while (busy_) co_await wake_.async_wait(uncancellable());
    busy_ = true;
  }
  void unlock() {
    busy_ = false;
    wake_.cancel();
  }

 private:
  asio::steady_timer wake_;
  bool busy_ = false;
};

struct gate_guard {
  write_gate& g;
  ~gate_guard() { g.unlock(); }
};

bool ends_with_gz(const std::string& p) { return p.size() >= 3 && p.compare(p.size() - 3, 3, ".gz") == 0; }

// The open chunk and its buffers. Shared with the flush timer's coroutine.
struct output_state {
  output_state(asio::any_io_executor ex, const file_output_options& o, plugin_stats& s)
      : exec(ex),
        opts(o),
        planner(o.append, static_cast<std::size_t>(std::max<std::int64_t>(o.queue_limit, 0)), o.size_limit.bytes),
        gate(ex),
        flush_timer(ex),
        files_opened(s.counter("files_opened")),
        bytes_written(s.counter("bytes_written")),
        dropped_max_size(s.counter("dropped_max_size")) {}

  asio::any_io_executor exec;
  file_output_options opts;
  chunk_planner planner;
  std::optional<block_file> file;
  std::optional<gzip_encoder> gz;
  std::string pending;   // bytes for the disk, in order
  std::string inflight;  // bytes being written
  bool dirty = false;    // records appended since the last flush
  write_gate gate;
  asio::steady_timer flush_timer;
  bool stopping = false;
  std::exception_ptr flush_error;
  std::uint64_t total_record_bytes = 0;
  bool full = false;
  std::atomic<std::uint64_t>& files_opened;
  std::atomic<std::uint64_t>& bytes_written;
  std::atomic<std::uint64_t>& dropped_max_size;

  // Caller holds the gate.
  asio::awaitable<void> write_pending() {
    if (pending.empty() || !file) co_return;
    inflight.swap(pending);
    try {
      co_await file->write_all(inflight);  // not cancellable once started: see block_file
    } catch (...) {
      // Thrown before the write started (a cancelled coroutine): keep the bytes for cleanup.
      inflight.append(pending);
      pending.swap(inflight);
      inflight.clear();
      throw;
    }
    bytes_written.fetch_add(inflight.size(), std::memory_order_relaxed);
    inflight.clear();
  }

  void write_pending_sync() {
    if (pending.empty() || !file) return;
    file->write_all_sync(pending);
    bytes_written.fetch_add(pending.size(), std::memory_order_relaxed);
    pending.clear();
  }

  asio::awaitable<void> flush() {
    co_await gate.lock();
    gate_guard g{gate};
    if (!file) co_return;
    if (gz && dirty) gz->sync_flush(pending);
    dirty = false;
    co_await write_pending();
  }

  // Caller holds the gate.
  asio::awaitable<void> close_file() {
    if (!file) co_return;
    if (gz) gz->finish(pending);
    co_await write_pending();
    file->close();
    file.reset();
    gz.reset();
  }

  void close_file_sync() {
    if (!file) return;
    if (gz) gz->finish(pending);
    write_pending_sync();
    file->close();
    file.reset();
    gz.reset();
  }

  // Caller holds the gate and has closed the previous file.
  void open_file(const std::string& name) {
    file.emplace(exec, name, block_file::open_mode::write_append, opts.prefer_io_uring);
    if (ends_with_gz(name)) gz.emplace(static_cast<int>(std::clamp<std::int64_t>(opts.gzip_level, 1, 9)));
    planner.opened(file->size());
    files_opened.fetch_add(1, std::memory_order_relaxed);
  }

  asio::awaitable<void> open(const std::string& name) {
    co_await gate.lock();
    gate_guard g{gate};
    co_await close_file();
    open_file(name);
  }

  // Appends a record; returns the bytes it adds on disk (compressed for .gz, approximately).
  std::uint64_t append(const message& m) {
    dirty = true;
    if (!gz) {
      append_gor_record(m, pending);
      return gor_record_size(m);
    }
    auto before = gz->bytes_out();
    gz->write(m.record(), pending);
    gz->write(gor_separator, pending);
    return gz->bytes_out() - before;
  }
};

asio::awaitable<void> flush_loop(std::shared_ptr<output_state> st, std::chrono::nanoseconds interval) {
  while (!st->stopping) {
    st->flush_timer.expires_after(interval);
    co_await st->flush_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (st->stopping) break;
    co_await st->flush();
  }
}

// Local time, computed once per second.
class clock_tokens {
 public:
  void now(path_tokens& t) {
    auto now = std::chrono::system_clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
    if (secs != cached_) {
      cached_ = secs;
      localtime_r(&secs, &tm_);
    }
    t.local_time = tm_;
    t.nanosecond = ns % 1'000'000'000;
  }

 private:
  std::time_t cached_ = -1;
  std::tm tm_{};
};

}  // namespace

option_group<file_output_options> file_output_option_group() {
  option_group<file_output_options> g("File output");
  using o = file_output_options;
  g.add("output-file-flush-interval", &o::flush_interval, "Longest time data waits in a buffer (0: 100ms)")
      .add("output-file-append", &o::append, "One file, appended to, instead of _N chunks")
      .add("output-file-size-limit", &o::size_limit, "Start a new chunk at this size (0: no limit)")
      .add("output-file-queue-limit", &o::queue_limit, "Start a new chunk after this many records (0: no limit)")
      .add("output-file-max-size-limit", &o::max_size_limit,
           "Stop writing after this many bytes in total; later messages are dropped and counted");
  return g;
}

file_output::file_output(file_output_options opts) : opts_(std::move(opts)) {
  if (opts_.flush_interval <= std::chrono::nanoseconds::zero()) opts_.flush_interval = std::chrono::milliseconds(100);
}

asio::awaitable<void> file_output::run(message_reader in) {
  if (opts_.path.rfind("s3://", 0) == 0)
    throw std::runtime_error("'" + opts_.path + "': s3:// outputs are not supported (gor PRO)");
  auto ex = co_await asio::this_coro::executor;
  auto& stats = in.stats();
  auto st = std::make_shared<output_state>(ex, opts_, stats);
  asio::co_spawn(ex, flush_loop(st, opts_.flush_interval), [st](std::exception_ptr e) {
    if (e && !st->flush_error) st->flush_error = e;
  });

  const bool tokens = template_has_tokens(opts_.path);
  const std::string fixed_path = clean_path(opts_.path);
  clock_tokens clock;
  path_tokens tok;
  tok.instance = process_instance_id();

  auto path_for = [&](const message& m) -> std::string {
    if (!tokens) return fixed_path;
    clock.now(tok);
    tok.request_id = m.id();
    tok.payload_type = static_cast<char>(m.type());
    return clean_path(expand_path_template(opts_.path, tok));
  };
  auto account = [&](const message& m, std::uint64_t disk_bytes) {
    st->planner.wrote(disk_bytes);
    st->total_record_bytes += gor_record_size(m);
    if (opts_.max_size_limit.bytes > 0 && st->total_record_bytes >= opts_.max_size_limit.bytes) {
      st->full = true;
      log::info("output-file: reached the size limit (", opts_.max_size_limit.bytes,
                " bytes); further messages are dropped");
    }
  };

  // A message taken from the reader but not yet in a buffer: cleanup writes it if a
  // cancellation lands between the two.
  message_ptr unwritten;
  std::exception_ptr err;
  try {
    for (;;) {
      unwritten = co_await in.receive();
      if (!unwritten) break;
      if (st->flush_error) std::rethrow_exception(st->flush_error);
      if (st->full) {
        stats.drops.fetch_add(1, std::memory_order_relaxed);
        st->dropped_max_size.fetch_add(1, std::memory_order_relaxed);
        unwritten.reset();
        continue;
      }
      auto placed = st->planner.place(path_for(*unwritten));
      if (placed.open_new) co_await st->open(placed.name);
      account(*unwritten, st->append(*unwritten));
      unwritten.reset();
      if (st->pending.size() >= opts_.write_buffer_size.bytes) {
        co_await st->gate.lock();
        gate_guard g{st->gate};
        co_await st->write_pending();
      }
    }
  } catch (...) {
    err = std::current_exception();
  }

  // Cleanup runs whether the stream ended, failed or was cancelled, and is not interruptible:
  // nothing below is cancellable, and a repeated cancellation must not skip it.
  co_await asio::this_coro::reset_cancellation_state();
  co_await asio::this_coro::throw_if_cancelled(false);
  st->stopping = true;
  st->flush_timer.cancel();
  co_await st->gate.lock();  // an in-flight flush finishes first, so bytes stay in order
  try {
    if (unwritten && !st->full) {
      auto placed = st->planner.place(path_for(*unwritten));
      // The planner may have moved on to a file that a cancelled open() never opened.
      if (!st->file || st->file->path() != placed.name) {
        st->close_file_sync();
        st->open_file(placed.name);
      }
      account(*unwritten, st->append(*unwritten));
    }
    st->close_file_sync();
  } catch (...) {
    if (!err) err = std::current_exception();
  }
  st->gate.unlock();
  co_await asio::this_coro::throw_if_cancelled(true);
  if (!err && st->flush_error) err = st->flush_error;
  if (err) std::rethrow_exception(err);
}

}  // namespace coreplay
