// gor_read_ahead: a file's records split and parsed on a thread, handed over in batches.
#include "core/gzip_stream.hpp"
#include "inputs/file/gor_read_ahead.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace coreplay;
namespace fs = std::filesystem;

namespace {

const std::string sep = std::string("\x0A\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\x0A", 14);

struct scratch_file {
  std::string path;
  explicit scratch_file(const std::string& tag)
      : path((fs::temp_directory_path() / ("coreplay-ra-" + tag + "-" + std::to_string(::getpid()))).string()) {
    fs::remove(path);
  }
  ~scratch_file() { fs::remove(path); }
};

void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string rec(std::int64_t ts, const std::string& payload) {
  return "1 id" + std::to_string(ts) + " " + std::to_string(ts) + " -1\n" + payload;
}

struct drained {
  std::vector<std::string> records;  // bytes
  std::vector<std::int64_t> timestamps;
  std::vector<gor_record_skip> skips;
  std::uint64_t bytes_read = 0;
  std::string error;
  std::size_t regions = 0;  // batches whose records the consumer split
};

// Every batch until the end, messages made as the file input makes them; after each batch
// the consumer may sleep a little (the thread then runs into its back-pressure).
drained drain(const std::string& path, gor_read_ahead_options o, bool slow_consumer = false) {
  asio::io_context io;
  drained d;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        gor_read_ahead ra(ex, block_file(ex, path, block_file::open_mode::read, false), path, o);
        std::vector<message_ptr> kept;  // pins blocks, as messages queued downstream do
        for (;;) {
          auto* b = ra.try_next();
          if (!b) b = co_await ra.next();
          // As the file input does: meta lines parsed here, malformed records reported in
          // file order with the thread's skips.
          auto skip = b->skips.begin();
          auto take = [&](const gor_record_span& v) {
            for (; skip != b->skips.end() && skip->offset < v.offset; ++skip) d.skips.push_back(*skip);
            message_meta meta;
            if (!message::parse_meta(v.bytes, meta)) {
              d.skips.push_back({gor_record_skip::reason::malformed_meta, v.offset, v.bytes.size()});
              return;
            }
            auto m = message::parse_view(b->block, v.bytes, meta);
            d.records.emplace_back(m->record());
            d.timestamps.push_back(m->timestamp_ns());
            kept.push_back(std::move(m));
            if (kept.size() > 50) kept.erase(kept.begin());
          };
          // The region the thread left to split here comes first.
          if (b->region.size) {
            ++d.regions;
            gor_region_splitter split;
            split.reset(b->span(b->region), o.max_record_bytes);
            gor_record_span v;
            gor_record_skip s;
            for (;;) {
              auto st = split.next(v, s);
              if (st == gor_region_splitter::step::done) break;
              if (st == gor_region_splitter::step::record) {
                take(v);
              } else {
                for (; skip != b->skips.end() && skip->offset < s.offset; ++skip) d.skips.push_back(*skip);
                d.skips.push_back(s);
              }
            }
          }
          for (auto& ref : b->records) take(b->span(ref));
          for (; skip != b->skips.end(); ++skip) d.skips.push_back(*skip);
          d.bytes_read = b->bytes_read;
          if (b->end) {
            if (b->error) std::rethrow_exception(b->error);
            break;
          }
          if (slow_consumer) {
            asio::steady_timer t(ex, std::chrono::milliseconds(1));
            co_await t.async_wait(asio::use_awaitable);
          }
        }
      },
      [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          d.error = x.what();
        }
      });
  io.run();
  return d;
}

}  // namespace

TEST_CASE("read-ahead keeps every record in order across blocks, tiny and huge", "[unit][file][read_ahead]") {
  scratch_file f("order");
  std::mt19937 rng(7);
  std::string file;
  std::vector<std::string> want;
  for (int i = 0; i < 3000; ++i) {
    // Mostly small records, some larger than a 4 KiB block, a few of 100 KiB.
    std::size_t n = rng() % 20 == 0 ? 5000 + rng() % 5000 : rng() % 600;
    if (i % 997 == 5) n = 100'000;
    std::string payload(n, static_cast<char>('a' + i % 26));
    if (n > 10) payload[n / 2] = '\n';
    want.push_back(rec(1'000'000'000'000'000'000 + i, payload));
    file += want.back() + sep;
  }
  spit(f.path, file);
  gor_read_ahead_options o;
  std::size_t block = GENERATE(std::size_t{1}, std::size_t{4096}, std::size_t{65536}, std::size_t{8} << 20);
  o.block_bytes = block;
  o.depth = GENERATE(std::size_t{1}, std::size_t{3}, std::size_t{8});  // 8: each side waits for 4
  bool slow = GENERATE(false, true);
  if (slow && block != 4096) return;  // the slow consumer is for back-pressure: one case is enough
  CAPTURE(block, o.depth, slow);
  auto d = drain(f.path, o, slow);
  CHECK(d.error == "");
  REQUIRE(d.records.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    REQUIRE(d.records[i] == want[i]);
    REQUIRE(d.timestamps[i] == 1'000'000'000'000'000'000 + static_cast<std::int64_t>(i));
  }
  CHECK(d.skips.empty());
  CHECK(d.bytes_read == file.size());
}

