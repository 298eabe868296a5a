// --output-tcp and --input-tcp over real loopback sockets: exact bytes on the wire, gor's
// worker choice, stream splitting, TLS, and an unreachable target.
#include "core/gor_record.hpp"
#include "core/options.hpp"
#include "inputs/tcp/tcp_input.hpp"
#include "outputs/tcp/tcp_output.hpp"
#include "support/test_plugins.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "support/net_fixtures.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;
namespace fs = std::filesystem;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
const std::string sep = std::string("\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n");

// Runs `io` until `done()` holds or `limit` passes; returns done().
bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_for(20ms);
  return done();
}

// A receiver on 127.0.0.1:<any port> keeping each connection's bytes.
struct test_listener {
  struct shared {
    std::vector<std::shared_ptr<std::string>> conns;
    int ended = 0;
    std::size_t close_first_after = 0;  // when set: the first connection closes after this many bytes
  };
  explicit test_listener(asio::io_context& io) : acc(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    asio::co_spawn(io, accept_loop(acc, st), asio::detached);
  }
  ~test_listener() {
    boost::system::error_code ignored;
    acc.close(ignored);
  }
  std::uint16_t port() const { return acc.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  static asio::awaitable<void> accept_loop(tcp::acceptor& acc, std::shared_ptr<shared> st) {
    for (;;) {
      auto [ec, s] = co_await acc.async_accept(tuple_awaitable);
      if (ec) co_return;
      auto data = std::make_shared<std::string>();
      st->conns.push_back(data);
      asio::co_spawn(acc.get_executor(), read_all(std::move(s), data, st, st->conns.size() == 1), asio::detached);
    }
  }
  static asio::awaitable<void> read_all(tcp::socket s, std::shared_ptr<std::string> data, std::shared_ptr<shared> st,
                                        bool first) {
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), tuple_awaitable);
      data->append(buf, n);
      if (ec) break;
      if (first && st->close_first_after && data->size() >= st->close_first_after) break;  // the receiver goes away
    }
    boost::system::error_code ignored;
    s.close(ignored);
    ++st->ended;
  }
  std::string all() const {
    std::string s;
    for (auto& c : st->conns) s += *c;
    return s;
  }

  tcp::acceptor acc;
  std::shared_ptr<shared> st = std::make_shared<shared>();
};

std::string wire(const message_ptr& m) { return std::string(m->record()) + sep; }




// Writes `pieces` to 127.0.0.1:port, each in its own write a little apart, then closes.
asio::awaitable<void> write_pieces(std::uint16_t port, std::vector<std::string> pieces, bool* done) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  co_await s.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), port), asio::use_awaitable);
  asio::steady_timer t(ex);
  for (auto& p : pieces) {
    co_await asio::async_write(s, asio::buffer(p), asio::use_awaitable);
    t.expires_after(2ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  s.shutdown(tcp::socket::shutdown_send);
  s.close();
  *done = true;
}

std::uint64_t counter(plugin_stats& s, const std::string& name) { return s.counter(name).load(); }

// Sends each message once `ready(i)` holds (polled), then ends.
class gated_source : public source {
 public:
  gated_source(std::vector<message_ptr> msgs, std::function<bool(std::size_t)> ready)
      : msgs_(std::move(msgs)), ready_(std::move(ready)) {}
  asio::awaitable<void> run(message_writer out) override {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (std::size_t i = 0; i < msgs_.size(); ++i) {
      while (!ready_(i)) {
        t.expires_after(5ms);
        co_await t.async_wait(asio::use_awaitable);
      }
      co_await out.send(msgs_[i]);
    }
  }

 private:
  std::vector<message_ptr> msgs_;
  std::function<bool(std::size_t)> ready_;
};

}  // namespace

