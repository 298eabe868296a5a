#include "core/gor_record.hpp"
#include "core/gzip_stream.hpp"
#include "support/gor_record_events.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace coreplay;

namespace {

// The separator spelled out from the format rules, independent of the codec's constant.
const std::string sep = std::string("\x0A\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\x0A", 14);

std::vector<message_ptr> read_all(std::string_view bytes, std::size_t feed_size = 0,
                                  gor_record_reader* reader_out = nullptr,
                                  std::size_t max = default_max_record_bytes) {
  gor_record_reader local(max);
  gor_record_reader& r = reader_out ? *reader_out : local;
  std::vector<message_ptr> out;
  if (feed_size == 0) feed_size = bytes.size() + 1;
  for (std::size_t i = 0; i < bytes.size(); i += feed_size) {
    r.feed(bytes.substr(i, feed_size));
    while (auto m = r.next()) out.push_back(m);
  }
  r.finish();
  while (auto m = r.next()) out.push_back(m);
  return out;
}

// An independent splitter: records are whatever lies between separators.
std::vector<std::string> split_on_separator(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    auto hit = s.find(sep, pos);
    if (hit == std::string::npos) break;
    out.push_back(s.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  if (pos != s.size()) out.push_back(s.substr(pos));
  return out;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace

TEST_CASE("gor separator bytes are gor's", "[unit][file]") {
  CHECK(gor_separator == sep);
  CHECK(gor_separator.size() == 14);
}

TEST_CASE("gor reader parses a hand-built file", "[unit][file]") {
  std::string file = "1 aaa 100 -1\nGET / HTTP/1.1\r\nHost: x\r\n\r\n" + sep +
                     "2 aaa 150 50\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + sep +
                     "3 aaa 200 7 extra\nHTTP/1.1 404 Not Found\r\n\r\n" + sep;
  for (std::size_t feed : {0, 1, 2, 3, 7, 13, 14, 15, 64}) {
    gor_record_reader r;
    auto recs = read_all(file, feed, &r);
    REQUIRE(recs.size() == 3);
    CHECK(recs[0]->type() == message_type::request);
    CHECK(recs[0]->id() == "aaa");
    CHECK(recs[0]->timestamp_ns() == 100);
    CHECK(recs[0]->payload() == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(recs[1]->type() == message_type::response);
    CHECK(recs[1]->latency_ns() == 50);
    CHECK(recs[1]->payload() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    CHECK(recs[2]->type() == message_type::replayed_response);
    CHECK(recs[2]->meta() == "3 aaa 200 7 extra");
    CHECK(r.malformed() == 0);
    CHECK(r.oversized() == 0);
  }
}

TEST_CASE("gor reader tracks record offsets", "[unit][file]") {
  std::string a = "1 a 1 -1\nA";
  std::string b = "1 b 2 -1\nBB";
  std::string file = a + sep + b + sep;
  gor_record_reader r;
  r.feed(file);
  REQUIRE(r.next());
  CHECK(r.last_offset() == 0);
  REQUIRE(r.next());
  CHECK(r.last_offset() == a.size() + 14);
  CHECK_FALSE(r.next());
}

TEST_CASE("gor reader keeps a final record without separator", "[unit][file]") {
  std::string file = "1 a 1 -1\nfirst" + sep + "1 b 2 -1\nlast\r\n\r\n";
  auto recs = read_all(file);
  REQUIRE(recs.size() == 2);
  CHECK(recs[1]->payload() == "last\r\n\r\n");

  SECTION("a truncated separator is not part of the payload") {
    for (std::size_t k = 2; k < 14; ++k) {
      auto recs2 = read_all("1 a 1 -1\nbody" + sep.substr(0, k));
      REQUIRE(recs2.size() == 1);
      CHECK(recs2[0]->payload() == "body");
    }
  }
}

TEST_CASE("gor reader: emoji bytes not at a line start stay in the payload", "[unit][file]") {
  std::string emoji = sep.substr(1, 12);
  std::string payloads[] = {
      "x" + emoji + "\n",            // emoji mid-line
      emoji + "x\n" + emoji + "y",   // emoji at line starts, with more bytes on the line
      "a\n" + emoji + " \n",          // a line of emoji plus a space is not the separator line
      "a\r\n" + emoji + "\r\n",      // CRLF: the line is emoji + "\r\n", not the separator line
  };
  std::string file;
  for (auto& p : payloads) file += "1 a 1 -1\n" + p + sep;
  auto recs = read_all(file, 5);
  REQUIRE(recs.size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(recs[i]->payload() == payloads[i]);
}

TEST_CASE("gor reader splits where gor does: a payload line that is the emoji line", "[unit][file]") {
  // gor's reader ends a record at any line equal to the emoji line: a payload that contains
  // "\n🐵🙈🙉\n" becomes two records, the second malformed.
  std::string file = "1 a 1 -1\nbefore" + sep + "after" + sep;
  gor_record_reader r;
  auto recs = read_all(file, 0, &r);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]->payload() == "before");
  CHECK(r.malformed() == 1);
}

TEST_CASE("gor reader: a payload ending in an emoji line is cut as gor cuts it", "[unit][file]") {
  // "x\n🐵🙈🙉" + separator: the payload's emoji line is the separator line for gor's reader.
  std::string file = "1 a 1 -1\nx\n" + sep.substr(1, 12) + sep + "1 b 2 -1\ny" + sep;
  gor_record_reader r;
  auto recs = read_all(file, 0, &r);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0]->payload() == "x");
  CHECK(recs[1]->payload() == "y");
  CHECK(r.malformed() == 1);
}

TEST_CASE("gor reader: a record starting with the emoji line is empty and malformed", "[unit][file]") {
  std::string file = "1 a 1 -1\nx" + sep + sep.substr(1) + "1 b 2 -1\ny" + sep;
  for (std::size_t feed : {0, 1, 5}) {
    gor_record_reader r;
    auto recs = read_all(file, feed, &r);
    REQUIRE(recs.size() == 2);
    CHECK(recs[1]->id() == "b");
    CHECK(r.malformed() == 1);
  }
}

TEST_CASE("gor reader skips malformed records with their offsets", "[unit][file]") {
  std::vector<gor_record_skip> skips;
  gor_record_reader r(default_max_record_bytes, [&](const gor_record_skip& s) { skips.push_back(s); });
  std::string bad1 = "1 onlytwo\nbody";
  std::string bad2 = "1 a notanumber\nbody";
  std::string good = "1 a 5 -1\nbody";
  std::string file = bad1 + sep + good + sep + bad2 + sep + sep;
  auto recs = read_all(file, 3, &r);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0]->timestamp_ns() == 5);
  REQUIRE(skips.size() == 3);
  CHECK(skips[0].offset == 0);
  CHECK(skips[0].why == gor_record_skip::reason::malformed_meta);
  CHECK(skips[1].offset == bad1.size() + 14 + good.size() + 14);
  CHECK(skips[2].size == 0);  // the empty record between two separators
  CHECK(r.malformed() == 3);
}

