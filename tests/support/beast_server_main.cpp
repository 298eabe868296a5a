// beast_test_server PORT: a Boost.Beast HTTP/1.1 server on 127.0.0.1 and [::1], for recording
// real captures (tests/data/pcap/make_pcaps.sh). Beast's own parser and serializer frame every
// message, so the captures show a second real server's framing beside nginx's and Python's.
//
//   POST|PUT /echo...        the request body back (Content-Length), any size, binary as is
//   POST|PUT anything else   "got N bytes" (uploads of 1 MB without a 1 MB echo in the pcap)
//   GET /bytes/N             N deterministic binary bytes (Content-Length)
//   GET /chunked/N           N bytes as a chunked response, in chunks of up to 1000 bytes
//   GET /status/204          204 No Content        GET /status/304   304 Not Modified
//   GET /close               a short body, then the server closes (Connection: close)
//   HEAD any of the above    the GET headers, no body
//   anything else            "beast says <target>"
// Keep-alive and pipelining follow the client. "Expect: 100-continue" gets an interim 100
// before the body is read. Runs until killed.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_body = 8 << 20;

// Bytes that cover all 256 values and are the same on every run (diffable captures).
std::string binary_bytes(std::size_t n) {
  std::string out(n, '\0');
  std::uint32_t x = 2463534242u;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

std::size_t size_after(std::string_view target, std::string_view prefix) {
  std::size_t n = 0;
  auto rest = target.substr(prefix.size());
  std::from_chars(rest.data(), rest.data() + rest.size(), n);
  return n < max_body ? n : max_body;
}

// Writes a chunked response by hand so the body really goes out in several chunks.
asio::awaitable<boost::system::error_code> write_chunked(tcp::socket& sock, unsigned version, bool keep_alive,
                                                          bool head, std::size_t n) {
  http::response<http::empty_body> res{http::status::ok, version};
  res.set(http::field::server, "beast");
  res.set(http::field::content_type, "application/octet-stream");
  res.keep_alive(keep_alive);
  res.chunked(true);
  http::response_serializer<http::empty_body> sr{res};
  auto [ec, written] = co_await http::async_write_header(sock, sr, tok);
  if (ec || head) co_return ec;
  auto body = binary_bytes(n);
  for (std::size_t at = 0; at < n; at += 1000) {
    auto part = asio::buffer(body.data() + at, std::min<std::size_t>(1000, n - at));
    auto [wec, w] = co_await asio::async_write(sock, http::make_chunk(part), tok);
    if (wec) co_return wec;
  }
  auto [lec, l] = co_await asio::async_write(sock, http::make_chunk_last(), tok);
  co_return lec;
}

http::response<http::string_body> answer(const http::request<http::string_body>& req) {
  std::string_view target = req.target();
  bool head = req.method() == http::verb::head;
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "beast");
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, "application/octet-stream");
  if (req.method() == http::verb::post || req.method() == http::verb::put) {
    res.result(http::status::created);
    res.body() = target.starts_with("/echo") ? req.body() : "got " + std::to_string(req.body().size()) + " bytes";
  } else if (target.starts_with("/bytes/")) {
    res.body() = binary_bytes(size_after(target, "/bytes/"));
  } else if (target == "/status/204") {
    res.result(http::status::no_content);
  } else if (target == "/status/304") {
    res.result(http::status::not_modified);
    res.set(http::field::etag, "\"v1\"");
  } else if (target == "/close") {
    res.keep_alive(false);
    res.body() = "closing after this";
  } else {
    res.set(http::field::content_type, "text/plain");
    res.body() = "beast says " + std::string(target);
  }
  if (res.result() == http::status::no_content || res.result() == http::status::not_modified) {
    res.body().clear();
    return res;  // no Content-Length: these statuses never have a body
  }
  res.prepare_payload();
  if (head) {
    // HEAD: the GET's Content-Length, no body.
    auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

asio::awaitable<void> serve(tcp::socket sock) {
  boost::beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(max_body);
    auto [hec, hn] = co_await http::async_read_header(sock, buffer, parser, tok);
    if (hec) break;
    if (boost::beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
      auto [cec, cn] = co_await http::async_write(sock, cont, tok);
      if (cec) break;
    }
    auto [bec, bn] = co_await http::async_read(sock, buffer, parser, tok);
    if (bec) break;
    auto req = parser.release();
    std::string_view target = req.target();
    bool head = req.method() == http::verb::head;
    boost::system::error_code wec;
    bool keep_alive = req.keep_alive();
    if (target.starts_with("/chunked/") && req.method() != http::verb::post) {
      wec = co_await write_chunked(sock, req.version(), keep_alive, head, size_after(target, "/chunked/"));
    } else {
      auto res = answer(req);
      keep_alive = res.keep_alive();
      // A HEAD answer's body is empty already: the serializer writes the headers only.
      auto [ec, n] = co_await http::async_write(sock, res, tok);
      wec = ec;
    }
    if (wec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  sock.close(ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(tok);
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), serve(std::move(sock)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  asio::io_context io;
  for (const char* address : {"127.0.0.1", "::1"}) {
    tcp::endpoint ep{asio::ip::make_address(address), port};
    tcp::acceptor acceptor{io, ep.protocol()};
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    if (ep.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true));
    acceptor.bind(ep);
    acceptor.listen();
    asio::co_spawn(io, accept_loop(std::move(acceptor)), asio::detached);
  }
  io.run();
}
