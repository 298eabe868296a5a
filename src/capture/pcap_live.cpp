#include "capture/pcap_live.hpp"

#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <stdexcept>

namespace coreplay::capture {

namespace {

std::string address_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!sa) return {};
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

[[noreturn]] void fail(const std::string& interface, const std::string& what) {
  throw std::runtime_error("capture on " + interface + ": " + what);
}

}  // namespace

std::vector<interface_candidate> list_capture_interfaces() {
  std::vector<interface_candidate> out;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_if_t* all = nullptr;
  if (pcap_findalldevs(&all, errbuf) != 0) throw std::runtime_error(std::string("pcap_findalldevs: ") + errbuf);
  for (pcap_if_t* d = all; d; d = d->next) {
    interface_candidate ci;
    ci.name = d->name;
    ci.loopback = (d->flags & PCAP_IF_LOOPBACK) != 0;
    ci.up = (d->flags & PCAP_IF_UP) != 0;
    for (pcap_addr_t* a = d->addresses; a; a = a->next) {
      std::string s = address_text(a->addr);
      if (!s.empty()) ci.addresses.push_back(std::move(s));
    }
    out.push_back(std::move(ci));
  }
  pcap_freealldevs(all);
  return out;
}

pcap_live_handle::pcap_live_handle(const live_capture_options& o) : interface_(o.interface) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  handle_ = pcap_create(o.interface.c_str(), errbuf);
  if (!handle_) fail(o.interface, errbuf);
  auto check = [&](int rc, const char* what) {
    if (rc != 0) {
      std::string msg = std::string(what) + ": " + pcap_statustostr(rc);
      pcap_close(handle_);
      handle_ = nullptr;
      fail(o.interface, msg);
    }
  };
  check(pcap_set_snaplen(handle_, o.snaplen > 0 ? o.snaplen : 262144), "snaplen");
  check(pcap_set_promisc(handle_, o.promisc ? 1 : 0), "promisc");
  if (o.monitor && pcap_can_set_rfmon(handle_) == 1) pcap_set_rfmon(handle_, 1);
  if (o.buffer_timeout.count() > 0)
    check(pcap_set_timeout(handle_, static_cast<int>(o.buffer_timeout.count())), "timeout");
  else
    check(pcap_set_immediate_mode(handle_, 1), "immediate mode");
  if (o.buffer_size > 0) check(pcap_set_buffer_size(handle_, static_cast<int>(o.buffer_size)), "buffer size");
  if (!o.timestamp_type.empty()) {
    int t = pcap_tstamp_type_name_to_val(o.timestamp_type.c_str());
    if (t < 0) {
      pcap_close(handle_);
      handle_ = nullptr;
      fail(o.interface, "unknown timestamp type '" + o.timestamp_type + "'");
    }
    pcap_set_tstamp_type(handle_, t);  // a warning when unsupported: libpcap falls back
  }
  pcap_set_tstamp_precision(handle_, PCAP_TSTAMP_PRECISION_NANO);  // micro if unsupported
  int rc = pcap_activate(handle_);
  if (rc < 0) {
    std::string msg = pcap_geterr(handle_);
    if (msg.empty()) msg = pcap_statustostr(rc);
    pcap_close(handle_);
    handle_ = nullptr;
    fail(o.interface, msg);
  }
  link_ = static_cast<link_type>(pcap_datalink(handle_));
  if (!is_supported(link_)) {
    std::string name = pcap_datalink_val_to_name(pcap_datalink(handle_)) ?: "?";
    pcap_close(handle_);
    handle_ = nullptr;
    fail(o.interface, "unsupported link type " + name);
  }
  if (!o.bpf_filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(handle_, &prog, o.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::string msg = "bad BPF filter '" + o.bpf_filter + "': " + pcap_geterr(handle_);
      pcap_close(handle_);
      handle_ = nullptr;
      fail(o.interface, msg);
    }
    int frc = pcap_setfilter(handle_, &prog);
    pcap_freecode(&prog);
    if (frc != 0) {
      std::string msg = std::string("cannot set BPF filter: ") + pcap_geterr(handle_);
      pcap_close(handle_);
      handle_ = nullptr;
      fail(o.interface, msg);
    }
  }
  if (pcap_setnonblock(handle_, 1, errbuf) != 0) {
    pcap_close(handle_);
    handle_ = nullptr;
    fail(o.interface, errbuf);
  }
  fd_ = pcap_get_selectable_fd(handle_);
}

pcap_live_handle::~pcap_live_handle() {
  if (handle_) pcap_close(handle_);
}

int pcap_live_handle::read_batch(int max_packets, const packet_fn& on_packet) {
  struct context {
    const packet_fn* fn;
    bool nano;
  } ctx{&on_packet, pcap_get_tstamp_precision(handle_) == PCAP_TSTAMP_PRECISION_NANO};
  auto cb = [](u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* c = reinterpret_cast<context*>(user);
    std::int64_t frac = h->ts.tv_usec;
    std::int64_t ts = std::int64_t(h->ts.tv_sec) * 1'000'000'000 + (c->nano ? frac : frac * 1000);
    (*c->fn)(std::span<const std::uint8_t>(bytes, h->caplen), h->len, ts);
  };
  int n = pcap_dispatch(handle_, max_packets, cb, reinterpret_cast<u_char*>(&ctx));
  if (n == PCAP_ERROR) fail(interface_, pcap_geterr(handle_));
  return n < 0 ? 0 : n;
}

live_capture_stats pcap_live_handle::stats() const {
  pcap_stat s{};
  if (pcap_stats(handle_, &s) != 0) return {};
  return {s.ps_recv, s.ps_drop, s.ps_ifdrop};
}

}  // namespace coreplay::capture
