#include <coreplay/message.hpp>

#include <catch2/catch.hpp>

using namespace coreplay;

TEST_CASE("meta line round trips byte for byte", "[unit][message]") {
  std::string rec = "1 0123456789abcdef01234567 1700000000123456789 -1\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  auto m = message::parse(rec);
  REQUIRE(m);
  CHECK(m->record() == rec);
  CHECK(m->type() == message_type::request);
  CHECK(m->id() == "0123456789abcdef01234567");
  CHECK(m->timestamp_ns() == 1700000000123456789);
  CHECK(m->latency_ns() == -1);
  CHECK(m->meta() == "1 0123456789abcdef01234567 1700000000123456789 -1");
  CHECK(m->payload() == "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST_CASE("meta with three fields and extra fields is accepted", "[unit][message]") {
  auto m = message::parse("2 abc 5\nHTTP/1.1 200 OK\r\n\r\n");
  REQUIRE(m);
  CHECK_FALSE(m->latency_ns());
  CHECK(m->type() == message_type::response);
  auto x = message::parse("3 abc 5 77 extra more\nbody");
  REQUIRE(x);
  CHECK(x->latency_ns() == 77);
  CHECK(x->payload() == "body");
  CHECK(x->record() == "3 abc 5 77 extra more\nbody");
}

TEST_CASE("malformed meta lines are rejected", "[unit][message]") {
  CHECK_FALSE(message::parse(""));
  CHECK_FALSE(message::parse("\nGET / HTTP/1.1"));
  CHECK_FALSE(message::parse("1 abc\nGET /"));
  CHECK_FALSE(message::parse("1 abc notanumber\nGET /"));
  CHECK_FALSE(message::parse("12 abc 5\nGET /"));
  CHECK_FALSE(message::parse("1  5\nGET /"));  // empty id field shifts the timestamp
  CHECK_FALSE(message::parse(std::string("\x00\x01\x02", 3)));
}

TEST_CASE("a record without a payload line keeps its bytes", "[unit][message]") {
  auto m = message::parse("1 abc 5 -1");
  REQUIRE(m);
  CHECK(m->payload().empty());
  CHECK(m->record() == "1 abc 5 -1");
}

TEST_CASE("make builds gor's meta line", "[unit][message]") {
  auto m = message::make(message_type::replayed_response, "00ff", 42, 1000, "HTTP/1.1 204 No Content\r\n\r\n");
  CHECK(m->record() == "3 00ff 42 1000\nHTTP/1.1 204 No Content\r\n\r\n");
  auto r = message::make(message_type::request, "00ff", 42, std::nullopt, "x");
  CHECK(r->meta() == "1 00ff 42 -1");
  CHECK_FALSE(r->latency_ns());
  auto p = r->with_payload("yy");
  CHECK(p->record() == "1 00ff 42 -1\nyy");
  CHECK(p->id() == "00ff");
}

TEST_CASE("ids are 24 lowercase hex characters and differ", "[unit][message]") {
  auto a = make_message_id(), b = make_message_id();
  CHECK(a.size() == 24);
  CHECK(a != b);
  for (char c : a) CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
}

TEST_CASE("made messages index what they wrote; copies own their bytes", "[unit][message]") {
  auto m = message::make(message_type::response, "0123456789abcdef01234567", -5, 1234, "HTTP/1.1 200 OK\r\n\r\n");
  CHECK(m->record() == "2 0123456789abcdef01234567 -5 1234\nHTTP/1.1 200 OK\r\n\r\n");
  CHECK(m->id() == "0123456789abcdef01234567");
  CHECK(m->timestamp_ns() == -5);
  CHECK(m->latency_ns() == 1234);
  CHECK(m->payload() == "HTTP/1.1 200 OK\r\n\r\n");
  message copy = *m;
  m.reset();  // the original's allocation (which held its record) is gone
  CHECK(copy.record() == "2 0123456789abcdef01234567 -5 1234\nHTTP/1.1 200 OK\r\n\r\n");
  CHECK(copy.id() == "0123456789abcdef01234567");
  auto other = message::make(message_type::request, "x", 1, std::nullopt, "");
  copy = *other;
  CHECK(copy.record() == "1 x 1 -1\n");
  CHECK_FALSE(copy.latency_ns());
  // An id with a space is not one field: the record is still written as given.
  auto odd = message::make(message_type::request, "a b", 7, std::nullopt, "p");
  CHECK(odd->record() == "1 a b 7 -1\np");
  CHECK(odd->payload() == "p");
}
