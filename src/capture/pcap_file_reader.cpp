#include "capture/pcap_file_reader.hpp"

#include <algorithm>
#include <stdexcept>

namespace coreplay::capture {

namespace {

constexpr std::int64_t expire_tick_ns = 100'000'000;

}  // namespace

pcap_file_reader::pcap_file_reader(const std::string& path, const capture_options& options,
                                   const std::string& bpf_filter)
    : file_(path, bpf_filter), tracker_(options) {}

pcap_file_reader::~pcap_file_reader() = default;

message_ptr pcap_file_reader::next() {
  while (true) {
    if (auto m = tracker_.next()) return m;
    if (done_) return nullptr;
    bool more = true;
    try {
      more = file_.read(
          [&](const file_frame& f) {
            last_ts_ = std::max(last_ts_, f.timestamp_ns);
            tracker_.feed_packet(file_.link(), f.bytes, f.wire_length, f.timestamp_ns);
            if (last_tick_ == 0) last_tick_ = f.timestamp_ns;
            if (f.timestamp_ns - last_tick_ >= expire_tick_ns) {
              tracker_.expire(f.timestamp_ns);
              last_tick_ = f.timestamp_ns;
            }
          },
          1);
    } catch (const std::runtime_error&) {
      done_ = true;
      tracker_.flush_all(last_ts_);
      throw;
    }
    if (!more) {
      done_ = true;
      tracker_.flush_all(last_ts_);
    }
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
