#include "inputs/http/http_input.hpp"

#include "core/listen_socket.hpp"
#include "core/socket_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <unistd.h>

#include <deque>
#include <optional>
#include <stdexcept>
#include <utility>
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
  state(listen_socket l, http_input_options o) : listener(l), opts(o) {}
  ~state() {
    if (listener.fd >= 0) ::close(listener.fd);  // never run
  }

  listen_socket listener;  // until run() hands it to the server
  http_input_options opts;
  std::optional<socket_server> server;
  std::deque<message_ptr> queue;            // accepted, not yet handed to the pipeline
  std::optional<signal_timer> arrived, taken;  // the queue grew / shrank
  bool stopped = false;
  std::atomic<std::uint64_t>* refused = nullptr;

  // One connection: each request queued as a message, then answered.
  static asio::awaitable<void> serve(std::shared_ptr<state> self, tcp::socket& s) {
    if (!self) co_return;
    beast::flat_buffer buf;
    while (!self->stopped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(self->opts.max_body_bytes);
      parser.header_limit(64 * 1024);
      auto [ec, n] = co_await http::async_read(s, buf, parser, asio::as_tuple(asio::use_awaitable));
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
      auto [wec, wn] = co_await http::async_write(s, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !res.keep_alive()) break;
    }
  }
};

http_input::http_input(const std::string& address, http_input_options o)
    : address_(address), state_(std::make_shared<state>(open_listen_socket(address, "input-http"), o)) {}

http_input::~http_input() = default;

std::uint16_t http_input::port() const noexcept { return state_->listener.endpoint.port(); }

asio::awaitable<void> http_input::run(message_writer out) {
  auto ex = co_await asio::this_coro::executor;
  auto self = state_;
  if (self->listener.fd < 0) throw std::logic_error("input-http: run() twice");
  self->refused = &out.stats().counter("refused_too_large");
  self->arrived.emplace(ex);
  self->taken.emplace(ex);
  auto listener = std::exchange(self->listener, listen_socket{-1, self->listener.endpoint});
  self->server.emplace(ex, listener, "input-http(" + address_ + ")",
                       [w = std::weak_ptr<state>(self)](tcp::socket& s) { return state::serve(w.lock(), s); },
                       &out.stats().errors);
  self->server->start();
  // The connections queue requests; this loop alone sends them on (one sender for the writer).
  std::exception_ptr err;
  try {
    for (;;) {
      while (self->queue.empty()) co_await self->arrived->wait();
      auto m = std::move(self->queue.front());
      self->queue.pop_front();
      self->taken->notify_all();
      co_await out.send(std::move(m));
    }
  } catch (...) {
    err = std::current_exception();  // stopped (cancelled), or the pipeline failed
  }
  // Stop accepting, end every connection, and return only once they all have.
  co_await asio::this_coro::reset_cancellation_state();
  co_await asio::this_coro::throw_if_cancelled(false);
  self->stopped = true;
  self->server->stop();
  self->taken->notify_all();
  co_await self->server->wait();
  std::rethrow_exception(err);
}

}  // namespace coreplay
