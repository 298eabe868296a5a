// Small fixtures of the network plugins' tests: a closed port, a scratch directory and a
// self-signed certificate for TLS.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace coreplay::test {

// A port nobody listens on (bound, then released).
inline std::uint16_t closed_port(boost::asio::io_context& io) {
  namespace ip = boost::asio::ip;
  ip::tcp::acceptor a(io, ip::tcp::endpoint(ip::address_v4::loopback(), 0));
  auto p = a.local_endpoint().port();
  a.close();
  return p;
}

struct scratch_dir {
  std::filesystem::path path;
  explicit scratch_dir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() / ("coreplay-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~scratch_dir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& n) const { return (path / n).string(); }
};

// A self-signed certificate for CN=localhost (cert.pem, key.pem in `d`), made by the openssl CLI.
inline bool make_cert(const scratch_dir& d) {
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost"
                    " -keyout '" + d / "key.pem" + "' -out '" + d / "cert.pem" + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace coreplay::test
