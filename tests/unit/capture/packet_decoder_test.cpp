#include "capture/packet_decoder.hpp"

#include "unit/capture/packet_builder.hpp"

#include <catch2/catch.hpp>

using namespace coreplay::capture;
using namespace coreplay::capture::test;

namespace {

decode_error decode(const bytes& f, link_type link, tcp_segment& s, std::uint32_t wire = 0) {
  return decode_packet(link, std::span<const std::uint8_t>(f.data(), f.size()),
                       wire ? wire : std::uint32_t(f.size()), 42, s);
}

}  // namespace

TEST_CASE("decoder reads an Ethernet IPv4 TCP segment", "[unit][capture]") {
  auto f = tcp_frame("10.0.0.1", 40000, "10.0.0.2", 80, 1234, 5678, tcp_flag::ack | tcp_flag::psh, "GET / HTTP/1.1\r\n\r\n");
  tcp_segment s;
  REQUIRE(decode(f, link_type::ethernet, s) == decode_error::none);
  CHECK(s.src.to_string() == "10.0.0.1");
  CHECK(s.dst.to_string() == "10.0.0.2");
  CHECK_FALSE(s.src.v6);
  CHECK(s.src.last4() == 0x0a000001);
  CHECK(s.src_port == 40000);
  CHECK(s.dst_port == 80);
  CHECK(s.seq == 1234);
  CHECK(s.ack == 5678);
  CHECK(s.has(tcp_flag::ack));
  CHECK_FALSE(s.has(tcp_flag::syn));
  CHECK(s.payload == "GET / HTTP/1.1\r\n\r\n");
  CHECK_FALSE(s.truncated);
  CHECK(s.timestamp_ns == 42);
}

TEST_CASE("decoder handles every link type", "[unit][capture]") {
  for (auto link : {link_type::ethernet, link_type::linux_sll, link_type::linux_sll2, link_type::null,
                    link_type::loop, link_type::raw, link_type::raw_linktype}) {
    for (std::string ip : {"192.168.1.1", "fe80::1"}) {
      frame_options o;
      o.link = link;
      std::string peer = ip == "fe80::1" ? "fe80::2" : "192.168.1.2";
      auto f = tcp_frame(ip, 1, peer, 2, 7, 8, tcp_flag::syn, "x", o);
      tcp_segment s;
      INFO("link " << int(link) << " ip " << ip);
      REQUIRE(decode(f, link, s) == decode_error::none);
      CHECK(s.src.to_string() == ip);
      CHECK(s.dst.to_string() == peer);
      CHECK(s.payload == "x");
      CHECK(s.has(tcp_flag::syn));
    }
  }
  frame_options o4;
  o4.link = link_type::ipv4;
  auto f4 = tcp_frame("1.2.3.4", 1, "5.6.7.8", 2, 0, 0, 0, "a", o4);
  tcp_segment s;
  CHECK(decode(f4, link_type::ipv4, s) == decode_error::none);
  CHECK(decode(f4, link_type::ipv6, s) == decode_error::bad_ip_header);
  CHECK(decode(f4, static_cast<link_type>(147), s) == decode_error::unsupported_link_type);
}

TEST_CASE("decoder skips VLAN and QinQ tags", "[unit][capture]") {
  frame_options o;
  o.vlan_tags = {100};
  auto f = tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 1, 1, 0, "vlan", o);
  tcp_segment s;
  REQUIRE(decode(f, link_type::ethernet, s) == decode_error::none);
  CHECK(s.payload == "vlan");
  o.vlan_tags = {200, 100};
  o.qinq_outer_88a8 = true;
  f = tcp_frame("::1", 1, "::2", 80, 1, 1, 0, "qinq", o);
  REQUIRE(decode(f, link_type::ethernet, s) == decode_error::none);
  CHECK(s.payload == "qinq");
  CHECK(s.src.v6);
}

