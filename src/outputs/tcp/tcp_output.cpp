#include "outputs/tcp/tcp_output.hpp"

#include "core/bell.hpp"
#include "core/core_options.hpp"
#include "core/gor_record.hpp"
#include "core/log.hpp"
#include "core/registry.hpp"
#include "core/small_fifo.hpp"
#include "core/tcp_address.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

namespace coreplay {

namespace {

using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using error_code = boost::system::error_code;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// Messages written by one gather write; their buffers point into the messages (no copy).
constexpr std::size_t max_batch = 64;

// One connection, plain or TLS. Shared with the read that watches for the peer closing it.
struct connection {
  connection(const asio::any_io_executor& ex, ssl::context* tls) {
    if (tls) secure.emplace(ex, *tls);
    else plain.emplace(ex);
  }
  tcp::socket& lowest() { return secure ? secure->next_layer() : *plain; }
  void close() {
    error_code ignored;
    lowest().close(ignored);
  }

  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> secure;
  bool broken = false;     // the peer closed it, or a write failed
  bool timed_out = false;  // the dial's deadline closed it
  std::array<char, 64> probe{};
};

// A gor receiver never writes: a read on the connection only ends when the peer closes it
// (or sends something, which is ignored). So a closed connection is noticed before a write is lost.
void watch_for_close(std::shared_ptr<connection> c) {
  auto on_read = [c](error_code ec, std::size_t) {
    if (!ec) return watch_for_close(c);
    c->broken = true;
    c->close();
  };
  if (c->secure) c->secure->async_read_some(asio::buffer(c->probe), std::move(on_read));
  else c->plain->async_read_some(asio::buffer(c->probe), std::move(on_read));
}

std::string describe(const error_code& ec) {
  std::string s = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    if (auto reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) s = reason;
  }
  return s;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct tcp_output::state : std::enable_shared_from_this<state> {
  struct worker {
    explicit worker(const asio::any_io_executor& ex, std::size_t i) : index(i), wake(ex), backoff(ex) {}
    std::size_t index;
    small_fifo<message_ptr> queue;
    std::vector<message_ptr> inflight;  // being written, or to write first on the next connection
    std::vector<asio::const_buffer> bufs;
    detail::bell wake;
    asio::steady_timer backoff;
    std::shared_ptr<connection> conn;
    asio::cancellation_signal cancel;
  };

  state(asio::any_io_executor e, message_reader r, const tcp_output& o)
      : ex(e),
        in(r),
        opts(o.options_),
        host(o.host_),
        port(o.port_),
        name("output-tcp(" + o.address_ + ")"),
        space_bell(e),
        done_bell(e),
        stats_timer(e),
        sent(r.stats().counter("sent")),
        connects(r.stats().counter("connects")),
        errors_connect(r.stats().counter("errors_connect")),
        errors_write(r.stats().counter("errors_write")),
        not_delivered(r.stats().counter("not_delivered")) {
    if (opts.secure) {
      tls.emplace(ssl::context::tls_client);
      if (opts.skip_verify) {
        tls->set_verify_mode(ssl::verify_none);
      } else {
        error_code ignored;
        tls->set_default_verify_paths(ignored);
        tls->set_verify_mode(ssl::verify_peer);
      }
    }
    const auto n = static_cast<std::size_t>(opts.workers);
    for (std::size_t i = 0; i < n; ++i) workers.push_back(std::make_unique<worker>(ex, i));
    buffer_cap = static_cast<std::size_t>(std::max<std::int64_t>(1, opts.worker_buffer));
  }

  asio::any_io_executor ex;
  message_reader in;
  tcp_output_options opts;
  std::string host, port, name;
  std::optional<ssl::context> tls;
  std::vector<std::unique_ptr<worker>> workers;
  std::size_t buffer_cap = 100;
  detail::bell space_bell;  // the feed waits here for room in a buffer
  detail::bell done_bell;   // run() waits here for the workers to end
  bool feed_waiting = false;
  bool closing = false;     // end of stream: workers write what is queued, then end
  std::size_t live_workers = 0;
  std::uint64_t rr = 0;
  // Failure reporting: one line when the target goes down, then at most one a minute.
  bool down = false;
  std::chrono::steady_clock::time_point last_report{};
  std::uint64_t failed_attempts = 0;
  // gor's output_tcp stats line.
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
      log::error(name, ": ", why, "; retrying (", failed_attempts, " failed attempt",
                 failed_attempts == 1 ? "" : "s", ", messages wait in the buffers)");
      last_report = now;
    }
    down = true;
  }

