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

void log::write_raw(std::string_view text) {
  std::size_t off = 0;
  while (off < text.size()) {
    auto n = ::write(2, text.data() + off, text.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
}

std::string progress_line(const std::vector<const plugin_stats*>& stats, std::chrono::steady_clock::duration elapsed) {
  std::uint64_t done = 0, total = 0, msgs = 0, lag = 0;
  bool any = false;
  for (auto* s : stats) {
    std::uint64_t r = 0, t = 0, l = 0;
    bool sized = false;
    for (auto& [k, v] : s->counters()) {
      if (k == "bytes_read") r = v;
      else if (k == "bytes_total") t = v, sized = true;
      else if (k == "lag_ns") l = v;
    }
    if (!sized) continue;
    any = true;
    // What has been sent, rather than read (reading runs ahead by a block); for compressed
    // files the sent bytes outgrow the file's size, so what was read is the better guess.
    auto sent = s->bytes.load(std::memory_order_relaxed) + 14 * s->messages.load(std::memory_order_relaxed);
    done += sent <= t ? sent : r;
    total += t;
    msgs += s->messages.load(std::memory_order_relaxed);
    lag = std::max(lag, l);
  }
  if (!any || total == 0) return {};
  double secs = std::chrono::duration<double>(elapsed).count();
  double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  char buf[160];
  int eta = frac > 0 ? static_cast<int>(secs * (1 - frac) / frac) : 0;
  std::snprintf(buf, sizeof buf, "replay %3.0f%% (%s/%s), %.0f msg/s, lag %.1fms, ETA %d:%02d", frac * 100,
                human_bytes(done).c_str(), human_bytes(total).c_str(), secs > 0 ? msgs / secs : 0.0, lag / 1e6,
                eta / 60, eta % 60);
  return buf;
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
