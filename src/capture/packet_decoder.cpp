#include "capture/packet_decoder.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace coreplay::capture {

namespace {

std::uint16_t be16(const std::uint8_t* p) noexcept { return std::uint16_t(p[0] << 8 | p[1]); }
std::uint32_t be32(const std::uint8_t* p) noexcept {
  return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}

constexpr std::uint16_t ethertype_ipv4 = 0x0800;
constexpr std::uint16_t ethertype_ipv6 = 0x86dd;

bool is_vlan_tag(std::uint16_t ethertype) noexcept {
  return ethertype == 0x8100 || ethertype == 0x88a8 || ethertype == 0x9100 || ethertype == 0x9200;
}

// BSD address families for IPv6 differ per OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
int family_to_ip_version(std::uint32_t family) noexcept {
  if (family == 2) return 4;
  if (family == 10 || family == 24 || family == 28 || family == 30) return 6;
  return 0;
}

decode_error decode_tcp(const std::uint8_t* p, std::size_t ip_payload_len, std::size_t captured_len,
                        tcp_segment& out) noexcept {
  if (captured_len < 20) return decode_error::truncated_tcp_header;
  std::size_t header_len = std::size_t(p[12] >> 4) * 4;
  if (header_len < 20 || header_len > ip_payload_len) return decode_error::bad_tcp_header;
  if (header_len > captured_len) return decode_error::truncated_tcp_header;
  out.src_port = be16(p);
  out.dst_port = be16(p + 2);
  out.seq = be32(p + 4);
  out.ack = be32(p + 8);
  out.flags = p[13] & 0x1f;
  std::size_t end = ip_payload_len <= captured_len ? ip_payload_len : captured_len;
  out.truncated = ip_payload_len > captured_len;
  out.payload = std::string_view(reinterpret_cast<const char*>(p) + header_len, end - header_len);
  return decode_error::none;
}

decode_error decode_ipv4(const std::uint8_t* p, std::size_t len, tcp_segment& out) noexcept {
  if (len < 20) return decode_error::truncated_ip_header;
  if ((p[0] >> 4) != 4) return decode_error::bad_ip_header;
  std::size_t ihl = std::size_t(p[0] & 0x0f) * 4;
  if (ihl < 20) return decode_error::bad_ip_header;
  if (ihl > len) return decode_error::truncated_ip_header;
  std::size_t total = be16(p + 2);
  // A total length of 0 comes from TSO/GRO super-packets captured before segmentation.
  if (total == 0) total = len;
  if (total < ihl) return decode_error::bad_ip_header;
  std::uint16_t frag = be16(p + 6);
  if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) return decode_error::ip_fragment;
  if (p[9] != 6) return decode_error::not_tcp;
  out.src = ip_address::from_v4(p + 12);
  out.dst = ip_address::from_v4(p + 16);
  return decode_tcp(p + ihl, total - ihl, len - ihl, out);
}

decode_error decode_ipv6(const std::uint8_t* p, std::size_t len, tcp_segment& out) noexcept {
  if (len < 40) return decode_error::truncated_ip_header;
  if ((p[0] >> 4) != 6) return decode_error::bad_ip_header;
  std::size_t payload_len = be16(p + 4);
  if (payload_len == 0) payload_len = len - 40;  // jumbogram or GRO: trust the capture
  out.src = ip_address::from_v6(p + 8);
  out.dst = ip_address::from_v6(p + 24);
  std::uint8_t next = p[6];
  std::size_t off = 40;
  std::size_t end = 40 + payload_len;
  for (int hops = 0; hops < 16; ++hops) {
    switch (next) {
      case 6:
        if (off > end) return decode_error::bad_ipv6_extension;
        return decode_tcp(p + off, end - off, off <= len ? len - off : 0, out);
      case 0:    // hop-by-hop
      case 43:   // routing
      case 60: {  // destination options
        if (off + 8 > len || off + 8 > end) return decode_error::bad_ipv6_extension;
        std::size_t ext_len = (std::size_t(p[off + 1]) + 1) * 8;
        next = p[off];
        off += ext_len;
        break;
      }
      case 44: {  // fragment: only an atomic fragment (offset 0, no more) carries a whole segment
        if (off + 8 > len || off + 8 > end) return decode_error::bad_ipv6_extension;
        std::uint16_t fo = be16(p + off + 2);
        if ((fo & 0xfff8) != 0 || (fo & 1) != 0) return decode_error::ip_fragment;
        next = p[off];
        off += 8;
        break;
      }
      case 51: {  // authentication header: length in 4-byte units, minus 2
        if (off + 8 > len || off + 8 > end) return decode_error::bad_ipv6_extension;
        std::size_t ext_len = (std::size_t(p[off + 1]) + 2) * 4;
        next = p[off];
        off += ext_len;
        break;
      }
      default:
        return decode_error::not_tcp;  // 59 no-next-header, ESP, UDP, ICMPv6...
    }
  }
  return decode_error::bad_ipv6_extension;
}

decode_error decode_ip(int version, const std::uint8_t* p, std::size_t len, tcp_segment& out) noexcept {
  if (version == 0) {
    if (len < 1) return decode_error::truncated_ip_header;
    version = p[0] >> 4;
  }
  if (version == 4) return decode_ipv4(p, len, out);
  if (version == 6) return decode_ipv6(p, len, out);
  return decode_error::not_ip;
}

