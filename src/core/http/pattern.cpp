#include "core/http/pattern.hpp"

#if COREPLAY_HAS_RE2
#include <re2/re2.h>
#endif

#include <pthread.h>

#include <exception>

namespace coreplay::http {

namespace {

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

#if !COREPLAY_HAS_RE2
// Rewrites RE2 named groups into plain ECMAScript groups, remembering their indexes.
std::string translate(std::string_view in, std::vector<std::pair<std::string, int>>& names) {
  std::string out;
  out.reserve(in.size());
  int group = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '\\' && i + 1 < in.size()) {
      out.push_back(c);
      out.push_back(in[++i]);
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out.push_back(c);
      continue;
    }
    if (c == '[') {
      in_class = true;
      out.push_back(c);
      continue;
    }
    if (c == '(') {
      std::string_view rest = in.substr(i + 1);
      std::size_t name_at = std::string_view::npos;
      if (rest.substr(0, 3) == "?P<")
        name_at = 3;
      else if (rest.size() > 2 && rest.substr(0, 2) == "?<" && rest[2] != '=' && rest[2] != '!')
        name_at = 2;
      if (name_at != std::string_view::npos) {
        auto close = rest.find('>', name_at);
        if (close == std::string_view::npos) throw pattern::error("unterminated group name");
        names.emplace_back(std::string(rest.substr(name_at, close - name_at)), ++group);
        out.push_back('(');
        i += close + 1;
        continue;
      }
      if (rest.empty() || rest[0] != '?') ++group;
    }
    out.push_back(c);
  }
  return out;
}

#endif  // !COREPLAY_HAS_RE2

// Runs f() on a thread with a stack deep enough for libstdc++'s recursive matcher on a long
// subject. Rare (only subjects over native_subject_bytes), so a thread per call is fine.
template <class F>
bool run_on_deep_stack(F& f) {
  struct job {
    F* f;
    std::exception_ptr error;
  } j{&f, nullptr};
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return false;
  pthread_attr_setstacksize(&attr, std::size_t{1} << 30);
  pthread_t th;
  int rc = pthread_create(
      &th, &attr,
      [](void* p) -> void* {
        auto* jp = static_cast<job*>(p);
        try {
          (*jp->f)();
        } catch (...) {
          jp->error = std::current_exception();
        }
        return nullptr;
      },
      &j);
  pthread_attr_destroy(&attr);
  if (rc != 0) return false;
  pthread_join(th, nullptr);
  if (j.error) std::rethrow_exception(j.error);
  return true;
}

// The text a pattern stands for when it has no operators (`\.`-style escapes of
// punctuation are literal); nullopt otherwise.
std::optional<std::string> literal_of(std::string_view body) {
  std::string lit;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\\') {
      if (i + 1 >= body.size() || is_name_char(body[i + 1])) return std::nullopt;
      lit.push_back(body[++i]);
      continue;
    }
    if (std::string_view("^$.|?*+()[]{}").find(c) != std::string_view::npos) return std::nullopt;
    lit.push_back(c);
  }
  return lit;
}

// The literal every match must start with (the pattern's leading plain characters, minus
// one a quantifier applies to); empty when there is none.
std::string literal_prefix_of(std::string_view body) {
  std::string lead;
  std::size_t i = 0;
  while (i < body.size()) {
    char c = body[i];
    std::size_t width = 1;
    if (c == '\\') {
      if (i + 1 >= body.size() || is_name_char(body[i + 1])) break;
      c = body[i + 1];
      width = 2;
    } else if (std::string_view("^$.|?*+()[]{}").find(c) != std::string_view::npos) {
      break;
    }
    if (i + width < body.size() && std::string_view("*+?{").find(body[i + width]) != std::string_view::npos)
      break;
    lead.push_back(c);
    i += width;
  }
  return lead;
}

// True when '|' appears outside any group or class: then a leading '^' anchors only the
// first alternative.
bool has_top_level_alternation(std::string_view body) {
  int depth = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return true;
    }
  }
  return false;
}

#if !COREPLAY_HAS_RE2
// Unbounded repetition ('*', '+', '{n,}') is what makes libstdc++'s matcher recurse once
// per subject character; without it the depth is bounded by the pattern. '{' counts as
// unbounded to stay on the safe side.
bool has_repetition(std::string_view body) {
  bool in_class = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      if (c == ']') in_class = false;
    } else if (c == '[') {
      in_class = true;
    } else if (c == '*' || c == '+' || c == '{') {
      return true;
    }
  }
  return false;
}
#endif

