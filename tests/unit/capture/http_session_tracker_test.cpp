#include "capture/http_session_tracker.hpp"

#include "unit/capture/packet_builder.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace coreplay;
using namespace coreplay::capture;
using namespace coreplay::capture::test;

namespace {

capture_options http_on(std::uint16_t port, bool track_response = true) {
  capture_options o;
  o.ports = {port};
  o.track_response = track_response;
  return o;
}

struct tracker_run {
  http_session_tracker t;
  std::vector<message_ptr> out;

  explicit tracker_run(capture_options o) : t(std::move(o)) {}

  void feed(const captured& c) {
    t.feed_packet(c.link, std::span<const std::uint8_t>(c.frame.data(), c.frame.size()),
                  std::uint32_t(c.frame.size()), c.timestamp_ns);
    drain();
  }
  void feed(const std::vector<captured>& v) {
    for (auto& c : v) feed(c);
  }
  void expire(std::int64_t now) {
    t.expire(now);
    drain();
  }
  void finish() {
    t.flush_all(0);
    drain();
  }
  void drain() {
    while (auto m = t.next()) out.push_back(std::move(m));
  }
  std::vector<std::string> payloads() const {
    std::vector<std::string> v;
    for (auto& m : out) v.emplace_back(m->payload());
    return v;
  }
  std::vector<message_ptr> of_type(message_type ty) const {
    std::vector<message_ptr> v;
    for (auto& m : out)
      if (m->type() == ty) v.push_back(m);
    return v;
  }
};

const std::string get1 = "GET /one HTTP/1.1\r\nHost: example\r\n\r\n";
const std::string get2 = "GET /two HTTP/1.1\r\nHost: example\r\n\r\n";
const std::string resp1 = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none";
const std::string resp2 = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\ntwo";
const std::string post = "POST /post HTTP/1.1\r\nContent-Length: 23\r\nHost: www.w3.org\r\n\r\nThis is a body of 23 by";

}  // namespace

TEST_CASE("tracker pairs a request and its response", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.1.2.3", 0xabcd, "10.0.0.1", 80);
  r.feed(c.handshake());
  auto req = c.client(get1);
  r.feed(req);
  REQUIRE(r.out.size() == 1);
  auto res = c.server(resp1);
  r.feed(res);
  REQUIRE(r.out.size() == 2);
  const auto& q = r.out[0];
  const auto& a = r.out[1];
  CHECK(q->type() == message_type::request);
  CHECK(a->type() == message_type::response);
  CHECK(q->payload() == get1);
  CHECK(a->payload() == resp1);
  CHECK(q->id() == a->id());
  // client port, server port, client IPv4, then the request's ACK + its index.
  CHECK(q->id() == "abcd" "0050" "0a010203" "00001389");
  CHECK(q->timestamp_ns() == req.timestamp_ns);
  CHECK(a->timestamp_ns() == res.timestamp_ns);
  CHECK(a->latency_ns() == res.timestamp_ns - req.timestamp_ns);
  CHECK(q->meta().ends_with(" -1"));
  CHECK(r.t.counters().requests == 1);
  CHECK(r.t.counters().responses == 1);
}

TEST_CASE("tracker: gor's request/response mapping on a keep-alive stream", "[unit][capture]") {
  // TestRequestResponseMapping: each request in 2 packets, the response SEQ = request ACK.
  tracker_run r(http_on(80));
  tcp_conversation c("192.168.0.5", 50000, "192.168.0.1", 80);
  r.feed(c.client_split(get1, 20));
  r.feed(c.server(resp1));
  r.feed(c.client_split(get2, 20));
  r.feed(c.server(resp2));
  REQUIRE(r.out.size() == 4);
  CHECK(r.out[0]->is_request());
  CHECK_FALSE(r.out[1]->is_request());
  CHECK(r.out[2]->is_request());
  CHECK_FALSE(r.out[3]->is_request());
  CHECK(r.out[0]->id() == r.out[1]->id());
  CHECK(r.out[2]->id() == r.out[3]->id());
  CHECK(r.out[0]->id() != r.out[2]->id());
  CHECK(r.payloads() == std::vector<std::string>{get1, resp1, get2, resp2});
}

