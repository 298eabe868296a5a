// --output-tcp: sends messages to another coreplay or gor instance (--input-tcp) as gor's
// record stream: meta + payload + "\n🐵🙈🙉\n" per message, over plain TCP or TLS.
//
// As gor: `workers` connections, each with a buffer of `worker_buffer` messages (100); a
// message goes to worker FNV-1a-32(id) % workers with `sticky`, else round robin starting at
// index 1; only requests and original responses (types 1 and 2) are sent, replayed responses
// (type 3) are never queued for this output. A worker that cannot connect retries for ever.
//
// Where coreplay differs, on purpose:
//  - workers = 0 is an option error (gor divides by zero).
//  - Round robin skips a worker whose buffer is full (one that is down) when another has room;
//    only when every buffer is full does the output stop taking messages (back-pressure).
//  - Failures are reported: the first failure to connect is one error line naming the output
//    (then one line a minute while it lasts, and one when it recovers), counted in
//    `errors_connect`, `errors_write`, `errors`.
//  - A worker connects when it first has a message to send (gor dials all at start).
//  - Reconnects back off from 100 ms to 1 s (gor: 1 s). An idle connection closed by the peer
//    is noticed at once (a read that can only end), not at the next write.
//  - Messages whose write failed go out again on the next connection, first and in order
//    (gor re-queues one message at the back): delivery is at least once; a record the peer had
//    already received before the failure may arrive twice.
//  - At the end of the stream everything queued is written before run() returns, within
//    --drain-timeout (10 s); when that runs out, or the pipeline's own drain deadline cancels the
//    output (e.g. the target is unreachable), what is left is counted as drops
//    (`not_delivered`) with one line naming the output, never lost silently. gor instead
//    retries for ever and never exits.
//
// Counters: sent, connects, errors_connect, errors_write, not_delivered; `detail` gives the
// connected workers and queued messages. With `stats` (--output-tcp-stats, printed with --stats)
// gor's `output_tcp:latest,mean,max,count,count/second,gcount` line every 5 s.
// The worker model lives in outputs/pool/worker_pool (shared with --output-ws).
// Runs on the pipeline's executor, which must be single-threaded.
#pragma once

#include "core/options.hpp"
#include "outputs/pool/worker_pool.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace coreplay {

struct tcp_output_options {
  bool secure = false;       // --output-tcp-secure: TLS
  bool skip_verify = false;  // --output-tcp-skip-verify
  bool sticky = false;       // --output-tcp-sticky: an id stays on one connection
  std::int64_t workers = 10; // --output-tcp-workers
  bool stats = false;        // --output-tcp-stats (printed only with --stats)
  std::int64_t worker_buffer = 100;
  std::chrono::nanoseconds connect_timeout{std::chrono::seconds(5)};  // dial + TLS handshake
  std::chrono::nanoseconds backoff_min{std::chrono::milliseconds(100)};
  std::chrono::nanoseconds backoff_max{std::chrono::seconds(1)};
  std::chrono::nanoseconds stats_period{std::chrono::seconds(5)};
  // After the end of the stream, how long the workers may take to deliver what is queued
  // (--drain-timeout); what is left then is counted as not delivered.
  std::chrono::nanoseconds end_timeout{std::chrono::seconds(10)};
};

option_group<tcp_output_options> tcp_output_option_group();

class registry;
// Adds --output-tcp and its options to `r`.
void add_tcp_output(registry& r);

class tcp_output final : public sink {
 public:
  // Throws option_error for a bad address ("host:port") or workers < 1.
  tcp_output(std::string address, tcp_output_options options);
  ~tcp_output() override;

  asio::awaitable<void> run(message_reader in) override;
  bool accepts(const message& m) const override {
    return m.type() == message_type::request || m.type() == message_type::response;
  }

 private:
  std::string host_;
  std::string port_;
  std::string address_;
  tcp_output_options options_;
};

}  // namespace coreplay
