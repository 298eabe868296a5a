#include "core/stats_report.hpp"

#include "core/log.hpp"

#include <cstdio>
#include <sstream>
#include <unistd.h>

namespace coreplay {

void log::write_line(std::string_view line) {
  std::string buf(line);
  buf.push_back('\n');
  std::size_t off = 0;
  while (off < buf.size()) {
    auto n = ::write(2, buf.data() + off, buf.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

std::string human_bytes(std::uint64_t b) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char out[32];
  std::snprintf(out, sizeof out, u == 0 ? "%.0f%s" : "%.1f%s", v, units[u]);
  return out;
}

std::string format_stats(const std::vector<const plugin_stats*>& stats, std::string_view prefix) {
  std::ostringstream os;
  for (auto* s : stats) {
    os << prefix << s->name() << ": msgs=" << s->messages.load(std::memory_order_relaxed)
       << " bytes=" << human_bytes(s->bytes.load(std::memory_order_relaxed))
       << " drops=" << s->drops.load(std::memory_order_relaxed);
    if (auto e = s->errors.load(std::memory_order_relaxed)) os << " errors=" << e;
    if (s->queue_depth) os << " queue=" << s->queue_depth();
    for (auto& [k, v] : s->counters())
      if (v) os << " " << k << "=" << v;
    if (s->detail) {
      auto d = s->detail();
      if (!d.empty()) os << " " << d;
    }
    os << "\n";
  }
  return os.str();
}

}  // namespace coreplay
