#include "support/test_plugins.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>

#include <catch2/catch.hpp>

#include <set>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;

namespace {
std::vector<message_ptr> requests(std::size_t n) {
  std::vector<message_ptr> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(request("id" + std::to_string(i), static_cast<std::int64_t>(i)));
  return v;
}
}  // namespace

TEST_CASE("every message reaches every sink, sharing one payload", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto a = std::make_shared<collecting_sink::state>();
  auto b = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(requests(1000)));
  p.add_sink("a", std::make_unique<collecting_sink>(a));
  p.add_sink("b", std::make_unique<collecting_sink>(b));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  REQUIRE(a->got.size() == 1000);
  REQUIRE(b->got.size() == 1000);
  CHECK(a->ended);
  CHECK(b->ended);
  for (std::size_t i = 0; i < 1000; ++i) {
    CHECK(a->got[i]->id() == "id" + std::to_string(i));
    CHECK(a->got[i].get() == b->got[i].get());  // the same object: no payload copy
  }
}

TEST_CASE("several finite sources end the pipeline when all are done", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto a = std::make_shared<collecting_sink::state>();
  p.add_source("s1", std::make_unique<vector_source>(requests(300)));
  p.add_source("s2", std::make_unique<vector_source>(requests(200)));
  p.add_source("s3", std::make_unique<vector_source>(std::vector<message_ptr>{}));
  p.add_sink("a", std::make_unique<collecting_sink>(a));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(a->got.size() == 500);
}

TEST_CASE("split-output round robins requests and keeps responses with their request", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.split_output = true;
  pipeline p(io.get_executor(), o);
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 1000; ++i) {
    msgs.push_back(request("r" + std::to_string(i)));
    msgs.push_back(response("r" + std::to_string(i)));
  }
  auto a = std::make_shared<collecting_sink::state>();
  auto b = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(msgs));
  p.add_sink("a", std::make_unique<collecting_sink>(a));
  p.add_sink("b", std::make_unique<collecting_sink>(b));
  REQUIRE(run_pipeline(io, p).finished);
  REQUIRE(a->got.size() == 1000);
  REQUIRE(b->got.size() == 1000);
  for (auto* st : {a.get(), b.get()}) {
    std::set<std::string> req_ids;
    for (auto& m : st->got)
      if (m->is_request()) req_ids.insert(std::string(m->id()));
    CHECK(req_ids.size() == 500);
    for (auto& m : st->got)
      if (!m->is_request()) CHECK(req_ids.count(std::string(m->id())) == 1);
  }
}

TEST_CASE("recognize-tcp-sessions keeps a session on one output", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.split_output = true;
  o.recognize_tcp_sessions = true;
  pipeline p(io.get_executor(), o);
  std::vector<message_ptr> msgs;
  // Two sessions: the first 16 hex chars identify the connection.
  for (int i = 0; i < 200; ++i)
    msgs.push_back(request((i % 2 ? "aaaaaaaaaaaaaaaa" : "bbbbbbbbbbbbbbbb") + std::to_string(10000000 + i)));
  auto a = std::make_shared<collecting_sink::state>();
  auto b = std::make_shared<collecting_sink::state>();
  auto c = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(msgs));
  p.add_sink("a", std::make_unique<collecting_sink>(a));
  p.add_sink("b", std::make_unique<collecting_sink>(b));
  p.add_sink("c", std::make_unique<collecting_sink>(c));
  REQUIRE(run_pipeline(io, p).finished);
  for (auto* st : {a.get(), b.get(), c.get()}) {
    std::set<std::string> sessions;
    for (auto& m : st->got) sessions.insert(std::string(m->id().substr(0, 16)));
    CHECK(sessions.size() <= 2);
    if (!st->got.empty()) CHECK(st->got.size() % 100 == 0);
  }
  CHECK(a->got.size() + b->got.size() + c->got.size() == 200);
}

TEST_CASE("a slow sink slows the source; nothing is dropped", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 4;
  pipeline p(io.get_executor(), o);
  auto slow = std::make_shared<collecting_sink::state>();
  auto src = std::make_unique<vector_source>(requests(60));
  auto* srcp = src.get();
  p.add_source("src", std::move(src));
  auto& sink_stats = p.add_sink("slow", std::make_unique<collecting_sink>(slow, 2ms));
  // Sample how far the source got while the sink is busy: bounded by the two queues.
  std::size_t sent_early = 0;
  asio::steady_timer probe(io, 30ms);
  probe.async_wait([&](auto) { sent_early = srcp->sent; });
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(slow->got.size() == 60);
  CHECK(sink_stats.drops == 0);
  CHECK(sent_early < 30);  // 30 ms of a 2 ms/msg sink, plus at most 2 x 4 queued + in flight
}