TEST_CASE("gor reader survives binary garbage", "[unit][file]") {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    auto garbage = random_bytes(10000, seed);
    // Sprinkle separators so records appear and vanish.
    for (std::size_t i = 500; i < garbage.size(); i += 997) garbage.replace(i, 14, sep);
    gor_record_reader r(4096);
    auto recs = read_all(garbage, 333, &r);
    CHECK(r.buffered() == 0);
    (void)recs;
  }
}

TEST_CASE("gor reader skips oversized records without buffering them", "[unit][file]") {
  std::vector<gor_record_skip> skips;
  const std::size_t max = 1000;
  gor_record_reader r(max, [&](const gor_record_skip& s) { skips.push_back(s); });
  std::string big = "1 big 1 -1\n" + std::string(50000, 'x');
  std::string exact = "1 ok 2 -1\n" + std::string(max - 10, 'y');
  REQUIRE(exact.size() == max);
  std::string file = "1 a 0 -1\nsmall" + sep + big + sep + exact + sep + big;
  std::size_t max_buffered = 0;
  std::vector<message_ptr> recs;
  for (std::size_t i = 0; i < file.size(); i += 100) {
    r.feed(std::string_view(file).substr(i, 100));
    while (auto m = r.next()) recs.push_back(m);
    max_buffered = std::max(max_buffered, r.buffered());
  }
  r.finish();
  while (auto m = r.next()) recs.push_back(m);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0]->payload() == "small");
  CHECK(recs[1]->id() == "ok");
  CHECK(r.oversized() == 2);
  REQUIRE(skips.size() == 2);
  CHECK(skips[0].offset == 5 + 9 + 14);
  CHECK(skips[0].size == big.size());
  CHECK(skips[1].size == big.size());
  CHECK(max_buffered <= max + 14 + 100);
}

