#include "inputs/file/replay_schedule.hpp"

#include <cmath>

namespace coreplay {

replay_schedule::replay_schedule(double speed_factor, std::chrono::nanoseconds max_wait)
    // NaN, zero, negative and infinite factors all mean: no waiting.
    : factor_(speed_factor > 0 && std::isfinite(speed_factor) ? speed_factor : 0.0), max_wait_(max_wait.count()) {}

void replay_schedule::restart() noexcept {
  have_last_ = false;
  offset_ = 0;
}

namespace {

// "1.500" → "1.5"; digits of `frac` zero-padded to `width`, trailing zeros dropped.
void append_fraction(std::string& out, std::uint64_t frac, int width) {
  if (frac == 0) return;
  std::string digits(static_cast<std::size_t>(width), '0');
  for (int i = width - 1; i >= 0; --i) {
    digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  out += '.';
  out += digits;
}

}  // namespace

std::string format_go_duration(std::int64_t ns) {
  if (ns == 0) return "0s";
  std::string out;
  std::uint64_t u = static_cast<std::uint64_t>(ns);
  if (ns < 0) {
    out += '-';
    u = std::uint64_t{0} - u;
  }
  if (u < 1'000'000'000) {
    if (u < 1'000) return out + std::to_string(u) + "ns";
    std::uint64_t div = u < 1'000'000 ? 1'000 : 1'000'000;
    out += std::to_string(u / div);
    append_fraction(out, u % div, div == 1'000 ? 3 : 6);
    out += div == 1'000 ? "\xC2\xB5s" : "ms";  // µs, as Go writes it (U+00B5)
    return out;
  }
  std::uint64_t secs = u / 1'000'000'000, frac = u % 1'000'000'000;
  std::uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  out += std::to_string(s);
  append_fraction(out, frac, 9);
  out += 's';
  return out;
}

std::string format_dry_run_summary(const dry_run_figures& f, const replay_schedule& s) {
  std::string out;
  out += "Records found: " + std::to_string(f.records) + "\n";
  out += "Files processed: " + std::to_string(f.files) + "\n";
  out += "Bytes processed: " + std::to_string(f.bytes) + "\n";
  out += "Max wait: " + format_go_duration(s.max_wait_ns()) + "\n";
  out += "Min wait: " + format_go_duration(s.min_wait_ns()) + "\n";
  out += "First wait: " + format_go_duration(s.first_wait_ns()) + "\n";
  out += "It will take `" + format_go_duration(s.total_wait_ns()) + "` to replay at current speed.\n";
  out += "Found " + std::to_string(s.out_of_order()) + " records with out of order timestamp\n";
  return out;
}

}  // namespace coreplay
