// The pipeline's bounded channel: order, capacity, wake-ups, close, cancel and cancellation.
#include "core/ring_channel.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <exception>
#include <vector>

using coreplay::detail::ring_channel;
namespace asio = boost::asio;
namespace chan_error = boost::asio::experimental::error;

TEST_CASE("ring channel keeps order across wrap-around and refuses when full", "[unit][ring_channel]") {
  asio::io_context io;
  ring_channel<int> ch(io.get_executor(), 3);
  int next_in = 0, next_out = 0;
  for (int round = 0; round < 10; ++round) {
    while (ch.try_send(next_in)) ++next_in;
    CHECK(ch.full());
    CHECK(ch.size() == 3);
    int v = -1;
    for (int k = 0; k < 2; ++k) {
      REQUIRE(ch.try_receive(v));
      CHECK(v == next_out++);
    }
  }
  int v;
  while (ch.try_receive(v)) CHECK(v == next_out++);
  CHECK(next_out == next_in);
}

TEST_CASE("ring channel: a full sender waits for room, a receiver for a value, in order", "[unit][ring_channel]") {
  asio::io_context io;
  ring_channel<int> ch(io.get_executor(), 2);
  std::vector<int> got;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 100; ++i) {
      auto ec = co_await ch.async_send(i);
      REQUIRE_FALSE(ec);
    }
    ch.close();
  }, [](std::exception_ptr e) { REQUIRE_FALSE(e); });
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (;;) {
      auto [ec, v] = co_await ch.async_receive();
      if (ec) {
        CHECK(ec == chan_error::channel_closed);
        break;
      }
      got.push_back(v);
    }
  }, [](std::exception_ptr e) { REQUIRE_FALSE(e); });
  io.run();
  REQUIRE(got.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(got[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("ring channel: close lets receivers drain; cancel fails a waiting sender", "[unit][ring_channel]") {
  asio::io_context io;
  ring_channel<int> ch(io.get_executor(), 1);
  REQUIRE(ch.try_send(1));
  boost::system::error_code send_ec;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { send_ec = co_await ch.async_send(2); },
                 [](std::exception_ptr e) { REQUIRE_FALSE(e); });
  asio::post(io, [&] {
    ch.cancel();
    ch.close();
  });
  io.run();
  CHECK(send_ec == chan_error::channel_cancelled);
  CHECK_FALSE(ch.try_send(3));  // closed
  int v = 0;
  REQUIRE(ch.try_receive(v));   // what was queued before close is still there
  CHECK(v == 1);
  CHECK_FALSE(ch.try_receive(v));
  CHECK_FALSE(ch.is_open());
}

TEST_CASE("ring channel: cancelling the waiting coroutine throws operation_aborted", "[unit][ring_channel]") {
  asio::io_context io;
  ring_channel<int> ch(io.get_executor(), 1);
  asio::cancellation_signal sig;
  std::exception_ptr err;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { (void)co_await ch.async_receive(); },
                 asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr e) { err = e; }));
  asio::post(io, [&] { sig.emit(asio::cancellation_type::terminal); });
  io.run();
  REQUIRE(err);
  try {
    std::rethrow_exception(err);
  } catch (const boost::system::system_error& e) {
    CHECK(e.code() == asio::error::operation_aborted);
  }
  // The channel still works afterwards.
  CHECK(ch.try_send(5));
  int v = 0;
  CHECK(ch.try_receive(v));
  CHECK(v == 5);
}
