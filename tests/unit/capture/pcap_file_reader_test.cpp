#include "capture/pcap_file_reader.hpp"

#include "unit/capture/packet_builder.hpp"

#include <catch2/catch.hpp>

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace coreplay;
using namespace coreplay::capture;
using namespace coreplay::capture::test;

namespace {

// Writes frames to a nanosecond pcap file with the given DLT.
std::string write_pcap(const std::vector<captured>& frames, int dlt, const std::string& name) {
  std::string path = "/tmp/coreplay_capture_test_" + std::to_string(::getpid()) + "_" + name + ".pcap";
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(dlt, 262144, PCAP_TSTAMP_PRECISION_NANO);
  REQUIRE(dead);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  REQUIRE(d);
  for (auto& f : frames) {
    pcap_pkthdr h{};
    h.ts.tv_sec = f.timestamp_ns / 1'000'000'000;
    h.ts.tv_usec = f.timestamp_ns % 1'000'000'000;  // nanoseconds in a nanosecond file
    h.caplen = h.len = static_cast<bpf_u_int32>(f.frame.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.frame.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
  return path;
}

std::vector<captured> conversation_frames(link_type link) {
  tcp_conversation c("10.9.8.7", 45678, "10.0.0.1", 8080);
  c.options.link = link;
  std::vector<captured> v = c.handshake();
  v.push_back(c.client("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  v.push_back(c.server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  v.push_back(c.client("POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\n"));
  v.push_back(c.client("abc"));
  v.push_back(c.server("HTTP/1.1 201 Created\r\n\r\n", tcp_flag::fin));
  v.push_back(c.client_fin());
  return v;
}

}  // namespace

TEST_CASE("pcap file reader writes and reads back a capture", "[unit][capture]") {
  auto frames = conversation_frames(link_type::ethernet);
  auto path = write_pcap(frames, DLT_EN10MB, "eth");
  capture_options o;
  o.ports = {8080};
  o.track_response = true;
  std::vector<message_ptr> got;
  auto res = read_pcap_file(path, o, "", [&](message_ptr m) { got.push_back(std::move(m)); });
  REQUIRE(res.ok);
  CHECK(res.error.empty());
  REQUIRE(got.size() == 4);
  CHECK(got[0]->payload() == "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(got[0]->timestamp_ns() == frames[3].timestamp_ns);
  CHECK(got[1]->payload() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  CHECK(got[1]->latency_ns() == frames[4].timestamp_ns - frames[3].timestamp_ns);
  CHECK(got[2]->payload() == "POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  CHECK(got[3]->payload() == "HTTP/1.1 201 Created\r\n\r\n");
  CHECK(got[2]->id() == got[3]->id());
  CHECK(res.counters.packets == frames.size());
  CHECK(res.counters.messages == 4);

  // A BPF filter that matches nothing.
  got.clear();
  res = read_pcap_file(path, o, "tcp port 9999", [&](message_ptr m) { got.push_back(std::move(m)); });
  CHECK(res.ok);
  CHECK(got.empty());
  CHECK(res.counters.packets == 0);
  // Requests only, by filter.
  res = read_pcap_file(path, o, "tcp dst port 8080", [&](message_ptr m) { got.push_back(std::move(m)); });
  CHECK(got.size() == 2);

  res = read_pcap_file(path, o, "tcp port nonsense", [](message_ptr) {});
  CHECK_FALSE(res.ok);
  CHECK(res.error.find("BPF") != std::string::npos);
  std::remove(path.c_str());

  res = read_pcap_file("/nonexistent/file.pcap", o, "", [](message_ptr) {});
  CHECK_FALSE(res.ok);
  CHECK_FALSE(res.error.empty());
}

TEST_CASE("pcap file reader handles cooked and loopback link types", "[unit][capture]") {
  struct variant {
    link_type link;
    int dlt;
  };
  for (auto v : {variant{link_type::linux_sll, DLT_LINUX_SLL}, variant{link_type::linux_sll2, DLT_LINUX_SLL2},
                 variant{link_type::null, DLT_NULL}, variant{link_type::raw, DLT_RAW}}) {
    auto path = write_pcap(conversation_frames(v.link), v.dlt, "dlt" + std::to_string(v.dlt));
    capture_options o;
    o.ports = {8080};
    std::vector<message_ptr> got;
    auto res = read_pcap_file(path, o, "", [&](message_ptr m) { got.push_back(std::move(m)); });
    INFO("dlt " << v.dlt);
    CHECK(res.ok);
    CHECK(got.size() == 2);
    std::remove(path.c_str());
  }
}
