// The Kafka input and output against librdkafka's mock cluster (the real protocol on
// loopback), checked with plain librdkafka producers and consumers; and gor's JSON codec.
#include "core/kafka/kafka_common.hpp"
#include "core/options.hpp"
#include "inputs/kafka/kafka_input.hpp"
#include "outputs/kafka/kafka_output.hpp"
#include "support/test_plugins.hpp"

#include <boost/asio/steady_timer.hpp>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;

namespace {

// A mock cluster with the given topics (name, partitions), torn down with the test.
struct mock_cluster {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mc = nullptr;
  std::string bootstrap;
  explicit mock_cluster(std::vector<std::pair<std::string, int>> topics) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(rk);
    mc = rd_kafka_mock_cluster_new(rk, 1);
    REQUIRE(mc);
    for (auto& [t, n] : topics) REQUIRE(rd_kafka_mock_topic_create(mc, t.c_str(), n, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  }
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
  }
};

rd_kafka_conf_t* quiet_conf(const std::string& bootstrap) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  return conf;
}

// Produces the values with a plain producer (partition -1: librdkafka chooses).
void produce(const std::string& bootstrap, const std::string& topic, const std::vector<std::string>& values,
             int partition = 0) {
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, quiet_conf(bootstrap), err, sizeof err);
  REQUIRE(rk);
  for (auto& v : values)
    REQUIRE(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(rd_kafka_flush(rk, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
}

// Every record of every partition from the beginning, with a plain consumer (assign, no group).
std::vector<std::string> consume_all(const std::string& bootstrap, const std::string& topic, std::size_t want,
                                     std::chrono::milliseconds limit = 10s) {
  char err[256];
  rd_kafka_conf_t* conf = quiet_conf(bootstrap);
  rd_kafka_conf_set(conf, "group.id", "test", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  REQUIRE(rk);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  REQUIRE(rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  REQUIRE(md->topic_cnt == 1);
  auto* list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int p = 0; p < md->topics[0].partition_cnt; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), md->topics[0].partitions[p].id)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  REQUIRE(rd_kafka_assign(rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  std::vector<std::string> got;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) got.emplace_back(static_cast<const char*>(m->payload), m->len);
    rd_kafka_message_destroy(m);
  }
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  return got;
}

std::vector<std::string> records_of(const std::vector<message_ptr>& ms) {
  std::vector<std::string> v;
  for (auto& m : ms) v.emplace_back(m->record());
  return v;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<message_ptr> sample_messages(int n) {
  std::vector<message_ptr> v;
  for (int i = 0; i < n; ++i) {
    auto id = std::string(20, '0') + std::to_string(1000 + i);
    v.push_back(message::make(message_type::request, id, 1'000'000 * (i + 1), std::nullopt,
                              "GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    v.push_back(message::make(message_type::response, id, 1'000'000 * (i + 1) + 5, 5,
                              std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\x00\xff", 40)));
  }
  return v;
}

// Runs the pipeline until `done()` holds (then stops it gracefully) or `limit` passes.
run_result run_until(asio::io_context& io, pipeline& p, std::function<bool()> done,
                     std::chrono::milliseconds limit = 15s) {
  run_result r;
  p.async_run([&](std::exception_ptr e) {
    r.finished = true;
    r.error = e;
  });
  asio::steady_timer t(io);
  std::function<void()> check = [&] {
    t.expires_after(10ms);
    t.async_wait([&](boost::system::error_code ec) {
      if (ec || r.finished) return;
      if (done()) p.stop();
      else check();
    });
  };
  check();
  io.run_for(limit);
  return r;
}

kafka_output_options output_opts(const std::string& bootstrap, const std::string& topic) {
  kafka_output_options o;
  o.brokers = bootstrap;
  o.topic = topic;
  return o;
}

kafka_input_options input_opts(const std::string& bootstrap, const std::string& topic, std::string offset) {
  kafka_input_options o;
  o.brokers = bootstrap;
  o.topic = topic;
  o.offset = std::move(offset);
  return o;
}

std::uint64_t counter(const plugin_stats& s, const std::string& key) {
  for (auto& [k, v] : s.counters())
    if (k == key) return v;
  return 0;
}

}  // namespace

TEST_CASE("kafka JSON: gor's KafkaMessage from a record", "[unit][kafka]") {
  // gor's own test: an invalid request line leaves URL and headers out.
  auto bad = message::parse("1 2 3\nGET / HTTP1.1\r\nHeader: 1\r\n\r\n");
  REQUIRE(bad);
  CHECK(kafka::to_json(*bad) == R"({"Req_URL":"","Req_Type":"1","Req_ID":"2","Req_Ts":"3","Req_Method":"GET"})");

  auto req = message::parse(
      "1 abc 42 -1\nPOST /p?q=<1>&r HTTP/1.1\r\ncontent-type: text/plain\r\nX-Dup: a\r\nx-dup: b\r\nHost: h\r\n\r\nbody&<>");
  REQUIRE(req);
  CHECK(kafka::to_json(*req) ==
        R"({"Req_URL":"/p?q=\u003c1\u003e\u0026r","Req_Type":"1","Req_ID":"abc","Req_Ts":"42","Req_Method":"POST",)"
        R"("Req_Body":"body\u0026\u003c\u003e","Req_Headers":{"Content-Type":"text/plain","Host":"h","X-Dup":"a, b"}})");

  auto resp = message::parse("2 abc 43 1\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(resp);
  CHECK(kafka::to_json(*resp) ==
        R"({"Req_URL":"","Req_Type":"2","Req_ID":"abc","Req_Ts":"43","Req_Method":"HTTP/1.1","Req_Headers":{"Content-Length":"0"}})");
}

TEST_CASE("kafka JSON: gor's KafkaMessage back to a record", "[unit][kafka]") {
  std::string error;
  auto rec = kafka::record_from_json(
      R"({"Req_URL":"/","Req_Type":"1","Req_ID":"2","Req_Ts":"3","Req_Method":"GET","Req_Headers":{"Header":"1"}})", error);
  REQUIRE(rec);
  CHECK(*rec == "1 2 3\nGET / HTTP/1.1\r\nHeader: 1\r\n\r\n");
  rec = kafka::record_from_json(
      R"({"Req_URL":"/x","Req_Type":"1","Req_ID":"i","Req_Ts":"9","Req_Method":"PUT","Req_Body":"a\u0026b","Req_Headers":{"B":"2","A":"1"},"Extra":[1]})",
      error);
  REQUIRE(rec);
  CHECK(*rec == "1 i 9\nPUT /x HTTP/1.1\r\nB: 2\r\nA: 1\r\n\r\na&b");
  CHECK_FALSE(kafka::record_from_json("not json", error));
  CHECK(error.find("invalid JSON") != std::string::npos);
  CHECK_FALSE(kafka::record_from_json("[1,2]", error));
  CHECK_FALSE(kafka::record_from_json(R"({"Req_Type":1})", error));
  CHECK(error == "Req_Type is not a string");
  CHECK_FALSE(kafka::record_from_json(R"({"Req_Headers":{"A":1}})", error));
}

TEST_CASE("kafka options: offsets, topic, TLS pairs and SASL mechanisms", "[unit][kafka]") {
  CHECK(parse_kafka_offset("-1") == -1);
  CHECK(parse_kafka_offset("-2") == -2);
  CHECK(parse_kafka_offset("17") == 17);
  CHECK_THROWS_AS(parse_kafka_offset("-3"), option_error);
  CHECK_THROWS_AS(parse_kafka_offset("x"), option_error);
  CHECK_THROWS_AS(parse_kafka_offset(""), option_error);

  auto o = output_opts("127.0.0.1:1", "");
  CHECK_THROWS_WITH(kafka_output(o), Catch::Contains("needs --output-kafka-topic"));
  o.topic = "t";
  o.tls_client_cert = "/etc/hostname";
  CHECK_THROWS_WITH(kafka_output(o), Catch::Contains("needs --kafka-tls-client-key"));
  o.tls_client_cert.clear();
  o.tls_client_key = "/etc/hostname";
  CHECK_THROWS_WITH(kafka_output(o), Catch::Contains("needs --kafka-tls-client-cert"));
  o.tls_client_key.clear();
  o.use_sasl = true;
  o.mechanism = "GSSAPI";
  CHECK_THROWS_WITH(kafka_output(o), Catch::Contains("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"));
  for (auto m : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    o.mechanism = m;
    CHECK_NOTHROW(kafka_output(o));
  }
  auto i = input_opts("127.0.0.1:1", "t", "-5");
  CHECK_THROWS_WITH(kafka_input(i), Catch::Contains("below -2"));
}

TEST_CASE("kafka output produces raw records that a plain consumer reads back", "[unit][kafka]") {
  mock_cluster mc({{"raw", 3}});
  auto msgs = sample_messages(20);
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("vector", std::make_unique<vector_source>(msgs));
  auto& stats = p.add_sink("output-kafka", std::make_unique<kafka_output>(output_opts(mc.bootstrap, "raw")));
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  REQUIRE(error_text(r.error) == "");
  CHECK(counter(stats, "delivered") == msgs.size());
  auto got = consume_all(mc.bootstrap, "raw", msgs.size());
  CHECK(sorted(got) == sorted(records_of(msgs)));
}

TEST_CASE("kafka output waits when librdkafka's queue is full instead of dropping", "[unit][kafka]") {
  mock_cluster mc({{"bp", 1}});
  auto msgs = sample_messages(500);
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("vector", std::make_unique<vector_source>(msgs));
  auto o = output_opts(mc.bootstrap, "bp");
  o.queue_messages = 10;
  auto& stats = p.add_sink("output-kafka", std::make_unique<kafka_output>(o));
  auto r = run_pipeline(io, p, 30s);
  REQUIRE(r.finished);
  REQUIRE(error_text(r.error) == "");
  CHECK(counter(stats, "queue_full_waits") > 0);
  CHECK(counter(stats, "delivered") == msgs.size());
  CHECK(stats.drops.load() == 0);
  CHECK(consume_all(mc.bootstrap, "bp", msgs.size()) == records_of(msgs));  // one partition: in order
}

TEST_CASE("kafka output in JSON format", "[unit][kafka]") {
  mock_cluster mc({{"json", 1}});
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("vector", std::make_unique<vector_source>(std::vector<message_ptr>{
                             message::parse("1 2 3\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n")}));
  auto o = output_opts(mc.bootstrap, "json");
  o.json_format = true;
  p.add_sink("output-kafka", std::make_unique<kafka_output>(o));
  auto r = run_pipeline(io, p);
  REQUIRE(error_text(r.error) == "");
  CHECK(consume_all(mc.bootstrap, "json", 1) ==
        std::vector<std::string>{
            R"({"Req_URL":"/a","Req_Type":"1","Req_ID":"2","Req_Ts":"3","Req_Method":"GET","Req_Headers":{"Host":"h"}})"});
}

TEST_CASE("kafka input from the oldest offset emits the records; garbage is a counted drop", "[unit][kafka]") {
  mock_cluster mc({{"in", 1}});
  auto msgs = sample_messages(5);
  auto values = records_of(msgs);
  values.insert(values.begin() + 3, "no meta line here");
  produce(mc.bootstrap, "in", values);
  asio::io_context io;
  pipeline p(io.get_executor());
  auto& in_stats = p.add_source("input-kafka", std::make_unique<kafka_input>(input_opts(mc.bootstrap, "in", "-2")));
  auto st = std::make_shared<collecting_sink::state>();
  p.add_sink("collect", std::make_unique<collecting_sink>(st));
  auto r = run_until(io, p, [&] { return st->got.size() >= msgs.size() && counter(in_stats, "malformed") >= 1; });
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(records_of(st->got) == records_of(msgs));
  CHECK(counter(in_stats, "malformed") == 1);
  CHECK(in_stats.drops.load() == 1);
}

TEST_CASE("kafka input from an explicit offset and in JSON format", "[unit][kafka]") {
  mock_cluster mc({{"js", 1}});
  produce(mc.bootstrap, "js",
          {R"({"Req_URL":"/0","Req_Type":"1","Req_ID":"a","Req_Ts":"1","Req_Method":"GET"})",
           R"({"Req_URL":"/1","Req_Type":"1","Req_ID":"b","Req_Ts":"2","Req_Method":"GET","Req_Headers":{"Header":"1"}})",
           "{broken",
           R"({"Req_URL":"/3","Req_Type":"1","Req_ID":"d","Req_Ts":"4","Req_Method":"POST","Req_Body":"x"})"});
  asio::io_context io;
  pipeline p(io.get_executor());
  auto o = input_opts(mc.bootstrap, "js", "1");
  o.json_format = true;
  auto& in_stats = p.add_source("input-kafka", std::make_unique<kafka_input>(o));
  auto st = std::make_shared<collecting_sink::state>();
  p.add_sink("collect", std::make_unique<collecting_sink>(st));
  auto r = run_until(io, p, [&] { return st->got.size() >= 2; });
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(records_of(st->got) == std::vector<std::string>{"1 b 2\nGET /1 HTTP/1.1\r\nHeader: 1\r\n\r\n",
                                                         "1 d 4\nPOST /3 HTTP/1.1\r\n\r\nx"});
  CHECK(counter(in_stats, "malformed") == 1);
}

TEST_CASE("kafka input from the newest offset skips what was there before", "[unit][kafka]") {
  mock_cluster mc({{"new", 2}});
  auto old_msgs = sample_messages(2);
  produce(mc.bootstrap, "new", records_of(old_msgs), 0);
  asio::io_context io;
  pipeline p(io.get_executor());
  auto& in_stats = p.add_source("input-kafka", std::make_unique<kafka_input>(input_opts(mc.bootstrap, "new", "-1")));
  auto st = std::make_shared<collecting_sink::state>();
  p.add_sink("collect", std::make_unique<collecting_sink>(st));
  auto fresh = message::parse("1 fresh 5\nGET /new HTTP/1.1\r\n\r\n");
  std::thread producer;
  std::optional<std::chrono::steady_clock::time_point> assigned;
  auto r = run_until(io, p, [&] {
    if (!assigned && counter(in_stats, "partitions") == 2) assigned = std::chrono::steady_clock::now();
    // Once the fetchers have had time to resolve the end offsets, produce one more record.
    if (assigned && !producer.joinable() && std::chrono::steady_clock::now() - *assigned > 1500ms)
      producer = std::thread([&] { produce(mc.bootstrap, "new", {std::string(fresh->record())}, 1); });
    return !st->got.empty();
  });
  if (producer.joinable()) producer.join();
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  CHECK(records_of(st->got) == std::vector<std::string>{std::string(fresh->record())});
}

TEST_CASE("kafka input replays the recorded timing at the offset's speed", "[unit][kafka][timing]") {
  mock_cluster mc({{"timed", 1}});
  // Kafka timestamps (ms) 400 ms apart, replayed at 200%: about 200 ms apart.
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, quiet_conf(mc.bootstrap), err, sizeof err);
  REQUIRE(rk);
  std::vector<std::string> values{"1 a 1\nGET /a HTTP/1.1\r\n\r\n", "1 b 2\nGET /b HTTP/1.1\r\n\r\n"};
  std::int64_t ts = 1'700'000'000'000;
  for (auto& v : values) {
    REQUIRE(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("timed"), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(v.data(), v.size()), RD_KAFKA_V_TIMESTAMP(ts),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
    ts += 400;
  }
  REQUIRE(rd_kafka_flush(rk, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);

  asio::io_context io;
  pipeline p(io.get_executor());
  auto o = input_opts(mc.bootstrap, "timed", "-2");
  o.speed_factor = 2.0;
  p.add_source("input-kafka", std::make_unique<kafka_input>(o));
  auto st = std::make_shared<collecting_sink::state>();
  p.add_sink("collect", std::make_unique<collecting_sink>(st));
  std::vector<std::chrono::steady_clock::time_point> seen;
  auto r = run_until(io, p, [&] {
    while (seen.size() < st->got.size()) seen.push_back(std::chrono::steady_clock::now());
    return st->got.size() >= 2;
  });
  REQUIRE(r.finished);
  REQUIRE(seen.size() == 2);
  auto gap = seen[1] - seen[0];
  CHECK(gap >= 170ms);
  CHECK(gap < 400ms);
}

TEST_CASE("kafka plugins fail with one line naming the brokers when none can be reached", "[unit][kafka]") {
  {
    asio::io_context io;
    pipeline p(io.get_executor());
    p.add_source("vector", std::make_unique<vector_source>(sample_messages(1)));
    p.add_sink("output-kafka(127.0.0.1:1)", std::make_unique<kafka_output>(output_opts("127.0.0.1:1", "t")));
    auto r = run_pipeline(io, p, 15s);
    REQUIRE(r.finished);
    CHECK_THAT(error_text(r.error), Catch::Contains("output-kafka(127.0.0.1:1)") &&
                                        Catch::Contains("cannot reach Kafka brokers '127.0.0.1:1'"));
  }
  {
    // With nothing to send librdkafka need not connect: an idle output to a wrong address
    // reports nothing, and stops cleanly and promptly.
    asio::io_context io;
    pipeline p(io.get_executor());
    p.add_source("idle", std::make_unique<vector_source>(std::vector<message_ptr>{}, true));
    p.add_sink("output-kafka", std::make_unique<kafka_output>(output_opts("127.0.0.1:1", "t")));
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_until(io, p, [] { return true; }, 15s);
    REQUIRE(r.finished);
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  }
  {
    asio::io_context io;
    pipeline p(io.get_executor());
    p.add_source("input-kafka(127.0.0.1:1)", std::make_unique<kafka_input>(input_opts("127.0.0.1:1", "t", "-2")));
    auto st = std::make_shared<collecting_sink::state>();
    p.add_sink("collect", std::make_unique<collecting_sink>(st));
    auto r = run_pipeline(io, p, 15s);
    REQUIRE(r.finished);
    CHECK_THAT(error_text(r.error), Catch::Contains("input-kafka(127.0.0.1:1)") &&
                                        Catch::Contains("cannot reach Kafka brokers '127.0.0.1:1'"));
  }
}

TEST_CASE("kafka configuration: SASL and TLS map to librdkafka's settings", "[unit][kafka]") {
  auto get = [](rd_kafka_conf_t* c, const char* name) {
    char buf[512];
    size_t n = sizeof buf;
    REQUIRE(rd_kafka_conf_get(c, name, buf, &n) == RD_KAFKA_CONF_OK);
    return std::string(buf);
  };
  auto accepted = [](rd_kafka_conf_t* c) {  // librdkafka checks the whole set when it starts
    char err[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    INFO(err);
    if (!rk) rd_kafka_conf_destroy(c);
    else rd_kafka_destroy(rk);
    return rk != nullptr;
  };
  for (auto mech : {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}) {
    rd_kafka_conf_t* c = kafka::make_conf("127.0.0.1:1", {true, mech, "u", "p"}, {});
    CHECK(get(c, "security.protocol") == "sasl_plaintext");
    CHECK(get(c, "sasl.mechanisms") == mech);
    CHECK(get(c, "sasl.username") == "u");
    CHECK(accepted(c));
  }
  const std::string ca = "/etc/ssl/certs/ca-certificates.crt";
  rd_kafka_conf_t* c = kafka::make_conf("127.0.0.1:1", {true, "PLAIN", "u", "p"}, {ca, "", ""});
  CHECK(get(c, "security.protocol") == "sasl_ssl");
  CHECK(get(c, "ssl.ca.location") == ca);
  CHECK(accepted(c));
  c = kafka::make_conf("127.0.0.1:1", {}, {ca, "", ""});
  CHECK(get(c, "security.protocol") == "ssl");
  CHECK(accepted(c));
  c = kafka::make_conf("127.0.0.1:1", {}, {});
  CHECK(get(c, "security.protocol") == "plaintext");
  rd_kafka_conf_destroy(c);
}
