// Reads a pcap or pcapng file through the capture core (the pcap_file engine, and tests).
#pragma once

#include "capture/capture_file.hpp"
#include "capture/capture_options.hpp"
#include "capture/http_session_tracker.hpp"

#include <coreplay/message.hpp>

#include <functional>
#include <memory>
#include <string>

namespace coreplay::capture {

// Pull-based, so an Asio source can `co_await out.send(m)` between messages (a file input
// pauses instead of dropping). Expiry runs on the packets' own clock, every 100 ms of capture
// time; at the end of the file every message in progress is flushed.
class pcap_file_reader {
 public:
  // Opens the file (pcap or pcapng, nanosecond timestamps either way) and applies `bpf_filter`
  // when not empty. Throws std::runtime_error naming the file: cannot open, bad filter,
  // unsupported link type.
  pcap_file_reader(const std::string& path, const capture_options& options, const std::string& bpf_filter = {});
  ~pcap_file_reader();
  pcap_file_reader(const pcap_file_reader&) = delete;
  pcap_file_reader& operator=(const pcap_file_reader&) = delete;

  // The next message, reading as many packets as it takes; nullptr at the end of the file.
  // Throws std::runtime_error on a read error (a truncated file is only the end).
  message_ptr next();

  const capture_counters& counters() const noexcept { return tracker_.counters(); }
  link_type link() const noexcept { return file_.link(); }

 private:
  capture_file file_;
  http_session_tracker tracker_;
  std::int64_t last_tick_ = 0;
  std::int64_t last_ts_ = 0;
  bool done_ = false;
};

struct pcap_file_result {
  bool ok = false;
  std::string error;  // why the file could not be read (open, filter, link type, read error)
  capture_counters counters;
};

// The whole file at once: on_message for each message, in order.
pcap_file_result read_pcap_file(const std::string& path, const capture_options& options,
                                const std::string& bpf_filter,
                                const std::function<void(message_ptr)>& on_message);

}  // namespace coreplay::capture
