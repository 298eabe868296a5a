#include "core/socket_server.hpp"

#include "core/bell.hpp"
#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <list>

namespace coreplay {

using tcp = asio::ip::tcp;

struct socket_server::impl {
  impl(asio::any_io_executor e, listen_socket l, std::string n, serve_fn s, std::atomic<std::uint64_t>* err)
      : ex(e), acceptor(e), listener(l), name(std::move(n)), serve(std::move(s)), errors(err), ended(e) {}

  asio::any_io_executor ex;
  tcp::acceptor acceptor;
  listen_socket listener;  // until start() hands it to the acceptor
  std::string name;
  serve_fn serve;
  std::atomic<std::uint64_t>* errors;
  std::list<tcp::socket> connections;
  bool accepting = false;  // the accept loop runs
  bool stopped = false;
  detail::bell ended;  // rung when the accept loop or a connection ends

  static asio::awaitable<void> serve_one(std::shared_ptr<impl> self, std::list<tcp::socket>::iterator it) {
    try {
      co_await self->serve(*it);
    } catch (const std::exception& e) {
      log::at(2, self->name, ": connection ended: ", e.what());
    }
    boost::system::error_code ignored;
    it->shutdown(tcp::socket::shutdown_both, ignored);
    it->close(ignored);
    self->connections.erase(it);
    self->ended.ring();
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self) {
    asio::steady_timer pause(self->ex);
    while (!self->stopped) {
      auto [ec, sock] = co_await self->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (self->stopped) break;
      if (ec) {  // out of descriptors, or the like: report, breathe, go on
        if (self->errors) self->errors->fetch_add(1, std::memory_order_relaxed);
        log::error(self->name, ": accept failed: ", ec.message());
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      self->connections.push_back(std::move(sock));
      asio::co_spawn(self->ex, serve_one(self, std::prev(self->connections.end())), asio::detached);
    }
    self->accepting = false;
    self->ended.ring();
  }
};

socket_server::socket_server(asio::any_io_executor ex, listen_socket listener, std::string name, serve_fn serve,
                             std::atomic<std::uint64_t>* errors)
    : impl_(std::make_shared<impl>(ex, listener, std::move(name), std::move(serve), errors)) {}

socket_server::~socket_server() {
  stop();
  if (impl_->listener.fd >= 0) ::close(impl_->listener.fd);  // never started
}

std::uint16_t socket_server::port() const noexcept { return impl_->listener.endpoint.port(); }

void socket_server::start() {
  impl_->acceptor.assign(impl_->listener.endpoint.protocol(), impl_->listener.fd);
  impl_->listener.fd = -1;  // the acceptor owns it now
  impl_->accepting = true;
  asio::co_spawn(impl_->ex, impl::accept_loop(impl_), asio::detached);
}

void socket_server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto& s : impl_->connections) s.close(ignored);
}

asio::awaitable<void> socket_server::wait() {
  auto self = impl_;
  while (self->accepting || !self->connections.empty()) co_await self->ended.wait();
}

}  // namespace coreplay
