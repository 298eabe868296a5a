// A small structured server for the plain-TCP endpoints a pipeline runs (--input-http,
// --http-pprof): it accepts on a socket bound beforehand (core/listen_socket.hpp) and serves
// each connection with a coroutine on one executor. stop() closes the acceptor and every open
// connection (a keep-alive client cannot hold the process), and wait() returns once the accept
// loop and every connection's coroutine have ended, so nothing they use is touched afterwards.
#pragma once

#include "core/listen_socket.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace coreplay {

namespace asio = boost::asio;

class socket_server {
 public:
  // Serves one connection until it ends; the server closes the socket afterwards.
  using serve_fn = std::function<asio::awaitable<void>(asio::ip::tcp::socket&)>;

  // `name` prefixes the one-line errors (a failed accept: out of descriptors, say); `errors`,
  // when given, counts them.
  socket_server(asio::any_io_executor ex, listen_socket listener, std::string name, serve_fn serve,
                std::atomic<std::uint64_t>* errors = nullptr);
  ~socket_server();
  socket_server(const socket_server&) = delete;
  socket_server& operator=(const socket_server&) = delete;

  std::uint16_t port() const noexcept;
  void start();
  void stop();
  // Until the accept loop and every connection have ended (after stop(), or never).
  asio::awaitable<void> wait();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace coreplay
