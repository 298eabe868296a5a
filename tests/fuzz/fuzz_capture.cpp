// libFuzzer target: arbitrary bytes as captured frames of every link type, and as TCP streams,
// through decoder → reassembler → framer → tracker. Nothing may crash, hang or leak, and a
// clean HTTP stream frames the same however it is cut.
// Run: ./build/fuzz/tests/fuzz_capture -max_total_time=120 tests/fuzz/corpus/capture (seeds;
//      copy the directory first if new inputs should not be written into the tree)
#include "capture/http_framer.hpp"
#include "capture/http_session_tracker.hpp"
#include "capture/packet_decoder.hpp"
#include "inputs/raw/raw_input.hpp"

#include "../unit/capture/packet_builder.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

using namespace coreplay::capture;

namespace {

constexpr link_type links[] = {link_type::ethernet, link_type::linux_sll, link_type::linux_sll2,
                               link_type::null,     link_type::loop,      link_type::raw,
                               link_type::ipv4,     link_type::ipv6};

capture_options options_from(std::uint8_t b) {
  capture_options o;
  if (b & 1) o.ports = {80};
  o.track_response = true;
  o.allow_incomplete = (b & 2) != 0;
  o.protocol = (b & 4) ? capture_protocol::binary : capture_protocol::http;
  if (b & 8) o.realip_header = "X-Real-IP";
  o.max_connection_bytes = (b & 16) ? 4096 : (1 << 20);
  o.max_total_bytes = (b & 32) ? 16384 : (8 << 20);
  o.expire = std::chrono::milliseconds(100);
  return o;
}

void drain(http_session_tracker& t) {
  while (auto m = t.next()) {
    // Every message must round-trip through gor's record parser.
    auto again = coreplay::message::parse(std::string(m->record()));
    if (!again) __builtin_trap();
  }
}

// Raw frames: [len][bytes]... each decoded with the chosen link type.
void raw_frames(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const bool vxlan = data[0] % (std::size(links) + 1) == std::size(links);
  link_type link = vxlan ? link_type::ethernet : links[data[0] % (std::size(links) + 1)];
  http_session_tracker t(options_from(data[1]));
  std::int64_t ts = 1'000'000'000;
  std::size_t i = 2;
  while (i < size) {
    std::size_t len = data[i++];
    if (len > size - i) len = size - i;
    std::span<const std::uint8_t> frame(data + i, len);
    if (vxlan) {
      std::uint32_t vni = 0;
      const int rules[] = {-3, 5};
      frame = vxlan_inner_frame(frame, vni);
      (void)vxlan_vni_allowed(vni, rules);
    }
    if (link == link_type::ethernet && frame.size() >= 14 && frame[12] == 0x08 && frame[13] == 0x00) {
      // The decoder's straight path for plain IPv4 frames decides exactly as the general one
      // (the same bytes decoded as raw IPv4 after the Ethernet header).
      tcp_segment a, b;
      auto ea = decode_packet(link_type::ethernet, frame, static_cast<std::uint32_t>(len), ts, a);
      auto eb = decode_packet(link_type::ipv4, frame.subspan(14), static_cast<std::uint32_t>(len - 14), ts, b);
      if (ea != eb) __builtin_trap();
      if (ea == decode_error::none &&
          (!(a.src == b.src) || !(a.dst == b.dst) || a.src_port != b.src_port || a.dst_port != b.dst_port ||
           a.seq != b.seq || a.ack != b.ack || a.flags != b.flags || a.truncated != b.truncated ||
           a.payload.data() != b.payload.data() || a.payload.size() != b.payload.size()))
        __builtin_trap();
    }
    t.feed_packet(link, frame, static_cast<std::uint32_t>(len + (len & 3)), ts);
    i += len;
    ts += 30'000'000;
    if ((i & 7) == 0) t.expire(ts);
    drain(t);
  }
  t.flush_all(ts);
  drain(t);
}

// Structured segments of one connection, so the reassembler and framer get deep inputs:
// [ctl][seq delta][len][payload...]... with well-formed headers built around them.
void structured(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  http_session_tracker t(options_from(data[1]));
  const bool v6 = data[0] & 2;
  coreplay::capture::test::frame_options fo;
  if (data[0] & 4) fo.vlan_tags = {7};
  std::uint32_t seq[2] = {1000, 900000};
  std::int64_t ts = 1'000'000'000;
  std::size_t i = 2;
  while (i + 3 <= size) {
    std::uint8_t ctl = data[i];
    std::int8_t delta = static_cast<std::int8_t>(data[i + 1]);
    std::size_t len = data[i + 2];
    i += 3;
    if (len > size - i) len = size - i;
    int side = ctl & 1;
    std::uint8_t flags = tcp_flag::ack;
    if (ctl & 2) flags |= tcp_flag::fin;
    if ((ctl & 0x1c) == 0x1c) flags |= tcp_flag::rst;
    if ((ctl & 0xe0) == 0xe0) flags = tcp_flag::syn | (side ? tcp_flag::ack : 0);
    std::uint32_t s = seq[side] + static_cast<std::uint32_t>(static_cast<std::int32_t>(delta));
    std::string_view payload(reinterpret_cast<const char*>(data + i), len);
    i += len;
    auto frame = side == 0 ? test::tcp_frame(v6 ? "::1" : "10.0.0.2", 5555, v6 ? "::2" : "10.0.0.1", 80, s,
                                              seq[1], flags, payload, fo)
                           : test::tcp_frame(v6 ? "::2" : "10.0.0.1", 80, v6 ? "::1" : "10.0.0.2", 5555, s,
                                              seq[0], flags, payload, fo);
    if (delta == 0) seq[side] += static_cast<std::uint32_t>(len);
    t.feed_packet(link_type::ethernet, frame, static_cast<std::uint32_t>(frame.size()), ts);
    ts += (ctl & 0x40) ? 200'000'000 : 1'000'000;
    if (ctl & 0x20) t.expire(ts);
    drain(t);
  }
  t.flush_all(ts);
  drain(t);
}

// The framer alone on a byte stream cut at input-chosen points.
void framer_stream(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return;
  http_framer f(static_cast<http_role>(data[0] % 3));
  std::string_view all(reinterpret_cast<const char*>(data + 1), size - 1);
  std::size_t step = 1 + data[0] / 3;
  std::uint32_t seq = 0;
  for (std::size_t i = 0; i < all.size(); i += step) {
    auto part = all.substr(i, step);
    f.feed(part, stream_position{0, seq, 0});
    seq += static_cast<std::uint32_t>(part.size());
    if ((i / step) % 17 == 16) f.gap(3);
    if ((i / step) % 5 == 4) f.expect_response_to(request_kind::head);
    while (f.next()) {
    }
  }
  f.close();
  while (f.next()) {
  }
}

// Where the bytes are cut must not change what a clean stream frames into: one feed (a
// start line and its headers framed in one pass) against one byte per feed (line by line).
void framer_cuts(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return;
  std::string_view all(reinterpret_cast<const char*>(data + 1), size - 1);
  bool tunnel = false;
  auto run = [&](std::size_t step) {
    http_framer f(static_cast<http_role>(1 + data[0] % 2));
    std::vector<std::pair<std::string, bool>> out;
    auto take = [&] {
      while (auto e = f.next()) {
        if (e->what != http_event::kind::end) continue;
        out.emplace_back(std::string(e->data()), e->info.complete);
        // After CONNECT or 101 the bytes are a tunnel, no longer HTTP: where they resync
        // depends on where segments start, by design.
        if (e->info.kind == request_kind::connect || e->info.status == 101) tunnel = true;
      }
    };
    for (std::size_t i = 0; i < all.size(); i += step) {
      f.feed(all.substr(i, step), stream_position{0, static_cast<std::uint32_t>(i), 0});
      take();
    }
    f.close();
    take();
    return std::make_tuple(out, f.skipped_bytes(), f.framing_errors());
  };
  auto [whole, whole_skipped, whole_errors] = run(all.size() + 1);
  auto [bytes, bytes_skipped, bytes_errors] = run(1);
  // Byte by byte, every byte belonged to a message: fed whole, the same messages, nothing skipped.
  if (!tunnel && bytes_skipped == 0 && bytes_errors == 0 &&
      (whole != bytes || whole_skipped != 0 || whole_errors != 0))
    __builtin_trap();
}

// --input-raw addresses: parsed or refused with invalid_argument, nothing else.
void address_text(const std::uint8_t* data, std::size_t size) {
  try {
    auto a = coreplay::parse_raw_address(std::string(reinterpret_cast<const char*>(data), size), "libpcap");
    (void)coreplay::make_bpf_filter(a, coreplay::raw_input_options{});
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  switch (data[0] % 5) {
    case 0: raw_frames(data + 1, size - 1); break;
    case 1: structured(data + 1, size - 1); break;
    case 2: framer_stream(data + 1, size - 1); break;
    case 4: framer_cuts(data + 1, size - 1); break;
    default: address_text(data + 1, size - 1); break;
  }
  return 0;
}
