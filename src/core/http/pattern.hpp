// A compiled regular expression for gor's modifier flags, with Go's ReplaceAll/Expand rules.
//
// Two backends, chosen at build time:
// - RE2 when built with COREPLAY_HAS_RE2=1 (Debian libre2-dev, link -lre2): Go's regexp IS
//   RE2 syntax, so gor's flag values mean exactly what they meant; linear time, no
//   recursion, no subject limit.
// - std::regex (ECMAScript) otherwise. The common subset (classes, groups, anchors,
//   alternation, repetition) means the same as in Go. Translated here so that gor flag values
//   keep working: a leading `(?i)` and named groups `(?P<name>…)`/`(?<name>…)` (for `${name}`
//   in replacements). Not supported (compile error): other inline flags, \pL, \A, \z.
//   libstdc++'s matcher recurses once per input character for patterns like `(a|b)*` (about
//   800 bytes of stack per character unoptimised) and overflows an 8 MiB stack near 15 000
//   characters. So for patterns with unbounded repetition, subjects over
//   native_subject_bytes are matched on a short-lived thread with a 1 GiB (lazily committed)
//   stack, and subjects over max_subject_bytes are not matched at all (too_long). Patterns
//   without repetition run in place on subjects of any length. It is also slow: 25-100 ns
//   per subject byte, against a few ns for RE2.
// Both get the same fast paths: operator-free patterns are string comparisons, an anchored
// pattern is tried at offset 0 only, and a literal prefix skips to its first occurrence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if COREPLAY_HAS_RE2
namespace re2 {
class RE2;
}
#endif

namespace coreplay::http {

class pattern {
 public:
  // A pattern the backend cannot compile; what() says why.
  struct error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
  };

#if COREPLAY_HAS_RE2
  static constexpr bool limits_subjects = false;  // RE2 runs in linear time, no recursion
#else
  static constexpr bool limits_subjects = true;
#endif
  static constexpr std::size_t native_subject_bytes = 2048;
  static constexpr std::size_t max_subject_bytes = 256 * 1024;

  enum class result { no_match, match, too_long };

  // Throws pattern::error.
  explicit pattern(std::string_view expr);

  result search(std::string_view subject) const;
  bool matches(std::string_view subject) const { return search(subject) == result::match; }

  // Go's Regexp.ReplaceAll: every non-overlapping match replaced by the template expanded
  // with Go's Expand rules ($1, ${1}, $name, ${name}, $$; `$1x` names the group "1x", which
  // does not exist, so it expands to nothing). Returns how many matches were replaced (0:
  // out is a copy of subject), or nullopt (out untouched) for a too-long subject.
  std::optional<std::size_t> replace_all(std::string_view subject, std::string_view tmpl,
                                         std::string& out) const;

  const std::string& source() const noexcept { return source_; }

 private:
  std::size_t replace_all_here(std::string_view subject, std::size_t start, std::string_view tmpl,
                               std::string& out) const;
  // group(i) → the text of group i, or nullopt when it did not take part in the match.
  template <class Group>
  void expand(std::string& out, std::string_view tmpl, Group&& group) const;
  int group_index(std::string_view name) const;

  enum class literal_kind : std::uint8_t { none, anywhere, prefix, suffix, exact };

  std::string source_;
#if COREPLAY_HAS_RE2
  std::shared_ptr<const re2::RE2> re2_;
#else
  std::regex re_;
#endif
  bool deep_ = false;      // has unbounded repetition: recursion grows with the subject
  bool anchored_ = false;  // starts with '^' that covers the whole pattern
  literal_kind literal_kind_ = literal_kind::none;
  std::string literal_;
  std::string prefix_;  // every match starts with it (a prefilter); may be empty
  std::vector<std::pair<std::string, int>> names_;  // named groups → index
};

}  // namespace coreplay::http
