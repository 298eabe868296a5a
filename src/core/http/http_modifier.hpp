// gor's HTTP modifiers (--http-allow-method … --http-rewrite-header) as one message filter.
//
// They apply to requests (type 1) with a valid request line, in gor's fixed order (not the
// command-line order, gor #888): allow-method, set-header, set-param, allow-url, disallow-url,
// allow-header, disallow-header, basic-auth-filter, header-limiter, param-limiter,
// rewrite-url, rewrite-header. Everything else passes unchanged. A record holding several
// pipelined requests is judged and edited by its first request only (see http_view.hpp).
//
// Differences from gor, on purpose:
// - header lookups stop at the end of the head (gor scans into the body);
// - --http-rewrite-header applies every rule (gor stops at the first absent header);
// - any token method and HTTP/1.0/1.1 request line is a request (gor knows 9 methods);
// - bad values are errors naming the flag (gor turns e.g. `abc%` into 0 % silently);
// - header names in rules are trimmed (gor keeps `Host ` with its space and never matches);
// - values that would break the request (a space in a set-param value or rewrite-url
//   target, CR/LF in a header value, a header name that is not a token) are refused;
// - allow-header and disallow-header match an empty (present) header value against the
//   regex (gor treats empty as absent); the limiters keep gor's rule (empty: not sampled);
// - a Basic Authorization that is not valid base64 is dropped by basic-auth-filter.
#pragma once

#include <coreplay/plugin.hpp>

#include "core/http/pattern.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay::http {

// The raw values of each repeatable flag, as given on the command line.
struct http_modifier_options {
  std::vector<std::string> allow_method;       // --http-allow-method GET
  std::vector<std::string> set_header;         // --http-set-header 'Name: value'
  std::vector<std::string> set_param;          // --http-set-param name=value
  std::vector<std::string> allow_url;          // --http-allow-url REGEX
  std::vector<std::string> disallow_url;       // --http-disallow-url REGEX
  std::vector<std::string> allow_header;       // --http-allow-header 'Name: REGEX'
  std::vector<std::string> disallow_header;    // --http-disallow-header 'Name: REGEX'
  std::vector<std::string> basic_auth_filter;  // --http-basic-auth-filter REGEX
  std::vector<std::string> header_limiter;     // --http-header-limiter 'Name: 25%' (or 1/4)
  std::vector<std::string> param_limiter;      // --http-param-limiter 'name: 25%'
  std::vector<std::string> rewrite_url;        // --http-rewrite-url 'REGEX:REPLACEMENT'
  std::vector<std::string> rewrite_header;     // --http-rewrite-header 'Name: REGEX,REPLACEMENT'
  bool original_host = false;                  // --http-original-host (read by HTTP outputs)

  // True when no modifier flag is set: no filter is needed.
  bool empty() const noexcept;
  // Whether HTTP outputs keep the request's Host header: --http-original-host, or forced by
  // --http-set-header Host: … (gor #174: a Host set on purpose must reach the target).
  bool keeps_original_host() const noexcept;
};

// Why a request was dropped (for counters and tests).
enum class drop_reason : std::uint8_t {
  method,
  allow_url,
  disallow_url,
  allow_header,
  disallow_header,
  basic_auth,
  header_limiter,
  param_limiter,
  subject_too_long,  // a URL or header too long for the regex backend (pattern.hpp): fails closed
  count_
};
std::string_view to_string(drop_reason r) noexcept;

class http_modifier final : public message_filter {
 public:
  // Parses and compiles every rule; throws std::invalid_argument naming the flag and value.
  explicit http_modifier(const http_modifier_options& options);

  message_ptr apply(message_ptr m) override;

  enum class outcome { unchanged, changed, dropped };
  // The sans-message core: judges and edits one request payload. `out` receives the edited
  // payload when the outcome is `changed`; `why` the reason when `dropped`.
  outcome rewrite(std::string_view payload, std::string& out, drop_reason* why = nullptr) const;

  struct counters {
    std::atomic<std::uint64_t> seen{0};       // requests judged
    std::atomic<std::uint64_t> changed{0};    // requests edited
    std::atomic<std::uint64_t> not_http{0};   // type-1 payloads without a request line: passed
    std::atomic<std::uint64_t> too_long{0};   // regex subjects over pattern::max_subject_bytes
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(drop_reason::count_)> dropped{};
  };
  const counters& stats() const noexcept { return stats_; }
  // One line for --stats: "seen=… changed=… dropped=… (allow_method=…, …)".
  std::string summary() const;

 private:
  struct header_rule {
    std::string name;
    pattern re;
  };
  struct limiter_rule {
    std::string name;
    std::uint32_t percent;
  };
  struct rewrite_rule {
    std::string name;  // header rewrites only
    pattern re;
    std::string replacement;
  };
  struct setting {
    std::string name, value;
  };

  std::vector<std::string> methods_;
  std::vector<setting> headers_;
  std::vector<setting> params_;
  std::vector<pattern> allow_url_, disallow_url_;
  std::vector<header_rule> allow_header_, disallow_header_;
  std::vector<pattern> basic_auth_;
  std::vector<limiter_rule> header_limit_, param_limit_;
  std::vector<rewrite_rule> rewrite_url_, rewrite_header_;
  mutable counters stats_;
};

// nullptr when the options hold no modifier (gor returns a nil modifier then).
// Throws std::invalid_argument for a bad value.
std::unique_ptr<http_modifier> make_http_modifier(const http_modifier_options& options);

// Parses `Name: 25%` or the deprecated `num/den` of the limiter flags into a percent.
// Throws std::invalid_argument (without the flag name; callers add it).
std::uint32_t parse_limiter_percent(std::string_view value);

}  // namespace coreplay::http
