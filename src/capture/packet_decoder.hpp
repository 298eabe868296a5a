// Link layer → IPv4/IPv6 → TCP: a view of one captured TCP segment, without allocating.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace coreplay::capture {

// libpcap DLT_* values (pcap_datalink()); the raw-IP family has several numbers.
enum class link_type : std::uint32_t {
  null = 0,         // DLT_NULL: 4-byte address family in the capturing host's byte order
  ethernet = 1,     // DLT_EN10MB, with any number of 802.1Q / 802.1ad tags
  raw = 12,         // DLT_RAW on Linux (14 on OpenBSD, 101 as LINKTYPE_RAW)
  raw_openbsd = 14,
  raw_linktype = 101,
  loop = 108,       // DLT_LOOP: like NULL, network byte order
  linux_sll = 113,  // DLT_LINUX_SLL: Linux cooked v1, 16-byte header
  ipv4 = 228,
  ipv6 = 229,
  linux_sll2 = 276,  // DLT_LINUX_SLL2: Linux cooked v2, 20-byte header
};

bool is_supported(link_type t) noexcept;

enum class decode_error : std::uint8_t {
  none,
  // Not malformed, just not ours: counted apart.
  not_ip,        // ARP, LLDP...
  not_tcp,       // UDP, ICMP...
  ip_fragment,   // a non-first or non-last IP fragment: not reassembled
  // Malformed or cut short by the snap length.
  unsupported_link_type,
  truncated_link_header,
  truncated_ip_header,
  bad_ip_header,
  bad_ipv6_extension,
  truncated_tcp_header,
  bad_tcp_header,
};

constexpr bool is_malformed(decode_error e) noexcept { return e >= decode_error::unsupported_link_type; }
std::string_view to_string(decode_error e) noexcept;

// IPv4 is kept IPv4-mapped (::ffff:a.b.c.d), so its 4 bytes are always the last 4.
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;

  static ip_address from_v4(const std::uint8_t* p) noexcept {
    ip_address a;
    constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(a.bytes.data(), mapped, 12);
    std::memcpy(a.bytes.data() + 12, p, 4);
    return a;
  }
  static ip_address from_v6(const std::uint8_t* p) noexcept;
  std::uint32_t last4() const noexcept {
    return std::uint32_t(bytes[12]) << 24 | std::uint32_t(bytes[13]) << 16 |
           std::uint32_t(bytes[14]) << 8 | bytes[15];
  }
  std::string to_string() const;
  friend bool operator==(const ip_address&, const ip_address&) = default;
};

namespace tcp_flag {
inline constexpr std::uint8_t fin = 0x01;
inline constexpr std::uint8_t syn = 0x02;
inline constexpr std::uint8_t rst = 0x04;
inline constexpr std::uint8_t psh = 0x08;
inline constexpr std::uint8_t ack = 0x10;
}  // namespace tcp_flag

// Points into the captured bytes: valid as long as they are.
struct tcp_segment {
  ip_address src;
  ip_address dst;
  std::uint16_t src_port = 0;
  std::uint16_t dst_port = 0;
  std::uint32_t seq = 0;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0;
  std::string_view payload;
  // The packet was cut by the snap length: payload holds fewer bytes than the IP header promises.
  bool truncated = false;
  std::int64_t timestamp_ns = 0;

  bool has(std::uint8_t f) const noexcept { return (flags & f) != 0; }
};

// Most frames on the wire: Ethernet, untagged IPv4 without options, not a fragment, TCP, all
// of it captured. Decodes such a frame (true) or leaves `out` alone (false: decode_packet
// decides, exactly as this would have). Inline: callers try it before the general decoder.
inline bool decode_plain_ipv4_frame(std::span<const std::uint8_t> frame, tcp_segment& out) noexcept {
  const std::uint8_t* p = frame.data();
  const std::size_t len = frame.size();
  if (len < 14 + 20 + 20 || p[12] != 0x08 || p[13] != 0x00 || p[14] != 0x45) return false;
  auto be16 = [](const std::uint8_t* b) { return std::uint16_t(b[0] << 8 | b[1]); };
  auto be32 = [](const std::uint8_t* b) {
    return std::uint32_t(b[0]) << 24 | std::uint32_t(b[1]) << 16 | std::uint32_t(b[2]) << 8 | b[3];
  };
  const std::uint8_t* ip = p + 14;
  const std::size_t total = be16(ip + 2);
  const std::size_t tcp_len = std::size_t(ip[32] >> 4) * 4;
  if (ip[9] != 6 || (be16(ip + 6) & 0x3fff) != 0 || total < 40 || total > len - 14 || tcp_len < 20 ||
      tcp_len > total - 20)
    return false;
  out.src = ip_address::from_v4(ip + 12);
  out.dst = ip_address::from_v4(ip + 16);
  const std::uint8_t* tcp = ip + 20;
  out.src_port = be16(tcp);
  out.dst_port = be16(tcp + 2);
  out.seq = be32(tcp + 4);
  out.ack = be32(tcp + 8);
  out.flags = tcp[13] & 0x1f;
  out.truncated = false;
  out.payload = std::string_view(reinterpret_cast<const char*>(tcp) + tcp_len, total - 20 - tcp_len);
  return true;
}

// Decodes one captured frame. `wire_length` is the original length (pcap's len), kept to tell
// truncation; the IP length fields decide where the payload ends (Ethernet padding is dropped).
decode_error decode_packet(link_type link, std::span<const std::uint8_t> captured,
                           std::uint32_t wire_length, std::int64_t timestamp_ns,
                           tcp_segment& out) noexcept;

// VXLAN (RFC 7348): the 8-byte header of a UDP datagram's payload. Returns the inner Ethernet
// frame and sets `vni`, or an empty span when the I flag is missing or the datagram is short.
std::span<const std::uint8_t> vxlan_inner_frame(std::span<const std::uint8_t> udp_payload,
                                                std::uint32_t& vni) noexcept;

// gor's --input-raw-vxlan-vni rule: positive entries allow, negative ones (-vni) deny; only
// negative entries means "all but those"; an empty list allows everything.
bool vxlan_vni_allowed(std::uint32_t vni, std::span<const int> rules) noexcept;

}  // namespace coreplay::capture