TEST_CASE("tcp output writes each record then the separator, types 1 and 2 only", "[unit][tcp]") {
  asio::io_context io;
  test_listener rx(io);
  auto req = request("aaaaaaaaaaaaaaaaaaaaaaaa", 10, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n\x00\xff\n");
  auto resp = response("aaaaaaaaaaaaaaaaaaaaaaaa", 20);
  auto replayed = message::make(message_type::replayed_response, "aaaaaaaaaaaaaaaaaaaaaaaa", 30, 5, "HTTP/1.1 200 OK\r\n\r\n");
  auto req2 = request("bbbbbbbbbbbbbbbbbbbbbbbb", 40);
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<vector_source>(std::vector<message_ptr>{req, resp, replayed, req2}));
  tcp_output_options o;
  o.workers = 1;
  auto& stats = p.add_sink("output-tcp", std::make_unique<tcp_output>(rx.address(), o));
  bool finished = false;
  std::exception_ptr err;
  p.async_run([&](std::exception_ptr e) {
    finished = true;
    err = e;
  });
  REQUIRE(run_until(io, [&] { return finished && rx.st->ended == 1; }));
  CHECK_FALSE(err);
  REQUIRE(rx.st->conns.size() == 1);
  CHECK(*rx.st->conns[0] == wire(req) + wire(resp) + wire(req2));
  CHECK(counter(stats, "sent") == 3);
  CHECK(stats.drops.load() == 0);
}

TEST_CASE("tcp output round robin starts at worker 1, sticky keeps an id on its FNV-1a connection", "[unit][tcp]") {
  CHECK(gor_fnv32a("a") == 0xe40c292cu);  // the published FNV-1a 32 test vector
  CHECK(gor_fnv32a("") == 2166136261u);
  asio::io_context io;
  const bool sticky = GENERATE(false, true);
  test_listener rx(io);
  std::vector<message_ptr> msgs;
  std::vector<std::string> ids = {"id0000000000000000000000", "id1111111111111111111111", "id2222222222222222222222",
                                  "id3333333333333333333333", "id4444444444444444444444", "id5555555555555555555555"};
  for (int round = 0; round < 3; ++round)
    for (std::size_t i = 0; i < ids.size(); ++i) msgs.push_back(request(ids[i], round * 10 + static_cast<int>(i)));
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<vector_source>(msgs));
  tcp_output_options o;
  o.workers = 3;
  o.sticky = sticky;
  p.add_sink("output-tcp", std::make_unique<tcp_output>(rx.address(), o));
  bool finished = false;
  p.async_run([&](std::exception_ptr) { finished = true; });
  REQUIRE(run_until(io, [&] { return finished && rx.st->ended == static_cast<int>(rx.st->conns.size()); }));

  // Which connection each message arrived on, and in what order per connection.
  std::map<std::string, std::size_t> conn_of;  // record -> connection
  std::size_t total = 0;
  for (std::size_t c = 0; c < rx.st->conns.size(); ++c) {
    gor_record_reader r;
    r.feed(*rx.st->conns[c]);
    r.finish();
    std::int64_t last_ts = -1;
    while (auto m = r.next()) {
      conn_of[std::string(m->record())] = c;
      CHECK(m->timestamp_ns() > last_ts);  // in order on each connection
      last_ts = m->timestamp_ns();
      ++total;
    }
  }
  REQUIRE(total == msgs.size());
  auto worker_of = [&](std::size_t k) {  // gor's choice for message k
    return sticky ? gor_fnv32a(msgs[k]->id()) % 3 : (k + 1) % 3;
  };
  // Messages share a connection exactly when gor's rule gives them the same worker.
  for (std::size_t a = 0; a < msgs.size(); ++a)
    for (std::size_t b = a + 1; b < msgs.size(); ++b)
      CHECK((conn_of[std::string(msgs[a]->record())] == conn_of[std::string(msgs[b]->record())]) ==
            (worker_of(a) == worker_of(b)));
}

