#include "core/gor_record.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace coreplay {

namespace {

constexpr std::size_t sep_len = gor_separator.size();            // 14
constexpr std::size_t line_len = gor_separator_line.size();      // 13

// The separator's 2nd and 13th bytes (0xF0, 0x89) tested together for 16 start positions at
// a time (SSE2, part of x86-64): in text neither is common, in binary bodies the pair is a
// 1-in-65536 event, so the search runs at memory speed without the restarts a memchr for one
// byte needs every ~256 bytes of binary. Candidates are confirmed with a full compare.
const char* find_separator_from(const char* p, std::size_t n, std::size_t i) noexcept;

// Whether the 14 bytes at q are the separator: two overlapping words compared (a memcmp call
// per record otherwise).
inline bool is_separator_at(const char* q) noexcept {
  std::uint64_t want_lo, want_hi, lo, hi;
  std::memcpy(&want_lo, gor_separator.data(), 8);
  std::memcpy(&want_hi, gor_separator.data() + sep_len - 8, 8);
  std::memcpy(&lo, q, 8);
  std::memcpy(&hi, q + sep_len - 8, 8);
  return ((lo ^ want_lo) | (hi ^ want_hi)) == 0;
}

// The first of the candidate starts i + (each set bit of mask) that is a whole separator.
inline const char* first_confirmed(const char* p, std::size_t i, unsigned mask) noexcept {
  for (; mask; mask &= mask - 1) {
    const std::size_t at = i + static_cast<std::size_t>(__builtin_ctz(mask));
    if (is_separator_at(p + at)) return p + at;
  }
  return nullptr;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
// The same test 32 positions at a time, where the CPU has AVX2 (checked once at run time).
__attribute__((target("avx2"))) const char* find_separator_avx2(const char* p, std::size_t n) noexcept {
  if (n < sep_len) return nullptr;
  const std::size_t last = n - sep_len;
  std::size_t i = 0;
  const __m256i second = _mm256_set1_epi8(static_cast<char>(0xF0));
  const __m256i thirteenth = _mm256_set1_epi8(static_cast<char>(0x89));
#define COREPLAY_SEPARATOR_PAIRS(at)                                                                      \
  _mm256_and_si256(                                                                                       \
      _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + (at) + 1)), second),      \
      _mm256_cmpeq_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + (at) + 12)), thirteenth))
  // 64 positions per step, one test for both halves: candidates are rare.
  for (; i + 63 <= last; i += 64) {
    __m256i lo = COREPLAY_SEPARATOR_PAIRS(i), hi = COREPLAY_SEPARATOR_PAIRS(i + 32);
    if (_mm256_testz_si256(_mm256_or_si256(lo, hi), _mm256_or_si256(lo, hi))) continue;
    if (const char* found = first_confirmed(p, i, static_cast<unsigned>(_mm256_movemask_epi8(lo)))) return found;
    if (const char* found = first_confirmed(p, i + 32, static_cast<unsigned>(_mm256_movemask_epi8(hi)))) return found;
  }
  for (; i + 31 <= last; i += 32)
    if (const char* found = first_confirmed(p, i, static_cast<unsigned>(_mm256_movemask_epi8(COREPLAY_SEPARATOR_PAIRS(i)))))
      return found;
#undef COREPLAY_SEPARATOR_PAIRS
  return find_separator_from(p, n, i);
}
const bool have_avx2 = [] {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}();
#define COREPLAY_SEPARATOR_AVX2 1
#endif

