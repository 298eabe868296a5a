#include "inputs/dummy/dummy_input.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coreplay {

namespace {
constexpr std::string_view dummy_request =
    "GET / HTTP/1.1\r\nHost: www.w3.org\r\nUser-Agent: Go 1.1 package http\r\n"
    "Accept-Encoding: gzip\r\n\r\n";
constexpr std::string_view dummy_response = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

std::int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

asio::awaitable<void> dummy_input::run(message_writer out) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    auto id = make_message_id();
    auto now = unix_now_ns();
    co_await out.send(message::make(message_type::request, id, now, std::nullopt, dummy_request));
    co_await out.send(message::make(message_type::response, id, now + 1, 1, dummy_response));
    next += options_.interval;
    timer.expires_at(next);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace coreplay
