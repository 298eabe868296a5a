// The HTTP output's I/O: a pool of workers, each a coroutine owning one keep-alive connection.
//
//   message_reader --> feed() --(local bounded queue)--> workers --> target
//                                                          \--> in.feedback() (type 3)
//
// Requests go out as recorded (request_framing.hpp builds the bytes); responses are parsed
// sans-I/O with Beast's basic_parser over bytes we read ourselves, so the type-3 payload holds
// the response exactly as it came off the wire.
#include "outputs/http/http_output.hpp"

#include "core/bell.hpp"
#include "core/log.hpp"
#include "outputs/http/elasticsearch_export.hpp"
#include "outputs/http/latency_histogram.hpp"
#include "outputs/http/request_framing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <optional>
#include <stdexcept>
#include <vector>

namespace coreplay {

namespace hr = http_replay;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// Reads a response without keeping it: the status, keep-alive and Location are all the
// output needs; the bytes themselves are copied by the caller as they are consumed.
class response_probe : public http::basic_parser<false> {
 public:
  int status = 0;
  std::string location;

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status = code; }
  void on_field_impl(http::field f, beast::string_view, beast::string_view value, error_code&) override {
    if (f == http::field::location) location.assign(value.data(), value.size());
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}
};

enum class failure { none, connect, timeout, reset, tls, parse, aborted };

const char* to_string(failure f) {
  switch (f) {
    case failure::none: return "none";
    case failure::connect: return "connect";
    case failure::timeout: return "timeout";
    case failure::reset: return "reset";
    case failure::tls: return "tls";
    case failure::parse: return "parse";
    case failure::aborted: return "aborted";
  }
  return "unknown";
}

bool is_tls_error(const error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() || ec == ssl::error::stream_truncated;
}

// Where a connection goes. Redirects may lead elsewhere than the output's target.
struct origin {
  bool tls = false;
  std::string host;
  std::string port;
  std::string authority;
  bool operator==(const origin& o) const { return tls == o.tls && host == o.host && port == o.port; }
};

struct connection {
  connection(const asio::any_io_executor& ex, ssl::context* tls_ctx, origin o)
      : sock(ex), where(std::move(o)) {
    if (tls_ctx) secure.emplace(ex, *tls_ctx);
  }
  tcp::socket& lowest() { return secure ? secure->next_layer() : sock; }
  void close() {
    error_code ignored;
    lowest().close(ignored);
    usable = false;
  }

  tcp::socket sock;  // unused with TLS (the stream owns its socket)
  std::optional<ssl::stream<tcp::socket>> secure;
  origin where;
  beast::flat_buffer buf;
  std::uint64_t exchanges = 0;  // responses read on it: > 0 means it is a reused connection
  std::chrono::steady_clock::time_point last_used;
  bool usable = false;
};

// One exchange's result.
struct outcome {
  failure fail = failure::none;
  error_code ec;
  int status = 0;
  std::string location;
  bool got_response_bytes = false;
  bool written = false;  // the request went out whole
};

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Methods that may be sent twice (RFC 9110 9.2.2): only these are retried after a connection
// failed with the request possibly delivered.
bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" || method == "PUT" ||
         method == "DELETE";
}

// A connection idle this long is checked before use: servers close idle keep-alive connections.
constexpr auto idle_probe_after = std::chrono::milliseconds(100);

