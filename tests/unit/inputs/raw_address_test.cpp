#include "inputs/raw/raw_input.hpp"

#include <catch2/catch.hpp>

#include <pcap/pcap.h>

using namespace coreplay;

TEST_CASE("input-raw address forms", "[unit][raw]") {
  auto a = parse_raw_address(":8080", "libpcap");
  CHECK(a.device == "any");
  CHECK(a.ports == std::vector<std::uint16_t>{8080});
  CHECK(a.host.empty());
  auto b = parse_raw_address("127.0.0.1:8080", "libpcap");
  CHECK(b.host == "127.0.0.1");
  CHECK(b.device == "lo");
  auto c = parse_raw_address("[::1]:8080", "libpcap");
  CHECK(c.host == "::1");
  CHECK(c.ports == std::vector<std::uint16_t>{8080});
  auto d = parse_raw_address("eth7:80", "libpcap");
  CHECK(d.device == "eth7");
  auto e = parse_raw_address(":80,8080,0", "libpcap");
  CHECK(e.ports == std::vector<std::uint16_t>{80, 8080});
  auto f = parse_raw_address("localhost:81", "libpcap");
  CHECK(f.host == "127.0.0.1");
  auto g = parse_raw_address("./dump.pcap:8080", "libpcap");
  CHECK(g.file);
  CHECK(g.device == "./dump.pcap");
  auto h = parse_raw_address("dump.pcap", "libpcap");
  CHECK(h.file);
  CHECK(h.ports.empty());
  auto i = parse_raw_address("capture.bin:80", "pcap_file");
  CHECK(i.file);
  CHECK(parse_raw_address("lo*:80", "libpcap").device == "lo");
  CHECK_THROWS_WITH(parse_raw_address(":http", "libpcap"), "--input-raw ':http': bad port 'http'");
  CHECK_THROWS_WITH(parse_raw_address(":70000", "libpcap"), "--input-raw ':70000': bad port '70000'");
  CHECK_THROWS_AS(parse_raw_address("::1:8080", "libpcap"), std::invalid_argument);
  CHECK_THROWS_AS(parse_raw_address("[::1:8080", "libpcap"), std::invalid_argument);
  CHECK_THROWS_AS(parse_raw_address("zz-no-such*:80", "libpcap"), std::invalid_argument);
}

TEST_CASE("the automatic capture filter", "[unit][raw]") {
  raw_input_options o;
  CHECK(make_bpf_filter(parse_raw_address(":8080", "libpcap"), o) == "tcp port 8080");
  CHECK(make_bpf_filter(parse_raw_address(":80,8080", "libpcap"), o) == "(tcp port 80 or tcp port 8080)");
  CHECK(make_bpf_filter(parse_raw_address("127.0.0.1:80", "libpcap"), o) == "tcp port 80 and host 127.0.0.1");
  CHECK(make_bpf_filter(parse_raw_address(":0", "libpcap"), o) == "tcp");
  o.vlan = true;
  CHECK(make_bpf_filter(parse_raw_address(":80", "libpcap"), o) == "(vlan) and tcp port 80");
  o.vlan_vid = {5, 7};
  CHECK(make_bpf_filter(parse_raw_address(":80", "libpcap"), o) == "(vlan 5 or vlan 7) and tcp port 80");
  o.bpf_filter = "tcp dst port 9";
  CHECK(make_bpf_filter(parse_raw_address(":80", "libpcap"), o) == "tcp dst port 9");
  o = {};
  o.promisc = true;
  CHECK(make_bpf_filter(parse_raw_address("127.0.0.1:80", "libpcap"), o) == "tcp port 80");
}

TEST_CASE("automatic filters compile", "[unit][raw]") {
  raw_input_options o;
  o.vlan_vid = {5};
  for (auto addr : {":8080", ":80,8080", "127.0.0.1:80", "[::1]:80", ":0"}) {
    for (bool vlan : {false, true}) {
      auto opts = vlan ? o : raw_input_options{};
      auto f = make_bpf_filter(parse_raw_address(addr, "libpcap"), opts);
      INFO(f);
      pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
      bpf_program prog{};
      CHECK(pcap_compile(dead, &prog, f.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0);
      pcap_freecode(&prog);
      pcap_close(dead);
    }
  }
}