TEST_CASE("read-ahead reports skipped records at their offsets, in order", "[unit][file][read_ahead]") {
  scratch_file f("skips");
  std::string a = rec(1, "ok") + sep;
  std::string garbage = "garbage\n" + sep;
  std::string big = rec(2, std::string(20000, 'z')) + sep;
  std::string last = rec(3, "last");  // no separator at the end
  spit(f.path, a + garbage + big + last);
  gor_read_ahead_options o;
  o.block_bytes = 4096;
  o.max_record_bytes = 10000;
  auto d = drain(f.path, o);
  CHECK(d.error == "");
  REQUIRE(d.records.size() == 2);
  CHECK(d.records[1] == last);
  REQUIRE(d.skips.size() == 2);
  CHECK(d.skips[0].why == gor_record_skip::reason::malformed_meta);
  CHECK(d.skips[0].offset == a.size());
  CHECK(d.skips[1].why == gor_record_skip::reason::oversized);
  CHECK(d.skips[1].offset == a.size() + garbage.size());
}

TEST_CASE("read-ahead inflates gzip and names the path and offset of corrupt data", "[unit][file][read_ahead]") {
  scratch_file f("gz");
  f.path += ".gz";
  std::string plain;
  for (int i = 0; i < 2000; ++i) plain += rec(i, "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n") + sep;
  std::string gz;
  gzip_encoder e;
  e.write(plain, gz);
  e.finish(gz);
  gor_read_ahead_options o;
  o.block_bytes = 4096;
  o.gzip = true;
  SECTION("whole") {
    spit(f.path, gz);
    auto d = drain(f.path, o);
    CHECK(d.error == "");
    CHECK(d.records.size() == 2000);
    CHECK(d.bytes_read == gz.size());
  }
  SECTION("truncated: the records before the cut, then the error") {
    spit(f.path, gz.substr(0, gz.size() - 20));
    auto d = drain(f.path, o);
    CHECK_THAT(d.error, Catch::Contains("gzip file '" + f.path + "'") && Catch::Contains("truncated"));
    CHECK(d.records.size() > 1900);
  }
  SECTION("corrupt") {
    for (std::size_t i = gz.size() / 2; i < gz.size() / 2 + 40; ++i) gz[i] = static_cast<char>(gz[i] ^ 0xA5);
    spit(f.path, gz);
    auto d = drain(f.path, o);
    CHECK_THAT(d.error, Catch::Contains("gzip file '" + f.path + "' at compressed byte"));
    CHECK(d.records.size() < 2000);
  }
}

TEST_CASE("read-ahead stops and joins its thread mid-file", "[unit][file][read_ahead]") {
  scratch_file f("stop");
  std::string file;
  for (int i = 0; i < 20000; ++i) file += rec(i, std::string(400, 'x')) + sep;
  spit(f.path, file);
  asio::io_context io;
  gor_read_ahead_options o;
  o.block_bytes = 4096;
  o.depth = 2;
  std::size_t got = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        gor_read_ahead ra(ex, block_file(ex, f.path, block_file::open_mode::read, false), f.path, o);
        auto* b = co_await ra.next();
        got = b->records.size() + (b->region.size ? 1 : 0);
        // The thread is now blocked on back-pressure (or reading): destroying must end it.
      },
      asio::detached);
  io.run();
  CHECK(got > 0);
}

TEST_CASE("read-ahead: a consumer waiting for data is cancelled, then the thread is joined",
          "[unit][file][read_ahead]") {
  // A FIFO whose writer sends nothing: the thread blocks in read(2) and the consumer waits.
  std::string path = (fs::temp_directory_path() / ("coreplay-ra-fifo-" + std::to_string(::getpid()))).string();
  fs::remove(path);
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  int writer = ::open(path.c_str(), O_RDWR);  // never blocks, and keeps the reader's open from blocking
  REQUIRE(writer >= 0);
  asio::io_context io;
  asio::cancellation_signal cancel;
  std::string outcome;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        gor_read_ahead ra(ex, block_file(ex, path, block_file::open_mode::read, false), path, {});
        try {
          co_await ra.next();
          outcome = "returned";
        } catch (const boost::system::system_error& e) {
          outcome = e.code() == asio::error::operation_aborted ? "aborted" : e.what();
        }
        // Unblock the thread's read(2) so the destructor's join returns.
        ::close(writer);
      },
      asio::bind_cancellation_slot(cancel.slot(), asio::detached));
  asio::steady_timer t(io, std::chrono::milliseconds(50));
  t.async_wait([&](auto) { cancel.emit(asio::cancellation_type::terminal); });
  io.run();
  CHECK(outcome == "aborted");
  fs::remove(path);
}
