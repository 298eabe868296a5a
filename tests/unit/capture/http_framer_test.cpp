#include "capture/http_framer.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace coreplay::capture;

namespace {

struct framed {
  std::string bytes;
  http_message_info info;
};

struct framer_run {
  http_framer f;
  std::vector<http_message_info> starts;
  std::vector<framed> ends;

  explicit framer_run(http_role role = http_role::unknown) : f(role) {}

  void feed(std::string_view s, std::int64_t ts = 0) {
    f.feed(s, stream_position{ts, seq, 1});
    seq += static_cast<std::uint32_t>(s.size());
    drain();
  }
  // Feeds one byte at a time.
  void trickle(std::string_view s) {
    for (char c : s) feed(std::string_view(&c, 1));
  }
  void drain() {
    while (auto e = f.next()) {
      if (e->what == http_event::kind::start)
        starts.push_back(e->info);
      else
        ends.push_back({std::move(e->bytes), e->info});
    }
  }
  std::vector<std::string> complete() const {
    std::vector<std::string> v;
    for (auto& e : ends)
      if (e.info.complete) v.push_back(e.bytes);
    return v;
  }
  std::uint32_t seq = 0;
};

const std::string get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string post = "POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2";
const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
const std::string chunked_resp =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n";

}  // namespace

TEST_CASE("framer recognises start lines like gor's title tests", "[unit][capture]") {
  // gor proto_test.go TestHasRequestTitle / TestHasResponseTitle, minus the CRLF (ours takes lines).
  CHECK(is_request_line("POST /post HTTP/1.0"));
  CHECK(is_request_line("PURGE /cache HTTP/1.1"));
  CHECK(is_request_line("M-SEARCH * HTTP/1.1"));
  CHECK_FALSE(is_request_line("HTTP/1."));
  CHECK_FALSE(is_request_line("POS"));
  CHECK_FALSE(is_request_line("GET / HTTP/1.400"));
  CHECK_FALSE(is_request_line("GET / HTTP/2.0"));
  CHECK_FALSE(is_request_line("GET  / HTTP/1.1"));
  CHECK_FALSE(is_request_line("GET /"));
  CHECK(is_status_line("HTTP/1.1 100 Continue"));
  CHECK(is_status_line("HTTP/1.1 200"));
  CHECK(is_status_line("HTTP/1.1 100 "));
  CHECK(is_status_line("HTTP/1.0 599 Whatever"));
  CHECK_FALSE(is_status_line("HTTP/4.0 200 OK"));
  CHECK_FALSE(is_status_line("HTTP/1.1 100Continue"));
  CHECK_FALSE(is_status_line("HTTP/1.1 10r"));
  CHECK_FALSE(is_status_line("HTTP/1.1 20"));
}

TEST_CASE("framer: request line split before CRLF never completes without it", "[unit][capture]") {
  framer_run r;
  r.feed("GET / HTTP/1.1\r");  // gor's TestHasRequestTitle: not a title yet
  CHECK(r.starts.empty());
  r.feed("\n\r\n");
  CHECK(r.complete() == std::vector<std::string>{"GET / HTTP/1.1\r\n\r\n"});
}

TEST_CASE("framer frames Content-Length, pipelining and bare LF", "[unit][capture]") {
  framer_run r;
  r.feed(post + get + "GET /b HTTP/1.0\n\n");
  auto c = r.complete();
  REQUIRE(c.size() == 3);
  CHECK(c[0] == post);
  CHECK(c[1] == get);
  CHECK(c[2] == "GET /b HTTP/1.0\n\n");
  CHECK(r.starts.size() == 3);
  CHECK(r.starts[1].index == 1);
  CHECK(r.starts[1].first_seq == post.size());
  CHECK(r.f.skipped_bytes() == 0);
}

TEST_CASE("framer works one byte at a time", "[unit][capture]") {
  framer_run r;
  r.trickle(post + chunked_resp + get);
  auto c = r.complete();
  REQUIRE(c.size() == 3);
  CHECK(c[0] == post);
  CHECK(c[1] == chunked_resp);
  CHECK(c[2] == get);
}