  void report_connected() {
    connects.fetch_add(1, std::memory_order_relaxed);
    connected.fetch_add(1, std::memory_order_relaxed);
    if (down) {
      log::info(name, ": connected after ", failed_attempts, " failed attempt", failed_attempts == 1 ? "" : "s");
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

  // A connected (and, with TLS, handshaken) stream, or nullptr with the reason in `why`.
  asio::awaitable<std::shared_ptr<connection>> dial(std::string& why) {
    auto c = std::make_shared<connection>(ex, tls ? &*tls : nullptr);
    asio::steady_timer deadline(ex);
    deadline.expires_after(opts.connect_timeout);
    deadline.async_wait([c](error_code ec) {
      if (ec) return;
      c->timed_out = true;
      c->close();
    });
    tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(host, port, tuple_awaitable);
    if (rec) {
      why = "cannot resolve '" + host + "': " + rec.message();
      co_return nullptr;
    }
    auto [cec, ep] = co_await asio::async_connect(c->lowest(), endpoints, tuple_awaitable);
    if (cec) {
      why = "cannot connect: " + std::string(c->timed_out ? "timed out" : cec.message());
      co_return nullptr;
    }
    error_code ignored;
    c->lowest().set_option(tcp::no_delay(true), ignored);
    if (c->secure) {
      if (!opts.skip_verify) c->secure->set_verify_callback(ssl::host_name_verification(host));
      if (!is_ip_literal(host)) SSL_set_tlsext_host_name(c->secure->native_handle(), host.c_str());
      auto [hec] = co_await c->secure->async_handshake(ssl::stream_base::client, tuple_awaitable);
      if (hec) {
        why = "TLS handshake failed: " + std::string(c->timed_out ? "timed out" : describe(hec));
        co_return nullptr;
      }
    }
    deadline.cancel();
    co_return c;
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
      if (w.conn && w.conn->broken) drop_connection(w);
      if (!w.conn) {
        std::string why;
        auto c = co_await dial(why);
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
        watch_for_close(w.conn);
      }
      w.bufs.clear();
      for (auto& m : w.inflight) {
        w.bufs.push_back(asio::buffer(m->record()));
        w.bufs.push_back(asio::buffer(gor_separator));
      }
      auto conn = w.conn;  // the write keeps its stream alive
      auto [ec, n] = conn->secure ? co_await asio::async_write(*conn->secure, w.bufs, tuple_awaitable)
                                  : co_await asio::async_write(*conn->plain, w.bufs, tuple_awaitable);
      if (ec) {
        // Also when the watch closed the connection under the write (the peer went away): the
        // batch goes out again on the next connection.
        errors_write.fetch_add(1, std::memory_order_relaxed);
        in.stats().errors.fetch_add(1, std::memory_order_relaxed);
        log::at(1, name, ": write failed (", describe(ec), "); reconnecting, ", w.inflight.size(),
                " message(s) go out again");
        drop_connection(w);
        continue;
      }
      sent.fetch_add(w.inflight.size(), std::memory_order_relaxed);
      queued.fetch_sub(static_cast<std::int64_t>(w.inflight.size()), std::memory_order_relaxed);
      w.inflight.clear();
    }
    if (w.conn) {
      error_code ignored;
      w.conn->lowest().shutdown(tcp::socket::shutdown_send, ignored);
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
                           if (x.code() != asio::error::operation_aborted) log::error(self->name, ": worker failed: ", x.what());
                         } catch (const std::exception& x) {
                           log::error(self->name, ": worker failed: ", x.what());
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
      auto ms = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(self->opts.stats_period).count());
      auto mean = self->q_count ? self->q_sum / self->q_count : 0;
      log::at(0, "output_tcp:", self->q_latest, ",", mean, ",", self->q_max, ",", self->q_count, ",",
              self->q_count * 1000 / static_cast<std::size_t>(ms), ",", self->workers.size());
      self->q_latest = self->q_sum = self->q_max = self->q_count = 0;
      self->arm_stats();
    });
  }
};

option_group<tcp_output_options> tcp_output_option_group() {
  option_group<tcp_output_options> g("TCP output");
  using o = tcp_output_options;
  g.add("output-tcp-secure", &o::secure, "Connect with TLS")
      .add("output-tcp-skip-verify", &o::skip_verify, "Do not verify the receiver's TLS certificate")
      .add("output-tcp-sticky", &o::sticky, "Keep each message id on one connection (FNV-1a hash)")
      .add("output-tcp-workers", &o::workers, "Connections per TCP output, each buffering 100 messages")
      .add("output-tcp-stats", &o::stats, "Log gor's output_tcp queue line (latest,mean,max,count,count/second,workers) every 5s");
  return g;
}

void add_tcp_output(registry& r) {
  r.add_output("output-tcp", "Send messages to another coreplay/gor instance (--input-tcp): host:port",
               tcp_output_option_group(),
               [](const std::string& address, const tcp_output_options& o, rate_limit&, std::size_t&,
                  const raw_options& raw) {
                 auto opts = o;
                 opts.end_timeout = core_option_group().parse(raw).drain_timeout;
                 return std::make_unique<tcp_output>(address, std::move(opts));
               });
}

tcp_output::tcp_output(std::string address, tcp_output_options options)
    : address_(std::move(address)), options_(std::move(options)) {
  if (options_.workers < 1)
    throw option_error("--output-tcp-workers: must be at least 1 (got " + std::to_string(options_.workers) + ")");
  auto hp = split_host_port(address_);
  if (!hp || hp->port.empty())
    throw option_error("--output-tcp '" + address_ + "': expected host:port");
  host_ = hp->host.empty() ? "localhost" : hp->host;
  port_ = hp->port;
}

tcp_output::~tcp_output() = default;

asio::awaitable<void> tcp_output::run(message_reader in) {
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<state>(ex, in, *this);
  in.stats().detail = [weak = std::weak_ptr<state>(st)] {
    auto s = weak.lock();
    if (!s) return std::string();
    return "connected=" + std::to_string(s->connected.load(std::memory_order_relaxed)) + "/" +
           std::to_string(s->workers.size()) + " queued=" + std::to_string(s->queued.load(std::memory_order_relaxed));
  };
  if (options_.stats) {
    log::at(0, "output_tcp:latest,mean,max,count,count/second,gcount");
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
    give_up.expires_after(options_.end_timeout);
    give_up.async_wait([weak = std::weak_ptr<state>(st)](boost::system::error_code ec) {
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
    log::error(st->name, ": ", left, " message(s) not delivered (", st->down ? "target unreachable" : "stopped",
               ")");
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace coreplay
