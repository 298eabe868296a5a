#include "core/http/pattern.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using coreplay::http::pattern;

namespace {

std::string replace(const char* re, std::string_view subject, std::string_view tmpl) {
  std::string out;
  auto n = pattern(re).replace_all(subject, tmpl, out);
  REQUIRE(n);
  CHECK((*n > 0) == pattern(re).matches(subject));
  return out;
}

}  // namespace

TEST_CASE("pattern literal and anchored fast paths mean what the regex means", "[unit][http]") {
  struct row {
    const char* re;
    const char* subject;
    bool match;
  };
  for (auto r : std::initializer_list<row>{
           {"/v1/app", "/x/v1/app/y", true},
           {"/v1/app", "/v1/ap", false},
           {"^/health", "/healthz", true},
           {"^/health", "/x/health", false},
           {"^/health$", "/health", true},
           {"^/health$", "/healthz", false},
           {"\\.json$", "/a.json", true},
           {"\\.json$", "/ajson", false},
           {"\\.json$", "/a.json?x", false},
           {"a\\$", "xa$y", true},
           {"^a|b", "xb", true},  // '^' binds to the first alternative only
           {"^a|b", "a", true},
           {"^(a|b)", "xb", false},
           {"^", "", true},
           {"", "anything", true},
           {"(?i)^/API", "/api/x", true},
           {"(?i)/API", "/x/api", true},
           {"^/v[0-9]+/", "/v12/x", true},
           {"^/v[0-9]+/", "/x/v12/", false},
           {"\\d+", "abc123", true},
           {"a.c", "abc", true},
           {"a.c", "a.d", false},
           {"session=[0-9a-f]+", "x; session=ab12", true},   // literal-prefix prefilter
           {"session=[0-9a-f]+", "x; session=zz", false},
           {"session=[0-9a-f]+", "x; sess", false},
           {"ab*c", "xac", true},                            // 'b' is quantified: prefix "a"
           {"ab?c", "xac", true},
           {"ab{2}c", "abbc", true},
           {"a\\.b+", "xa.bb", true},
           {"^/api/v[12]/", "/api/v2/x", true},
           {"^/api/v[12]/", "/api/v3/x", false},
           {"^/api/v[12]/", "/apx/v1/", false},
           {"\\bword", "a word", true},
           {"o\\b", "foo bar", true},
           {"o\\b", "fooo", true},
           {"o\\b", "foox", false},
       }) {
    INFO(r.re << " on " << r.subject);
    CHECK(pattern(r.re).matches(r.subject) == r.match);
  }
}

TEST_CASE("pattern replace_all follows Go's ReplaceAll and Expand", "[unit][http]") {
  CHECK(replace("a(x*)b", "-ab-axxb-", "T") == "-T-T-");
  CHECK(replace("a(x*)b", "-ab-axxb-", "$1") == "--xx-");
  CHECK(replace("a(x*)b", "-ab-axxb-", "$1W") == "---");  // group "1W" does not exist
  CHECK(replace("a(x*)b", "-ab-axxb-", "${1}W") == "-W-xxW-");
  CHECK(replace("a(?P<mid>x*)b", "-ab-axxb-", "<${mid}>") == "-<>-<xx>-");
  CHECK(replace("a(?P<mid>x*)b", "-ab-axxb-", "<$mid>") == "-<>-<xx>-");
  CHECK(replace("a(x*)b", "-axb-", "$$1") == "-$1-");
  CHECK(replace("a(x*)b", "-axb-", "$") == "-$-");        // a bare '$' stays
  CHECK(replace("a(x*)b", "-axb-", "${1") == "-${1-");    // unclosed brace stays text
  CHECK(replace("a(x*)b", "-axb-", "$01") == "--");       // leading zero: a name, absent
  CHECK(replace("a(x*)b", "-axb-", "$0") == "-axb-");
  CHECK(replace("a(x*)b", "-axb-", "$9") == "--");        // out of range: empty
  CHECK(replace("x*", "abc", "-") == "-a-b-c-");
  CHECK(replace("^/v1/(.*)", "/v1/items?x=1", "/v2/$1") == "/v2/items?x=1");
  CHECK(replace("^/v1/(.*)", "/v0/items", "/v2/$1") == "/v0/items");
  CHECK(replace("(?i)^/API/", "/api/x", "/") == "/x");
  CHECK(replace("(b)|(c)", "abcd", "[$1$2]") == "a[b][c]d");  // unmatched group: empty
  CHECK(replace("id=([0-9]+)", "/x?a=1&id=42&id=7", "id=<$1>") == "/x?a=1&id=<42>&id=<7>");
  CHECK(replace("id=([0-9]+)", "/x?a=1", "id=<$1>") == "/x?a=1");
  CHECK(pattern("o").replace_all("foo", "0", *std::make_unique<std::string>()) == 2u);
  if (pattern::limits_subjects)
    CHECK(pattern("^(a|b)*x").replace_all(std::string(300000, 'a'), "", *std::make_unique<std::string>()) ==
          std::nullopt);
}

TEST_CASE("pattern rejects what its backend cannot compile", "[unit][http]") {
  CHECK_THROWS_AS(pattern("a(b"), pattern::error);
  CHECK_THROWS_AS(pattern("[a"), pattern::error);
  CHECK_THROWS_AS(pattern("(?P<name"), pattern::error);
  CHECK_THROWS_AS(pattern("a)"), std::invalid_argument);
  CHECK_NOTHROW(pattern("[^\\/]+"));
  CHECK_NOTHROW(pattern("(?:a|b)c"));
}

TEST_CASE("pattern handles long subjects without overflowing the stack", "[unit][http]") {
  std::string long_a(200000, 'a');
  CHECK(pattern("^(a|b)*$").search(long_a) == pattern::result::match);        // deep stack
  CHECK(pattern("(a|b)c").search(long_a + "c") == pattern::result::match);     // no repetition
  CHECK(pattern("a(b|c)").search(std::string(2000000, 'a')) == pattern::result::no_match);
  CHECK(pattern("(a|b)*").search(std::string(300000, 'a')) ==
        (pattern::limits_subjects ? pattern::result::too_long : pattern::result::match));
  CHECK(pattern("aaab").search(std::string(2000000, 'a')) == pattern::result::no_match);  // literal
  // The prefilter starts the repeating regex near its match, in place.
  CHECK(pattern("session=[0-9a-f]+").search(std::string(500000, 'x') + "session=12") ==
        pattern::result::match);
  std::string out;
  CHECK(pattern("(a)(b|c)").replace_all(std::string(100000, 'a') + "ab", "$2", out) == 1u);
  CHECK(out == std::string(100000, 'a') + "b");
}