TEST_CASE("decoder handles IPv4 options, TCP options and Ethernet padding", "[unit][capture]") {
  frame_options o;
  o.ipv4_options = {0x94, 0x04, 0x00, 0x00};  // router alert
  o.tcp_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // MSS, SACK-ok, timestamps
  o.ethernet_padding = 6;
  auto f = tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 1, 1, 0, "hi", o);
  tcp_segment s;
  REQUIRE(decode(f, link_type::ethernet, s) == decode_error::none);
  CHECK(s.payload == "hi");
}

TEST_CASE("decoder walks IPv6 extension headers", "[unit][capture]") {
  frame_options o;
  o.ipv6_extensions = {0, 60, 43, 44};
  auto f = tcp_frame("2001:db8::1", 5555, "2001:db8::2", 80, 9, 9, 0, "v6 body", o);
  tcp_segment s;
  REQUIRE(decode(f, link_type::ethernet, s) == decode_error::none);
  CHECK(s.payload == "v6 body");
  CHECK(s.src.to_string() == "2001:db8::1");
  CHECK(s.src.last4() == 1);
  CHECK(s.src_port == 5555);
}

TEST_CASE("decoder skips fragments and non-TCP", "[unit][capture]") {
  auto f = tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 1, 1, 0, "frag");
  tcp_segment s;
  // More-fragments flag.
  f[14 + 6] = 0x20;
  CHECK(decode(f, link_type::ethernet, s) == decode_error::ip_fragment);
  f[14 + 6] = 0x00;
  f[14 + 7] = 0x10;  // offset
  CHECK(decode(f, link_type::ethernet, s) == decode_error::ip_fragment);
  f[14 + 7] = 0;
  f[14 + 9] = 17;  // UDP
  CHECK(decode(f, link_type::ethernet, s) == decode_error::not_tcp);
  f[12] = 0x08;
  f[13] = 0x06;  // ARP
  CHECK(decode(f, link_type::ethernet, s) == decode_error::not_ip);

  // An IPv6 fragment with a non-zero offset.
  frame_options o;
  o.ipv6_extensions = {44};
  auto g = tcp_frame("::1", 1, "::2", 80, 1, 1, 0, "frag", o);
  g[14 + 40 + 3] = 0x08;  // offset 1
  CHECK(decode(g, link_type::ethernet, s) == decode_error::ip_fragment);
}

TEST_CASE("decoder reports truncation and malformed headers without crashing", "[unit][capture]") {
  auto f = tcp_frame("10.0.0.1", 1, "10.0.0.2", 80, 1, 1, 0, "0123456789");
  tcp_segment s;
  // Cut by the snap length inside the payload: decoded, flagged.
  bytes cut(f.begin(), f.end() - 4);
  REQUIRE(decode(cut, link_type::ethernet, s, std::uint32_t(f.size())) == decode_error::none);
  CHECK(s.truncated);
  CHECK(s.payload == "012345");
  // Every shorter prefix decodes to something, never past the buffer.
  for (std::size_t n = 0; n < f.size(); ++n) {
    bytes p(f.begin(), f.begin() + std::ptrdiff_t(n));
    auto e = decode(p, link_type::ethernet, s, std::uint32_t(f.size()));
    if (n < 14) CHECK(e == decode_error::truncated_link_header);
    else if (n < 34) CHECK(e == decode_error::truncated_ip_header);
    else if (n < 54) CHECK(e == decode_error::truncated_tcp_header);
    else CHECK((e == decode_error::none && s.truncated));
  }
  bytes bad = f;
  bad[14] = 0x43;  // IHL 3
  CHECK(decode(bad, link_type::ethernet, s) == decode_error::bad_ip_header);
  bad = f;
  bad[14 + 20 + 12] = 0x30;  // TCP data offset 3
  CHECK(decode(bad, link_type::ethernet, s) == decode_error::bad_tcp_header);
  bad = f;
  bad[14 + 20 + 12] = 0xf0;  // data offset past the packet
  CHECK(decode(bad, link_type::ethernet, s) == decode_error::bad_tcp_header);
  CHECK(is_malformed(decode_error::bad_tcp_header));
  CHECK_FALSE(is_malformed(decode_error::not_tcp));
}
