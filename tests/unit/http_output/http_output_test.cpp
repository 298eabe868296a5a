// The HTTP output against an in-process server: bytes on the wire, keep-alive, failures.
#include "outputs/http/http_output.hpp"

#include "support/http_test_server.hpp"

#include <coreplay/pipeline.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace coreplay;
using namespace std::chrono_literals;
using coreplay::test::http_test_server;
using coreplay::test::test_reply;

namespace {

class vector_source : public source {
 public:
  explicit vector_source(std::vector<message_ptr> msgs) : msgs_(std::move(msgs)) {}
  asio::awaitable<void> run(message_writer out) override {
    for (auto& m : msgs_) co_await out.send(m);
  }

 private:
  std::vector<message_ptr> msgs_;
};

class collect_sink : public sink {
 public:
  explicit collect_sink(std::vector<message_ptr>& out) : out_(out) {}
  asio::awaitable<void> run(message_reader in) override {
    while (auto m = co_await in.receive()) out_.push_back(m);
  }

 private:
  std::vector<message_ptr>& out_;
};

message_ptr request(std::string_view payload) {
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  return message::make(message_type::request, make_message_id(), now, std::nullopt, payload);
}

std::vector<message_ptr> requests(std::string_view payload, int n) {
  std::vector<message_ptr> v;
  for (int i = 0; i < n; ++i) v.push_back(request(payload));
  return v;
}

std::uint64_t counter(const plugin_stats& s, std::string_view name) {
  for (auto& [k, v] : s.counters())
    if (k == name) return v;
  return 0;
}

struct run_result {
  bool finished = false;
  std::exception_ptr error;
  std::chrono::milliseconds took{0};
};

// Runs the pipeline on `io` until it completes or `limit` passes (the servers keep `io` busy,
// so run_for alone would always take the whole limit).
run_result run_pipeline(asio::io_context& io, pipeline& p, std::chrono::milliseconds limit = 10s) {
  run_result r;
  auto start = std::chrono::steady_clock::now();
  p.async_run([&](std::exception_ptr e) {
    r.finished = true;
    r.error = e;
  });
  while (!r.finished && std::chrono::steady_clock::now() - start < limit) io.run_one_for(50ms);
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return r;
}

struct fixture {
  asio::io_context io;
  pipeline p{io.get_executor()};
  plugin_stats* out = nullptr;

  void add(std::vector<message_ptr> msgs, std::string url, http_output_options o = {}) {
    p.add_source("test", std::make_unique<vector_source>(std::move(msgs)));
    out = &p.add_sink("http", std::make_unique<http_output>(std::move(url), o));
  }
};

}  // namespace

