#include <coreplay/message.hpp>

#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <new>
#include <random>

namespace coreplay {

namespace {

std::optional<std::int64_t> parse_int(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Allocates the shared_ptr's block with `extra` bytes after it and reports where they start:
// a message built by make() and its record are one allocation. allocate_shared allocates
// before it constructs, so the constructor sees the address.
template <class T>
struct tail_allocator {
  using value_type = T;
  char** tail;
  std::size_t extra;

  tail_allocator(char** t, std::size_t e) noexcept : tail(t), extra(e) {}
  template <class U>
  tail_allocator(const tail_allocator<U>& o) noexcept : tail(o.tail), extra(o.extra) {}

  T* allocate(std::size_t n) {
    char* p = static_cast<char*>(::operator new(n * sizeof(T) + extra));
    *tail = p + n * sizeof(T);
    return reinterpret_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(static_cast<void*>(p)); }
  template <class U>
  bool operator==(const tail_allocator<U>& o) const noexcept { return tail == o.tail; }
};

}  // namespace

message::message(private_tag, std::string bytes)
    : bytes_(std::move(bytes)), data_(bytes_.data()), size_(bytes_.size()) {}

message::message(private_tag, char* const& storage, std::size_t size) noexcept : data_(storage), size_(size) {}

message::message(private_tag, std::shared_ptr<const void> owner, std::string_view record) noexcept
    : owner_(std::move(owner)), data_(record.data()), size_(record.size()) {}

message::message(const message& other)
    : bytes_(other.record()),
      data_(bytes_.data()),
      size_(bytes_.size()),
      meta_len_(other.meta_len_),
      payload_off_(other.payload_off_),
      id_off_(other.id_off_),
      id_len_(other.id_len_),
      timestamp_ns_(other.timestamp_ns_),
      latency_ns_(other.latency_ns_) {}

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
    latency_ns_ = other.latency_ns_;
  }
  return *this;
}

bool message::index() {
  if (size_ > UINT32_MAX) return false;
  std::string_view all = record();
  auto nl = all.find('\n');
  meta_len_ = static_cast<std::uint32_t>(nl == std::string_view::npos ? all.size() : nl);
  payload_off_ = static_cast<std::uint32_t>(nl == std::string_view::npos ? all.size() : nl + 1);
  std::string_view meta = all.substr(0, meta_len_);
  // gor splits on single spaces; fields are: type, id, timestamp, [latency], [extra...]
  std::string_view fields[4];
  std::size_t n = 0, pos = 0;
  while (n < 4) {
    auto sp = meta.find(' ', pos);
    fields[n++] = meta.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  if (n < 3 || fields[0].size() != 1 || fields[1].empty()) return false;
  auto ts = parse_int(fields[2]);
  if (!ts) return false;
  timestamp_ns_ = *ts;
  id_off_ = static_cast<std::uint32_t>(fields[1].data() - all.data());
  id_len_ = static_cast<std::uint32_t>(fields[1].size());
  if (n >= 4) latency_ns_ = parse_int(fields[3]);
  return true;
}

message_ptr message::parse(std::string record) {
  auto m = std::make_shared<message>(private_tag{}, std::move(record));
  if (!m->index()) return nullptr;
  return m;
}

message_ptr message::parse_view(std::shared_ptr<const void> owner, std::string_view record) {
  auto m = std::make_shared<message>(private_tag{}, std::move(owner), record);
  if (!m->index()) return nullptr;
  return m;
}

namespace {

// Decimal digits of `value` into out; returns the end. Timestamps have 19 digits: they are
// cut into 8-digit parts, each converted in one register (std::to_chars divides by 100 one
// step after the other, a third of make()'s time). May write up to 8 bytes past the end.
std::uint64_t digits8(std::uint32_t v) noexcept {  // exactly 8 digits of v < 10^8, first in the lowest byte
  // Lanes: two 4-digit halves (32 bits each), then four 2-digit (16 bits), then eight digits.
  // n / 100 == n * 5243 >> 19 for n < 10^4, and n / 10 == n * 103 >> 10 for n < 100.
  std::uint64_t z = (v / 10000) | (std::uint64_t(v % 10000) << 32);
  std::uint64_t q = ((z * 5243) >> 19) & 0x0000007F0000007Full;
  z = q | ((z - q * 100) << 16);
  q = ((z * 103) >> 10) & 0x000F000F000F000Full;
  z = q | ((z - q * 10) << 8);
  return z | 0x3030303030303030ull;
}

char* put8(char* out, std::uint32_t v) noexcept {
  const std::uint64_t z = digits8(v);
  std::memcpy(out, &z, 8);
  return out + 8;
}

char* put_short(char* out, std::uint32_t v) noexcept {  // v < 10^8, no leading zeros
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

char* put_decimal(char* out, std::int64_t value) noexcept {
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
  if (high < 100'000'000) {
    out = put_short(out, static_cast<std::uint32_t>(high));
  } else {
    out = put_short(out, static_cast<std::uint32_t>(high / 100'000'000));
    out = put8(out, static_cast<std::uint32_t>(high % 100'000'000));
  }
  return put8(out, low);
}

}  // namespace

message_ptr message::make(message_type type, std::string_view id, std::int64_t timestamp_ns,
                          std::optional<std::int64_t> latency_ns, std::string_view payload) {
  // Built straight into one buffer and indexed from what we wrote: this runs per captured
  // message, so no temporary strings and no re-parsing of the meta line.
  char numbers[64];  // two numbers of at most 20 characters, and put_decimal's 8 bytes of slack
  char* ts_end = put_decimal(numbers, timestamp_ns);
  char* lat_end = put_decimal(ts_end, latency_ns.value_or(-1));
  const std::size_t ts_len = static_cast<std::size_t>(ts_end - numbers);
  const std::size_t meta_len = 2 + id.size() + 1 + static_cast<std::size_t>(lat_end - numbers) + 1;
  const std::size_t size = meta_len + 1 + payload.size();
  char* storage = nullptr;
  auto m = std::allocate_shared<message>(tail_allocator<message>{&storage, size}, private_tag{}, storage, size);
  char* p = storage;
  *p++ = static_cast<char>(type);
  *p++ = ' ';
  std::memcpy(p, id.data(), id.size());
  p += id.size();
  *p++ = ' ';
  std::memcpy(p, numbers, ts_len);
  p += ts_len;
  *p++ = ' ';
  std::memcpy(p, ts_end, static_cast<std::size_t>(lat_end - ts_end));
  p += lat_end - ts_end;
  *p++ = '\n';
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  // Whether the id is one meta field, without an early exit: the compiler makes this a few
  // vector compares (find_first_of's byte loop was a third of this function).
  bool separator = false;
  for (char c : id) separator |= (c == ' ') | (c == '\n');
  if (size > UINT32_MAX || id.empty() || separator) {
    // An id that is not one meta field: index what was written, as parse() would.
    m->index();
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
