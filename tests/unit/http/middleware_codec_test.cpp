#include "core/http/middleware_codec.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using namespace coreplay;
using namespace coreplay::http;

TEST_CASE("middleware encode is lowercase hex of the record plus a newline", "[unit][middleware]") {
  auto m = message::make(message_type::request, "a1b2", 1700000000000000000, std::nullopt,
                         "OPTIONS / HTTP/1.1\r\nHost: example.org\r\n\r\n");
  std::string line = middleware_encode(*m);
  REQUIRE(line.back() == '\n');
  CHECK(line.size() == 2 * m->record().size() + 1);
  CHECK(line.substr(0, 8) == "31206131");  // "1 a1"
  for (char c : line.substr(0, line.size() - 1))
    CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
  auto back = middleware_decode(line);
  REQUIRE(back.error == middleware_error::none);
  CHECK(back.msg->record() == m->record());
  CHECK(back.msg->id() == "a1b2");
  CHECK(back.msg->payload() == m->payload());
}

TEST_CASE("middleware round trip keeps binary payloads byte for byte", "[unit][middleware]") {
  std::mt19937 rng(42);
  for (int i = 0; i < 50; ++i) {
    std::string payload(rng() % 5000, '\0');
    for (auto& c : payload) c = static_cast<char>(rng());
    auto m = message::make(i % 2 ? message_type::response : message_type::replayed_response,
                           make_message_id(), 1 + i, 1000 * i, payload);
    std::string line;
    middleware_encode_append(line, *m);
    auto back = middleware_decode(line);
    REQUIRE(back.msg);
    CHECK(back.msg->record() == m->record());
    CHECK(back.msg->type() == m->type());
  }
}

TEST_CASE("middleware decode accepts uppercase hex and a CRLF ending", "[unit][middleware]") {
  std::string rec = "1 ff 5 -1\nGET / HTTP/1.1\r\n\r\n";
  std::string hex;
  hex_encode_append(hex, rec);
  std::string upper = hex;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(middleware_decode(upper).msg->record() == rec);
  CHECK(middleware_decode(upper + "\r\n").msg->record() == rec);
  CHECK(middleware_decode(hex + "\r").msg->record() == rec);
  // Meta without a payload is still a message (gor drops it).
  std::string meta_only;
  hex_encode_append(meta_only, "2 ab 7 3");
  auto m = middleware_decode(meta_only);
  REQUIRE(m.msg);
  CHECK(m.msg->payload().empty());
}

TEST_CASE("middleware decode reports garbage lines", "[unit][middleware]") {
  CHECK(middleware_decode("").error == middleware_error::empty);
  CHECK(middleware_decode("\n").error == middleware_error::empty);
  CHECK(middleware_decode("\r\n").error == middleware_error::empty);
  CHECK(middleware_decode("abc").error == middleware_error::odd_length);
  CHECK(middleware_decode("zz").error == middleware_error::not_hex);
  CHECK(middleware_decode("31 20").error == middleware_error::odd_length);
  CHECK(middleware_decode("3120 0").error == middleware_error::not_hex);
  CHECK(middleware_decode("hello, I am a log line!!").error == middleware_error::not_hex);
  std::string no_ts;
  hex_encode_append(no_ts, "1 abc\nGET / HTTP/1.1\r\n\r\n");
  CHECK(middleware_decode(no_ts).error == middleware_error::bad_meta);
  std::string bad_ts;
  hex_encode_append(bad_ts, "1 abc xyz\nGET / HTTP/1.1\r\n\r\n");
  CHECK(middleware_decode(bad_ts).error == middleware_error::bad_meta);
  CHECK(to_string(middleware_error::not_hex) == "not hex");
}

TEST_CASE("hex codec tables cover every byte", "[unit][middleware]") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string hex, back;
  hex_encode_append(hex, all);
  CHECK(hex.substr(0, 6) == "000102");
  CHECK(hex.substr(hex.size() - 4) == "feff");
  REQUIRE(hex_decode(hex, back));
  CHECK(back == all);
  for (int c = 0; c < 256; ++c) {
    bool valid = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    std::string s = "0";
    s.push_back(static_cast<char>(c));
    CHECK(hex_decode(s, back) == valid);
    std::swap(s[0], s[1]);
    CHECK(hex_decode(s, back) == valid);
  }
}

TEST_CASE("line splitter yields complete lines across feeds", "[unit][middleware]") {
  line_splitter s(100);
  s.feed("ab");
  CHECK_FALSE(s.next());
  s.feed("c\nde");
  CHECK(s.next() == "abc");
  CHECK_FALSE(s.next());
  s.feed("f\n\ng\n");
  CHECK(s.next() == "def");
  CHECK(s.next() == "");
  CHECK(s.next() == "g");
  CHECK_FALSE(s.next());
  s.feed("tail");
  CHECK_FALSE(s.next());
  CHECK(s.finish() == "tail");
  CHECK_FALSE(s.finish());
}

TEST_CASE("line splitter skips oversized lines with bounded memory", "[unit][middleware]") {
  line_splitter s(8);
  s.feed("12345678\n123456789\nok\n");
  CHECK(s.next() == "12345678");
  CHECK(s.next() == "ok");  // the 9-byte line was skipped
  CHECK(s.oversized() == 1);
  // A huge line arriving in pieces never grows the buffer past one feed.
  s.feed("xxxxxxxxxxxx");
  CHECK_FALSE(s.next());
  CHECK(s.oversized() == 2);
  for (int i = 0; i < 1000; ++i) {
    s.feed(std::string(1000, 'y'));
    CHECK_FALSE(s.next());
    CHECK(s.buffered() <= 1000);
  }
  s.feed("yyy\nnext\n");
  CHECK(s.next() == "next");
  CHECK(s.oversized() == 2);
  s.feed("also-too-long-at-the-end");
  CHECK_FALSE(s.finish());
}

TEST_CASE("line splitter and codec together decode a stream", "[unit][middleware]") {
  std::string stream;
  std::vector<message_ptr> sent;
  for (int i = 0; i < 20; ++i) {
    sent.push_back(message::make(message_type::request, make_message_id(), i, std::nullopt,
                                 "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n"));
    middleware_encode_append(stream, *sent.back());
    if (i == 10) stream += "not hex at all\n";
  }
  line_splitter s(1 << 20);
  std::vector<message_ptr> got;
  int errors = 0;
  for (std::size_t at = 0; at < stream.size(); at += 7) {
    s.feed(std::string_view(stream).substr(at, 7));
    while (auto line = s.next()) {
      auto d = middleware_decode(*line);
      if (d.msg)
        got.push_back(d.msg);
      else
        ++errors;
    }
  }
  CHECK(errors == 1);
  REQUIRE(got.size() == sent.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i]->record() == sent[i]->record());
}
