// A file's reordering window (--input-file-read-depth): records sorted by timestamp, ties in
// file order, so small disorder in a recording is replayed in time order.
#pragma once

#include <coreplay/message.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace coreplay {

// A sorted ring: recordings are almost always in order, so a record usually goes to the back
// and leaves from the front in O(1) with no allocation (the ring only grows to the window's
// depth); a late one is inserted where it belongs (after records with the same timestamp,
// which keeps file order among ties), shifting the newer ones.
class record_window {
 public:
  void push(message_ptr m) {
    const auto ts = m->timestamp_ns();
    if (count_ == ring_.size()) grow();
    if (count_ == 0 || at(count_ - 1).ts <= ts) {
      at(count_) = entry{ts, std::move(m)};
      ++count_;
      return;
    }
    std::size_t lo = 0, hi = count_;  // upper bound of ts
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (ts < at(mid).ts) hi = mid;
      else lo = mid + 1;
    }
    for (std::size_t k = count_; k > lo; --k) at(k) = std::move(at(k - 1));
    at(lo) = entry{ts, std::move(m)};
    ++count_;
  }
  const message_ptr& top() const noexcept { return ring_[head_].m; }
  std::int64_t top_timestamp() const noexcept { return ring_[head_].ts; }
  message_ptr pop() {
    message_ptr m = std::move(ring_[head_].m);
    head_ = (head_ + 1) & (ring_.size() - 1);
    --count_;
    return m;
  }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  void clear() noexcept {
    for (std::size_t k = 0; k < count_; ++k) at(k).m.reset();
    head_ = count_ = 0;
  }

 private:
  struct entry {
    std::int64_t ts = 0;
    message_ptr m;
  };

  entry& at(std::size_t i) noexcept { return ring_[(head_ + i) & (ring_.size() - 1)]; }

  void grow() {
    std::vector<entry> bigger(ring_.empty() ? 16 : ring_.size() * 2);  // a power of two
    for (std::size_t k = 0; k < count_; ++k) bigger[k] = std::move(at(k));
    ring_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<entry> ring_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace coreplay
