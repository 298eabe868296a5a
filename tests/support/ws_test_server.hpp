// A Boost.Beast WebSocket server on 127.0.0.1:<any port> for tests of --output-ws: records each
// connection's handshake Authorization header, and every message (with its binary/text kind).
// Plain, or TLS with a certificate and key in PEM files. Single-threaded, on the given io_context.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace coreplay::test {

class ws_test_server {
 public:
  struct connection {
    std::string authorization;  // "<none>" when the handshake had no such header
    std::string target;
    std::vector<std::string> frames;
    bool all_binary = true;
    bool ended = false;
  };
  struct shared {
    std::vector<std::shared_ptr<connection>> conns;
    int handshakes_failed = 0;
    std::function<void(const std::string&)> on_frame;  // called for each message, in order
  };

  ws_test_server(boost::asio::io_context& io, std::optional<std::pair<std::string, std::string>> cert_key = {})
      : acc_(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0)) {
    if (cert_key) {
      tls_ = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(cert_key->first);
      tls_->use_private_key_file(cert_key->second, boost::asio::ssl::context::pem);
    }
    boost::asio::co_spawn(io, accept_loop(acc_, st, tls_), boost::asio::detached);
  }
  ~ws_test_server() {
    boost::system::error_code ignored;
    acc_.close(ignored);
  }
  std::uint16_t port() const { return acc_.local_endpoint().port(); }
  int ended() const {
    int n = 0;
    for (auto& c : st->conns) n += c->ended;
    return n;
  }
  std::size_t frames() const {
    std::size_t n = 0;
    for (auto& c : st->conns) n += c->frames.size();
    return n;
  }

  std::shared_ptr<shared> st = std::make_shared<shared>();

 private:
  using tcp = boost::asio::ip::tcp;
  static constexpr auto tok = boost::asio::as_tuple(boost::asio::use_awaitable);

  static boost::asio::awaitable<void> accept_loop(tcp::acceptor& acc, std::shared_ptr<shared> st,
                                                  std::shared_ptr<boost::asio::ssl::context> tls) {
    for (;;) {
      auto [ec, s] = co_await acc.async_accept(tok);
      if (ec) co_return;
      if (tls) boost::asio::co_spawn(acc.get_executor(), serve_tls(std::move(s), st, tls), boost::asio::detached);
      else boost::asio::co_spawn(acc.get_executor(), serve_plain(std::move(s), st), boost::asio::detached);
    }
  }
  static boost::asio::awaitable<void> serve_plain(tcp::socket s, std::shared_ptr<shared> st) {
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws(std::move(s));
    co_await serve(ws, st);
  }
  static boost::asio::awaitable<void> serve_tls(tcp::socket s, std::shared_ptr<shared> st,
                                                std::shared_ptr<boost::asio::ssl::context> tls) {
    boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>> ws(std::move(s), *tls);
    auto [ec] = co_await ws.next_layer().async_handshake(boost::asio::ssl::stream_base::server, tok);
    if (ec) {
      ++st->handshakes_failed;
      co_return;
    }
    co_await serve(ws, st);
  }
  template <class Stream>
  static boost::asio::awaitable<void> serve(Stream& ws, std::shared_ptr<shared> st) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buf;
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(ws.next_layer(), buf, req, tok);
    if (rec || !boost::beast::websocket::is_upgrade(req)) {
      ++st->handshakes_failed;
      co_return;
    }
    auto c = std::make_shared<connection>();
    auto auth = req.find(http::field::authorization);
    c->authorization = auth == req.end() ? "<none>" : std::string(auth->value());
    c->target = std::string(req.target());
    st->conns.push_back(c);
    auto [aec] = co_await ws.async_accept(req, tok);
    if (aec) {
      ++st->handshakes_failed;
      c->ended = true;
      co_return;
    }
    buf.clear();
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buf, tok);
      if (ec) break;
      c->frames.push_back(boost::beast::buffers_to_string(buf.data()));
      if (!ws.got_binary()) c->all_binary = false;
      if (st->on_frame) st->on_frame(c->frames.back());
      buf.clear();
    }
    c->ended = true;
  }

  tcp::acceptor acc_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace coreplay::test