TEST_CASE("framer: chunked with extensions and trailers, at every split point", "[unit][capture]") {
  const std::string with_trailer =
      "POST /up HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Sum\r\n\r\n"
      "1a; name=\"v\"\r\nabcdefghijklmnopqrstuvwxyz\r\n10\r\n1234567890abcdef\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n";
  const std::string all = with_trailer + get;
  for (std::size_t cut = 1; cut < all.size(); ++cut) {
    framer_run r;
    r.feed(all.substr(0, cut));
    r.feed(all.substr(cut));
    INFO("cut at " << cut);
    REQUIRE(r.complete() == std::vector<std::string>{with_trailer, get});
  }
}

TEST_CASE("framer: gor's HasFullPayload cases", "[unit][capture]") {
  // Chunked across 4 packets.
  framer_run a(http_role::response);
  a.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  a.feed("7\r\nMozilla\r\n");
  a.feed("9\r\nDeveloper\r\n");
  CHECK(a.ends.empty());
  a.feed("7\r\nNetwork\r\n0\r\n\r\n");
  CHECK(a.complete().size() == 1);
  // Trailer truncated: not complete.
  framer_run b(http_role::response);
  b.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Expires\r\n\r\n7\r\nMozilla\r\n0\r\nExpires: Wed, 21 Oct 2015");
  CHECK(b.ends.empty());
  b.feed(" 07:28:00 GMT\r\n\r\n");
  CHECK(b.complete().size() == 1);
  // Short body: not complete; exact: complete.
  framer_run c(http_role::request);
  c.feed("POST / HTTP/1.1\r\nContent-Length: 23\r\n\r\nshort");
  CHECK(c.ends.empty());
  c.feed("er than twenty-...");
  CHECK(c.complete().size() == 1);
  // No body, no Content-Length.
  framer_run d(http_role::request);
  d.feed("GET / HTTP/1.1\r\n\r\n");
  CHECK(d.complete().size() == 1);
  // No title: skipped.
  framer_run e(http_role::request);
  e.feed("Content-Length: 0\r\n\r\n");
  CHECK(e.ends.empty());
  CHECK(e.f.skipped_bytes() == 21);
}

TEST_CASE("framer: bodiless responses (HEAD, 1xx, 204, 304)", "[unit][capture]") {
  framer_run r(http_role::response);
  r.f.expect_response_to(request_kind::head);
  r.f.expect_response_to(request_kind::normal);
  r.f.expect_response_to(request_kind::normal);
  r.f.expect_response_to(request_kind::normal);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
  const std::string cont = "HTTP/1.1 100 \r\n\r\n";
  const std::string no_content = "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n";
  const std::string not_modified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: x\r\n\r\n";
  r.feed(head + cont + no_content + not_modified + ok);
  CHECK(r.complete() == std::vector<std::string>{head, cont, no_content, not_modified, ok});
  REQUIRE(r.starts.size() == 5);
  CHECK(r.starts[1].status == 100);
  CHECK(r.starts[4].status == 200);
}

TEST_CASE("framer: close-delimited response ends at close", "[unit][capture]") {
  framer_run r(http_role::response);
  r.feed("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody ");
  r.feed("more body");
  CHECK(r.ends.empty());
  r.f.close();
  r.drain();
  CHECK(r.complete() == std::vector<std::string>{"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody more body"});
}

