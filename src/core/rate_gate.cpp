#include "core/rate_gate.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace coreplay {

rate_limit rate_limit::parse(std::string_view text) {
  rate_limit l;
  bool percent = !text.empty() && text.back() == '%';
  std::string_view digits = percent ? text.substr(0, text.size() - 1) : text;
  double v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc{} || p != digits.data() + digits.size() || v < 0 ||
      !std::isfinite(v))
    throw std::invalid_argument("bad limit '" + std::string(text) +
                                "' (expected N for messages per second or N% )");
  if (!percent && v != std::floor(v))
    throw std::invalid_argument("bad limit '" + std::string(text) +
                                "' (a per-second limit is a whole number)");
  l.mode = percent ? rate_limit::kind::percent : rate_limit::kind::per_second;
  l.value = v;
  return l;
}

std::pair<std::string, rate_limit> split_address_limit(std::string_view value) {
  auto bar = value.find('|');
  if (bar == std::string_view::npos) return {std::string(value), rate_limit{}};
  auto rest = value.substr(bar + 1);
  // gor ignores anything after a second '|'.
  if (auto bar2 = rest.find('|'); bar2 != std::string_view::npos) rest = rest.substr(0, bar2);
  return {std::string(value.substr(0, bar)), rate_limit::parse(rest)};
}

namespace detail {

rate_gate::rate_gate(rate_limit limit) : limit_(limit), rng_(std::random_device{}()) {
  if (limit_.mode == rate_limit::kind::per_second) {
    per_second_ = static_cast<std::uint64_t>(limit_.value);
    admitted_.resize(per_second_);
  }
}

bool rate_gate::admit(clock::time_point now) {
  switch (limit_.mode) {
    case rate_limit::kind::none:
      return true;
    case rate_limit::kind::percent:
      if (limit_.value >= 100) return true;
      return uniform_(rng_) < limit_.value;
    case rate_limit::kind::per_second: {
      if (per_second_ == 0) return false;
      // head_ is the oldest of the last per_second_ admissions once the ring is full.
      if (filled_ == per_second_) {
        if (now - admitted_[head_] < std::chrono::seconds(1)) return false;
      } else {
        ++filled_;
      }
      admitted_[head_] = now;
      head_ = (head_ + 1) % per_second_;
      return true;
    }
  }
  return true;
}

}  // namespace detail
}  // namespace coreplay
