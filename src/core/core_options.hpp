// Process-wide and emitter options (gor's general flags).
#pragma once

#include "core/options.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace coreplay {

struct core_options {
  bool stats = false;
  std::chrono::nanoseconds stats_interval{std::chrono::seconds(5)};
  std::int64_t verbose = 0;
  std::chrono::nanoseconds exit_after{0};
  bool split_output = false;
  bool recognize_tcp_sessions = false;
  byte_size copy_buffer_size{5u << 20};
  std::chrono::nanoseconds drain_timeout{std::chrono::seconds(10)};
  std::string http_pprof;  // --http-pprof: serve the counters over HTTP (core/metrics_server.hpp)
};

option_group<core_options> core_option_group();

}  // namespace coreplay