TEST_CASE("tcp input splits streams as gor: split writes, garbage, a record cut at close", "[unit][tcp]") {
  asio::io_context io;
  std::uint16_t port = 0;
  tcp_input_options io_opts;
  auto got = std::make_shared<collecting_sink::state>();
  pipeline p(io.get_executor());
  auto input = std::make_unique<tcp_input>("127.0.0.1:0", io_opts);
  port = input->port();
  auto& in_stats = p.add_source("input-tcp", std::move(input));
  p.add_sink("collect", std::make_unique<collecting_sink>(got));
  bool finished = false;
  std::exception_ptr err;
  p.async_run([&](std::exception_ptr e) {
    finished = true;
    err = e;
  });
  REQUIRE(run_until(io, [&] { return port != 0; }));

  const std::string r1 = "1 aaaaaaaaaaaaaaaaaaaaaaaa 1000 -1\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n";
  // A payload with the monkeys inside a line and a line that is almost the separator.
  const std::string r2 = "2 aaaaaaaaaaaaaaaaaaaaaaaa 2000 1000\nHTTP/1.1 200 OK\r\n\r\nx\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n"
                         "\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\n\n";
  const std::string garbage = "garbage without a meta line";
  const std::string r3 = "1 bbbbbbbbbbbbbbbbbbbbbbbb 3000 -1\nPOST /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nZ";
  const std::string cut = "1 cccccccccccccccccccccccc 4000 -1\nGET /never-finished";
  std::string stream = r1 + sep + r2 + sep + garbage + sep + r3 + sep + cut;
  // Split everywhere: byte by byte through the first record and its separator, then odd chunks.
  std::vector<std::string> pieces;
  std::size_t pos = 0;
  for (; pos < r1.size() + sep.size(); ++pos) pieces.push_back(stream.substr(pos, 1));
  for (std::size_t step = 7; pos < stream.size(); pos += step, step = step * 3 % 17 + 1) pieces.push_back(stream.substr(pos, step));

  bool written = false;
  asio::co_spawn(io, write_pieces(port, pieces, &written), asio::detached);
  // A second connection at the same time, whole records.
  bool written2 = false;
  const std::string r4 = "1 dddddddddddddddddddddddd 5000 -1\nGET /d HTTP/1.1\r\n\r\n";
  asio::co_spawn(io, write_pieces(port, {r4 + sep}, &written2), asio::detached);

  REQUIRE(run_until(io, [&] { return written && written2 && got->got.size() >= 4 && counter(in_stats, "truncated") == 1; }));
  p.stop();
  REQUIRE(run_until(io, [&] { return finished; }));
  CHECK_FALSE(err);
  std::set<std::string> records;
  for (auto& m : got->got) records.insert(std::string(m->record()));
  CHECK(records == std::set<std::string>{r1, r2, r3, r4});
  CHECK(got->got.size() == 4);
  CHECK(counter(in_stats, "malformed") == 1);
  CHECK(counter(in_stats, "truncated") == 1);
  CHECK(in_stats.drops.load() == 2);
  CHECK(counter(in_stats, "connections") == 2);
  CHECK(got->ended);
}

TEST_CASE("tcp output to tcp input: the records arrive byte for byte", "[unit][tcp]") {
  asio::io_context io;
  std::uint16_t port = 0;
  tcp_input_options in_opts;
  auto got = std::make_shared<collecting_sink::state>();
  pipeline rx(io.get_executor());
  auto input = std::make_unique<tcp_input>(":0", in_opts);
  port = input->port();
  rx.add_source("input-tcp", std::move(input));
  rx.add_sink("collect", std::make_unique<collecting_sink>(got));
  bool rx_done = false;
  rx.async_run([&](std::exception_ptr) { rx_done = true; });
  REQUIRE(run_until(io, [&] { return port != 0; }));

  std::vector<message_ptr> msgs;
  for (int i = 0; i < 500; ++i) {
    auto id = std::to_string(100000000 + i) + "000000000000000";
    std::string body(static_cast<std::size_t>(i * 37 % 3000), static_cast<char>('a' + i % 26));
    msgs.push_back(i % 2 ? response(id, i, "HTTP/1.1 200 OK\r\n\r\n" + body) : request(id, i, "GET /" + body + " HTTP/1.1\r\n\r\n"));
  }
  pipeline tx(io.get_executor());
  tx.add_source("src", std::make_unique<vector_source>(msgs));
  tcp_output_options o;
  o.sticky = true;
  auto& tx_stats = tx.add_sink("output-tcp", std::make_unique<tcp_output>("127.0.0.1:" + std::to_string(port), o));
  bool tx_done = false;
  tx.async_run([&](std::exception_ptr) { tx_done = true; });
  REQUIRE(run_until(io, [&] { return tx_done && got->got.size() == msgs.size(); }));
  rx.stop();
  REQUIRE(run_until(io, [&] { return rx_done; }));
  CHECK(counter(tx_stats, "sent") == msgs.size());
  // Sticky: each id's request and response kept their order; compare as sets of exact records.
  std::multiset<std::string> sent, received;
  for (auto& m : msgs) sent.insert(std::string(m->record()));
  for (auto& m : got->got) received.insert(std::string(m->record()));
  CHECK(sent == received);
}

