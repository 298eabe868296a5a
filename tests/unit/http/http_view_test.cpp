#include "core/http/http_view.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace coreplay::http;
using namespace std::string_literals;

TEST_CASE("request line accepts any token method and HTTP/1.0/1.1", "[unit][http]") {
  auto r = parse_request_line("PURGE /cache/x HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(r);
  CHECK(r->method == "PURGE");
  CHECK(r->target == "/cache/x");
  CHECK(r->version == "HTTP/1.1");
  CHECK(r->next == 25);
  CHECK(parse_request_line("PROPFIND / HTTP/1.0\n\n"));
  CHECK(parse_request_line("POST /post HTTP/1.0\r\n"));
  // gor's TestHasRequestTitle negatives, and more.
  CHECK_FALSE(parse_request_line("HTTP/1."));
  CHECK_FALSE(parse_request_line("POS"));
  CHECK_FALSE(parse_request_line("GET / HTTP/1.1\r"));  // no LF yet
  CHECK_FALSE(parse_request_line("HTTP/1.400"));
  CHECK_FALSE(parse_request_line("GET /get"));
  CHECK_FALSE(parse_request_line("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  CHECK_FALSE(parse_request_line("GET  / HTTP/1.1\r\n"));
  CHECK_FALSE(parse_request_line("GET / HTTP/1.1 \r\n"));
  CHECK_FALSE(parse_request_line("G(T / HTTP/1.1\r\n"));
  CHECK_FALSE(parse_request_line("GET /a\x01 HTTP/1.1\r\n"));
  CHECK_FALSE(parse_request_line(""));
  CHECK_FALSE(parse_request_line("\n:00\n"));
}

TEST_CASE("status line accepts any three-digit status", "[unit][http]") {
  auto s = parse_status_line("HTTP/1.1 200 OK\r\n");
  REQUIRE(s);
  CHECK(s->status == 200);
  CHECK(s->reason == "OK");
  CHECK(parse_status_line("HTTP/1.1 200\r\n")->status == 200);
  CHECK(parse_status_line("HTTP/1.0 404 Not Found\n")->status == 404);
  CHECK(parse_status_line("HTTP/1.1 299 Custom\r\n")->status == 299);
  CHECK(parse_status_line("HTTP/1.1 599 Whatever it is\r\n")->reason == "Whatever it is");
  CHECK(parse_status_line("HTTP/1.1 100 Continue\r\n"));
  CHECK_FALSE(parse_status_line("HTTP/1.1 100 Continue"));
  CHECK_FALSE(parse_status_line("HTTP/4.0 200 OK\r\n"));
  CHECK_FALSE(parse_status_line("HTTP/1.1 100Continue\r\n"));
  CHECK_FALSE(parse_status_line("HTTP/1.1 10r\r\n"));
  CHECK_FALSE(parse_status_line("HTTP/1.1 2000 OK\r\n"));
}

TEST_CASE("header lookup trims, ignores case and stops at the end of the head", "[unit][http]") {
  std::string p =
      "POST /post HTTP/1.1\r\nContent-Length:7\r\nhost:   www.w3.org  \r\nCookie:\r\n"
      "X-A: 1\r\nx-a: 2\r\n\r\nX-Body: not a header\r\n";
  http_view v(p);
  REQUIRE(v.request());
  CHECK(v.head_complete());
  CHECK(v.header("Content-Length")->value == "7");
  CHECK(v.header("HOST")->value == "www.w3.org");
  CHECK(v.header("Cookie")->value.empty());
  CHECK(v.header("X-A")->value == "1");  // the first of duplicates
  CHECK_FALSE(v.header("X-Body"));       // gor finds this one inside the body
  CHECK_FALSE(v.header("Missing"));
  CHECK(v.body() == "X-Body: not a header\r\n");
  CHECK(v.headers_begin() == 21);
  CHECK(p.substr(v.headers_end(), 2) == "\r\n");

  int n = 0;
  v.for_each_header([&](const header_field&) { return ++n < 100; });
  CHECK(n == 5);
}

TEST_CASE("LF-only heads keep the last value byte", "[unit][http]") {
  std::string p = "GET /x HTTP/1.1\nHost: example.org\nAccept: */*\n\nbody";
  http_view v(p);
  CHECK(v.eol() == "\n");
  CHECK(v.header("Host")->value == "example.org");
  CHECK(v.header("Accept")->value == "*/*");
  CHECK(v.body() == "body");
}

TEST_CASE("a cut-off head is read up to the end of the payload", "[unit][http]") {
  std::string p = "GET / HTTP/1.1\r\nHost: a\r\nX-Partial: abc";
  http_view v(p);
  CHECK_FALSE(v.head_complete());
  CHECK(v.header("X-Partial")->value == "abc");
  CHECK(v.body().empty());
  http_view none("no request line here\r\nHost: a\r\n\r\n");
  CHECK_FALSE(none.has_start_line());
  CHECK_FALSE(none.header("Host"));
}

TEST_CASE("responses have headers too", "[unit][http]") {
  http_view v("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhi");
  REQUIRE(v.response());
  CHECK(v.header("content-type")->value == "text/plain");
  CHECK(v.target().empty());
}

TEST_CASE("set_header replaces the first match or inserts after the start line", "[unit][http]") {
  std::string p = "POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2";
  REQUIRE(set_header(p, "content-length", "14"));
  CHECK(p == "POST /post HTTP/1.1\r\nContent-Length: 14\r\nHost: www.w3.org\r\n\r\na=1&b=2");
  REQUIRE(set_header(p, "User-Agent", "Gor"));
  CHECK(p == "POST /post HTTP/1.1\r\nUser-Agent: Gor\r\nContent-Length: 14\r\nHost: www.w3.org\r\n\r\na=1&b=2");

  std::string no_eol = "POST /post HTTP/1.1";
  CHECK_FALSE(set_header(no_eol, "User-Agent", "Gor"));
  CHECK(no_eol == "POST /post HTTP/1.1");

  std::string lf = "GET / HTTP/1.1\nHost: a\n\n";
  set_header(lf, "X-New", "v");
  CHECK(lf == "GET / HTTP/1.1\nX-New: v\nHost: a\n\n");

  std::string empty_value = "GET / HTTP/1.1\r\nCookie:\r\n\r\n";
  set_header(empty_value, "Cookie", "a=b");
  CHECK(empty_value == "GET / HTTP/1.1\r\nCookie: a=b\r\n\r\n");

  std::string dup = "GET / HTTP/1.1\r\nX-A: 1\r\nX-A: 2\r\n\r\n";
  set_header(dup, "x-a", "9");
  CHECK(dup == "GET / HTTP/1.1\r\nX-A: 9\r\nX-A: 2\r\n\r\n");

  // Never edits a "header" in the body.
  std::string body = "POST / HTTP/1.1\r\nHost: a\r\n\r\nX-Token: secret\r\n";
  set_header(body, "X-Token", "x");
  CHECK(body == "POST / HTTP/1.1\r\nX-Token: x\r\nHost: a\r\n\r\nX-Token: secret\r\n");
}

TEST_CASE("append, insert and delete header", "[unit][http]") {
  std::string p = "GET / HTTP/1.1\r\nHost: a\r\nX-Del: 1 \r\nAccept: */*\r\nx-del:2\r\n\r\nbody";
  CHECK(delete_header(p, "X-Del") == 2);
  CHECK(p == "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\nbody");
  append_header(p, "X-Last", "z");
  CHECK(p == "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Last: z\r\n\r\nbody");
  insert_header(p, "Host", "b");
  CHECK(p == "GET / HTTP/1.1\r\nHost: b\r\nHost: a\r\nAccept: */*\r\nX-Last: z\r\n\r\nbody");
  CHECK(delete_header(p, "Missing") == 0);
}

TEST_CASE("edits touch only the first of pipelined requests", "[unit][http]") {
  std::string p = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n";
  set_header(p, "Host", "z");
  set_target(p, "/c");
  CHECK(p == "GET /c HTTP/1.1\r\nHost: z\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n");
  CHECK(delete_header(p, "Host") == 1);
  CHECK(p == "GET /c HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n");
}

TEST_CASE("path and query parameters", "[unit][http]") {
  std::string p = "GET /p?a=1&b=2&a=3&c= HTTP/1.1\r\n\r\n";
  http_view v(p);
  CHECK(v.target() == "/p?a=1&b=2&a=3&c=");
  CHECK(v.query_param("a") == "1");  // the first occurrence wins
  CHECK(v.query_param("b") == "2");
  CHECK(v.query_param("c") == "");
  CHECK_FALSE(v.query_param("d"));
  CHECK_FALSE(v.query_param("p"));  // the path is not a parameter
  CHECK(http_view("GET /p?xa=1 HTTP/1.1\r\n\r\n").query_param("a") == std::nullopt);

  set_query_param(p, "a", "9");
  CHECK(p == "GET /p?a=9&b=2&a=3&c= HTTP/1.1\r\n\r\n");
  set_query_param(p, "c", "x%20y");
  CHECK(p == "GET /p?a=9&b=2&a=3&c=x%20y HTTP/1.1\r\n\r\n");
  set_query_param(p, "d", "4");
  CHECK(p == "GET /p?a=9&b=2&a=3&c=x%20y&d=4 HTTP/1.1\r\n\r\n");

  std::string q = "GET /post HTTP/1.1\r\n\r\n";
  set_query_param(q, "api_key", "1");
  CHECK(q == "GET /post?api_key=1 HTTP/1.1\r\n\r\n");
  std::string trailing = "GET /post? HTTP/1.1\r\n\r\n";
  set_query_param(trailing, "k", "v");
  CHECK(trailing == "GET /post?k=v HTTP/1.1\r\n\r\n");
  std::string second_q = "GET /p?a/b? HTTP/1.1\r\n\r\n";  // only the first '?' starts the query
  set_query_param(second_q, "k", "v");
  CHECK(second_q == "GET /p?a/b?&k=v HTTP/1.1\r\n\r\n");
  CHECK(http_view(second_q).query_param("k") == "v");

  std::string t = "POST /post HTTP/1.1\r\nContent-Length: 7\r\n\r\na=1&b=2";
  set_target(t, "/new/path?x=1");
  CHECK(t == "POST /new/path?x=1 HTTP/1.1\r\nContent-Length: 7\r\n\r\na=1&b=2");
  std::string resp = "HTTP/1.1 200 OK\r\n\r\n";
  CHECK_FALSE(set_target(resp, "/x"));
  CHECK_FALSE(set_query_param(resp, "a", "b"));
}

TEST_CASE("fnv1a32 matches gor's hashes", "[unit][http]") {
  CHECK(fnv1a32("") == 2166136261u);
  CHECK(fnv1a32("3") % 100 == 82);
  CHECK(fnv1a32("1") % 100 == 44);
  CHECK(fnv1a32("foobar") == 0xbf9cf968u);
}

TEST_CASE("malformed heads never crash", "[unit][http]") {
  for (std::string p : {"\n:00\n"s, ":\r\n"s, "GET / HTTP/1.1\r\n:\r\n::\r\n\r\n"s,
                        "GET / HTTP/1.1\r\n\r"s, "GET / HTTP/1.1\n\r\n"s, "HTTP/1.1 200 \r\n"s}) {
    http_view v(p);
    (void)v.header("x");
    set_header(p, "A", "b");
    delete_header(p, "A");
    set_query_param(p, "q", "1");
  }
  SUCCEED();
}

TEST_CASE("the end of the head is the same whether looked up or scanned", "[unit][http]") {
  for (std::string p : {"GET / HTTP/1.1\r\nA: 1\r\n\r\nbody"s, "GET / HTTP/1.1\nA: 1\n\nbody"s,
                        "GET / HTTP/1.1\r\nA: 1\r\n"s, "GET / HTTP/1.1\r\nA: 1"s,
                        "GET / HTTP/1.1\r\n\r\n"s, "GET / HTTP/1.1\r\n"s, "GET / HTTP/1.1\r\nA: 1\r\n\r"s,
                        "HTTP/1.1 200 OK\r\nA\r\n\nx"s}) {
    http_view eager(p);
    auto end = eager.headers_end();
    http_view lazy(p);
    (void)lazy.header("Missing");
    INFO(p);
    CHECK(lazy.headers_end() == end);
    CHECK(lazy.body_begin() == eager.body_begin());
    CHECK(lazy.head_complete() == eager.head_complete());
  }
}
