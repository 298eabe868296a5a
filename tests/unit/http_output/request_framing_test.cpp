#include "outputs/http/latency_histogram.hpp"
#include "outputs/http/request_framing.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace coreplay::http_replay;

namespace {

std::string join(const std::vector<std::string_view>& pieces) {
  std::string s;
  for (auto p : pieces) s.append(p);
  return s;
}

std::string rebuild(std::string_view payload, assemble_params params) {
  auto f = frame_request(payload);
  REQUIRE(f.ok());
  std::string scratch;
  std::vector<std::string_view> pieces;
  assemble_request(payload, f, params, scratch, pieces);
  return join(pieces);
}

}  // namespace

TEST_CASE("frame_request finds a Content-Length body and ignores bytes after it", "[unit][http_output]") {
  std::string p = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcEXTRA";
  auto f = frame_request(p);
  REQUIRE(f.ok());
  CHECK(f.method == "POST");
  CHECK(p.substr(f.target.begin, f.target.size()) == "/a");
  CHECK(f.header_end == p.find("abc"));
  CHECK(f.message_end == p.find("EXTRA"));
  REQUIRE(f.host_values.size() == 1);
  CHECK(p.substr(f.host_values[0].begin, f.host_values[0].size()) == "x");
}

TEST_CASE("frame_request walks a chunked body with extensions and trailers", "[unit][http_output]") {
  std::string body = "4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: t\r\n\r\n";
  std::string p = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + body + "NEXT";
  auto f = frame_request(p);
  REQUIRE(f.ok());
  CHECK(f.chunked);
  CHECK(f.message_end == p.size() - 4);
}

