#include <coreplay/message.hpp>

#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <new>
#include <random>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace coreplay {

namespace {


// Freed message objects (parse, parse_view: one size), kept per thread for the next message:
// a file replay makes and frees millions of them in batches of a queue's length, far more than
// malloc's per-thread cache holds, so without this each one takes malloc's slower paths.
// Bounded: past `max_kept` blocks go back to the heap. A block freed on another thread joins
// that thread's list. The list is trivially destructible TLS (no guard per access); a separate
// object frees it when the thread exits.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COREPLAY_NO_MESSAGE_POOL 1  // let ASan see every message's lifetime
#endif
#endif

template <std::size_t Size>
class block_pool {
 public:
  static void* get() {
#ifdef COREPLAY_NO_MESSAGE_POOL
    return ::operator new(Size);
#endif
    auto& s = state_;
    if (s.head) {
      node* n = s.head;
      s.head = n->next;
      --s.count;
      // The next get() reads the next block's link: a whole queue of blocks was freed since it
      // was written, so it has left L1, and the pop would wait for it.
      __builtin_prefetch(s.head);
      return n;
    }
    register_cleanup();
    return ::operator new(Size);
  }
  static void put(void* p) noexcept {
#ifdef COREPLAY_NO_MESSAGE_POOL
    ::operator delete(p);
    return;
#endif
    auto& s = state_;
    if (s.dead || s.count >= max_kept) {
      ::operator delete(p);
      return;
    }
    if (!s.head) register_cleanup();
    auto* n = static_cast<node*>(p);
    n->next = s.head;
    s.head = n;
    ++s.count;
  }

 private:
  // About a queue's worth of small blocks; at most ~1 MiB of each larger size class.
  static constexpr std::size_t max_kept = Size <= 512 ? 4096 : (std::size_t{1} << 20) / Size;
  struct node {
    node* next;
  };
  struct state {
    node* head;
    std::size_t count;
    bool dead;
  };
  struct cleanup {
    ~cleanup() {
      auto& s = state_;
      while (s.head) {
        node* n = s.head;
        s.head = n->next;
        ::operator delete(n);
      }
      s.count = 0;
      s.dead = true;  // blocks freed later on this thread go straight to the heap
    }
  };
  static void register_cleanup() noexcept {
    thread_local cleanup c;
    (void)c;
  }
  static thread_local state state_;
};

template <std::size_t Size>
thread_local typename block_pool<Size>::state block_pool<Size>::state_{};

// allocate_shared's allocator for messages of the fixed size.
template <class T>
struct pooled_allocator {
  using value_type = T;
  pooled_allocator() noexcept = default;
  template <class U>
  pooled_allocator(const pooled_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(block_pool<sizeof(T)>::get());
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n != 1) {
      ::operator delete(static_cast<void*>(p));
      return;
    }
    block_pool<sizeof(T)>::put(p);
  }
  template <class U>
  bool operator==(const pooled_allocator<U>&) const noexcept { return true; }
};

// make(): a message and its record in one block, from a per-thread pool by size class (a
// capture hands thousands of messages to the pipeline per batch; malloc's per-thread cache
// holds a handful per size, so without the pool most take malloc's slower paths both ways).
constexpr std::size_t largest_pooled = 4096;

void* get_block(std::size_t bytes) {
  if (bytes <= 256) return block_pool<256>::get();
  if (bytes <= 512) return block_pool<512>::get();
  if (bytes <= 1024) return block_pool<1024>::get();
  if (bytes <= 2048) return block_pool<2048>::get();
  if (bytes <= largest_pooled) return block_pool<4096>::get();
  return ::operator new(bytes);
}

void put_block(void* p, std::size_t bytes) noexcept {
  if (bytes <= 256) return block_pool<256>::put(p);
  if (bytes <= 512) return block_pool<512>::put(p);
  if (bytes <= 1024) return block_pool<1024>::put(p);
  if (bytes <= 2048) return block_pool<2048>::put(p);
  if (bytes <= largest_pooled) return block_pool<4096>::put(p);
  ::operator delete(p);
}