TEST_CASE("framer: close in the middle of a Content-Length body is incomplete", "[unit][capture]") {
  framer_run r(http_role::response);
  r.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
  r.f.close();
  r.drain();
  REQUIRE(r.ends.size() == 1);
  CHECK_FALSE(r.ends[0].info.complete);
  CHECK(r.ends[0].info.damaged);
  CHECK(r.ends[0].bytes == "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
}

TEST_CASE("framer resyncs when the capture starts mid-message", "[unit][capture]") {
  framer_run r;
  r.feed("dy of an earlier POST\r\nstill body GET / HTTP/1.1 not a line start\r\n");
  r.feed("tail\r\n" + get);
  r.feed(ok);
  CHECK(r.complete() == std::vector<std::string>{get, ok});
  CHECK(r.f.skipped_bytes() > 0);
  CHECK(r.f.framing_errors() == 0);
}

TEST_CASE("framer: a gap inside a Content-Length body keeps framing", "[unit][capture]") {
  framer_run r;
  r.feed("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n01");
  r.f.gap(5);
  r.feed("789");
  r.feed(get);
  REQUIRE(r.ends.size() == 2);
  CHECK_FALSE(r.ends[0].info.complete);
  CHECK(r.ends[0].info.damaged);
  CHECK(r.ends[0].bytes == "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n01789");
  CHECK(r.ends[1].info.complete);
  CHECK(r.ends[1].bytes == get);
}

TEST_CASE("framer: a gap in the headers ends the message and resyncs", "[unit][capture]") {
  framer_run r;
  r.feed("GET / HTTP/1.1\r\nHo");
  r.f.gap(10);
  r.feed("ader: x\r\n\r\n");
  r.feed(get);
  REQUIRE(r.ends.size() == 2);
  CHECK_FALSE(r.ends[0].info.complete);
  CHECK(r.ends[1].bytes == get);
}

TEST_CASE("framer: expiry flushes the message in progress", "[unit][capture]") {
  framer_run r;
  r.feed("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123");
  r.f.flush();
  r.drain();
  REQUIRE(r.ends.size() == 1);
  CHECK_FALSE(r.ends[0].info.complete);
  // Expect: 100-continue never followed by the body: the headers are the request.
  framer_run e;
  const std::string expect = "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
  e.feed(expect);
  e.f.flush();
  e.drain();
  CHECK(e.complete() == std::vector<std::string>{expect});
}

TEST_CASE("framer: custom methods, status 599, garbage between messages", "[unit][capture]") {
  framer_run r;
  r.feed("PURGE /cache/item HTTP/1.1\r\nHost: x\r\n\r\n");
  r.feed("HTTP/1.1 599 Network Timeout\r\nContent-Length: 0\r\n\r\n");
  r.feed("\x16\x03\x01 garbage\r\n");
  r.feed(get);
  auto c = r.complete();
  REQUIRE(c.size() == 3);
  CHECK(c[2] == get);
  CHECK(r.starts[1].status == 599);
  CHECK(r.f.framing_errors() == 1);
}

TEST_CASE("framer: malformed chunk size and Content-Length are counted, not fatal", "[unit][capture]") {
  framer_run r(http_role::response);
  r.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
  r.feed(ok);
  REQUIRE(r.ends.size() == 2);
  CHECK_FALSE(r.ends[0].info.complete);
  CHECK(r.ends[1].bytes == ok);
  framer_run q(http_role::request);
  q.feed("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n");
  q.feed(get);
  REQUIRE(q.ends.size() == 2);
  CHECK_FALSE(q.ends[0].info.complete);
  CHECK(q.ends[1].bytes == get);
}

TEST_CASE("framer: header terminator split across segments", "[unit][capture]") {
  framer_run r;
  r.feed("GET / HTTP/1.1\r\nHost: a\r\n\r");
  CHECK(r.ends.empty());
  r.feed("\n");
  CHECK(r.complete().size() == 1);
  framer_run s;
  s.feed("GET / HTTP/1.1\r\nHost: a\r");
  s.feed("\n\r");
  s.feed("\n");
  CHECK(s.complete().size() == 1);
}

TEST_CASE("framer: upgrade tunnels are not parsed as HTTP", "[unit][capture]") {
  framer_run r(http_role::response);
  r.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
  r.feed("\x81\x03" "abc");
  CHECK(r.complete().size() == 1);
  CHECK(r.f.framing_errors() == 0);
}

TEST_CASE("framer: binary protocol emits each turn", "[unit][capture]") {
  http_framer f(http_role::request, capture_protocol::binary);
  f.feed("\x01\x02", stream_position{5, 0, 0});
  f.feed("\x03", stream_position{6, 2, 0});
  f.flush();
  std::vector<http_event> ev;
  while (auto e = f.next()) ev.push_back(std::move(*e));
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].bytes == "\x01\x02\x03");
  CHECK(ev[1].info.complete);
  CHECK(ev[1].info.is_request);
  CHECK(ev[1].info.first_timestamp_ns == 5);
  CHECK(ev[1].info.last_timestamp_ns == 6);
}

