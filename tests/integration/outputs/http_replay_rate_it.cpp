// Load replay acceptance: the coreplay binary replays a recording at |1000% against nginx and
// must hold the recorded rate times ten, which --stats reports as the HTTP output's rate.
#include "core/gor_format.hpp"

#include "support/nginx_process.hpp"

#include <coreplay/message.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

using namespace coreplay;

namespace {

std::string write_recording(const std::string& name, int count, std::int64_t gap_ns) {
  auto path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream f(path, std::ios::binary);
  std::int64_t ts = 1'700'000'000'000'000'000;
  for (int i = 0; i < count; ++i, ts += gap_ns)
    f << "1 " << make_message_id() << " " << ts << " -1\nGET /r/" << i
      << " HTTP/1.1\r\nHost: recorded.example\r\nUser-Agent: rec\r\n\r\n" << gor_separator;
  return path;
}

// Runs the command, returns what it wrote on stdout and stderr.
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  std::array<char, 4096> buf;
  while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  CHECK(pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE("replay at |1000% holds 10x the recorded rate against nginx, and --stats says so",
          "[integration][http_output][timing]") {
  test::nginx_process nginx("    keepalive_requests 100000;\n    location / { return 200 \"ok\"; }");
  // 2000 requests 5 ms apart: 10 s recorded, 200 req/s; at 10x, 1 s at 2000 req/s.
  constexpr int count = 2000;
  constexpr double target_rate = 2000.0;
  auto path = write_recording("coreplay-rate-2000.gor", count, 5'000'000);
  auto out = run(std::string(COREPLAY_BINARY) + " --input-file '" + path + "|1000%' --output-http " + nginx.url() +
                 " --stats --stats-interval 10s");
  std::filesystem::remove(path);
  INFO(out);

  // The summary's line for the HTTP output: every request answered, none dropped, and its rate.
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("\n  output-http\\([^)]*\\): msgs=([0-9]+) [^\n]*")));
  const std::string line = m[0];
  CHECK(std::stoi(m[1]) == count);
  CHECK_THAT(line, Catch::Contains("drops=0"));
  CHECK_THAT(line, Catch::Contains("status_2xx=" + std::to_string(count)));
  CHECK_THAT(line, !Catch::Contains("errors="));
  REQUIRE(std::regex_search(line, m, std::regex(" rate=([0-9.]+)/s")));
  const double rate = std::stod(m[1]);
  CHECK(rate == Approx(target_rate).epsilon(0.02));
  // The same figure as a duration: the 1999 gaps between the first and the last request
  // took 999.5 ms at 10x.
  const double took_s = (count - 1) / rate;
  CHECK(took_s == Approx(0.9995).epsilon(0.02));
}
