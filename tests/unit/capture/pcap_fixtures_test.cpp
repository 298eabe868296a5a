// Real captures made by tests/data/pcap/make_pcaps.sh (tcpdump on lo, curl, Python servers).
#include "capture/pcap_file_reader.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace coreplay;
using namespace coreplay::capture;

namespace {

std::string fixture(const std::string& name) {
  std::string here = __FILE__;
  return here.substr(0, here.rfind("/unit/")) + "/data/pcap/" + name;
}

std::vector<message_ptr> read_fixture(const std::string& name, std::uint16_t port, capture_counters* counters = nullptr) {
  capture_options o;
  o.ports = {port};
  o.track_response = true;
  std::vector<message_ptr> got;
  auto res = read_pcap_file(fixture(name), o, "", [&](message_ptr m) { got.push_back(std::move(m)); });
  REQUIRE(res.ok);
  if (counters) *counters = res.counters;
  return got;
}

bool starts(const message_ptr& m, std::string_view prefix) { return m->payload().starts_with(prefix); }

}  // namespace

TEST_CASE("real capture: python http.server GET, HEAD, 404", "[unit][capture]") {
  capture_counters c;
  auto got = read_fixture("http_server_basic.pcap", 18081, &c);
  REQUIRE(got.size() == 6);
  CHECK(starts(got[0], "GET /index.html HTTP/1.1\r\n"));
  CHECK(starts(got[1], "HTTP/1.0 200 OK\r\n"));
  CHECK(got[1]->payload().ends_with("hello from the capture fixture\n"));
  CHECK(starts(got[2], "HEAD /index.html HTTP/1.1\r\n"));
  CHECK(starts(got[3], "HTTP/1.0 200 OK\r\n"));
  CHECK(got[3]->payload().ends_with("\r\n\r\n"));  // HEAD: Content-Length but no body
  CHECK(starts(got[4], "GET /missing HTTP/1.1\r\n"));
  CHECK(starts(got[5], "HTTP/1.0 404 File not found\r\n"));
  for (int i = 0; i < 6; i += 2) {
    CHECK(got[i]->id() == got[i + 1]->id());
    CHECK(*got[i + 1]->latency_ns() > 0);
  }
  CHECK(got[0]->id() != got[2]->id());
  CHECK(c.incomplete == 0);
  CHECK(c.malformed == 0);
}

TEST_CASE("real capture: keep-alive, chunked, 100-continue, close-delimited, pipelining", "[unit][capture]") {
  capture_counters c;
  auto got = read_fixture("http_server_keepalive.pcap", 18082, &c);
  std::vector<message_ptr> req, resp;
  for (auto& m : got) (m->is_request() ? req : resp).push_back(m);
  REQUIRE(req.size() == 7);
  REQUIRE(resp.size() == 8);
  CHECK(starts(req[0], "GET /a HTTP/1.1\r\n"));
  CHECK(starts(req[1], "GET /chunked HTTP/1.1\r\n"));
  CHECK(starts(req[2], "POST /upload HTTP/1.1\r\n"));
  CHECK(req[2]->payload().ends_with(std::string(3000, 'x')));
  CHECK(starts(req[3], "GET /close HTTP/1.1\r\n"));
  CHECK(starts(req[4], "GET /p1 HTTP/1.1\r\n"));
  CHECK(starts(req[5], "GET /p2 HTTP/1.1\r\n"));
  CHECK(starts(req[6], "GET /p3 HTTP/1.1\r\n"));

  auto response_to = [&](const message_ptr& q) {
    std::vector<message_ptr> v;
    for (auto& m : resp)
      if (m->id() == q->id()) v.push_back(m);
    return v;
  };
  auto a = response_to(req[0]);
  REQUIRE(a.size() == 1);
  CHECK(a[0]->payload().ends_with("path /a"));
  auto ch = response_to(req[1]);
  REQUIRE(ch.size() == 1);
  CHECK(ch[0]->payload().ends_with("c\r\nsecond chunk\r\n0\r\n\r\n"));
  auto up = response_to(req[2]);
  REQUIRE(up.size() == 2);
  CHECK(starts(up[0], "HTTP/1.1 100 Continue\r\n"));
  CHECK(starts(up[1], "HTTP/1.1 201 Created\r\n"));
  CHECK(up[1]->payload().ends_with("got 3000 bytes"));
  auto cl = response_to(req[3]);
  REQUIRE(cl.size() == 1);
  CHECK(cl[0]->payload().ends_with("\r\n\r\nclose-delimited body"));
  for (int i = 4; i < 7; ++i) {
    auto p = response_to(req[i]);
    REQUIRE(p.size() == 1);
    CHECK(p[0]->payload().ends_with("path /p" + std::to_string(i - 3)));
  }
  CHECK(c.incomplete == 0);
  CHECK(c.unanswered == 0);
}

TEST_CASE("real capture: Linux cooked v2 from the any interface", "[unit][capture]") {
  auto got = read_fixture("http_server_any.pcap", 18082);
  REQUIRE(got.size() == 2);
  CHECK(starts(got[0], "GET /any HTTP/1.1\r\n"));
  CHECK(got[1]->payload().ends_with("path /any"));
  CHECK(got[0]->id() == got[1]->id());
}