TEST_CASE("framer: header and trailer size limits, large chunked bodies", "[unit][capture]") {
  // A 2 MiB chunked body whose trailer arrives in pieces is fine.
  framer_run big(http_role::response);
  big.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n");
  big.feed(std::string(0x200000, 'z'));
  big.feed("\r\n0\r\nX-Trail");
  big.feed("er: 1\r\n\r\n");
  REQUIRE(big.complete().size() == 1);
  CHECK(big.complete()[0].size() > 0x200000);
  // Endless header lines are cut off.
  framer_run endless(http_role::request);
  endless.feed("GET / HTTP/1.1\r\n");
  for (int i = 0; i < 20000 && endless.ends.empty(); ++i) endless.feed("X-Filler: " + std::string(90, 'f') + "\r\n");
  REQUIRE(endless.ends.size() == 1);
  CHECK_FALSE(endless.ends[0].info.complete);
  CHECK(endless.f.framing_errors() == 1);
}

TEST_CASE("framer: gor's fuzz crashers", "[unit][capture]") {
  for (std::string_view s : {"\n:00\n", ":\r\n\r\n", "GET / HTTP/1.1\r\n:\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n"}) {
    framer_run r;
    r.feed(s);
    r.f.close();
    r.drain();
  }
  SUCCEED();
}

TEST_CASE("framer lends whole messages from feed_borrowed and copies the rest", "[unit][capture]") {
  // Two messages in one segment and one split across two: the same events as feed(), the
  // whole ones referring to the caller's bytes, the split one owned.
  const std::string seg1 = get + post.substr(0, 30);
  const std::string seg2 = post.substr(30) + get;
  for (int borrowed = 0; borrowed < 2; ++borrowed) {
    http_framer f(http_role::request);
    std::vector<std::string> seen;
    std::vector<bool> lent;
    auto take = [&](const std::string& seg) {
      std::string copy = seg;  // dies after this call, as a capture buffer would
      if (borrowed)
        f.feed_borrowed(copy, stream_position{0, 0, 1});
      else
        f.feed(copy, stream_position{0, 0, 1});
      f.consume_events([&](http_event& e) {
        if (e.what != http_event::kind::end) return;
        seen.emplace_back(e.data());
        lent.push_back(e.bytes.empty() && !e.borrowed.empty());
      });
    };
    take(seg1);
    take(seg2);
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == get);
    CHECK(seen[1] == post);
    CHECK(seen[2] == get);
    CHECK(lent[0] == bool(borrowed));
    CHECK_FALSE(lent[1]);
    CHECK(lent[2] == bool(borrowed));
  }
}

namespace {

struct segmented_run {
  std::vector<std::string> complete;
  std::size_t incomplete = 0;
};

// Feeds `all` in segments of next_size() bytes, each a temporary copy that dies after the call
// as a capture buffer does, lent (feed_borrowed) or copied (feed), and collects what ends.
template <typename NextSize>
segmented_run feed_in_segments(http_framer& f, const std::string& all, bool borrowed, NextSize next_size) {
  segmented_run r;
  std::uint32_t seq = 1;
  for (std::size_t off = 0; off < all.size();) {
    const std::size_t n = std::min<std::size_t>(next_size(), all.size() - off);
    std::string seg = all.substr(off, n);
    if (borrowed)
      f.feed_borrowed(seg, stream_position{0, seq, 1});
    else
      f.feed(seg, stream_position{0, seq, 1});
    f.consume_events([&](http_event& e) {
      if (e.what != http_event::kind::end) return;
      if (e.info.complete)
        r.complete.emplace_back(e.data());
      else
        ++r.incomplete;
    });
    off += n;
    seq += static_cast<std::uint32_t>(n);
  }
  return r;
}

}  // namespace

