#include "outputs/pool/worker_pool.hpp"

#include "core/bell.hpp"
#include "core/log.hpp"
#include "core/small_fifo.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

#include <openssl/err.h>

namespace coreplay {

namespace {

using error_code = boost::system::error_code;

// Messages written by one batch; their buffers point into the messages (no copy).
constexpr std::size_t max_batch = 64;

struct pool_state : std::enable_shared_from_this<pool_state> {
  struct worker {
    explicit worker(const asio::any_io_executor& ex, std::size_t i) : index(i), wake(ex), backoff(ex) {}
    std::size_t index;
    small_fifo<message_ptr> queue;
    std::vector<message_ptr> inflight;  // being written, or to write first on the next connection
    detail::bell wake;
    asio::steady_timer backoff;
    std::shared_ptr<pool_connection> conn;
    asio::cancellation_signal cancel;
  };

  pool_state(asio::any_io_executor e, message_reader r, std::shared_ptr<pool_transport> t, worker_pool_options o)
      : ex(e),
        in(r),
        transport(std::move(t)),
        opts(std::move(o)),
        space_bell(e),
        done_bell(e),
        stats_timer(e),
        sent(r.stats().counter("sent")),
        connects(r.stats().counter("connects")),
        errors_connect(r.stats().counter("errors_connect")),
        errors_write(r.stats().counter("errors_write")),
        not_delivered(r.stats().counter("not_delivered")) {
    const auto n = static_cast<std::size_t>(std::max<std::int64_t>(1, opts.workers));
    for (std::size_t i = 0; i < n; ++i) workers.push_back(std::make_unique<worker>(ex, i));
    buffer_cap = static_cast<std::size_t>(std::max<std::int64_t>(1, opts.worker_buffer));
  }

  asio::any_io_executor ex;
  message_reader in;
  std::shared_ptr<pool_transport> transport;
  worker_pool_options opts;
  std::vector<std::unique_ptr<worker>> workers;
  std::size_t buffer_cap = 100;
  detail::bell space_bell;  // the feed waits here for room in a buffer
  detail::bell done_bell;   // run waits here for the workers to end
  bool feed_waiting = false;
  bool closing = false;     // end of stream: workers write what is queued, then end
  std::size_t live_workers = 0;
  std::uint64_t rr = 0;
  // Failure reporting: one line when the target goes down, then at most one a minute.
  bool down = false;
  std::chrono::steady_clock::time_point last_report{};
  std::uint64_t failed_attempts = 0;
  // gor's queue stats line.
  asio::steady_timer stats_timer;
  std::size_t q_latest = 0, q_max = 0, q_count = 0, q_sum = 0;
  std::atomic<std::uint64_t>& sent;
  std::atomic<std::uint64_t>& connects;
  std::atomic<std::uint64_t>& errors_connect;
  std::atomic<std::uint64_t>& errors_write;
  std::atomic<std::uint64_t>& not_delivered;
  std::atomic<std::int64_t> connected{0};
  std::atomic<std::int64_t> queued{0};

  bool has_room(const worker& w) const noexcept { return w.queue.size() < buffer_cap; }

  // gor: FNV-1a-32(id) % N when sticky, else ++counter % N (the first message goes to worker 1).
  // Round robin passes over full buffers while another has room.
  worker* pick(const message& m) {
    const auto n = workers.size();
    if (opts.sticky) {
      auto& w = *workers[gor_fnv32a(m.id()) % n];
      return has_room(w) ? &w : nullptr;
    }
    for (std::size_t k = 0; k < n; ++k) {
      auto& w = *workers[++rr % n];
      if (has_room(w)) return &w;
    }
    rr -= n;  // the next try starts where this one did
    return nullptr;
  }

