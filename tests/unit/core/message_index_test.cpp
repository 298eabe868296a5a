// message::index (the meta line parser) against the straightforward split it replaced, on
// random meta lines built from the characters that matter.
#include <coreplay/message.hpp>

#include <catch2/catch.hpp>

#include <charconv>
#include <random>
#include <string>
#include <string_view>

using namespace coreplay;

namespace {

struct reference_meta {
  bool ok = false;
  std::string id;
  std::int64_t ts = 0;
  std::optional<std::int64_t> latency;
  std::size_t meta_len = 0;
};

std::optional<std::int64_t> reference_int(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// gor splits the meta line on single spaces: type, id, timestamp, [latency], [extra...].
reference_meta reference_parse(std::string_view all) {
  reference_meta r;
  auto nl = all.find('\n');
  r.meta_len = nl == std::string_view::npos ? all.size() : nl;
  std::string_view meta = all.substr(0, r.meta_len);
  std::string_view fields[4];
  std::size_t n = 0, pos = 0;
  while (n < 4) {
    auto sp = meta.find(' ', pos);
    fields[n++] = meta.substr(pos, sp == std::string_view::npos ? std::string_view::npos : sp - pos);
    if (sp == std::string_view::npos) break;
    pos = sp + 1;
  }
  if (n < 3 || fields[0].size() != 1 || fields[1].empty()) return r;
  auto ts = reference_int(fields[2]);
  if (!ts) return r;
  r.ok = true;
  r.ts = *ts;
  r.id = std::string(fields[1]);
  if (n >= 4) r.latency = reference_int(fields[3]);
  return r;
}

}  // namespace

TEST_CASE("meta line parser agrees with a plain split on random lines", "[unit][message]") {
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789-+ \nab";
  const char* numbers[] = {"0", "-0", "7", "-1", "1700000000000000000", "9223372036854775807",
                           "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
                           "00000000000000000000001", "12a", "-", "", "+5", "99999999999999999999"};
  for (int i = 0; i < 200000; ++i) {
    std::string rec;
    if (rng() % 2) {
      // Shaped like a meta line, with random damage.
      rec += "123 "[rng() % 4];
      rec += rng() % 8 ? " " : "";
      rec += std::string(rng() % 30, "0123456789abcdef"[rng() % 16]);
      rec += rng() % 8 ? " " : "";
      if (rng() % 2) {
        rec += numbers[rng() % std::size(numbers)];
      } else {  // any length of digits, so every width of the fast path is crossed
        if (rng() % 4 == 0) rec += '-';
        auto digits = 1 + rng() % 40;
        for (std::size_t k = 0; k < digits; ++k) rec += static_cast<char>('0' + rng() % 10);
      }
      if (rng() % 2) {
        rec += ' ';
        rec += numbers[rng() % std::size(numbers)];
      }
      if (rng() % 3 == 0) {
        rec += ' ';
        rec += numbers[rng() % std::size(numbers)];
      }
      if (rng() % 4) rec += '\n';
      auto extra = rng() % 50;
      for (std::size_t k = 0; k < extra; ++k) rec += alphabet[rng() % alphabet.size()];
      if (rng() % 2) rec += std::string(64, 'x');  // a payload: long enough for the vector fast path
    } else {
      auto len = rng() % 40;
      for (std::size_t k = 0; k < len; ++k) rec += alphabet[rng() % alphabet.size()];
    }
    auto ref = reference_parse(rec);
    auto m = message::parse(rec);
    INFO("record: " << rec);
    REQUIRE(static_cast<bool>(m) == ref.ok);
    if (!m) continue;
    CHECK(m->id() == ref.id);
    CHECK(m->timestamp_ns() == ref.ts);
    CHECK(m->latency_ns() == ref.latency);
    CHECK(m->meta().size() == ref.meta_len);
    CHECK(m->record() == rec);
    CHECK(m->payload() == std::string_view(rec).substr(std::min(rec.size(), ref.meta_len + 1)));
  }
}

// The shape of gor's own records (24-hex id, 19-digit timestamp, "-1" or a short latency, a
// payload), one byte of the meta line changed in most of them: the fast path's every exit.
TEST_CASE("meta line parser agrees with a plain split on damaged gor-shaped lines", "[unit][message]") {
  std::mt19937_64 rng(11);
  const std::string alphabet = "0123456789-+ \nab";
  for (int i = 0; i < 200000; ++i) {
    std::string rec = "12 "[rng() % 3] + std::string(" ");
    for (int k = 0; k < 24; ++k) rec += "0123456789abcdef"[rng() % 16];
    rec += ' ';
    rec += std::to_string(1'000'000'000'000'000'000LL + static_cast<std::int64_t>(rng() % 8'000'000'000'000'000'000ULL));
    switch (rng() % 4) {
      case 0: rec += " -1"; break;
      case 1: rec += " " + std::to_string(rng() % 1'000'000'000ULL); break;
      case 2: rec += " " + std::to_string(rng() % 100); break;
      default: break;
    }
    if (rng() % 8 == 0) rec += " extra";
    rec += '\n';
    rec += std::string(rng() % 80, 'p');
    if (rng() % 4) rec[rng() % std::min<std::size_t>(rec.size(), 64)] = alphabet[rng() % alphabet.size()];
    auto ref = reference_parse(rec);
    auto m = message::parse(rec);
    INFO("record: " << rec);
    REQUIRE(static_cast<bool>(m) == ref.ok);
    if (!m) continue;
    CHECK(m->type() == static_cast<message_type>(rec[0]));
    CHECK(m->id() == ref.id);
    CHECK(m->timestamp_ns() == ref.ts);
    CHECK(m->latency_ns() == ref.latency);
    CHECK(m->meta().size() == ref.meta_len);
    CHECK(m->payload() == std::string_view(rec).substr(std::min(rec.size(), ref.meta_len + 1)));
    message_meta mm;
    REQUIRE(message::parse_meta(rec, mm));
    auto v = message::parse_view(nullptr, rec, mm);
    CHECK(v->type() == m->type());
    CHECK(v->id() == m->id());
    CHECK(v->timestamp_ns() == m->timestamp_ns());
    CHECK(v->latency_ns() == m->latency_ns());
    CHECK(v->meta() == m->meta());
    CHECK(v->payload() == m->payload());
  }
}
