// "host:port", "[v6]:port" and ":port" as gor's TCP plugins take them (Go's net.SplitHostPort).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coreplay {

struct host_port {
  std::string host;  // without brackets; empty for ":port"
  std::string port;
};

inline std::optional<host_port> split_host_port(std::string_view s) {
  host_port out;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    out.host = std::string(s.substr(1, close - 1));
    out.port = std::string(s.substr(close + 2));
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(s.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return std::nullopt;  // a bare IPv6 address needs brackets
    out.port = std::string(s.substr(colon + 1));
  }
  if (out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos || out.port.size() > 5 ||
      std::stoul(out.port) > 65535)
    return std::nullopt;
  return out;
}

}  // namespace coreplay
