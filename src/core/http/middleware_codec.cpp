#include "core/http/middleware_codec.hpp"

#include <array>
#include <bit>
#include <memory>
#include <cstring>

namespace coreplay::http {

namespace {

constexpr auto encode_table = [] {
  std::array<char, 512> t{};
  constexpr char digits[] = "0123456789abcdef";
  for (int i = 0; i < 256; ++i) {
    t[2 * i] = digits[i >> 4];
    t[2 * i + 1] = digits[i & 15];
  }
  return t;
}();

// 0..15 for a hex digit, 0xff otherwise.
constexpr auto decode_table = [] {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0xff;
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<std::uint8_t>(i);
  for (int i = 0; i < 6; ++i) {
    t['a' + i] = static_cast<std::uint8_t>(10 + i);
    t['A' + i] = static_cast<std::uint8_t>(10 + i);
  }
  return t;
}();

// Two hex digits (as a little-endian 16-bit load) → their byte, or 0xffff when either is not
// a hex digit: one lookup per output byte. 128 KiB, built once.
const std::uint16_t* pair_table() {
  static const auto table = [] {
    auto t = std::make_unique<std::uint16_t[]>(65536);
    for (unsigned i = 0; i < 65536; ++i) {
      std::uint8_t a = decode_table[i & 0xff], b = decode_table[i >> 8];
      t[i] = (a | b) & 0xf0 ? 0xffff : static_cast<std::uint16_t>((a << 4) | b);
    }
    return t;
  }();
  return table.get();
}

}  // namespace

void hex_encode_append(std::string& out, std::string_view bytes) {
  std::size_t at = out.size();
  out.resize(at + 2 * bytes.size());
  char* dst = out.data() + at;
  for (unsigned char c : bytes) {
    std::memcpy(dst, &encode_table[2 * c], 2);
    dst += 2;
  }
}

bool hex_decode(std::string_view hex, std::string& out) {
  out.clear();
  if (hex.size() % 2 != 0) return false;
  out.resize(hex.size() / 2);
  const std::uint16_t* table = pair_table();
  const char* src = hex.data();
  char* dst = out.data();
  std::uint16_t bad = 0;
  for (std::size_t i = 0, n = hex.size() / 2; i < n; ++i) {
    std::uint16_t pair;
    std::memcpy(&pair, src + 2 * i, 2);
    if constexpr (std::endian::native == std::endian::big) pair = static_cast<std::uint16_t>((pair >> 8) | (pair << 8));
    std::uint16_t v = table[pair];
    bad |= v;  // only the 0xffff marker sets the high byte
    dst[i] = static_cast<char>(v);
  }
  if (bad & 0xff00) {
    out.clear();
    return false;
  }
  return true;
}

std::string_view to_string(middleware_error e) noexcept {
  switch (e) {
    case middleware_error::none: return "ok";
    case middleware_error::empty: return "empty line";
    case middleware_error::odd_length: return "odd number of hex digits";
    case middleware_error::not_hex: return "not hex";
    case middleware_error::bad_meta: return "malformed meta line";
  }
  return "?";
}

void middleware_encode_append(std::string& out, const message& m) {
  // No exact reserve here: callers batch many lines into one buffer, and resize() grows it
  // geometrically where an exact reserve would copy it on every message.
  hex_encode_append(out, m.record());
  out.push_back('\n');
}

std::string middleware_encode(const message& m) {
  std::string out;
  middleware_encode_append(out, m);
  return out;
}

middleware_decoded middleware_decode(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return {nullptr, middleware_error::empty};
  if (line.size() % 2 != 0) return {nullptr, middleware_error::odd_length};
  std::string record;
  if (!hex_decode(line, record)) return {nullptr, middleware_error::not_hex};
  auto msg = message::parse(std::move(record));
  if (!msg) return {nullptr, middleware_error::bad_meta};
  return {std::move(msg), middleware_error::none};
}

void line_splitter::compact() {
  if (head_ == 0) return;
  buf_.erase(0, head_);
  head_ = 0;
}

void line_splitter::feed(std::string_view bytes) {
  if (skipping_) {
    auto nl = bytes.find('\n');
    if (nl == std::string_view::npos) return;
    skipping_ = false;
    bytes.remove_prefix(nl + 1);
  }
  compact();
  buf_.append(bytes);
}

std::optional<std::string_view> line_splitter::next() {
  for (;;) {
    std::size_t from = head_ + scanned_;
    const void* nl = from < buf_.size() ? std::memchr(buf_.data() + from, '\n', buf_.size() - from)
                                        : nullptr;
    if (!nl) {
      scanned_ = buf_.size() - head_;
      if (scanned_ > max_) {
        // Too long already and still no end: forget it and skip to its '\n'.
        ++oversized_;
        skipping_ = true;
        buf_.clear();
        head_ = scanned_ = 0;
      }
      return std::nullopt;
    }
    std::size_t n = static_cast<const char*>(nl) - buf_.data();
    std::string_view line(buf_.data() + head_, n - head_);
    head_ = n + 1;
    scanned_ = 0;
    if (line.size() > max_) {
      ++oversized_;
      continue;
    }
    return line;
  }
}

std::optional<std::string_view> line_splitter::finish() {
  if (skipping_ || head_ >= buf_.size()) return std::nullopt;
  std::string_view rest(buf_.data() + head_, buf_.size() - head_);
  head_ = buf_.size();
  scanned_ = 0;
  if (rest.size() > max_) {
    ++oversized_;
    return std::nullopt;
  }
  return rest;
}

}  // namespace coreplay::http
