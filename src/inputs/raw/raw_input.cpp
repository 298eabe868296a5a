#include "inputs/raw/raw_input.hpp"

#include "capture/capture_file.hpp"

#include "capture/http_session_tracker.hpp"
#include "core/log.hpp"

#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <arpa/inet.h>
#include <charconv>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdexcept>

namespace coreplay {

option_group<raw_input_options> raw_input_option_group() {
  option_group<raw_input_options> g("Raw capture input");
  using o = raw_input_options;
  g.add("input-raw-engine", &o::engine, "libpcap, pcap_file, af_packet, raw_socket or vxlan")
      .add("input-raw-track-response", &o::track_response, "Also emit the responses (type 2)")
      .add("input-raw-protocol", &o::protocol, "http, or binary (a message ends when the other side speaks)")
      .add("input-raw-realip-header", &o::realip_header, "Header to put the client IP into (e.g. X-Real-IP)")
      .add("input-raw-expire", &o::expire, "A message with no new packet for this long is complete or dropped")
      .add("input-raw-allow-incomplete", &o::allow_incomplete, "Emit messages with missing packets instead of dropping them")
      .add("input-raw-bpf-filter", &o::bpf_filter, "Capture filter replacing the automatic one")
      .add("input-raw-timestamp-type", &o::timestamp_type, "libpcap timestamp source (host, adapter...)")
      .add("input-raw-snaplen", &o::snaplen, "Bytes captured per packet (0: all of it)")
      .add("input-raw-override-snaplen", &o::override_snaplen, "gor compatibility; coreplay captures whole packets anyway")
      .add("input-raw-buffer-timeout", &o::buffer_timeout, "How long the kernel may hold packets before delivering them (0: 10ms for libpcap, 1ms for af_packet)")
      .add("input-raw-buffer-size", &o::buffer_size, "Kernel capture buffer (0: 64mb)")
      .add("input-raw-promisc", &o::promisc, "Promiscuous mode")
      .add("input-raw-monitor", &o::monitor, "RF monitor mode (wireless)")
      .add("input-raw-stats", &o::stats, "Log capture counters every 5 s")
      .add("input-raw-ignore-interface", &o::ignore_interface, "Interface not to capture on")
      .add("input-raw-vlan", &o::vlan, "Capture 802.1Q-tagged traffic")
      .add("input-raw-vlan-vid", &o::vlan_vid, "Capture this VLAN id")
      .add("input-raw-vxlan-port", &o::vxlan_port, "UDP port of the vxlan engine")
      .add("input-raw-vxlan-vni", &o::vxlan_vni, "VXLAN network id to accept (negative: to reject)");
  return g;
}

namespace {

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// The interface that owns `ip`, or "any".
std::string device_for(const std::string& ip) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "any";
  std::string found = "any";
  for (auto* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (a->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    else if (a->ifa_addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(a->ifa_addr)->sin6_addr, text, sizeof text);
    else
      continue;
    if (ip == text) {
      found = a->ifa_name;
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

bool looks_like_capture_file(const std::string& s) {
  auto ends = [&](std::string_view suf) { return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0; };
  return ends(".pcap") || ends(".pcapng") || ends(".cap");
}

std::int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

raw_address parse_raw_address(const std::string& address, const std::string& engine) {
  raw_address a;
  std::string host = address, ports;
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("--input-raw '" + address + "': " + why);
  };
  if (!address.empty() && address[0] == '[') {
    auto close = address.find(']');
    if (close == std::string::npos) throw bad("missing ']' after an IPv6 address");
    host = address.substr(1, close - 1);
    if (close + 1 < address.size()) {
      if (address[close + 1] != ':') throw bad("expected ':PORT' after ']'");
      ports = address.substr(close + 2);
    }
  } else if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    ports = address.substr(colon + 1);
    if (host.find(':') != std::string::npos && !looks_like_capture_file(host))
      throw bad("write IPv6 addresses in brackets, e.g. [::1]:8080");
  }
  std::size_t i = 0;
  while (i < ports.size()) {
    auto comma = ports.find(',', i);
    if (comma == std::string::npos) comma = ports.size();
    std::string p = ports.substr(i, comma - i);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || v > 65535)
      throw bad("bad port '" + p + "'");
    if (v != 0) a.ports.push_back(static_cast<std::uint16_t>(v));
    i = comma + 1;
  }
  if (engine == "pcap_file" || looks_like_capture_file(host)) {
    if (host.empty()) throw bad("the pcap_file engine needs a file: FILE.pcap:PORT");
    a.file = true;
    a.device = host;
    return a;
  }
  if (host == "localhost") host = "127.0.0.1";
  if (host.empty() || host == "0.0.0.0" || host == "::") {
    a.device = "any";
  } else if (is_ip(host)) {
    a.host = host;
    a.device = device_for(host);
  } else if (!host.empty() && host.back() == '*') {
    // gor's wildcard: the first interface whose name starts with the prefix.
    std::string prefix = host.substr(0, host.size() - 1);
    if (auto* names = if_nameindex()) {
      for (auto* n = names; n->if_index; ++n)
        if (std::string_view(n->if_name).rfind(prefix, 0) == 0) {
          a.device = n->if_name;
          break;
        }
      if_freenameindex(names);
    }
    if (a.device == "any") throw bad("no interface matches '" + host + "'");
  } else {
    a.device = host;
  }
  return a;
}

std::string make_bpf_filter(const raw_address& a, const raw_input_options& o) {
  if (!o.bpf_filter.empty()) return o.bpf_filter;
  std::string f;
  if (a.ports.empty()) {
    f = "tcp";
  } else {
    // Both directions: responses complete close-delimited bodies and pair with requests.
    for (std::size_t i = 0; i < a.ports.size(); ++i)
      f += (i ? " or tcp port " : "tcp port ") + std::to_string(a.ports[i]);
    if (a.ports.size() > 1) f = "(" + f + ")";
  }
  if (!a.host.empty() && !o.promisc) f += " and host " + a.host;
  if (o.vlan || !o.vlan_vid.empty()) {
    std::string v;
    if (o.vlan_vid.empty()) v = "vlan";
    else
      for (std::size_t i = 0; i < o.vlan_vid.size(); ++i)
        v += (i ? " or vlan " : "vlan ") + std::to_string(o.vlan_vid[i]);
    f = "(" + v + ") and " + f;
  }
  return f;
}

raw_input::raw_input(std::string address, raw_input_options o) : address_(std::move(address)), options_(std::move(o)) {
  where_ = parse_raw_address(address_, options_.engine);
  if (options_.protocol != "http" && options_.protocol != "binary")
    throw std::invalid_argument("--input-raw-protocol: bad value '" + options_.protocol + "' (http or binary)");
  engine_.engine = where_.file ? "pcap_file" : options_.engine;
  if (engine_.engine == "pcap_file" && !where_.file)
    throw std::invalid_argument("--input-raw '" + address_ + "': the pcap_file engine needs FILE.pcap:PORT");
  for (auto& ignored : options_.ignore_interface)
    if (ignored == where_.device)
      throw std::invalid_argument("--input-raw '" + address_ + "': interface " + ignored + " is in --input-raw-ignore-interface");
  engine_.device = where_.device;
  // A file's packets are filtered by the tracker's own port rule (the automatic filter says no
  // more than that): running libpcap's BPF interpreter over every packet of a file as well
  // cost a tenth of the reading time. Live engines filter in the kernel, where it is cheap.
  const bool tracker_filters = where_.file && options_.bpf_filter.empty() && where_.host.empty() &&
                               !options_.vlan && options_.vlan_vid.empty();
  engine_.bpf_filter = engine_.engine == "vxlan" || tracker_filters ? "" : make_bpf_filter(where_, options_);
  // Whole packets by default: GRO/TSO super-segments are far larger than the MTU (gor #885).
  engine_.snaplen = options_.snaplen.bytes ? static_cast<std::uint32_t>(std::min<std::uint64_t>(options_.snaplen.bytes, 262144)) : 262144;
  engine_.promisc = options_.promisc;
  engine_.monitor = options_.monitor;
  engine_.buffer_timeout = options_.buffer_timeout;
  // A deep kernel buffer by default: at tens of thousands of requests a second the OS defaults
  // (2 MiB for libpcap, ~200 KiB for a socket) overflow within milliseconds of any pause.
  engine_.buffer_size = options_.buffer_size.bytes ? options_.buffer_size.bytes : (64u << 20);
  engine_.timestamp_type = options_.timestamp_type;
  if (options_.vxlan_port < 1 || options_.vxlan_port > 65535)
    throw std::invalid_argument("--input-raw-vxlan-port: bad value " + std::to_string(options_.vxlan_port));
  engine_.vxlan_port = static_cast<std::uint16_t>(options_.vxlan_port);
  for (auto v : options_.vxlan_vni) {
    if (v < -0xFFFFFF || v > 0xFFFFFF || v == 0)
      throw std::invalid_argument("--input-raw-vxlan-vni: bad value " + std::to_string(v) + " (a 24-bit network id, negative to reject)");
    engine_.vxlan_vni.push_back(static_cast<int>(v));
  }

  capture_.ports = where_.ports;
  capture_.expire = options_.expire;
  capture_.allow_incomplete = options_.allow_incomplete;
  capture_.track_response = options_.track_response;
  capture_.realip_header = options_.realip_header;
  capture_.protocol = options_.protocol == "binary" ? capture::capture_protocol::binary : capture::capture_protocol::http;
}

namespace {

// Hands over every message the tracker has finished, waiting only when the pipeline is full.
asio::awaitable<void> send_finished(capture::http_session_tracker& tracker, message_writer& out) {
  while (auto m = tracker.next())
    if (!out.offer(m)) co_await out.send(std::move(m));
}

class tracker_feed final : public capture::frame_consumer {
 public:
  explicit tracker_feed(capture::http_session_tracker& t) : t_(t) {}
  void on_frame(const capture::frame& f) override { take(f.link, f.bytes, f.wire_length, f.timestamp_ns); }
  // The same without a frame object (a capture file's frames, read directly).
  [[gnu::always_inline]] void take(capture::link_type link, std::span<const std::uint8_t> bytes, std::uint32_t wire_length,
            std::int64_t timestamp_ns) {
    t_.feed_packet(link, bytes, wire_length, timestamp_ns);
    last_ts = std::max(last_ts, timestamp_ns);
    ++frames;
  }
  std::int64_t last_ts = 0;
  std::uint64_t frames = 0;