TEST_CASE("tcp transport over TLS with a self-signed certificate", "[unit][tcp]") {
  scratch_dir dir("tcp");
  REQUIRE(make_cert(dir));
  asio::io_context io;
  std::uint16_t port = 0;
  tcp_input_options in_opts;
  in_opts.secure = true;
  in_opts.certificate = dir / "cert.pem";
  in_opts.certificate_key = dir / "key.pem";
  auto got = std::make_shared<collecting_sink::state>();
  pipeline rx(io.get_executor());
  auto input = std::make_unique<tcp_input>("127.0.0.1:0", in_opts);
  port = input->port();
  auto& rx_stats = rx.add_source("input-tcp", std::move(input));
  rx.add_sink("collect", std::make_unique<collecting_sink>(got));
  bool rx_done = false;
  rx.async_run([&](std::exception_ptr) { rx_done = true; });
  REQUIRE(run_until(io, [&] { return port != 0; }));

  std::vector<message_ptr> msgs = {request("aaaaaaaaaaaaaaaaaaaaaaaa", 1), response("aaaaaaaaaaaaaaaaaaaaaaaa", 2),
                                   request("bbbbbbbbbbbbbbbbbbbbbbbb", 3)};
  SECTION("skip-verify delivers") {
    pipeline tx(io.get_executor());
    tx.add_source("src", std::make_unique<vector_source>(msgs));
    tcp_output_options o;
    o.secure = true;
    o.skip_verify = true;
    o.workers = 1;
    tx.add_sink("output-tcp", std::make_unique<tcp_output>("127.0.0.1:" + std::to_string(port), o));
    bool tx_done = false;
    tx.async_run([&](std::exception_ptr) { tx_done = true; });
    REQUIRE(run_until(io, [&] { return tx_done && got->got.size() == msgs.size(); }));
    for (std::size_t i = 0; i < msgs.size(); ++i) CHECK(got->got[i]->record() == msgs[i]->record());
  }
  SECTION("verification rejects the self-signed certificate: counted, not delivered") {
    pipeline tx(io.get_executor());
    tx.add_source("src", std::make_unique<vector_source>(msgs));
    tcp_output_options o;
    o.secure = true;
    o.workers = 1;
    o.end_timeout = 300ms;
    auto& tx_stats = tx.add_sink("output-tcp", std::make_unique<tcp_output>("localhost:" + std::to_string(port), o));
    bool tx_done = false;
    std::exception_ptr err;
    tx.async_run([&](std::exception_ptr e) {
      tx_done = true;
      err = e;
    });
    REQUIRE(run_until(io, [&] { return tx_done; }));
    CHECK_FALSE(err);
    CHECK(got->got.empty());
    CHECK(counter(tx_stats, "errors_connect") >= 1);
    CHECK(counter(tx_stats, "not_delivered") == msgs.size());
    CHECK(tx_stats.drops.load() == msgs.size());
    CHECK(counter(rx_stats, "errors_tls") >= 1);
  }
  rx.stop();
  REQUIRE(run_until(io, [&] { return rx_done; }));
}

TEST_CASE("tcp output to an unreachable target counts what it could not deliver", "[unit][tcp]") {
  asio::io_context io;
  auto port = closed_port(io);
  pipeline p(io.get_executor());
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 25; ++i) msgs.push_back(request(std::to_string(100000 + i) + "0000000000000000000", i));
  p.add_source("src", std::make_unique<vector_source>(msgs));
  tcp_output_options o;
  o.workers = 4;
  o.end_timeout = 400ms;
  auto& stats = p.add_sink("output-tcp", std::make_unique<tcp_output>("127.0.0.1:" + std::to_string(port), o));
  bool finished = false;
  std::exception_ptr err;
  auto start = std::chrono::steady_clock::now();
  p.async_run([&](std::exception_ptr e) {
    finished = true;
    err = e;
  });
  REQUIRE(run_until(io, [&] { return finished; }));
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK_FALSE(err);
  CHECK(counter(stats, "not_delivered") == msgs.size());
  CHECK(stats.drops.load() == msgs.size());
  CHECK(counter(stats, "errors_connect") >= 4);
  CHECK(counter(stats, "sent") == 0);
}

