// An HTTP/1.1 server for tests, on 127.0.0.1 port 0, run by the test's own io_context: it
// records every request's raw bytes, when it arrived, and how many connections it accepted,
// and answers what the test's handler says (bytes, after a delay, then maybe closing).
#pragma once

#include "outputs/http/request_framing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace coreplay::test {

namespace asio = boost::asio;

struct test_reply {
  std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  std::chrono::milliseconds delay{0};
  bool close_after = false;  // close the connection after writing
  bool drop = false;         // close without answering
};

class http_test_server {
 public:
  using handler_type = std::function<test_reply(const std::string& request)>;

  explicit http_test_server(asio::io_context& io, asio::ssl::context* tls = nullptr)
      : io_(io), tls_(tls), acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port()); }
  std::string url(std::string_view path = "") const {
    return std::string(tls_ ? "https://" : "http://") + authority() + std::string(path);
  }

  handler_type handler = [](const std::string&) { return test_reply{}; };
  std::vector<std::string> requests;
  std::vector<std::chrono::steady_clock::time_point> arrivals;  // when each request was complete
  int connections = 0;

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++connections;
      asio::co_spawn(io_, serve(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket sock) {
    constexpr auto tok = asio::as_tuple(asio::use_awaitable);
    std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls;
    if (tls_) {
      tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(std::move(sock), *tls_);
      auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server, tok);
      if (ec) co_return;
    }
    auto& raw = tls ? tls->next_layer() : sock;
    std::string buf;
    char chunk[16384];
    for (;;) {
      auto f = http_replay::frame_request(buf);
      using d = http_replay::request_defect;
      if (!f.ok()) {
        if (f.defect != d::no_request_line && f.defect != d::truncated_header && f.defect != d::truncated_body)
          co_return;
        boost::system::error_code ec;
        std::size_t n;
        if (tls) std::tie(ec, n) = co_await tls->async_read_some(asio::buffer(chunk), tok);
        else std::tie(ec, n) = co_await raw.async_read_some(asio::buffer(chunk), tok);
        if (ec) co_return;
        buf.append(chunk, n);
        continue;
      }
      std::string request = buf.substr(0, f.message_end);
      buf.erase(0, f.message_end);
      requests.push_back(request);
      arrivals.push_back(std::chrono::steady_clock::now());
      auto reply = handler(request);
      if (reply.delay.count() > 0) {
        asio::steady_timer t(io_, reply.delay);
        co_await t.async_wait(tok);
      }
      if (reply.drop) {
        boost::system::error_code ignored;
        raw.close(ignored);
        co_return;
      }
      boost::system::error_code ec;
      std::size_t n;
      if (tls) std::tie(ec, n) = co_await asio::async_write(*tls, asio::buffer(reply.bytes), tok);
      else std::tie(ec, n) = co_await asio::async_write(raw, asio::buffer(reply.bytes), tok);
      if (ec || reply.close_after) {
        boost::system::error_code ignored;
        raw.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        raw.close(ignored);
        co_return;
      }
    }
  }

  asio::io_context& io_;
  asio::ssl::context* tls_;
  asio::ip::tcp::acceptor acceptor_;
};

// A TLS server context with a fresh self-signed EC certificate for CN=localhost.
inline std::unique_ptr<asio::ssl::context> make_self_signed_server_context() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());

  auto pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return out;
  };
  auto cert_pem = pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
  auto key_pem = pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);

  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->use_certificate_chain(asio::buffer(cert_pem));
  ctx->use_private_key(asio::buffer(key_pem), asio::ssl::context::pem);
  return ctx;
}

}  // namespace coreplay::test
