// A file's reordering window (--input-file-read-depth): records sorted by timestamp, ties in
// file order, so small disorder in a recording is replayed in time order.
#pragma once

#include "core/small_fifo.hpp"

#include <coreplay/message.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace coreplay {

// A sorted ring: recordings are almost always in order, so a record usually goes to the back
// and leaves from the front in O(1) with no allocation (the ring only grows to the window's
// depth); a late one is inserted where it belongs (after records with the same timestamp,
// which keeps file order among ties), shifting the newer ones.
class record_window {
 public:
  void push(message_ptr m) {
    const auto ts = m->timestamp_ns();
    push(ts, [&] { return std::move(m); });
  }
  // The message make() returns, whose timestamp is `ts`: it is made straight into its slot
  // (see entry), so the caller may pass the call that builds it. Inlined into the caller's
  // loop: the usual in-order record is a few instructions, the late one is kept out of line.
  template <class Make>
  [[gnu::always_inline]] void push(std::int64_t ts, Make&& make) {
    const std::size_t n = ring_.size();
    ring_.emplace_back(ts, std::forward<Make>(make));
    if (n != 0 && ts < ring_[n - 1].ts) place_late(n);
  }
  const message_ptr& top() const noexcept { return ring_.front().m; }
  std::int64_t top_timestamp() const noexcept { return ring_.front().ts; }
  message_ptr pop() {
    message_ptr m = std::move(ring_.front().m);
    ring_.pop_front();
    // A message waits a window's depth of records before it leaves, long enough to leave L1,
    // and whoever pops it reads it at once (its timestamp and size): fetch it a few pops early.
    if (ring_.size() > prefetch_ahead) __builtin_prefetch(ring_[prefetch_ahead].m.get());
    return m;
  }
  std::size_t size() const noexcept { return ring_.size(); }
  bool empty() const noexcept { return ring_.empty(); }
  void clear() noexcept { ring_.clear(); }

 private:
  struct entry {
    std::int64_t ts;
    message_ptr m;
    // m is initialised by make()'s result itself (guaranteed copy elision), not moved from a
    // temporary: writing the pointer pair with narrow stores and then moving it with one wide
    // load stalled on store forwarding, once per record.
    template <class Make>
    entry(std::int64_t t, Make&& make) : ts(t), m(std::forward<Make>(make)()) {}
  };
  // The entry at n (the back) is older than the one before it: moved down to its place.
  [[gnu::noinline]] void place_late(std::size_t n) {
    const std::int64_t ts = ring_[n].ts;
    std::size_t lo = 0, hi = n;  // upper bound of ts among the others
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (ts < ring_[mid].ts) hi = mid;
      else lo = mid + 1;
    }
    entry late = std::move(ring_[n]);
    for (std::size_t k = n; k > lo; --k) ring_[k] = std::move(ring_[k - 1]);
    ring_[lo] = std::move(late);
  }

  static constexpr std::size_t prefetch_ahead = 4;
  small_fifo<entry> ring_;
};

}  // namespace coreplay