// The last separator start in [0, n - sep_len], searched from the end: a block's last record
// ends a few hundred bytes before its end, so this reads little.
const char* find_last_separator(const char* p, std::size_t n) noexcept {
  if (n < sep_len) return nullptr;
  std::size_t hi = n - sep_len + 1;  // starts below hi are left to search
#if defined(__SSE2__)
  const __m128i second = _mm_set1_epi8(static_cast<char>(0xF0));
  const __m128i thirteenth = _mm_set1_epi8(static_cast<char>(0x89));
  for (; hi >= 16; hi -= 16) {
    const std::size_t i = hi - 16;  // starts i .. i + 15; the loads end at p + i + 28 < p + n
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 12));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, second), _mm_cmpeq_epi8(b, thirteenth))));
    while (mask) {
      const unsigned bit = 31u - static_cast<unsigned>(__builtin_clz(mask));
      if (is_separator_at(p + i + bit)) return p + i + bit;
      mask &= ~(1u << bit);
    }
  }
#endif
  while (hi-- > 0)
    if (p[hi] == '\n' && std::memcmp(p + hi, gor_separator.data(), sep_len) == 0) return p + hi;
  return nullptr;
}

const char* find_separator(const char* p, std::size_t n) noexcept {
#ifdef COREPLAY_SEPARATOR_AVX2
  if (have_avx2) return find_separator_avx2(p, n);
#endif
  return find_separator_from(p, n, 0);
}

// From position i on (the positions before it hold no separator start).
const char* find_separator_from(const char* p, std::size_t n, std::size_t i) noexcept {
  if (n < sep_len) return nullptr;
  const std::size_t last = n - sep_len;  // the last possible start
#if defined(__SSE2__)
  const __m128i second = _mm_set1_epi8(static_cast<char>(0xF0));
  const __m128i thirteenth = _mm_set1_epi8(static_cast<char>(0x89));
  for (; i + 15 <= last; i += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 1));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i + 12));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, second), _mm_cmpeq_epi8(b, thirteenth))));
    if (const char* found = first_confirmed(p, i, mask)) return found;
  }
#endif
  for (; i <= last; ++i)
    if (p[i] == '\n' && std::memcmp(p + i, gor_separator.data(), sep_len) == 0) return p + i;
  return nullptr;
}

}  // namespace

std::string_view to_string(gor_record_skip::reason r) noexcept {
  switch (r) {
    case gor_record_skip::reason::malformed_meta: return "malformed meta line";
    case gor_record_skip::reason::oversized: return "record larger than the maximum size";
  }
  return "?";
}

gor_record_reader::gor_record_reader(std::size_t max_record_bytes, skip_handler on_skip,
                                     std::size_t spare_blocks)
    : max_(max_record_bytes), max_spare_(spare_blocks), on_skip_(std::move(on_skip)) {}

void gor_record_reader::reset() {
  begin_ = end_ = scan_ = 0;
  base_ = 0;
  discarding_ = false;
  finished_ = false;
  last_offset_ = 0;
}

void gor_record_reader::move_to_block(std::size_t capacity) {
  block next;
  for (auto it = spare_.begin(); it != spare_.end(); ++it) {
    if (it->size >= capacity && it->data.use_count() == 1) {
      // The last message using it released it, maybe on another thread.
      std::atomic_thread_fence(std::memory_order_acquire);
      next = std::move(*it);
      spare_.erase(it);
      break;
    }
  }
  if (!next.data) next = block{std::shared_ptr<char[]>(new char[capacity]), capacity};
  const std::size_t len = end_ - begin_;  // <= capacity (the callers make sure)
  std::size_t lead = lead_for(next.data.get(), len);
  if (lead + len > next.size) lead = 0;
  if (len) std::memcpy(next.data.get() + lead, buf_.data.get() + begin_, len);
  if (buf_.data) {
    if (spare_.size() < max_spare_) spare_.push_back(std::move(buf_));
  }
  buf_ = std::move(next);
  rebase(lead);
}

// The bytes not yet returned are placed so that the next read into the block starts on a
// 64-byte boundary: the kernel's copy from the page cache into a destination 1-31 bytes past
// a page boundary ran 4x slower on this project's machines (rep movsb; 2.4 % of the reads
// landed there, ~7 % of the copy time).
std::size_t gor_record_reader::lead_for(const char* block, std::size_t len) noexcept {
  return (align - ((reinterpret_cast<std::uintptr_t>(block) + len) & (align - 1))) & (align - 1);
}

