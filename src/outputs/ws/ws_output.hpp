// --output-ws: sends messages to a WebSocket server, one binary frame per message holding the
// record (meta + payload, no separator), over ws:// or wss:// (TLS).
//
// As gor: the URL's userinfo becomes "Authorization: Basic base64(userinfo)" on the handshake,
// and the header is sent even without userinfo ("Basic "); only requests and original
// responses (types 1 and 2) are sent; `workers` connections (10) with gor's worker choice
// (FNV-1a-32(id) % workers with `sticky`, else round robin from index 1), exactly as
// --output-tcp. The worker model, its differences from gor (reported failures, backoff, lazy
// connect, at-least-once resend, bounded drain with `not_delivered`) and the counters are
// those of --output-tcp: see tcp_output.hpp and outputs/pool/worker_pool.hpp.
//
// Differences from gor, on purpose: the stats line is gor's "output_ws:..." and is printed
// only with --output-ws-stats (gor's write path checks --output-tcp-stats and crashes when only
// that one is set); workers = 0 is an option error. A port missing from the URL is 80 (ws) or
// 443 (wss), as gor's dialer; the handshake's Host header is the URL's host[:port].
// Runs on the pipeline's executor, which must be single-threaded.
#pragma once

#include "core/options.hpp"
#include "outputs/pool/worker_pool.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace coreplay {

struct ws_output_options {
  bool skip_verify = false;   // --output-ws-skip-verify
  bool sticky = false;        // --output-ws-sticky
  std::int64_t workers = 10;  // --output-ws-workers
  bool stats = false;         // --output-ws-stats (printed only with --stats)
  std::int64_t worker_buffer = 100;
  std::chrono::nanoseconds connect_timeout{std::chrono::seconds(5)};  // dial + TLS + WebSocket handshake
  std::chrono::nanoseconds backoff_min{std::chrono::milliseconds(100)};
  std::chrono::nanoseconds backoff_max{std::chrono::seconds(1)};
  std::chrono::nanoseconds stats_period{std::chrono::seconds(5)};
  std::chrono::nanoseconds end_timeout{std::chrono::seconds(10)};  // --drain-timeout
};

option_group<ws_output_options> ws_output_option_group();

class registry;
// Adds --output-ws and its options to `r`.
void add_ws_output(registry& r);

// A ws:// or wss:// URL taken apart.
struct ws_url {
  bool secure = false;
  std::string userinfo;  // as written, before the '@'
  std::string host;      // without brackets
  std::string port;      // 80 / 443 when the URL has none
  std::string host_header;  // host[:port] as written (brackets kept)
  std::string target;       // path (at least "/") and query
};
// Throws option_error naming --output-ws for anything else.
ws_url parse_ws_url(const std::string& url);
// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view in);

class ws_output final : public sink {
 public:
  // Throws option_error for a bad URL or workers < 1.
  ws_output(std::string url, ws_output_options options);
  ~ws_output() override;

  asio::awaitable<void> run(message_reader in) override;
  bool accepts(const message& m) const override {
    return m.type() == message_type::request || m.type() == message_type::response;
  }

 private:
  std::string url_;      // as given
  std::string display_;  // the URL without its userinfo, for log lines
  ws_url parsed_;
  ws_output_options options_;
};

}  // namespace coreplay