// Allocates the shared_ptr's block with `extra` bytes after it and reports where they start.
// allocate_shared allocates before it constructs, so the constructor sees the address.
template <class T>
struct tail_allocator {
  using value_type = T;
  char** tail;
  std::size_t extra;

  tail_allocator(char** t, std::size_t e) noexcept : tail(t), extra(e) {}
  template <class U>
  tail_allocator(const tail_allocator<U>& o) noexcept : tail(o.tail), extra(o.extra) {}

  T* allocate(std::size_t n) {
    char* p = static_cast<char*>(get_block(n * sizeof(T) + extra));
    *tail = p + n * sizeof(T);
    return reinterpret_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept { put_block(p, n * sizeof(T) + extra); }
  template <class U>
  bool operator==(const tail_allocator<U>& o) const noexcept { return tail == o.tail; }
};

}  // namespace

message::message(private_tag, std::string bytes) : bytes_(std::move(bytes)) {
  data_ = bytes_.data();
  size_ = bytes_.size();
  if (size_) type_ = static_cast<message_type>(data_[0]);
}

// make() writes the bytes after construction, and sets type_ itself.
message::message(private_tag, char* const& storage, std::size_t size) noexcept : data_(storage), size_(size) {}

message::message(private_tag, std::shared_ptr<const void> owner, std::string_view record) noexcept
    : data_(record.data()), size_(record.size()), owner_(std::move(owner)) {
  if (size_) type_ = static_cast<message_type>(data_[0]);
}

message::message(private_tag, const std::shared_ptr<char[]>& block, std::string_view record,
                 const message_meta& meta) noexcept
    : data_(record.data()),
      size_(record.size()),
      meta_len_(meta.meta_len),
      payload_off_(meta.payload_off),
      id_off_(meta.id_off),
      id_len_(meta.id_len),
      timestamp_ns_(meta.timestamp_ns),
      type_(meta.type),
      latency_ns_(meta.latency_ns),
      owner_(block) {}

message::message(const message& other)
    : meta_len_(other.meta_len_),
      payload_off_(other.payload_off_),
      id_off_(other.id_off_),
      id_len_(other.id_len_),
      timestamp_ns_(other.timestamp_ns_),
      type_(other.type_),
      latency_ns_(other.latency_ns_),
      bytes_(other.record()) {
  data_ = bytes_.data();
  size_ = bytes_.size();
}

message& message::operator=(const message& other) {
  if (this != &other) {
    bytes_.assign(other.record());
    owner_.reset();
    data_ = bytes_.data();
    size_ = bytes_.size();
    meta_len_ = other.meta_len_;
    payload_off_ = other.payload_off_;
    id_off_ = other.id_off_;
    id_len_ = other.id_len_;
    timestamp_ns_ = other.timestamp_ns_;
    type_ = other.type_;
    latency_ns_ = other.latency_ns_;
  }
  return *this;
}

namespace {

// The first ' ' or '\n' in [p, end), or end. Ids are 24 characters: 16 at a time.
const char* find_space_or_newline(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(' ');
  const __m128i newline = _mm_set1_epi8('\n');
  for (; end - p >= 16; p += 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, newline))));
    if (mask) return p + __builtin_ctz(mask);
  }
#endif
  for (; p != end; ++p)
    if (*p == ' ' || *p == '\n') return p;
  return end;
}