TEST_CASE("gor writer output splits back into the same records", "[unit][file]") {
  std::vector<message_ptr> msgs;
  msgs.push_back(message::make(message_type::request, "0123456789abcdef01234567", 1700000000000000000,
                               std::nullopt, "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\r\n\0\xff"));
  msgs.push_back(message::make(message_type::response, "0123456789abcdef01234567", 1700000000000000123,
                               123, "HTTP/1.1 200 OK\r\n\r\n"));
  msgs.push_back(message::make(message_type::request, "ffffffffffffffffffffffff", 1, 0, random_bytes(70000, 7)));
  msgs.push_back(message::make(message_type::request, "x", 2, 0, ""));
  std::string out;
  gor_record_writer w(out);
  for (auto& m : msgs) w.write(*m);

  auto parts = split_on_separator(out);
  REQUIRE(parts.size() == msgs.size());
  for (std::size_t i = 0; i < msgs.size(); ++i) CHECK(parts[i] == msgs[i]->record());

  auto back = read_all(out, 4096);
  REQUIRE(back.size() == msgs.size());
  for (std::size_t i = 0; i < msgs.size(); ++i) CHECK(back[i]->record() == msgs[i]->record());
  CHECK(msgs[0]->record().substr(0, 2) == "1 ");
  CHECK(msgs[0]->meta() == "1 0123456789abcdef01234567 1700000000000000000 -1");
}

TEST_CASE("gor records round trip through gzip, multi-member too", "[unit][file]") {
  std::string plain;
  for (int i = 0; i < 2000; ++i)
    plain += "1 " + std::to_string(i) + " " + std::to_string(i * 10) + " -1\nGET /" + std::to_string(i) +
             " HTTP/1.1\r\n\r\n" + sep;
  std::string gz;
  {
    gzip_encoder e;
    e.write(std::string_view(plain).substr(0, plain.size() / 2), gz);
    e.sync_flush(gz);
    e.finish(gz);
  }
  {
    gzip_encoder e;  // a second member, as an appended-to .gz file has
    e.write(std::string_view(plain).substr(plain.size() / 2), gz);
    e.finish(gz);
  }
  CHECK(gz.size() < plain.size());
  gzip_decoder d;
  gor_record_reader r;
  std::vector<message_ptr> recs;
  for (std::size_t i = 0; i < gz.size(); i += 777) {
    d.set_input(std::string_view(gz).substr(i, 777));
    while (!d.needs_input()) {
      auto span = r.prepare(1000);
      r.commit(d.inflate_some(span));
      while (auto m = r.next()) recs.push_back(m);
    }
  }
  d.finish();
  r.finish();
  while (auto m = r.next()) recs.push_back(m);
  REQUIRE(recs.size() == 2000);
  CHECK(recs[1999]->timestamp_ns() == 19990);
}

