// --output-ws against a Beast WebSocket server of the test on loopback: one binary frame per
// record, types 1 and 2 only, Basic auth from the URL's userinfo (and the empty "Basic "),
// gor's worker choice, wss:// with a self-signed certificate, an unreachable target.
#include "core/options.hpp"
#include "outputs/ws/ws_output.hpp"
#include "support/test_plugins.hpp"
#include "support/ws_test_server.hpp"

#include <boost/asio/steady_timer.hpp>

#include "support/net_fixtures.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_for(20ms);
  return done();
}

std::uint64_t counter(plugin_stats& s, const std::string& name) { return s.counter(name).load(); }




struct ws_run {
  bool finished = false;
  std::exception_ptr err;
};

// Runs msgs through a ws_output to `url` until the pipeline ends and `done()` holds.
plugin_stats& start(pipeline& p, std::vector<message_ptr> msgs, const std::string& url, ws_output_options o,
                    ws_run& r) {
  p.add_source("src", std::make_unique<vector_source>(std::move(msgs)));
  auto& stats = p.add_sink("output-ws", std::make_unique<ws_output>(url, o));
  p.async_run([&r](std::exception_ptr e) {
    r.finished = true;
    r.err = e;
  });
  return stats;
}

}  // namespace

TEST_CASE("ws output sends one binary frame per record, types 1 and 2 only", "[unit][ws]") {
  asio::io_context io;
  ws_test_server srv(io);
  auto req = request("aaaaaaaaaaaaaaaaaaaaaaaa", 10, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n\x00\xff\n");
  auto resp = response("aaaaaaaaaaaaaaaaaaaaaaaa", 20);
  auto replayed = message::make(message_type::replayed_response, "aaaaaaaaaaaaaaaaaaaaaaaa", 30, 5, "HTTP/1.1 200 OK\r\n\r\n");
  auto req2 = request("bbbbbbbbbbbbbbbbbbbbbbbb", 40, std::string(70000, 'x'));  // > one TCP segment, > 64 KiB
  ws_output_options o;
  o.workers = 1;
  pipeline p(io.get_executor());
  ws_run r;
  auto& stats = start(p, {req, resp, replayed, req2}, "ws://127.0.0.1:" + std::to_string(srv.port()) + "/replay?x=1", o, r);
  REQUIRE(run_until(io, [&] { return r.finished && srv.ended() == 1; }));
  CHECK_FALSE(r.err);
  REQUIRE(srv.st->conns.size() == 1);
  auto& c = *srv.st->conns[0];
  CHECK(c.target == "/replay?x=1");
  CHECK(c.all_binary);
  CHECK(c.frames == std::vector<std::string>{std::string(req->record()), std::string(resp->record()),
                                             std::string(req2->record())});
  // gor sends the header even without userinfo: "Authorization: Basic " (an HTTP parser drops the
  // trailing space of a field value, RFC 9110 5.5; "<none>" would mean no header at all).
  CHECK(c.authorization == "Basic");
  CHECK(counter(stats, "sent") == 3);
  CHECK(stats.drops.load() == 0);
}

TEST_CASE("ws output turns the URL's userinfo into Basic authorization", "[unit][ws]") {
  asio::io_context io;
  ws_test_server srv(io);
  ws_output_options o;
  o.workers = 1;
  pipeline p(io.get_executor());
  ws_run r;
  start(p, {request("aaaaaaaaaaaaaaaaaaaaaaaa", 1)}, "ws://user:pa%20ss@127.0.0.1:" + std::to_string(srv.port()), o, r);
  REQUIRE(run_until(io, [&] { return r.finished && srv.ended() == 1; }));
  REQUIRE(srv.st->conns.size() == 1);
  CHECK(srv.st->conns[0]->authorization == "Basic " + base64_encode("user:pa%20ss"));
  CHECK(srv.st->conns[0]->target == "/");
  CHECK(srv.st->conns[0]->frames.size() == 1);
}

TEST_CASE("ws URLs and base64", "[unit][ws]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
  auto u = parse_ws_url("wss://u:p@example.com/a/b?c=d#frag");
  CHECK(u.secure);
  CHECK(u.userinfo == "u:p");
  CHECK(u.host == "example.com");
  CHECK(u.port == "443");
  CHECK(u.host_header == "example.com");
  CHECK(u.target == "/a/b?c=d");
  u = parse_ws_url("WS://[::1]:9000");
  CHECK_FALSE(u.secure);
  CHECK(u.host == "::1");
  CHECK(u.port == "9000");
  CHECK(u.host_header == "[::1]:9000");
  CHECK(u.target == "/");
  u = parse_ws_url("ws://[::1]?q");
  CHECK(u.host == "::1");
  CHECK(u.port == "80");
  CHECK(u.target == "/?q");
  CHECK_THROWS_AS(parse_ws_url("http://example.com"), option_error);
  CHECK_THROWS_AS(parse_ws_url("example.com:80"), option_error);
  CHECK_THROWS_AS(parse_ws_url("ws:///path"), option_error);
  CHECK_THROWS_AS(parse_ws_url("ws://host:99999/"), option_error);
  ws_output_options o;
  o.workers = 0;
  CHECK_THROWS_WITH(ws_output("ws://127.0.0.1:80", o), Catch::Contains("--output-ws-workers: must be at least 1"));
}

TEST_CASE("ws output round robin starts at worker 1, sticky keeps an id on its FNV-1a connection", "[unit][ws]") {
  asio::io_context io;
  const bool sticky = GENERATE(false, true);
  ws_test_server srv(io);
  std::vector<message_ptr> msgs;
  std::vector<std::string> ids = {"id0000000000000000000000", "id1111111111111111111111", "id2222222222222222222222",
                                  "id3333333333333333333333", "id4444444444444444444444", "id5555555555555555555555"};
  for (int round = 0; round < 3; ++round)
    for (std::size_t i = 0; i < ids.size(); ++i) msgs.push_back(request(ids[i], round * 10 + static_cast<int>(i)));
  ws_output_options o;
  o.workers = 3;
  o.sticky = sticky;
  pipeline p(io.get_executor());
  ws_run r;
  start(p, msgs, "ws://127.0.0.1:" + std::to_string(srv.port()), o, r);
  REQUIRE(run_until(io, [&] {
    return r.finished && srv.ended() == static_cast<int>(srv.st->conns.size()) && srv.frames() == msgs.size();
  }));
  auto worker_of = [&](std::size_t k) { return sticky ? gor_fnv32a(msgs[k]->id()) % 3 : (k + 1) % 3; };
  std::set<std::size_t> workers_used;
  for (std::size_t k = 0; k < msgs.size(); ++k) workers_used.insert(worker_of(k));
  CHECK(srv.st->conns.size() == workers_used.size());  // one connection per worker that had messages
  std::map<std::string, std::size_t> conn_of;
  for (std::size_t c = 0; c < srv.st->conns.size(); ++c) {
    std::int64_t last = -1;
    for (auto& f : srv.st->conns[c]->frames) {
      conn_of[f] = c;
      auto pos = std::find_if(msgs.begin(), msgs.end(), [&](auto& m) { return m->record() == f; });
      REQUIRE(pos != msgs.end());
      CHECK((*pos)->timestamp_ns() > last);  // in order on each connection
      last = (*pos)->timestamp_ns();
    }
  }
  REQUIRE(conn_of.size() == msgs.size());
  for (std::size_t a = 0; a < msgs.size(); ++a)
    for (std::size_t b = a + 1; b < msgs.size(); ++b)
      CHECK((conn_of[std::string(msgs[a]->record())] == conn_of[std::string(msgs[b]->record())]) ==
            (worker_of(a) == worker_of(b)));
}

TEST_CASE("ws output over wss:// with a self-signed certificate", "[unit][ws]") {
  scratch_dir dir("ws");
  REQUIRE(make_cert(dir));
  asio::io_context io;
  ws_test_server srv(io, std::pair{dir / "cert.pem", dir / "key.pem"});
  std::vector<message_ptr> msgs = {request("aaaaaaaaaaaaaaaaaaaaaaaa", 1), response("aaaaaaaaaaaaaaaaaaaaaaaa", 2),
                                   request("bbbbbbbbbbbbbbbbbbbbbbbb", 3)};
  ws_output_options o;
  o.workers = 1;
  pipeline p(io.get_executor());
  ws_run r;
  SECTION("skip-verify delivers") {
    o.skip_verify = true;
    auto& stats = start(p, msgs, "wss://a:b@127.0.0.1:" + std::to_string(srv.port()) + "/tls", o, r);
    REQUIRE(run_until(io, [&] { return r.finished && srv.ended() == 1; }));
    CHECK_FALSE(r.err);
    REQUIRE(srv.st->conns.size() == 1);
    CHECK(srv.st->conns[0]->authorization == "Basic YTpi");
    CHECK(srv.st->conns[0]->target == "/tls");
    REQUIRE(srv.st->conns[0]->frames.size() == msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) CHECK(srv.st->conns[0]->frames[i] == msgs[i]->record());
    CHECK(counter(stats, "sent") == msgs.size());
  }
  SECTION("verification rejects the self-signed certificate: counted, not delivered") {
    o.end_timeout = 300ms;
    auto& stats = start(p, msgs, "wss://localhost:" + std::to_string(srv.port()), o, r);
    REQUIRE(run_until(io, [&] { return r.finished; }));
    CHECK_FALSE(r.err);
    CHECK(srv.st->conns.empty());
    CHECK(srv.st->handshakes_failed >= 1);
    CHECK(counter(stats, "errors_connect") >= 1);
    CHECK(counter(stats, "not_delivered") == msgs.size());
    CHECK(stats.drops.load() == msgs.size());
  }
}

TEST_CASE("ws output to an unreachable target counts what it could not deliver", "[unit][ws]") {
  asio::io_context io;
  auto port = closed_port(io);
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 25; ++i) msgs.push_back(request(std::to_string(100000 + i) + "0000000000000000000", i));
  ws_output_options o;
  o.workers = 4;
  o.end_timeout = 400ms;
  pipeline p(io.get_executor());
  ws_run r;
  auto begin = std::chrono::steady_clock::now();
  auto& stats = start(p, msgs, "ws://127.0.0.1:" + std::to_string(port), o, r);
  REQUIRE(run_until(io, [&] { return r.finished; }));
  CHECK(std::chrono::steady_clock::now() - begin < 3s);
  CHECK_FALSE(r.err);
  CHECK(counter(stats, "not_delivered") == msgs.size());
  CHECK(stats.drops.load() == msgs.size());
  CHECK(counter(stats, "errors_connect") >= 4);
  CHECK(counter(stats, "sent") == 0);
}
