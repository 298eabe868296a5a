// --output-http-elasticsearch: the HTTP output hands every replayed request/response pair to
// this exporter, which sends gor's documents (elasticsearch_document.hpp) to Elasticsearch's
// bulk API (`POST /_bulk`, NDJSON) over one keep-alive connection of its own. A request that
// got no response (connection error, timeout) makes no document, as in gor. Documents carry no
// `_type` (gor's elastigo sent "RequestResponse"; Elasticsearch 8 rejects types).
//
// Batches: a bulk request carries at most batch_docs documents; it goes out when that many
// wait, or flush_interval after the first of them arrived, and at the end of the stream for
// what is left. One request is
// in flight at a time; documents keep collecting meanwhile, up to max_pending_docs, past
// which they are dropped and counted (a slow Elasticsearch never slows the replay).
// Failures (connection, timeout, a non-2xx answer, items Elasticsearch rejected) are counted
// and logged at --verbose 1; they never stop the replay. A request whose reused connection
// fails before any answer is sent once more on a new connection.
//
// Counters, in the HTTP output's plugin_stats: es_docs (documents made), es_indexed
// (accepted by Elasticsearch), es_errors (documents lost to a failure), es_dropped (over
// max_pending_docs, or left at cancellation), es_requests (bulk requests sent).
//
// Runs on the output's executor, which must be single-threaded.
#pragma once

#include "outputs/http/elasticsearch_document.hpp"

#include <coreplay/plugin.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

namespace coreplay {

struct elasticsearch_export_options {
  std::int64_t batch_docs = 100;
  std::chrono::nanoseconds flush_interval{std::chrono::seconds(1)};
  // Time limit for one bulk request: connect, TLS, send, answer.
  std::chrono::nanoseconds timeout{std::chrono::seconds(5)};
  std::int64_t max_pending_docs = 10000;
  bool skip_verify = false;
};

class elasticsearch_exporter {
 public:
  elasticsearch_exporter(const asio::any_io_executor& ex, http_replay::elasticsearch_target target,
                         elasticsearch_export_options options, plugin_stats& stats);
  ~elasticsearch_exporter();
  elasticsearch_exporter(const elasticsearch_exporter&) = delete;
  elasticsearch_exporter& operator=(const elasticsearch_exporter&) = delete;

  // Queues the document for one pair; never suspends. `response` needs only its head.
  void add(std::string_view request, std::string_view response, std::chrono::nanoseconds rtt,
           std::int64_t at_unix_ns);
  // Sends batches until close() (then what is pending goes out first) or abort().
  asio::awaitable<void> run();
  // End of stream: run() sends what is pending and returns.
  void close();
  // Cancellation: run() returns promptly; what is pending or in flight counts as dropped.
  void abort();

  const http_replay::elasticsearch_target& target() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace coreplay
