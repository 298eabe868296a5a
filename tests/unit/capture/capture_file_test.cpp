#include "capture/capture_file.hpp"

#include "unit/capture/packet_builder.hpp"

#include <catch2/catch.hpp>

#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace coreplay::capture;
using namespace coreplay::capture::test;

namespace {

struct written_frame {
  bytes data;
  std::uint32_t wire_length;
  std::int64_t timestamp_ns;
};

std::string temp_path(const std::string& name) {
  return "/tmp/coreplay_capture_file_test_" + std::to_string(::getpid()) + "_" + name;
}

// Classic pcap written by hand from the format's rules (not with libpcap's dumper), in either
// byte order and either timestamp precision.
void put(std::string& out, std::uint32_t v, bool big_endian, int width = 4) {
  for (int i = 0; i < width; ++i) {
    int shift = big_endian ? 8 * (width - 1 - i) : 8 * i;
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

std::string classic_pcap(const std::vector<written_frame>& frames, bool big_endian, bool nanoseconds,
                         std::uint32_t linktype = 1, std::uint32_t snaplen = 262144) {
  std::string out;
  put(out, nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, big_endian);
  put(out, 2, big_endian, 2);
  put(out, 4, big_endian, 2);
  put(out, 0, big_endian);
  put(out, 0, big_endian);
  put(out, snaplen, big_endian);
  put(out, linktype, big_endian);
  for (auto& f : frames) {
    put(out, static_cast<std::uint32_t>(f.timestamp_ns / 1'000'000'000), big_endian);
    std::int64_t frac = f.timestamp_ns % 1'000'000'000;
    put(out, static_cast<std::uint32_t>(nanoseconds ? frac : frac / 1000), big_endian);
    put(out, static_cast<std::uint32_t>(f.data.size()), big_endian);
    put(out, f.wire_length, big_endian);
    out.append(reinterpret_cast<const char*>(f.data.data()), f.data.size());
  }
  return out;
}

// pcapng: section header, one Ethernet interface with nanosecond timestamps, enhanced packets.
std::string pcapng(const std::vector<written_frame>& frames) {
  std::string out;
  auto block = [&](std::uint32_t type, const std::string& body) {
    std::string b = body;
    while (b.size() % 4) b.push_back('\0');
    std::uint32_t total = static_cast<std::uint32_t>(12 + b.size());
    put(out, type, false);
    put(out, total, false);
    out += b;
    put(out, total, false);
  };
  std::string shb;
  put(shb, 0x1a2b3c4d, false);
  put(shb, 1, false, 2);
  put(shb, 0, false, 2);
  put(shb, 0xffffffff, false);
  put(shb, 0xffffffff, false);
  block(0x0a0d0d0a, shb);
  std::string idb;
  put(idb, 1, false, 2);  // LINKTYPE_ETHERNET
  put(idb, 0, false, 2);
  put(idb, 262144, false);
  put(idb, 9, false, 2);  // if_tsresol: 10^-9
  put(idb, 1, false, 2);
  idb += std::string("\x09\0\0\0", 4);
  put(idb, 0, false);  // opt_endofopt
  block(1, idb);
  for (auto& f : frames) {
    std::string epb;
    put(epb, 0, false);
    auto ts = static_cast<std::uint64_t>(f.timestamp_ns);
    put(epb, static_cast<std::uint32_t>(ts >> 32), false);
    put(epb, static_cast<std::uint32_t>(ts), false);
    put(epb, static_cast<std::uint32_t>(f.data.size()), false);
    put(epb, f.wire_length, false);
    epb.append(reinterpret_cast<const char*>(f.data.data()), f.data.size());
    block(6, epb);
  }
  return out;
}

std::string write_file(const std::string& name, const std::string& content) {
  std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::vector<written_frame> random_frames(std::size_t n) {
  std::mt19937 rng(7);
  std::vector<written_frame> v;
  std::int64_t ts = 1'700'000'000'123'456'000;
  for (std::size_t i = 0; i < n; ++i) {
    std::string payload(rng() % 1400, '\0');
    for (auto& c : payload) c = static_cast<char>(rng());
    bytes f = tcp_frame("10.0.0.1", static_cast<std::uint16_t>(40000 + i % 7), "10.0.0.2", i % 3 ? 80 : 9999,
                        static_cast<std::uint32_t>(rng()), 1, tcp_flag::ack, payload);
    std::uint32_t wire = static_cast<std::uint32_t>(f.size() + (i % 5 == 0 ? 100 : 0));  // some cut by a snap length
    v.push_back({std::move(f), wire, ts});
    ts += static_cast<std::int64_t>(rng() % 5'000'000) * 1000;  // whole microseconds: exact in either precision
  }
  return v;
}

std::vector<written_frame> read_all(const std::string& path, const std::string& filter = {}) {
  capture_file f(path, filter);
  std::vector<written_frame> got;
  while (f.read([&](const file_frame& fr) {
    got.push_back({bytes(fr.bytes.begin(), fr.bytes.end()), fr.wire_length, fr.timestamp_ns});
  }, 100)) {
  }
  return got;
}

void check_same(const std::vector<written_frame>& got, const std::vector<written_frame>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("frame " << i);
    CHECK(got[i].data == want[i].data);
    CHECK(got[i].wire_length == want[i].wire_length);
    CHECK(got[i].timestamp_ns == want[i].timestamp_ns);
  }
}

}  // namespace

TEST_CASE("capture file: pcap read directly in both byte orders and precisions, pcapng through libpcap",
          "[unit][capture]") {
  auto frames = random_frames(3000);  // ~2 MB: records cross the 1 MiB read blocks
  std::vector<written_frame> port80;
  for (auto& f : frames)
    if (f.data[37] == 80) port80.push_back(f);  // Ethernet 14 + IPv4 20 + dst port at 2..3
  REQUIRE(port80.size() > 1000);
  REQUIRE(port80.size() < frames.size());
  for (bool big : {false, true})
    for (bool ns : {false, true}) {
      INFO("big endian " << big << ", nanoseconds " << ns);
      auto path = write_file("order", classic_pcap(frames, big, ns));
      {
        capture_file f(path);
        CHECK(f.direct());
        CHECK(f.link() == link_type::ethernet);
      }
      check_same(read_all(path), frames);
      // The same filter as libpcap's, on the mapped bytes.
      check_same(read_all(path, "tcp dst port 80"), port80);
      std::remove(path.c_str());
    }
  auto path = write_file("ng", pcapng(frames));
  {
    capture_file f(path);
    CHECK_FALSE(f.direct());
  }
  check_same(read_all(path), frames);
  check_same(read_all(path, "tcp dst port 80"), port80);
  std::remove(path.c_str());
}

TEST_CASE("capture file: truncated and corrupt files end with an error naming the file and offset",
          "[unit][capture]") {
  auto frames = random_frames(20);
  const std::string whole = classic_pcap(frames, false, false);
  std::size_t last_start = whole.size() - 16 - frames.back().data.size();

  auto expect_error = [&](const std::string& content, std::size_t frames_before, const std::string& words) {
    auto path = write_file("bad", content);
    capture_file f(path);
    std::size_t n = 0;
    try {
      while (f.read([&](const file_frame&) { ++n; }, 7)) {
      }
      FAIL("no error for " << words);
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      INFO(what);
      CHECK(what.find(path) == 0);
      CHECK(what.find(words) != std::string::npos);
      CHECK(what.find("at byte " + std::to_string(last_start)) != std::string::npos);
    }
    CHECK(n == frames_before);
    std::remove(path.c_str());
  };
  expect_error(whole.substr(0, whole.size() - 1), frames.size() - 1, "truncated dump file");
  expect_error(whole.substr(0, last_start + 9), frames.size() - 1, "truncated dump file");
  std::string huge = whole;
  huge[last_start + 8] = '\xff';
  huge[last_start + 9] = '\xff';
  huge[last_start + 10] = '\xff';
  expect_error(huge, frames.size() - 1, "invalid packet capture length");

  // Empty after the header: no frames, no error.
  auto path = write_file("empty", whole.substr(0, 24));
  CHECK(read_all(path).empty());
  std::remove(path.c_str());

  path = write_file("garbage", std::string(100, 'x'));
  try {
    capture_file f(path);
    FAIL("garbage accepted");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(path) == 0);
  }
  std::remove(path.c_str());
  CHECK_THROWS_WITH(capture_file("/nonexistent/x.pcap"), Catch::Contains("/nonexistent/x.pcap"));
  auto unsupported = write_file("dlt", classic_pcap(frames, false, false, 147));  // LINKTYPE_USER0
  CHECK_THROWS_WITH(capture_file(unsupported), Catch::Contains("unsupported link type"));
  std::remove(unsupported.c_str());
}

TEST_CASE("capture file: a frame larger than the read block, and one cut by the end", "[unit][capture]") {
  // A snap length of 4 MiB in the header allows frames beyond the 1 MiB block.
  auto frames = random_frames(10);
  written_frame big = frames[3];
  big.data.resize(3u << 20, 0xab);
  big.wire_length = static_cast<std::uint32_t>(big.data.size());
  frames.insert(frames.begin() + 4, big);
  auto path = write_file("big", classic_pcap(frames, false, true, 1, 4u << 20));
  check_same(read_all(path), frames);
  std::remove(path.c_str());
}