  asio::awaitable<void> feed() {
    for (;;) {
      message_ptr m;
      if (!in.try_receive(m)) m = co_await in.receive();
      if (!m) break;
      worker* w;
      while (!(w = pick(*m))) {
        feed_waiting = true;
        co_await space_bell.wait();
      }
      feed_waiting = false;
      w->queue.push_back(std::move(m));
      queued.fetch_add(1, std::memory_order_relaxed);
      q_latest = w->queue.size();
      q_sum += q_latest;
      q_max = std::max(q_max, q_latest);
      ++q_count;
      w->wake.ring();
    }
  }

  void report_failure(const std::string& why) {
    errors_connect.fetch_add(1, std::memory_order_relaxed);
    in.stats().errors.fetch_add(1, std::memory_order_relaxed);
    ++failed_attempts;
    auto now = std::chrono::steady_clock::now();
    if (!down || now - last_report >= std::chrono::minutes(1)) {
      log::error(opts.name, ": ", why, "; retrying (", failed_attempts, " failed attempt",
                 failed_attempts == 1 ? "" : "s", ", messages wait in the buffers)");
      last_report = now;
    }
    down = true;
  }

  void report_connected() {
    connects.fetch_add(1, std::memory_order_relaxed);
    connected.fetch_add(1, std::memory_order_relaxed);
    if (down) {
      log::info(opts.name, ": connected after ", failed_attempts, " failed attempt", failed_attempts == 1 ? "" : "s");
      down = false;
      failed_attempts = 0;
    }
  }

  void drop_connection(worker& w) {
    if (!w.conn) return;
    w.conn->close();
    w.conn.reset();
    connected.fetch_sub(1, std::memory_order_relaxed);
  }

  asio::awaitable<void> run_worker(worker& w) {
    auto backoff = opts.backoff_min;
    for (;;) {
      if (w.inflight.empty()) {
        if (w.queue.empty()) {
          if (closing) break;
          co_await w.wake.wait();
          continue;
        }
        while (!w.queue.empty() && w.inflight.size() < max_batch) {
          w.inflight.push_back(std::move(w.queue.front()));
          w.queue.pop_front();
        }
        if (feed_waiting) space_bell.ring();
      }
      if (w.conn && w.conn->broken()) drop_connection(w);
      if (!w.conn) {
        std::string why;
        auto c = co_await transport->dial(why);
        if (!c) {
          report_failure(why);
          w.backoff.expires_after(backoff);
          co_await w.backoff.async_wait(asio::use_awaitable);
          backoff = std::min(backoff * 2, opts.backoff_max);
          continue;
        }
        backoff = opts.backoff_min;
        w.conn = std::move(c);
        report_connected();
      }
      auto conn = w.conn;  // the write keeps its connection alive
      auto ec = co_await conn->write(w.inflight);
      if (ec) {
        // Also when the watch closed the connection under the write (the peer went away): the
        // batch goes out again on the next connection.
        errors_write.fetch_add(1, std::memory_order_relaxed);
        in.stats().errors.fetch_add(1, std::memory_order_relaxed);
        log::at(1, opts.name, ": write failed (", describe_error(ec), "); reconnecting, ", w.inflight.size(),
                " message(s) go out again");
        drop_connection(w);
        continue;
      }
      sent.fetch_add(w.inflight.size(), std::memory_order_relaxed);
      queued.fetch_sub(static_cast<std::int64_t>(w.inflight.size()), std::memory_order_relaxed);
      w.inflight.clear();
    }
    if (w.conn) {
      auto conn = w.conn;
      co_await conn->finish();
      drop_connection(w);
    }
  }

  void start_workers() {
    for (auto& wp : workers) {
      auto& w = *wp;
      ++live_workers;
      asio::co_spawn(ex, run_worker(w),
                     asio::bind_cancellation_slot(w.cancel.slot(), [self = shared_from_this()](std::exception_ptr e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const boost::system::system_error& x) {
                           if (x.code() != asio::error::operation_aborted)
                             log::error(self->opts.name, ": worker failed: ", x.what());
                         } catch (const std::exception& x) {
                           log::error(self->opts.name, ": worker failed: ", x.what());
                         }
                       }
                       if (--self->live_workers == 0) self->done_bell.ring();
                     }));
    }
  }