// Eight ASCII digits to their value, in a few multiplications (SWAR; little-endian).
inline std::uint64_t parse_eight_digits(const char* s) noexcept {
  std::uint64_t x;
  std::memcpy(&x, s, 8);
  x -= 0x3030303030303030ULL;
  x = x * 10 + (x >> 8);
  return (((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
          (((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
}

#if defined(__SSE2__)
// Where `at`'s 16 bytes hold a ' ' or a '\n' (meta fields end at either), one bit per byte.
[[gnu::always_inline]] inline unsigned separators_at(const char* at) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')))));
}

// Whether the 24 bytes at p (an id of gor's length) hold no ' ' or '\n': two overlapping loads.
[[gnu::always_inline]] inline bool is_one_field_24(const char* p) noexcept {
  return (separators_at(p) | separators_at(p + 8)) == 0;
}

// The 19 ASCII digits at s (a timestamp in ns, 2001-2286) as a number: false when one is not a
// digit or the value passes INT64_MAX. The first 16 are checked and summed in vector lanes
// (pairs, then fours), the last 3 one by one.
[[gnu::always_inline]] inline bool parse_19_digits(const char* s, std::uint64_t& out) noexcept {
  const __m128i d = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), _mm_set1_epi8('0'));
  if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d)) != 0xFFFF) return false;
  const unsigned d16 = static_cast<unsigned char>(s[16] - '0'), d17 = static_cast<unsigned char>(s[17] - '0'),
                 d18 = static_cast<unsigned char>(s[18] - '0');
  if (d16 > 9 || d17 > 9 || d18 > 9) return false;
  const __m128i zero = _mm_setzero_si128(), tens = _mm_set1_epi32(0x0001000A);  // (10, 1) per pair
  const __m128i pairs = _mm_packs_epi32(_mm_madd_epi16(_mm_unpacklo_epi8(d, zero), tens),
                                        _mm_madd_epi16(_mm_unpackhi_epi8(d, zero), tens));
  const __m128i fours = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00010064));  // (100, 1) per pair of pairs
  const auto f0 = static_cast<std::uint64_t>(_mm_cvtsi128_si32(fours));
  const auto f1 = static_cast<std::uint64_t>(_mm_cvtsi128_si32(_mm_shuffle_epi32(fours, 1)));
  const auto f2 = static_cast<std::uint64_t>(_mm_cvtsi128_si32(_mm_shuffle_epi32(fours, 2)));
  const auto f3 = static_cast<std::uint64_t>(_mm_cvtsi128_si32(_mm_shuffle_epi32(fours, 3)));
  out = ((f0 * 10000 + f1) * 100000000 + f2 * 10000 + f3) * 1000 + d16 * 100 + d17 * 10 + d18;
  return out <= static_cast<std::uint64_t>(INT64_MAX);
}
#endif

// One meta field as an integer, exactly as from_chars over the whole field: the field runs
// from p to the next ' ', '\n' or end. Returns false when it is not one integer; `p` is left
// at the field's end only on success. Timestamps have 19 digits: they are measured with one
// vector compare and summed eight digits at a time.
[[gnu::always_inline]] inline bool parse_field_int(const char*& p, const char* end, std::int64_t& out) noexcept {
  const char* q = p;
  const bool negative = q != end && *q == '-';
  if (negative) ++q;
  const char* const digits = q;
#if defined(__SSE2__)
  if (end - q >= 32) {
    const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
    auto digit_mask = [&](const char* at) {
      __m128i t = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at)), zero);
      return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(t, nine), t)));
    };
    const unsigned mask = digit_mask(q) | (digit_mask(q + 16) << 16);
    q += mask == 0xFFFFFFFFu ? 32 : __builtin_ctz(~mask);
    if (mask == 0xFFFFFFFFu)
      while (q != end && static_cast<unsigned char>(*q - '0') < 10) ++q;
  } else
#endif
  {
    while (q != end && static_cast<unsigned char>(*q - '0') < 10) ++q;
  }
  const auto len = static_cast<std::size_t>(q - digits);
  if (len == 0 || (q != end && *q != ' ' && *q != '\n')) return false;
  if (len > 19) {  // beyond any 64-bit value unless zero-padded: let from_chars decide
    auto [e, ec] = std::from_chars(p, q, out);
    if (ec != std::errc{} || e != q) return false;
    p = q;
    return true;
  }
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (; i + 8 <= len; i += 8) v = v * 100000000 + parse_eight_digits(digits + i);
  for (; i < len; ++i) v = v * 10 + static_cast<unsigned>(digits[i] - '0');
  // 19 digits fit in 64 unsigned bits; the signed range ends at 2^63 - 1 (2^63 when negative).
  if (v > static_cast<std::uint64_t>(INT64_MAX) + (negative ? 1 : 0)) return false;
  out = negative ? static_cast<std::int64_t>(std::uint64_t{0} - v) : static_cast<std::int64_t>(v);
  p = q;
  return true;
}

}  // namespace

