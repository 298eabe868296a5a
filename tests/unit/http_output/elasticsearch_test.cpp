// --output-http-elasticsearch: the URL, the documents, and the bulk requests a fake
// Elasticsearch (the test server) receives from a replay.
#include "outputs/http/elasticsearch_document.hpp"
#include "outputs/http/http_output.hpp"

#include "support/http_test_server.hpp"

#include <coreplay/pipeline.hpp>

#include <boost/asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <string>
#include <vector>

using namespace coreplay;
using namespace coreplay::http_replay;
using namespace std::chrono_literals;
using coreplay::test::http_test_server;
using coreplay::test::test_reply;

namespace {

std::string json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string parse_error(std::string_view url) {
  try {
    (void)parse_elasticsearch_url(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// Sends its messages, pausing `pause` before the message at `pause_at`.
class paced_source : public source {
 public:
  paced_source(std::vector<message_ptr> msgs, std::size_t pause_at = 0, std::chrono::milliseconds pause = 0ms)
      : msgs_(std::move(msgs)), pause_at_(pause_at), pause_(pause) {}
  asio::awaitable<void> run(message_writer out) override {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (std::size_t i = 0; i < msgs_.size(); ++i) {
      if (pause_.count() > 0 && i == pause_at_) {
        t.expires_after(pause_);
        co_await t.async_wait(asio::use_awaitable);
      }
      co_await out.send(msgs_[i]);
    }
  }

 private:
  std::vector<message_ptr> msgs_;
  std::size_t pause_at_;
  std::chrono::milliseconds pause_;
};

message_ptr request(std::string_view payload) {
  return message::make(message_type::request, make_message_id(), 1, std::nullopt, payload);
}

std::uint64_t counter(const plugin_stats& s, std::string_view name) {
  for (auto& [k, v] : s.counters())
    if (k == name) return v;
  return 0;
}

bool run_until_done(asio::io_context& io, pipeline& p, std::chrono::milliseconds limit = 10s) {
  bool done = false;
  std::exception_ptr err;
  p.async_run([&](std::exception_ptr e) {
    done = true;
    err = e;
  });
  auto start = std::chrono::steady_clock::now();
  while (!done && std::chrono::steady_clock::now() - start < limit) io.run_one_for(20ms);
  return done && !err;
}

// The lines of a bulk request's body.
std::vector<std::string> body_lines(const std::string& request) {
  auto body = request.substr(request.find("\r\n\r\n") + 4);
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto nl = body.find('\n', pos);
    REQUIRE(nl != std::string::npos);  // NDJSON: every line ends with a newline, the last too
    lines.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

std::string bulk_ok(std::size_t items, std::size_t failed = 0) {
  std::string body = std::string("{\"took\":3,\"errors\":") + (failed ? "true" : "false") + ",\"items\":[";
  for (std::size_t i = 0; i < items; ++i) {
    if (i) body += ",";
    if (i < failed)
      body += "{\"index\":{\"_index\":\"gor\",\"_id\":null,\"status\":400,\"error\":{\"type\":"
              "\"mapper_parsing_exception\",\"reason\":\"failed to parse field [RTT]\"}}}";
    else
      body += "{\"index\":{\"_index\":\"gor\",\"_id\":\"x" + std::to_string(i) +
              "\",\"_version\":1,\"result\":\"created\",\"status\":201}}";
  }
  body += "]}";
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::size_t docs_in(const std::string& bulk_request) { return body_lines(bulk_request).size() / 2; }

struct es_fixture {
  asio::io_context io;
  http_test_server target{io};
  http_test_server es{io};
  pipeline p{io.get_executor()};
  plugin_stats* st = nullptr;

  es_fixture() {
    target.handler = [](const std::string&) {
      return test_reply{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"};
    };
    es.handler = [](const std::string& r) { return test_reply{bulk_ok(docs_in(r))}; };
  }
  void add(std::vector<message_ptr> msgs, http_output_options o, std::size_t pause_at = 0,
           std::chrono::milliseconds pause = 0ms) {
    if (o.elasticsearch.empty()) o.elasticsearch = es.url("/gor");
    p.add_source("test", std::make_unique<paced_source>(std::move(msgs), pause_at, pause));
    st = &p.add_sink("http", std::make_unique<http_output>(target.url(), o));
  }
};

}  // namespace

TEST_CASE("elasticsearch URL: gor's parseURI rules", "[unit][http_output][elasticsearch]") {
  CHECK_THAT(parse_error("localhost:9200/gor"),
             Catch::Contains("needs a scheme") && Catch::Contains("http://localhost:9200/gor"));
  CHECK_THAT(parse_error("http://localhost:9200"), Catch::Contains("no index"));
  CHECK_THAT(parse_error("http://localhost:9200/"), Catch::Contains("no index"));
  CHECK_THAT(parse_error("http://localhost:9200/gor/"), Catch::Contains("no index"));
  CHECK_THAT(parse_error("ftp://localhost:9200/gor"), Catch::Contains("http or https"));
  CHECK_THAT(parse_error("http://:9200/gor"), Catch::Contains("no host"));
  CHECK_THAT(parse_error("http://localhost:99999/gor"), Catch::Contains("bad port"));
  CHECK_THAT(parse_error(""), Catch::Contains("--output-http-elasticsearch"));

  auto a = parse_elasticsearch_url("http://localhost:9200/gor");
  CHECK_FALSE(a.tls);
  CHECK(a.host == "localhost");
  CHECK(a.port == "9200");
  CHECK(a.index == "gor");
  CHECK(a.bulk_path == "/_bulk");
  CHECK(a.authority == "localhost:9200");
  CHECK(a.authorization.empty());

  auto b = parse_elasticsearch_url("http://localhost/gor");  // gor's client defaults to 9200
  CHECK(b.port == "9200");
  CHECK(b.index == "gor");

  auto c = parse_elasticsearch_url("https://localhost.local:9200/gor");
  CHECK(c.tls);
  CHECK(c.host == "localhost.local");

  auto d = parse_elasticsearch_url("http://localhost.local:9200/pathtoElastic/gor");
  CHECK(d.index == "gor");
  CHECK(d.bulk_path == "/pathtoElastic/_bulk");

  auto e = parse_elasticsearch_url("http://user:password@localhost.local:9200/gor");
  CHECK(e.host == "localhost.local");
  CHECK(e.index == "gor");
  CHECK(e.authorization == "Basic dXNlcjpwYXNzd29yZA==");
  CHECK(parse_elasticsearch_url("http://us%40r:p%3Ass@h:1/i").authorization == "Basic " + base64_encode("us@r:p:ss"));

  auto f = parse_elasticsearch_url("http://[::1]:9201/logs?pretty");
  CHECK(f.host == "::1");
  CHECK(f.authority == "[::1]:9201");
  CHECK(f.index == "logs");
}

TEST_CASE("elasticsearch JSON strings: escapes and UTF-8 repair", "[unit][http_output][elasticsearch]") {
  CHECK(json("plain /path?q=1") == "\"plain /path?q=1\"");
  CHECK(json("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json("\n\r\t\x01\x1f\x7f") == "\"\\n\\r\\t\\u0001\\u001f\x7f\"");
  CHECK(json(std::string_view("\0x", 2)) == "\"\\u0000x\"");
  CHECK(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(json("\xff") == "\"\\ufffd\"");
  CHECK(json("a\xc0\xafz") == "\"a\\ufffd\\ufffdz\"");               // overlong '/'
  CHECK(json("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");        // a surrogate
  CHECK(json("\xf4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
  CHECK(json("x\xe2\x82") == "\"x\\ufffd\\ufffd\"");                 // cut short at the end
  CHECK(json("\xe2\x82\xac\x80") == "\"\xe2\x82\xac\\ufffd\"");      // a stray continuation byte
}

TEST_CASE("elasticsearch Timestamp: RFC 3339 with nanoseconds, as Go prints it", "[unit][http_output][elasticsearch]") {
  auto ts = [](std::int64_t ns) {
    std::string s;
    append_rfc3339_nano(s, ns);
    return s;
  };
  CHECK(ts(1'700'000'000'123'456'789) == "2023-11-14T22:13:20.123456789Z");
  CHECK(ts(1'700'000'000'120'000'000) == "2023-11-14T22:13:20.12Z");
  CHECK(ts(1'700'000'000'000'000'000) == "2023-11-14T22:13:20Z");
  CHECK(ts(1'700'000'000'000'000'001) == "2023-11-14T22:13:20.000000001Z");
}

TEST_CASE("elasticsearch document: gor's fields, omitempty, RTT in milliseconds", "[unit][http_output][elasticsearch]") {
  const std::string req =
      "GET /search?q=a%20b HTTP/1.1\r\nHost: shop\r\nuser-agent: curl/8.0\r\nAccept: */*\r\n"
      "Accept-Language: fr\r\nCookie: s=1; t=\"2\"\r\nConnection: keep-alive\r\n\r\n";
  const std::string resp =
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\nSet-Cookie: a=1\r\n"
      "Set-Cookie: b=2\r\nVary: Accept-Encoding\r\n\r\n";
  std::string out;
  append_document(out, req, resp, 2'500'000'000, 1'700'000'000'123'456'789);
  CHECK(out ==
        "{\"Req_URL\":\"/search?q=a%20b\",\"Req_Method\":\"GET\",\"Req_User-Agent\":\"curl/8.0\","
        "\"Req_Accept-Language\":\"fr\",\"Req_Accept\":\"*/*\",\"Req_Connection\":\"keep-alive\","
        "\"Req_Cookies\":\"s=1; t=\\\"2\\\"\",\"Resp_Status\":\"404\",\"Resp_Status-Code\":\"404\","
        "\"Resp_Proto\":\"HTTP/1.1\",\"Resp_Content-Length\":\"9\",\"Resp_Content-Type\":\"text/html\","
        "\"Resp_Vary\":\"Accept-Encoding\",\"Resp_Set-Cookie\":\"a=1\",\"RTT\":2500,"
        "\"Timestamp\":\"2023-11-14T22:13:20.123456789Z\"}\n");

  // Without the optional headers only gor's non-omitempty fields remain; a missing
  // User-Agent is an empty string, as gor's.
  std::string bare;
  append_document(bare, "POST /x HTTP/1.0\n\n", "HTTP/1.0 200 OK\n\n", 999'999, 1'700'000'000'000'000'000);
  CHECK(bare ==
        "{\"Req_URL\":\"/x\",\"Req_Method\":\"POST\",\"Req_User-Agent\":\"\",\"Resp_Status\":\"200\","
        "\"Resp_Status-Code\":\"200\",\"Resp_Proto\":\"HTTP/1.0\",\"RTT\":0,\"Timestamp\":\"2023-11-14T22:13:20Z\"}\n");

  CHECK(bulk_action_line("gor") == "{\"index\":{\"_index\":\"gor\"}}\n");

  // After interim answers, the final one is described.
  std::string after_interim;
  append_document(after_interim, "POST /u HTTP/1.1\r\n\r\n",
                  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                  "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
                  5'000'000, 1'700'000'000'000'000'000);
  CHECK_THAT(after_interim, Catch::Contains("\"Resp_Status\":\"201\"") && Catch::Contains("\"Resp_Content-Length\":\"0\"") &&
                                Catch::Contains("\"RTT\":5,"));
}

TEST_CASE("elasticsearch documents with hostile bytes are JSON that python accepts", "[unit][http_output][elasticsearch]") {
  std::string req = "GET /\xff\xfe/\x01?a=\"b\"\\ HTTP/1.1\r\nUser-Agent: \xc0\x80\xed\xa0\x80\x7f\t\"x\"\r\n"
                    "Cookie: \xe2\x82\r\n\r\n";
  std::string out = bulk_action_line("g\"or");
  append_document(out, req, "HTTP/1.1 200 OK\r\nContent-Type: \x1b[31m\r\n\r\n", 1'000'000, 1);
  auto path = (std::filesystem::temp_directory_path() / "coreplay-es-doc.ndjson").string();
  std::ofstream(path, std::ios::binary) << out;
  std::string cmd = "python3 -c 'import json,sys\nfor l in open(sys.argv[1],encoding=\"utf-8\",errors=\"strict\"):"
                    " json.loads(l)' " + path;
  CHECK(std::system(cmd.c_str()) == 0);
  std::filesystem::remove(path);
}

TEST_CASE("elasticsearch JSON strings of random bytes: python decodes them, valid UTF-8 unchanged",
          "[unit][http_output][elasticsearch]") {
  std::minstd_rand rng(20261125);
  std::string lines;
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = 0; i < 2000; ++i) {
    std::string raw(rng() % 40, '\0');
    // Mostly text, with UTF-8 lead and continuation bytes and control bytes mixed in.
    static constexpr unsigned char pool[] = {'a', 'Z', ' ', '"', '\\', '/', '\n', 0x00, 0x1f, 0x7f, 0x80, 0xbf,
                                             0xc2, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xf0, 0x9f, 0x98, 0xf4,
                                             0x90, 0xff, 0xc0};
    for (auto& c : raw) c = static_cast<char>(pool[rng() % sizeof pool]);
    lines += "{\"hex\":\"";
    for (unsigned char c : raw) lines += hex[c >> 4], lines += hex[c & 0xF];
    lines += "\",\"s\":";
    append_json_string(lines, raw);
    lines += "}\n";
  }
  auto path = (std::filesystem::temp_directory_path() / "coreplay-es-random.ndjson").string();
  std::ofstream(path, std::ios::binary) << lines;
  std::string script =
      "import json,sys\n"
      "n=0\n"
      "for l in open(sys.argv[1],encoding='utf-8',errors='strict'):\n"
      "  d=json.loads(l); raw=bytes.fromhex(d['hex'])\n"
      "  try: t=raw.decode('utf-8')\n"
      "  except UnicodeDecodeError: t=None\n"
      "  if t is not None and t!=d['s']: sys.exit('changed: '+d['hex'])\n"
      "  if t is None and '\\ufffd' not in d['s']: sys.exit('not repaired: '+d['hex'])\n"
      "  n+=1\n"
      "sys.exit(0 if n==2000 else 'lines: %d'%n)\n";
  auto script_path = path + ".py";
  std::ofstream(script_path) << script;
  CHECK(std::system(("python3 " + script_path + " " + path).c_str()) == 0);
  std::filesystem::remove(path);
  std::filesystem::remove(script_path);
}

TEST_CASE("elasticsearch bulk answers: failed items are counted", "[unit][http_output][elasticsearch]") {
  auto body = [](std::string r) { return r.substr(r.find("\r\n\r\n") + 4); };
  CHECK(read_bulk_response(body(bulk_ok(5))).failed == 0);
  auto r = read_bulk_response(body(bulk_ok(5, 2)));
  CHECK(r.failed == 2);
  CHECK(r.first_reason == "failed to parse field [RTT]");
  CHECK(read_bulk_response("not json at all").failed == 0);
  CHECK(read_bulk_response("{\"errors\":true,\"items\":[{\"index\":{\"status\":").failed == 0);
}

TEST_CASE("http output exports each pair to a fake Elasticsearch in bulk batches", "[unit][http_output][elasticsearch]") {
  es_fixture f;
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 5; ++i)
    msgs.push_back(request("GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: shop\r\nUser-Agent: ua" +
                           std::to_string(i) + "\r\n\r\n"));
  http_output_options o;
  o.workers_min = o.workers = 1;
  o.elasticsearch_batch_docs = 2;
  o.elasticsearch_flush = 10s;  // only the count and the end of the stream may send
  f.es.handler = [](const std::string& r) { return test_reply{bulk_ok(docs_in(r))}; };
  f.add(msgs, o);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(run_until_done(f.io, f.p));
  CHECK(std::chrono::steady_clock::now() - start < 2s);  // the last batch went at the end, not after 10 s

  CHECK(f.target.requests.size() == 5);
  REQUIRE(f.es.requests.size() == 3);
  std::vector<std::size_t> sizes;
  std::vector<std::string> docs;
  for (auto& r : f.es.requests) {
    INFO(r);
    CHECK(r.rfind("POST /_bulk HTTP/1.1\r\n", 0) == 0);
    CHECK_THAT(r, Catch::Contains("\r\nContent-Type: application/x-ndjson\r\n", Catch::CaseSensitive::No));
    CHECK_THAT(r, Catch::Contains("\r\nHost: " + f.es.authority() + "\r\n", Catch::CaseSensitive::No));
    auto lines = body_lines(r);
    REQUIRE(lines.size() % 2 == 0);
    sizes.push_back(lines.size() / 2);
    for (std::size_t i = 0; i < lines.size(); i += 2) {
      CHECK(lines[i] == "{\"index\":{\"_index\":\"gor\"}}");
      docs.push_back(lines[i + 1]);
    }
  }
  CHECK(sizes == std::vector<std::size_t>{2, 2, 1});
  const std::regex shape(
      "\\{\"Req_URL\":\"/item/([0-9])\",\"Req_Method\":\"GET\",\"Req_User-Agent\":\"ua([0-9])\","
      "\"Resp_Status\":\"200\",\"Resp_Status-Code\":\"200\",\"Resp_Proto\":\"HTTP/1.1\","
      "\"Resp_Content-Length\":\"2\",\"Resp_Content-Type\":\"text/plain\",\"RTT\":([0-9]+),"
      "\"Timestamp\":\"20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z\"\\}");
  std::vector<int> seen;
  for (auto& d : docs) {
    INFO(d);
    std::smatch m;
    REQUIRE(std::regex_match(d, m, shape));
    CHECK(m[1] == m[2]);
    CHECK(std::stoi(m[3]) < 1000);
    seen.push_back(std::stoi(m[1]));
  }
  CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});  // one worker: in order
  CHECK(counter(*f.st, "es_docs") == 5);
  CHECK(counter(*f.st, "es_indexed") == 5);
  CHECK(counter(*f.st, "es_requests") == 3);
  CHECK(counter(*f.st, "es_errors") == 0);
  CHECK(counter(*f.st, "es_dropped") == 0);
}

TEST_CASE("elasticsearch export sends a partial batch after the flush interval", "[unit][http_output][elasticsearch]") {
  es_fixture f;
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 4; ++i) msgs.push_back(request("GET /p" + std::to_string(i) + " HTTP/1.1\r\n\r\n"));
  http_output_options o;
  o.elasticsearch_batch_docs = 100;
  o.elasticsearch_flush = 150ms;
  f.add(msgs, o, 3, 600ms);  // three requests, 600 ms of nothing, the fourth
  REQUIRE(run_until_done(f.io, f.p));
  REQUIRE(f.es.requests.size() == 2);
  CHECK(docs_in(f.es.requests[0]) == 3);
  CHECK(docs_in(f.es.requests[1]) == 1);
  // The first batch went by the timer, well before the fourth request.
  REQUIRE(f.target.arrivals.size() == 4);
  CHECK(f.es.arrivals[0] < f.target.arrivals[3]);
  CHECK(f.es.arrivals[0] - f.target.arrivals[0] >= 100ms);
}

TEST_CASE("elasticsearch failures are counted and never stop the replay", "[unit][http_output][elasticsearch]") {
  SECTION("a 500 and rejected items") {
    es_fixture f;
    int calls = 0;
    f.es.handler = [&](const std::string& r) {
      if (++calls == 1)
        return test_reply{"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops"};
      return test_reply{bulk_ok(docs_in(r), 1)};
    };
    std::vector<message_ptr> msgs;
    for (int i = 0; i < 6; ++i) msgs.push_back(request("GET / HTTP/1.1\r\n\r\n"));
    http_output_options o;
    o.workers_min = o.workers = 1;
    o.elasticsearch_batch_docs = 3;
    f.add(msgs, o);
    REQUIRE(run_until_done(f.io, f.p));
    CHECK(counter(*f.st, "status_2xx") == 6);
    CHECK(f.es.requests.size() == 2);
    CHECK(counter(*f.st, "es_errors") == 3 + 1);
    CHECK(counter(*f.st, "es_indexed") == 2);
    CHECK(f.st->errors == 0);  // the replay itself had none
  }
  SECTION("nobody listening") {
    asio::io_context io;
    http_test_server target(io);
    unsigned short closed_port;
    {
      asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
      closed_port = a.local_endpoint().port();
    }
    pipeline p(io.get_executor());
    std::vector<message_ptr> msgs;
    for (int i = 0; i < 4; ++i) msgs.push_back(request("GET / HTTP/1.1\r\n\r\n"));
    http_output_options o;
    o.elasticsearch = "http://127.0.0.1:" + std::to_string(closed_port) + "/gor";
    p.add_source("test", std::make_unique<paced_source>(msgs));
    auto& st = p.add_sink("http", std::make_unique<http_output>(target.url(), o));
    auto start = std::chrono::steady_clock::now();
    REQUIRE(run_until_done(io, p));
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    CHECK(counter(st, "status_2xx") == 4);
    CHECK(counter(st, "es_errors") == 4);
    CHECK(counter(st, "es_indexed") == 0);
  }
}

TEST_CASE("elasticsearch export reconnects when Elasticsearch closes its keep-alive connection",
          "[unit][http_output][elasticsearch]") {
  es_fixture f;
  f.es.handler = [](const std::string& r) {
    auto reply = test_reply{bulk_ok(docs_in(r))};
    reply.close_after = true;
    return reply;
  };
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 4; ++i) msgs.push_back(request("GET / HTTP/1.1\r\n\r\n"));
  http_output_options o;
  o.workers_min = o.workers = 1;
  o.elasticsearch_batch_docs = 1;
  f.add(msgs, o);
  REQUIRE(run_until_done(f.io, f.p));
  CHECK(f.es.requests.size() == 4);
  CHECK(f.es.connections == 4);
  CHECK(counter(*f.st, "es_indexed") == 4);
  CHECK(counter(*f.st, "es_errors") == 0);
}

TEST_CASE("a bad elasticsearch URL is rejected when the output is made", "[unit][http_output][elasticsearch]") {
  http_output_options o;
  o.elasticsearch = "localhost:9200/gor";
  CHECK_THROWS_WITH(http_output("http://127.0.0.1:1", o), Catch::Contains("needs a scheme"));
}

TEST_CASE("elasticsearch export over TLS", "[unit][http_output][elasticsearch]") {
  asio::io_context io;
  auto tls = test::make_self_signed_server_context();
  http_test_server target(io);
  http_test_server es(io, tls.get());
  es.handler = [](const std::string& r) { return test_reply{bulk_ok(docs_in(r))}; };
  pipeline p(io.get_executor());
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 3; ++i) msgs.push_back(request("GET /t HTTP/1.1\r\n\r\n"));
  http_output_options o;
  o.elasticsearch = es.url("/gor");
  REQUIRE(o.elasticsearch.rfind("https://", 0) == 0);
  bool verify = GENERATE(false, true);
  o.skip_verify = !verify;
  p.add_source("test", std::make_unique<paced_source>(msgs));
  auto& st = p.add_sink("http", std::make_unique<http_output>(target.url(), o));
  REQUIRE(run_until_done(io, p));
  CHECK(counter(st, "status_2xx") == 3);
  if (verify) {
    // A self-signed certificate fails verification: counted, the replay goes on.
    CHECK(es.requests.empty());
    CHECK(counter(st, "es_errors") == 3);
  } else {
    REQUIRE(es.requests.size() == 1);
    CHECK(docs_in(es.requests[0]) == 3);
    CHECK(counter(st, "es_indexed") == 3);
  }
}

TEST_CASE("an aborted replay does not wait for a slow Elasticsearch", "[unit][http_output][elasticsearch]") {
  es_fixture f;
  f.es.handler = [](const std::string& r) {
    auto reply = test_reply{bulk_ok(docs_in(r))};
    reply.delay = 3s;
    return reply;
  };
  std::vector<message_ptr> msgs;
  for (int i = 0; i < 3; ++i) msgs.push_back(request("GET / HTTP/1.1\r\n\r\n"));
  http_output_options o;
  o.workers_min = o.workers = 1;
  o.elasticsearch_batch_docs = 1;
  f.add(msgs, o);
  asio::steady_timer t(f.io, 300ms);
  t.async_wait([&](boost::system::error_code) { f.p.abort(); });
  auto start = std::chrono::steady_clock::now();
  bool done = false;
  f.p.async_run([&](std::exception_ptr) { done = true; });
  while (!done && std::chrono::steady_clock::now() - start < 10s) f.io.run_one_for(20ms);
  REQUIRE(done);
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  CHECK(counter(*f.st, "status_2xx") == 3);
  CHECK(counter(*f.st, "es_docs") == 3);
  CHECK(counter(*f.st, "es_dropped") == 3);  // one in flight, two waiting behind it
  CHECK(counter(*f.st, "es_indexed") == 0);
}

TEST_CASE("elasticsearch export beside --output-http-track-response: both get what they need",
          "[unit][http_output][elasticsearch]") {
  class keep_sink : public sink {
   public:
    explicit keep_sink(std::vector<message_ptr>& out) : out_(out) {}
    asio::awaitable<void> run(message_reader in) override {
      while (auto m = co_await in.receive()) out_.push_back(m);
    }

   private:
    std::vector<message_ptr>& out_;
  };
  es_fixture f;
  std::vector<message_ptr> seen;
  http_output_options o;
  o.track_response = GENERATE(false, true);
  f.add({request("GET /a HTTP/1.1\r\n\r\n"), request("GET /b HTTP/1.1\r\n\r\n")}, o);
  f.p.add_sink("keep", std::make_unique<keep_sink>(seen));
  REQUIRE(run_until_done(f.io, f.p));
  REQUIRE(f.es.requests.size() == 1);
  CHECK(docs_in(f.es.requests[0]) == 2);
  std::size_t replayed = 0;
  for (auto& m : seen)
    if (m->type() == message_type::replayed_response) {
      ++replayed;
      // The type-3 payload keeps the body (response_buffer), though Elasticsearch needs only the head.
      CHECK(m->payload() == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok");
    }
  CHECK(replayed == (o.track_response ? 2u : 0u));
}