int ethertype_to_version(std::uint16_t t) noexcept {
  if (t == ethertype_ipv4) return 4;
  if (t == ethertype_ipv6) return 6;
  return -1;
}

// Skips 802.1Q/QinQ tags starting at `off`, where the ethertype at off-2 was `type`.
decode_error after_ethertype(std::uint16_t type, const std::uint8_t* p, std::size_t len, std::size_t off,
                             tcp_segment& out) noexcept {
  for (int tags = 0; is_vlan_tag(type); ++tags) {
    if (tags == 8) return decode_error::not_ip;
    if (off + 4 > len) return decode_error::truncated_link_header;
    type = be16(p + off + 2);
    off += 4;
  }
  int v = ethertype_to_version(type);
  if (v < 0) return decode_error::not_ip;
  return decode_ip(v, p + off, len - off, out);
}

}  // namespace

bool is_supported(link_type t) noexcept {
  switch (t) {
    case link_type::null:
    case link_type::ethernet:
    case link_type::raw:
    case link_type::raw_openbsd:
    case link_type::raw_linktype:
    case link_type::loop:
    case link_type::linux_sll:
    case link_type::ipv4:
    case link_type::ipv6:
    case link_type::linux_sll2:
      return true;
  }
  return false;
}

std::string_view to_string(decode_error e) noexcept {
  switch (e) {
    case decode_error::none: return "none";
    case decode_error::not_ip: return "not IP";
    case decode_error::not_tcp: return "not TCP";
    case decode_error::ip_fragment: return "IP fragment";
    case decode_error::unsupported_link_type: return "unsupported link type";
    case decode_error::truncated_link_header: return "truncated link header";
    case decode_error::truncated_ip_header: return "truncated IP header";
    case decode_error::bad_ip_header: return "bad IP header";
    case decode_error::bad_ipv6_extension: return "bad IPv6 extension header";
    case decode_error::truncated_tcp_header: return "truncated TCP header";
    case decode_error::bad_tcp_header: return "bad TCP header";
  }
  return "unknown";
}


ip_address ip_address::from_v6(const std::uint8_t* p) noexcept {
  ip_address a;
  std::memcpy(a.bytes.data(), p, 16);
  a.v6 = true;
  return a;
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (v6)
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  else
    ::inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  return buf;
}

[[gnu::flatten]] decode_error decode_packet(link_type link, std::span<const std::uint8_t> captured,
                           std::uint32_t wire_length, std::int64_t timestamp_ns,
                           tcp_segment& out) noexcept {
  // Every field is set on success (src and dst whole, IPv4 as mapped): no clearing first.
  out.timestamp_ns = timestamp_ns;
  const std::uint8_t* p = captured.data();
  std::size_t len = captured.size();
  if (link == link_type::ethernet && decode_plain_ipv4_frame(captured, out)) return decode_error::none;
  decode_error e;
  switch (link) {
    case link_type::ethernet:
      if (len < 14) return decode_error::truncated_link_header;
      e = after_ethertype(be16(p + 12), p, len, 14, out);
      break;
    case link_type::linux_sll:
      if (len < 16) return decode_error::truncated_link_header;
      e = after_ethertype(be16(p + 14), p, len, 16, out);
      break;
    case link_type::linux_sll2:
      if (len < 20) return decode_error::truncated_link_header;
      e = after_ethertype(be16(p), p, len, 20, out);
      break;
    case link_type::null:
    case link_type::loop: {
      if (len < 4) return decode_error::truncated_link_header;
      std::uint32_t be = be32(p);
      std::uint32_t le = std::uint32_t(p[3]) << 24 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[1]) << 8 | p[0];
      // DLT_NULL is in the writer's byte order: the family is a small number either way.
      int v = family_to_ip_version(link == link_type::loop ? be : (be < 0x10000 ? be : le));
      if (v == 0) return decode_error::not_ip;
      e = decode_ip(v, p + 4, len - 4, out);
      break;
    }
    case link_type::raw:
    case link_type::raw_openbsd:
    case link_type::raw_linktype:
      e = decode_ip(0, p, len, out);
      break;
    case link_type::ipv4:
      e = decode_ip(4, p, len, out);
      break;
    case link_type::ipv6:
      e = decode_ip(6, p, len, out);
      break;
    default:
      return decode_error::unsupported_link_type;
  }
  // The IP length fields alone tell whether the snap length cut our bytes (out.truncated);
  // wire_length past them is link padding or trailers.
  (void)wire_length;
  return e;
}

std::span<const std::uint8_t> vxlan_inner_frame(std::span<const std::uint8_t> udp_payload,
                                                std::uint32_t& vni) noexcept {
  if (udp_payload.size() < 8 + 14 || (udp_payload[0] & 0x08) == 0) return {};
  vni = std::uint32_t(udp_payload[4]) << 16 | std::uint32_t(udp_payload[5]) << 8 | udp_payload[6];
  return udp_payload.subspan(8);
}

bool vxlan_vni_allowed(std::uint32_t vni, std::span<const int> rules) noexcept {
  if (rules.empty()) return true;
  bool any_positive = false;
  for (int r : rules) {
    if (r > 0 && static_cast<std::uint32_t>(r) == vni) return true;
    if (r < 0 && static_cast<std::uint32_t>(-static_cast<std::int64_t>(r)) == vni) return false;
    any_positive = any_positive || r > 0;
  }
  return !any_positive;
}

}  // namespace coreplay::capture