// One pass over the meta line, which gor splits on single spaces:
// type, id, timestamp, [latency], [extra...].
namespace {

// The usual meta line, "T <id> <19-digit ts> <latency of 1-8 digits or -1>\n", within the
// record's first 64 bytes: every ' ' and '\n' there found with four vector compares, the fields
// read between them. False when the line is shaped otherwise (the general parser decides then).
#if defined(__SSE2__)
// A latency field of lat_len characters ending at b + lat_end: "-1" or at most 8 digits.
[[gnu::always_inline]] inline bool parse_latency_field(const char* b, unsigned lat_end, unsigned lat_len,
                                                       std::int64_t& latency) noexcept {
  const char* lat = b + lat_end - lat_len;
  if (lat_len == 2 && lat[0] == '-' && lat[1] == '1') {
    latency = -1;
    return true;
  }
  if (lat_len == 0 || lat_len > 8 || lat_end < 8) return false;
  // The field's digits at the top of eight bytes, '0's below them.
  std::uint64_t x;
  std::memcpy(&x, b + lat_end - 8, 8);
  const unsigned pad = 8 * (8 - lat_len);
  if (pad) x = (x >> pad << pad) | (0x3030303030303030ULL >> (64 - pad));
  if ((x & 0xF0F0F0F0F0F0F0F0ULL) != 0x3030303030303030ULL ||
      (((x & 0x0F0F0F0F0F0F0F0FULL) + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) != 0)
    return false;
  latency = static_cast<std::int64_t>(parse_eight_digits(reinterpret_cast<const char*>(&x)));
  return true;
}

// gor's own layout, which nearly every file has: "T " + a 24-character id + ' ' + 19 digits
// + ' ' + the latency + '\n'. The separators are checked where they must be instead of
// searched for. False: some other shape (parse_meta_usual, then the general parser, decide).
[[gnu::always_inline]] inline bool parse_meta_fixed(const char* b, std::size_t size, message_meta& out) noexcept {
  if (size < 64 || b[1] != ' ' || b[26] != ' ' || b[46] != ' ' || b[0] == ' ' || b[0] == '\n') return false;
  if (!is_one_field_24(b + 2)) return false;
  std::uint64_t t;
  if (!parse_19_digits(b + 27, t)) return false;
  // The latency ends at the first separator after byte 46, which must be the line's end.
  const unsigned after = separators_at(b + 47);
  if (!after) return false;
  const unsigned lat_end = 47 + static_cast<unsigned>(__builtin_ctz(after));
  if (b[lat_end] != '\n') return false;  // extra fields: the other parsers
  std::int64_t latency;
  if (!parse_latency_field(b, lat_end, lat_end - 47, latency)) return false;
  out.timestamp_ns = static_cast<std::int64_t>(t);
  out.latency_ns = latency;
  out.meta_len = lat_end;
  out.payload_off = lat_end + 1;
  out.id_off = 2;
  out.id_len = 24;
  out.type = static_cast<message_type>(b[0]);
  return true;
}

[[gnu::always_inline]] inline bool parse_meta_usual(const char* b, std::size_t size, message_meta& out) noexcept {
  if (size < 64) return false;
  const __m128i space = _mm_set1_epi8(' '), newline = _mm_set1_epi8('\n');
  std::uint64_t spaces = 0, newlines = 0;
  for (int k = 0; k < 4; ++k) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16 * k));
    spaces |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)))) << (16 * k);
    newlines |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline))))
                << (16 * k);
  }
  std::uint64_t seps = spaces | newlines;
  // "T ": the type is one character, then a space.
  if ((seps & 3) != 2 || !(spaces & 2)) return false;
  seps &= ~std::uint64_t{3};
  if (!seps) return false;
  const unsigned id_end = static_cast<unsigned>(__builtin_ctzll(seps));
  if (id_end == 2 || !(spaces >> id_end & 1)) return false;  // an empty id, or the line ends in it
  seps &= seps - 1;
  if (!seps) return false;
  const unsigned ts_end = static_cast<unsigned>(__builtin_ctzll(seps));
  if (ts_end != id_end + 20 || !(spaces >> ts_end & 1)) return false;  // not 19 digits then a latency
  std::uint64_t t;
  if (!parse_19_digits(b + id_end + 1, t)) return false;
  seps &= seps - 1;
  if (!seps) return false;
  const unsigned lat_end = static_cast<unsigned>(__builtin_ctzll(seps));
  if (!(newlines >> lat_end & 1)) return false;  // extra fields: the general parser
  const unsigned lat_len = lat_end - ts_end - 1;
  std::int64_t latency;
  if (!parse_latency_field(b, lat_end, lat_len, latency)) return false;
  out.timestamp_ns = static_cast<std::int64_t>(t);
  out.latency_ns = latency;
  out.meta_len = lat_end;
  out.payload_off = lat_end + 1;
  out.id_off = 2;
  out.id_len = id_end - 2;
  out.type = static_cast<message_type>(b[0]);
  return true;
}
#endif

}  // namespace

