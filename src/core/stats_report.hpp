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

}  // namespace coreplay
