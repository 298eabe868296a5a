// The admission test behind gor's `|N` and `|N%` limits.
#pragma once

#include <coreplay/pipeline.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace coreplay::detail {

class rate_gate {
 public:
  using clock = std::chrono::steady_clock;

  explicit rate_gate(rate_limit limit = {});

  // |N: a sliding window, so no one-second window ever holds more than N (gor's fixed window
  // lets 2N through across a boundary). |N%: each message passes with probability N/100.
  bool admit() {
    // The common case costs no clock read.
    return limit_.mode == rate_limit::kind::none || admit(clock::now());
  }
  bool admit(clock::time_point now);
  // No limit: admit() is always true.
  bool open() const noexcept { return limit_.mode == rate_limit::kind::none; }

 private:
  rate_limit limit_;
  std::uint64_t per_second_ = 0;
  std::vector<clock::time_point> admitted_;  // ring of the last per_second_ admissions
  std::size_t head_ = 0;
  std::size_t filled_ = 0;
  std::minstd_rand rng_;
  std::uniform_real_distribution<double> uniform_{0.0, 100.0};
};

}  // namespace coreplay::detail
