#include "inputs/raw/raw_input.hpp"

#include <catch2/catch.hpp>

using namespace coreplay;

TEST_CASE("--input-raw address forms", "[unit][raw]") {
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

TEST_CASE("VXLAN network id rules as gor", "[unit][raw]") {
  using capture::vxlan_vni_allowed;
  CHECK(vxlan_vni_allowed({}, 7));
  CHECK(vxlan_vni_allowed({7}, 7));
  CHECK_FALSE(vxlan_vni_allowed({7}, 8));
  CHECK_FALSE(vxlan_vni_allowed({-7}, 7));
  CHECK(vxlan_vni_allowed({-7}, 8));
  CHECK(vxlan_vni_allowed({-7, 8}, 8));
  CHECK_FALSE(vxlan_vni_allowed({-7, 8}, 9));
}