TEST_CASE("framer: large chunked uploads in random segments, borrowed and copied", "[unit][capture]") {
  // A curl-like chunked upload (~1 MB of binary in chunks near 64 KiB, then random sizes) cut
  // into random segments from 1 byte to a loopback-sized 65483, fed as the tracker feeds them.
  std::mt19937 rng(2024);
  for (int round = 0; round < 200; ++round) {
    std::string body_all;
    std::string req = "POST /echo/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\n\r\n";
    std::size_t total = 0;
    const std::size_t target = 200000 + rng() % 900000;
    while (total < target) {
      std::size_t n = (rng() % 3 == 0) ? 1 + rng() % 70000 : 0xfff4 + rng() % 20;
      n = std::min(n, target - total);
      char hex[32];
      std::snprintf(hex, sizeof hex, (rng() & 1) ? "%zx\r\n" : "%zX\r\n", n);
      req += hex;
      for (std::size_t k = 0; k < n; ++k) req.push_back(static_cast<char>(rng() & 0xff));
      req += "\r\n";
      total += n;
    }
    req += "0\r\n\r\n";
    const std::string all = req + get;
    for (int borrowed = 0; borrowed < 2; ++borrowed) {
      http_framer f(http_role::request);
      auto r = feed_in_segments(f, all, borrowed, [&]() -> std::size_t {
        switch (rng() % 4) {
          case 0: return 1 + rng() % 16;
          case 1: return 65483;  // a full loopback segment
          default: return 1 + rng() % 65483;
        }
      });
      INFO("round " << round << (borrowed ? " borrowed" : " copied"));
      CHECK(r.incomplete == 0);
      CHECK(f.framing_errors() == 0);
      REQUIRE(r.complete.size() == 2);
      CHECK(r.complete[0] == req);
      CHECK(r.complete[1] == get);
    }
  }
}

namespace {

// A random binary body, chunked with random sizes (hex case, extensions, trailers vary).
std::string random_chunked(std::mt19937& rng) {
  std::string out;
  int chunks = static_cast<int>(rng() % 6);
  for (int i = 0; i < chunks; ++i) {
    std::size_t n = 1 + rng() % 3000;
    char hex[64];
    std::snprintf(hex, sizeof hex, (rng() & 1) ? "%zx" : "%zX", n);
    out += hex;
    if (rng() % 5 == 0) out += ";ext=" + std::to_string(rng() % 100);
    out += "\r\n";
    for (std::size_t k = 0; k < n; ++k) out.push_back(static_cast<char>(rng() & 0xff));
    out += "\r\n";
  }
  out += "0\r\n";
  if (rng() % 4 == 0) out += "X-Checksum: " + std::to_string(rng()) + "\r\n";
  out += "\r\n";
  return out;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s;
  for (std::size_t k = 0; k < n; ++k) s.push_back(static_cast<char>(rng() & 0xff));
  return s;
}

}  // namespace

