#include "core/listen_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace coreplay {

using tcp = boost::asio::ip::tcp;

tcp::endpoint parse_listen_address(const std::string& address, std::string_view what) {
  auto fail = [&](const std::string& why) {
    return std::runtime_error(std::string(what) + " '" + address + "': " + why);
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw fail("expected [host]:port");
  std::string host = address.substr(0, colon);
  std::string_view port_text = std::string_view(address).substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    throw fail("bad port");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return {tcp::v4(), static_cast<std::uint16_t>(port)};
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code bad;
  auto ip = boost::asio::ip::make_address(host, bad);
  if (bad) throw fail("'" + host + "' is not an IP address");
  return {ip, static_cast<std::uint16_t>(port)};
}

listen_socket open_listen_socket(const std::string& address, std::string_view what) {
  auto ep = parse_listen_address(address, what);
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* step) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    return std::runtime_error(std::string(what) + " '" + address + "': cannot listen (" + step + ": " +
                              std::strerror(err) + ")");
  };
  if (fd < 0) throw fail("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, ep.data(), static_cast<socklen_t>(ep.size())) != 0) throw fail("bind");
  if (::listen(fd, SOMAXCONN) != 0) throw fail("listen");
  listen_socket s{fd, ep};
  socklen_t len = static_cast<socklen_t>(s.endpoint.capacity());
  if (::getsockname(fd, s.endpoint.data(), &len) == 0) s.endpoint.resize(len);
  return s;
}

}  // namespace coreplay
