// One direction of a TCP connection: segments in any order in, contiguous bytes out.
#pragma once

#include "capture/packet_decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace coreplay::capture {

// Sequence numbers wrap at 2^32; comparisons hold while the window is below 2 GiB.
constexpr bool seq_before(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) < 0;
}
constexpr bool seq_before_or_equal(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) <= 0;
}

// Orders segments by sequence number. In-order data passes through without a copy; segments
// ahead of a hole are copied and held until the hole fills, skip_gap() is called (expiry), or
// the buffer would pass its cap (then the held data is evicted and the stream restarts at the
// new segment, reported as a gap). Overlaps keep the bytes that arrived first, so a
// retransmission with different bytes never changes what was already seen or held.
class tcp_reassembler {
 public:
  enum class feed_result : std::uint8_t {
    in_order,      // readable now
    out_of_order,  // held until the hole before it fills
    overlap,       // partly seen already: the new bytes are kept, the seen ones dropped
    duplicate,     // nothing new (retransmission)
    no_data,       // SYN/FIN/ACK without payload
    evicted,       // the hold buffer was over its cap: held data dropped, stream restarts here
  };

  // What next() hands out. `data` stays valid until the next call to feed()/next()/clear().
  struct chunk {
    std::string_view data;
    std::uint64_t gap_before = 0;  // bytes missing right before data
    std::uint32_t seq = 0;         // sequence number of data[0]
    std::uint32_t ack = 0;         // ACK of the segment that carried data[0]
    std::int64_t timestamp_ns = 0;  // capture time of that segment
  };

  explicit tcp_reassembler(std::size_t max_held_bytes = std::size_t{64} << 20) noexcept
      : max_held_(max_held_bytes) {}

  // Takes one segment; read what became contiguous with next() until it returns nullopt.
  feed_result feed(const tcp_segment& s);
  // The usual case in one step: a data segment (no SYN/FIN/RST) carrying exactly the next
  // bytes while nothing is held, pending or owed as a gap. Then the stream moves past it and
  // the caller reads s.payload itself (what feed() then next() would hand out); else false and
  // nothing changes.
  bool take_in_order(const tcp_segment& s) noexcept {
    if (!started_ || has_pending_ || held_bytes_ != 0 || restart_ || skipping_ || gap_ != 0 || fin_off_ >= 0 ||
        s.seq != next_seq_ || s.payload.empty() || (s.flags & (tcp_flag::syn | tcp_flag::fin | tcp_flag::rst)) != 0)
      return false;
    next_off_ += static_cast<std::int64_t>(s.payload.size());
    next_seq_ += static_cast<std::uint32_t>(s.payload.size());
    return true;
  }
  std::optional<chunk> next();

  // Gives up waiting for missing bytes: held data becomes readable, each hole reported as a gap.
  void skip_gap() noexcept { skipping_ = !held_.empty(); }
  // Drops held data (eviction by the owner); later bytes are reported after a gap.
  void clear() noexcept;

  bool started() const noexcept { return started_; }
  bool has_held() const noexcept { return !held_.empty(); }
  std::size_t held_bytes() const noexcept { return held_bytes_; }
  // Every byte up to the FIN has been read.
  bool fin_reached() const noexcept { return fin_off_ >= 0 && next_off_ >= fin_off_ && !has_pending_; }
  std::uint32_t next_seq() const noexcept { return next_seq_; }

 private:
  struct held_segment {
    std::string data;
    std::uint32_t seq;
    std::uint32_t ack;
    std::int64_t timestamp_ns;
  };

  std::size_t hold(std::int64_t off, std::string_view data, std::uint32_t seq, std::uint32_t ack,
                   std::int64_t ts);

  std::size_t max_held_;
  bool started_ = false;
  bool has_pending_ = false;  // pending_ holds the chunk feed() accepted and next() hands out
  bool skipping_ = false;
  bool restart_ = false;  // after clear(): the next segment starts the stream again
  std::uint32_t next_seq_ = 0;  // sequence number of the next byte to read
  std::int64_t next_off_ = 0;   // its offset from the start of the stream (no wraparound)
  std::int64_t fin_off_ = -1;
  std::uint64_t gap_ = 0;       // reported with the next chunk
  std::size_t held_bytes_ = 0;  // zero exactly when held_ is empty (no held piece is empty)
  chunk pending_;  // with has_pending_ (next to the other per-segment fields: one cache line)
  std::map<std::int64_t, held_segment> held_;
  std::string current_;  // the held segment being read
};

}  // namespace coreplay::capture
