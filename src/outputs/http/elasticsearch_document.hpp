// Sans-I/O pieces of --output-http-elasticsearch: the URL, gor's document for one replayed
// request/response pair, the NDJSON bulk body, and what Elasticsearch answered to it.
//
// The document has gor's fields (elasticsearch.go: ESRequestResponse), in gor's order, with
// gor's omitempty: Req_URL, Req_Method, Req_User-Agent, Req_Accept-Language*, Req_Accept*,
// Req_Accept-Encoding*, Req_If-Modified-Since*, Req_Connection*, Req_Cookies*, Resp_Status,
// Resp_Status-Code, Resp_Proto*, Resp_Content-Length*, Resp_Content-Type*,
// Resp_Transfer-Encoding*, Resp_Content-Encoding*, Resp_Expires*, Resp_Cache-Control*,
// Resp_Vary*, Resp_Set-Cookie*, RTT, Timestamp (* left out when empty). Header values are the
// first header of that name, as gor's proto.Header. Where coreplay differs, on purpose:
// RTT is the exchange's duration in whole milliseconds (gor computes seconds + ns·1e-6, right
// only below 1 s: 2.5 s gives 502); Timestamp is when the response was read, in UTC
// (RFC 3339 with nanoseconds, trailing zeros cut, as Go prints it; Go uses the local zone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace coreplay::http_replay {

// `scheme://[user[:password]@]host[:port]/[path/]index`, gor's rules: the scheme (http or
// https) and the host are required; the index is the last path segment and must not be empty.
// Without a port, 9200 (as gor's Elasticsearch client). The path before the index is kept as
// a prefix of `/_bulk` (for an Elasticsearch behind a proxy path; gor's client drops it).
struct elasticsearch_target {
  bool tls = false;
  std::string host;       // without brackets for IPv6 literals
  std::string port;
  std::string authority;  // the Host header value
  std::string bulk_path;  // "/_bulk" or "/prefix/_bulk"
  std::string index;
  std::string authorization;  // "Basic ..." from the userinfo; empty without
};
// Throws std::invalid_argument with a message naming the flag, the URL and what is wrong.
elasticsearch_target parse_elasticsearch_url(std::string_view url);

// Appends `s` as a JSON string: quotes, backslashes and control bytes escaped; bytes that are
// not well-formed UTF-8 become \ufffd each (as Go's encoding/json); valid UTF-8 kept as is.
void append_json_string(std::string& out, std::string_view s);

// Appends `2026-11-25T15:56:31.123456789Z` (trailing zeros of the fraction cut, no fraction
// for a whole second).
void append_rfc3339_nano(std::string& out, std::int64_t unix_ns);

// The bulk action line for `index`, with its newline: {"index":{"_index":"..."}}
std::string bulk_action_line(std::string_view index);

// Appends gor's document for one pair, with its newline. `request` is the recorded request,
// `response` the replayed response's head (the body is not read; interim 1xx heads before it
// are skipped); `rtt_ns` the exchange's
// duration; `at_unix_ns` the Timestamp.
void append_document(std::string& out, std::string_view request, std::string_view response, std::int64_t rtt_ns,
                     std::int64_t at_unix_ns);

// What a 2xx answer to a bulk request says: how many items failed (status >= 300) and the
// first failure's reason, for the log. Scans the compact JSON Elasticsearch writes; an
// answer it cannot read counts no failures.
struct bulk_result {
  std::size_t failed = 0;
  std::string first_reason;
};
bulk_result read_bulk_response(std::string_view body);

}  // namespace coreplay::http_replay
