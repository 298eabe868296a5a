// Latency distribution in log-spaced buckets (HDR-style): 8 sub-buckets per power of two of
// microseconds, so a percentile is within 12.5 % of the truth. Fixed storage, no allocation
// per sample; relaxed atomics so a stats printer on another thread may read it.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <sstream>
#include <string>

namespace coreplay::http_replay {

class latency_histogram {
 public:
  static constexpr int sub_bits = 3;
  static constexpr int subs = 1 << sub_bits;
  static constexpr int majors = 40;  // up to 2^40 µs: 12 days

  void record(std::uint64_t ns) noexcept {
    auto us = ns / 1000;
    buckets_[index(us)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    auto m = max_ns_.load(std::memory_order_relaxed);
    while (ns > m && !max_ns_.compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
    }
  }

  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::uint64_t max_ns() const noexcept { return max_ns_.load(std::memory_order_relaxed); }

  // The upper bound of the bucket holding the q-quantile (0 < q <= 1), in nanoseconds.
  std::uint64_t quantile_ns(double q) const noexcept {
    auto total = count();
    if (total == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total));
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank) {
        auto bound = upper_bound_us(i) * 1000;
        auto m = max_ns();
        return bound < m ? bound : m;
      }
    }
    return max_ns();
  }

  // "p50=1.2ms p90=3.4ms p99=10ms max=12ms"
  std::string summary() const {
    std::ostringstream os;
    os << "p50=" << ms(quantile_ns(0.50)) << "ms p90=" << ms(quantile_ns(0.90))
       << "ms p99=" << ms(quantile_ns(0.99)) << "ms max=" << ms(max_ns()) << "ms";
    return os.str();
  }

  static std::size_t index(std::uint64_t us) noexcept {
    if (us < subs) return static_cast<std::size_t>(us);
    int major = std::bit_width(us) - 1;            // >= sub_bits
    auto sub = (us >> (major - sub_bits)) & (subs - 1);
    std::size_t i = static_cast<std::size_t>((major - sub_bits + 1) * subs + sub);
    return i < total_buckets ? i : total_buckets - 1;
  }
  static std::uint64_t upper_bound_us(std::size_t i) noexcept {
    if (i < subs) return i + 1;
    auto major = static_cast<int>(i / subs) + sub_bits - 1;
    auto sub = i % subs;
    return ((subs + sub + 1) << (major - sub_bits));
  }

 private:
  static double ms(std::uint64_t ns) { return static_cast<double>(ns / 1000) / 1000.0; }
  static constexpr std::size_t total_buckets = static_cast<std::size_t>(majors) * subs;

  std::array<std::atomic<std::uint64_t>, total_buckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> max_ns_{0};
};

}  // namespace coreplay::http_replay
