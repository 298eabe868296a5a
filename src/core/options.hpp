// Options are declared once, as an aggregate with defaults, bound to gor's flag names in an
// option_group. The same table drives CLI parsing, YAML keys, --help and validation errors.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace coreplay {

// A size flag's value: "32mb", "1gb", "4096" (powers of 1024, as gor).
struct byte_size {
  std::uint64_t bytes = 0;
  friend bool operator==(byte_size, byte_size) = default;
};
constexpr byte_size operator""_KiB(unsigned long long v) { return {v << 10}; }
constexpr byte_size operator""_MiB(unsigned long long v) { return {v << 20}; }
constexpr byte_size operator""_GiB(unsigned long long v) { return {v << 30}; }

// A configuration error: the message names the flag (or YAML key and line) and the value.
class option_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class value_kind { flag, integer, number, size, duration, text, text_list, integer_list };

// One value as given, and where it came from ("--input-file" or "pipe.yaml:12").
struct option_value {
  std::string text;
  std::string origin;
};

// Values gathered from the command line or a YAML file, by flag name (without dashes).
class raw_options {
 public:
  void add(const std::string& flag, std::string text, std::string origin);
  const std::vector<option_value>* find(std::string_view flag) const;
  bool has(std::string_view flag) const { return find(flag) != nullptr; }
  const std::map<std::string, std::vector<option_value>, std::less<>>& all() const { return values_; }

 private:
  std::map<std::string, std::vector<option_value>, std::less<>> values_;
};

// The parsers behind every value kind; they throw option_error naming `where` and the text.
bool parse_bool(std::string_view text, std::string_view where);
std::int64_t parse_integer(std::string_view text, std::string_view where);
double parse_number(std::string_view text, std::string_view where);
byte_size parse_size(std::string_view text, std::string_view where);
std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view where);
std::string format_size(byte_size s);
std::string format_duration(std::chrono::nanoseconds d);

struct option_spec {
  std::string flag;  // gor's name, without dashes
  value_kind kind = value_kind::text;
  std::string default_text;
  std::string help;
  std::string group;
  bool implemented = true;
  bool optional_value = false;  // `--flag` alone is allowed; the value is then ""
  // Parses the values into the options object; only set for implemented options.
  std::function<void(void* target, const std::vector<option_value>&)> assign;
};

namespace detail {

template <typename T> struct option_traits;
template <> struct option_traits<bool> {
  static constexpr value_kind kind = value_kind::flag;
  static bool parse(std::string_view t, std::string_view w) { return parse_bool(t, w); }
  static std::string format(bool v) { return v ? "true" : "false"; }
};
template <> struct option_traits<std::int64_t> {
  static constexpr value_kind kind = value_kind::integer;
  static std::int64_t parse(std::string_view t, std::string_view w) { return parse_integer(t, w); }
  static std::string format(std::int64_t v) { return std::to_string(v); }
};
template <> struct option_traits<double> {
  static constexpr value_kind kind = value_kind::number;
  static double parse(std::string_view t, std::string_view w) { return parse_number(t, w); }
  static std::string format(double v);
};
template <> struct option_traits<byte_size> {
  static constexpr value_kind kind = value_kind::size;
  static byte_size parse(std::string_view t, std::string_view w) { return parse_size(t, w); }
  static std::string format(byte_size v) { return format_size(v); }
};
template <> struct option_traits<std::chrono::nanoseconds> {
  static constexpr value_kind kind = value_kind::duration;
  static std::chrono::nanoseconds parse(std::string_view t, std::string_view w) { return parse_duration(t, w); }
  static std::string format(std::chrono::nanoseconds v) { return format_duration(v); }
};
template <> struct option_traits<std::string> {
  static constexpr value_kind kind = value_kind::text;
  static std::string parse(std::string_view t, std::string_view) { return std::string(t); }
  static std::string format(const std::string& v) { return v.empty() ? "" : "\"" + v + "\""; }
};

}  // namespace detail

template <typename Opts>
class option_group {
 public:
  explicit option_group(std::string title) : title_(std::move(title)) {}

  // Binds `--flag` to `member`. Scalars take the last value given; vectors take all of them.
  template <typename T>
  option_group& add(std::string flag, T Opts::*member, std::string help) {
    option_spec s;
    s.flag = std::move(flag);
    s.help = std::move(help);
    s.group = title_;
    Opts defaults{};
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      s.kind = value_kind::text_list;
      s.assign = [member](void* target, const std::vector<option_value>& vs) {
        auto& out = static_cast<Opts*>(target)->*member;
        out.clear();
        for (auto& v : vs) out.push_back(v.text);
      };
    } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
      s.kind = value_kind::integer_list;
      s.assign = [member](void* target, const std::vector<option_value>& vs) {
        auto& out = static_cast<Opts*>(target)->*member;
        out.clear();
        for (auto& v : vs) out.push_back(parse_integer(v.text, v.origin));
      };
    } else {
      using traits = detail::option_traits<T>;
      s.kind = traits::kind;
      s.default_text = traits::format(defaults.*member);
      s.assign = [member](void* target, const std::vector<option_value>& vs) {
        auto& v = vs.back();
        static_cast<Opts*>(target)->*member = traits::parse(v.text, v.origin);
      };
    }
    specs_.push_back(std::move(s));
    return *this;
  }

  // Fills `o` from the values given; throws option_error naming the flag and the value.
  void apply(Opts& o, const raw_options& raw) const {
    for (auto& s : specs_)
      if (auto* vs = raw.find(s.flag)) s.assign(&o, *vs);
  }
  Opts parse(const raw_options& raw) const {
    Opts o{};
    apply(o, raw);
    return o;
  }

  const std::string& title() const noexcept { return title_; }
  const std::vector<option_spec>& specs() const noexcept { return specs_; }

 private:
  std::string title_;
  std::vector<option_spec> specs_;
};

// Edit distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace coreplay
