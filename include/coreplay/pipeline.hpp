// A pipeline runs sources and sinks as one structured task group on an executor:
//   co_await pipeline.async_run(asio::use_awaitable);
// Every task it starts ends before it completes; the first failure surfaces with its plugin.
#pragma once

#include <coreplay/plugin.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coreplay {

// gor's `addr|N` (at most N messages a second) and `addr|N%` (sampling, or a speed factor for
// file and Kafka inputs).
struct rate_limit {
  enum class kind { none, per_second, percent };
  kind mode = kind::none;
  double value = 0;

  bool is_none() const noexcept { return mode == kind::none; }
  // "10" or "10%"; throws std::invalid_argument for anything else.
  static rate_limit parse(std::string_view text);
};

// Splits "address|limit" (only the first '|' counts, as gor).
std::pair<std::string, rate_limit> split_address_limit(std::string_view value);

struct pipeline_options {
  // Each request goes to one sink, round robin; its responses follow it.
  bool split_output = false;
  // With split_output: the sink is chosen by a hash of the session (id prefix), not round robin.
  bool recognize_tcp_sessions = false;
  // Larger payloads are truncated (gor's --copy-buffer-size); counted.
  std::size_t copy_buffer_size = 5u << 20;
  // After stop(): how long sinks may take to drain before everything is cancelled.
  std::chrono::nanoseconds drain_timeout = std::chrono::seconds(10);
  // Default capacity of each sink's channel and of the shared ingress channel.
  std::size_t queue_capacity = 1024;
  // Messages an output may push back (replayed responses) before they are dropped and counted.
  std::size_t feedback_capacity = 100000;
  // With a stage (middleware): once the inputs are done, the stage's input is closed after
  // everything has settled and the stage has been silent this long.
  std::chrono::nanoseconds stage_quiet_period = std::chrono::milliseconds(100);
};

// The first failure of a pipeline, naming the plugin it came from.
class plugin_error : public std::runtime_error {
 public:
  plugin_error(std::string plugin, const std::string& what)
      : std::runtime_error(plugin + ": " + what), plugin_(std::move(plugin)) {}
  const std::string& plugin() const noexcept { return plugin_; }

 private:
  std::string plugin_;
};

class pipeline {
 public:
  explicit pipeline(asio::any_io_executor ex, pipeline_options options = {});
  ~pipeline();
  pipeline(const pipeline&) = delete;
  pipeline& operator=(const pipeline&) = delete;

  // Add plugins before async_run. The name appears in stats and errors.
  plugin_stats& add_source(std::string name, std::unique_ptr<source> s, rate_limit limit = {});
  plugin_stats& add_sink(std::string name, std::unique_ptr<sink> s, rate_limit limit = {},
                         std::size_t queue_capacity = 0);
  // Filters run in the order added, on every message between sources and sinks.
  void add_filter(std::unique_ptr<message_filter> f);
  // A stage between the sources and the filters: every message, including the responses that
  // outputs push back, goes through it; what it sends continues to the filters and sinks.
  void set_stage(std::string name, std::unique_ptr<message_stage> s);

  // Runs until every source is done and every sink has drained, or stop()/abort(), or a failure.
  // Completes with nullptr, or the first failure (a plugin_error). Cancelling the operation
  // through its bound slot stops the pipeline (terminal cancellation aborts it).
  template <typename CompletionToken>
  auto async_run(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::exception_ptr)>(
        [this](auto handler) {
          start(asio::any_completion_handler<void(std::exception_ptr)>(std::move(handler)));
        },
        token);
  }

  // Graceful: sources stop, everything accepted drains to the sinks, sinks flush.
  void stop();
  // Terminal: cancel every task now (sinks still close their files).
  void abort();
  bool stopping() const noexcept;

  // Every plugin's counters, sources first, then sinks, then the pipeline's own ("emitter").
  std::vector<const plugin_stats*> stats() const;

  struct impl;  // implementation detail (src/core/pipeline.cpp)

 private:
  void start(asio::any_completion_handler<void(std::exception_ptr)> handler);
  std::unique_ptr<impl> impl_;
};

}  // namespace coreplay
