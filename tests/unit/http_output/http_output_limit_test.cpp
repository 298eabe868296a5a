// `--output-http 'URL|50'` end to end: flags through the registry, a recording replayed on
// its schedule, and the times the requests reach the test server.
#include "core/config.hpp"
#include "core/gor_format.hpp"
#include "core/registry.hpp"

#include "support/http_test_server.hpp"

#include <coreplay/pipeline.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace coreplay;
using namespace std::chrono_literals;

TEST_CASE("output-http 'URL|50' never lets more than 50 requests reach the target in any 1 s",
          "[unit][http_output][timing]") {
  // 130 requests 12 ms apart (1.56 s). The sliding window admits the first 50 (0..588 ms),
  // then one per 12 ms from 1008 ms: each one 1 s and 8 ms after the one 50 before it, so
  // loopback jitter cannot make the target see 51 within a second. A fixed window (gor) would
  // let 100 through between 0.5 s and 1.5 s.
  auto path = (std::filesystem::temp_directory_path() / "coreplay-limit-50.gor").string();
  {
    std::ofstream f(path, std::ios::binary);
    std::int64_t ts = 1'700'000'000'000'000'000;
    for (int i = 0; i < 130; ++i, ts += 12'000'000)
      f << "1 " << make_message_id() << " " << ts << " -1\nGET /l/" << i << " HTTP/1.1\r\nHost: h\r\n\r\n"
        << gor_separator;
  }
  asio::io_context io;
  test::http_test_server server(io);
  auto cl = parse_command_line({"coreplay", "--input-file", path, "--output-http", server.url() + "|50"},
                               default_registry());
  default_registry().validate(cl.raw);
  pipeline p(io.get_executor());
  default_registry().build(p, cl.raw);
  bool done = false;
  std::exception_ptr err;
  p.async_run([&](std::exception_ptr e) {
    done = true;
    err = e;
  });
  auto start = std::chrono::steady_clock::now();
  while (!done && std::chrono::steady_clock::now() - start < 10s) io.run_one_for(20ms);
  std::filesystem::remove(path);
  REQUIRE(done);
  REQUIRE_FALSE(err);

  auto& at = server.arrivals;
  INFO("requests that reached the target: " << at.size());
  // 50 in the first window, then about one per 12 ms for the last 0.55 s.
  CHECK(at.size() >= 90);
  CHECK(at.size() <= 100);
  for (std::size_t i = 0; i + 50 < at.size(); ++i) {
    using ms = std::chrono::duration<double, std::milli>;
    INFO("request " << i + 50 << " came " << ms(at[i + 50] - at[i]).count() << " ms after request " << i);
    CHECK(at[i + 50] - at[i] >= 1s);
  }
  const plugin_stats* out = nullptr;
  for (auto* s : p.stats())
    if (s->name().rfind("output-http", 0) == 0) out = s;
  REQUIRE(out);
  CHECK(out->drops + at.size() == 130);  // what the limit held back is counted as dropped
}
