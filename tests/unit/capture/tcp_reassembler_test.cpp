#include "capture/tcp_reassembler.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace coreplay::capture;

namespace {

tcp_segment seg(std::uint32_t seq, std::string_view payload, std::uint8_t flags = tcp_flag::ack) {
  tcp_segment s;
  s.seq = seq;
  s.ack = 77;
  s.flags = flags;
  s.payload = payload;
  s.timestamp_ns = seq;
  return s;
}

// Everything readable now, with gaps shown as '#'.
std::string read_all(tcp_reassembler& r) {
  std::string out;
  while (auto c = r.next()) {
    out.append(c->gap_before, '#');
    out.append(c->data);
  }
  return out;
}

}  // namespace

TEST_CASE("reassembler orders out-of-order segments", "[unit][capture]") {
  tcp_reassembler r;
  CHECK(r.feed(seg(99, "", tcp_flag::syn)) == tcp_reassembler::feed_result::no_data);
  CHECK(r.feed(seg(105, "world")) == tcp_reassembler::feed_result::out_of_order);
  CHECK(read_all(r).empty());
  CHECK(r.held_bytes() == 5);
  CHECK(r.feed(seg(100, "hello")) == tcp_reassembler::feed_result::in_order);
  CHECK(read_all(r) == "helloworld");
  CHECK(r.held_bytes() == 0);
  CHECK(r.next_seq() == 110);
}

TEST_CASE("reassembler drops duplicates and retransmissions", "[unit][capture]") {
  tcp_reassembler r;
  r.feed(seg(1, "abc"));
  CHECK(read_all(r) == "abc");
  CHECK(r.feed(seg(1, "abc")) == tcp_reassembler::feed_result::duplicate);
  CHECK(r.feed(seg(2, "b")) == tcp_reassembler::feed_result::duplicate);
  CHECK(read_all(r).empty());
  CHECK(r.feed(seg(10, "xyz")) == tcp_reassembler::feed_result::out_of_order);
  CHECK(r.feed(seg(10, "xyz")) == tcp_reassembler::feed_result::duplicate);
  CHECK(r.feed(seg(3, "cdefghi")) == tcp_reassembler::feed_result::overlap);
  CHECK(read_all(r) == "defghixyz");
}

TEST_CASE("reassembler resolves overlaps: the first bytes seen win", "[unit][capture]") {
  tcp_reassembler r;
  r.feed(seg(0, "A"));
  read_all(r);
  // Held: [5,8) "XYZ". A later segment [3,10) carries different bytes where they overlap.
  r.feed(seg(5, "XYZ"));
  r.feed(seg(3, "qqrrsss"));  // q q r r s s s at 3..9
  // Then the hole [1,3).
  r.feed(seg(1, "bc"));
  CHECK(read_all(r) == "bcqqXYZss");

  // An in-order segment overlapping held data: held bytes win as well.
  tcp_reassembler r2;
  r2.feed(seg(0, "0"));
  read_all(r2);
  r2.feed(seg(3, "HELD"));
  r2.feed(seg(1, "12xxxxx9"));
  CHECK(read_all(r2) == "12HELDx9");
}

TEST_CASE("reassembler handles sequence wraparound", "[unit][capture]") {
  tcp_reassembler r;
  const std::uint32_t start = 0xfffffffcu;
  r.feed(seg(start, "", tcp_flag::syn));
  r.feed(seg(start + 1 + 4, "5678"));  // wrapped
  r.feed(seg(start + 1, "1234"));
  CHECK(read_all(r) == "12345678");
  CHECK(r.next_seq() == start + 9);
  CHECK(seq_before(0xfffffff0u, 5));
  CHECK_FALSE(seq_before(5, 0xfffffff0u));
}

TEST_CASE("reassembler reports a gap when told to stop waiting", "[unit][capture]") {
  tcp_reassembler r;
  r.feed(seg(0, "ab"));
  r.feed(seg(5, "fg"));
  r.feed(seg(10, "kl"));
  CHECK(read_all(r) == "ab");
  r.skip_gap();
  CHECK(read_all(r) == "###fg###kl");
  CHECK_FALSE(r.has_held());
  r.feed(seg(12, "mn"));
  CHECK(read_all(r) == "mn");
}

TEST_CASE("reassembler evicts past its cap and restarts at the new segment", "[unit][capture]") {
  tcp_reassembler r(8);
  r.feed(seg(0, "ab"));
  read_all(r);
  CHECK(r.feed(seg(4, "12345")) == tcp_reassembler::feed_result::out_of_order);
  CHECK(r.feed(seg(20, "6789")) == tcp_reassembler::feed_result::evicted);
  CHECK(r.held_bytes() == 0);
  CHECK(read_all(r) == std::string(18, '#') + "6789");
  CHECK(r.feed(seg(24, "z")) == tcp_reassembler::feed_result::in_order);
  CHECK(read_all(r) == "z");
}

TEST_CASE("reassembler tracks the FIN and SYN data", "[unit][capture]") {
  tcp_reassembler r;
  r.feed(seg(10, "syn-data", tcp_flag::syn));  // TCP Fast Open
  CHECK(read_all(r) == "syn-data");
  r.feed(seg(19 + 3, "", tcp_flag::fin | tcp_flag::ack));
  CHECK_FALSE(r.fin_reached());
  r.feed(seg(19, "end"));
  CHECK(read_all(r) == "end");
  CHECK(r.fin_reached());
}

TEST_CASE("reassembler after clear resumes at the next segment", "[unit][capture]") {
  tcp_reassembler r;
  r.feed(seg(0, "ab"));
  read_all(r);
  r.feed(seg(10, "held"));
  r.clear();
  r.feed(seg(30, "new"));
  CHECK(read_all(r) == std::string(28, '#') + "new");
}

TEST_CASE("reassembler keeps bytes the caller did not read", "[unit][capture]") {
  tcp_reassembler r;
  std::string a = "first", b = "second";
  r.feed(seg(0, a));
  r.feed(seg(5, b));  // without reading "first": it is copied before a is gone
  a.assign("XXXXX");
  CHECK(read_all(r) == "firstsecond");
}
