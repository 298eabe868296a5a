// libFuzzer target over the HTTP byte-level code: http_view and its edits, the modifier
// chain, the prettifier and the middleware decoder. Besides "no crash", it checks that edits
// of the head never change the body and that a set header reads back.
// Build: cmake --preset fuzz && cmake --build --preset fuzz --target fuzz_http
// Run:   ./build/fuzz/tests/fuzz_http -max_total_time=60 tests/fuzz/corpus/http (seeds; copy
//        the directory first if new inputs should not be written into the tree)
#include <coreplay/message.hpp>

#include "core/http/http_modifier.hpp"
#include "core/http/http_prettifier.hpp"
#include "core/http/http_view.hpp"
#include "core/http/middleware_codec.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace coreplay;
using namespace coreplay::http;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const http_modifier& modifier() {
  static const http_modifier m([] {
    http_modifier_options o;
    o.allow_method = {"GET", "POST", "PURGE"};
    o.set_header = {"X-Replayed: 1"};
    o.set_param = {"src=fuzz"};
    o.disallow_url = {"^/admin", "\\.(png|jpg)$"};
    o.allow_header = {"X-Replayed: ^1$"};
    o.disallow_header = {"User-Agent: (?i)bot"};
    o.basic_auth_filter = {"^[a-z]+:"};
    o.header_limiter = {"X-User: 50%"};
    o.param_limiter = {"uid: 50%"};
    o.rewrite_url = {"^/v1/(.*):/v2/$1", "(a+):<$1>"};
    o.rewrite_header = {"Host: ^(.*)\\.example\\.com$,${1}.test", "Cookie: s=([^;]*),s=x"};
    return o;
  }());
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  http_view v(in);
  {
    // The lazily found end of the head must not depend on how it was found.
    http_view by_lookup(in);
    (void)by_lookup.header("X-Not-There");
    check(by_lookup.headers_end() == v.headers_end() && by_lookup.body_begin() == v.body_begin() &&
          by_lookup.head_complete() == v.head_complete());
  }
  (void)v.header("Host");
  (void)v.query_param("uid");
  v.for_each_header([](const header_field& h) {
    check(h.value_begin <= h.value_end && h.line_begin < h.line_end);
    return true;
  });
  (void)parse_status_line(in);

  if (v.has_start_line()) {
    std::string body(v.body());
    bool complete = v.head_complete();
    std::string p(in);
    check(set_header(p, "X-Fuzz", "value"));
    http_view after(p);
    check(after.has_start_line());
    check(after.header("X-Fuzz") && after.header("X-Fuzz")->value == "value");
    if (complete) check(after.body() == body);
    delete_header(p, "X-Fuzz");
    check(!http_view(p).header("X-Fuzz"));
    if (complete) check(http_view(p).body() == body);
    if (v.request()) {
      check(set_query_param(p, "k", "v"));
      check(http_view(p).query_param("k") == "v");
      if (complete) check(http_view(p).body() == body);
    }
  }

  std::string out;
  (void)modifier().rewrite(in, out);

  static http_prettifier pretty(http_prettifier_options{.max_inflated_bytes = 1 << 20});
  (void)pretty.prettify(in, out);

  auto d = middleware_decode(in);
  if (d.msg) {
    check(d.error == middleware_error::none);
    std::string line = middleware_encode(*d.msg);
    auto again = middleware_decode(line);
    check(again.msg && again.msg->record() == d.msg->record());
  }
  line_splitter s(64);
  for (std::size_t at = 0; at < in.size(); at += 13) {
    s.feed(in.substr(at, 13));
    while (auto line = s.next()) check(line->size() <= 64);
    check(s.buffered() <= 64 + 13);
  }
  return 0;
}
