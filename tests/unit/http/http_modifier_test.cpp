#include "core/http/http_modifier.hpp"
#include "core/http/http_view.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using namespace coreplay;
using namespace coreplay::http;

namespace {

const std::string post_w3 = "POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2";

std::string post_to(const std::string& target) {
  return "POST " + target + " HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2";
}

// Runs one payload through the modifier: "" when dropped, the (maybe edited) payload otherwise.
std::string run(const http_modifier& m, const std::string& payload) {
  std::string out;
  switch (m.rewrite(payload, out)) {
    case http_modifier::outcome::unchanged: return payload;
    case http_modifier::outcome::changed: return out;
    case http_modifier::outcome::dropped: return "";
  }
  return "?";
}

}  // namespace

TEST_CASE("no modifier flags give no modifier", "[unit][http]") {
  http_modifier_options o;
  CHECK(o.empty());
  CHECK(make_http_modifier(o) == nullptr);
  o.original_host = true;
  CHECK(o.empty());  // not a modifier by itself
  o.allow_method = {"GET"};
  CHECK(make_http_modifier(o) != nullptr);
}

TEST_CASE("allow-method is exact and case-sensitive", "[unit][http]") {
  http_modifier_options o;
  o.allow_method = {"GET", "PURGE"};
  http_modifier m(o);
  CHECK(run(m, "GET / HTTP/1.1\r\n\r\n") == "GET / HTTP/1.1\r\n\r\n");
  CHECK(run(m, "PURGE /x HTTP/1.1\r\n\r\n") == "PURGE /x HTTP/1.1\r\n\r\n");
  CHECK(run(m, "get / HTTP/1.1\r\n\r\n").empty());
  CHECK(run(m, post_w3).empty());
  drop_reason why{};
  std::string out;
  CHECK(m.rewrite("OPTIONS * HTTP/1.1\r\n\r\n", out, &why) == http_modifier::outcome::dropped);
  CHECK(why == drop_reason::method);
  CHECK(m.stats().dropped[static_cast<int>(drop_reason::method)] == 3);
  CHECK(m.summary() == "seen=5 changed=0 dropped=3 (allow_method=3)");
}

TEST_CASE("set-header replaces the first match or inserts after the request line (gor tests)",
          "[unit][http]") {
  http_modifier_options o;
  o.set_header = {"Header1:1", "Host:localhost"};
  CHECK(run(http_modifier(o), post_w3) ==
        "POST /post HTTP/1.1\r\nHeader1: 1\r\nContent-Length: 7\r\nHost: localhost\r\n\r\na=1&b=2");
  o.set_header = {"User-Agent:Gor"};
  CHECK(run(http_modifier(o), post_w3) ==
        "POST /post HTTP/1.1\r\nUser-Agent: Gor\r\nContent-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2");
  // Case of the existing name and its other duplicates are kept; the value may hold ':'.
  o.set_header = {"  x-forwarded-for :  10.0.0.1:80 "};
  CHECK(run(http_modifier(o), "GET / HTTP/1.1\r\nX-Forwarded-For: a\r\nX-Forwarded-For: b\r\n\r\n") ==
        "GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1:80\r\nX-Forwarded-For: b\r\n\r\n");
  // LF-only request: the inserted line uses LF too.
  o.set_header = {"X-Replay: 1"};
  CHECK(run(http_modifier(o), "GET / HTTP/1.1\nHost: a\n\n") == "GET / HTTP/1.1\nX-Replay: 1\nHost: a\n\n");
}

TEST_CASE("set-header Host forces --http-original-host", "[unit][http]") {
  http_modifier_options o;
  CHECK_FALSE(o.keeps_original_host());
  o.set_header = {"User-Agent: x"};
  CHECK_FALSE(o.keeps_original_host());
  o.set_header.push_back(" host : custom-host.com");
  CHECK(o.keeps_original_host());
  http_modifier_options p;
  p.original_host = true;
  CHECK(p.keeps_original_host());
}