TEST_CASE("stop drains what was accepted and ends cleanly", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 64;
  pipeline p(io.get_executor(), o);
  auto st = std::make_shared<collecting_sink::state>();
  auto src = std::make_unique<endless_source>();
  auto* srcp = src.get();
  p.add_source("live", std::move(src));
  auto& sink_stats = p.add_sink("slowish", std::make_unique<collecting_sink>(st, 100us));
  asio::steady_timer t(io, 50ms);
  t.async_wait([&](auto) { p.stop(); });
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(st->ended);
  // Every message the source managed to send was delivered.
  CHECK(st->got.size() == srcp->sent);
  CHECK(sink_stats.drops == 0);
  CHECK(srcp->sent > 10);
}

TEST_CASE("stop before run ends at once", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("live", std::make_unique<endless_source>(1ms));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  p.stop();
  auto r = run_pipeline(io, p, 2s);
  REQUIRE(r.finished);
  CHECK(st->ended);
}

TEST_CASE("a failing source cancels the rest and surfaces its error", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("input-file(x.gor)", std::make_unique<failing_source>());
  p.add_source("live", std::make_unique<endless_source>(1ms));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  REQUIRE(r.error);
  CHECK(error_text(r.error) == "input-file(x.gor): disk on fire");
  CHECK(st->ended);  // the other plugins drained and ended normally
}

TEST_CASE("a failing sink stops the pipeline with its name; the others drain", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("live", std::make_unique<endless_source>(100us));
  p.add_sink("output-http(x)", std::make_unique<failing_sink>());
  p.add_sink("good", std::make_unique<collecting_sink>(st));
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "output-http(x): target exploded");
  CHECK(st->ended);
}

TEST_CASE("abort cancels every task; sinks see the cancellation", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("live", std::make_unique<endless_source>());
  p.add_sink("stuck", std::make_unique<collecting_sink>(st, std::chrono::hours(1)));
  asio::steady_timer t(io, 20ms);
  t.async_wait([&](auto) { p.abort(); });
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(st->flushed_after_cancel);
}

TEST_CASE("the drain timeout aborts sinks that never finish", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.drain_timeout = 100ms;
  pipeline p(io.get_executor(), o);
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("live", std::make_unique<endless_source>());
  p.add_sink("stuck", std::make_unique<collecting_sink>(st, std::chrono::hours(1)));
  asio::steady_timer t(io, 20ms);
  t.async_wait([&](auto) { p.stop(); });
  auto start = std::chrono::steady_clock::now();
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(p.stats().back()->counters().size() > 0);
}

TEST_CASE("replayed responses flow back to the other sinks before they end", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 2;  // small queues: the way back must not deadlock
  pipeline p(io.get_executor(), o);
  auto replayer = std::make_shared<collecting_sink::state>();
  replayer->accept = [](const message& m) { return m.is_request(); };
  auto recorder = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(requests(500)));
  p.add_sink("replayer", std::make_unique<collecting_sink>(replayer, std::chrono::microseconds(0), true));
  p.add_sink("recorder", std::make_unique<collecting_sink>(recorder, 10us));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(replayer->got.size() == 500);
  std::size_t req = 0, replayed = 0;
  for (auto& m : recorder->got) {
    if (m->is_request()) ++req;
    if (m->type() == message_type::replayed_response) ++replayed;
  }
  CHECK(req == 500);
  CHECK(replayed == 500);
  CHECK(recorder->ended);
}

TEST_CASE("output limits: |N passes at most N a second, |0% none, |100% all", "[unit][pipeline][limit]") {
  for (auto [lim, expect] : {std::pair{"10", 10}, std::pair{"0%", 0}, std::pair{"100%", 100}}) {
    asio::io_context io;
    pipeline p(io.get_executor());
    auto st = std::make_shared<collecting_sink::state>();
    p.add_source("src", std::make_unique<vector_source>(requests(100)));
    p.add_sink("a", std::make_unique<collecting_sink>(st), rate_limit::parse(lim));
    REQUIRE(run_pipeline(io, p).finished);
    CHECK(st->got.size() == static_cast<std::size_t>(expect));
  }
}

TEST_CASE("input limit |10 passes 10 of a burst", "[unit][pipeline][limit]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  auto& s = p.add_source("src", std::make_unique<vector_source>(requests(100)), rate_limit::parse("10"));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  REQUIRE(run_pipeline(io, p).finished);
  CHECK(st->got.size() == 10);
  CHECK(s.drops == 90);
}