TEST_CASE("gzip decoder reports corrupt and truncated data with offsets", "[unit][file]") {
  std::string gz;
  gzip_encoder e;
  e.write(random_bytes(100000, 3), gz);
  e.finish(gz);
  std::string out(1 << 20, '\0');

  SECTION("truncated") {
    gzip_decoder d;
    d.set_input(std::string_view(gz).substr(0, gz.size() / 2));
    while (!d.needs_input()) d.inflate_some(out);
    CHECK_THROWS_AS(d.finish(), gzip_error);
  }
  SECTION("corrupt") {
    std::string bad = gz;
    for (std::size_t i = 100; i < 200; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x55);
    gzip_decoder d;
    d.set_input(bad);
    try {
      while (!d.needs_input()) d.inflate_some(out);
      d.finish();
      FAIL("no error");
    } catch (const gzip_error& err) {
      CHECK(err.offset() <= bad.size());
    }
  }
  SECTION("not gzip at all") {
    gzip_decoder d;
    std::string text = "1 a 1 -1\nplain text";
    d.set_input(text);
    CHECK_THROWS_AS(d.inflate_some(out), gzip_error);
  }
  SECTION("garbage after a member") {
    gzip_decoder d;
    std::string bad = gz + "garbage!";
    d.set_input(bad);
    CHECK_THROWS_AS([&] { while (!d.needs_input()) d.inflate_some(out); d.finish(); }(), gzip_error);
  }
}

TEST_CASE("gor reader: records kept while reading goes on stay intact (shared read blocks)", "[unit][file]") {
  // Records are views into the block they were read into; blocks are reused once their
  // messages are gone. Keep some messages, drop the others, and check the kept bytes at the end.
  std::mt19937 rng(7);
  std::vector<std::string> expected;
  std::string file;
  for (int i = 0; i < 3000; ++i) {
    std::string rec = "1 id" + std::to_string(i) + " " + std::to_string(1000 + i) + "\n";
    std::size_t body = rng() % 3000;
    for (std::size_t k = 0; k < body; ++k) rec.push_back(static_cast<char>(rng() & 0xff));
    expected.push_back(rec);
    file += rec + sep;
  }
  gor_record_reader r;
  std::vector<std::pair<std::size_t, message_ptr>> kept;
  std::size_t n = 0;
  auto take = [&] {
    while (auto m = r.next()) {
      if (n % 7 == 0) kept.emplace_back(n, m);
      ++n;
    }
  };
  for (std::size_t off = 0; off < file.size();) {
    std::size_t chunk = std::min<std::size_t>(4096 + rng() % 8192, file.size() - off);
    auto span = r.prepare(chunk);
    std::memcpy(span.data(), file.data() + off, chunk);
    r.commit(chunk);
    off += chunk;
    take();
  }
  r.finish();
  take();
  REQUIRE(n == expected.size());
  for (auto& [i, m] : kept) REQUIRE(m->record() == expected[i]);
}

TEST_CASE("records split on the consumer's side (regions) are exactly those next_span gives", "[unit][file]") {
  const std::string line = sep.substr(1);
  // A hand-made stream: a record, an empty one (separator line first), a zero-length one, an
  // oversized one (max 64), overlapping separators, and a final record without separator.
  const std::string big(200, 'b');
  const std::string hand = "1 a 1 -1\nGET / HTTP/1.1\r\n\r\n" + sep + line + "1 b 2 -1\n" + sep + sep.substr(0, 1) +
                           sep + "2 c 3 1\n" + big + sep + line + line + "1 d 4 -1\nx" + sep + "1 e 5 -1\ntail\n" +
                           sep.substr(0, 5);
  auto want = test::record_events(hand, hand.size(), 64, false);
  REQUIRE(want.size() >= 6);
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{50}, hand.size()}) {
    std::size_t regions = 0;
    CAPTURE(piece);
    CHECK(test::record_events(hand, piece, 64, true, &regions) == want);
    CHECK(regions > 0);
  }
  // Random streams of the same pieces, many sizes of reads.
  std::mt19937 rng(11);
  const std::vector<std::string> parts = {sep, line, "\n", "1 id 7 -1\n", "2 id 8 3\nHTTP/1.1 200 OK\r\n\r\n",
                                          std::string(90, 'z'), sep.substr(0, 7), "\xF0\x9F", "x\n"};
  for (int round = 0; round < 300; ++round) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) s += parts[rng() % parts.size()];
    const std::size_t piece = 1 + rng() % 80, max = 16 + rng() % 200;
    CAPTURE(round, piece, max);
    REQUIRE(test::record_events(s, piece, max, true) == test::record_events(s, piece, max, false));
  }
}
