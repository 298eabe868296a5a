// --http-pprof ADDR: the running process's counters over HTTP, where gor serves Go's expvar and
// pprof. GET /debug/vars answers a JSON object with one member per plugin (its messages, bytes,
// drops, errors, queue depth and named counters), GET /metrics the same in Prometheus' text
// format. Go's /debug/pprof profiles have no counterpart here (perf does that job): 404.
#pragma once

#include <coreplay/plugin.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace coreplay {

namespace asio = boost::asio;

using stats_source = std::function<std::vector<const plugin_stats*>()>;

// The two documents, for the server and for tests.
std::string stats_json(const std::vector<const plugin_stats*>& stats, std::chrono::steady_clock::duration uptime);
std::string stats_prometheus(const std::vector<const plugin_stats*>& stats,
                             std::chrono::steady_clock::duration uptime);

class metrics_server {
 public:
  // Binds `address` (":8181", "127.0.0.1:8181", "[::1]:8181"; port 0 picks one) at once, so a
  // bad or busy address fails the start with std::runtime_error naming it.
  metrics_server(asio::any_io_executor ex, const std::string& address, stats_source stats);
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  std::uint16_t port() const noexcept;
  // Accepts and answers until stop(), which also closes open keep-alive connections (so
  // io_context::run() can return).
  void start();
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace coreplay
