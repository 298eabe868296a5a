// Live capture on lo: needs root or cap_net_raw; skipped (with a warning) without.
#include "capture/http_session_tracker.hpp"
#include "capture/pcap_live.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

using namespace coreplay;
using namespace coreplay::capture;

namespace {

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

TEST_CASE("live capture on lo sees a request and its response", "[unit][capture]") {
  fd_guard server{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(server.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(server.fd, 4) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(server.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::uint16_t port = ntohs(addr.sin_port);

  live_capture_options lo;
  lo.interface = "lo";
  lo.bpf_filter = "tcp port " + std::to_string(port);
  std::unique_ptr<pcap_live_handle> h;
  try {
    h = std::make_unique<pcap_live_handle>(lo);
  } catch (const std::runtime_error& e) {
    WARN("live capture skipped: " << e.what());
    return;
  }
  REQUIRE(h->selectable_fd() >= 0);
  CHECK(h->link() == link_type::ethernet);

  fd_guard client{::socket(AF_INET, SOCK_STREAM, 0)};
  REQUIRE(::connect(client.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  fd_guard conn{::accept(server.fd, nullptr, nullptr)};
  const std::string req = "GET /live HTTP/1.1\r\nHost: lo\r\n\r\n";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlive";
  REQUIRE(::send(client.fd, req.data(), req.size(), 0) == ssize_t(req.size()));
  char buf[256];
  REQUIRE(::recv(conn.fd, buf, sizeof buf, 0) == ssize_t(req.size()));
  REQUIRE(::send(conn.fd, resp.data(), resp.size(), 0) == ssize_t(resp.size()));

  capture_options o;
  o.ports = {port};
  o.track_response = true;
  http_session_tracker t(o);
  std::vector<message_ptr> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{h->selectable_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    h->read_batch(64, [&](std::span<const std::uint8_t> f, std::uint32_t wire, std::int64_t ts) {
      t.feed_packet(h->link(), f, wire, ts);
    });
    while (auto m = t.next()) got.push_back(std::move(m));
  }
  REQUIRE(got.size() == 2);
  CHECK(got[0]->payload() == req);
  CHECK(got[1]->payload() == resp);
  CHECK(got[0]->id() == got[1]->id());
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  CHECK(std::abs(now_ns - got[0]->timestamp_ns()) < 60'000'000'000);
  CHECK(h->stats().received >= 4);
}

TEST_CASE("live capture reports a bad interface or filter clearly", "[unit][capture]") {
  live_capture_options o;
  o.interface = "no-such-interface0";
  CHECK_THROWS_AS(pcap_live_handle(o), std::runtime_error);
  live_capture_options bad;
  bad.interface = "lo";
  bad.bpf_filter = "tcp port banana";
  try {
    pcap_live_handle h(bad);
    FAIL("a bad filter was accepted");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    // Without privileges the open fails first; either way the message names the interface.
    CHECK(what.find("lo") != std::string::npos);
  }
  auto ifs = list_capture_interfaces();
  bool has_lo = false;
  for (auto& i : ifs)
    if (i.name == "lo") has_lo = i.loopback;
  CHECK(has_lo);
}
