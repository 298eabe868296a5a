// Logging to stderr, gated by --verbose; level 0 always prints.
#pragma once

#include <atomic>
#include <sstream>
#include <string_view>

namespace coreplay::log {

inline std::atomic<int> verbosity{0};

// One whole line per call, so concurrent lines never interleave.
void write_line(std::string_view line);
// Bytes as they are (a progress line redrawn with \r).
void write_raw(std::string_view text);

template <typename... Args>
void at(int level, Args&&... args) {
  if (level > verbosity.load(std::memory_order_relaxed)) return;
  std::ostringstream os;
  os << "coreplay: ";
  (os << ... << args);
  write_line(os.str());
}

template <typename... Args>
void error(Args&&... args) { at(0, "error: ", std::forward<Args>(args)...); }
template <typename... Args>
void info(Args&&... args) { at(0, std::forward<Args>(args)...); }

}  // namespace coreplay::log
