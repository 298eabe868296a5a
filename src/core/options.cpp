#include "core/options.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <sstream>

namespace coreplay {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void bad_value(std::string_view where, std::string_view text, std::string_view expected) {
  throw option_error(std::string(where) + ": bad value '" + std::string(text) + "' (expected " +
                     std::string(expected) + ")");
}

}  // namespace

void raw_options::add(const std::string& flag, std::string text, std::string origin) {
  values_[flag].push_back(option_value{std::move(text), std::move(origin)});
}

const std::vector<option_value>* raw_options::find(std::string_view flag) const {
  auto it = values_.find(flag);
  return it == values_.end() ? nullptr : &it->second;
}

bool parse_bool(std::string_view text, std::string_view where) {
  auto t = lower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on" || t == "t") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off" || t == "f") return false;
  bad_value(where, text, "true or false");
}

std::int64_t parse_integer(std::string_view text, std::string_view where) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size())
    bad_value(where, text, "an integer");
  return v;
}

double parse_number(std::string_view text, std::string_view where) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || !std::isfinite(v))
    bad_value(where, text, "a number");
  return v;
}

byte_size parse_size(std::string_view text, std::string_view where) {
  constexpr std::string_view expected = "a size like 4096, 64kb, 32mb or 1gb";
  std::string t;
  for (char c : text)
    if (c != '_' && c != ' ') t.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (t.empty()) bad_value(where, text, expected);
  std::size_t i = 0;
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'b' || t[1] == 'o')) {
    base = t[1] == 'x' ? 16 : t[1] == 'b' ? 2 : 8;
    i = 2;
  } else if (t.size() > 1 && t[0] == '0' && std::isdigit(static_cast<unsigned char>(t[1]))) {
    base = 8;  // Go's integer syntax, which gor uses: a leading 0 means octal
    i = 1;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(t.data() + i, t.data() + t.size(), v, base);
  if (ec != std::errc{} || p == t.data() + i) bad_value(where, text, expected);
  std::string_view unit(p, static_cast<std::size_t>(t.data() + t.size() - p));
  int shift = 0;
  // gor takes kb/mb/gb/tb; "256m" and "1KiB" are what people also type.
  if (unit.empty() || unit == "b") shift = 0;
  else if (unit == "k" || unit == "kb" || unit == "kib") shift = 10;
  else if (unit == "m" || unit == "mb" || unit == "mib") shift = 20;
  else if (unit == "g" || unit == "gb" || unit == "gib") shift = 30;
  else if (unit == "t" || unit == "tb" || unit == "tib") shift = 40;
  else bad_value(where, text, expected);
  if (shift && v > (UINT64_MAX >> shift)) bad_value(where, text, "a size that fits in 64 bits");
  return byte_size{v << shift};
}

std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view where) {
  constexpr std::string_view expected = "a duration like 2s, 100ms, 1m30s or 1h";
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) bad_value(where, text, expected);
  std::string_view s = text;
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) bad_value(where, text, expected);
  long double total = 0;
  while (!s.empty()) {
    std::size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    if (n == 0) bad_value(where, text, expected);
    double num = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + n, num);
    if (ec != std::errc{} || p != s.data() + n) bad_value(where, text, expected);
    s.remove_prefix(n);
    std::size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else bad_value(where, text, expected);
    total += num * scale;
  }
  if (total > 9.2e18L) bad_value(where, text, "a duration under 292 years");
  auto ns = static_cast<std::int64_t>(std::llround(total));
  return std::chrono::nanoseconds(negative ? -ns : ns);
}

std::string format_size(byte_size s) {
  static constexpr std::pair<int, const char*> units[] = {{40, "tb"}, {30, "gb"}, {20, "mb"}, {10, "kb"}};
  if (s.bytes == 0) return "0";
  for (auto [shift, name] : units)
    if (s.bytes % (std::uint64_t{1} << shift) == 0) return std::to_string(s.bytes >> shift) + name;
  return std::to_string(s.bytes);
}

std::string format_duration(std::chrono::nanoseconds d) {
  auto ns = d.count();
  if (ns == 0) return "0";
  static constexpr std::pair<std::int64_t, const char*> units[] = {
      {3600'000'000'000, "h"}, {60'000'000'000, "m"}, {1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}, {1, "ns"}};
  for (auto [scale, name] : units)
    if (ns % scale == 0) return std::to_string(ns / scale) + name;
  return std::to_string(ns) + "ns";
}

std::string detail::option_traits<double>::format(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace coreplay
