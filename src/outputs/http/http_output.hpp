// --output-http: replays recorded requests to an HTTP(S) target through a pool of keep-alive
// connections, sending each request as recorded (only Host, and the target when the URL has a
// path, change), and optionally emits the replayed responses (type 3) to the other outputs.
//
// What goes out: the recorded bytes up to the end of the first request in the payload (framed
// by Content-Length or chunked; bytes after it are not sent). Header order, case, duplicates and
// body are untouched. Host values become the URL's host[:port] unless original_host (a missing
// Host is added). A URL with a path or query replaces every request-target (gor #862); else an
// absolute-form target goes out in origin form. With a path, URL userinfo becomes a Basic
// Authorization header when the request has none (as gor). Requests whose framing is broken or
// that are not HTTP/1.x count as errors_request; CONNECT counts as skipped_connect.
//
// Where gor differs, on purpose: responses are read whole so connections are reused (gor closes
// them); type-3 payloads are the response bytes as received, the body cut at response_buffer
// (gor re-serializes with Go's header formatting and de-chunking); workers = 0 means at most
// max_workers_cap, not unbounded; timeouts below 100 ms are honoured (gor makes them 1 s);
// Elasticsearch export pairs each request with its replayed response itself (gor exports only
// with --output-http-track-response) and batches through the bulk API.
// Keep-alive connections closed by the server: one idle for over 100 ms is checked (a
// non-blocking peek) before reuse and replaced if closed (`reconnects_idle`); an idempotent
// request (GET, HEAD, OPTIONS, TRACE, PUT, DELETE) whose reused connection fails before any
// response byte is sent once more on a new connection (`retries`); others count as errors.
//
// Counters (plugin_stats): sent, status_2xx/3xx/4xx/5xx/other, errors_connect, errors_timeout,
// errors_reset, errors_tls, errors_parse (response), errors_request, skipped_connect, retries,
// reconnects_idle, redirects, connections, abandoned (and es_* with Elasticsearch export:
// elasticsearch_export.hpp); `detail` gives workers, idle, queued, the achieved request rate
// (rate=N/s: requests sent per second between the first and the last one sent) and latency
// percentiles. With stats (--output-http-stats), gor's `output_http:` line is also logged.
//
// Runs on the pipeline's executor, which must be single-threaded (as the pipeline itself).
#pragma once

#include "core/options.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace coreplay {

struct http_output_options {
  // Workers (one connection each) kept even when idle; 0 means 1.
  std::int64_t workers_min = 0;
  // Most concurrent requests; 0 means unbounded, which coreplay caps at max_workers_cap.
  std::int64_t workers = 0;
  // Requests taken from the pipeline and waiting for a worker; when full, the output stops
  // receiving, which is back-pressure on the inputs.
  std::int64_t queue_len = 1000;
  // An extra worker (above workers_min) idle this long closes its connection and stops.
  std::chrono::nanoseconds worker_timeout{std::chrono::seconds(2)};
  // Time limit for one whole exchange: connect, TLS, send, response, redirects. 0 means 5s.
  std::chrono::nanoseconds timeout{std::chrono::seconds(5)};
  // Redirects to follow; 0 returns the 3xx as is.
  std::int64_t redirects = 0;
  bool skip_verify = false;
  bool track_response = false;
  // Bytes of each response body kept in the type-3 message (headers are always kept whole).
  // The whole response is always read, so the connection stays usable.
  byte_size response_buffer{100u << 10};
  // gor's `output_http:latest,mean,max,count,count/second,workers` queue line, logged every
  // stats_ms (at least 100 ms; gor panics below 1000). The full counters are in --stats.
  bool stats = false;
  std::int64_t stats_ms = 5000;
  // Keep each request's Host header instead of setting the target's.
  bool original_host = false;
  // --output-http-elasticsearch: gor's document for every replayed request/response pair goes
  // to this index (`http://host:9200/index`; elasticsearch_document.hpp). The output pairs each
  // request with its own response, so, unlike gor, this needs no --output-http-track-response.
  std::string elasticsearch;
  // A bulk request goes out at this many documents, or this long after the first one waited.
  std::int64_t elasticsearch_batch_docs = 100;
  std::chrono::nanoseconds elasticsearch_flush{std::chrono::seconds(1)};
};

// gor's flag names for the options above.
option_group<http_output_options> http_output_option_group();

class registry;
struct http_output_live;
// Adds --output-http and its options to `r`.
void add_http_output(registry& r);

class http_output : public sink {
 public:
  // Without `workers`, at most this many connections per output.
  static constexpr std::int64_t max_workers_cap = 1000;

  // Throws std::invalid_argument for a URL it cannot use.
  http_output(std::string url, http_output_options options);
  ~http_output() override;

  asio::awaitable<void> run(message_reader in) override;
  bool accepts(const message& m) const override { return m.is_request(); }
  bool produces_feedback() const override { return options_.track_response; }
  // True when no request is queued in the output or waiting for its response.
  bool idle() const override;

  struct pool;  // implementation detail (http_output.cpp)

 private:
  std::string url_;
  http_output_options options_;
  // Counters that outlive run(), shared with the --stats detail.
  std::shared_ptr<struct http_output_live> live_;
};

}  // namespace coreplay
