// Builds captured frames (link header, IPv4/IPv6, TCP) for the capture tests.
#pragma once

#include "capture/packet_decoder.hpp"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay::capture::test {

using bytes = std::vector<std::uint8_t>;

struct frame_options {
  link_type link = link_type::ethernet;
  std::vector<std::uint16_t> vlan_tags;  // 802.1Q (0x8100) tags, outermost first; QinQ uses 0x88a8 first
  bool qinq_outer_88a8 = false;
  bytes ipv4_options;                    // a multiple of 4
  std::vector<std::uint8_t> ipv6_extensions;  // next-header numbers: 0, 43, 60 (8 bytes each), 44 (atomic fragment)
  bytes tcp_options;                     // padded to 4 with NOPs
  std::size_t ethernet_padding = 0;      // trailing bytes after the IP packet
};

inline void put16(bytes& b, std::uint16_t v) {
  b.push_back(std::uint8_t(v >> 8));
  b.push_back(std::uint8_t(v));
}
inline void put32(bytes& b, std::uint32_t v) {
  put16(b, std::uint16_t(v >> 16));
  put16(b, std::uint16_t(v));
}

inline bool parse_ip(const std::string& s, std::uint8_t out[16]) {
  if (inet_pton(AF_INET, s.c_str(), out) == 1) return false;
  if (inet_pton(AF_INET6, s.c_str(), out) == 1) return true;
  throw std::runtime_error("bad ip " + s);
}

inline bytes tcp_frame(const std::string& src_ip, std::uint16_t src_port, const std::string& dst_ip,
                       std::uint16_t dst_port, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                       std::string_view payload, const frame_options& o = {}) {
  std::uint8_t src[16] = {}, dst[16] = {};
  bool v6 = parse_ip(src_ip, src);
  parse_ip(dst_ip, dst);

  bytes tcp;
  put16(tcp, src_port);
  put16(tcp, dst_port);
  put32(tcp, seq);
  put32(tcp, ack);
  bytes topts = o.tcp_options;
  while (topts.size() % 4) topts.push_back(1);
  tcp.push_back(std::uint8_t(((20 + topts.size()) / 4) << 4));
  tcp.push_back(flags);
  put16(tcp, 65535);
  put16(tcp, 0);  // checksum: nobody checks
  put16(tcp, 0);
  tcp.insert(tcp.end(), topts.begin(), topts.end());
  tcp.insert(tcp.end(), payload.begin(), payload.end());

  bytes ip;
  if (!v6) {
    std::size_t ihl = 20 + o.ipv4_options.size();
    ip.push_back(std::uint8_t(0x40 | (ihl / 4)));
    ip.push_back(0);
    put16(ip, std::uint16_t(ihl + tcp.size()));
    put16(ip, 0x1234);
    put16(ip, 0x4000);  // DF
    ip.push_back(64);
    ip.push_back(6);
    put16(ip, 0);
    ip.insert(ip.end(), src, src + 4);
    ip.insert(ip.end(), dst, dst + 4);
    ip.insert(ip.end(), o.ipv4_options.begin(), o.ipv4_options.end());
  } else {
    bytes ext;
    std::vector<std::uint8_t> chain = o.ipv6_extensions;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      std::uint8_t next = i + 1 < chain.size() ? chain[i + 1] : 6;
      ext.push_back(next);
      if (chain[i] == 44) {
        ext.push_back(0);
        put16(ext, 0);  // offset 0, M=0: an atomic fragment
        put32(ext, 0xabcd);
      } else {
        ext.push_back(0);  // 8 bytes
        for (int k = 0; k < 6; ++k) ext.push_back(chain[i] == 43 ? 0 : 1);
      }
    }
    ip.push_back(0x60);
    ip.push_back(0);
    put16(ip, 0);
    put16(ip, std::uint16_t(ext.size() + tcp.size()));
    ip.push_back(chain.empty() ? 6 : chain[0]);
    ip.push_back(64);
    ip.insert(ip.end(), src, src + 16);
    ip.insert(ip.end(), dst, dst + 16);
    ip.insert(ip.end(), ext.begin(), ext.end());
  }
  ip.insert(ip.end(), tcp.begin(), tcp.end());

  const std::uint16_t ethertype = v6 ? 0x86dd : 0x0800;
  bytes f;
  switch (o.link) {
    case link_type::ethernet: {
      for (int i = 0; i < 6; ++i) f.push_back(0x02);
      for (int i = 0; i < 6; ++i) f.push_back(0x04);
      for (std::size_t i = 0; i < o.vlan_tags.size(); ++i) {
        put16(f, (i == 0 && o.qinq_outer_88a8) ? 0x88a8 : 0x8100);
        put16(f, o.vlan_tags[i]);
      }
      put16(f, ethertype);
      break;
    }
    case link_type::linux_sll:
      put16(f, 0);  // packet type: to us
      put16(f, 1);  // ARPHRD_ETHER
      put16(f, 6);
      for (int i = 0; i < 8; ++i) f.push_back(i < 6 ? 0x02 : 0);
      put16(f, ethertype);
      break;
    case link_type::linux_sll2:
      put16(f, ethertype);
      put16(f, 0);
      put32(f, 1);  // ifindex
      put16(f, 1);
      f.push_back(0);
      f.push_back(6);
      for (int i = 0; i < 8; ++i) f.push_back(i < 6 ? 0x02 : 0);
      break;
    case link_type::null: {  // host byte order of the writer: little endian here
      std::uint32_t fam = v6 ? 30 : 2;
      for (int i = 0; i < 4; ++i) f.push_back(std::uint8_t(fam >> (8 * i)));
      break;
    }
    case link_type::loop:
      put32(f, v6 ? 24 : 2);
      break;
    default:
      break;  // raw, ipv4, ipv6: no link header
  }
  f.insert(f.end(), ip.begin(), ip.end());
  f.insert(f.end(), o.ethernet_padding, 0);
  return f;
}

