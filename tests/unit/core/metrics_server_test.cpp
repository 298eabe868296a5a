// --http-pprof's documents: /debug/vars (JSON) and /metrics (Prometheus text), names escaped.
#include "core/metrics_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <thread>

using namespace coreplay;

TEST_CASE("stats documents escape plugin names and list every counter", "[unit][metrics]") {
  plugin_stats a("input-file(/tmp/a \"b\"\\c.gor)");
  a.messages = 7;
  a.bytes = 700;
  a.counter("lag_ns") = 42;
  plugin_stats b("output-null");
  b.drops = 3;
  std::vector<const plugin_stats*> all{&a, &b};

  auto json = stats_json(all, std::chrono::seconds(2));
  CHECK_THAT(json, Catch::Contains(R"x("input-file(/tmp/a \"b\"\\c.gor)": {"messages": 7, "bytes": 700, "drops": 0, "errors": 0, "lag_ns": 42})x"));
  CHECK_THAT(json, Catch::Contains(R"("output-null": {"messages": 0, "bytes": 0, "drops": 3, "errors": 0})"));
  CHECK_THAT(json, Catch::StartsWith(R"({"uptime_seconds": 2, "plugins": {)"));

  auto prom = stats_prometheus(all, std::chrono::seconds(2));
  CHECK_THAT(prom, Catch::Contains("coreplay_messages_total{plugin=\"input-file(/tmp/a \\\"b\\\"\\\\c.gor)\"} 7\n"));
  CHECK_THAT(prom, Catch::Contains("coreplay_drops_total{plugin=\"output-null\"} 3\n"));
  CHECK_THAT(prom, Catch::Contains("# TYPE coreplay_lag_ns untyped\ncoreplay_lag_ns{plugin="));
}

TEST_CASE("the metrics server answers over HTTP/1.1 and stop() closes open connections", "[unit][metrics]") {
  asio::io_context io;
  plugin_stats s("output-null");
  s.messages = 5;
  metrics_server server(io.get_executor(), "127.0.0.1:0", [&] { return std::vector<const plugin_stats*>{&s}; });
  server.start();
  REQUIRE(server.port() != 0);
  std::string reply;
  std::thread client([&, port = server.port()] {
    asio::io_context cio;
    asio::ip::tcp::socket sock(cio);
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    std::string req = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
    asio::write(sock, asio::buffer(req));
    char buf[4096];
    boost::system::error_code ec;
    // Read until the server closes the connection (at stop(), the connection being kept alive).
    for (;;) {
      auto n = sock.read_some(asio::buffer(buf), ec);
      if (ec) break;
      reply.append(buf, n);
      if (reply.find("coreplay_queue_depth") != std::string::npos)
        asio::post(io, [&] { server.stop(); });
    }
  });
  io.run();  // returns only once the accept loop and the open session have ended
  client.join();
  CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 200 OK"));
  CHECK_THAT(reply, Catch::Contains("coreplay_messages_total{plugin=\"output-null\"} 5"));
}