TEST_CASE("frame_request rejects broken framing", "[unit][http_output]") {
  CHECK(frame_request("").defect == request_defect::no_request_line);
  CHECK(frame_request("garbage\r\n\r\n").defect == request_defect::no_request_line);
  CHECK(frame_request("GET / FTP/1.0\r\n\r\n").defect == request_defect::no_request_line);
  CHECK(frame_request("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").defect == request_defect::unsupported_version);
  CHECK(frame_request("GET / HTTP/1.1\r\nHost: x\r\n").defect == request_defect::truncated_header);
  CHECK(frame_request("GET / HTTP/1.1\r\nno colon\r\n\r\n").defect == request_defect::bad_header);
  CHECK(frame_request("POST / HTTP/1.1\r\nContent-Length: x1\r\n\r\n").defect == request_defect::bad_content_length);
  CHECK(frame_request("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").defect ==
        request_defect::bad_content_length);
  CHECK(frame_request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc").defect == request_defect::truncated_body);
  CHECK(frame_request("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").defect ==
        request_defect::bad_transfer_encoding);
  CHECK(frame_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").defect == request_defect::bad_chunk);
  CHECK(frame_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").defect ==
        request_defect::truncated_body);
  CHECK(frame_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n").defect ==
        request_defect::truncated_body);
  // Duplicate but equal Content-Length values are one length.
  CHECK(frame_request("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nab").ok());
}

TEST_CASE("frame_request accepts bare LF line endings", "[unit][http_output]") {
  std::string p = "GET /x HTTP/1.0\nHost: h\n\n";
  auto f = frame_request(p);
  REQUIRE(f.ok());
  CHECK(f.line_ending == "\n");
  CHECK(f.message_end == p.size());
  CHECK(rebuild(p, {"t:1", "", ""}) == "GET /x HTTP/1.0\nHost: t:1\n\n");
}

TEST_CASE("assemble_request changes only Host values and the target", "[unit][http_output]") {
  std::string p =
      "PUT /orig?q=1 HTTP/1.1\r\nX-B: 1\r\nhost:  original.example \r\nx-a: 2\r\nX-B: 3\r\nContent-Length: 4\r\n\r\nbody";
  CHECK(rebuild(p, {"target:8080", "", ""}) ==
        "PUT /orig?q=1 HTTP/1.1\r\nX-B: 1\r\nhost:  target:8080 \r\nx-a: 2\r\nX-B: 3\r\nContent-Length: 4\r\n\r\nbody");
  CHECK(rebuild(p, {"", "", ""}) == p);  // original host
  CHECK(rebuild(p, {"", "/fixed?x", ""}) ==
        "PUT /fixed?x HTTP/1.1\r\nX-B: 1\r\nhost:  original.example \r\nx-a: 2\r\nX-B: 3\r\nContent-Length: 4\r\n\r\nbody");
}

TEST_CASE("assemble_request adds Host and Authorization when missing", "[unit][http_output]") {
  std::string p = "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n";
  CHECK(rebuild(p, {"h:1", "", "Basic dTpw"}) ==
        "GET / HTTP/1.1\r\nHost: h:1\r\nAuthorization: Basic dTpw\r\nAccept: */*\r\n\r\n");
  std::string with_auth = "GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n";
  CHECK(rebuild(with_auth, {"", "", "Basic dTpw"}) == with_auth);
}

TEST_CASE("absolute-form targets go out in origin form", "[unit][http_output]") {
  CHECK(origin_form("http://example.com/a/b?c=d") == "/a/b?c=d");
  CHECK(origin_form("https://example.com") == "/");
  CHECK(origin_form("/a?u=http://x/y") == "/a?u=http://x/y");
  CHECK(origin_form("*") == "*");
  CHECK(rebuild("GET http://old/p?q HTTP/1.1\r\nHost: old\r\n\r\n", {"new", "", ""}) ==
        "GET /p?q HTTP/1.1\r\nHost: new\r\n\r\n");
}

TEST_CASE("parse_target_url", "[unit][http_output]") {
  auto a = parse_target_url("localhost:8080");
  CHECK_FALSE(a.tls);
  CHECK(a.host == "localhost");
  CHECK(a.port == "8080");
  CHECK(a.authority == "localhost:8080");
  CHECK(a.path_and_query.empty());

  auto b = parse_target_url("https://user:pw@example.com/api/v1?k=v#frag");
  CHECK(b.tls);
  CHECK(b.port == "443");
  CHECK(b.authority == "example.com");
  CHECK(b.path_and_query == "/api/v1?k=v");
  CHECK(b.authorization == "Basic " + base64_encode("user:pw"));

  auto c = parse_target_url("http://[::1]:81");
  CHECK(c.host == "::1");
  CHECK(c.port == "81");
  CHECK(c.authority == "[::1]:81");

  auto d = parse_target_url("http://h/");
  CHECK(d.path_and_query == "/");
  CHECK(parse_target_url("http://u:p@h").authorization.empty());  // userinfo only applies with a path
  CHECK(parse_target_url("http://h?x=1").path_and_query == "/?x=1");

  CHECK_THROWS_AS(parse_target_url("ftp://h"), std::invalid_argument);
  CHECK_THROWS_AS(parse_target_url("http://"), std::invalid_argument);
  CHECK_THROWS_AS(parse_target_url("http://h:99999"), std::invalid_argument);
  CHECK_THROWS_AS(parse_target_url("http://h:x"), std::invalid_argument);
}

TEST_CASE("base64_encode", "[unit][http_output]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("latency_histogram percentiles are within a bucket", "[unit][http_output]") {
  latency_histogram h;
  CHECK(h.quantile_ns(0.5) == 0);
  for (std::uint64_t ms = 1; ms <= 100; ++ms) h.record(ms * 1'000'000);
  CHECK(h.count() == 100);
  CHECK(h.max_ns() == 100'000'000);
  auto p50 = h.quantile_ns(0.5);
  CHECK(p50 >= 50'000'000);
  CHECK(p50 <= 57'000'000);
  auto p99 = h.quantile_ns(0.99);
  CHECK(p99 >= 99'000'000);
  CHECK(p99 <= 100'000'000);
  // Bucket indexes grow with the value and stay in range.
  std::size_t last = 0;
  for (std::uint64_t us = 0; us < (1ull << 20); us = us * 2 + 1) {
    auto i = latency_histogram::index(us);
    CHECK(i >= last);
    CHECK(latency_histogram::upper_bound_us(i) > us);
    last = i;
  }
  CHECK(latency_histogram::index(~0ull) < 320);
}