namespace {
class drop_posts : public message_filter {
 public:
  message_ptr apply(message_ptr m) override {
    if (m->is_request() && m->payload().rfind("POST", 0) == 0) return nullptr;
    return m;
  }
};
}  // namespace

TEST_CASE("a filtered request takes its responses with it", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(std::vector<message_ptr>{
                          request("p1", 1, "POST / HTTP/1.1\r\n\r\n"), response("p1"),
                          request("g1", 3, "GET / HTTP/1.1\r\n\r\n"), response("g1")}));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  p.add_filter(std::make_unique<drop_posts>());
  REQUIRE(run_pipeline(io, p).finished);
  REQUIRE(st->got.size() == 2);
  CHECK(st->got[0]->id() == "g1");
  CHECK(st->got[1]->id() == "g1");
}

TEST_CASE("payloads over copy-buffer-size are truncated and counted", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.copy_buffer_size = 10;
  pipeline p(io.get_executor(), o);
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(std::vector<message_ptr>{request("x", 1, std::string(100, 'a'))}));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  REQUIRE(run_pipeline(io, p).finished);
  REQUIRE(st->got.size() == 1);
  CHECK(st->got[0]->payload() == std::string(10, 'a'));
  CHECK(st->got[0]->id() == "x");
}

TEST_CASE("a sink that ends early gets no more and its losses are counted", "[unit][pipeline]") {
  class one_shot : public sink {
   public:
    asio::awaitable<void> run(message_reader in) override { (void)co_await in.receive(); }
  };
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 8;
  pipeline p(io.get_executor(), o);
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(requests(100)));
  auto& os = p.add_sink("one", std::make_unique<one_shot>());
  p.add_sink("all", std::make_unique<collecting_sink>(st));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(st->got.size() == 100);
  CHECK(os.messages == 1);
  CHECK(os.drops == 99);
}

TEST_CASE("cancelling async_run through its slot stops the pipeline", "[unit][pipeline]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("live", std::make_unique<endless_source>(100us));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  asio::cancellation_signal sig;
  bool finished = false;
  p.async_run(asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr) { finished = true; }));
  asio::steady_timer t(io, 20ms);
  t.async_wait([&](auto) { sig.emit(asio::cancellation_type::total); });
  io.run_for(5s);
  CHECK(finished);
  CHECK(st->ended);
}

namespace {
// An in-process stand-in for a middleware: echoes with a delay, drops "drop" ids, answers late.
class echo_stage : public message_stage {
 public:
  asio::awaitable<void> run(message_reader in, message_writer out) override {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (auto m = co_await in.receive()) {
      ++seen;
      if (m->type() == message_type::replayed_response) ++replayed_seen;
      if (m->id().rfind("drop", 0) == 0) continue;
      t.expires_after(50us);
      co_await t.async_wait(asio::use_awaitable);
      co_await out.send(m);
    }
  }
  std::size_t seen = 0, replayed_seen = 0;
};
}  // namespace

TEST_CASE("a stage sees every message, replayed responses included, and its output continues", "[unit][pipeline][stage]") {
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 4;
  pipeline p(io.get_executor(), o);
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 200; ++i) msgs.push_back(request((i % 10 == 0 ? "drop" : "keep") + std::to_string(i)));
  auto replayer = std::make_shared<collecting_sink::state>();
  replayer->accept = [](const message& m) { return m.is_request(); };
  auto recorder = std::make_shared<collecting_sink::state>();
  auto st = std::make_unique<echo_stage>();
  auto* stp = st.get();
  p.add_source("src", std::make_unique<vector_source>(msgs));
  p.add_sink("replayer", std::make_unique<collecting_sink>(replayer, std::chrono::microseconds(0), true));
  p.add_sink("recorder", std::make_unique<collecting_sink>(recorder));
  p.set_stage("middleware", std::move(st));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(replayer->got.size() == 180);
  CHECK(stp->replayed_seen == 180);  // every replayed response went through the stage
  CHECK(stp->seen == 200 + 180);
  std::size_t replayed = 0;
  for (auto& m : recorder->got) replayed += m->type() == message_type::replayed_response;
  CHECK(replayed == 180);
  CHECK(recorder->got.size() == 360);
  CHECK(recorder->ended);
}

TEST_CASE("a stage that fails stops the pipeline with its name", "[unit][pipeline][stage]") {
  class dying_stage : public message_stage {
   public:
    asio::awaitable<void> run(message_reader in, message_writer) override {
      (void)co_await in.receive();
      throw std::runtime_error("middleware exited with status 3");
    }
  };
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("live", std::make_unique<endless_source>(100us));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  p.set_stage("middleware(./mw.sh)", std::make_unique<dying_stage>());
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "middleware(./mw.sh): middleware exited with status 3");
  CHECK(st->ended);
}