TEST_CASE("http output sends requests byte-exact with the Host rewritten", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  const std::string recorded =
      "POST /orig?q=1 HTTP/1.1\r\nX-B: 1\r\nhost: original.example\r\nx-a: 2\r\nX-B: 3\r\n"
      "content-length: 5\r\n\r\nhello";
  bool original = GENERATE(false, true);
  http_output_options o;
  o.original_host = original;
  f.add({request(recorded)}, server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK_FALSE(r.error);
  REQUIRE(server.requests.size() == 1);
  std::string expected = recorded;
  if (!original) expected.replace(expected.find("original.example"), 16, server.authority());
  CHECK(server.requests[0] == expected);
  CHECK(counter(*f.out, "sent") == 1);
  CHECK(counter(*f.out, "status_2xx") == 1);
}

TEST_CASE("http output with a path in the URL sends every request to it", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  f.add({request("GET /a/b?c HTTP/1.1\r\nHost: x\r\n\r\n"), request("GET http://x/z HTTP/1.1\r\nHost: x\r\n\r\n")},
        server.url("/fixed/path?k=v"));
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  REQUIRE(server.requests.size() == 2);
  for (auto& req : server.requests) CHECK(req.rfind("GET /fixed/path?k=v HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("http output converts an absolute-form target to origin form", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  f.add({request("GET http://x/z?y HTTP/1.1\r\nHost: x\r\n\r\n")}, server.url());
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  REQUIRE(server.requests.size() == 1);
  CHECK(server.requests[0] == "GET /z?y HTTP/1.1\r\nHost: " + server.authority() + "\r\n\r\n");
}

TEST_CASE("http output reuses one keep-alive connection with one worker", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  http_output_options o;
  o.workers_min = 1;
  o.workers = 1;
  f.add(requests("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 100), server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(server.requests.size() == 100);
  CHECK(server.connections == 1);
  CHECK(counter(*f.out, "status_2xx") == 100);
  CHECK(counter(*f.out, "connections") == 1);
}

TEST_CASE("http output passes a chunked request body unchanged", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  const std::string recorded =
      "POST /up HTTP/1.1\r\nHost: " + server.authority() +
      "\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: v\r\n\r\n";
  f.add({request(recorded)}, server.url());
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  REQUIRE(server.requests.size() == 1);
  CHECK(server.requests[0] == recorded);
}

TEST_CASE("http output skips broken requests and CONNECT without sending them", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  f.add({request("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nshort"), request("not http at all"),
         request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
         request("GET /ok HTTP/1.1\r\n\r\n")},
        server.url());
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  REQUIRE(server.requests.size() == 1);
  CHECK(server.requests[0] == "GET /ok HTTP/1.1\r\nHost: " + server.authority() + "\r\n\r\n");
  CHECK(counter(*f.out, "errors_request") == 2);
  CHECK(counter(*f.out, "skipped_connect") == 1);
  CHECK(f.out->errors == 2);
}

TEST_CASE("http output times out slow responses and counts them", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.delay = 3s;
    return r;
  };
  http_output_options o;
  o.timeout = 200ms;
  o.workers = 2;
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 4), server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(r.took < 2500ms);
  CHECK(counter(*f.out, "errors_timeout") == 4);
  CHECK(counter(*f.out, "status_2xx") == 0);
}

TEST_CASE("http output counts a refused connection and does not hang", "[unit][http_output]") {
  fixture f;
  unsigned short port;
  {
    asio::ip::tcp::acceptor a(f.io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 3), "http://127.0.0.1:" + std::to_string(port));
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(r.took < 2s);
  CHECK(counter(*f.out, "errors_connect") == 3);
  CHECK(f.out->errors == 3);
}

TEST_CASE("http output counts resets and closes mid-response", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  int n = 0;
  server.handler = [&](const std::string&) {
    test_reply r;
    if (++n % 2) r.drop = true;  // close without answering
    else {
      r.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part";  // then close
      r.close_after = true;
    }
    return r;
  };
  http_output_options o;
  o.workers = 1;
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 4), server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*f.out, "errors_reset") == 4);
}

TEST_CASE("http output retries once on a stale keep-alive connection", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;  // keep-alive announced, but the server closes right after answering
    r.close_after = true;
    return r;
  };
  http_output_options o;
  o.workers = 1;
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 5), server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*f.out, "status_2xx") == 5);
  CHECK(f.out->errors == 0);
  CHECK(server.requests.size() == 5);
  CHECK(server.connections == 5);
  CHECK(counter(*f.out, "retries") == 4);
  CHECK(counter(*f.out, "sent") == 5);
}

TEST_CASE("http output follows redirects up to the limit", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string& req) {
    test_reply r;
    if (req.rfind("GET /r1 ", 0) == 0) r.bytes = "HTTP/1.1 302 Found\r\nLocation: /r2\r\nContent-Length: 0\r\n\r\n";
    else if (req.rfind("GET /r2 ", 0) == 0) r.bytes = "HTTP/1.1 301 Moved\r\nLocation: /r3\r\nContent-Length: 0\r\n\r\n";
    return r;
  };
  std::int64_t limit = GENERATE(0, 1, 5);
  http_output_options o;
  o.redirects = limit;
  f.add({request("GET /r1 HTTP/1.1\r\nHost: x\r\nX-Keep: 1\r\n\r\n")}, server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(server.requests.size() == static_cast<std::size_t>(std::min<std::int64_t>(limit, 2) + 1));
  CHECK(counter(*f.out, "redirects") == static_cast<std::uint64_t>(std::min<std::int64_t>(limit, 2)));
  if (limit >= 2) {
    CHECK(counter(*f.out, "status_2xx") == 1);
    CHECK(server.requests.back() == "GET /r3 HTTP/1.1\r\nHost: " + server.authority() + "\r\nX-Keep: 1\r\n\r\n");
  } else {
    CHECK(counter(*f.out, "status_3xx") == 1);
  }
}

