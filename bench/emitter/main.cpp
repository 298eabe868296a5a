// Messages/s through source -> emitter -> 2 null sinks, beside a bare Asio channel
// (one producer, one consumer) moving the same message pointers in the same run.
//   build/release/bench/bench_emitter [messages]
#include <coreplay/pipeline.hpp>

#include "outputs/stdout/stdout_output.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace coreplay;
using clock_type = std::chrono::steady_clock;

namespace {

class repeat_source : public source {
 public:
  repeat_source(message_ptr m, std::size_t n) : m_(std::move(m)), n_(n) {}
  asio::awaitable<void> run(message_writer out) override {
    for (std::size_t i = 0; i < n_; ++i) co_await out.send(m_);
  }

 private:
  message_ptr m_;
  std::size_t n_;
};

double run_pipeline(message_ptr m, std::size_t n) {
  asio::io_context io(1);
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<repeat_source>(m, n));
  auto& a = p.add_sink("null1", std::make_unique<null_output>());
  auto& b = p.add_sink("null2", std::make_unique<null_output>());
  auto t0 = clock_type::now();
  p.async_run([](std::exception_ptr e) { if (e) std::abort(); });
  io.run();
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (a.messages != n || b.messages != n) {
    std::fprintf(stderr, "lost messages: %llu %llu\n", (unsigned long long)a.messages.load(),
                 (unsigned long long)b.messages.load());
    std::exit(1);
  }
  return n / secs;
}

double run_bare_channel(message_ptr m, std::size_t n) {
  using channel = asio::experimental::channel<void(boost::system::error_code, message_ptr)>;
  asio::io_context io(1);
  channel ch(io, 1024);
  std::size_t got = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < n; ++i) co_await ch.async_send(boost::system::error_code{}, m, asio::use_awaitable);
  }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    while (got < n) {
      (void)co_await ch.async_receive(asio::use_awaitable);
      ++got;
    }
  }, asio::detached);
  auto t0 = clock_type::now();
  io.run();
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (got != n) std::exit(1);
  return n / secs;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2'000'000;
  auto m = message::make(message_type::request, make_message_id(), 1, std::nullopt,
                         "GET /index.html HTTP/1.1\r\nHost: example.org\r\n\r\n");
  // Warm up, then alternate so both see the same machine state.
  run_bare_channel(m, n / 10);
  run_pipeline(m, n / 10);
  double bare = 0, pipe = 0;
  for (int round = 0; round < 3; ++round) {
    bare = std::max(bare, run_bare_channel(m, n));
    pipe = std::max(pipe, run_pipeline(m, n));
  }
  std::printf("messages:                         %zu\n", n);
  std::printf("bare asio channel (1 hop):        %.0f msg/s\n", bare);
  std::printf("pipeline, source -> 2 null sinks: %.0f msg/s (%.2fx bare)\n", pipe, pipe / bare);
  return 0;
}
