// --input-raw: captures HTTP traffic off the wire (or a pcap file) and emits gor messages.
#pragma once

#include "capture/capture_options.hpp"
#include "capture/packet_engine.hpp"
#include "core/options.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace coreplay {

struct raw_input_options {
  std::string engine = "libpcap";
  bool track_response = false;
  std::string protocol = "http";
  std::string realip_header;
  std::chrono::nanoseconds expire{std::chrono::seconds(2)};
  bool allow_incomplete = false;
  std::string bpf_filter;
  std::string timestamp_type;
  byte_size snaplen{0};
  bool override_snaplen = false;
  std::chrono::nanoseconds buffer_timeout{0};
  byte_size buffer_size{0};
  bool promisc = false;
  bool monitor = false;
  bool stats = false;
  std::vector<std::string> ignore_interface;
  bool vlan = false;
  std::vector<std::int64_t> vlan_vid;
  std::int64_t vxlan_port = 4789;
  std::vector<std::int64_t> vxlan_vni;
};

option_group<raw_input_options> raw_input_option_group();

// What an --input-raw address means.
struct raw_address {
  std::string device = "any";     // interface, "any", or the pcap file
  std::string host;               // the IP in the address, if any (for the filter)
  std::vector<std::uint16_t> ports;  // empty: every port
  bool file = false;
};

// ":8080", "127.0.0.1:8080", "[::1]:8080", "eth0:8080", ":8080,8081", "localhost:8080",
// "traffic.pcap:8080", "traffic.pcap". Throws std::invalid_argument naming the address.
raw_address parse_raw_address(const std::string& address, const std::string& engine);
// The capture filter gor would build: ports, the host, VLAN tags.
std::string make_bpf_filter(const raw_address& a, const raw_input_options& o);

class raw_input : public source {
 public:
  raw_input(std::string address, raw_input_options o);
  asio::awaitable<void> run(message_writer out) override;

 private:
  std::string address_;
  raw_input_options options_;
  raw_address where_;
  capture::engine_config engine_;
  capture::capture_options capture_;
};

}  // namespace coreplay