TEST_CASE("set-param replaces or appends a query parameter", "[unit][http]") {
  http_modifier_options o;
  o.set_param = {"api_key=1"};
  http_modifier m(o);
  CHECK(run(m, post_to("/post?api_key=1234")) == post_to("/post?api_key=1"));
  CHECK(run(m, post_to("/post")) == post_to("/post?api_key=1"));
  CHECK(run(m, post_to("/post?a=%20b")) == post_to("/post?a=%20b&api_key=1"));
  CHECK(run(m, post_to("/post?api_key=1")) == post_to("/post?api_key=1"));
  o.set_param = {"q=a%20b&c"};  // no URL encoding, as gor
  CHECK(run(http_modifier(o), post_to("/s?q=x")) == post_to("/s?q=a%20b&c"));
}

TEST_CASE("allow-url and disallow-url match the path and query (gor tests)", "[unit][http]") {
  http_modifier_options o;
  o.allow_url = {"/v1/app", "/v1/api"};
  http_modifier allow(o);
  CHECK_FALSE(run(allow, post_to("/v1/app/test")).empty());
  CHECK_FALSE(run(allow, post_to("/v1/api/test")).empty());
  CHECK(run(allow, post_to("/other")).empty());
  CHECK(run(allow, post_to("/other?next=/v1/app")) == post_to("/other?next=/v1/app"));  // query counts

  http_modifier_options n;
  n.disallow_url = {"/restricted1", "/some/restricted2"};
  http_modifier deny(n);
  CHECK_FALSE(run(deny, post_to("/v1/app/test")).empty());
  CHECK(run(deny, post_to("/restricted1")).empty());
  CHECK(run(deny, post_to("/some/restricted2")).empty());

  http_modifier_options a;
  a.allow_url = {"^/api/"};
  CHECK(run(http_modifier(a), post_to("http://example.com/api/x")).empty());  // not the full URL
  a.allow_url = {"(?i)^/API/"};
  CHECK_FALSE(run(http_modifier(a), post_to("/api/x")).empty());
}

TEST_CASE("set-header and set-param run before the filters", "[unit][http]") {
  http_modifier_options o;
  o.set_param = {"src=replay"};
  o.allow_url = {"src=replay"};
  o.set_header = {"X-Env: staging"};
  o.allow_header = {"X-Env: ^staging$"};
  CHECK(run(http_modifier(o), "GET /a HTTP/1.1\r\n\r\n") ==
        "GET /a?src=replay HTTP/1.1\r\nX-Env: staging\r\n\r\n");
}

TEST_CASE("allow-header: every rule must match, an absent header drops (gor tests)",
          "[unit][http]") {
  http_modifier_options o;
  o.allow_header = {"Host:^www.w3.org$"};
  CHECK_FALSE(run(http_modifier(o), post_w3).empty());
  o.allow_header = {"Host:^www.w4.org$"};
  CHECK(run(http_modifier(o), post_w3).empty());
  o.allow_header = {"host: ^www", "Content-Length: ^7$"};
  CHECK_FALSE(run(http_modifier(o), post_w3).empty());
  o.allow_header = {"Host: ^www", "Content-Length: ^8$"};
  CHECK(run(http_modifier(o), post_w3).empty());
  o.allow_header = {"X-Missing: .*"};
  CHECK(run(http_modifier(o), post_w3).empty());
  // Only the head counts: a matching line in the body does not let it through.
  o.allow_header = {"X-Token: ^ok$"};
  CHECK(run(http_modifier(o), "POST / HTTP/1.1\r\nHost: a\r\n\r\nX-Token: ok\r\n").empty());
}

TEST_CASE("disallow-header drops present matching headers (gor tests)", "[unit][http]") {
  std::string w4 = "POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.w4.org\r\n\r\na=1&b=2";
  http_modifier_options o;
  o.disallow_header = {"Host:^www.w3.org$"};
  CHECK_FALSE(run(http_modifier(o), w4).empty());
  o.disallow_header = {"Host:^www.w4.org$"};
  CHECK(run(http_modifier(o), w4).empty());
  o.disallow_header = {"Host: www*"};
  CHECK(run(http_modifier(o), w4).empty());
  o.disallow_header = {"User-Agent: Gor"};  // absent passes
  CHECK_FALSE(run(http_modifier(o), w4).empty());
  // The loop-breaker users set up for gor #828: tag replayed traffic, drop it when seen again.
  o.disallow_header = {"X-Goreplay: ."};
  CHECK(run(http_modifier(o), "GET / HTTP/1.1\r\nx-goreplay: 1\r\n\r\n").empty());
}

