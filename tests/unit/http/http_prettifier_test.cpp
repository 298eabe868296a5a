#include "core/http/http_prettifier.hpp"

#include <catch2/catch.hpp>

#include <zlib.h>

#include <string>

using namespace coreplay;
using namespace coreplay::http;

namespace {

std::string gzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string pretty(const http_prettifier& p, const std::string& in) {
  std::string out;
  return p.prettify(in, out) == http_prettifier::outcome::changed ? out : in;
}

}  // namespace

TEST_CASE("prettify gunzips a gzip response (gor test)", "[unit][http]") {
  http_prettifier p;
  std::string z = gzip("test");
  std::string in = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(z.size()) +
                   "\r\nContent-Encoding: gzip\r\n\r\n" + z;
  CHECK(pretty(p, in) == "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntest");
  CHECK(p.stats().gunzipped == 1);
}

TEST_CASE("prettify de-chunks a chunked response (gor test)", "[unit][http]") {
  http_prettifier p;
  std::string in =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nServer: x\r\n\r\n"
      "4\r\nWiki\r\n5\r\npedia\r\ne\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
  CHECK(pretty(p, in) ==
        "HTTP/1.1 200 OK\r\nContent-Length: 23\r\nServer: x\r\n\r\nWikipedia in\r\n\r\nchunks.");
  CHECK(p.stats().dechunked == 1);
  CHECK(p.summary() == "dechunked=1 gunzipped=0 bad_chunked=0 bad_gzip=0");
}

TEST_CASE("prettify matches names and tokens case-insensitively", "[unit][http]") {
  http_prettifier p;
  std::string in = "POST /up HTTP/1.1\r\nhost: a\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  CHECK(pretty(p, in) == "POST /up HTTP/1.1\r\nhost: a\r\nContent-Length: 3\r\n\r\nabc");
  std::string z = gzip("hello");
  std::string in2 = "POST /up HTTP/1.1\r\ncontent-encoding: GZIP\r\n\r\n" + z;  // no Content-Length
  CHECK(pretty(p, in2) == "POST /up HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
}

TEST_CASE("prettify handles chunked gzip, extensions, trailers and LF-only framing",
          "[unit][http]") {
  http_prettifier p;
  std::string body(10000, 'x');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  std::string z = gzip(body);
  std::string chunks;
  char hex[16];
  for (std::size_t at = 0; at < z.size(); at += 1000) {
    std::string part = z.substr(at, 1000);
    snprintf(hex, sizeof hex, "%zX", part.size());
    chunks += std::string(hex) + ";ext=1\r\n" + part + "\r\n";
  }
  std::string in = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
                   "Trailer: X-Checksum\r\n\r\n" + chunks + "0\r\nX-Checksum: abc\r\n\r\n";
  CHECK(pretty(p, in) == "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\nX-Checksum: abc\r\n\r\n" + body);

  std::string lf = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n";
  CHECK(pretty(p, lf) == "HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
}

TEST_CASE("prettify keeps a pipelined message after the body", "[unit][http]") {
  http_prettifier p;
  std::string next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string in = "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n" + next;
  CHECK(pretty(p, in) == "POST /a HTTP/1.1\r\nContent-Length: 1\r\n\r\nz" + next);
  std::string z = gzip("abc");
  std::string in2 = "POST /a HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
                    std::to_string(z.size()) + "\r\n\r\n" + z + next;
  CHECK(pretty(p, in2) == "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc" + next);
}

TEST_CASE("prettify leaves corrupt bodies unchanged and counts them", "[unit][http]") {
  http_prettifier p;
  std::string bad_gzip = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello";
  CHECK(pretty(p, bad_gzip) == bad_gzip);
  std::string z = gzip("a fairly long body that compresses into several bytes");
  std::string cut = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + z.substr(0, z.size() / 2);
  CHECK(pretty(p, cut) == cut);
  std::string garbage_after = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + z + "junk";
  CHECK(pretty(p, garbage_after) == garbage_after);
  CHECK(p.stats().bad_gzip == 3);

  std::string bad_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n";
  CHECK(pretty(p, bad_chunk) == bad_chunk);
  std::string short_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc";
  CHECK(pretty(p, short_chunk) == short_chunk);
  std::string huge_size = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n";
  CHECK(pretty(p, huge_size) == huge_size);
  CHECK(p.stats().bad_chunked == 3);
}

TEST_CASE("prettify guards against zip bombs", "[unit][http]") {
  http_prettifier p(http_prettifier_options{.max_inflated_bytes = 1000});
  std::string z = gzip(std::string(100000, '\0'));
  std::string in = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + z;
  CHECK(pretty(p, in) == in);
  CHECK(p.stats().bad_gzip == 1);
}

TEST_CASE("prettify passes plain and non-HTTP payloads untouched", "[unit][http]") {
  http_prettifier p;
  auto plain = message::make(message_type::response, "a", 1, 2, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  CHECK(p.apply(plain) == plain);
  auto junk = message::make(message_type::request, "a", 1, std::nullopt, "Transfer-Encoding: chunked\r\n\r\n");
  CHECK(p.apply(junk) == junk);
  auto head_resp = message::make(message_type::response, "a", 1, 2,
                                 "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 40\r\n\r\n");
  CHECK(p.apply(head_resp) == head_resp);  // a HEAD response: no body to inflate
  auto head_chunked = message::make(message_type::response, "a", 1, 2,
                                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(p.apply(head_chunked) == head_chunked);
  CHECK(p.stats().bad_chunked == 0);
  auto chunked = message::make(message_type::replayed_response, "a", 1, 2,
                               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  auto out = p.apply(chunked);
  REQUIRE(out);
  CHECK(out->payload() == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK(out->meta() == chunked->meta());
}

TEST_CASE("decode_chunked reports consumed bytes", "[unit][http]") {
  std::string out, trailers;
  CHECK(decode_chunked("3\r\nabc\r\n0\r\n\r\nrest", out, trailers) == 13u);
  CHECK(out == "abc");
  CHECK(decode_chunked("3\r\nabc\r\n0\r\nA: 1\r\nB: 2\r\n\r\n", out, trailers) == 25u);
  CHECK(trailers == "A: 1\nB: 2");
  CHECK(decode_chunked("3\r\nabc\r\n0\r\n", out, trailers) == 11u);  // capture ends after last chunk
  CHECK_FALSE(decode_chunked("3\r\nabcd\r\n0\r\n\r\n", out, trailers));
  CHECK_FALSE(decode_chunked("", out, trailers));
  CHECK_FALSE(decode_chunked("3\r\nabc\r\n0\r\nA: 1", out, trailers));
}
