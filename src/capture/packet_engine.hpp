// Where captured frames come from: libpcap (live or a file), AF_PACKET (TPACKET_V3 ring or a
// plain socket) or a VXLAN listener. One interface: read() hands every frame that is ready to
// a consumer and returns; the caller turns frames into messages between calls.
#pragma once

#include "capture/packet_decoder.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace coreplay::capture {

class capture_file;

struct frame {
  link_type link;
  std::span<const std::uint8_t> bytes;
  std::uint32_t wire_length;
  std::int64_t timestamp_ns;
};

class frame_consumer {
 public:
  virtual void on_frame(const frame& f) = 0;

 protected:
  ~frame_consumer() = default;
};

struct engine_counters {
  std::uint64_t kernel_drops = 0;     // dropped by the kernel: the buffer was full
  std::uint64_t interface_drops = 0;  // dropped by the interface or driver
};

struct engine_config {
  std::string engine = "libpcap";  // libpcap, pcap_file, af_packet, raw_socket, vxlan
  std::string device = "any";      // interface name, "any", or the file of pcap_file
  std::string bpf_filter;          // empty: everything
  std::uint32_t snaplen = 262144;
  bool promisc = false;
  bool monitor = false;
  std::chrono::nanoseconds buffer_timeout{0};  // 0: immediate delivery
  std::uint64_t buffer_size = 0;               // 0: the default
  std::string timestamp_type;                  // libpcap timestamp source name
  std::uint16_t vxlan_port = 4789;
  std::vector<int> vxlan_vni;                  // positive: allow, negative: deny
};

class packet_engine {
 public:
  virtual ~packet_engine() = default;
  // Hands every frame that is ready (waiting at most `max_wait` for the first) to `c`.
  // Returns false once a finite source (a file) has no more.
  virtual boost::asio::awaitable<bool> read(frame_consumer& c, std::chrono::nanoseconds max_wait) = 0;
  virtual bool finite() const { return false; }
  // A capture file's frames can be read directly, without a call per frame through a
  // consumer: the file of a pcap_file engine, else nullptr.
  virtual capture_file* file() noexcept { return nullptr; }
  virtual engine_counters counters() { return {}; }
  // For logs: "libpcap on lo, filter 'tcp port 8080'".
  virtual std::string describe() const = 0;
};

// Opens the engine; throws std::runtime_error naming the device and the reason.
std::unique_ptr<packet_engine> open_engine(const boost::asio::any_io_executor& ex, const engine_config& cfg);

}  // namespace coreplay::capture
