// Reads a pcap or pcapng file through the capture core (the pcap_file engine, and tests).
#pragma once

#include "capture/capture_options.hpp"
#include "capture/http_session_tracker.hpp"

#include <coreplay/message.hpp>

#include <functional>
#include <string>

namespace coreplay::capture {

struct pcap_file_result {
  bool ok = false;
  std::string error;  // why the file could not be read (open, filter, link type)
  capture_counters counters;
};

// Feeds every packet (passing `bpf_filter` when not empty) through decoder → tracker, in file
// order, and calls on_message for each message. Expiry runs on the packets' own clock (every
// 100 ms of capture time); at the end every message in progress is flushed.
pcap_file_result read_pcap_file(const std::string& path, const capture_options& options,
                                const std::string& bpf_filter,
                                const std::function<void(message_ptr)>& on_message);

}  // namespace coreplay::capture