// A '$' at the end that is an operator (not escaped by an odd number of backslashes).
bool ends_with_dollar(std::string_view body) {
  if (body.empty() || body.back() != '$') return false;
  std::size_t slashes = 0;
  for (std::size_t i = body.size() - 1; i > 0 && body[i - 1] == '\\'; --i) ++slashes;
  return slashes % 2 == 0;
}

}  // namespace

pattern::pattern(std::string_view expr) : source_(expr) {
  bool icase = expr.substr(0, 4) == "(?i)";
#if COREPLAY_HAS_RE2
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_shared<re2::RE2>(re2::StringPiece(expr.data(), expr.size()), opts);
  if (!re->ok()) throw error(re->error());
  for (const auto& [name, index] : re->NamedCapturingGroups()) names_.emplace_back(name, index);
  re2_ = std::move(re);
  if (icase) expr.remove_prefix(4);
#else
  auto flags = std::regex::ECMAScript;
  if (icase) {
    flags |= std::regex::icase;
    expr.remove_prefix(4);
  }
  try {
    re_ = std::regex(translate(expr, names_), flags);
  } catch (const std::regex_error& e) {
    throw error(e.what());
  }
  // Only libstdc++'s matcher recurses per character; RE2 never does.
  deep_ = has_repetition(expr);
#endif

  // Fast paths: anchored patterns are tried at offset 0 only, operator-free patterns (the
  // usual `/api/v1`, `^/health`) become plain string comparisons, and a literal prefix
  // skips the matcher to its first occurrence.
  bool caret = !expr.empty() && expr.front() == '^';
  anchored_ = caret && !has_top_level_alternation(expr);
  if (!icase && (!caret || anchored_)) {
    std::string_view core = expr;
    if (caret) core.remove_prefix(1);
    if (!has_top_level_alternation(core)) prefix_ = literal_prefix_of(core);
    bool dollar = ends_with_dollar(core);
    if (dollar) core.remove_suffix(1);
    if (auto lit = literal_of(core)) {
      literal_ = std::move(*lit);
      literal_kind_ = caret && dollar ? literal_kind::exact
                      : caret         ? literal_kind::prefix
                      : dollar        ? literal_kind::suffix
                                      : literal_kind::anywhere;
    }
  }
}

pattern::result pattern::search(std::string_view subject) const {
  auto yes = [](bool b) { return b ? result::match : result::no_match; };
  std::string_view lit = literal_;
  switch (literal_kind_) {
    case literal_kind::none: break;
    case literal_kind::anywhere: return yes(subject.find(lit) != std::string_view::npos);
    case literal_kind::prefix: return yes(subject.substr(0, lit.size()) == lit);
    case literal_kind::suffix:
      return yes(subject.size() >= lit.size() && subject.substr(subject.size() - lit.size()) == lit);
    case literal_kind::exact: return yes(subject == lit);
  }
  // Every match starts with prefix_: no occurrence, no match; else start looking there.
  std::size_t start = 0;
  if (!prefix_.empty()) {
    if (anchored_) {
      if (subject.substr(0, prefix_.size()) != prefix_) return result::no_match;
    } else {
      start = subject.find(prefix_);
      if (start == std::string_view::npos) return result::no_match;
    }
  }
  std::size_t reach = subject.size() - start;
  if (deep_ && reach > max_subject_bytes) return result::too_long;
  bool found = false;
#if COREPLAY_HAS_RE2
  auto run = [&] {
    found = re2_->Match(re2::StringPiece(subject.data(), subject.size()), start, subject.size(),
                        anchored_ ? re2::RE2::ANCHOR_START : re2::RE2::UNANCHORED, nullptr, 0);
  };
#else
  auto flags = anchored_ ? std::regex_constants::match_continuous
                         : std::regex_constants::match_default;
  if (start > 0) flags |= std::regex_constants::match_prev_avail;
  auto run = [&] {
    found = std::regex_search(subject.data() + start, subject.data() + subject.size(), re_, flags);
  };
#endif
  if (!deep_ || reach <= native_subject_bytes)
    run();
  else if (!run_on_deep_stack(run))
    return result::too_long;
  return found ? result::match : result::no_match;
}

int pattern::group_index(std::string_view name) const {
  for (auto& [n, idx] : names_)
    if (n == name) return idx;
  return -1;
}

