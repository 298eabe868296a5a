// A live libpcap handle for the Asio input: non-blocking, waited on through selectable_fd().
//
// The input's loop, per handle (one tracker per handle, or one shared by the handles of one
// thread):
//   wait until selectable_fd() is readable (asio::posix::stream_descriptor::async_wait), then
//   read_batch(n, [&](frame, wire, ts) { tracker.feed_packet(handle.link(), frame, wire, ts); });
//   while (auto m = tracker.next()) out.try_send(m);   // a live capture cannot pause the wire
// and every 100 ms: tracker.expire(<Unix ns now>), then drain next() again. At shutdown:
// tracker.flush_all(now) and drain. Packet timestamps are Unix nanoseconds, so "now" must be
// system_clock time too.
#pragma once

#include "capture/packet_decoder.hpp"
#include "capture/raw_address.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

struct pcap;

namespace coreplay::capture {

struct live_capture_options {
  std::string interface = "any";
  int snaplen = 0;  // 0: 262144, whole GRO/TSO super-packets (gor's MTU+200 truncates them)
  bool promisc = false;
  bool monitor = false;
  // 0: immediate mode (each packet delivered at once); otherwise libpcap's buffer timeout.
  std::chrono::milliseconds buffer_timeout{0};
  std::size_t buffer_size = 0;  // kernel buffer bytes; 0 leaves libpcap's default
  std::string timestamp_type;   // a PCAP_TSTAMP_* name ("host", "adapter"...); empty: default
  std::string bpf_filter;
};

// pcap_findalldevs(); plan_capture() picks among them.
std::vector<interface_candidate> list_capture_interfaces();

struct live_capture_stats {
  std::uint64_t received = 0;
  std::uint64_t dropped = 0;     // by the kernel buffer
  std::uint64_t if_dropped = 0;  // by the interface
};

class pcap_live_handle {
 public:
  // Opens and activates the handle; throws std::runtime_error naming the interface and why
  // (permissions: needs root or cap_net_raw,cap_net_admin).
  explicit pcap_live_handle(const live_capture_options& options);
  ~pcap_live_handle();
  pcap_live_handle(const pcap_live_handle&) = delete;
  pcap_live_handle& operator=(const pcap_live_handle&) = delete;

  // Readable when packets wait; -1 if the platform has none.
  int selectable_fd() const noexcept { return fd_; }
  link_type link() const noexcept { return link_; }

  // Calls on_packet for up to max_packets waiting packets without blocking; returns how many.
  // Timestamps are Unix nanoseconds. Throws on a read error.
  using packet_fn = std::function<void(std::span<const std::uint8_t> frame, std::uint32_t wire_length,
                                        std::int64_t timestamp_ns)>;
  int read_batch(int max_packets, const packet_fn& on_packet);

  live_capture_stats stats() const;
  const std::string& interface() const noexcept { return interface_; }

 private:
  pcap* handle_ = nullptr;
  int fd_ = -1;
  link_type link_ = link_type::ethernet;
  std::string interface_;
};

}  // namespace coreplay::capture
