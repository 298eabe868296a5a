#include "core/rate_gate.hpp"
#include "support/test_plugins.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <deque>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;
using detail::rate_gate;

TEST_CASE("limit suffixes parse as gor's", "[unit][limit]") {
  auto [a, l] = split_address_limit("http://staging|10");
  CHECK(a == "http://staging");
  CHECK(l.mode == rate_limit::kind::per_second);
  CHECK(l.value == 10);
  auto [b, p] = split_address_limit("f.gor|200%");
  CHECK(b == "f.gor");
  CHECK(p.mode == rate_limit::kind::percent);
  CHECK(p.value == 200);
  CHECK(split_address_limit("x|5|ignored").second.value == 5);
  CHECK(split_address_limit("plain").second.is_none());
  CHECK_THROWS_AS(rate_limit::parse("abc"), std::invalid_argument);
  CHECK_THROWS_AS(rate_limit::parse("-5"), std::invalid_argument);
  CHECK_THROWS_AS(rate_limit::parse("1.5"), std::invalid_argument);
  CHECK_THROWS_AS(rate_limit::parse(""), std::invalid_argument);
}

TEST_CASE("|N never admits more than N in any one-second window", "[unit][limit]") {
  // Bursts at window edges are where a fixed window (gor's) lets 2N through.
  rate_gate g(rate_limit::parse("100"));
  auto t0 = rate_gate::clock::time_point{} + 1000s;
  std::vector<rate_gate::clock::time_point> admitted;
  auto offer = [&](rate_gate::clock::time_point t, int n) {
    for (int i = 0; i < n; ++i)
      if (g.admit(t)) admitted.push_back(t);
  };
  offer(t0 + 999ms, 150);   // a burst at the end of one second...
  offer(t0 + 1001ms, 150);  // ...and at the start of the next
  for (int ms = 1100; ms < 5000; ms += 3) offer(t0 + std::chrono::milliseconds(ms), 1);
  std::deque<rate_gate::clock::time_point> window;
  std::size_t worst = 0;
  for (auto t : admitted) {
    window.push_back(t);
    while (t - window.front() >= 1s) window.pop_front();
    worst = std::max(worst, window.size());
  }
  CHECK(worst == 100);
  // And it does not starve: over ~4 s about 4 x 100 pass.
  CHECK(admitted.size() >= 390);
  CHECK(admitted.size() <= 500);
}

TEST_CASE("|N% samples each message with probability N/100", "[unit][limit]") {
  for (double pct : {1.0, 30.0, 50.0, 99.0}) {
    rate_gate g(rate_limit::parse(std::to_string(static_cast<int>(pct)) + "%"));
    const int n = 200000;
    int passed = 0;
    for (int i = 0; i < n; ++i) passed += g.admit();
    double p = pct / 100, mean = n * p, sigma = std::sqrt(n * p * (1 - p));
    INFO(pct << "%: " << passed << " of " << n);
    CHECK(std::abs(passed - mean) < 5 * sigma);
  }
}

TEST_CASE("an output limited to |50 receives at most 50 in any second of a live stream", "[unit][limit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  class stamp_sink : public sink {
   public:
    explicit stamp_sink(std::vector<std::chrono::steady_clock::time_point>& a) : a_(a) {}
    asio::awaitable<void> run(message_reader in) override {
      while (auto m = co_await in.receive()) a_.push_back(std::chrono::steady_clock::now());
    }
    std::vector<std::chrono::steady_clock::time_point>& a_;
  };
  p.add_source("live", std::make_unique<endless_source>(200us));
  p.add_sink("limited", std::make_unique<stamp_sink>(arrivals), rate_limit::parse("50"));
  asio::steady_timer t(io, 2500ms);
  t.async_wait([&](auto) { p.stop(); });
  REQUIRE(run_pipeline(io, p, 10s).finished);
  // The gate admits at most 50 in any second; arrivals at the sink carry the queueing jitter
  // of each message (larger under sanitizers), so the window is measured with 20 ms of slack.
  std::size_t worst = 0;
  for (std::size_t i = 0, j = 0; i < arrivals.size(); ++i) {
    while (arrivals[i] - arrivals[j] >= 980ms) ++j;
    worst = std::max(worst, i - j + 1);
  }
  CHECK(worst <= 50);
  CHECK(arrivals.size() >= 100);  // 2.5 s: at least two full windows' worth
}