struct captured {
  bytes frame;
  std::int64_t timestamp_ns = 0;
  link_type link = link_type::ethernet;
};

// One TCP connection, both directions: tracks sequence numbers so tests only say what is sent.
class tcp_conversation {
 public:
  tcp_conversation(std::string client_ip, std::uint16_t client_port, std::string server_ip,
                   std::uint16_t server_port, std::uint32_t client_isn = 1000, std::uint32_t server_isn = 5000)
      : cip_(std::move(client_ip)), sip_(std::move(server_ip)), cport_(client_port), sport_(server_port),
        cseq_(client_isn), sseq_(server_isn) {}

  frame_options options;
  std::int64_t now_ns = 1'700'000'000'000'000'000;
  std::int64_t step_ns = 1'000'000;  // each packet 1 ms after the previous

  captured syn() { return make(true, cseq_++, 0, tcp_flag::syn, {}); }
  captured syn_ack() { return make(false, sseq_++, cseq_, tcp_flag::syn | tcp_flag::ack, {}); }
  captured ack() { return make(true, cseq_, sseq_, tcp_flag::ack, {}); }
  std::vector<captured> handshake() { return {syn(), syn_ack(), ack()}; }

  captured client(std::string_view payload, std::uint8_t extra = 0) {
    auto c = make(true, cseq_, sseq_, tcp_flag::ack | tcp_flag::psh | extra, payload);
    cseq_ += std::uint32_t(payload.size()) + ((extra & tcp_flag::fin) ? 1 : 0);
    return c;
  }
  captured server(std::string_view payload, std::uint8_t extra = 0) {
    auto c = make(false, sseq_, cseq_, tcp_flag::ack | tcp_flag::psh | extra, payload);
    sseq_ += std::uint32_t(payload.size()) + ((extra & tcp_flag::fin) ? 1 : 0);
    return c;
  }
  // Splits a payload into segments of at most `size` bytes.
  std::vector<captured> client_split(std::string_view payload, std::size_t size) {
    std::vector<captured> v;
    for (std::size_t i = 0; i < payload.size(); i += size) v.push_back(client(payload.substr(i, size)));
    return v;
  }
  std::vector<captured> server_split(std::string_view payload, std::size_t size) {
    std::vector<captured> v;
    for (std::size_t i = 0; i < payload.size(); i += size) v.push_back(server(payload.substr(i, size)));
    return v;
  }
  // A segment at an explicit sequence number, without moving the conversation's own.
  captured client_at(std::uint32_t seq, std::string_view payload) {
    return make(true, seq, sseq_, tcp_flag::ack | tcp_flag::psh, payload);
  }
  captured server_at(std::uint32_t seq, std::string_view payload) {
    return make(false, seq, cseq_, tcp_flag::ack | tcp_flag::psh, payload);
  }
  captured client_fin() { return make(true, cseq_++, sseq_, tcp_flag::fin | tcp_flag::ack, {}); }
  captured server_fin() { return make(false, sseq_++, cseq_, tcp_flag::fin | tcp_flag::ack, {}); }
  captured client_rst() { return make(true, cseq_, sseq_, tcp_flag::rst | tcp_flag::ack, {}); }
  captured server_rst() { return make(false, sseq_, cseq_, tcp_flag::rst | tcp_flag::ack, {}); }

  std::uint32_t client_seq() const { return cseq_; }
  std::uint32_t server_seq() const { return sseq_; }
  void skip_client(std::uint32_t n) { cseq_ += n; }
  void skip_server(std::uint32_t n) { sseq_ += n; }

 private:
  captured make(bool from_client, std::uint32_t seq, std::uint32_t ack, std::uint8_t flags,
                std::string_view payload) {
    now_ns += step_ns;
    auto f = from_client ? tcp_frame(cip_, cport_, sip_, sport_, seq, ack, flags, payload, options)
                         : tcp_frame(sip_, sport_, cip_, cport_, seq, ack, flags, payload, options);
    return captured{std::move(f), now_ns, options.link};
  }

  std::string cip_, sip_;
  std::uint16_t cport_, sport_;
  std::uint32_t cseq_, sseq_;
};

}  // namespace coreplay::capture::test
