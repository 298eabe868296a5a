#include "inputs/http/http_input.hpp"

#include "core/listen_socket.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <unistd.h>

#include <deque>
#include <list>
#include <sstream>

namespace coreplay {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Requests accepted from clients and not yet handed to the pipeline: past this many, a
// session waits before answering.
constexpr std::size_t queue_limit = 1024;

// A timer used as a condition: waiters re-check their condition after every wake-up.
struct signal_timer {
  explicit signal_timer(const asio::any_io_executor& ex) : timer(ex, asio::steady_timer::time_point::max()) {}
  asio::awaitable<void> wait() {
    timer.expires_at(asio::steady_timer::time_point::max());
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void notify_all() { timer.cancel(); }
  asio::steady_timer timer;
};

}  // namespace

struct http_input::state {
  explicit state(listen_socket l, http_input_options o) : listener(l), opts(o) {}
  ~state() {
    if (listener.fd >= 0) ::close(listener.fd);  // never handed to an acceptor
  }

  listen_socket listener;
  http_input_options opts;
  std::optional<tcp::acceptor> acceptor;
  std::list<std::weak_ptr<tcp::socket>> sessions;
  std::deque<message_ptr> queue;
  std::optional<signal_timer> arrived, taken;  // queue grew / shrank
  bool stopped = false;
  std::atomic<std::uint64_t>* refused = nullptr;

  void stop() {
    if (stopped) return;
    stopped = true;
    boost::system::error_code ignored;
    if (acceptor) acceptor->close(ignored);
    for (auto& w : sessions)
      if (auto s = w.lock()) s->close(ignored);
    if (taken) taken->notify_all();
  }

  static asio::awaitable<void> serve(std::shared_ptr<state> self, std::shared_ptr<tcp::socket> s) {
    beast::flat_buffer buf;
    while (!self->stopped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(self->opts.max_body_bytes);
      parser.header_limit(64 * 1024);
      auto [ec, n] = co_await http::async_read(*s, buf, parser, asio::as_tuple(asio::use_awaitable));
      http::response<http::string_body> res;
      res.set(http::field::server, "coreplay");
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      if (ec == http::error::body_limit || ec == http::error::header_limit) {
        self->refused->fetch_add(1, std::memory_order_relaxed);
        res.result(http::status::payload_too_large);
        res.keep_alive(false);
        res.body() = "request too large\n";
      } else if (ec) {
        break;  // closed, reset, or not HTTP: nothing to answer
      } else {
        auto& req = parser.get();
        // The request as it would go on the wire again: start line, headers, body.
        std::ostringstream raw;
        raw << req;
        while (self->queue.size() >= queue_limit && !self->stopped) co_await self->taken->wait();
        if (self->stopped) break;
        self->queue.push_back(
            message::make(message_type::request, make_message_id(), unix_now_ns(), std::nullopt, raw.str()));
        self->arrived->notify_all();
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        res.result(http::status::ok);
        res.body() = "OK\n";
      }
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(*s, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    s->shutdown(tcp::socket::shutdown_both, ignored);
    s->close(ignored);
    self->sessions.remove_if([](auto& w) { return w.expired(); });
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<state> self) {
    while (!self->stopped) {
      auto [ec, sock] = co_await self->acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (self->stopped) break;
      if (ec) {
        if (ec == asio::error::operation_aborted) break;
        continue;  // a connection that failed before it was taken
      }
      auto s = std::make_shared<tcp::socket>(std::move(sock));
      self->sessions.push_back(s);
      asio::co_spawn(self->acceptor->get_executor(), serve(self, std::move(s)), asio::detached);
    }
  }
};

http_input::http_input(const std::string& address, http_input_options o)
    : state_(std::make_shared<state>(open_listen_socket(address, "input-http"), o)) {}

http_input::~http_input() { state_->stop(); }

std::uint16_t http_input::port() const noexcept { return state_->listener.endpoint.port(); }

asio::awaitable<void> http_input::run(message_writer out) {
  auto ex = co_await asio::this_coro::executor;
  auto self = state_;
  self->refused = &out.stats().counter("refused_too_large");
  self->acceptor.emplace(ex);
  self->acceptor->assign(self->listener.endpoint.protocol(), self->listener.fd);
  self->listener.fd = -1;  // the acceptor owns it now
  self->arrived.emplace(ex);
  self->taken.emplace(ex);
  asio::co_spawn(ex, state::accept_loop(self), asio::detached);
  // The sessions queue requests; this loop alone sends them on (one sender for the writer).
  // Stopping the pipeline cancels the wait below: the acceptor and every connection close.
  struct closer {
    std::shared_ptr<state> s;
    ~closer() { s->stop(); }
  } guard{self};
  for (;;) {
    while (self->queue.empty()) co_await self->arrived->wait();
    auto m = std::move(self->queue.front());
    self->queue.pop_front();
    self->taken->notify_all();
    co_await out.send(std::move(m));
  }
}

}  // namespace coreplay