TEST_CASE("http output speaks TLS to a self-signed server with skip-verify", "[unit][http_output]") {
  fixture f;
  auto tls = coreplay::test::make_self_signed_server_context();
  http_test_server server(f.io, tls.get());
  bool skip = GENERATE(true, false);
  http_output_options o;
  o.skip_verify = skip;
  f.add({request("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"), request("GET / HTTP/1.1\r\n\r\n")}, server.url(),
        o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  if (skip) {
    REQUIRE(server.requests.size() == 2);
    CHECK(server.requests[0] == "POST / HTTP/1.1\r\nHost: " + server.authority() + "\r\nContent-Length: 2\r\n\r\nhi");
    CHECK(counter(*f.out, "status_2xx") == 2);
  } else {
    CHECK(server.requests.empty());
    CHECK(counter(*f.out, "errors_tls") == 2);
  }
}

TEST_CASE("http output tracks responses as type-3 messages for other outputs", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  const std::string response = "HTTP/1.1 201 Created\r\nX-Odd-Case: v\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "3\r\nabc\r\n0\r\n\r\n";
  server.handler = [&](const std::string&) {
    test_reply r;
    r.bytes = response;
    return r;
  };
  std::vector<message_ptr> got;
  auto reqs = requests("GET / HTTP/1.1\r\n\r\n", 3);
  http_output_options o;
  o.track_response = true;
  f.add(reqs, server.url(), o);
  f.p.add_sink("collect", std::make_unique<collect_sink>(got));
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK_FALSE(r.error);
  std::vector<message_ptr> replayed;
  for (auto& m : got)
    if (m->type() == message_type::replayed_response) replayed.push_back(m);
  REQUIRE(replayed.size() == 3);
  for (auto& m : replayed) {
    CHECK(m->payload() == response);
    REQUIRE(m->latency_ns());
    CHECK(*m->latency_ns() > 0);
    bool matched = false;
    for (auto& q : reqs) matched = matched || (q->id() == m->id() && m->timestamp_ns() >= q->timestamp_ns());
    CHECK(matched);
  }
}

TEST_CASE("http output keeps at most response-buffer body bytes", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
  server.handler = [&](const std::string&) {
    test_reply r;
    r.bytes = head + std::string(1000, 'x');
    return r;
  };
  std::vector<message_ptr> got;
  http_output_options o;
  o.track_response = true;
  o.workers = 1;
  o.response_buffer = byte_size{10};
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 2), server.url(), o);
  f.p.add_sink("collect", std::make_unique<collect_sink>(got));
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  std::size_t n = 0;
  for (auto& m : got)
    if (m->type() == message_type::replayed_response) {
      ++n;
      CHECK(m->payload() == head + std::string(10, 'x'));
    }
  CHECK(n == 2);
  CHECK(server.connections == 1);  // the rest of each body was read, so the connection stayed usable
}