  void stop_workers() {
    closing = true;
    for (auto& w : workers) {
      w->cancel.emit(asio::cancellation_type::terminal);
      if (w->conn) w->conn->close();
    }
    wake_all();
  }

  void wake_all() {
    for (auto& w : workers) w->wake.ring();
  }

  void arm_stats() {
    stats_timer.expires_after(opts.stats_period);
    stats_timer.async_wait([weak = weak_from_this()](error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      auto ms = std::max<std::int64_t>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(self->opts.stats_period).count());
      auto mean = self->q_count ? self->q_sum / self->q_count : 0;
      log::at(0, self->opts.stats_label, ":", self->q_latest, ",", mean, ",", self->q_max, ",", self->q_count, ",",
              self->q_count * 1000 / static_cast<std::size_t>(ms), ",", self->workers.size());
      self->q_latest = self->q_sum = self->q_max = self->q_count = 0;
      self->arm_stats();
    });
  }
};

}  // namespace

std::string describe_error(const error_code& ec) {
  std::string s = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    if (auto reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) s = reason;
  }
  return s;
}

void configure_client_tls(asio::ssl::context& ctx, bool skip_verify) {
  if (skip_verify) {
    ctx.set_verify_mode(asio::ssl::verify_none);
    return;
  }
  error_code ignored;
  ctx.set_default_verify_paths(ignored);
  ctx.set_verify_mode(asio::ssl::verify_peer);
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

asio::awaitable<void> run_worker_pool(message_reader in, std::shared_ptr<pool_transport> transport,
                                      worker_pool_options options) {
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<pool_state>(ex, in, std::move(transport), std::move(options));
  in.stats().detail = [weak = std::weak_ptr<pool_state>(st)] {
    auto s = weak.lock();
    if (!s) return std::string();
    return "connected=" + std::to_string(s->connected.load(std::memory_order_relaxed)) + "/" +
           std::to_string(s->workers.size()) + " queued=" + std::to_string(s->queued.load(std::memory_order_relaxed));
  };
  if (st->opts.stats) {
    log::at(0, st->opts.stats_label, ":latest,mean,max,count,count/second,gcount");
    st->arm_stats();
  }
  st->start_workers();

  std::exception_ptr err;
  try {
    co_await st->feed();
    st->closing = true;
    st->wake_all();
    // At the end of the stream the workers get end_timeout to deliver what is queued; then the
    // rest is counted as not delivered (a target that stays down must not hold the process).
    asio::steady_timer give_up(ex);
    give_up.expires_after(st->opts.end_timeout);
    give_up.async_wait([weak = std::weak_ptr<pool_state>(st)](error_code ec) {
      if (auto s = weak.lock(); s && !ec) s->stop_workers();
    });
    while (st->live_workers > 0) co_await st->done_bell.wait();
    give_up.cancel();
  } catch (...) {
    err = std::current_exception();  // cancelled (the drain deadline), or failed
  }
  // Cleanup runs whatever happened: stop the workers, count what they could not deliver.
  co_await asio::this_coro::reset_cancellation_state();
  co_await asio::this_coro::throw_if_cancelled(false);
  st->stats_timer.cancel();
  if (st->live_workers > 0) {
    st->stop_workers();
    while (st->live_workers > 0) co_await st->done_bell.wait();
  }
  std::uint64_t left = 0;
  for (auto& w : st->workers) {
    left += w->queue.size() + w->inflight.size();
    w->queue.clear();
    w->inflight.clear();
    st->drop_connection(*w);
  }
  st->queued.store(0, std::memory_order_relaxed);
  if (left > 0) {
    st->not_delivered.fetch_add(left, std::memory_order_relaxed);
    in.stats().drops.fetch_add(left, std::memory_order_relaxed);
    log::error(st->opts.name, ": ", left, " message(s) not delivered (", st->down ? "target unreachable" : "stopped",
               ")");
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace coreplay
