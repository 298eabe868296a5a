#include "capture/raw_address.hpp"

#include <catch2/catch.hpp>

#include <pcap/pcap.h>

#include <stdexcept>

using namespace coreplay::capture;

namespace {

bool compiles(const std::string& filter) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  bpf_program prog{};
  bool ok = pcap_compile(dead, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
  if (ok) pcap_freecode(&prog);
  pcap_close(dead);
  return ok;
}

}  // namespace

TEST_CASE("raw address forms", "[unit][capture]") {
  auto a = parse_raw_address(":8080");
  CHECK(a.host.empty());
  CHECK(a.ports == std::vector<std::uint16_t>{8080});
  CHECK_FALSE(a.pcap_file);
  CHECK(listens_on_all_interfaces(a));
  a = parse_raw_address(":8080,8081");
  CHECK(a.ports == std::vector<std::uint16_t>{8080, 8081});
  a = parse_raw_address("127.0.0.1:80");
  CHECK(a.host == "127.0.0.1");
  a = parse_raw_address("localhost:80");
  CHECK(a.host == "127.0.0.1");
  a = parse_raw_address("0.0.0.0:80");
  CHECK(a.host.empty());
  a = parse_raw_address("[::]:80");
  CHECK(a.host.empty());
  a = parse_raw_address("[::1]:80");
  CHECK(a.host == "::1");
  a = parse_raw_address("eth0:80");
  CHECK(a.host == "eth0");
  a = parse_raw_address("veth*:80");
  CHECK(a.host == "veth*");
  a = parse_raw_address("./traffic.pcap:8080");
  CHECK(a.pcap_file);
  CHECK(a.host == "./traffic.pcap");
  CHECK(a.ports == std::vector<std::uint16_t>{8080});
  a = parse_raw_address("/data/x.pcap");
  CHECK(a.pcap_file);
  CHECK(a.ports == std::vector<std::uint16_t>{0});
  a = parse_raw_address("x.pcapng:0");
  CHECK(a.pcap_file);
  CHECK_THROWS_AS(parse_raw_address("eth0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_raw_address(":http"), std::invalid_argument);
  CHECK_THROWS_AS(parse_raw_address(":70000"), std::invalid_argument);
  CHECK_THROWS_AS(parse_raw_address(":80,"), std::invalid_argument);
  CHECK_THROWS_AS(parse_raw_address("k8s://default/pod/x:80"), std::invalid_argument);
  CHECK_THROWS_AS(parse_raw_address("[::1]80"), std::invalid_argument);
}

TEST_CASE("automatic BPF filter follows gor and compiles", "[unit][capture]") {
  bpf_filter_spec s;
  s.ports = {8080};
  CHECK(auto_bpf_filter(s) == "(tcp dst port 8080)");
  s.ports = {0};
  CHECK(auto_bpf_filter(s) == "(tcp dst portrange 0-65535)");
  s.ports = {80, 8080};
  s.hosts = {"10.0.0.1", "::1"};
  CHECK(auto_bpf_filter(s) == "((tcp dst port 80 or tcp dst port 8080) and (dst host 10.0.0.1 or dst host ::1))");
  s.track_response = true;
  CHECK(auto_bpf_filter(s) ==
        "((tcp dst port 80 or tcp dst port 8080) and (dst host 10.0.0.1 or dst host ::1)) or "
        "((tcp src port 80 or tcp src port 8080) and (src host 10.0.0.1 or src host ::1))");
  CHECK(compiles(auto_bpf_filter(s)));
  s.promisc = true;
  CHECK(auto_bpf_filter(s) == "(tcp dst port 80 or tcp dst port 8080) or (tcp src port 80 or tcp src port 8080)");
  s.vlan_vids = {2, 1};
  CHECK(auto_bpf_filter(s).starts_with("vlan 2 and vlan 1 and ("));
  CHECK(compiles(auto_bpf_filter(s)));
  s.vlan_vids.clear();
  s.vlan = true;
  CHECK(auto_bpf_filter(s).starts_with("vlan and ("));
  CHECK(compiles(auto_bpf_filter(s)));
}

TEST_CASE("capture plan picks interfaces and filters like gor", "[unit][capture]") {
  std::vector<interface_candidate> ifs = {
      {"lo", {"127.0.0.1", "::1"}, true},
      {"eth0", {"10.0.0.5"}, true},
      {"veth1", {"172.17.0.1"}, true},
      {"veth2", {"172.17.0.2"}, true},
      {"down0", {"192.168.9.9"}, false},
      {"noaddr0", {}, true},
  };
  bpf_filter_spec spec;
  auto all = plan_capture(parse_raw_address(":80"), ifs, {}, spec);
  REQUIRE(all.size() == 4);
  CHECK(all[0].interface == "lo");
  CHECK(all[0].bpf_filter == "((tcp dst port 80) and (dst host 127.0.0.1 or dst host ::1))");
  CHECK(plan_capture(parse_raw_address(":80"), ifs, {"lo", "eth0"}, spec).size() == 2);
  auto by_name = plan_capture(parse_raw_address("eth0:80"), ifs, {}, spec);
  REQUIRE(by_name.size() == 1);
  CHECK(by_name[0].bpf_filter == "((tcp dst port 80) and (dst host 10.0.0.5))");
  auto by_ip = plan_capture(parse_raw_address("127.0.0.1:80"), ifs, {}, spec);
  REQUIRE(by_ip.size() == 1);
  CHECK(by_ip[0].interface == "lo");
  CHECK(by_ip[0].bpf_filter == "((tcp dst port 80) and (dst host 127.0.0.1))");
  auto wildcard = plan_capture(parse_raw_address("veth*:80"), ifs, {}, spec);
  REQUIRE(wildcard.size() == 1);
  CHECK(wildcard[0].interface == "veth1");
  CHECK(plan_capture(parse_raw_address("10.9.9.9:80"), ifs, {}, spec).empty());
  auto custom = plan_capture(parse_raw_address(":80"), ifs, {}, spec, "tcp port 1");
  CHECK(custom[1].bpf_filter == "tcp port 1");
}
