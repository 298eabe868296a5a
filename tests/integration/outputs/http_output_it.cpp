// The HTTP output against a real nginx: keep-alive limits, chunked bodies, HEAD, Host.
#include "outputs/http/http_output.hpp"

#include "support/nginx_process.hpp"

#include <coreplay/pipeline.hpp>

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace coreplay;
using namespace std::chrono_literals;

namespace {

class list_source : public source {
 public:
  explicit list_source(std::vector<message_ptr> msgs) : msgs_(std::move(msgs)) {}
  asio::awaitable<void> run(message_writer out) override {
    for (auto& m : msgs_) co_await out.send(m);
  }

 private:
  std::vector<message_ptr> msgs_;
};

class keep_sink : public sink {
 public:
  explicit keep_sink(std::vector<message_ptr>& out) : out_(out) {}
  asio::awaitable<void> run(message_reader in) override {
    while (auto m = co_await in.receive()) out_.push_back(m);
  }

 private:
  std::vector<message_ptr>& out_;
};

message_ptr req(std::string_view payload) {
  return message::make(message_type::request, make_message_id(), 1, std::nullopt, payload);
}

std::uint64_t count(const plugin_stats& s, std::string_view name) {
  for (auto& [k, v] : s.counters())
    if (k == name) return v;
  return 0;
}

bool run_until_done(asio::io_context& io, pipeline& p, std::chrono::seconds limit) {
  bool done = false;
  p.async_run([&](std::exception_ptr) { done = true; });
  auto start = std::chrono::steady_clock::now();
  while (!done && std::chrono::steady_clock::now() - start < limit) io.run_one_for(50ms);
  return done;
}

}  // namespace

TEST_CASE("http output replays to nginx across its keep-alive request limit", "[integration][http_output]") {
  test::nginx_process nginx("    keepalive_requests 50;\n    location / { return 200 \"ok\"; }");
  asio::io_context io;
  pipeline p(io.get_executor());
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 300; ++i)
    msgs.push_back(req("GET /n?i=" + std::to_string(i) + " HTTP/1.1\r\nHost: recorded\r\nX-Order: " +
                       std::to_string(i) + "\r\n\r\n"));
  p.add_source("list", std::make_unique<list_source>(msgs));
  http_output_options o;
  o.workers_min = 2;
  o.workers = 2;
  auto& st = p.add_sink("http", std::make_unique<http_output>(nginx.url(), o));
  REQUIRE(run_until_done(io, p, 30s));
  CHECK(count(st, "status_2xx") == 300);
  CHECK(st.errors == 0);
  CHECK(count(st, "connections") >= 6);  // nginx closes each connection after 50 requests
  const std::string last = "GET /n?i=299 HTTP/1.1|" + nginx.authority() + "|299|";
  CHECK(nginx.access_log_with(last).find(last) != std::string::npos);
}

TEST_CASE("http output sends chunked POST and HEAD to nginx and tracks the responses", "[integration][http_output]") {
  test::nginx_process nginx("    location / { return 200 \"$request_method $http_host\"; }");
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("list", std::make_unique<list_source>(std::vector<message_ptr>{
                           req("POST /up HTTP/1.1\r\nHost: recorded\r\nX-Order: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"),
                           req("HEAD /h HTTP/1.1\r\nHost: recorded\r\nX-Order: 2\r\n\r\n"),
                           req("GET /g HTTP/1.1\r\nhost: recorded\r\nX-Order: 3\r\n\r\n")}));
  http_output_options o;
  o.workers = 1;
  o.track_response = true;
  auto& st = p.add_sink("http", std::make_unique<http_output>(nginx.url(), o));
  std::vector<message_ptr> got;
  p.add_sink("keep", std::make_unique<keep_sink>(got));
  REQUIRE(run_until_done(io, p, 30s));
  CHECK(count(st, "status_2xx") == 3);
  CHECK(st.errors == 0);
  std::vector<std::string> bodies;
  for (auto& m : got) {
    if (m->type() != message_type::replayed_response) continue;
    auto pl = m->payload();
    CHECK(pl.rfind("HTTP/1.1 200 OK\r\nServer: nginx", 0) == 0);
    bodies.emplace_back(pl.substr(pl.find("\r\n\r\n") + 4));
  }
  CHECK(bodies == std::vector<std::string>{"POST " + nginx.authority(), "", "GET " + nginx.authority()});
  CHECK(count(st, "connections") == 1);
}

TEST_CASE("http output keeps the recorded Host for nginx with original host", "[integration][http_output]") {
  test::nginx_process nginx("    location / { return 204; }");
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("list", std::make_unique<list_source>(std::vector<message_ptr>{
                           req("GET /o HTTP/1.1\r\nHost: custom-host.com\r\nX-Order: 7\r\n\r\n")}));
  http_output_options o;
  o.original_host = true;
  auto& st = p.add_sink("http", std::make_unique<http_output>(nginx.url(), o));
  REQUIRE(run_until_done(io, p, 30s));
  CHECK(count(st, "status_2xx") == 1);
  const std::string line = "GET /o HTTP/1.1|custom-host.com|7|";
  CHECK(nginx.access_log_with(line).find(line) != std::string::npos);
}