TEST_CASE("basic-auth-filter matches decoded user:pass (gor tests)", "[unit][http]") {
  auto with_auth = [](const std::string& b64) {
    return "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic " + b64 + "\r\n\r\n";
  };
  const std::string customer3 = with_auth("Y3VzdG9tZXIzOndlbGNvbWU=");        // customer3:welcome
  const std::string customer6 = with_auth("Y3VzdG9tZXI2OnJlc3RAMTIzXlRFU1Q=");  // customer6:rest@123^TEST
  const std::string mickey = with_auth("bWlja2V5IG1vdXNlOmhhcHB5MTIz");          // mickey mouse:happy123
  http_modifier_options o;
  o.basic_auth_filter = {"^customer[0-9].*"};
  http_modifier customers(o);
  CHECK_FALSE(run(customers, customer3).empty());
  CHECK_FALSE(run(customers, customer6).empty());
  CHECK(run(customers, mickey).empty());
  o.basic_auth_filter = {"^(homer simpson|mickey mouse).*"};
  http_modifier cartoon(o);
  CHECK(run(cartoon, customer6).empty());
  CHECK_FALSE(run(cartoon, mickey).empty());
  // No Authorization, or another scheme: passes. Broken base64: dropped.
  CHECK_FALSE(run(cartoon, "GET / HTTP/1.1\r\n\r\n").empty());
  CHECK_FALSE(run(cartoon, "GET / HTTP/1.1\r\nAuthorization: Bearer abc\r\n\r\n").empty());
  CHECK(run(cartoon, with_auth("!!notbase64")).empty());
  // Scheme name case and missing padding are tolerated.
  CHECK_FALSE(run(cartoon, "GET / HTTP/1.1\r\nauthorization: basic bWlja2V5IG1vdXNlOmhhcHB5MTIz\r\n\r\n").empty());
  CHECK_FALSE(run(customers, with_auth("Y3VzdG9tZXIzOndlbGNvbWU")).empty());
}

TEST_CASE("header-limiter and param-limiter (gor tests)", "[unit][http]") {
  auto with_header = [](const std::string& h) {
    return "POST / HTTP/1.1\r\n" + h + "Content-Length: 7\r\nHost: www.w3.org\r\n\r\na=1&b=2";
  };
  http_modifier_options o;
  o.header_limiter = {"Header2:1/2"};
  http_modifier hm(o);
  CHECK_FALSE(run(hm, with_header("")).empty());
  CHECK(run(hm, with_header("Header2: 3\r\n")).empty());  // fnv32a("3") % 100 = 82
  CHECK_FALSE(run(hm, with_header("Header2: 1\r\n")).empty());  // 44
  CHECK_FALSE(run(hm, with_header("header2:1\r\n")).empty());

  http_modifier_options p;
  p.param_limiter = {"user_id:1/2"};
  http_modifier pm(p);
  CHECK_FALSE(run(pm, post_to("/")).empty());
  CHECK(run(pm, post_to("/?user_id=3")).empty());
  CHECK_FALSE(run(pm, post_to("/?user_id=1")).empty());
  CHECK(run(pm, post_to("/?a=b&user_id=3")).empty());
}

TEST_CASE("limiters are consistent per value and keep about pct of values", "[unit][http]") {
  http_modifier_options o;
  o.header_limiter = {"X-User: 25%"};
  o.param_limiter = {"uid: 25%"};
  http_modifier m(o);
  int kept_h = 0, kept_p = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::string id = "user-" + std::to_string(i);
    std::string h = "GET / HTTP/1.1\r\nX-User: " + id + "\r\n\r\n";
    std::string q = "GET /?uid=" + id + " HTTP/1.1\r\n\r\n";
    bool kh = !run(m, h).empty(), kp = !run(m, q).empty();
    kept_h += kh;
    kept_p += kp;
    CHECK(kh == kp);  // same value, same verdict, whichever carries it
    if (i % 1000 == 0) CHECK(kh == !run(m, h).empty());
  }
  // Binomial(20000, 0.25): sd ≈ 61; allow 5 sd.
  CHECK(kept_h > 5000 - 310);
  CHECK(kept_h < 5000 + 310);
  CHECK(kept_p == kept_h);
}