TEST_CASE("http output handles HEAD, interim 1xx and close-delimited responses", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string& req) {
    test_reply r;
    if (req.rfind("HEAD", 0) == 0) {
      r.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    } else if (req.rfind("POST", 0) == 0) {
      r.bytes = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
    } else {
      r.bytes = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
      r.close_after = true;
    }
    return r;
  };
  std::vector<message_ptr> got;
  http_output_options o;
  o.track_response = true;
  o.workers = 1;
  f.add({request("HEAD / HTTP/1.1\r\n\r\n"),
         request("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"),
         request("GET / HTTP/1.1\r\n\r\n")},
        server.url(), o);
  f.p.add_sink("collect", std::make_unique<collect_sink>(got));
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(f.out->errors == 0);
  CHECK(counter(*f.out, "status_2xx") == 3);
  std::vector<std::string> payloads;
  for (auto& m : got)
    if (m->type() == message_type::replayed_response) payloads.emplace_back(m->payload());
  CHECK(payloads == std::vector<std::string>{"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
                                             "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                                             "HTTP/1.0 200 OK\r\n\r\nuntil the end"});
  CHECK(server.connections == 1);
}

TEST_CASE("http output scales workers between min and max", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.delay = 100ms;
    return r;
  };
  http_output_options o;
  o.workers_min = 1;
  o.workers = 4;
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 12), server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*f.out, "status_2xx") == 12);
  CHECK(server.connections > 1);
  CHECK(server.connections <= 4);
  CHECK(r.took < 1000ms);  // 12 × 100 ms over 4 workers
  CHECK(f.out->detail().find("p50=") != std::string::npos);
}

TEST_CASE("http output ends quickly when the pipeline is aborted", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.delay = 10s;
    return r;
  };
  http_output_options o;
  o.timeout = 30s;
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 5), server.url(), o);
  asio::steady_timer t(f.io, 200ms);
  t.async_wait([&](boost::system::error_code) { f.p.abort(); });
  auto r = run_pipeline(f.io, f.p, 5s);
  REQUIRE(r.finished);
  CHECK(r.took < 1500ms);
  CHECK(counter(*f.out, "abandoned") == 5);
}

namespace {

// Sends a burst, pauses, calls `probe`, then sends the rest.
class paused_source : public source {
 public:
  paused_source(std::vector<message_ptr> first, std::chrono::milliseconds pause, std::function<void()> probe,
                std::vector<message_ptr> rest)
      : first_(std::move(first)), pause_(pause), probe_(std::move(probe)), rest_(std::move(rest)) {}
  asio::awaitable<void> run(message_writer out) override {
    for (auto& m : first_) co_await out.send(m);
    asio::steady_timer t(out.get_executor(), pause_);
    co_await t.async_wait(asio::use_awaitable);
    probe_();
    for (auto& m : rest_) co_await out.send(m);
  }

 private:
  std::vector<message_ptr> first_;
  std::chrono::milliseconds pause_;
  std::function<void()> probe_;
  std::vector<message_ptr> rest_;
};

}  // namespace

TEST_CASE("http output counts a response it cannot parse", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.bytes = "NOT HTTP AT ALL\r\n\r\n";
    return r;
  };
  f.add(requests("GET / HTTP/1.1\r\n\r\n", 2), server.url());
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*f.out, "errors_parse") == 2);
  CHECK(f.out->errors == 2);
}

TEST_CASE("http output follows a redirect to another origin, turning a POST into a GET on 303",
          "[unit][http_output]") {
  fixture f;
  http_test_server a(f.io);
  http_test_server b(f.io);
  a.handler = [&](const std::string&) {
    test_reply r;
    r.bytes = "HTTP/1.1 303 See Other\r\nLocation: " + b.url("/there?x=1") + "\r\nContent-Length: 0\r\n\r\n";
    return r;
  };
  http_output_options o;
  o.redirects = 3;
  f.add({request("POST /form HTTP/1.1\r\nHost: x\r\nCookie: secret\r\nAccept: */*\r\n"
                 "Content-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody")},
        a.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  REQUIRE(a.requests.size() == 1);
  REQUIRE(b.requests.size() == 1);
  CHECK(b.requests[0] == "GET /there?x=1 HTTP/1.1\r\nHost: " + b.authority() + "\r\nAccept: */*\r\n\r\n");
  CHECK(counter(*f.out, "status_2xx") == 1);
  CHECK(counter(*f.out, "redirects") == 1);
}

TEST_CASE("http output stops extra workers after the worker timeout", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.delay = 50ms;
    return r;
  };
  http_output_options o;
  o.workers_min = 1;
  o.workers = 4;
  o.worker_timeout = 100ms;
  std::string detail;
  plugin_stats* stats = nullptr;
  f.p.add_source("test", std::make_unique<paused_source>(
                             requests("GET / HTTP/1.1\r\n\r\n", 8), 600ms, [&] { detail = stats->detail(); },
                             requests("GET / HTTP/1.1\r\n\r\n", 1)));
  stats = &f.p.add_sink("http", std::make_unique<http_output>(server.url(), o));
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*stats, "status_2xx") == 9);
  CHECK(server.connections > 1);
  CHECK(detail.rfind("workers=1 idle=1 queued=0", 0) == 0);
}

