// The vxlan engine: crafted VXLAN datagrams on loopback become messages; the VNI rules hold.
#include "inputs/raw/raw_input.hpp"
#include "support/test_plugins.hpp"
#include "unit/capture/packet_builder.hpp"

#include <boost/asio/ip/udp.hpp>

#include <catch2/catch.hpp>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;
namespace ct = coreplay::capture::test;

namespace {
// A free UDP port on loopback for the engine to listen on.
std::uint16_t free_udp_port(asio::io_context& io) {
  asio::ip::udp::socket probe(io, {asio::ip::address_v4::loopback(), 0});
  return probe.local_endpoint().port();
}

std::vector<std::uint8_t> vxlan(std::uint32_t vni, const ct::bytes& inner) {
  std::vector<std::uint8_t> d = {0x08, 0, 0, 0, std::uint8_t(vni >> 16), std::uint8_t(vni >> 8), std::uint8_t(vni), 0};
  d.insert(d.end(), inner.begin(), inner.end());
  return d;
}
}  // namespace

TEST_CASE("vxlan engine decapsulates and filters by VNI", "[unit][raw][vxlan]") {
  asio::io_context io;
  std::uint16_t port = free_udp_port(io);
  raw_input_options o;
  o.engine = "vxlan";
  o.vxlan_port = port;
  o.vxlan_vni = {7, -9};
  o.track_response = true;
  o.expire = 200ms;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("input-raw", std::make_unique<raw_input>(":80", o));
  p.add_sink("out", std::make_unique<collecting_sink>(st));

  const std::string req = "GET /tunnel HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  asio::ip::udp::socket tx(io, asio::ip::udp::v4());
  asio::ip::udp::endpoint to(asio::ip::address_v4::loopback(), port);
  asio::steady_timer t(io, 100ms);
  t.async_wait([&](auto) {
    for (std::uint32_t vni : {7u, 9u}) {
      std::uint16_t client = static_cast<std::uint16_t>(40000 + vni);
      tx.send_to(asio::buffer(vxlan(vni, ct::tcp_frame("10.0.0.1", client, "10.0.0.2", 80, 1000, 5000, 0x18, req))), to);
      tx.send_to(asio::buffer(vxlan(vni, ct::tcp_frame("10.0.0.2", 80, "10.0.0.1", client, 5000, 1000 + req.size(), 0x18, resp))), to);
    }
  });
  asio::steady_timer stop(io, 700ms);
  stop.async_wait([&](auto) { p.stop(); });
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  REQUIRE(st->got.size() == 2);  // VNI 9 is denied
  CHECK(st->got[0]->payload() == req);
  CHECK(st->got[1]->payload() == resp);
  CHECK(st->got[0]->id() == st->got[1]->id());
}

TEST_CASE("a stop takes what the kernel already holds", "[unit][raw][vxlan]") {
  asio::io_context io;
  std::uint16_t port = free_udp_port(io);
  raw_input_options o;
  o.engine = "vxlan";
  o.vxlan_port = port;
  o.track_response = true;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("input-raw", std::make_unique<raw_input>(":80", o));
  p.add_sink("out", std::make_unique<collecting_sink>(st));
  const std::string req = "GET /last HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string resp = "HTTP/1.1 204 No Content\r\n\r\n";
  asio::ip::udp::socket tx(io, asio::ip::udp::v4());
  asio::ip::udp::endpoint to(asio::ip::address_v4::loopback(), port);
  asio::steady_timer t(io, 200ms);
  t.async_wait([&](auto) {
    // Sent and stopped in the same turn: the engine has not read them yet.
    tx.send_to(asio::buffer(vxlan(1, ct::tcp_frame("10.0.0.1", 40001, "10.0.0.2", 80, 1000, 5000, 0x18, req))), to);
    tx.send_to(asio::buffer(vxlan(1, ct::tcp_frame("10.0.0.2", 80, "10.0.0.1", 40001, 5000, 1000 + req.size(), 0x18, resp))), to);
    p.stop();
  });
  auto r = run_pipeline(io, p, 5s);
  REQUIRE(r.finished);
  CHECK(error_text(r.error) == "");
  REQUIRE(st->got.size() == 2);
  CHECK(st->got[0]->payload() == req);
  CHECK(st->got[1]->payload() == resp);
}
