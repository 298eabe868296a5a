// The text of --stats lines and of the summary at exit.
#pragma once

#include <coreplay/plugin.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace coreplay {

// One line per plugin: "name: msgs=… bytes=… drops=… q=… counters… detail".
std::string format_stats(const std::vector<const plugin_stats*>& stats, std::string_view prefix);
std::string human_bytes(std::uint64_t bytes);
// "replay 45% (12.1MiB/26.9MiB), 1843 msg/s, lag 0.2ms, ETA 0:14" from the inputs that know
// their size (counters bytes_read/bytes_total); empty when there is none.
std::string progress_line(const std::vector<const plugin_stats*>& stats, std::chrono::steady_clock::duration elapsed);

}  // namespace coreplay