// The unreturned bytes now start at `lead` in buf_.
void gor_record_reader::rebase(std::size_t lead) noexcept {
  base_ += begin_ - lead;  // modulo 2^64 like every offset: base_ + index stays right
  scan_ = scan_ > begin_ ? scan_ - begin_ + lead : lead;
  end_ = end_ - begin_ + lead;
  begin_ = lead;
}

void gor_record_reader::compact() {
  const std::size_t len = end_ - begin_;
  const std::size_t lead = lead_for(buf_.data.get(), len);
  if (begin_ == lead) return;
  if (buf_.data.use_count() > 1 || lead + len > buf_.size) {
    move_to_block(buf_.size);  // messages still point into this block: leave it to them
    return;
  }
  // The last message using it may have been released on another thread (a reader thread's
  // blocks): its reads come before our writes.
  std::atomic_thread_fence(std::memory_order_acquire);
  std::memmove(buf_.data.get() + lead, buf_.data.get() + begin_, len);
  rebase(lead);
}

std::span<char> gor_record_reader::prepare(std::size_t n) {
  if (buf_.size - end_ < n) {
    compact();
    if (buf_.size - end_ < n) move_to_block(std::max(end_ - begin_ + n + align, buf_.size * 2));
  }
  return {buf_.data.get() + end_, n};
}

void gor_record_reader::commit(std::size_t n) { end_ += std::min(n, buf_.size - end_); }

void gor_record_reader::feed(std::string_view bytes) {
  auto span = prepare(bytes.size());
  std::memcpy(span.data(), bytes.data(), bytes.size());
  commit(bytes.size());
}

void gor_record_reader::finish() { finished_ = true; }

void gor_record_reader::skip(gor_record_skip::reason why, std::uint64_t offset, std::uint64_t size) {
  (why == gor_record_skip::reason::oversized ? oversized_ : malformed_)++;
  if (on_skip_) on_skip_(gor_record_skip{why, offset, size});
}

void gor_record_reader::take(std::size_t len, std::size_t skip_after, gor_record_span& out) {
  out.offset = base_ + begin_;
  out.bytes = std::string_view(buf_.data.get() + begin_, len);
  begin_ += len + skip_after;
  scan_ = begin_;
}

message_ptr gor_record_reader::next() {
  gor_record_view v;
  if (!next_view(v)) return nullptr;
  return message::parse_view(buf_.data, v.bytes, v.meta);
}

bool gor_record_reader::next_view(gor_record_view& out) {
  gor_record_span s;
  while (next_span(s)) {
    if (message::parse_meta(s.bytes, out.meta)) {
      out.offset = last_offset_ = s.offset;
      out.bytes = s.bytes;
      return true;
    }
    skip(gor_record_skip::reason::malformed_meta, s.offset, s.bytes.size());
  }
  return false;
}

bool gor_record_reader::next_region(gor_record_span& out) {
  if (discarding_ || finished_) return false;
  const char* data = buf_.data.get();
  // Nothing before scan_ starts a separator (an earlier search covered it).
  const std::size_t from = std::max(scan_, begin_);
  const char* hit = find_last_separator(data + from, end_ - from);
  if (!hit) return false;
  const std::size_t stop = static_cast<std::size_t>(hit - data) + sep_len;
  out.offset = base_ + begin_;
  out.bytes = std::string_view(data + begin_, stop - begin_);
  begin_ = scan_ = stop;
  return true;
}

void gor_region_splitter::reset(gor_record_span region, std::size_t max_record_bytes) noexcept {
  pos_ = region.bytes.data();
  end_ = pos_ + region.bytes.size();
  offset_ = region.offset - reinterpret_cast<std::uintptr_t>(pos_);
  max_ = max_record_bytes;
}

