// A one-waiter wake-up signal for coroutines on one executor: ring() from anywhere on that
// executor, wait() suspends until the next ring (or returns at once if one is pending).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace coreplay::detail {

class bell {
 public:
  explicit bell(const boost::asio::any_io_executor& ex)
      : timer_(ex, boost::asio::steady_timer::time_point::max()) {}

  void ring() {
    rung_ = true;
    timer_.cancel();
  }

  boost::asio::awaitable<void> wait() {
    while (!rung_) {
      timer_.expires_at(boost::asio::steady_timer::time_point::max());
      co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    rung_ = false;
  }

 private:
  boost::asio::steady_timer timer_;
  bool rung_ = false;
};

}  // namespace coreplay::detail