TEST_CASE("framer: pipelined random requests and responses in random segments", "[unit][capture]") {
  // Bodies are random binary (every byte value, CR and LF included, next to every framing
  // boundary); every message must come out complete and byte-identical, whatever the cuts.
  std::mt19937 rng(77);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> reqs, resps;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) {
      switch (rng() % 4) {
        case 0: {  // bodiless GET, or HEAD
          bool head = rng() % 3 == 0;
          reqs.push_back(std::string(head ? "HEAD" : "GET") + " /r" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n");
          std::string body = random_bytes(rng, rng() % 500);
          resps.push_back("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                          (head ? std::string() : body));
          break;
        }
        case 1: {  // Content-Length upload, 204
          std::string body = random_bytes(rng, rng() % 5000);
          reqs.push_back("PUT /u" + std::to_string(i) + " HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\n\r\n" + body);
          resps.push_back("HTTP/1.1 204 No Content\r\n\r\n");
          break;
        }
        case 2: {  // chunked upload, chunked response
          reqs.push_back("POST /c" + std::to_string(i) + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         random_chunked(rng));
          resps.push_back("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + random_chunked(rng));
          break;
        }
        default: {  // conditional GET, 304
          reqs.push_back("GET /e" + std::to_string(i) + " HTTP/1.1\r\nIf-None-Match: \"x\"\r\n\r\n");
          resps.push_back("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
          break;
        }
      }
    }
    for (int side = 0; side < 2; ++side) {
      const auto& msgs = side == 0 ? reqs : resps;
      std::string all;
      for (auto& m : msgs) all += m;
      http_framer f(side == 0 ? http_role::request : http_role::response);
      if (side == 1)
        for (auto& r : reqs) f.expect_response_to(r.rfind("HEAD", 0) == 0 ? request_kind::head : request_kind::normal);
      const bool borrowed = rng() & 1;
      auto r = feed_in_segments(f, all, borrowed, [&]() -> std::size_t {
        return (rng() % 3 == 0) ? 1 + rng() % 4 : 1 + rng() % 4000;
      });
      INFO("round " << round << (side == 0 ? " requests" : " responses"));
      CHECK(r.incomplete == 0);
      CHECK(f.framing_errors() == 0);
      CHECK(r.complete == msgs);
    }
  }
}

TEST_CASE("framer: header names match in any case, by length first, and exactly where they have '-'",
          "[unit][capture]") {
  // Whole in one segment (the one-pass header path) and byte by byte (the line states).
  for (bool whole : {true, false}) {
    INFO("whole " << whole);
    auto run = [&](const std::string& s) {
      framer_run r(http_role::request);
      if (whole)
        r.feed(s);
      else
        r.trickle(s);
      r.f.close();
      r.drain();
      return r.complete();
    };
    CHECK(run("POST /a HTTP/1.1\r\ncOnTeNt-LeNgTh: 3\r\n\r\nabc") ==
          std::vector<std::string>{"POST /a HTTP/1.1\r\ncOnTeNt-LeNgTh: 3\r\n\r\nabc"});
    CHECK(run("POST /a HTTP/1.1\r\nContent-Length \t: 3\r\n\r\nabc") ==
          std::vector<std::string>{"POST /a HTTP/1.1\r\nContent-Length \t: 3\r\n\r\nabc"});
    CHECK(run("POST /a HTTP/1.1\r\nTRANSFER-ENCODING: gzip, Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n") ==
          std::vector<std::string>{"POST /a HTTP/1.1\r\nTRANSFER-ENCODING: gzip, Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"});
    // A CR where the '-' belongs is another name: no body, and "abc" is no request.
    CHECK(run("POST /a HTTP/1.1\r\nContent\rLength: 3\r\n\r\nabc") ==
          std::vector<std::string>{"POST /a HTTP/1.1\r\nContent\rLength: 3\r\n\r\n"});
    CHECK(run("POST /a HTTP/1.1\r\nTransfer\rEncoding: chunked\r\nContent-Type: x\r\nContent-Lengthy: 9\r\n\r\n") ==
          std::vector<std::string>{"POST /a HTTP/1.1\r\nTransfer\rEncoding: chunked\r\nContent-Type: x\r\nContent-Lengthy: 9\r\n\r\n"});
    // Targets: any byte above space except DEL, at any length (the vector scan's tail too).
    for (std::size_t n : {1u, 15u, 16u, 17u, 31u, 32u, 33u, 100u}) {
      std::string target = "/" + std::string(n - 1, '\xc3');
      CHECK(run("GET " + target + " HTTP/1.1\r\n\r\n").size() == 1);
      for (char bad : {'\x7f', '\x01', '\t'}) {
        std::string t = target;
        t[n / 2 == 0 ? 0 : n / 2] = bad;
        if (n == 1) t = std::string(1, bad);
        CHECK(run("GET " + t + " HTTP/1.1\r\n\r\n").empty());
      }
    }
  }
}