gor_region_splitter::step gor_region_splitter::next(gor_record_span& out, gor_record_skip& skip) noexcept {
  if (pos_ == end_) return step::done;
  const char* p = pos_;
  const auto avail = static_cast<std::size_t>(end_ - p);
  const std::uint64_t at = offset_ + reinterpret_cast<std::uintptr_t>(p);
  // As next_span: a record whose first line is the separator line is an empty (malformed) one.
  if (avail >= line_len && std::memcmp(p, gor_separator_line.data(), line_len) == 0) {
    skip = {gor_record_skip::reason::malformed_meta, at, 0};
    pos_ += line_len;
    return step::skip;
  }
  const char* hit = find_separator(p, avail);
  if (!hit) [[unlikely]] {  // not a region next_region() made: it ends with a separator
    skip = {gor_record_skip::reason::malformed_meta, at, avail};
    pos_ = end_;
    return step::skip;
  }
  const auto len = static_cast<std::size_t>(hit - p);
  pos_ = hit + sep_len;
  if (len > max_) {
    skip = {gor_record_skip::reason::oversized, at, len};
    return step::skip;
  }
  out.offset = at;
  out.bytes = std::string_view(p, len);
  return step::record;
}

bool gor_record_reader::next_span(gor_record_span& out) {
  for (;;) {
    const char* data = buf_.data.get();
    if (discarding_) {
      scan_ = std::max(scan_, begin_);
      if (auto* hit = find_separator(data + scan_, end_ - scan_)) {
        auto p = static_cast<std::size_t>(hit - data);
        skip(gor_record_skip::reason::oversized, discard_offset_, base_ + p - discard_offset_);
        begin_ = scan_ = p + sep_len;
        discarding_ = false;
        continue;
      }
      if (finished_) {
        skip(gor_record_skip::reason::oversized, discard_offset_, base_ + end_ - discard_offset_);
        begin_ = scan_ = end_;
        discarding_ = false;
        return false;
      }
      // Keep only what could be the start of the separator.
      begin_ = scan_ = end_ - std::min(end_ - begin_, sep_len - 1);
      return false;
    }

    std::size_t avail = end_ - begin_;
    if (avail == 0) return false;

    // A record whose first line is the separator line: gor sees an empty record (malformed).
    if (avail >= line_len && std::memcmp(data + begin_, gor_separator_line.data(), line_len) == 0) {
      skip(gor_record_skip::reason::malformed_meta, base_ + begin_, 0);
      begin_ = scan_ = begin_ + line_len;
      continue;
    }

    scan_ = std::max(scan_, begin_);
    if (auto* hit = find_separator(data + scan_, end_ - scan_)) {
      auto len = static_cast<std::size_t>(hit - data) - begin_;
      if (len > max_) {
        skip(gor_record_skip::reason::oversized, base_ + begin_, len);
        begin_ = scan_ = begin_ + len + sep_len;
        continue;
      }
      take(len, sep_len, out);
      return true;
    }

    if (finished_) {
      // A final record without its separator: keep it, minus a partial separator at its end
      // (a truncated write). A lone trailing '\n' stays: it is as likely the payload's own.
      std::size_t len = avail;
      for (std::size_t k = sep_len - 1; k >= 2; --k) {
        if (len >= k && std::memcmp(data + end_ - k, gor_separator.data(), k) == 0) {
          len -= k;
          break;
        }
      }
      if (len > max_) {
        skip(gor_record_skip::reason::oversized, base_ + begin_, len);
        begin_ = scan_ = end_;
        return false;
      }
      if (len == 0) {
        begin_ = scan_ = end_;
        return false;
      }
      take(len, avail - len, out);
      return true;
    }

    // The separator may start in the last sep_len - 1 bytes: resume the search there.
    scan_ = std::max(begin_, end_ - std::min(avail, sep_len - 1));
    if (avail > max_ + sep_len - 1) {
      discarding_ = true;
      discard_offset_ = base_ + begin_;
      begin_ = scan_;
    }
    return false;
  }
}

}  // namespace coreplay
