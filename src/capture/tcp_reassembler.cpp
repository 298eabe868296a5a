#include "capture/tcp_reassembler.hpp"

#include <algorithm>

namespace coreplay::capture {

tcp_reassembler::feed_result tcp_reassembler::feed(const tcp_segment& s) {
  const bool syn = s.has(tcp_flag::syn);
  const bool fin = s.has(tcp_flag::fin);
  if (s.payload.empty() && !syn && !fin) return feed_result::no_data;
  // A SYN takes one sequence number, so its data (TCP Fast Open) starts one later.
  const std::uint32_t data_seq = s.seq + (syn ? 1u : 0u);
  if (!started_) {
    started_ = true;
    next_seq_ = data_seq;
    next_off_ = 0;
  }
  if (has_pending_) {
    // The caller did not read everything: keep the bytes, they live in its buffer.
    hold(next_off_, pending_.data, pending_.seq, pending_.ack, pending_.timestamp_ns);
    has_pending_ = false;
  }
  std::int64_t off = next_off_ + static_cast<std::int32_t>(data_seq - next_seq_);
  std::string_view data = s.payload;
  if (fin) fin_off_ = std::max<std::int64_t>(off + static_cast<std::int64_t>(data.size()), 0);
  if (data.empty()) return feed_result::no_data;

  if (restart_ && off > next_off_) {
    gap_ += static_cast<std::uint64_t>(off - next_off_);
    next_off_ = off;
    next_seq_ = data_seq;
  }
  restart_ = false;
  const std::int64_t end = off + static_cast<std::int64_t>(data.size());
  if (end <= next_off_) return feed_result::duplicate;
  bool overlapped = false;
  std::uint32_t seq = data_seq;
  if (off < next_off_) {
    auto cut = static_cast<std::size_t>(next_off_ - off);
    data.remove_prefix(cut);
    seq += static_cast<std::uint32_t>(cut);
    off = next_off_;
    overlapped = true;
  }
  if (off == next_off_ && !skipping_) {
    // Held bytes arrived first: they win where this segment overlaps them; its bytes beyond
    // them fill the holes between held segments.
    if (!held_.empty() && held_.begin()->first < end) {
      auto keep = static_cast<std::size_t>(held_.begin()->first - off);
      hold(held_.begin()->first, data.substr(keep), seq + static_cast<std::uint32_t>(keep), s.ack,
           s.timestamp_ns);
      data = data.substr(0, keep);
    }
    pending_ = chunk{data, gap_, seq, s.ack, s.timestamp_ns};
    has_pending_ = true;
    gap_ = 0;
    return overlapped ? feed_result::overlap : feed_result::in_order;
  }
  if (held_bytes_ + data.size() > max_held_) {
    // Waiting any longer would pass the cap: what is held is lost, the stream resumes here.
    clear();
    restart_ = false;
    gap_ += static_cast<std::uint64_t>(off - next_off_);
    next_off_ = off;
    next_seq_ = seq;
    pending_ = chunk{data, gap_, seq, s.ack, s.timestamp_ns};
    has_pending_ = true;
    gap_ = 0;
    return feed_result::evicted;
  }
  if (hold(off, data, seq, s.ack, s.timestamp_ns) == 0) return feed_result::duplicate;
  return overlapped ? feed_result::overlap : feed_result::out_of_order;
}

std::size_t tcp_reassembler::hold(std::int64_t off, std::string_view data, std::uint32_t seq,
                                  std::uint32_t ack, std::int64_t ts) {
  const std::int64_t start = off;
  const std::int64_t end = off + static_cast<std::int64_t>(data.size());
  std::size_t added = 0;
  auto it = held_.upper_bound(off);
  if (it != held_.begin()) {
    auto prev = std::prev(it);
    std::int64_t prev_end = prev->first + static_cast<std::int64_t>(prev->second.data.size());
    if (prev_end > off) off = prev_end;
  }
  // Fill only the holes between held segments: the first bytes seen for an offset stay.
  while (off < end) {
    std::int64_t limit = it == held_.end() ? end : std::min(end, it->first);
    if (limit > off) {
      auto piece = data.substr(static_cast<std::size_t>(off - start), static_cast<std::size_t>(limit - off));
      held_.emplace_hint(it, off,
                         held_segment{std::string(piece), seq + static_cast<std::uint32_t>(off - start), ack, ts});
      added += piece.size();
    }
    if (it == held_.end()) break;
    off = std::max(off, it->first + static_cast<std::int64_t>(it->second.data.size()));
    ++it;
  }
  held_bytes_ += added;
  return added;
}

std::optional<tcp_reassembler::chunk> tcp_reassembler::next() {
  if (has_pending_) {
    chunk c = pending_;
    has_pending_ = false;
    next_off_ += static_cast<std::int64_t>(c.data.size());
    next_seq_ = c.seq + static_cast<std::uint32_t>(c.data.size());
    return c;
  }
  if (held_.empty()) {
    skipping_ = false;
    return std::nullopt;
  }
  auto it = held_.begin();
  if (it->first > next_off_ && !skipping_) return std::nullopt;
  std::uint64_t gap = gap_;
  gap_ = 0;
  if (it->first > next_off_) gap += static_cast<std::uint64_t>(it->first - next_off_);
  current_ = std::move(it->second.data);
  chunk c{current_, gap, it->second.seq, it->second.ack, it->second.timestamp_ns};
  held_bytes_ -= current_.size();
  next_off_ = it->first + static_cast<std::int64_t>(current_.size());
  next_seq_ = c.seq + static_cast<std::uint32_t>(current_.size());
  held_.erase(it);
  if (held_.empty()) skipping_ = false;
  return c;
}

void tcp_reassembler::clear() noexcept {
  held_.clear();
  held_bytes_ = 0;
  skipping_ = false;
  has_pending_ = false;
  restart_ = true;
}

}  // namespace coreplay::capture