TEST_CASE("tracker: gor's parser with hints (chunked response, CL POST in 3 packets, CL 0)", "[unit][capture]") {
  // TestMessageParserWithHint.
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.9", 40001, "10.0.0.1", 80);
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nMozilla\r\n9\r\nDeveloper\r\n7\r\nNetwork\r\n0\r\n\r\n";
  const std::string empty = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  r.feed(c.client(get1));
  r.feed(c.server_split(chunked, 40));
  r.feed(c.client_split(post, 30));
  r.feed(c.server(empty));
  CHECK(r.payloads() == std::vector<std::string>{get1, chunked, post, empty});
}

TEST_CASE("tracker reorders shuffled, duplicated and overlapping segments", "[unit][capture]") {
  const std::string body(3000, 'b');
  const std::string big = "POST /big HTTP/1.1\r\nContent-Length: 3000\r\n\r\n" + body;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    tracker_run r(http_on(8080, false));
    tcp_conversation c("10.0.0.2", 33333, "10.0.0.1", 8080);
    auto hs = c.handshake();
    auto segs = c.client_split(big, 100);
    std::mt19937 rng(seed);
    std::shuffle(segs.begin(), segs.end(), rng);
    // Duplicates.
    segs.push_back(segs[3]);
    segs.push_back(segs[7]);
    // An overlap with different bytes in the middle: the first bytes seen win.
    auto overlap = c.client_at(c.client_seq() - 1500, std::string(250, 'X'));
    segs.insert(segs.begin() + 10, overlap);
    r.feed(hs);
    r.feed(segs);
    r.feed(c.client(get2));
    INFO("seed " << seed);
    auto p = r.payloads();
    REQUIRE(p.size() == 2);
    // 'X' bytes only where no original segment had arrived before the overlap.
    CHECK(p[0].size() == big.size());
    CHECK(p[0].substr(0, 45) == big.substr(0, 45));
    CHECK(p[1] == get2);
    CHECK(r.t.counters().retransmits >= 2);
  }
  // The same without the overlap: exact bytes.
  tracker_run r(http_on(8080, false));
  tcp_conversation c("10.0.0.2", 33333, "10.0.0.1", 8080);
  r.feed(c.handshake());
  auto segs = c.client_split(big, 100);
  std::reverse(segs.begin(), segs.end());
  r.feed(segs);
  CHECK(r.payloads() == std::vector<std::string>{big});
  CHECK(r.t.counters().out_of_order == segs.size() - 1);
}

TEST_CASE("tracker: a request in 1-byte segments, header terminator split", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  r.feed(c.handshake());
  r.feed(c.client_split(post, 1));
  r.feed(c.server_split(resp1, 1));
  REQUIRE(r.out.size() == 2);
  CHECK(r.out[0]->payload() == post);
  CHECK(r.out[1]->payload() == resp1);
  CHECK(r.out[0]->id() == r.out[1]->id());
}