namespace {
[[gnu::noinline]] bool parse_meta_general(std::string_view record, message_meta& out) noexcept;
}  // namespace

bool message::parse_meta(std::string_view record, message_meta& out) noexcept {
#if defined(__SSE2__)
  if (parse_meta_fixed(record.data(), record.size(), out) || parse_meta_usual(record.data(), record.size(), out))
    return true;
#endif
  return parse_meta_general(record, out);
}

namespace {

// Any meta line, field by field.
bool parse_meta_general(std::string_view record, message_meta& out) noexcept {
  const std::size_t size = record.size();
  if (size > UINT32_MAX || size < 2) return false;
  const char* const begin = record.data();
  const char* const end = begin + size;
  // The type: one character (not a separator) and a space.
  if (begin[0] == ' ' || begin[0] == '\n' || begin[1] != ' ') return false;
  const char* id = begin + 2;
  const char* id_end = find_space_or_newline(id, end);
  if (id_end == id || id_end == end || *id_end == '\n') return false;
  const char* p = id_end + 1;
  std::int64_t ts;
  // The usual timestamp, 19 digits (2001-2286 in ns), in three multiplications; else the
  // general field parser.
#if defined(__SSE2__)
  std::uint64_t v;
  if (end - p >= 20 && p[19] == ' ' && parse_19_digits(p, v)) {
    ts = static_cast<std::int64_t>(v);
    p += 19;
  } else
#endif
  if (!parse_field_int(p, end, ts)) {
    return false;
  }
  out.latency_ns.reset();
  if (p != end && *p == ' ') {
    const char* q = p + 1;
    std::int64_t l;
    if (end - q >= 3 && q[0] == '-' && q[1] == '1' && (q[2] == '\n' || q[2] == ' ')) {
      out.latency_ns = -1;  // gor's "no latency", on every request
      q += 2;
    } else if (parse_field_int(q, end, l)) {
      out.latency_ns = l;
    }
    p = q;
  }
  // The rest of the meta line (extra fields) up to its '\n'.
  if (p != end && *p != '\n') {
    auto* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    p = nl ? nl : end;
  }
  out.meta_len = static_cast<std::uint32_t>(p - begin);
  out.payload_off = static_cast<std::uint32_t>(p == end ? size : out.meta_len + 1);
  out.id_off = 2;
  out.id_len = static_cast<std::uint32_t>(id_end - id);
  out.timestamp_ns = ts;
  out.type = static_cast<message_type>(begin[0]);
  return true;
}

}  // namespace

bool message::index() {
  message_meta mm;
  if (!parse_meta(record(), mm)) return false;
  apply(mm);
  return true;
}