TEST_CASE("limiter values parse like gor, with clear errors", "[unit][http]") {
  CHECK(parse_limiter_percent("1/2") == 50);
  CHECK(parse_limiter_percent("10%") == 10);
  CHECK(parse_limiter_percent(" 25% ") == 25);
  CHECK(parse_limiter_percent("1/3") == 33);
  CHECK(parse_limiter_percent("0%") == 0);
  CHECK(parse_limiter_percent("100%") == 100);
  CHECK_THROWS_AS(parse_limiter_percent("1"), std::invalid_argument);
  CHECK_THROWS_AS(parse_limiter_percent("abc%"), std::invalid_argument);
  CHECK_THROWS_AS(parse_limiter_percent("101%"), std::invalid_argument);
  CHECK_THROWS_AS(parse_limiter_percent("1/0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_limiter_percent("%5"), std::invalid_argument);
  http_modifier_options o;
  o.header_limiter = {"Header2:1"};
  CHECK_THROWS_WITH(http_modifier(o), Catch::Contains("--http-header-limiter 'Header2:1'"));
  o.header_limiter = {"no-colon-50%"};
  CHECK_THROWS_AS(http_modifier(o), std::invalid_argument);
}

TEST_CASE("flag values are split and checked like gor's", "[unit][http]") {
  auto throws = [](void (*fill)(http_modifier_options&)) {
    http_modifier_options o;
    fill(o);
    try {
      http_modifier m(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  // gor's TestHTTPHeaderFilters
  CHECK(throws([](auto& o) { o.allow_header = {"Header1:^$", "Header2:^:$"}; }).empty());
  CHECK_THAT(throws([](auto& o) { o.allow_header = {"Header3-^$"}; }),
             Catch::Contains("--http-allow-header 'Header3-^$'"));
  // gor's TestUrlRewriteMap
  CHECK(throws([](auto& o) { o.rewrite_url = {"/v1/user/([^\\/]+)/ping:/v2/user/$1/ping"}; }).empty());
  CHECK_THAT(throws([](auto& o) { o.rewrite_url = {"/v1/user/([^\\/]+)/ping"}; }),
             Catch::Contains("--http-rewrite-url"));
  CHECK_THAT(throws([](auto& o) { o.allow_url = {"/a(b"}; }),
             Catch::Contains("--http-allow-url '/a(b'") && Catch::Contains("invalid regular expression"));
  CHECK_THAT(throws([](auto& o) { o.disallow_header = {"Host: ["}; }),
             Catch::Contains("--http-disallow-header"));
  CHECK_THAT(throws([](auto& o) { o.basic_auth_filter = {"*x"}; }),
             Catch::Contains("--http-basic-auth-filter"));
  CHECK_THAT(throws([](auto& o) { o.set_header = {"NoColon"}; }), Catch::Contains("--http-set-header"));
  CHECK_THAT(throws([](auto& o) { o.set_param = {"novalue"}; }), Catch::Contains("--http-set-param"));
  CHECK_THAT(throws([](auto& o) { o.rewrite_header = {"Host: no-comma"}; }),
             Catch::Contains("--http-rewrite-header"));
  CHECK_THAT(throws([](auto& o) { o.rewrite_header = {"Host (.*),x"}; }),
             Catch::Contains("--http-rewrite-header"));
  CHECK_THAT(throws([](auto& o) { o.allow_method = {""}; }), Catch::Contains("--http-allow-method"));
  // Values that would break the request line or inject header lines are refused.
  CHECK_THAT(throws([](auto& o) { o.set_param = {"q=a b"}; }), Catch::Contains("URL-encoded"));
  CHECK_THAT(throws([](auto& o) { o.set_header = {"X-A: 1\r\nX-Injected: 2"}; }),
             Catch::Contains("CR, LF"));
  CHECK_THAT(throws([](auto& o) { o.set_header = {"Bad Name: 1"}; }), Catch::Contains("token"));
  CHECK_THAT(throws([](auto& o) { o.rewrite_url = {"^/a:/b c"}; }), Catch::Contains("URL-encoded"));
  CHECK_THAT(throws([](auto& o) { o.rewrite_header = {"Host: a,b\nc"}; }), Catch::Contains("CR, LF"));
}

TEST_CASE("rewrite-url: first matching rule, Go expansion (gor tests)", "[unit][http]") {
  http_modifier_options o;
  o.rewrite_url = {"/v1/user/([^\\/]+)/ping:/v2/user/$1/ping"};
  http_modifier m(o);
  CHECK(run(m, post_to("/v1/user/joe/ping")) == post_to("/v2/user/joe/ping"));
  CHECK(run(m, post_to("/v1/user/ping")) == post_to("/v1/user/ping"));

  o.rewrite_url = {"^/a/(\\w+):/b/${1}x", "^/a:/never"};  // only the first matching rule
  CHECK(run(http_modifier(o), post_to("/a/joe?q=1")) == post_to("/b/joex?q=1"));
  o.rewrite_url = {"^/a/(\\w+):/b/$1x"};  // $1x names group "1x": empty
  CHECK(run(http_modifier(o), post_to("/a/joe")) == post_to("/b/"));
  o.rewrite_url = {"^/(?P<ver>v[0-9])/(.*):/api/${ver}/$2"};
  CHECK(run(http_modifier(o), post_to("/v3/items?x=1")) == post_to("/api/v3/items?x=1"));
  o.rewrite_url = {"o:0"};  // ReplaceAll: every match
  CHECK(run(http_modifier(o), post_to("/foo/boo")) == post_to("/f00/b00"));
  o.rewrite_url = {"x*:-"};  // Go's empty-match rules
  CHECK(run(http_modifier(o), post_to("/axxb")) == post_to("-/-a-b-"));
  o.rewrite_url = {"^/price:/cost$$1"};
  CHECK(run(http_modifier(o), post_to("/price")) == post_to("/cost$1"));
}

TEST_CASE("rewrite-header applies every rule, even after an absent header", "[unit][http]") {
  http_modifier_options o;
  o.rewrite_header = {"Host: (.*).w3.org,$1.beta.w3.org"};
  CHECK(run(http_modifier(o), post_w3) ==
        "POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: www.beta.w3.org\r\n\r\na=1&b=2");
  o.rewrite_header = {"X-Absent: .*,x", "Host: ^www\\.(.*),api.$1"};
  CHECK(run(http_modifier(o), post_w3) ==
        "POST /post HTTP/1.1\r\nContent-Length: 7\r\nHost: api.w3.org\r\n\r\na=1&b=2");
  o.rewrite_header = {"Host: ^nomatch$,x"};
  CHECK(run(http_modifier(o), post_w3) == post_w3);
}

TEST_CASE("the modifier judges the first of pipelined requests and keeps the rest", "[unit][http]") {
  std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: y\r\nContent-Length: 1\r\n\r\nz";
  http_modifier_options o;
  o.allow_method = {"GET"};
  o.set_header = {"Host: new"};
  o.rewrite_url = {"^/a$:/c"};
  CHECK(run(http_modifier(o), two) ==
        "GET /c HTTP/1.1\r\nHost: new\r\n\r\nPOST /b HTTP/1.1\r\nHost: y\r\nContent-Length: 1\r\n\r\nz");
}

TEST_CASE("message_filter: requests filtered, other messages untouched", "[unit][http]") {
  http_modifier_options o;
  o.allow_method = {"GET"};
  o.set_header = {"X-Replay: 1"};
  http_modifier m(o);
  auto get = message::make(message_type::request, "abc", 1, std::nullopt, "GET / HTTP/1.1\r\n\r\n");
  auto out = m.apply(get);
  REQUIRE(out);
  CHECK(out->payload() == "GET / HTTP/1.1\r\nX-Replay: 1\r\n\r\n");
  CHECK(out->meta() == get->meta());
  CHECK(m.apply(message::make(message_type::request, "abd", 1, std::nullopt, "PUT / HTTP/1.1\r\n\r\n")) == nullptr);
  auto resp = message::make(message_type::response, "abc", 2, 5, "HTTP/1.1 200 OK\r\n\r\n");
  CHECK(m.apply(resp) == resp);
  auto garbage = message::make(message_type::request, "abe", 1, std::nullopt, "\x16\x03\x01 tls bytes");
  CHECK(m.apply(garbage) == garbage);
  CHECK(m.stats().not_http == 1);
  // A request whose edit is a no-op stays the same message (no copy).
  http_modifier_options n;
  n.set_header = {"Host: a"};
  http_modifier same(n);
  auto host_a = message::make(message_type::request, "abf", 1, std::nullopt, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(same.apply(host_a) == host_a);
}

TEST_CASE("long regex subjects match on a deep stack; over-long ones fail closed",
          "[unit][http]") {
  http_modifier_options o;
  o.allow_url = {"^/(a|b)*$"};
  http_modifier m(o);
  std::string long_url = "GET /" + std::string(100000, 'a') + " HTTP/1.1\r\n\r\n";
  CHECK(run(m, long_url) == long_url);
  std::string cookie = "GET /ab HTTP/1.1\r\nCookie: " + std::string(6000, 'c') + "\r\n\r\n";
  o.allow_header = {"Cookie: ^(c|d)+$"};
  CHECK(run(http_modifier(o), cookie) == cookie);
  std::string huge = "GET /" + std::string(300000, 'a') + " HTTP/1.1\r\n\r\n";
  o.allow_header.clear();
  if (pattern::limits_subjects) {
    CHECK(run(m, huge).empty());
    CHECK(m.stats().too_long == 1);
    o.allow_url.clear();
    o.rewrite_url = {"(a|b)*:x"};
    CHECK(run(http_modifier(o), huge) == huge);
  } else {
    CHECK(run(m, huge) == huge);
    o.allow_url.clear();
  }
  o.rewrite_url = {"(a|b)*:x"};
  CHECK(run(http_modifier(o), long_url) == "GET x/x HTTP/1.1\r\n\r\n");
}

TEST_CASE("param-limiter hashes the raw URL-encoded value, as gor", "[unit][http]") {
  http_modifier_options o;
  o.param_limiter = {"uid: 50%"};
  http_modifier m(o);
  // Whether kept depends only on fnv1a32 of the bytes between '=' and '&'.
  for (const char* raw : {"a%20b", "a+b", "caf%C3%A9", "x%26y"}) {
    bool keep = fnv1a32(raw) % 100 < 50;
    std::string req = "GET /p?x=1&uid=" + std::string(raw) + "&z=2 HTTP/1.1\r\n\r\n";
    INFO(raw);
    CHECK(run(m, req).empty() == !keep);
  }
}

TEST_CASE("modifiers never touch header-like lines in a body", "[unit][http]") {
  const std::string req =
      "POST /form HTTP/1.1\r\nHost: www.w3.org\r\nContent-Length: 40\r\n\r\n"
      "Host: body.example\r\nX-Role: admin\r\n\r\nxx";
  http_modifier_options o;
  o.set_header = {"X-Role: user"};
  o.rewrite_header = {"Host: ^www\\.(.*)$,api.$1"};
  o.disallow_header = {"X-Role: admin"};  // runs after set-header: sees "user"
  CHECK(run(http_modifier(o), req) ==
        "POST /form HTTP/1.1\r\nX-Role: user\r\nHost: api.w3.org\r\nContent-Length: 40\r\n\r\n"
        "Host: body.example\r\nX-Role: admin\r\n\r\nxx");
}

TEST_CASE("modifiers work on LF-only requests", "[unit][http]") {
  const std::string req = "GET /v1/x?uid=1 HTTP/1.1\nHost: www.w3.org\nX-User: 1\n\n";
  http_modifier_options o;
  o.allow_method = {"GET"};
  o.set_header = {"X-Replayed: 1"};
  o.set_param = {"src=r"};
  o.allow_header = {"Host: ^www\\.w3\\.org$"};
  o.header_limiter = {"X-User: 50%"};   // fnv("1") % 100 = 44: kept
  o.rewrite_url = {"^/v1/(.*):/v2/$1"};
  o.rewrite_header = {"X-User: 1,2"};
  CHECK(run(http_modifier(o), req) ==
        "GET /v2/x?uid=1&src=r HTTP/1.1\nX-Replayed: 1\nHost: www.w3.org\nX-User: 2\n\n");
}
