// The modifiers and the prettifier as filters of a real pipeline (in process).
#include "core/http/http_modifier.hpp"
#include "core/http/http_prettifier.hpp"
#include "support/test_plugins.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace coreplay;
using namespace coreplay::test;

TEST_CASE("modifiers in a pipeline: dropped requests take their responses, edits reach sinks",
          "[unit][http]") {
  asio::io_context io;
  pipeline p(io.get_executor());
  auto st = std::make_shared<collecting_sink::state>();
  p.add_source("src", std::make_unique<vector_source>(std::vector<message_ptr>{
                          request("a1", 1, "GET /v1/a HTTP/1.1\r\nHost: x\r\n\r\n"),
                          response("a1", 2, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
                          request("b1", 3, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
                          response("b1", 4),
                          request("c1", 5, "PURGE /v1/c HTTP/1.1\r\nHost: x\r\n\r\n"),
                          response("c1", 6)}));
  p.add_sink("out", std::make_unique<collecting_sink>(st));
  http::http_modifier_options o;
  o.allow_method = {"GET", "PURGE"};
  o.set_header = {"X-Replayed: 1"};
  o.rewrite_url = {"^/v1/(.*):/v2/$1"};
  p.add_filter(http::make_http_modifier(o));
  p.add_filter(std::make_unique<http::http_prettifier>());
  REQUIRE(run_pipeline(io, p).finished);
  REQUIRE(st->got.size() == 4);
  CHECK(st->got[0]->id() == "a1");
  CHECK(st->got[0]->payload() == "GET /v2/a HTTP/1.1\r\nX-Replayed: 1\r\nHost: x\r\n\r\n");
  CHECK(st->got[1]->payload() == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  CHECK(st->got[2]->payload() == "PURGE /v2/c HTTP/1.1\r\nX-Replayed: 1\r\nHost: x\r\n\r\n");
  CHECK(st->got[3]->id() == "c1");
}