 private:
  capture::http_session_tracker& t_;
};

}  // namespace

asio::awaitable<void> raw_input::run(message_writer out) {
  auto ex = co_await asio::this_coro::executor;
  auto engine = capture::open_engine(ex, engine_);
  log::at(1, "input-raw ", address_, ": ", engine->describe());
  capture::http_session_tracker tracker(capture_);
  // Messages go to the pipeline as they are made, while still in cache; what does not fit
  // waits in the tracker for send_finished().
  tracker.set_taker([](void* w, message_ptr& m) { return static_cast<message_writer*>(w)->offer(m); }, &out);
  tracker_feed feed(tracker);
  auto& st = out.stats();
  auto& packets = st.counter("packets");
  auto& kernel_drops = st.counter("kernel_drops");
  auto& malformed = st.counter("malformed");
  auto& incomplete = st.counter("incomplete");
  auto& evictions = st.counter("evictions");
  auto& gaps = st.counter("gaps");
  auto& retransmits = st.counter("retransmits");
  auto& connections = st.counter("connections");
  auto& framing_errors = st.counter("framing_errors");
  auto& skipped_bytes = st.counter("skipped_bytes");
  auto publish = [&] {
    auto& c = tracker.counters();
    packets.store(c.packets, std::memory_order_relaxed);
    malformed.store(c.malformed, std::memory_order_relaxed);
    incomplete.store(c.incomplete, std::memory_order_relaxed);
    evictions.store(c.evictions, std::memory_order_relaxed);
    gaps.store(c.gaps, std::memory_order_relaxed);
    retransmits.store(c.retransmits, std::memory_order_relaxed);
    connections.store(tracker.connections(), std::memory_order_relaxed);
    framing_errors.store(c.framing_errors, std::memory_order_relaxed);
    skipped_bytes.store(c.skipped_bytes, std::memory_order_relaxed);
  };

  const bool file = engine->finite();
  capture::capture_file* const direct_file = engine->file();
  constexpr std::int64_t tick_ns = 100'000'000;  // expiry runs every 100 ms (of capture time for files)
  std::int64_t last_tick = 0;
  auto last_stats_log = std::chrono::steady_clock::now();
  bool stopped = false;
  // A capture file that turns out truncated or corrupt: what came before it is still
  // delivered (tcpdump killed mid-write leaves such files), then the input fails with the
  // reason, so the exit code says the file was not read to its end.
  std::string file_error;
  try {
    for (;;) {
      bool more = false;
      try {
        if (direct_file) {
          // A file's frames straight to the feed, no call per frame through the engine.
          const capture::link_type link = direct_file->link();
          more = direct_file->read(
              [&](const capture::file_frame& f) { feed.take(link, f.bytes, f.wire_length, f.timestamp_ns); },
              capture::capture_file_frames_per_turn);
        } else {
          more = co_await engine->read(feed, std::chrono::milliseconds(100));
        }
      } catch (const boost::system::system_error&) {
        throw;
      } catch (const std::runtime_error& e) {
        if (!file) throw;
        file_error = e.what();
      }
      std::int64_t now = file ? feed.last_ts : realtime_ns();
      if (now - last_tick >= tick_ns) {
        if (last_tick != 0 || file) tracker.expire(now);
        last_tick = now;
        kernel_drops.store(engine->counters().kernel_drops, std::memory_order_relaxed);
        publish();
        if (options_.stats && std::chrono::steady_clock::now() - last_stats_log >= std::chrono::seconds(5)) {
          last_stats_log = std::chrono::steady_clock::now();
          auto& c = tracker.counters();
          log::info("input-raw ", address_, ": packets=", c.packets, " messages=", c.messages,
                    " incomplete=", c.incomplete, " framing_errors=", c.framing_errors, " kernel_drops=", kernel_drops.load(), " gaps=", c.gaps,
                    " evictions=", c.evictions, " connections=", tracker.connections());
        }
      }
      co_await send_finished(tracker, out);
      if (!more) break;
      if (file) co_await asio::post(ex, asio::use_awaitable);  // let the pipeline drain between batches
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() != asio::error::operation_aborted && e.code() != asio::experimental::error::channel_cancelled) throw;
    stopped = true;
  }
  if (stopped) {
    // Stopped (SIGINT, --exit-after): what the kernel already holds was on the wire before the
    // stop, so it is taken too, then every message in progress is flushed (incomplete ones
    // counted). A second signal (abort) cancels this as well.
    co_await asio::this_coro::reset_cancellation_state();
    for (int i = 0; i < 1000; ++i) {
      auto before = feed.frames;
      co_await engine->read(feed, std::chrono::nanoseconds(0));
      co_await send_finished(tracker, out);
      if (feed.frames == before) break;
    }
    feed.last_ts = std::max(feed.last_ts, realtime_ns());
  }
  tracker.flush_all(feed.last_ts);
  co_await send_finished(tracker, out);
  publish();
  log::at(1, "input-raw ", address_, ": done, ", tracker.counters().messages, " messages");
  if (!file_error.empty())
    throw std::runtime_error(file_error + " (the " + std::to_string(tracker.counters().messages) +
                             " messages before it were delivered)");
}

}  // namespace coreplay