void message::apply(const message_meta& mm) noexcept {
  meta_len_ = mm.meta_len;
  payload_off_ = mm.payload_off;
  id_off_ = mm.id_off;
  id_len_ = mm.id_len;
  timestamp_ns_ = mm.timestamp_ns;
  if (mm.latency_ns) latency_ns_ = mm.latency_ns;
}

message_ptr message::parse(std::string record) {
  auto m = std::allocate_shared<message>(pooled_allocator<message>{}, private_tag{}, std::move(record));
  if (!m->index()) return nullptr;
  return m;
}

message_ptr message::parse_view(std::shared_ptr<const void> owner, std::string_view record) {
  auto m = std::allocate_shared<message>(pooled_allocator<message>{}, private_tag{}, std::move(owner), record);
  if (!m->index()) return nullptr;
  return m;
}

message_ptr message::parse_view(const std::shared_ptr<char[]>& block, std::string_view record,
                                 const message_meta& meta) {
  return std::allocate_shared<message>(pooled_allocator<message>{}, private_tag{}, block, record, meta);
}

namespace {

// Decimal digits of `value` into out; returns the end. Timestamps have 19 digits: they are
// cut into 8-digit parts, each converted in one register (std::to_chars divides by 100 one
// step after the other, a third of make()'s time). May write up to 8 bytes past the end.
[[gnu::always_inline]] inline std::uint64_t digits8(std::uint32_t v) noexcept {  // exactly 8 digits of v < 10^8, first in the lowest byte
  // Lanes: two 4-digit halves (32 bits each), then four 2-digit (16 bits), then eight digits.
  // n / 100 == n * 5243 >> 19 for n < 10^4, and n / 10 == n * 103 >> 10 for n < 100.
  std::uint64_t z = (v / 10000) | (std::uint64_t(v % 10000) << 32);
  std::uint64_t q = ((z * 5243) >> 19) & 0x0000007F0000007Full;
  z = q | ((z - q * 100) << 16);
  q = ((z * 103) >> 10) & 0x000F000F000F000Full;
  z = q | ((z - q * 10) << 8);
  return z | 0x3030303030303030ull;
}

[[gnu::always_inline]] inline char* put8(char* out, std::uint32_t v) noexcept {
  const std::uint64_t z = digits8(v);
  std::memcpy(out, &z, 8);
  return out + 8;
}

[[gnu::always_inline]] inline char* put_short(char* out, std::uint32_t v) noexcept {  // v < 10^8, no leading zeros
  if (v == 0) {
    *out = '0';
    return out + 1;
  }
  std::uint64_t z = digits8(v);
  const int lead = __builtin_ctzll(z ^ 0x3030303030303030ull) >> 3;  // '0' bytes before the first digit
  z >>= lead * 8;
  std::memcpy(out, &z, 8);
  return out + (8 - lead);
}

[[gnu::always_inline]] inline char* put_decimal(char* out, std::int64_t value) noexcept {
  if (value < 0) {
    if (value == -1) {  // gor's "no latency"
      std::memcpy(out, "-1", 2);
      return out + 2;
    }
    return std::to_chars(out, out + 24, value).ptr;
  }
  const auto v = static_cast<std::uint64_t>(value);
  if (v < 100'000'000) return put_short(out, static_cast<std::uint32_t>(v));
  const std::uint64_t high = v / 100'000'000;
  const auto low = static_cast<std::uint32_t>(v % 100'000'000);
  // Timestamps of messages made one after another share their digits above the last eight
  // (they change every 0.1 s): those are kept from the previous call.
  struct high_digits {
    std::uint64_t value = ~std::uint64_t{0};
    char text[16];
    std::size_t size = 0;
  };
  thread_local high_digits last;
  if (high != last.value) {
    char* end = last.text;
    if (high < 100'000'000) {
      end = put_short(end, static_cast<std::uint32_t>(high));
    } else {
      end = put_short(end, static_cast<std::uint32_t>(high / 100'000'000));
      end = put8(end, static_cast<std::uint32_t>(high % 100'000'000));
    }
    last.value = high;
    last.size = static_cast<std::size_t>(end - last.text);
  }
  std::memcpy(out, last.text, 16);  // at most 11 digits; the rest is overwritten or slack
  return put8(out + last.size, low);
}

}  // namespace

