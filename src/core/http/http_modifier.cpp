#include "core/http/http_modifier.hpp"

#include "core/http/http_view.hpp"

#include <charconv>
#include <regex>
#include <stdexcept>

namespace coreplay::http {

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

[[noreturn]] void bad_value(std::string_view flag, std::string_view value, std::string_view why) {
  std::string msg;
  msg.append("--").append(flag).append(" '").append(value).append("': ").append(why);
  throw std::invalid_argument(msg);
}

pattern compile(std::string_view flag, std::string_view value, std::string_view expr) {
  try {
    return pattern(expr);
  } catch (const pattern::error& e) {
    bad_value(flag, value, std::string("invalid regular expression '") + std::string(expr) +
                               "': " + e.what());
  }
}

// Splits at the first `sep`; nullopt when it is absent.
std::optional<std::pair<std::string_view, std::string_view>> split_first(std::string_view s,
                                                                         char sep) {
  auto at = s.find(sep);
  if (at == std::string_view::npos) return std::nullopt;
  return std::pair{s.substr(0, at), s.substr(at + 1)};
}

// RFC 4648 base64 (standard alphabet); padding optional. False on any other byte.
bool decode_base64(std::string_view in, std::string& out) {
  static constexpr auto table = [] {
    std::array<signed char, 256> t{};
    for (auto& v : t) v = -1;
    const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(a[i])] = static_cast<signed char>(i);
    return t;
  }();
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return false;
  out.clear();
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = table[c];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// A header value we may write: no byte that would end the line or the head.
bool is_field_text(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

std::string_view to_string(drop_reason r) noexcept {
  switch (r) {
    case drop_reason::method: return "allow_method";
    case drop_reason::allow_url: return "allow_url";
    case drop_reason::disallow_url: return "disallow_url";
    case drop_reason::allow_header: return "allow_header";
    case drop_reason::disallow_header: return "disallow_header";
    case drop_reason::basic_auth: return "basic_auth_filter";
    case drop_reason::header_limiter: return "header_limiter";
    case drop_reason::param_limiter: return "param_limiter";
    case drop_reason::subject_too_long: return "subject_too_long";
    case drop_reason::count_: break;
  }
  return "?";
}

bool http_modifier_options::empty() const noexcept {
  return allow_method.empty() && set_header.empty() && set_param.empty() && allow_url.empty() &&
         disallow_url.empty() && allow_header.empty() && disallow_header.empty() &&
         basic_auth_filter.empty() && header_limiter.empty() && param_limiter.empty() &&
         rewrite_url.empty() && rewrite_header.empty();
}

bool http_modifier_options::keeps_original_host() const noexcept {
  if (original_host) return true;
  for (const auto& v : set_header) {
    auto colon = v.find(':');
    if (colon != std::string::npos && iequals(trim(std::string_view(v).substr(0, colon)), "host"))
      return true;
  }
  return false;
}

std::uint32_t parse_limiter_percent(std::string_view val) {
  val = trim(val);
  auto parse_uint = [](std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
  };
  std::uint64_t num = 0, den = 0;
  if (val.find('%') != std::string_view::npos) {
    if (val.back() != '%' || !parse_uint(val.substr(0, val.size() - 1), num) || num > 100)
      throw std::invalid_argument("expected a percent from 0% to 100%");
    return static_cast<std::uint32_t>(num);
  }
  if (auto parts = split_first(val, '/')) {
    if (!parse_uint(parts->first, num) || !parse_uint(parts->second, den) || den == 0 || num > den)
      throw std::invalid_argument("expected a fraction num/den with 0 <= num <= den, den > 0");
    // gor computes it in floating point and truncates: 1/3 → 33.
    return static_cast<std::uint32_t>((static_cast<double>(num) / static_cast<double>(den)) * 100);
  }
  throw std::invalid_argument("value should be a percent and contain '%'");
}

http_modifier::http_modifier(const http_modifier_options& o) {
  for (const auto& v : o.allow_method) {
    if (v.empty()) bad_value("http-allow-method", v, "empty method");
    methods_.push_back(v);
  }
  for (const auto& v : o.set_header) {
    auto kv = split_first(v, ':');
    if (!kv || trim(kv->first).empty()) bad_value("http-set-header", v, "expected 'Name: value'");
    if (!is_token(trim(kv->first))) bad_value("http-set-header", v, "the header name is not a token");
    if (!is_field_text(kv->second)) bad_value("http-set-header", v, "the value holds CR, LF or NUL");
    headers_.push_back({std::string(trim(kv->first)), std::string(trim(kv->second))});
  }
  for (const auto& v : o.set_param) {
    auto kv = split_first(v, '=');
    if (!kv || trim(kv->first).empty()) bad_value("http-set-param", v, "expected 'name=value'");
    if (!is_target_text(trim(kv->first)) || !is_target_text(trim(kv->second)))
      bad_value("http-set-param", v, "spaces and control bytes must be URL-encoded (%20)");
    params_.push_back({std::string(trim(kv->first)), std::string(trim(kv->second))});
  }
  for (const auto& v : o.allow_url) allow_url_.push_back(compile("http-allow-url", v, v));
  for (const auto& v : o.disallow_url) disallow_url_.push_back(compile("http-disallow-url", v, v));
  auto header_rules = [](std::string_view flag, const std::vector<std::string>& values,
                         std::vector<header_rule>& out) {
    for (const auto& v : values) {
      auto kv = split_first(v, ':');
      if (!kv || trim(kv->first).empty())
        bad_value(flag, v, "need both header and regexp, colon-delimited (ex. User-Agent: ^curl)");
      out.push_back({std::string(trim(kv->first)), compile(flag, v, trim(kv->second))});
    }
  };
  header_rules("http-allow-header", o.allow_header, allow_header_);
  header_rules("http-disallow-header", o.disallow_header, disallow_header_);
  for (const auto& v : o.basic_auth_filter)
    basic_auth_.push_back(compile("http-basic-auth-filter", v, v));
  auto limiter_rules = [](std::string_view flag, const std::vector<std::string>& values,
                          std::vector<limiter_rule>& out) {
    for (const auto& v : values) {
      auto kv = split_first(v, ':');
      if (!kv || trim(kv->first).empty())
        bad_value(flag, v, "need both name and percent, colon-delimited (ex. user_id: 50%)");
      try {
        out.push_back({std::string(trim(kv->first)), parse_limiter_percent(kv->second)});
      } catch (const std::invalid_argument& e) {
        bad_value(flag, v, e.what());
      }
    }
  };
  limiter_rules("http-header-limiter", o.header_limiter, header_limit_);
  limiter_rules("http-param-limiter", o.param_limiter, param_limit_);
  for (const auto& v : o.rewrite_url) {
    // Split at the first ':' as gor does, so the regex itself cannot hold a ':'.
    auto kv = split_first(v, ':');
    if (!kv) bad_value("http-rewrite-url", v, "need both regexp and target, colon-delimited (ex. /a:/b)");
    if (!is_target_text(kv->second))
      bad_value("http-rewrite-url", v, "spaces and control bytes in the target must be URL-encoded (%20)");
    rewrite_url_.push_back({{}, compile("http-rewrite-url", v, kv->first), std::string(kv->second)});
  }
  for (const auto& v : o.rewrite_header) {
    auto kv = split_first(v, ':');
    std::optional<std::pair<std::string_view, std::string_view>> rt;
    if (kv) rt = split_first(trim(kv->second), ',');
    if (!kv || !rt || trim(kv->first).empty())
      bad_value("http-rewrite-header", v,
                "need header, regexp and target: 'Name: regexp,target' (the regexp cannot hold ',')");
    if (!is_field_text(rt->second)) bad_value("http-rewrite-header", v, "the target holds CR, LF or NUL");
    rewrite_header_.push_back({std::string(trim(kv->first)),
                               compile("http-rewrite-header", v, rt->first),
                               std::string(rt->second)});
  }
}

http_modifier::outcome http_modifier::rewrite(std::string_view payload, std::string& out,
                                              drop_reason* why) const {
  auto rl = parse_request_line(payload);
  if (!rl) {
    stats_.not_http.fetch_add(1, std::memory_order_relaxed);
    return outcome::unchanged;
  }
  stats_.seen.fetch_add(1, std::memory_order_relaxed);
  auto drop = [&](drop_reason r) {
    stats_.dropped[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    if (why) *why = r;
    return outcome::dropped;
  };
  // A regex that cannot look at its subject fails closed: the request is dropped.
  auto too_long = [&] {
    stats_.too_long.fetch_add(1, std::memory_order_relaxed);
    return drop(drop_reason::subject_too_long);
  };

  if (!methods_.empty()) {
    bool ok = false;
    for (const auto& m : methods_)
      if (rl->method == m) {
        ok = true;
        break;
      }
    if (!ok) return drop(drop_reason::method);
  }

  // Edits copy the payload once, on the first edit; until then `cur` views the input.
  bool owned = false;
  std::string_view cur = payload;
  auto own = [&] {
    if (!owned) {
      out.assign(payload);
      owned = true;
    }
  };
  for (const auto& h : headers_) {
    own();
    set_header(out, h.name, h.value);
  }
  for (const auto& p : params_) {
    own();
    set_query_param(out, p.name, p.value);
  }
  // The request line of `cur`; parsed again only after an edit.
  request_line line = *rl;
  // Flag values are checked so that edits keep the request line valid; should one not,
  // the edited request goes out as it is rather than being judged on a broken line.
  auto reparse = [&] {
    auto l = parse_request_line(cur);
    if (l) line = *l;
    return l.has_value();
  };
  auto changed = [&] {
    stats_.changed.fetch_add(1, std::memory_order_relaxed);
    return outcome::changed;
  };
  if (owned) {
    cur = out;
    if (!reparse()) return changed();
  }

  if (!allow_url_.empty() || !disallow_url_.empty()) {
    std::string_view target = line.target;
    if (!allow_url_.empty()) {
      bool ok = false;
      for (const auto& re : allow_url_) {
        auto r = re.search(target);
        if (r == pattern::result::too_long) return too_long();
        if (r == pattern::result::match) {
          ok = true;
          break;
        }
      }
      if (!ok) return drop(drop_reason::allow_url);
    }
    for (const auto& re : disallow_url_) {
      auto r = re.search(target);
      if (r == pattern::result::too_long) return too_long();
      if (r == pattern::result::match) return drop(drop_reason::disallow_url);
    }
  }

  bool needs_view = !allow_header_.empty() || !disallow_header_.empty() || !basic_auth_.empty() ||
                    !header_limit_.empty() || !param_limit_.empty();
  if (needs_view) {
    http_view v(cur, line);
    for (const auto& rule : allow_header_) {
      auto h = v.header(rule.name);
      if (!h) return drop(drop_reason::allow_header);
      auto r = rule.re.search(h->value);
      if (r == pattern::result::too_long) return too_long();
      if (r != pattern::result::match) return drop(drop_reason::allow_header);
    }
    for (const auto& rule : disallow_header_) {
      auto h = v.header(rule.name);
      if (!h) continue;
      auto r = rule.re.search(h->value);
      if (r == pattern::result::too_long) return too_long();
      if (r == pattern::result::match) return drop(drop_reason::disallow_header);
    }
    if (!basic_auth_.empty()) {
      auto h = v.header("Authorization");
      if (h && starts_with_icase(h->value, "basic ")) {
        std::string creds;
        if (!decode_base64(trim(h->value.substr(6)), creds)) return drop(drop_reason::basic_auth);
        for (const auto& re : basic_auth_) {
          auto r = re.search(creds);
          if (r == pattern::result::too_long) return too_long();
          if (r != pattern::result::match) return drop(drop_reason::basic_auth);
        }
      }
    }
    for (const auto& rule : header_limit_) {
      auto h = v.header(rule.name);
      // gor: an absent or empty header is not sampled.
      if (h && !h->value.empty() && fnv1a32(h->value) % 100 >= rule.percent)
        return drop(drop_reason::header_limiter);
    }
    for (const auto& rule : param_limit_) {
      auto val = v.query_param(rule.name);
      // The raw (still URL-encoded) value is hashed, as gor does, so both sample alike.
      if (val && fnv1a32(*val) % 100 >= rule.percent) return drop(drop_reason::param_limiter);
    }
  }

  std::string scratch;
  auto too_long_rewrite = [&] { stats_.too_long.fetch_add(1, std::memory_order_relaxed); };
  if (!rewrite_url_.empty()) {
    std::string_view target = line.target;
    for (const auto& rule : rewrite_url_) {
      // One pass: the number of replacements says whether the rule matched.
      auto n = rule.re.replace_all(target, rule.replacement, scratch);
      if (!n) {
        too_long_rewrite();
        break;
      }
      if (*n == 0) continue;
      own();
      set_target(out, scratch);
      cur = out;
      if (!reparse()) return changed();
      break;
    }
  }
  for (const auto& rule : rewrite_header_) {
    http_view v(cur, line);
    auto h = v.header(rule.name);
    if (!h) continue;  // gor stops every later rule here; coreplay goes on
    auto n = rule.re.replace_all(h->value, rule.replacement, scratch);
    if (!n) {
      too_long_rewrite();
      continue;
    }
    if (*n == 0) continue;
    own();
    set_header(out, rule.name, scratch);
    cur = out;
    if (!reparse()) return changed();
  }

  if (!owned || cur == payload) return outcome::unchanged;
  return changed();
}

std::string http_modifier::summary() const {
  auto get = [](const std::atomic<std::uint64_t>& a) { return std::to_string(a.load(std::memory_order_relaxed)); };
  std::uint64_t total = 0;
  std::string reasons;
  for (std::size_t i = 0; i < stats_.dropped.size(); ++i) {
    auto n = stats_.dropped[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    total += n;
    if (!reasons.empty()) reasons += ", ";
    reasons.append(to_string(static_cast<drop_reason>(i))).append("=").append(std::to_string(n));
  }
  std::string s = "seen=" + get(stats_.seen) + " changed=" + get(stats_.changed) +
                  " dropped=" + std::to_string(total);
  if (!reasons.empty()) s += " (" + reasons + ")";
  if (auto n = stats_.not_http.load(std::memory_order_relaxed)) s += " not_http=" + std::to_string(n);
  return s;
}

message_ptr http_modifier::apply(message_ptr m) {
  if (!m || !m->is_request()) return m;
  thread_local std::string out;
  switch (rewrite(m->payload(), out)) {
    case outcome::unchanged: return m;
    case outcome::dropped: return nullptr;
    case outcome::changed: return m->with_payload(out);
  }
  return m;
}

std::unique_ptr<http_modifier> make_http_modifier(const http_modifier_options& options) {
  if (options.empty()) return nullptr;
  return std::make_unique<http_modifier>(options);
}

}  // namespace coreplay::http
