// Listening sockets for the servers a pipeline runs (--input-http, --http-pprof): the address
// parsed and bound when the plugin is made, so a bad or busy address fails the start with an
// error naming it, and the port is known before the io_context runs.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <string_view>

namespace coreplay {

// ":8080" (every IPv4 interface), "127.0.0.1:8080", "[::1]:8080", "localhost:8080"; port 0
// picks a free one. Throws std::runtime_error "WHAT 'ADDRESS': why".
boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& address, std::string_view what);

// A socket listening on `address` (SO_REUSEADDR, close-on-exec), ready for
// tcp::acceptor::assign(). Throws std::runtime_error naming `what` and the address.
struct listen_socket {
  int fd = -1;
  boost::asio::ip::tcp::endpoint endpoint;  // the bound one (the real port when 0 was asked)
};
listen_socket open_listen_socket(const std::string& address, std::string_view what);

}  // namespace coreplay