TEST_CASE("tcp plugins reject bad options clearly", "[unit][tcp]") {
  tcp_output_options o;
  o.workers = 0;
  CHECK_THROWS_WITH(tcp_output("127.0.0.1:80", o), Catch::Contains("--output-tcp-workers: must be at least 1"));
  CHECK_THROWS_AS(tcp_output("no-port", tcp_output_options{}), option_error);
  CHECK_THROWS_AS(tcp_input("nonsense", tcp_input_options{}), option_error);
  tcp_input_options i;
  i.secure = true;
  CHECK_THROWS_WITH(tcp_input(":0", i), Catch::Contains("--input-tcp-certificate"));
  i.certificate = "/nonexistent/cert.pem";
  i.certificate_key = "/nonexistent/key.pem";
  CHECK_THROWS_WITH(tcp_input(":0", i), Catch::Contains("/nonexistent/cert.pem"));
  // A busy address fails when the plugin is made, naming it.
  tcp_input first("127.0.0.1:0", tcp_input_options{});
  auto busy = "127.0.0.1:" + std::to_string(first.port());
  CHECK_THROWS_WITH(tcp_input(busy, tcp_input_options{}), Catch::Contains(busy) && Catch::Contains("in use"));
}

TEST_CASE("tcp output reconnects when the receiver closes its connection", "[unit][tcp]") {
  asio::io_context io;
  test_listener rx(io);
  auto a = request("aaaaaaaaaaaaaaaaaaaaaaaa", 1);
  auto b = request("bbbbbbbbbbbbbbbbbbbbbbbb", 2);
  rx.st->close_first_after = wire(a).size();
  auto closed_at = std::chrono::steady_clock::time_point::max();
  pipeline p(io.get_executor());
  // b waits until the first connection is gone (and a moment more for the output to notice).
  p.add_source("src", std::make_unique<gated_source>(std::vector<message_ptr>{a, b}, [&](std::size_t i) {
                 if (i == 0) return true;
                 if (closed_at == std::chrono::steady_clock::time_point::max()) {
                   if (rx.st->ended < 1) return false;
                   closed_at = std::chrono::steady_clock::now();
                 }
                 return std::chrono::steady_clock::now() > closed_at + 50ms;
               }));
  tcp_output_options o;
  o.workers = 1;
  auto& stats = p.add_sink("output-tcp", std::make_unique<tcp_output>(rx.address(), o));
  bool finished = false;
  p.async_run([&](std::exception_ptr) { finished = true; });
  bool ok = run_until(io, [&] { return finished && rx.st->ended == 2; });
  INFO("finished=" << finished << " ended=" << rx.st->ended << " conns=" << rx.st->conns.size() << " sent=" << counter(stats, "sent") << " connects=" << counter(stats, "connects"));
  REQUIRE(ok);
  REQUIRE(rx.st->conns.size() == 2);
  CHECK(*rx.st->conns[0] == wire(a));
  CHECK(*rx.st->conns[1] == wire(b));
  CHECK(counter(stats, "connects") == 2);
  CHECK(counter(stats, "sent") == 2);
  CHECK(stats.drops.load() == 0);
}

TEST_CASE("tcp input holds back a fast sender while the pipeline is full, losing nothing", "[unit][tcp]") {
  asio::io_context io;
  std::uint16_t port = 0;
  tcp_input_options in_opts;
  in_opts.read_size = byte_size{4096};
  auto got = std::make_shared<collecting_sink::state>();
  pipeline_options po;
  po.queue_capacity = 4;
  pipeline p(io.get_executor(), po);
  auto input = std::make_unique<tcp_input>("127.0.0.1:0", in_opts);
  port = input->port();
  auto& in_stats = p.add_source("input-tcp", std::move(input));
  p.add_sink("slow", std::make_unique<collecting_sink>(got, std::chrono::microseconds(200)), {}, 4);
  bool finished = false;
  p.async_run([&](std::exception_ptr) { finished = true; });
  REQUIRE(run_until(io, [&] { return port != 0; }));
  std::string stream;
  const int n = 1000;
  for (int i = 0; i < n; ++i) stream += wire(request(std::to_string(100000 + i) + "0000000000000000000", i));
  bool written = false;
  asio::co_spawn(io, write_pieces(port, {stream}, &written), asio::detached);
  REQUIRE(run_until(io, [&] { return got->got.size() == static_cast<std::size_t>(n); }, 30s));
  p.stop();
  REQUIRE(run_until(io, [&] { return finished; }));
  CHECK(written);
  CHECK(in_stats.drops.load() == 0);
  for (int i = 0; i < n; ++i) CHECK(got->got[static_cast<std::size_t>(i)]->timestamp_ns() == i);
}
