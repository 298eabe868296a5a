// The plugin contract: a source is a coroutine that pushes messages, a sink a coroutine that
// drains them. The pipeline (pipeline.hpp) wires them with bounded channels.
#pragma once

#include <coreplay/message.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace coreplay {

namespace asio = boost::asio;

namespace detail {
struct source_port;
struct sink_port;
}  // namespace detail

// Counters every plugin has, plus named ones it adds. Atomic so capture threads and the
// stats printer may touch them; relaxed increments cost next to nothing.
class plugin_stats {
 public:
  explicit plugin_stats(std::string name) : name_(std::move(name)) {}
  plugin_stats(const plugin_stats&) = delete;
  plugin_stats& operator=(const plugin_stats&) = delete;

  const std::string& name() const noexcept { return name_; }

  std::atomic<std::uint64_t> messages{0};  // messages produced (source) or taken (sink)
  std::atomic<std::uint64_t> bytes{0};     // their record bytes
  std::atomic<std::uint64_t> drops{0};     // lost on purpose and counted: full queue, limit, bad input
  std::atomic<std::uint64_t> errors{0};    // failures the plugin survived

  // A named counter (e.g. "packets", "status_2xx"); the reference stays valid for the
  // lifetime of this object. Create counters before the hot path, then keep the reference.
  std::atomic<std::uint64_t>& counter(std::string_view key);
  std::vector<std::pair<std::string, std::uint64_t>> counters() const;

  // Queue depth of the plugin's channel; set by the pipeline.
  std::function<std::size_t()> queue_depth;
  // Plugin-specific text for the --stats line (e.g. latency percentiles, replay lag).
  std::function<std::string()> detail;

 private:
  std::string name_;
  mutable std::mutex mu_;
  std::deque<std::pair<std::string, std::atomic<std::uint64_t>>> named_;
};

// Handed to a source: where its messages go.
class message_writer {
 public:
  explicit message_writer(detail::source_port* port) noexcept : port_(port) {}

  // Suspends while the pipeline is full: back-pressure lands here. Messages over the
  // input's rate limit are dropped and counted, never delayed.
  asio::awaitable<void> send(message_ptr m);
  // send() without suspending, for sources that push many messages in a row:
  //   if (!out.offer(m)) co_await out.send(std::move(m));
  // True when m was queued (or dropped by the rate limit); false when the pipeline is full,
  // then m is left untouched.
  bool offer(message_ptr& m);
  // For sources that cannot pause (a live capture): returns false and counts a drop when full.
  bool try_send(message_ptr m);

  plugin_stats& stats() const noexcept;
  asio::any_io_executor get_executor() const;

 private:
  bool offer_impl(message_ptr& m, bool wait_for_direct);
  static detail::sink_port* direct_when_room(detail::source_port& p, const message& m);
  detail::source_port* port_;
};

// Handed to an output that also produces messages (e.g. replayed responses). Never blocks:
// the way back is elastic up to a cap, past which messages are dropped and counted.
class feedback_writer {
 public:
  explicit feedback_writer(detail::sink_port* port) noexcept : port_(port) {}
  void push(message_ptr m);
  explicit operator bool() const noexcept { return port_ != nullptr; }

 private:
  detail::sink_port* port_;
};

// Handed to a sink: where its messages come from.
class message_reader {
 public:
  explicit message_reader(detail::sink_port* port) noexcept : port_(port) {}

  // The next message; nullptr once the pipeline has ended this sink's stream.
  asio::awaitable<message_ptr> receive();
  // Without suspending: true when a message (or the end, out == nullptr) was available.
  // Lets a sink batch what is queued and flush when it has caught up.
  bool try_receive(message_ptr& out);

  plugin_stats& stats() const noexcept;
  asio::any_io_executor get_executor() const;
  feedback_writer feedback() const noexcept;

 private:
  detail::sink_port* port_;
};

// An input: pushes messages until it is done (returns) or cancelled.
class source {
 public:
  virtual ~source() = default;
  virtual asio::awaitable<void> run(message_writer out) = 0;
};

// An output: drains its reader until receive() returns nullptr, then flushes and returns.
class sink {
 public:
  virtual ~sink() = default;
  virtual asio::awaitable<void> run(message_reader in) = 0;
  // Messages this sink does not take are never queued for it (an HTTP target takes requests).
  virtual bool accepts(const message&) const { return true; }
  // True when the sink pushes messages back through in.feedback() (response tracking).
  virtual bool produces_feedback() const { return false; }
  // False while the sink still has work in flight that may produce feedback.
  virtual bool idle() const { return true; }
};

// A transforming stage between the sources and the sinks (gor's --middleware): it receives
// every message and sends back what continues, in any order, until `in` ends.
class message_stage {
 public:
  virtual ~message_stage() = default;
  virtual asio::awaitable<void> run(message_reader in, message_writer out) = 0;
};

// Transforms or filters messages between sources and sinks (modifiers, prettify...).
// Returns the message (maybe a new one) or nullptr to drop it.
class message_filter {
 public:
  virtual ~message_filter() = default;
  virtual message_ptr apply(message_ptr m) = 0;
};

}  // namespace coreplay
