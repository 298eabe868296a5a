// A file's reordering window (--input-file-read-depth): records sorted by timestamp, ties in
// file order, so small disorder in a recording is replayed in time order.
#pragma once

#include <coreplay/message.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace coreplay {

class record_window {
 public:
  void push(message_ptr m) {
    heap_.push_back(entry{m->timestamp_ns(), seq_++, std::move(m)});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  const message_ptr& top() const noexcept { return heap_.front().m; }
  std::int64_t top_timestamp() const noexcept { return heap_.front().ts; }
  message_ptr pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    message_ptr m = std::move(heap_.back().m);
    heap_.pop_back();
    return m;
  }
  std::size_t size() const noexcept { return heap_.size(); }
  bool empty() const noexcept { return heap_.empty(); }
  void clear() noexcept { heap_.clear(); }

 private:
  struct entry {
    std::int64_t ts;
    std::uint64_t seq;
    message_ptr m;
  };
  static bool later(const entry& a, const entry& b) noexcept {
    return a.ts != b.ts ? a.ts > b.ts : a.seq > b.seq;
  }
  std::vector<entry> heap_;
  std::uint64_t seq_ = 0;
};

}  // namespace coreplay
