#include "capture/pcap_file_reader.hpp"

#include <pcap/pcap.h>

#include <memory>

namespace coreplay::capture {

namespace {

struct pcap_closer {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

constexpr std::int64_t expire_tick_ns = 100'000'000;

}  // namespace

pcap_file_result read_pcap_file(const std::string& path, const capture_options& options,
                                const std::string& bpf_filter,
                                const std::function<void(message_ptr)>& on_message) {
  pcap_file_result result;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond timestamps whatever the file stores (pcapng and nanosecond pcap keep theirs).
  std::unique_ptr<pcap_t, pcap_closer> handle(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!handle) {
    result.error = errbuf;
    return result;
  }
  auto link = static_cast<link_type>(pcap_datalink(handle.get()));
  if (!is_supported(link)) {
    result.error = "unsupported link type " + std::to_string(pcap_datalink(handle.get())) + " (" +
                   (pcap_datalink_val_to_name(pcap_datalink(handle.get())) ?: "?") + ")";
    return result;
  }
  if (!bpf_filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(handle.get(), &prog, bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      result.error = std::string("bad BPF filter: ") + pcap_geterr(handle.get());
      return result;
    }
    int rc = pcap_setfilter(handle.get(), &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
      result.error = std::string("cannot set BPF filter: ") + pcap_geterr(handle.get());
      return result;
    }
  }

  http_session_tracker tracker(options);
  auto deliver = [&] {
    while (auto m = tracker.next()) on_message(std::move(m));
  };
  std::int64_t last_tick = 0;
  std::int64_t last_ts = 0;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(handle.get(), &hdr, &data)) == 1) {
    std::int64_t ts = std::int64_t(hdr->ts.tv_sec) * 1'000'000'000 + std::int64_t(hdr->ts.tv_usec);
    last_ts = std::max(last_ts, ts);
    tracker.feed_packet(link, std::span<const std::uint8_t>(data, hdr->caplen), hdr->len, ts);
    if (last_tick == 0) last_tick = ts;
    if (ts - last_tick >= expire_tick_ns) {
      tracker.expire(ts);
      last_tick = ts;
    }
    deliver();
  }
  if (rc == PCAP_ERROR) {
    result.error = pcap_geterr(handle.get());
  }
  tracker.flush_all(last_ts);
  deliver();
  result.ok = result.error.empty();
  result.counters = tracker.counters();
  return result;
}

}  // namespace coreplay::capture