TEST_CASE("http output applies back-pressure with a full queue instead of dropping", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  std::size_t max_seen = 0;
  plugin_stats* stats = nullptr;
  server.handler = [&](const std::string&) {
    auto d = stats->detail();
    auto q = std::stoul(d.substr(d.find("queued=") + 7));
    max_seen = std::max<std::size_t>(max_seen, q);
    test_reply r;
    r.delay = 5ms;
    return r;
  };
  http_output_options o;
  o.workers = 1;
  o.queue_len = 3;
  f.p.add_source("test", std::make_unique<vector_source>(requests("GET / HTTP/1.1\r\n\r\n", 40)));
  stats = &f.p.add_sink("http", std::make_unique<http_output>(server.url(), o), {}, 1);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*stats, "status_2xx") == 40);
  CHECK(stats->drops == 0);
  CHECK(max_seen <= 3);
  CHECK(max_seen >= 2);
}

TEST_CASE("http output rejects a URL it cannot use when built", "[unit][http_output]") {
  CHECK_THROWS_AS(http_output("ftp://x", {}), std::invalid_argument);
  CHECK_NOTHROW(http_output("localhost:8080", {}));
  http_output_options o;
  o.track_response = true;
  http_output out("http://x", o);
  CHECK(out.produces_feedback());
  CHECK(out.accepts(*request("GET / HTTP/1.1\r\n\r\n")));
  CHECK_FALSE(out.accepts(*message::make(message_type::response, "ab", 1, std::nullopt, "HTTP/1.1 200 OK\r\n\r\n")));
}

TEST_CASE("http output option group binds gor's flag names", "[unit][http_output]") {
  raw_options raw;
  raw.add("output-http-workers", "7", "--output-http-workers");
  raw.add("output-http-timeout", "250ms", "--output-http-timeout");
  raw.add("output-http-response-buffer", "1kb", "--output-http-response-buffer");
  raw.add("http-original-host", "true", "--http-original-host");
  auto o = http_output_option_group().parse(raw);
  CHECK(o.workers == 7);
  CHECK(o.timeout == 250ms);
  CHECK(o.response_buffer.bytes == 1024);
  CHECK(o.original_host);
  CHECK(o.queue_len == 1000);
}

#include "core/registry.hpp"

TEST_CASE("add_http_output registers the flag and builds the sink", "[unit][http_output]") {
  registry r;
  add_http_output(r);
  REQUIRE(r.find("output-http") != nullptr);
  REQUIRE(r.find("output-http-track-response") != nullptr);
  REQUIRE(r.find("http-original-host") != nullptr);
  raw_options raw;
  raw.add("output-http", "http://127.0.0.1:1|10", "--output-http");
  raw.add("output-http-workers", "3", "--output-http-workers");
  asio::io_context io;
  pipeline p(io.get_executor());
  r.build(p, raw);
  auto stats = p.stats();
  REQUIRE(stats.size() == 2);  // the sink and the emitter
  CHECK(stats[0]->name() == "output-http(http://127.0.0.1:1)");
}