template <class Group>
void pattern::expand(std::string& out, std::string_view tmpl, Group&& group) const {
  while (!tmpl.empty()) {
    auto dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    // $name or ${name}; anything else leaves the '$' as text (Go's rule).
    bool brace = !tmpl.empty() && tmpl[0] == '{';
    std::size_t i = brace ? 1 : 0, start = i;
    while (i < tmpl.size() && is_name_char(tmpl[i])) ++i;
    if (i == start || (brace && (i >= tmpl.size() || tmpl[i] != '}'))) {
      out.push_back('$');
      continue;
    }
    std::string_view name = tmpl.substr(start, i - start);
    tmpl.remove_prefix(brace ? i + 1 : i);
    long num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;  // Go disallows leading zeros
    if (num < 0) num = group_index(name);
    if (num >= 0)
      if (std::optional<std::string_view> g = group(static_cast<std::size_t>(num))) out.append(*g);
  }
  out.append(tmpl);
}

std::optional<std::size_t> pattern::replace_all(std::string_view subject, std::string_view tmpl,
                                                std::string& out) const {
  // Every match starts with prefix_: skip straight to its first occurrence.
  std::size_t start = 0;
  if (!prefix_.empty()) {
    start = anchored_ ? (subject.substr(0, prefix_.size()) == prefix_ ? 0 : std::string_view::npos)
                      : subject.find(prefix_);
    if (start == std::string_view::npos) {
      out.assign(subject);
      return 0;
    }
  }
  std::size_t reach = subject.size() - start;
  if (deep_ && reach > max_subject_bytes) return std::nullopt;
  std::size_t count = 0;
  auto run = [&] { count = replace_all_here(subject, start, tmpl, out); };
  if (!deep_ || reach <= native_subject_bytes)
    run();
  else if (!run_on_deep_stack(run))
    return std::nullopt;
  return count;
}

std::size_t pattern::replace_all_here(std::string_view subject, std::size_t start,
                                      std::string_view tmpl, std::string& out) const {
  out.clear();
  const char* const base = subject.data();
  const std::size_t n = subject.size();
#if COREPLAY_HAS_RE2
  const re2::StringPiece text(base, n);
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re2_->NumberOfCapturingGroups()) + 1);
  auto group = [&](std::size_t i) -> std::optional<std::string_view> {
    if (i >= groups.size() || groups[i].data() == nullptr) return std::nullopt;
    return std::string_view(groups[i].data(), groups[i].size());
  };
  // The match's [begin, end) offsets, or false.
  auto find = [&](std::size_t from, bool anchor, std::size_t& a0, std::size_t& a1) {
    if (!re2_->Match(text, from, n, anchor ? re2::RE2::ANCHOR_START : re2::RE2::UNANCHORED,
                     groups.data(), static_cast<int>(groups.size())))
      return false;
    a0 = static_cast<std::size_t>(groups[0].data() - base);
    a1 = a0 + groups[0].size();
    return true;
  };
#else
  std::cmatch m;
  auto group = [&](std::size_t i) -> std::optional<std::string_view> {
    if (i >= m.size() || !m[i].matched) return std::nullopt;
    return std::string_view(m[i].first, static_cast<std::size_t>(m[i].second - m[i].first));
  };
  auto find = [&](std::size_t from, bool anchor, std::size_t& a0, std::size_t& a1) {
    auto flags = anchor ? std::regex_constants::match_continuous : std::regex_constants::match_default;
    if (from > 0) flags |= std::regex_constants::match_prev_avail;
    if (!std::regex_search(base + from, base + n, m, re_, flags)) return false;
    a0 = static_cast<std::size_t>(m[0].first - base);
    a1 = static_cast<std::size_t>(m[0].second - base);
    return true;
  };
#endif
  std::size_t a0 = 0, a1 = 0;
  if (anchored_) {
    // `^` matches only at offset 0, so there is at most one match.
    if (!find(0, true, a0, a1)) {
      out.append(subject);
      return 0;
    }
    expand(out, tmpl, group);
    out.append(subject.substr(a1));
    return 1;
  }
  // Go's replaceAll loop: non-overlapping matches, an empty match right after a match is
  // not replaced, and the search always advances by at least one byte.
  std::size_t search_pos = start, last_end = 0, count = 0;
  while (search_pos <= n) {
    if (!find(search_pos, false, a0, a1)) break;
    out.append(subject.substr(last_end, a0 - last_end));
    if (a1 > last_end || a0 == 0) {
      expand(out, tmpl, group);
      ++count;
    }
    last_end = a1;
    if (search_pos + 1 > a1)
      ++search_pos;
    else
      search_pos = a1;
  }
  out.append(subject.substr(last_end));
  return count;
}

}  // namespace coreplay::http
