// Options of the capture core (--input-raw-*). The lead binds gor's flag names to these members.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace coreplay::capture {

enum class capture_protocol : std::uint8_t {
  http,    // messages framed by HTTP/1.x rules
  binary,  // a message is one direction's bytes until the other side speaks, a close, or expiry
};

struct capture_options {
  // Server ports. Empty, or containing 0, means every port: direction then comes from the
  // SYN or the HTTP start line.
  std::vector<std::uint16_t> ports;
  // A message with no new packet for this long is flushed (gor's --input-raw-expire; gor reads
  // 0 as 1 s, and so does the tracker).
  std::chrono::nanoseconds expire{std::chrono::seconds(2)};
  // Emit messages that are flushed incomplete (missing bytes, expired mid-body) instead of
  // dropping them.
  bool allow_incomplete = false;
  // Emit responses (type 2). Responses are parsed either way, to pair requests with them.
  bool track_response = false;
  // When set (e.g. "X-Real-IP"), requests get `Name: <client ip>`.
  std::string realip_header;
  capture_protocol protocol = capture_protocol::http;
  // Buffered bytes (out-of-order segments plus messages in progress) one connection may hold;
  // past it the connection's buffers are evicted and counted.
  std::size_t max_connection_bytes = std::size_t{64} << 20;
  // The same over every connection; past it the least recently active connections go.
  std::size_t max_total_bytes = std::size_t{1} << 30;
  // A connection with nothing in progress is forgotten after this long without a packet
  // (it only keeps requests waiting for their responses).
  std::chrono::nanoseconds connection_idle_timeout{std::chrono::seconds(60)};
};

}  // namespace coreplay::capture
