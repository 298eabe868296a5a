// Every plugin of this build, and every gor flag: one explicit list.
#include "core/registry.hpp"

#include "core/core_options.hpp"
#include "core/http/http_modifier.hpp"
#include "core/http/http_prettifier.hpp"
#include "core/middleware.hpp"
#include "inputs/dummy/dummy_input.hpp"
#include "inputs/file/file_input.hpp"
#include "inputs/http/http_input.hpp"
#include "inputs/kafka/kafka_input.hpp"
#include "inputs/raw/raw_input.hpp"
#include "inputs/tcp/tcp_input.hpp"
#include "outputs/file/file_output.hpp"
#include "outputs/http/http_output.hpp"
#include "outputs/kafka/kafka_output.hpp"
#include "outputs/stdout/stdout_output.hpp"
#include "outputs/tcp/tcp_output.hpp"
#include "outputs/ws/ws_output.hpp"

namespace coreplay {

option_group<core_options> core_option_group() {
  option_group<core_options> g("Process and emitter");
  g.add("stats", &core_options::stats, "Print per-plugin counters periodically and a summary at exit")
      .add("stats-interval", &core_options::stats_interval, "How often --stats prints (coreplay)")
      .add("verbose", &core_options::verbose, "Log level: 1 errors and info, 2 more, 3 per-message traces")
      .add("exit-after", &core_options::exit_after, "Stop cleanly after this long (0: never)")
      .add("split-output", &core_options::split_output,
           "Send each request to one output, round robin, instead of to all; its responses follow it")
      .add("recognize-tcp-sessions", &core_options::recognize_tcp_sessions,
           "With --split-output, keep each TCP session on one output")
      .add("copy-buffer-size", &core_options::copy_buffer_size, "Larger payloads are truncated (counted)")
      .add("drain-timeout", &core_options::drain_timeout,
           "On stop, how long outputs may take to drain before everything is cancelled (coreplay)")
      .add("http-pprof", &core_options::http_pprof,
           "Serve the counters on this address: /debug/vars (JSON) and /metrics (Prometheus)");
  return g;
}

namespace {

struct stage_options {
  std::string middleware;
  bool prettify_http = false;
};

option_group<stage_options> stage_option_group() {
  option_group<stage_options> g("Process and emitter");
  g.add("middleware", &stage_options::middleware,
        "Command that receives every message and writes back what continues (gor's hex line protocol)")
      .add("prettify-http", &stage_options::prettify_http, "De-chunk and gunzip HTTP bodies, fixing Content-Length");
  return g;
}

option_group<http::http_modifier_options> modifier_option_group() {
  using o = http::http_modifier_options;
  option_group<o> g("HTTP modifiers");
  g.add("http-allow-method", &o::allow_method, "Only these methods pass (e.g. GET)")
      .add("http-set-header", &o::set_header, "Set a header: 'Name: value'")
      .add("http-set-param", &o::set_param, "Set a query parameter: name=value")
      .add("http-allow-url", &o::allow_url, "Only requests whose path+query match this regex pass")
      .add("http-disallow-url", &o::disallow_url, "Requests whose path+query match this regex are dropped")
      .add("http-allow-header", &o::allow_header, "Only requests whose header matches pass: 'Name: regex'")
      .add("http-disallow-header", &o::disallow_header, "Requests whose header matches are dropped: 'Name: regex'")
      .add("http-basic-auth-filter", &o::basic_auth_filter, "Only requests whose Basic credentials match this regex pass")
      .add("http-header-limiter", &o::header_limiter, "Keep a consistent share of header values: 'Name: 25%'")
      .add("http-param-limiter", &o::param_limiter, "Keep a consistent share of parameter values: 'name: 25%'")
      .add("http-rewrite-url", &o::rewrite_url, "Rewrite the path: 'regex:replacement' ($1 groups)")
      .add("http-rewrite-header", &o::rewrite_header, "Rewrite a header: 'Name: regex,replacement'");
  return g;
}

option_spec pending(std::string flag, value_kind kind, std::string def, std::string help) {
  option_spec s;
  s.flag = std::move(flag);
  s.kind = kind;
  s.default_text = std::move(def);
  s.help = std::move(help);
  return s;
}

constexpr auto B = value_kind::flag;
constexpr auto I = value_kind::integer;
constexpr auto Z = value_kind::size;
constexpr auto D = value_kind::duration;
constexpr auto T = value_kind::text;
constexpr auto TL = value_kind::text_list;

registry make_default_registry() {
  registry r;
  r.add_group(core_option_group());
  // Filters run in gor's order: the modifiers, then prettify.
  r.add_pipeline_setup(stage_option_group(), [](pipeline& p, const stage_options& o) {
    if (!o.middleware.empty()) {
      middleware_options mo;
      mo.command = o.middleware;
      mo.prettify = o.prettify_http;
      p.set_stage("middleware(" + o.middleware + ")", std::make_unique<middleware_process>(mo));
    }
  });
  r.add_pipeline_setup(modifier_option_group(), [](pipeline& p, const http::http_modifier_options& o) {
    if (auto m = http::make_http_modifier(o)) p.add_filter(std::move(m));
  });
  r.add_setup(stage_option_group(), [](pipeline& p, const stage_options& o) {
    if (o.prettify_http) p.add_filter(std::make_unique<http::http_prettifier>());
  });
  r.add_pending("Process and emitter", {
      pending("cpuprofile", T, "", "Write a CPU profile to this file"),
      pending("memprofile", T, "", "Write a memory profile to this file"),
  });

  r.add_input("input-dummy", "Emit a GET / request and its response every second (the value is ignored)",
              option_group<dummy_input_options>("Dummy input"),
              [](const std::string&, const dummy_input_options& o, rate_limit&) {
                return std::make_unique<dummy_input>(o);
              });
  r.make_value_optional("input-dummy");
  // gor's three boolean outputs; --output-dummy is its name for stdout.
  auto add_simple_output = [&r](std::string flag, std::string help, auto make) {
    r.add_output(std::move(flag), std::move(help), option_group<stdout_output_options>("Stdout, dummy and null outputs"),
                 [make](const std::string&, const stdout_output_options&, rate_limit&, std::size_t&) { return make(); },
                 true);
  };
  add_simple_output("output-stdout", "Write every message to stdout in gor's file format",
                    [] { return std::make_unique<stdout_output>(); });
  add_simple_output("output-dummy", "Same as --output-stdout (gor's dummy output)",
                    [] { return std::make_unique<stdout_output>(); });
  add_simple_output("output-null", "Take every message and discard it", [] { return std::make_unique<null_output>(); });

  r.add_input("input-file",
              "Replay gor files (a glob; several files merge by timestamp); 'f.gor|200%' doubles the speed",
              file_input_option_group(),
              [](const std::string& address, const file_input_options& o, rate_limit& limit, const raw_options& raw) {
                auto opts = o;
                opts.path = address;
                // Records over --copy-buffer-size are skipped and counted (reading them whole
                // to truncate them would make memory follow the file's worst record).
                if (auto cb = core_option_group().parse(raw).copy_buffer_size.bytes) opts.max_record_size = byte_size{cb};
                if (limit.mode == rate_limit::kind::percent) {  // on a file input, |N% is a speed
                  opts.speed_factor = limit.value / 100.0;
                  limit = {};
                }
                return std::make_unique<file_input>(std::move(opts));
              });
  r.add_output("output-file",
               "Record to gor files; path template tokens %Y %m %d %H %M %S %NS %r %t %i; .gz compresses",
               file_output_option_group(),
               [](const std::string& address, const file_output_options& o, rate_limit&, std::size_t&) {
                 auto opts = o;
                 opts.path = address;
                 return std::make_unique<file_output>(std::move(opts));
               });
  r.add_pending("File output", {
      pending("output-file-buffer", T, "/tmp", "Staging directory for uploads (gor PRO: S3)"),
  });
  r.add_input("input-raw",
              "Capture HTTP traffic: ':8080', '127.0.0.1:8080', '[::1]:8080', 'eth0:8080', ':80,8080', 'file.pcap:8080'",
              raw_input_option_group(), [](const std::string& address, const raw_input_options& o, rate_limit&) {
                return std::make_unique<raw_input>(address, o);
              });
  add_tcp_input(r);
  add_tcp_output(r);
  add_ws_output(r);
  r.add_input("input-http", "An HTTP server whose every request becomes a message: ':8080', '127.0.0.1:8080'",
              option_group<http_input_options>("HTTP input"),
              [](const std::string& address, const http_input_options& o, rate_limit&) {
                return std::make_unique<http_input>(address, o);
              });
  add_http_output(r);
  r.add_pending("Binary output", {
      pending("output-binary", TL, "", "Replay raw payloads (binary protocols) to host:port"),
      pending("output-tcp-response-buffer", Z, "0", "Bytes of each binary response kept"),
      pending("output-binary-workers", I, "0", "Connections of the binary output"),
      pending("output-binary-timeout", D, "0", "Time limit for one binary exchange"),
      pending("output-binary-track-response", B, "false", "Emit binary responses (type 3)"),
      pending("output-binary-debug", B, "false", "Log binary exchanges"),
  });
  r.add_output("output-kafka-host",
               "Produce every message to Kafka: brokers a:9092,b:9092 (with --output-kafka-topic)",
               kafka_output_option_group(),
               [](const std::string& address, const kafka_output_options& o, rate_limit&, std::size_t&) {
                 auto opts = o;
                 opts.brokers = address;
                 return std::make_unique<kafka_output>(std::move(opts));
               });
  r.add_input("input-kafka-host",
              "Consume every partition of a Kafka topic: brokers a:9092,b:9092 (with --input-kafka-topic)",
              kafka_input_option_group(),
              [](const std::string& address, const kafka_input_options& o, rate_limit& limit, const raw_options& raw) {
                auto opts = o;
                opts.brokers = address;
                opts.tls = kafka_tls_option_group().parse(raw);
                // gor takes the limit from the offset: '-2|200%' (a speed) or '-2|10' (a rate).
                auto [offset, offset_limit] = split_address_limit(opts.offset);
                opts.offset = offset;
                if (!offset_limit.is_none()) limit = offset_limit;
                if (limit.mode == rate_limit::kind::percent) {
                  opts.speed_factor = limit.value / 100.0;
                  limit = {};
                }
                return std::make_unique<kafka_input>(std::move(opts));
              });
  return r;
}

}  // namespace

const registry& default_registry() {
  static const registry r = make_default_registry();
  return r;
}

}  // namespace coreplay