// False when the peer has closed (or sent something unasked) while the connection sat idle.
// One non-blocking peek: the socket is in non-blocking mode for synchronous calls.
bool still_open(connection& c) {
  char byte;
  error_code ec;
  c.lowest().receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  return ec == asio::error::would_block;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

// Counters that outlive run(): the --stats summary is printed after the pipeline ends.
struct http_output_live {
  hr::latency_histogram latency;
  std::atomic<std::int64_t> workers{0};
  std::atomic<std::int64_t> idle{0};
  std::atomic<std::int64_t> queued{0};
  std::atomic<std::int64_t> busy{0};  // requests queued or in flight
  // The achieved rate: requests sent between the first and the last send (steady clock).
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::int64_t> first_sent_ns{0};
  std::atomic<std::int64_t> last_sent_ns{0};

  void record_send(std::chrono::steady_clock::time_point at) {
    auto ns = at.time_since_epoch().count();
    if (sent.fetch_add(1, std::memory_order_relaxed) == 0) first_sent_ns.store(ns, std::memory_order_relaxed);
    last_sent_ns.store(std::max(ns, last_sent_ns.load(std::memory_order_relaxed)), std::memory_order_relaxed);
  }
  // Requests per second over the run; 0 before two were sent.
  double rate() const {
    auto n = sent.load(std::memory_order_relaxed);
    auto span = last_sent_ns.load(std::memory_order_relaxed) - first_sent_ns.load(std::memory_order_relaxed);
    if (n < 2 || span <= 0) return 0;
    return static_cast<double>(n - 1) * 1e9 / static_cast<double>(span);
  }
};

struct worker;

struct http_output::pool {
  pool(const asio::any_io_executor& e, message_reader r, const http_output_options& o, const hr::target_url& u,
       http_output_live& l);

  asio::awaitable<void> feed();
  asio::awaitable<void> finish(bool aborted);
  asio::awaitable<void> run_worker(std::shared_ptr<worker> w);
  asio::awaitable<void> serve(worker& w);
  asio::awaitable<void> exchange(worker& w, const message_ptr& m);
  asio::awaitable<outcome> round_trip(worker& w, std::unique_ptr<connection>& slot, const origin& to,
                                      bool head, bool replayable, bool keep_bytes);
  asio::awaitable<failure> connect(worker& w, std::unique_ptr<connection>& slot, const origin& to,
                                   error_code& ec);
  asio::awaitable<outcome> redirect(worker& w, const message_ptr& m, const outcome& prev, origin& at,
                                    bool keep_bytes);

  void spawn_worker();
  bool wake_one();
  void wake_all();
  void arm_watchdog();
  void arm_gor_stats();
  void count_failure(const outcome& r);

  asio::any_io_executor ex;
  message_reader in;
  const http_output_options& opts;
  const hr::target_url& url;
  http_output_live& live;
  elasticsearch_exporter* es = nullptr;  // with --output-http-elasticsearch
  origin target;
  std::optional<ssl::context> tls_ctx;
  std::vector<tcp::endpoint> target_endpoints;  // resolved once, re-resolved after a connect failure
  std::string authority_header;                  // empty with original_host

  std::size_t queue_cap;
  std::size_t min_workers;
  std::size_t max_workers;
  std::chrono::nanoseconds timeout;
  std::deque<message_ptr> queue;
  std::vector<std::shared_ptr<worker>> workers;
  std::vector<worker*> idle;  // a stack: the most recently idle worker is woken first
  std::size_t in_flight = 0;
  std::uint64_t completed = 0;
  std::uint64_t watched = 0;
  bool closing = false;
  bool aborting = false;
  bool stalled = false;
  detail::bell space_bell;
  bool feed_waiting = false;
  detail::bell done_bell;
  // Timer callbacks hold a weak reference: a callback already queued when the pool ends
  // finds it expired and touches nothing.
  std::shared_ptr<int> life = std::make_shared<int>(0);
  asio::steady_timer watchdog;
  // gor's --output-http-stats line: queue length sampled at every request taken.
  asio::steady_timer gor_stats_timer;
  std::uint64_t q_latest = 0, q_sum = 0, q_max = 0, q_count = 0;

  // Counters, created before the hot path.
  std::atomic<std::uint64_t>& sent;
  std::atomic<std::uint64_t>& status_2xx;
  std::atomic<std::uint64_t>& status_3xx;
  std::atomic<std::uint64_t>& status_4xx;
  std::atomic<std::uint64_t>& status_5xx;
  std::atomic<std::uint64_t>& status_other;
  std::atomic<std::uint64_t>& errors_connect;
  std::atomic<std::uint64_t>& errors_timeout;
  std::atomic<std::uint64_t>& errors_reset;
  std::atomic<std::uint64_t>& errors_tls;
  std::atomic<std::uint64_t>& errors_parse;
  std::atomic<std::uint64_t>& errors_request;
  std::atomic<std::uint64_t>& skipped_connect;
  std::atomic<std::uint64_t>& retries;
  std::atomic<std::uint64_t>& reconnects_idle;
  std::atomic<std::uint64_t>& redirects_followed;
  std::atomic<std::uint64_t>& connections;
  std::atomic<std::uint64_t>& abandoned;
};

struct worker : std::enable_shared_from_this<worker> {
  explicit worker(http_output::pool& p)
      : owner(p), wake(p.ex), deadline(p.ex), resolver(p.ex) {}

  // The deadline of the whole exchange: when it passes, the connections close and whatever
  // the worker awaits fails at once. Arming only stores a time: the timer, when it fires,
  // moves itself to the current deadline, so a busy worker costs no timer syscall per request.
  void arm(std::chrono::nanoseconds d) {
    timed_out = false;
    in_exchange = true;
    deadline_at = std::chrono::steady_clock::now() + d;
    if (!watching) watch(deadline_at);
  }
  void disarm() { in_exchange = false; }
  void stop_watch() {
    in_exchange = false;
    deadline.cancel();
  }
  void watch(std::chrono::steady_clock::time_point at) {
    watching = true;
    deadline.expires_at(at);
    deadline.async_wait([weak = weak_from_this()](error_code ec) {
      auto w = weak.lock();
      if (!w) return;
      w->watching = false;
      if (ec || !w->in_exchange) return;
      if (std::chrono::steady_clock::now() < w->deadline_at) {
        w->watch(w->deadline_at);  // a later exchange: wait for its deadline
        return;
      }
      w->timed_out = true;
      w->close_connections();
    });
  }
  void close_connections() {
    if (conn) conn->close();
    if (detour) detour->close();
    resolver.cancel();
  }

  http_output::pool& owner;
  asio::steady_timer wake;
  bool woken = false;
  asio::steady_timer deadline;
  std::chrono::steady_clock::time_point deadline_at;
  bool watching = false;     // a wait on `deadline` is pending
  bool in_exchange = false;
  bool timed_out = false;
  tcp::resolver resolver;
  std::unique_ptr<connection> conn;    // to the output's target
  std::unique_ptr<connection> detour;  // to a redirect's other origin
  // Reused per request: framing, the pieces to write, the bytes of the response.
  hr::framed_request framed;
  std::string scratch;
  std::string linear;
  std::string redirect_request;
  std::vector<std::string_view> pieces;
  std::vector<asio::const_buffer> buffers;
  std::string response;
  std::size_t body_cap = 0;  // bytes of the response body kept in `response`
};

http_output::pool::pool(const asio::any_io_executor& e, message_reader r, const http_output_options& o,
                        const hr::target_url& u, http_output_live& l)
    : ex(e),
      in(r),
      opts(o),
      url(u),
      live(l),
      space_bell(e),
      done_bell(e),
      watchdog(e),
      gor_stats_timer(e),
      sent(r.stats().counter("sent")),
      status_2xx(r.stats().counter("status_2xx")),
      status_3xx(r.stats().counter("status_3xx")),
      status_4xx(r.stats().counter("status_4xx")),
      status_5xx(r.stats().counter("status_5xx")),
      status_other(r.stats().counter("status_other")),
      errors_connect(r.stats().counter("errors_connect")),
      errors_timeout(r.stats().counter("errors_timeout")),
      errors_reset(r.stats().counter("errors_reset")),
      errors_tls(r.stats().counter("errors_tls")),
      errors_parse(r.stats().counter("errors_parse")),
      errors_request(r.stats().counter("errors_request")),
      skipped_connect(r.stats().counter("skipped_connect")),
      retries(r.stats().counter("retries")),
      reconnects_idle(r.stats().counter("reconnects_idle")),
      redirects_followed(r.stats().counter("redirects")),
      connections(r.stats().counter("connections")),
      abandoned(r.stats().counter("abandoned")) {
  target = origin{u.tls, u.host, u.port, u.authority};
  if (!o.original_host) authority_header = u.authority;
  queue_cap = static_cast<std::size_t>(std::max<std::int64_t>(1, o.queue_len));
  min_workers = static_cast<std::size_t>(std::clamp<std::int64_t>(o.workers_min, 1, http_output::max_workers_cap));
  // 0 is gor's "unbounded": a worker starts only for a queued request that finds none idle,
  // so the queue's length bounds it; an explicit maximum is honoured as given.
  max_workers = o.workers <= 0
                    ? std::max(static_cast<std::size_t>(http_output::max_workers_cap), queue_cap)
                    : static_cast<std::size_t>(o.workers);
  max_workers = std::max(max_workers, min_workers);
  timeout = o.timeout.count() > 0 ? o.timeout : std::chrono::nanoseconds(std::chrono::seconds(5));
}

// --- the pool ---------------------------------------------------------------------------------

// Prints gor's `output_http:latest,mean,max,count,count/second,workers` every stats_ms.
void http_output::pool::arm_gor_stats() {
  auto period = std::chrono::milliseconds(std::max<std::int64_t>(100, opts.stats_ms));
  gor_stats_timer.expires_after(period);
  gor_stats_timer.async_wait([this, period, alive = std::weak_ptr<int>(life)](error_code ec) {
    if (ec || alive.expired()) return;  // cancelled, or the pool is gone
    auto mean = q_count ? q_sum / q_count : 0;
    auto per_second = q_count * 1000 / static_cast<std::uint64_t>(period.count());
    log::at(0, "output_http:", q_latest, ",", mean, ",", q_max, ",", q_count, ",", per_second, ",", workers.size());
    q_latest = q_sum = q_max = q_count = 0;
    arm_gor_stats();
  });
}

void http_output::pool::spawn_worker() {
  auto w = std::make_shared<worker>(*this);
  workers.push_back(w);
  live.workers.store(static_cast<std::int64_t>(workers.size()), std::memory_order_relaxed);
  asio::co_spawn(ex, run_worker(std::move(w)), asio::detached);
}

bool http_output::pool::wake_one() {
  if (idle.empty()) return false;
  auto* w = idle.back();
  idle.pop_back();
  live.idle.store(static_cast<std::int64_t>(idle.size()), std::memory_order_relaxed);
  w->woken = true;
  w->wake.cancel();
  return true;
}

void http_output::pool::wake_all() {
  while (wake_one()) {
  }
}

asio::awaitable<void> http_output::pool::feed() {
  for (std::size_t i = 0; i < min_workers; ++i) spawn_worker();
  if (opts.stats) {
    log::at(0, "output_http:latest,mean,max,count,count/second,gcount");
    arm_gor_stats();
  }
  for (;;) {
    while (queue.size() >= queue_cap) {
      feed_waiting = true;
      co_await space_bell.wait();
    }
    message_ptr m;
    if (!in.try_receive(m)) m = co_await in.receive();
    if (!m) break;
    queue.push_back(std::move(m));
    live.busy.fetch_add(1, std::memory_order_relaxed);
    q_latest = queue.size();
    q_sum += q_latest;
    q_max = std::max(q_max, q_latest);
    ++q_count;
    live.queued.store(static_cast<std::int64_t>(queue.size()), std::memory_order_relaxed);
    // More waiting than idle workers: grow, up to the maximum.
    if (!wake_one() && workers.size() < max_workers) spawn_worker();
  }
}

// Without progress for this long, what is left is abandoned.
void http_output::pool::arm_watchdog() {
  watchdog.expires_after(timeout * (std::max<std::int64_t>(0, opts.redirects) + 2) + std::chrono::seconds(1));
  watchdog.async_wait([this, alive = std::weak_ptr<int>(life)](error_code ec) {
    if (ec || alive.expired()) return;  // cancelled, or the pool is gone
    if (completed == watched) {
      stalled = true;
      done_bell.ring();
    } else {
      watched = completed;
      arm_watchdog();
    }
  });
}

asio::awaitable<void> http_output::pool::finish(bool aborted) {
  closing = true;
  gor_stats_timer.cancel();
  if (!aborted) {
    // End of stream: the queue still drains; idle workers wake to see it.
    wake_all();
    watched = completed;
    arm_watchdog();
    try {
      while (!workers.empty() && !stalled) co_await done_bell.wait();
    } catch (...) {
      aborted = true;  // cancelled while draining (the pipeline's drain deadline)
    }
    watchdog.cancel();
  }
  if (!workers.empty()) {
    // From here nothing may throw: the workers use this pool until they have ended.
    co_await asio::this_coro::reset_cancellation_state();
    co_await asio::this_coro::throw_if_cancelled(false);
    auto left = queue.size() + in_flight;
    if (left > 0) {
      abandoned.fetch_add(left, std::memory_order_relaxed);
      in.stats().drops.fetch_add(left, std::memory_order_relaxed);
      log::at(1, "output-http ", url.authority, ": ", left, " request(s) abandoned at ",
              aborted ? "cancellation" : "end of stream");
    }
    aborting = true;
    queue.clear();
    for (auto& w : workers) w->close_connections();
    wake_all();
    while (!workers.empty()) co_await done_bell.wait();
  }
  live.queued.store(0, std::memory_order_relaxed);
  live.busy.store(0, std::memory_order_relaxed);
}

asio::awaitable<void> http_output::pool::run_worker(std::shared_ptr<worker> w) {
  try {
    co_await serve(*w);
  } catch (const std::exception& e) {
    in.stats().errors.fetch_add(1, std::memory_order_relaxed);
    log::at(1, "output-http ", url.authority, ": worker failed: ", e.what());
  }
  w->stop_watch();
  w->close_connections();
  if (auto it = std::find(idle.begin(), idle.end(), w.get()); it != idle.end()) idle.erase(it);
  std::erase(workers, w);
  live.workers.store(static_cast<std::int64_t>(workers.size()), std::memory_order_relaxed);
  live.idle.store(static_cast<std::int64_t>(idle.size()), std::memory_order_relaxed);
  if (workers.empty()) done_bell.ring();
}

asio::awaitable<void> http_output::pool::serve(worker& w) {
  for (;;) {
    if (aborting) co_return;
    if (!queue.empty()) {
      auto m = std::move(queue.front());
      queue.pop_front();
      live.queued.store(static_cast<std::int64_t>(queue.size()), std::memory_order_relaxed);
      // Wake the feeder only once the queue is half empty: it then refills in one go instead
      // of one wake-up per request.
      if (feed_waiting && queue.size() <= queue_cap / 2) {
        feed_waiting = false;
        space_bell.ring();
      }
      ++in_flight;
      try {
        co_await exchange(w, m);
      } catch (const std::exception& e) {
        // Nothing in an exchange should throw (I/O errors are values); if it does, the
        // request is counted and the worker goes on with a fresh connection.
        in.stats().errors.fetch_add(1, std::memory_order_relaxed);
        log::at(1, "output-http ", url.authority, ": request failed: ", e.what());
        w.disarm();
        w.close_connections();
      }
      --in_flight;
      ++completed;
      live.busy.fetch_sub(1, std::memory_order_relaxed);
      continue;
    }
    if (closing) co_return;
    // Idle. Workers above the minimum stop after worker_timeout without work.
    const bool extra = workers.size() > min_workers;
    idle.push_back(&w);
    live.idle.store(static_cast<std::int64_t>(idle.size()), std::memory_order_relaxed);
    w.woken = false;
    if (extra && opts.worker_timeout.count() > 0)
      w.wake.expires_after(opts.worker_timeout);
    else
      w.wake.expires_at(asio::steady_timer::time_point::max());
    co_await w.wake.async_wait(tuple_awaitable);
    if (!w.woken) {
      if (auto it = std::find(idle.begin(), idle.end(), &w); it != idle.end()) idle.erase(it);
      live.idle.store(static_cast<std::int64_t>(idle.size()), std::memory_order_relaxed);
      if (queue.empty() && !closing && workers.size() > min_workers) co_return;
    }
  }
}

// --- one request --------------------------------------------------------------------------------

void http_output::pool::count_failure(const outcome& r) {
  if (r.fail == failure::aborted) return;
  in.stats().errors.fetch_add(1, std::memory_order_relaxed);
  switch (r.fail) {
    case failure::connect: errors_connect.fetch_add(1, std::memory_order_relaxed); break;
    case failure::timeout: errors_timeout.fetch_add(1, std::memory_order_relaxed); break;
    case failure::reset: errors_reset.fetch_add(1, std::memory_order_relaxed); break;
    case failure::tls: errors_tls.fetch_add(1, std::memory_order_relaxed); break;
    case failure::parse: errors_parse.fetch_add(1, std::memory_order_relaxed); break;
    default: break;
  }
  if (log::verbosity.load(std::memory_order_relaxed) >= 1)
    log::at(1, "output-http ", url.authority, ": ", to_string(r.fail), " error: ", r.ec.message());
}

asio::awaitable<void> http_output::pool::exchange(worker& w, const message_ptr& m) {
  auto payload = m->payload();
  hr::frame_request(payload, w.framed);
  if (!w.framed.ok()) {
    in.stats().errors.fetch_add(1, std::memory_order_relaxed);
    errors_request.fetch_add(1, std::memory_order_relaxed);
    log::at(1, "output-http ", url.authority, ": request ", m->id(), " skipped: ", hr::to_string(w.framed.defect));
    co_return;
  }
  if (w.framed.method == "CONNECT") {
    skipped_connect.fetch_add(1, std::memory_order_relaxed);
    co_return;
  }
  hr::assemble_params params{authority_header, url.path_and_query, url.authorization};
  hr::assemble_request(payload, w.framed, params, w.scratch, w.pieces);

  const bool feedback = opts.track_response && static_cast<bool>(in.feedback());
  // Elasticsearch documents need the response's head only.
  const bool keep_bytes = feedback || es != nullptr;
  w.body_cap = feedback ? opts.response_buffer.bytes : 0;
  const bool head = w.framed.is_head();
  w.arm(timeout);
  const auto sent_wall = wall_ns();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = co_await round_trip(w, w.conn, target, head, is_idempotent(w.framed.method), keep_bytes);
  if (r.written) {
    sent.fetch_add(1, std::memory_order_relaxed);
    live.record_send(t0);
  }
  origin at = target;
  for (std::int64_t hop = 0; r.fail == failure::none && hop < opts.redirects && is_redirect(r.status) &&
                             !r.location.empty() && !aborting;
       ++hop) {
    auto next = co_await redirect(w, m, r, at, keep_bytes);
    if (next.fail == failure::none && next.status == 0) break;  // a Location we do not follow
    redirects_followed.fetch_add(1, std::memory_order_relaxed);
    r = std::move(next);
  }
  w.disarm();
  const auto rtt = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0);

  if (r.fail != failure::none) {
    count_failure(r);
    co_return;
  }
  live.latency.record(static_cast<std::uint64_t>(rtt.count()));
  switch (r.status / 100) {
    case 2: status_2xx.fetch_add(1, std::memory_order_relaxed); break;
    case 3: status_3xx.fetch_add(1, std::memory_order_relaxed); break;
    case 4: status_4xx.fetch_add(1, std::memory_order_relaxed); break;
    case 5: status_5xx.fetch_add(1, std::memory_order_relaxed); break;
    default: status_other.fetch_add(1, std::memory_order_relaxed); break;
  }
  if (es) es->add(payload, w.response, rtt, sent_wall + rtt.count());
  if (feedback)
    in.feedback().push(message::make(message_type::replayed_response, m->id(), sent_wall, rtt.count(), w.response));
}