TEST_CASE("http output gives up draining when the pipeline's drain deadline passes", "[unit][http_output]") {
  asio::io_context io;
  http_test_server server(io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.delay = 10s;
    return r;
  };
  pipeline_options po;
  po.drain_timeout = 300ms;
  pipeline p(io.get_executor(), po);
  // The source never ends by itself: stop() ends it, then the output drains until the deadline.
  p.add_source("test", std::make_unique<paused_source>(requests("GET / HTTP/1.1\r\n\r\n", 3), 1h, [] {},
                                                       std::vector<message_ptr>{}));
  http_output_options o;
  o.timeout = 30s;
  auto& st = p.add_sink("http", std::make_unique<http_output>(server.url(), o));
  asio::steady_timer t(io, 100ms);
  t.async_wait([&](boost::system::error_code) { p.stop(); });
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  CHECK(r.took < 1500ms);
  CHECK(counter(st, "abandoned") == 3);
}

TEST_CASE("frame_request survives mutated and truncated requests", "[unit][http_output]") {
  const std::string seeds[] = {
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n",
      "GET / HTTP/1.0\nHost: y\n\n",
  };
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  const char alphabet[] = "\r\n :;0123456789abcdefABCDEF-\t\x00\xff";
  std::string scratch;
  std::vector<std::string_view> pieces;
  for (int i = 0; i < 20000; ++i) {
    std::string s = seeds[next() % 3];
    int edits = 1 + next() % 4;
    for (int e = 0; e < edits && !s.empty(); ++e) {
      auto pos = next() % s.size();
      switch (next() % 3) {
        case 0: s[pos] = alphabet[next() % (sizeof alphabet - 1)]; break;
        case 1: s.erase(pos, 1 + next() % 8); break;
        case 2: s.insert(pos, 1, alphabet[next() % (sizeof alphabet - 1)]); break;
      }
    }
    if (next() % 4 == 0) s.resize(next() % (s.size() + 1));
    auto f = coreplay::http_replay::frame_request(s);
    if (!f.ok()) continue;
    REQUIRE(f.header_end <= f.message_end);
    REQUIRE(f.message_end <= s.size());
    coreplay::http_replay::assemble_request(s, f, {"h:1", "", ""}, scratch, pieces);
    std::size_t total = 0;
    for (auto p : pieces) total += p.size();
    REQUIRE(total > 0);
  }
}

TEST_CASE("http output is not idle while a request waits for its response", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.delay = 300ms;
    return r;
  };
  auto out = std::make_unique<http_output>(server.url(), http_output_options{});
  auto* raw = out.get();
  CHECK(raw->idle());
  f.p.add_source("test", std::make_unique<vector_source>(requests("GET / HTTP/1.1\r\n\r\n", 1)));
  f.out = &f.p.add_sink("http", std::move(out));
  bool idle_midway = true;
  asio::steady_timer t(f.io, 100ms);
  t.async_wait([&](boost::system::error_code) { idle_midway = raw->idle(); });
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK_FALSE(idle_midway);
  CHECK(raw->idle());
  CHECK(counter(*f.out, "status_2xx") == 1);
}

TEST_CASE("http output never resends a POST whose connection failed after sending", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.close_after = true;  // keep-alive announced, but the server closes right after answering
    return r;
  };
  http_output_options o;
  o.workers = 1;
  f.add(requests("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 3), server.url(), o);
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*f.out, "status_2xx") == 2);  // the first, and the third on a new connection
  CHECK(counter(*f.out, "errors_reset") == 1);
  CHECK(counter(*f.out, "retries") == 0);
  CHECK(server.requests.size() == 2);
}

TEST_CASE("http output checks an idle connection before reusing it", "[unit][http_output]") {
  fixture f;
  http_test_server server(f.io);
  server.handler = [](const std::string&) {
    test_reply r;
    r.close_after = true;
    return r;
  };
  http_output_options o;
  o.workers = 1;
  const auto post = "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx";
  f.p.add_source("test", std::make_unique<paused_source>(requests(post, 1), 300ms, [] {}, requests(post, 1)));
  f.out = &f.p.add_sink("http", std::make_unique<http_output>(server.url(), o));
  auto r = run_pipeline(f.io, f.p);
  REQUIRE(r.finished);
  CHECK(counter(*f.out, "status_2xx") == 2);
  CHECK(counter(*f.out, "reconnects_idle") == 1);
  CHECK(f.out->errors == 0);
}
