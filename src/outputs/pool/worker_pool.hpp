// The worker model gor's --output-tcp and --output-ws share: `workers` connections to one target,
// each with a bounded buffer; a message goes to worker FNV-1a-32(id) % workers with `sticky`, else
// round robin starting at index 1 (skipping full buffers while another has room).
//
// run_worker_pool() does the queueing, lazy connects, reconnect backoff, failure reports (one
// line, then at most one a minute, one when it recovers), at-least-once resend of a failed
// batch, the drain bounded by `end_timeout` (what is left is counted as `not_delivered` drops),
// the `detail` text and gor's stats line. A transport only dials a connection and writes
// batches on it (tcp_output.cpp: record + separator over TCP/TLS; ws_output.cpp: one WebSocket
// frame per record). The behaviour is documented in tcp_output.hpp.
// Runs on the pipeline's executor, which must be single-threaded.
#pragma once

#include <coreplay/plugin.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay {

// gor's worker choice for sticky outputs.
constexpr std::uint32_t gor_fnv32a(std::string_view s) noexcept {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

struct worker_pool_options {
  std::string name;         // for log lines, e.g. "output-tcp(host:port)"
  std::string stats_label;  // gor's stats line prefix, e.g. "output_tcp"
  bool sticky = false;
  std::int64_t workers = 10;
  bool stats = false;
  std::int64_t worker_buffer = 100;
  std::chrono::nanoseconds backoff_min{std::chrono::milliseconds(100)};
  std::chrono::nanoseconds backoff_max{std::chrono::seconds(1)};
  std::chrono::nanoseconds stats_period{std::chrono::seconds(5)};
  std::chrono::nanoseconds end_timeout{std::chrono::seconds(10)};
};

// The pool's settings from an output's options: the TCP and WebSocket outputs name them alike.
template <class OutputOptions>
worker_pool_options pool_options(const OutputOptions& o, std::string name, std::string stats_label) {
  worker_pool_options p;
  p.name = std::move(name);
  p.stats_label = std::move(stats_label);
  p.sticky = o.sticky;
  p.workers = o.workers;
  p.stats = o.stats;
  p.worker_buffer = o.worker_buffer;
  p.backoff_min = o.backoff_min;
  p.backoff_max = o.backoff_max;
  p.stats_period = o.stats_period;
  p.end_timeout = o.end_timeout;
  return p;
}

// One established connection of a pool worker.
class pool_connection {
 public:
  virtual ~pool_connection() = default;
  // Writes every message of `batch` (the buffers point into the messages); an error ends the
  // connection and the batch goes out again on the next one.
  virtual asio::awaitable<boost::system::error_code> write(const std::vector<message_ptr>& batch) = 0;
  // True once the peer closed the connection (noticed by a read that can only end).
  virtual bool broken() const = 0;
  // Ends it politely (TCP: shutdown of the send side; WebSocket: close frame), then close().
  virtual asio::awaitable<void> finish() = 0;
  // Ends it at once; pending operations fail.
  virtual void close() = 0;
};

class pool_transport {
 public:
  virtual ~pool_transport() = default;
  // A ready connection, or nullptr with the reason in `why` (e.g. "cannot connect: ...").
  virtual asio::awaitable<std::shared_ptr<pool_connection>> dial(std::string& why) = 0;
};

// An error's text; for TLS errors OpenSSL's reason (e.g. "certificate verify failed").
std::string describe_error(const boost::system::error_code& ec);

// A TLS client context for a pool's connections: the system's trust store and peer
// verification, or no verification with `skip_verify`.
void configure_client_tls(boost::asio::ssl::context& ctx, bool skip_verify);
// Whether `host` is an IP address (then no SNI is sent).
bool is_ip_literal(const std::string& host);

// Runs until the end of `in`, then drains. Counters: sent, connects, errors_connect,
// errors_write, not_delivered.
asio::awaitable<void> run_worker_pool(message_reader in, std::shared_ptr<pool_transport> transport,
                                      worker_pool_options options);

}  // namespace coreplay
