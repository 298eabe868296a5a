#include "capture/pcap_file_reader.hpp"

#include <pcap/pcap.h>

#include <stdexcept>

namespace coreplay::capture {

namespace {

constexpr std::int64_t expire_tick_ns = 100'000'000;

}  // namespace

pcap_file_reader::pcap_file_reader(const std::string& path, const capture_options& options,
                                   const std::string& bpf_filter)
    : path_(path), tracker_(options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // With nanosecond precision requested, tv_usec holds nanoseconds whatever the file stores.
  handle_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!handle_) throw std::runtime_error(path + ": " + errbuf);
  auto fail = [&](const std::string& why) {
    pcap_close(handle_);
    handle_ = nullptr;
    throw std::runtime_error(path + ": " + why);
  };
  int dlt = pcap_datalink(handle_);
  link_ = static_cast<link_type>(dlt);
  if (!is_supported(link_))
    fail("unsupported link type " + std::to_string(dlt) + " (" + (pcap_datalink_val_to_name(dlt) ?: "?") + ")");
  if (!bpf_filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(handle_, &prog, bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      fail("bad BPF filter '" + bpf_filter + "': " + pcap_geterr(handle_));
    int rc = pcap_setfilter(handle_, &prog);
    pcap_freecode(&prog);
    if (rc != 0) fail(std::string("cannot set BPF filter: ") + pcap_geterr(handle_));
  }
}

pcap_file_reader::~pcap_file_reader() {
  if (handle_) pcap_close(handle_);
}

message_ptr pcap_file_reader::next() {
  while (true) {
    if (auto m = tracker_.next()) return m;
    if (done_) return nullptr;
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = pcap_next_ex(handle_, &hdr, &data);
    if (rc == 1) {
      std::int64_t ts = std::int64_t(hdr->ts.tv_sec) * 1'000'000'000 + std::int64_t(hdr->ts.tv_usec);
      last_ts_ = std::max(last_ts_, ts);
      tracker_.feed_packet(link_, std::span<const std::uint8_t>(data, hdr->caplen), hdr->len, ts);
      if (last_tick_ == 0) last_tick_ = ts;
      if (ts - last_tick_ >= expire_tick_ns) {
        tracker_.expire(ts);
        last_tick_ = ts;
      }
      continue;
    }
    done_ = true;
    std::string error = rc == PCAP_ERROR ? pcap_geterr(handle_) : std::string();
    tracker_.flush_all(last_ts_);
    if (!error.empty()) throw std::runtime_error(path_ + ": " + error);
  }
}

pcap_file_result read_pcap_file(const std::string& path, const capture_options& options,
                                const std::string& bpf_filter,
                                const std::function<void(message_ptr)>& on_message) {
  pcap_file_result result;
  try {
    pcap_file_reader reader(path, options, bpf_filter);
    try {
      while (auto m = reader.next()) on_message(std::move(m));
    } catch (const std::runtime_error& e) {
      result.error = e.what();
    }
    result.counters = reader.counters();
  } catch (const std::runtime_error& e) {
    result.error = e.what();
  }
  result.ok = result.error.empty();
  return result;
}

}  // namespace coreplay::capture