asio::awaitable<failure> http_output::pool::connect(worker& w, std::unique_ptr<connection>& slot, const origin& to,
                                                    error_code& ec) {
  if (slot) slot->close();
  if (to.tls && !tls_ctx) {
    // Made on first use: creating an OpenSSL context costs tens of milliseconds.
    tls_ctx.emplace(ssl::context::tls_client);
    if (opts.skip_verify) {
      tls_ctx->set_verify_mode(ssl::verify_none);
    } else {
      error_code ignored;
      tls_ctx->set_default_verify_paths(ignored);
      tls_ctx->set_verify_mode(ssl::verify_peer);
    }
  }
  slot = std::make_unique<connection>(ex, to.tls ? &*tls_ctx : nullptr, to);
  auto& c = *slot;
  const bool is_target = to == target;

  std::vector<tcp::endpoint> resolved;
  std::vector<tcp::endpoint>* endpoints = is_target ? &target_endpoints : &resolved;
  if (endpoints->empty()) {
    error_code aec;
    auto addr = asio::ip::make_address(to.host, aec);
    std::uint16_t port = static_cast<std::uint16_t>(std::stoi(to.port));
    if (!aec) {
      endpoints->emplace_back(addr, port);
    } else {
      auto [rec, results] = co_await w.resolver.async_resolve(to.host, to.port, tuple_awaitable);
      if (aborting) co_return failure::aborted;
      if (rec) {
        ec = rec;
        co_return w.timed_out ? failure::timeout : failure::connect;
      }
      for (auto& e : results) endpoints->push_back(e.endpoint());
    }
  }
  auto [cec, ep] = co_await asio::async_connect(c.lowest(), *endpoints, tuple_awaitable);
  if (aborting) co_return failure::aborted;
  if (cec) {
    ec = cec;
    if (is_target && !w.timed_out) target_endpoints.clear();  // resolve again next time
    co_return w.timed_out ? failure::timeout : failure::connect;
  }
  connections.fetch_add(1, std::memory_order_relaxed);
  error_code ignored;
  c.lowest().set_option(tcp::no_delay(true), ignored);
  c.lowest().non_blocking(true, ignored);  // for still_open(); asynchronous calls are unaffected
  if (c.secure) {
    error_code aec;
    (void)asio::ip::make_address(to.host, aec);
    if (aec) SSL_set_tlsext_host_name(c.secure->native_handle(), to.host.c_str());  // SNI for names only
    if (!opts.skip_verify) c.secure->set_verify_callback(ssl::host_name_verification(to.host));
    auto [hec] = co_await c.secure->async_handshake(ssl::stream_base::client, tuple_awaitable);
    if (aborting) co_return failure::aborted;
    if (hec) {
      ec = hec;
      co_return w.timed_out ? failure::timeout : failure::tls;
    }
  }
  c.usable = true;
  co_return failure::none;
}

