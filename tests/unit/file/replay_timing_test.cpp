// Replay timing against absolute deadlines: a sink timestamps every arrival.
#include "core/gor_format.hpp"
#include "inputs/file/file_input.hpp"
#include "support/test_plugins.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr double deadline_slack_ms = 10.0;  // sanitizers slow every step several times
#else
constexpr double deadline_slack_ms = 1.0;
#endif
#else
constexpr double deadline_slack_ms = 1.0;
#endif

class arrival_sink : public sink {
 public:
  explicit arrival_sink(std::vector<std::pair<std::int64_t, steady::time_point>>& out) : out_(out) {}
  asio::awaitable<void> run(message_reader in) override {
    while (auto m = co_await in.receive()) out_.emplace_back(m->timestamp_ns(), steady::now());
  }

 private:
  std::vector<std::pair<std::int64_t, steady::time_point>>& out_;
};

std::string write_recording(const std::string& name, int count, std::int64_t gap_ns) {
  auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream f(path, std::ios::binary);
  std::int64_t ts = 1'700'000'000'000'000'000;
  for (int i = 0; i < count; ++i, ts += gap_ns)
    f << "1 " << make_message_id() << " " << ts << " -1\nGET /" << i << " HTTP/1.1\r\n\r\n" << gor_separator;
  return path;
}

std::vector<std::pair<std::int64_t, steady::time_point>> replay(const std::string& path, double speed) {
  std::vector<std::pair<std::int64_t, steady::time_point>> arrivals;
  asio::io_context io;
  pipeline p(io.get_executor());
  file_input_options o;
  o.path = path;
  o.speed_factor = speed;
  p.add_source("input-file", std::make_unique<file_input>(o));
  p.add_sink("arrivals", std::make_unique<arrival_sink>(arrivals));
  auto r = run_pipeline(io, p, 30s);
  REQUIRE(r.finished);
  REQUIRE(error_text(r.error) == "");
  return arrivals;
}

}  // namespace

TEST_CASE("a 2 s recording at 400% takes 0.5 s", "[unit][file][timing]") {
  auto path = write_recording("coreplay-timing-2s.gor", 201, 10'000'000);  // 200 gaps of 10 ms
  auto a = replay(path, 4.0);
  std::filesystem::remove(path);
  REQUIRE(a.size() == 201);
  auto took = std::chrono::duration<double>(a.back().second - a.front().second).count();
  INFO("took " << took << " s");
  CHECK(took >= 0.475);
  CHECK(took <= 0.525);
}

TEST_CASE("at 10x every message of 10k arrives within 1 ms of its deadline (p99)", "[unit][file][timing]") {
  auto path = write_recording("coreplay-timing-10k.gor", 10000, 1'000'000);  // 10 s at 1 ms
  auto a = replay(path, 10.0);
  std::filesystem::remove(path);
  REQUIRE(a.size() == 10000);
  auto t0 = a.front().second;
  auto ts0 = a.front().first;
  std::vector<double> dev;
  for (auto& [ts, at] : a) {
    auto deadline = t0 + std::chrono::nanoseconds((ts - ts0) / 10);
    dev.push_back(std::abs(std::chrono::duration<double, std::milli>(at - deadline).count()));
  }
  std::sort(dev.begin(), dev.end());
  double p99 = dev[dev.size() * 99 / 100], p50 = dev[dev.size() / 2];
  INFO("p50 " << p50 << " ms, p99 " << p99 << " ms, max " << dev.back() << " ms");
  CHECK(p99 < deadline_slack_ms);
  // No accumulated drift: the last message is on time too.
  CHECK(std::chrono::duration<double>(a.back().second - t0).count() == Approx(0.9999).margin(0.01));
}