namespace {
// Pushes with offer() and falls back to send() when the pipeline is full, as the file and
// capture inputs do; counts how often the pipeline was full.
class offering_source : public source {
 public:
  offering_source(std::vector<message_ptr> v, std::size_t& full) : v_(std::move(v)), full_(full) {}
  asio::awaitable<void> run(message_writer out) override {
    for (auto m : v_) {
      const message* before = m.get();
      if (out.offer(m)) {
        if (m) throw std::logic_error("offer kept a message it queued");
        continue;
      }
      if (m.get() != before) throw std::logic_error("offer changed a message it did not queue");
      ++full_;
      co_await out.send(std::move(m));
    }
  }

 private:
  std::vector<message_ptr> v_;
  std::size_t& full_;
};
}  // namespace

TEST_CASE("offer queues without suspending and leaves the message when the pipeline is full", "[unit][pipeline]") {
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 4;
  pipeline p(io.get_executor(), o);
  auto slow = std::make_shared<collecting_sink::state>();
  std::size_t full = 0;
  auto& src_stats = p.add_source("src", std::make_unique<offering_source>(requests(40), full));
  p.add_sink("slow", std::make_unique<collecting_sink>(slow, 1ms));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(full > 0);  // the full path was taken
  REQUIRE(slow->got.size() == 40);
  for (std::size_t i = 0; i < 40; ++i) CHECK(slow->got[i]->id() == "id" + std::to_string(i));
  CHECK(src_stats.messages == 40);
  CHECK(src_stats.drops == 0);
}

namespace {
// A source that cannot pause (as a live capture): try_send only, all in one turn.
class pushing_source : public source {
 public:
  pushing_source(std::vector<message_ptr> v, std::size_t& refused) : v_(std::move(v)), refused_(refused) {}
  asio::awaitable<void> run(message_writer out) override {
    for (auto& m : v_)
      if (!out.try_send(m)) ++refused_;
    co_return;
  }

 private:
  std::vector<message_ptr> v_;
  std::size_t& refused_;
};
}  // namespace

TEST_CASE("with one output, offer waits on the output's channel and send keeps the order", "[unit][pipeline]") {
  // The file input's shape: offer() until the one output's channel is full, then send(),
  // which waits there for room (not in the router's lane). Nothing lost, nothing reordered.
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 8;
  pipeline p(io.get_executor(), o);
  auto st = std::make_shared<collecting_sink::state>();
  std::size_t full = 0;
  auto& src_stats = p.add_source("src", std::make_unique<offering_source>(requests(5000), full));
  auto& sink_stats = p.add_sink("a", std::make_unique<collecting_sink>(st));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(full > 0);
  REQUIRE(st->got.size() == 5000);
  for (std::size_t i = 0; i < 5000; ++i) REQUIRE(st->got[i]->id() == "id" + std::to_string(i));
  CHECK(src_stats.messages == 5000);
  CHECK(src_stats.drops == 0);
  CHECK(sink_stats.drops == 0);
}

TEST_CASE("try_send still queues in the router's lane when the one output is full", "[unit][pipeline]") {
  // Capacity 4 in the output's channel and 4 in the lane: 8 pushed in one turn all fit;
  // the ninth and tenth are refused and counted.
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 4;
  pipeline p(io.get_executor(), o);
  auto st = std::make_shared<collecting_sink::state>();
  std::size_t refused = 0;
  auto& src_stats = p.add_source("live", std::make_unique<pushing_source>(requests(10), refused));
  p.add_sink("a", std::make_unique<collecting_sink>(st));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(refused == 2);
  CHECK(src_stats.drops == 2);
  REQUIRE(st->got.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) CHECK(st->got[i]->id() == "id" + std::to_string(i));
}

TEST_CASE("the one output ending early while its source waits for room is counted, not an error", "[unit][pipeline]") {
  class one_shot : public sink {
   public:
    asio::awaitable<void> run(message_reader in) override { (void)co_await in.receive(); }
  };
  asio::io_context io;
  pipeline_options o;
  o.queue_capacity = 4;
  pipeline p(io.get_executor(), o);
  std::size_t full = 0;
  p.add_source("src", std::make_unique<offering_source>(requests(100), full));
  auto& os = p.add_sink("one", std::make_unique<one_shot>());
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(full > 0);
  CHECK(os.messages == 1);
  CHECK(os.messages + os.drops + os.queue_depth() == 100);
}