TEST_CASE("tracker: a missing segment drops the message, or emits it with allow_incomplete", "[unit][capture]") {
  for (bool allow : {false, true}) {
    auto o = http_on(80, false);
    o.allow_incomplete = allow;
    tracker_run r(o);
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
    r.feed(c.handshake());
    auto segs = c.client_split(post, 10);
    segs.erase(segs.begin() + 7);  // lost: bytes 70-80, in the body
    r.feed(segs);
    CHECK(r.out.empty());
    // The next request on the connection waits behind the hole until expiry.
    r.feed(c.client(get2));
    CHECK(r.out.empty());
    r.expire(c.now_ns + 3'000'000'000);
    INFO("allow_incomplete " << allow);
    CHECK(r.t.counters().incomplete == 1);
    CHECK(r.t.counters().gaps == 1);
    if (allow) {
      REQUIRE(r.out.size() == 2);
      CHECK(r.out[0]->payload() == post.substr(0, 70) + post.substr(80));
      CHECK(r.out[1]->payload() == get2);
    } else {
      // The body length survives the hole, so the next request still frames.
      CHECK(r.payloads() == std::vector<std::string>{get2});
    }
  }
}

TEST_CASE("tracker: a segment lost in the headers ends the message there", "[unit][capture]") {
  for (bool allow : {false, true}) {
    auto o = http_on(80, false);
    o.allow_incomplete = allow;
    tracker_run r(o);
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
    auto segs = c.client_split(post, 20);
    segs.erase(segs.begin() + 2);  // bytes 40-60
    r.feed(segs);
    r.feed(c.client(get2));
    r.expire(c.now_ns + 3'000'000'000);
    INFO("allow_incomplete " << allow);
    if (allow)
      CHECK(r.payloads() == std::vector<std::string>{post.substr(0, 40), get2});
    else
      CHECK(r.payloads() == std::vector<std::string>{get2});
  }
}

TEST_CASE("tracker: gor's timeout with allow-incomplete emits the partial message", "[unit][capture]") {
  // TestMessageTimeoutReached: expire 100 ms, 2 packets 20 ms apart.
  auto o = http_on(80, false);
  o.allow_incomplete = true;
  o.expire = std::chrono::milliseconds(100);
  tracker_run r(o);
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  c.step_ns = 20'000'000;
  const std::string head = "POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
  r.feed(c.client(head));
  r.feed(c.client(std::string(1000, 'a')));
  r.expire(c.now_ns + 50'000'000);
  CHECK(r.out.empty());
  r.expire(c.now_ns + 100'000'000);
  REQUIRE(r.out.size() == 1);
  CHECK(r.out[0]->payload().size() == head.size() + 1000);
}

TEST_CASE("tracker: RST mid-response and close-delimited bodies", "[unit][capture]") {
  SECTION("RST in a Content-Length body: incomplete") {
    tracker_run r(http_on(80));
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
    r.feed(c.client(get1));
    r.feed(c.server("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly part"));
    r.feed(c.server_rst());
    CHECK(r.payloads() == std::vector<std::string>{get1});
    CHECK(r.t.counters().incomplete == 1);
    CHECK(r.t.connections() == 0);
  }
  SECTION("RST ends a close-delimited body") {
    tracker_run r(http_on(80));
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
    r.feed(c.client(get1));
    r.feed(c.server("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstream"));
    r.feed(c.server("ed"));
    r.feed(c.client_rst());
    CHECK(r.payloads() == std::vector<std::string>{get1, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstreamed"});
    CHECK(r.out[0]->id() == r.out[1]->id());
  }
  SECTION("FIN ends a close-delimited body, even with the FIN before the last data") {
    tracker_run r(http_on(80));
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
    r.feed(c.client(get1));
    auto a = c.server("HTTP/1.0 200 OK\r\n\r\nhello ");
    auto b = c.server("world");
    auto fin = c.server_fin();
    r.feed(a);
    r.feed(fin);
    CHECK(r.out.size() == 1);
    r.feed(b);
    r.feed(c.client_fin());
    CHECK(r.payloads() == std::vector<std::string>{get1, "HTTP/1.0 200 OK\r\n\r\nhello world"});
    CHECK(r.t.connections() == 0);
  }
}

TEST_CASE("tracker: a stream without SYN starting mid-response", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  r.feed(c.server("tail of an earlier body that we never saw the start of\r\n"));
  r.feed(c.client(get1));
  r.feed(c.server(resp1));
  CHECK(r.payloads() == std::vector<std::string>{get1, resp1});
  CHECK(r.out[0]->id() == r.out[1]->id());
  CHECK(r.t.counters().skipped_bytes > 0);
}

TEST_CASE("tracker: a response whose request was never seen gets its own id", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  // The capture starts right after the request: only its response is seen.
  r.feed(c.server(resp1));
  r.feed(c.client(get2));
  r.feed(c.server(resp2));
  REQUIRE(r.out.size() == 3);
  CHECK(r.out[0]->payload() == resp1);
  CHECK(r.out[0]->meta().ends_with(" -1"));
  CHECK(r.out[1]->id() == r.out[2]->id());
  CHECK(r.out[0]->id() != r.out[1]->id());
}

TEST_CASE("tracker: a lost response does not shift the pairing", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  r.feed(c.client(get1));
  c.skip_server(std::uint32_t(resp1.size()));  // the response to get1 is lost entirely
  r.feed(c.client(get2));
  r.feed(c.server(resp2));
  r.expire(c.now_ns + 5'000'000'000);
  REQUIRE(r.out.size() == 3);
  CHECK(r.out[2]->payload() == resp2);
  CHECK(r.out[2]->id() == r.out[1]->id());
  CHECK(r.t.counters().unanswered == 1);
}

TEST_CASE("tracker: pipelining gives each request its own id", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  const std::string get3 = "DELETE /three HTTP/1.1\r\n\r\n";
  r.feed(c.client(get1 + get2 + get3));
  const std::string resp3 = "HTTP/1.1 204 No Content\r\n\r\n";
  r.feed(c.server(resp1 + resp2.substr(0, 10)));
  r.feed(c.server(resp2.substr(10) + resp3));
  REQUIRE(r.out.size() == 6);
  auto reqs = r.of_type(message_type::request);
  auto resps = r.of_type(message_type::response);
  REQUIRE(reqs.size() == 3);
  REQUIRE(resps.size() == 3);
  CHECK(reqs[2]->payload() == get3);
  CHECK(resps[1]->payload() == resp2);
  for (int i = 0; i < 3; ++i) CHECK(reqs[i]->id() == resps[i]->id());
  CHECK(reqs[0]->id() != reqs[1]->id());
  CHECK(reqs[1]->id() != reqs[2]->id());
  CHECK(reqs[0]->id().substr(0, 16) == reqs[1]->id().substr(0, 16));
}

TEST_CASE("tracker: chunked request and chunked response", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  const std::string req = "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  const std::string res = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nhi\r\n0\r\nT: 1\r\n\r\n";
  r.feed(c.client_split(req, 7));
  r.feed(c.server_split(res, 5));
  CHECK(r.payloads() == std::vector<std::string>{req, res});
}

TEST_CASE("tracker: 100-continue with a non-standard reason phrase", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  const std::string head = "PUT /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  const std::string interim = "HTTP/1.1 100 \r\n\r\n";
  const std::string final_resp = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  r.feed(c.client(head));
  r.feed(c.server(interim));
  r.feed(c.client("data"));
  r.feed(c.server(final_resp));
  r.feed(c.client(get2));
  r.feed(c.server(resp2));
  REQUIRE(r.out.size() == 5);
  CHECK(r.out[0]->payload() == interim);
  CHECK(r.out[1]->payload() == head + "data");
  CHECK(r.out[2]->payload() == final_resp);
  CHECK(r.out[0]->id() == r.out[1]->id());
  CHECK(r.out[2]->id() == r.out[1]->id());
  CHECK(r.out[3]->id() == r.out[4]->id());
  CHECK(r.out[3]->id() != r.out[1]->id());
}

TEST_CASE("tracker: HEAD with Content-Length and 304 carry no body", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  const std::string head = "HEAD /file HTTP/1.1\r\n\r\n";
  const std::string head_resp = "HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n";
  const std::string cond = "GET /file HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n";
  const std::string not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 1048576\r\n\r\n";
  r.feed(c.client(head));
  r.feed(c.server(head_resp));
  r.feed(c.client(cond));
  r.feed(c.server(not_modified));
  r.feed(c.client(get1));
  r.feed(c.server(resp1));
  CHECK(r.payloads() == std::vector<std::string>{head, head_resp, cond, not_modified, get1, resp1});
  CHECK(r.t.counters().incomplete == 0);
}

TEST_CASE("tracker: custom method PURGE and status 599", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  const std::string purge = "PURGE /cache/x HTTP/1.1\r\nHost: cdn\r\n\r\n";
  const std::string s599 = "HTTP/1.1 599 Network Connect Timeout\r\nContent-Length: 2\r\n\r\nno";
  r.feed(c.client(purge));
  r.feed(c.server(s599));
  CHECK(r.payloads() == std::vector<std::string>{purge, s599});
}

TEST_CASE("tracker: IPv6 ids use the last 4 bytes of the client address", "[unit][capture]") {
  tracker_run r(http_on(443));
  tcp_conversation c("2001:db8::a:b0c:d0e", 0x1111, "2001:db8::1", 443);
  r.feed(c.handshake());
  r.feed(c.client(get1));
  r.feed(c.server(resp1));
  REQUIRE(r.out.size() == 2);
  CHECK(r.out[0]->id().substr(0, 16) == "1111" "01bb" "0b0c0d0e");
  CHECK(r.out[0]->id() == r.out[1]->id());
}

TEST_CASE("tracker: VLAN, SLL, SLL2, NULL, LOOP and raw link types", "[unit][capture]") {
  for (auto link : {link_type::ethernet, link_type::linux_sll, link_type::linux_sll2, link_type::null,
                    link_type::loop, link_type::raw}) {
    tracker_run r(http_on(80));
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
    c.options.link = link;
    if (link == link_type::ethernet) c.options.vlan_tags = {10, 20};
    r.feed(c.handshake());
    r.feed(c.client(get1));
    r.feed(c.server(resp1));
    INFO("link " << int(link));
    CHECK(r.payloads() == std::vector<std::string>{get1, resp1});
  }
}

TEST_CASE("tracker: responses are parsed but not emitted without track_response", "[unit][capture]") {
  tracker_run r(http_on(80, false));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  r.feed(c.client(get1));
  r.feed(c.server(resp1));
  r.feed(c.client(get2));
  r.feed(c.server(resp2));
  CHECK(r.payloads() == std::vector<std::string>{get1, get2});
  CHECK(r.t.counters().responses == 0);
}

TEST_CASE("tracker: ports not configured are ignored", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 8080);
  r.feed(c.client(get1));
  CHECK(r.out.empty());
  CHECK(r.t.counters().ignored == 1);
}

TEST_CASE("tracker: with port 0 the start line or the SYN tells the direction", "[unit][capture]") {
  capture_options o;
  o.track_response = true;
  SECTION("start line, response seen first") {
    tracker_run r(o);
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 9999);
    r.feed(c.server("garbage first\r\n"));
    r.feed(c.client(get1));
    r.feed(c.server(resp1));
    REQUIRE(r.out.size() == 2);
    CHECK(r.out[0]->is_request());
    CHECK(r.out[0]->id().substr(0, 8) == "04d2270f");
    CHECK(r.out[1]->id() == r.out[0]->id());
  }
  SECTION("SYN") {
    tracker_run r(o);
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 9999);
    r.feed(c.handshake());
    r.feed(c.client(get1));
    r.feed(c.server(resp1));
    REQUIRE(r.out.size() == 2);
    CHECK(r.out[0]->id().substr(0, 8) == "04d2270f");
  }
}

TEST_CASE("tracker: realip header is injected into requests", "[unit][capture]") {
  auto o = http_on(80);
  o.realip_header = "X-Real-IP";
  tracker_run r(o);
  tcp_conversation c("172.16.5.4", 1234, "10.0.0.1", 80);
  r.feed(c.client(get1));
  r.feed(c.client("GET /x HTTP/1.1\r\nx-real-ip: 1.1.1.1\r\nHost: a\r\n\r\n"));
  r.feed(c.server(resp1));
  REQUIRE(r.out.size() == 3);
  CHECK(r.out[0]->payload() == "GET /one HTTP/1.1\r\nX-Real-IP: 172.16.5.4\r\nHost: example\r\n\r\n");
  CHECK(r.out[1]->payload() == "GET /x HTTP/1.1\r\nx-real-ip: 172.16.5.4\r\nHost: a\r\n\r\n");
  CHECK(r.out[2]->payload() == resp1);
}

TEST_CASE("set_header replaces the first header or inserts after the request line", "[unit][capture]") {
  // gor TestSetHeader.
  const std::string p = "POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2";
  CHECK(set_header(p, "Content-Length", "14") ==
        "POST /post HTTP/1.1\r\nContent-Length: 14\r\nHost: www.w3.org\r\n\r\na=1&b=2");
  CHECK(set_header(p, "User-Agent", "Gor") ==
        "POST /post HTTP/1.1\r\nUser-Agent: Gor\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2");
  CHECK(set_header("POST /post HTTP/1.1", "User-Agent", "Gor") == "POST /post HTTP/1.1");
  // Only headers are looked at, not the body.
  CHECK(set_header("GET / HTTP/1.1\r\n\r\nX: body\r\n", "X", "1") == "GET / HTTP/1.1\r\nX: 1\r\n\r\nX: body\r\n");
}

TEST_CASE("tracker: expiry flushes, idle connections are forgotten", "[unit][capture]") {
  auto o = http_on(80);
  o.connection_idle_timeout = std::chrono::seconds(10);
  tracker_run r(o);
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  r.feed(c.client("GET /slow HTTP/1.1\r\nHost"));
  CHECK(r.t.connections() == 1);
  r.expire(c.now_ns + 1'000'000'000);
  CHECK(r.t.counters().incomplete == 0);
  r.expire(c.now_ns + 2'000'000'000);
  CHECK(r.t.counters().incomplete == 1);
  CHECK(r.out.empty());
  CHECK(r.t.connections() == 1);
  r.expire(c.now_ns + 11'000'000'000);
  CHECK(r.t.connections() == 0);
  CHECK(r.t.buffered_bytes() == 0);
}

TEST_CASE("tracker: binary protocol emits each direction's turn", "[unit][capture]") {
  // TestMessageParserWithoutHint, scaled down: several packets with no hints, one message.
  auto o = http_on(6379);
  o.protocol = capture_protocol::binary;
  tracker_run r(o);
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 6379);
  for (int i = 0; i < 10; ++i) r.feed(c.client(std::string(6300, char('a' + i))));
  CHECK(r.out.empty());
  r.feed(c.server("+OK\r\n"));
  REQUIRE(r.out.size() == 1);
  CHECK(r.out[0]->payload().size() == 63000);
  r.expire(c.now_ns + 2'000'000'000);
  REQUIRE(r.out.size() == 2);
  CHECK(r.out[1]->payload() == "+OK\r\n");
  CHECK(r.out[1]->id() == r.out[0]->id());
}

TEST_CASE("tracker: memory caps evict and count", "[unit][capture]") {
  SECTION("per connection") {
    auto o = http_on(80, false);
    o.max_connection_bytes = 8192;
    tracker_run r(o);
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
    r.feed(c.client("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"));
    for (int i = 0; i < 20; ++i) r.feed(c.client(std::string(1000, 'x')));
    CHECK(r.t.counters().evictions >= 1);
    CHECK(r.t.buffered_bytes() <= 8192 + 2048);
    r.feed(c.client(get1));
    // The rest of the evicted body is skipped; a request starting a segment is found again.
    CHECK(r.payloads() == std::vector<std::string>{get1});
  }
  SECTION("in total") {
    auto o = http_on(80, false);
    o.max_total_bytes = 256 * 1024;
    tracker_run r(o);
    for (std::uint16_t port = 1000; port < 1100; ++port) {
      tcp_conversation c("10.0.0.2", port, "10.0.0.1", 80);
      r.feed(c.client("POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'y')));
    }
    CHECK(r.t.buffered_bytes() <= 256 * 1024);
    CHECK(r.t.counters().evictions > 0);
    CHECK(r.t.connections() < 100);
  }
}

TEST_CASE("tracker: flush_all ends everything", "[unit][capture]") {
  auto o = http_on(80);
  tracker_run r(o);
  tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80);
  r.feed(c.client(get1));
  r.feed(c.server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"));
  r.finish();
  CHECK(r.payloads() == std::vector<std::string>{get1});
  CHECK(r.t.counters().incomplete == 1);
  CHECK(r.t.connections() == 0);
}

TEST_CASE("tracker counts malformed and foreign frames", "[unit][capture]") {
  tracker_run r(http_on(80));
  bytes junk = {1, 2, 3};
  r.t.feed_packet(link_type::ethernet, junk, 3, 0);
  auto udp = tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 0, 0, 0, "x");
  udp[14 + 9] = 17;
  r.t.feed_packet(link_type::ethernet, udp, std::uint32_t(udp.size()), 0);
  CHECK(r.t.counters().packets == 2);
  CHECK(r.t.counters().malformed == 1);
  CHECK(r.t.counters().ignored == 1);
}

TEST_CASE("tracker: a new SYN on a reused 4-tuple starts a new connection", "[unit][capture]") {
  tracker_run r(http_on(80));
  tcp_conversation a("10.0.0.2", 1234, "10.0.0.1", 80, 1000, 5000);
  r.feed(a.handshake());
  r.feed(a.client(get1));
  r.feed(a.server(resp1));
  // The same ports again, other ISNs, without the old connection having closed.
  tcp_conversation b("10.0.0.2", 1234, "10.0.0.1", 80, 777777, 888888);
  b.now_ns = a.now_ns;
  r.feed(b.handshake());
  r.feed(b.client(get2));
  r.feed(b.server(resp2));
  CHECK(r.payloads() == std::vector<std::string>{get1, resp1, get2, resp2});
  CHECK(r.out[2]->id() == r.out[3]->id());
  CHECK(r.out[0]->id() != r.out[2]->id());
}

TEST_CASE("tracker: random segmentation, reordering and duplication keep every message exact", "[unit][capture]") {
  const std::vector<std::string> requests = {
      get1, post, "PURGE /x HTTP/1.1\r\n\r\n",
      "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "HEAD /h HTTP/1.1\r\n\r\n"};
  const std::vector<std::string> responses = {
      resp1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\nx\r\n0\r\n\r\n",
      "HTTP/1.1 599 Odd\r\nContent-Length: 0\r\n\r\n", resp2, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"};
  for (unsigned seed = 1; seed <= 30; ++seed) {
    std::mt19937 rng(seed);
    tracker_run r(http_on(80));
    tcp_conversation c("10.0.0.2", 1234, "10.0.0.1", 80, rng(), rng());
    r.feed(c.handshake());
    std::vector<std::string> expected;
    for (int round = 0; round < 10; ++round) {
      std::size_t k = rng() % requests.size();
      std::string q = requests[k], a = responses[k];
      expected.push_back(q);
      expected.push_back(a);
      auto split = [&](bool client, const std::string& s) {
        std::vector<captured> v;
        for (std::size_t i = 0; i < s.size();) {
          std::size_t n = 1 + rng() % 25;
          v.push_back(client ? c.client(s.substr(i, n)) : c.server(s.substr(i, n)));
          i += n;
        }
        // Swap neighbours and repeat some segments.
        for (std::size_t i = 1; i < v.size(); ++i)
          if (rng() % 4 == 0) std::swap(v[i - 1], v[i]);
        if (!v.empty() && rng() % 2) v.push_back(v[rng() % v.size()]);
        return v;
      };
      r.feed(split(true, q));
      r.feed(split(false, a));
    }
    INFO("seed " << seed);
    CHECK(r.payloads() == expected);
    for (std::size_t i = 0; i + 1 < r.out.size(); i += 2) CHECK(r.out[i]->id() == r.out[i + 1]->id());
    CHECK(r.t.counters().incomplete == 0);
  }
}