message_ptr message::make(message_type type, std::string_view id, std::int64_t timestamp_ns,
                          std::optional<std::int64_t> latency_ns, std::string_view payload) {
  // Built straight into one buffer and indexed from what we wrote: this runs per captured
  // message, so no temporary strings and no re-parsing of the meta line.
  char numbers[64] = {};  // two numbers of at most 20 characters, put_decimal's 8 bytes of slack
  char* ts_end = put_decimal(numbers, timestamp_ns);
  char* lat_end = put_decimal(ts_end, latency_ns.value_or(-1));
  const std::size_t ts_len = static_cast<std::size_t>(ts_end - numbers);
  const std::size_t meta_len = 2 + id.size() + 1 + static_cast<std::size_t>(lat_end - numbers) + 1;
  const std::size_t size = meta_len + 1 + payload.size();
  // The numbers are copied 24 bytes at a time (two vector moves, not a call each); what lands
  // past a number is overwritten by what follows it, and `slack` keeps the last copy inside.
  constexpr std::size_t slack = 24;
  char* storage = nullptr;
  auto m = std::allocate_shared<message>(tail_allocator<message>{&storage, size + slack}, private_tag{}, storage, size);
  m->type_ = type;
  char* p = storage;
  *p++ = static_cast<char>(type);
  *p++ = ' ';
  if (id.size() == 24)  // every captured message's id: a fixed-size copy
    std::memcpy(p, id.data(), 24);
  else
    std::memcpy(p, id.data(), id.size());
  p += id.size();
  *p++ = ' ';
  std::memcpy(p, numbers, slack);
  p += ts_len;
  *p++ = ' ';
  std::memcpy(p, ts_end, slack);
  p += lat_end - ts_end;
  *p++ = '\n';
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  // Whether the id is one meta field, without an early exit: the compiler makes this a few
  // vector compares (find_first_of's byte loop was a third of this function).
  bool separator = false;
#if defined(__SSE2__)
  if (id.size() == 24)
    separator = !is_one_field_24(id.data());
  else
#endif
    for (char c : id) separator |= (c == ' ') | (c == '\n');
  if (size > UINT32_MAX || id.empty() || separator) {
    // An id that is not one meta field: index what was written, as parse() would.
    if (!m->index()) {
      // Still tell meta from payload at the first '\n', as a parse would have split it.
      auto nl = m->record().find('\n');
      m->meta_len_ = static_cast<std::uint32_t>(nl == std::string_view::npos ? size : nl);
      m->payload_off_ = static_cast<std::uint32_t>(nl == std::string_view::npos ? size : nl + 1);
    }
    if (!latency_ns) m->latency_ns_ = std::nullopt;
    return m;
  }
  m->meta_len_ = static_cast<std::uint32_t>(meta_len);
  m->payload_off_ = static_cast<std::uint32_t>(meta_len + 1);
  m->id_off_ = 2;
  m->id_len_ = static_cast<std::uint32_t>(id.size());
  m->timestamp_ns_ = timestamp_ns;
  m->latency_ns_ = latency_ns;
  return m;
}

message_ptr message::with_payload(std::string_view payload) const {
  std::string b;
  b.reserve(payload_off_ + payload.size());
  b.append(meta());
  b.push_back('\n');
  b.append(payload);
  auto m = std::make_shared<message>(private_tag{}, std::move(b));
  m->index();
  m->meta_len_ = meta_len_;  // also when the meta line does not parse (an odd made id)
  m->payload_off_ = meta_len_ + 1;
  m->latency_ns_ = latency_ns_;
  return m;
}

std::string make_message_id() {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<std::uint64_t>(std::random_device{}()) << 32)};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id(24, '0');
  std::uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) id[i] = hex[(a >> (i * 4)) & 0xf];
  for (int i = 0; i < 8; ++i) id[16 + i] = hex[(b >> (i * 4)) & 0xf];
  return id;
}

}  // namespace coreplay
