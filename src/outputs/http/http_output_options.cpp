#include "outputs/http/http_output.hpp"

#include "core/registry.hpp"

namespace coreplay {

option_group<http_output_options> http_output_option_group() {
  option_group<http_output_options> g("HTTP output");
  using o = http_output_options;
  g.add("output-http-workers-min", &o::workers_min, "Minimum concurrent requests (connections) per output; 0 means 1")
      .add("output-http-workers", &o::workers,
           "Maximum concurrent requests per output (0: unbounded, capped at 1000 in coreplay)")
      .add("output-http-queue-len", &o::queue_len, "Requests queued per output before back-pressure")
      .add("output-http-worker-timeout", &o::worker_timeout, "Idle time before an extra worker stops")
      .add("output-http-timeout", &o::timeout, "Time limit for one whole exchange, redirects included")
      .add("output-http-redirects", &o::redirects, "Redirects to follow (0: the 3xx is the response)")
      .add("output-http-skip-verify", &o::skip_verify, "Do not verify TLS certificates")
      .add("output-http-track-response", &o::track_response,
           "Emit the replayed responses (type 3) to the other outputs")
      .add("output-http-response-buffer", &o::response_buffer,
           "Bytes of each response body kept in type-3 messages (responses are always read whole)")
      .add("output-http-stats", &o::stats, "Log gor's output_http queue line (latest,mean,max,count,count/second,workers) every --output-http-stats-ms")
      .add("output-http-stats-ms", &o::stats_ms, "HTTP output report period in milliseconds")
      .add("http-original-host", &o::original_host, "Keep the captured Host header")
      .add("output-http-elasticsearch", &o::elasticsearch,
           "Export each replayed request/response pair to Elasticsearch: http://[user:pass@]host:9200/[path/]index")
      .add("output-http-elasticsearch-batch", &o::elasticsearch_batch_docs,
           "Documents per Elasticsearch bulk request (coreplay)")
      .add("output-http-elasticsearch-flush", &o::elasticsearch_flush,
           "Longest wait before a partial Elasticsearch batch is sent (coreplay)");
  return g;
}

void add_http_output(registry& r) {
  r.add_output("output-http", "Replay requests to this URL ('http://staging|10' limits to 10 req/s)",
               http_output_option_group(),
               [](const std::string& url, const http_output_options& o, rate_limit&, std::size_t&) {
                 return std::make_unique<http_output>(url, o);
               });
}

}  // namespace coreplay