asio::awaitable<outcome> http_output::pool::round_trip(worker& w, std::unique_ptr<connection>& slot,
                                                       const origin& to, bool head, bool replayable,
                                                       bool keep_bytes) {
  outcome r;
  for (int attempt = 0;; ++attempt) {
    r = outcome{};
    if (slot && slot->usable && slot->exchanges > 0 &&
        std::chrono::steady_clock::now() - slot->last_used > idle_probe_after && !still_open(*slot)) {
      slot->close();
      reconnects_idle.fetch_add(1, std::memory_order_relaxed);
    }
    if (!slot || !slot->usable || !(slot->where == to)) {
      r.fail = co_await connect(w, slot, to, r.ec);
      if (r.fail != failure::none) co_return r;
    }
    auto& c = *slot;
    const bool reused = c.exchanges > 0;
    // A reused connection the server closed just as we sent fails before any response byte.
    // The request most likely never reached the application, but it may have: only
    // idempotent requests are sent once more, on a fresh connection.
    auto stale = [&](const error_code& ec) {
      return replayable && reused && attempt == 0 && !w.timed_out && !aborting && !r.got_response_bytes &&
             (ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
              ec == ssl::error::stream_truncated || ec == http::error::end_of_stream);
    };
    auto io_failure = [&](const error_code& ec) {
      if (aborting) return failure::aborted;
      if (w.timed_out) return failure::timeout;
      if (is_tls_error(ec) && ec != ssl::error::stream_truncated) return failure::tls;
      return failure::reset;
    };

    // Send.
    error_code wec;
    if (c.secure) {
      w.linear.clear();
      for (auto p : w.pieces) w.linear.append(p);
      auto [ec, n] = co_await asio::async_write(*c.secure, asio::buffer(w.linear), tuple_awaitable);
      wec = ec;
    } else {
      w.buffers.clear();
      for (auto p : w.pieces)
        if (!p.empty()) w.buffers.emplace_back(p.data(), p.size());
      auto [ec, n] = co_await asio::async_write(c.sock, w.buffers, tuple_awaitable);
      wec = ec;
    }
    if (wec) {
      c.close();
      if (stale(wec)) {
        retries.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      r.fail = io_failure(wec);
      r.ec = wec;
      co_return r;
    }
    r.written = true;

    // Receive: interim 1xx responses, then the final one, all kept in w.response.
    w.response.clear();
    const std::size_t body_cap = w.body_cap;
    error_code rec;
    bool keep_alive = false;
    for (;;) {
      response_probe probe;
      probe.header_limit(256 * 1024);
      probe.body_limit(boost::none);
      if (head) probe.skip(true);
      std::size_t body_kept = 0;
      bool header_seen = false;
      while (!probe.is_done()) {
        if (c.buf.size() > 0) {
          error_code pec;
          auto n = probe.put(c.buf.data(), pec);
          if (pec && pec != http::error::need_more) {
            r.fail = failure::parse;
            r.ec = pec;
            c.close();
            co_return r;
          }
          if (n > 0) {
            if (keep_bytes) {
              auto* p = static_cast<const char*>(c.buf.data().data());
              if (!header_seen) {
                w.response.append(p, n);  // non-eager: a put that ends the header consumes only it
              } else if (body_kept < body_cap) {
                auto k = std::min(n, body_cap - body_kept);
                w.response.append(p, k);
                body_kept += k;
              }
            }
            if (probe.is_header_done()) header_seen = true;
            c.buf.consume(n);
            continue;
          }
          if (!pec && probe.is_done()) break;
        }
        error_code ec;
        std::size_t n = 0;
        if (c.secure) {
          auto [e, k] = co_await c.secure->async_read_some(c.buf.prepare(16 * 1024), tuple_awaitable);
          ec = e;
          n = k;
        } else {
          auto [e, k] = co_await c.sock.async_read_some(c.buf.prepare(16 * 1024), tuple_awaitable);
          ec = e;
          n = k;
        }
        if (n > 0) {
          c.buf.commit(n);
          r.got_response_bytes = true;
        }
        if (ec) {
          if (ec == asio::error::eof && probe.is_header_done() && c.buf.size() == 0) {
            // A body delimited by the end of the connection.
            error_code eec;
            probe.put_eof(eec);
            if (!eec) break;
          }
          if (n > 0 && ec == asio::error::eof) continue;  // parse what came, then see the end
          rec = ec;
          break;
        }
      }
      if (rec) break;
      r.status = probe.status;
      keep_alive = probe.keep_alive();
      if (r.status >= 100 && r.status < 200 && r.status != 101) continue;  // interim; the final one follows
      r.location = std::move(probe.location);
      break;
    }
    if (rec) {
      c.close();
      if (stale(rec)) {
        retries.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      r.fail = io_failure(rec);
      r.ec = rec;
      co_return r;
    }
    ++c.exchanges;
    c.last_used = std::chrono::steady_clock::now();
    // Bytes after the response were not asked for: the connection is out of step; drop it.
    if (!keep_alive || c.buf.size() > 0 || r.status == 101) c.close();
    co_return r;
  }
}

// Follows one redirect from `at`, updating it. An outcome with status 0 and no failure means
// the Location is one we do not follow (then the 3xx stands).
asio::awaitable<outcome> http_output::pool::redirect(worker& w, const message_ptr& m, const outcome& prev,
                                                     origin& at, bool keep_bytes) {
  std::string_view loc = prev.location;
  origin next = at;
  std::string path;
  if (loc.find("://") != std::string_view::npos) {
    try {
      auto u = hr::parse_target_url(loc);
      next = origin{u.tls, u.host, u.port, u.authority};
      path = u.path_and_query.empty() ? "/" : u.path_and_query;
    } catch (const std::exception&) {
      co_return outcome{};
    }
  } else if (loc.size() >= 2 && loc[0] == '/' && loc[1] == '/') {
    try {
      auto u = hr::parse_target_url(std::string(at.tls ? "https:" : "http:") + std::string(loc));
      next = origin{u.tls, u.host, u.port, u.authority};
      path = u.path_and_query.empty() ? "/" : u.path_and_query;
    } catch (const std::exception&) {
      co_return outcome{};
    }
  } else if (!loc.empty() && loc[0] == '/') {
    path = std::string(loc);
  } else {
    co_return outcome{};  // relative references: rare, not followed
  }
  if (auto hash = path.find('#'); hash != std::string::npos) path.resize(hash);

  // The method and body, as browsers and Go's client do: 303, and 301/302 after a POST, become
  // GET without a body; 307/308 repeat the request.
  auto payload = m->payload();
  const auto& f = w.framed;
  std::string_view method = f.method;
  bool keep_body = true;
  if ((prev.status == 303 && method != "HEAD") || ((prev.status == 301 || prev.status == 302) && method == "POST")) {
    method = "GET";
    keep_body = false;
  }
  const bool same_origin = next == at;
  auto& req = w.redirect_request;
  req.clear();
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  req.append("Host: ").append(next.authority).append("\r\n");
  // Copy the recorded headers but those that described the old host or the dropped body.
  std::size_t pos = payload.find('\n') + 1;
  while (pos < f.header_end) {
    auto nl = payload.find('\n', pos);
    auto line = payload.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    auto colon = line.find(':');
    auto name = line.substr(0, colon == std::string_view::npos ? 0 : colon);
    if (iequals(name, "host")) continue;
    if (!keep_body && (iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
                       iequals(name, "content-type")))
      continue;
    if (!same_origin && (iequals(name, "authorization") || iequals(name, "cookie"))) continue;
    req.append(line).append("\r\n");
  }
  req.append("\r\n");
  if (keep_body) req.append(payload.substr(f.header_end, f.message_end - f.header_end));
  w.pieces.clear();
  w.pieces.push_back(req);

  at = next;
  const bool head = method == "HEAD";
  const bool replayable = is_idempotent(method);
  if (next == target) co_return co_await round_trip(w, w.conn, next, head, replayable, keep_bytes);
  co_return co_await round_trip(w, w.detour, next, head, replayable, keep_bytes);
}

// --- the sink --------------------------------------------------------------------------------

http_output::http_output(std::string url, http_output_options options)
    : url_(std::move(url)), options_(options), live_(std::make_shared<http_output_live>()) {
  // Reject bad URLs when the pipeline is built.
  (void)hr::parse_target_url(url_);
  if (!options_.elasticsearch.empty()) (void)hr::parse_elasticsearch_url(options_.elasticsearch);
}

bool http_output::idle() const { return live_->busy.load(std::memory_order_relaxed) == 0; }

http_output::~http_output() = default;

asio::awaitable<void> http_output::run(message_reader in) {
  auto url = hr::parse_target_url(url_);
  auto live = live_;
  in.stats().detail = [live] {
    std::string s = "workers=" + std::to_string(live->workers.load(std::memory_order_relaxed)) +
                    " idle=" + std::to_string(live->idle.load(std::memory_order_relaxed)) +
                    " queued=" + std::to_string(live->queued.load(std::memory_order_relaxed));
    if (auto rate = live->rate(); rate > 0) {
      char buf[48];
      std::snprintf(buf, sizeof buf, " rate=%.1f/s", rate);
      s += buf;
    }
    if (live->latency.count() > 0) s += " " + live->latency.summary();
    return s;
  };
  auto ex = co_await asio::this_coro::executor;
  pool p(ex, in, options_, url, *live);

  // The Elasticsearch exporter runs beside the pool; it ends after the pool, with the last batch.
  // From its start to the wait for its end below nothing may throw: it refers to this frame.
  std::unique_ptr<elasticsearch_exporter> es;
  std::optional<detail::bell> es_done;
  if (!options_.elasticsearch.empty()) {
    elasticsearch_export_options eo;
    eo.batch_docs = options_.elasticsearch_batch_docs;
    eo.flush_interval = options_.elasticsearch_flush;
    eo.timeout = options_.timeout;
    eo.skip_verify = options_.skip_verify;
    es = std::make_unique<elasticsearch_exporter>(ex, hr::parse_elasticsearch_url(options_.elasticsearch), eo,
                                                  in.stats());
    es_done.emplace(ex);
    asio::co_spawn(ex, es->run(), [&done = *es_done](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          log::at(1, "output-http-elasticsearch: stopped: ", x.what());
        } catch (...) {
        }
      }
      done.ring();
    });
  }

  p.es = es.get();
  std::exception_ptr err;
  try {
    co_await p.feed();
  } catch (...) {
    err = std::current_exception();
  }
  // Cleanup must run even when we were cancelled: it only closes and waits for our own workers.
  co_await asio::this_coro::reset_cancellation_state();
  co_await p.finish(err != nullptr);
  if (es) {
    if (err) es->abort();
    else es->close();
    bool cancelled = false;
    try {
      co_await es_done->wait();
    } catch (...) {
      cancelled = true;  // while the last batch was going out (the pipeline's drain deadline)
    }
    if (cancelled) {
      es->abort();
      co_await asio::this_coro::reset_cancellation_state();
      co_await asio::this_coro::throw_if_cancelled(false);
      co_await es_done->wait();
    }
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace coreplay
