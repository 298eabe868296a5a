// A file's reordering window (--input-file-read-depth): records sorted by timestamp, ties in
// file order, so small disorder in a recording is replayed in time order.
#pragma once

#include <coreplay/message.hpp>

#include <algorithm>
#include <cstdint>
#include <deque>

namespace coreplay {

// Kept as a sorted sequence: recordings are almost always in order, so a record usually goes
// to the back and leaves from the front in O(1); a late one is inserted where it belongs
// (after records with the same timestamp, which keeps file order among ties).
class record_window {
 public:
  void push(message_ptr m) {
    const auto ts = m->timestamp_ns();
    if (sorted_.empty() || sorted_.back().ts <= ts) {
      sorted_.push_back(entry{ts, std::move(m)});
      return;
    }
    auto at = std::upper_bound(sorted_.begin(), sorted_.end(), ts,
                               [](std::int64_t t, const entry& e) { return t < e.ts; });
    sorted_.insert(at, entry{ts, std::move(m)});
  }
  const message_ptr& top() const noexcept { return sorted_.front().m; }
  std::int64_t top_timestamp() const noexcept { return sorted_.front().ts; }
  message_ptr pop() {
    message_ptr m = std::move(sorted_.front().m);
    sorted_.pop_front();
    return m;
  }
  std::size_t size() const noexcept { return sorted_.size(); }
  bool empty() const noexcept { return sorted_.empty(); }
  void clear() noexcept { sorted_.clear(); }

 private:
  struct entry {
    std::int64_t ts;
    message_ptr m;
  };
  std::deque<entry> sorted_;
};

}  // namespace coreplay
