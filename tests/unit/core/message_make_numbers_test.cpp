#include <coreplay/message.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using namespace coreplay;

// make() writes timestamps and latencies with its own digit conversion: every magnitude must
// come out as std::to_string writes it, and read back the same.
TEST_CASE("message: make writes every timestamp and latency magnitude exactly", "[unit][core]") {
  std::vector<std::int64_t> values = {0, 1, 9, 10, 99, 100, 99'999'999, 100'000'000, 100'000'001,
                                      9'999'999'999'999'999, 10'000'000'000'000'000, 1'700'000'000'123'456'789,
                                      std::numeric_limits<std::int64_t>::max(), -1, -100'000'000,
                                      std::numeric_limits<std::int64_t>::min()};
  std::mt19937_64 rng(3);
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<std::int64_t>(rng() >> (rng() % 64)));
  for (auto ts : values) {
    for (auto lat : {std::optional<std::int64_t>{}, std::optional<std::int64_t>{ts}}) {
      auto m = message::make(message_type::response, "0123456789abcdef01234567", ts, lat, "HTTP/1.1 200 OK\r\n\r\n");
      INFO(ts);
      CHECK(m->meta() == "2 0123456789abcdef01234567 " + std::to_string(ts) + " " + std::to_string(lat.value_or(-1)));
      CHECK(m->timestamp_ns() == ts);
      CHECK(m->latency_ns() == lat);
      auto back = message::parse(std::string(m->record()));
      REQUIRE(back);
      CHECK(back->timestamp_ns() == ts);
      CHECK(back->latency_ns() == lat.value_or(-1));
    }
  }
}
