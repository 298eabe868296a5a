// When each record of a file replay is due, as an offset from the start of the replay.
// Plain arithmetic, no clock: the input turns offsets into absolute deadlines.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

namespace coreplay {

// gor's gap rules (input_file.go:emit): the gap to the previous in-order record, divided by
// the speed factor, capped by max_wait. A record older than the previous in-order one is out
// of order: it is due at once and does not move the reference. The first record is due at 0.
// Offsets accumulate gap by gap, so deadlines computed from them never drift.
class replay_schedule {
 public:
  // speed_factor <= 0 means as fast as possible (gor divides by zero there).
  explicit replay_schedule(double speed_factor = 1.0,
                           std::chrono::nanoseconds max_wait = std::chrono::nanoseconds{0});

  struct step {
    std::chrono::nanoseconds offset;  // due at start + offset
    bool out_of_order;                // due at once
  };
  step next(std::int64_t timestamp_ns);

  // A new pass (--input-file-loop): the next record is due at 0 of a new start.
  void restart() noexcept;

  // gor's dry-run figures, over all passes.
  std::uint64_t records() const noexcept { return records_; }
  std::uint64_t out_of_order() const noexcept { return out_of_order_; }
  std::int64_t first_wait_ns() const noexcept { return first_wait_; }  // first non-zero raw gap
  std::int64_t max_wait_ns() const noexcept { return max_wait_seen_; }  // scaled and capped
  std::int64_t min_wait_ns() const noexcept { return min_wait_seen_; }  // INT64_MAX if no gap
  std::int64_t total_wait_ns() const noexcept { return total_wait_; }

 private:
  double factor_;
  std::int64_t max_wait_;
  bool have_last_ = false;
  std::int64_t last_ts_ = 0;
  std::int64_t offset_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t out_of_order_ = 0;
  std::int64_t first_wait_ = 0;
  std::int64_t max_wait_seen_ = 0;
  std::int64_t min_wait_seen_ = std::numeric_limits<std::int64_t>::max();
  std::int64_t total_wait_ = 0;
};

// Inline: it runs once per replayed record.
inline replay_schedule::step replay_schedule::next(std::int64_t ts) {
  ++records_;
  if (!have_last_) {
    have_last_ = true;
    last_ts_ = ts;
    return {std::chrono::nanoseconds{offset_}, false};
  }
  // Saturate: timestamps are whatever the file says.
  std::int64_t diff = 0;
  if (__builtin_sub_overflow(ts, last_ts_, &diff))
    diff = ts < last_ts_ ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
  if (first_wait_ == 0) first_wait_ = diff;
  if (diff < 0) {
    ++out_of_order_;
    return {std::chrono::nanoseconds{offset_}, true};
  }
  std::int64_t wait = diff;
  if (factor_ <= 0) {
    wait = 0;
  } else if (factor_ != 1.0) {
    double scaled = static_cast<double>(diff) / factor_;
    wait = scaled >= 9.2e18 ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(scaled);
  }
  if (max_wait_ > 0 && wait > max_wait_) wait = max_wait_;
  last_ts_ = ts;
  if (__builtin_add_overflow(offset_, wait, &offset_)) offset_ = std::numeric_limits<std::int64_t>::max();
  if (__builtin_add_overflow(total_wait_, wait, &total_wait_)) total_wait_ = std::numeric_limits<std::int64_t>::max();
  if (wait > max_wait_seen_) max_wait_seen_ = wait;
  if (wait < min_wait_seen_) min_wait_seen_ = wait;
  return {std::chrono::nanoseconds{offset_}, false};
}

// Go's time.Duration.String(): "0s", "1.5µs", "100ms", "1h2m3.5s".
std::string format_go_duration(std::int64_t ns);

struct dry_run_figures {
  std::uint64_t records = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};
// gor's --input-file-dry-run summary, byte for byte.
std::string format_dry_run_summary(const dry_run_figures& f, const replay_schedule& s);

}  // namespace coreplay
