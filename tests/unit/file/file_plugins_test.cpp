// file_input and file_output driven through a real pipeline.
#include "core/gzip_stream.hpp"
#include "inputs/file/file_input.hpp"
#include "inputs/file/gor_file_reader.hpp"
#include "outputs/file/file_output.hpp"
#include "support/test_plugins.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <tuple>
#include <sstream>

using namespace coreplay;
using namespace coreplay::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string sep = std::string("\x0A\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\x0A", 14);

struct scratch_dir {
  fs::path path;
  explicit scratch_dir(const std::string& tag) {
    path = fs::temp_directory_path() / ("coreplay-fp-" + tag + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch_dir() { fs::remove_all(path); }
  std::string operator/(const std::string& n) const { return (path / n).string(); }
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (auto& e : fs::directory_iterator(path)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
};

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

void spit(const std::string& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// Decompressed by the system's gzip: an independent reader.
std::string gunzip_cli(const std::string& p) {
  std::string out;
  FILE* f = ::popen(("gzip -dc '" + p + "'").c_str(), "r");
  REQUIRE(f);
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  CHECK(::pclose(f) == 0);
  return out;
}

std::vector<std::string> split_records(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (std::size_t hit; (hit = s.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
    out.push_back(s.substr(pos, hit - pos));
  CHECK(pos == s.size());
  return out;
}

std::string rec(char type, const std::string& id, std::int64_t ts, const std::string& payload) {
  return std::string(1, type) + " " + id + " " + std::to_string(ts) + " -1\n" + payload;
}

struct input_run {
  std::shared_ptr<collecting_sink::state> got = std::make_shared<collecting_sink::state>();
  run_result result;
  std::chrono::steady_clock::duration took{};
  std::vector<std::pair<std::string, std::uint64_t>> counters;  // copied before the pipeline ends
  std::uint64_t drops = 0;
  std::uint64_t counter(const std::string& k) const {
    for (auto& [n, v] : counters)
      if (n == k) return v;
    return ~std::uint64_t{0};
  }
};

input_run run_input(file_input_options o, std::chrono::milliseconds limit = 10s,
                    std::chrono::milliseconds stop_after = 0ms) {
  asio::io_context io;
  pipeline p(io.get_executor());
  input_run r;
  auto& stats = p.add_source("input-file", std::make_unique<file_input>(std::move(o)));
  p.add_sink("collect", std::make_unique<collecting_sink>(r.got));
  asio::steady_timer t(io);
  if (stop_after.count()) {
    t.expires_after(stop_after);
    t.async_wait([&](auto) { p.stop(); });
  }
  auto t0 = std::chrono::steady_clock::now();
  r.result = run_pipeline(io, p, limit);
  r.took = std::chrono::steady_clock::now() - t0;
  r.counters = stats.counters();
  r.drops = stats.drops.load();
  return r;
}

std::vector<message_ptr> numbered(std::size_t n, std::size_t payload_bytes = 20) {
  std::vector<message_ptr> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back(message::make(i % 2 ? message_type::response : message_type::request, "id" + std::to_string(i / 2),
                              1'000'000 + static_cast<std::int64_t>(i), std::nullopt,
                              "P" + std::to_string(i) + std::string(payload_bytes, i % 2 ? '\n' : '\r')));
  return v;
}

}  // namespace

TEST_CASE("file input merges interleaved files by timestamp", "[unit][file]") {
  scratch_dir d("merge");
  spit(d / "X_0.gor", rec('1', "a", 1, "one") + sep + rec('1', "c", 3, "three") + sep);
  spit(d / "X_1.gor", rec('1', "b", 2, "two") + sep + rec('1', "d", 4, "four") + sep);
  file_input_options o;
  o.path = d / "X*";
  o.speed_factor = 0;  // as fast as possible
  auto r = run_input(o);
  REQUIRE(r.result.finished);
  CHECK(error_text(r.result.error) == "");
  std::string order;
  for (auto& m : r.got->got) order += m->id();
  CHECK(order == "abcd");
  CHECK(r.got->ended);
}

TEST_CASE("file input replays requests and responses across files in order", "[unit][file]") {
  scratch_dir d("reqresp");
  spit(d / "a.gor", rec('1', "r1", 10, "GET /1") + sep + rec('1', "r2", 30, "GET /2") + sep);
  spit(d / "b.gor", rec('2', "r1", 20, "HTTP/1.1 200 OK") + sep + rec('2', "r2", 40, "HTTP/1.1 404") + sep);
  file_input_options o;
  o.path = d / "*.gor";
  o.speed_factor = 0;
  auto r = run_input(o);
  REQUIRE(r.got->got.size() == 4);
  CHECK(r.got->got[0]->is_request());
  CHECK(!r.got->got[1]->is_request());
  CHECK(r.got->got[2]->is_request());
  CHECK(r.got->got[3]->payload() == "HTTP/1.1 404");
}

TEST_CASE("file input reorders within the read depth and counts disorder beyond it", "[unit][file]") {
  scratch_dir d("depth");
  std::string f;
  for (int ts : {5, 1, 3, 2, 4}) f += rec('1', std::to_string(ts), ts, "x") + sep;
  spit(d / "f.gor", f);
  file_input_options o;
  o.path = d / "f.gor";
  o.speed_factor = 0;
  SECTION("depth 100 sorts all") {
    auto r = run_input(o);
    std::string order;
    for (auto& m : r.got->got) order += m->id();
    CHECK(order == "12345");
    CHECK(r.counter("out_of_order") == 0);
  }
  SECTION("depth 1 keeps file order") {
    o.read_depth = 1;
    auto r = run_input(o);
    std::string order;
    for (auto& m : r.got->got) order += m->id();
    CHECK(order == "51324");
    CHECK(r.counter("out_of_order") == 4);  // all are older than 5
  }
}

TEST_CASE("file input keeps the recorded gaps against absolute deadlines", "[unit][file]") {
  scratch_dir d("pacing");
  std::string f = rec('1', "a", 100'000'000, "x") + sep + rec('1', "b", 150'000'000, "x") + sep +
                  rec('1', "c", 350'000'000, "x") + sep;
  spit(d / "f.gor", f);
  file_input_options o;
  o.path = d / "f.gor";
  SECTION("1x") {
    auto r = run_input(o);
    REQUIRE(r.got->got.size() == 3);
    CHECK(r.took >= 250ms);
    CHECK(r.took < 600ms);
  }
  SECTION("200%") {
    o.speed_factor = 2.0;
    auto r = run_input(o);
    REQUIRE(r.got->got.size() == 3);
    CHECK(r.took >= 125ms);
    CHECK(r.took < 240ms);
  }
  SECTION("max wait") {
    o.max_wait = 10ms;
    auto r = run_input(o);
    REQUIRE(r.got->got.size() == 3);
    CHECK(r.took >= 20ms);
    CHECK(r.took < 200ms);
  }
}

TEST_CASE("file input does not drift over many short gaps", "[unit][file]") {
  scratch_dir d("drift");
  std::string f;
  for (int i = 0; i < 2000; ++i) f += rec('1', std::to_string(i), i * 100'000, "GET / HTTP/1.1\r\n\r\n") + sep;
  spit(d / "f.gor", f);
  file_input_options o;
  o.path = d / "f.gor";
  auto r = run_input(o);
  REQUIRE(r.got->got.size() == 2000);
  // 1999 gaps of 0.1 ms = 199.9 ms; sleeping gap by gap would add timer slack 1999 times.
  CHECK(r.took >= 199ms);
  CHECK(r.took < 400ms);
}

TEST_CASE("file input dry run prints gor's summary and sends nothing", "[unit][file]") {
  scratch_dir d("dry");
  std::string a = rec('1', "a", 1'000'000'000, "GET /") + sep + rec('1', "b", 3'000'000'000, "GET /b") + sep;
  std::string b = rec('1', "c", 2'000'000'000, "GET /c") + sep;
  spit(d / "a.gor", a);
  spit(d / "b.gor", b);
  std::ostringstream os;
  file_input_options o;
  o.path = d / "*.gor";
  o.dry_run = true;
  o.dry_run_out = &os;
  auto r = run_input(o);
  CHECK(r.got->got.empty());
  std::size_t bytes = rec('1', "a", 1'000'000'000, "GET /").size() + rec('1', "b", 3'000'000'000, "GET /b").size() +
                      rec('1', "c", 2'000'000'000, "GET /c").size();
  CHECK(os.str() == "Records found: 3\nFiles processed: 2\nBytes processed: " + std::to_string(bytes) +
                        "\nMax wait: 1s\nMin wait: 1s\nFirst wait: 1s\nIt will take `2s` to replay at current "
                        "speed.\nFound 0 records with out of order timestamp\n");
  CHECK(r.took < 500ms);
}

TEST_CASE("file input loops until stopped", "[unit][file]") {
  scratch_dir d("loop");
  spit(d / "f.gor", rec('1', "a", 1, "x") + sep + rec('1', "b", 2, "y") + sep);
  file_input_options o;
  o.path = d / "f.gor";
  o.loop = true;
  auto r = run_input(o, 10s, 1000ms);
  REQUIRE(r.result.finished);
  REQUIRE(r.got->got.size() >= 1000);
  for (std::size_t i = 0; i < 1000; ++i) CHECK(r.got->got[i]->id() == (i % 2 ? "b" : "a"));
}

TEST_CASE("file input errors name the path", "[unit][file]") {
  scratch_dir d("errors");
  file_input_options o;
  o.read_ahead_blocks = GENERATE(std::size_t{0}, std::size_t{4});  // on the replay's thread, or a reader thread
  SECTION("a glob that matches nothing") {
    o.path = d / "nothing-*.gor";
    auto r = run_input(o);
    REQUIRE(r.result.finished);
    CHECK_THAT(error_text(r.result.error), Catch::Contains(o.path));
  }
  SECTION("a truncated gzip file") {
    std::string plain;
    for (int i = 0; i < 500; ++i) plain += rec('1', std::to_string(i), i, "GET / HTTP/1.1\r\n\r\n") + sep;
    std::string gz;
    gzip_encoder e;
    e.write(plain, gz);
    e.finish(gz);
    spit(d / "t.gor.gz", gz.substr(0, gz.size() - 20));
    o.path = d / "t.gor.gz";
    o.speed_factor = 0;
    auto r = run_input(o);
    REQUIRE(r.result.finished);
    CHECK_THAT(error_text(r.result.error), Catch::Contains(o.path) && Catch::Contains("truncated"));
  }
  SECTION("a corrupt gzip file") {
    std::string gz;
    gzip_encoder e;
    e.write(std::string(100000, 'a'), gz);
    e.finish(gz);
    for (std::size_t i = 20; i < 60; ++i) gz[i] = static_cast<char>(gz[i] ^ 0xA5);
    spit(d / "c.gz", gz);
    o.path = d / "c.gz";
    auto r = run_input(o);
    REQUIRE(r.result.finished);
    CHECK_THAT(error_text(r.result.error), Catch::Contains(o.path) && Catch::Contains("compressed byte"));
  }
  SECTION("a directory") {
    fs::create_directories(d / "dir.gor");
    o.path = d / "dir.gor";
    auto r = run_input(o);
    REQUIRE(r.result.finished);
    CHECK_THAT(error_text(r.result.error), Catch::Contains(o.path));
  }
}

TEST_CASE("file input skips malformed and oversized records and counts them", "[unit][file]") {
  scratch_dir d("skips");
  std::string f = rec('1', "a", 1, "ok") + sep + "garbage\n" + sep + rec('1', "big", 2, std::string(5000, 'z')) +
                  sep + rec('1', "b", 3, "ok") + "\n\xF0\x9F\x90";
  spit(d / "f.gor", f);
  file_input_options o;
  o.path = d / "f.gor";
  o.speed_factor = 0;
  o.max_record_size = byte_size{1000};
  o.read_ahead_blocks = GENERATE(std::size_t{0}, std::size_t{4});
  auto r = run_input(o);
  REQUIRE(r.got->got.size() == 2);
  CHECK(r.got->got[1]->payload() == "ok");  // the final record, its separator cut short
  CHECK(r.counter("malformed") == 1);
  CHECK(r.counter("oversized") == 1);
  CHECK(r.drops == 2);
}

namespace {

struct output_run {
  run_result result;
};

output_run run_output(file_output_options o, std::vector<message_ptr> msgs) {
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<vector_source>(std::move(msgs)));
  output_run r;
  p.add_sink("output-file", std::make_unique<file_output>(std::move(o)));
  r.result = run_pipeline(io, p);
  return r;
}

}  // namespace

TEST_CASE("file output chunks every queue-limit records, named as gor names them", "[unit][file]") {
  scratch_dir d("out-chunks");
  auto msgs = numbered(5);
  file_output_options o;
  o.path = d / "req.gor";
  o.queue_limit = 2;
  auto r = run_output(o, msgs);
  REQUIRE(r.result.finished);
  CHECK(error_text(r.result.error) == "");
  CHECK(d.names() == std::vector<std::string>{"req_0.gor", "req_1.gor", "req_2.gor"});
  auto c0 = split_records(slurp(d / "req_0.gor"));
  auto c2 = split_records(slurp(d / "req_2.gor"));
  REQUIRE(c0.size() == 2);
  CHECK(c0[0] == msgs[0]->record());
  CHECK(c0[1] == msgs[1]->record());
  REQUIRE(c2.size() == 1);
  CHECK(c2[0] == msgs[4]->record());

  SECTION("a restart continues at the last index + 1") {
    auto r2 = run_output(o, numbered(1));
    CHECK(error_text(r2.result.error) == "");
    CHECK(d.names().back() == "req_3.gor");
  }
}

TEST_CASE("file output gzip chunks read back with gzip(1)", "[unit][file]") {
  scratch_dir d("out-gz");
  auto msgs = numbered(1000, 200);
  file_output_options o;
  o.path = d / "x.gor.gz";
  o.queue_limit = 600;
  auto r = run_output(o, msgs);
  CHECK(error_text(r.result.error) == "");
  REQUIRE(d.names() == std::vector<std::string>{"x.gor_0.gz", "x.gor_1.gz"});
  auto a = split_records(gunzip_cli(d / "x.gor_0.gz"));
  auto b = split_records(gunzip_cli(d / "x.gor_1.gz"));
  REQUIRE(a.size() == 600);
  REQUIRE(b.size() == 400);
  CHECK(a[599] == msgs[599]->record());
  CHECK(b[0] == msgs[600]->record());
  CHECK(fs::file_size(d / "x.gor_0.gz") < 600 * 200);
}

TEST_CASE("file output append mode appends to an existing file", "[unit][file]") {
  scratch_dir d("out-append");
  std::string old = rec('1', "old", 1, "before") + sep;
  spit(d / "a.gor", old);
  file_output_options o;
  o.path = d / "a.gor";
  o.append = true;
  o.queue_limit = 1;  // ignored in append mode
  auto msgs = numbered(10);
  auto r = run_output(o, msgs);
  CHECK(error_text(r.result.error) == "");
  CHECK(d.names() == std::vector<std::string>{"a.gor"});
  auto recs = split_records(slurp(d / "a.gor"));
  REQUIRE(recs.size() == 11);
  CHECK(recs[0] == old.substr(0, old.size() - 14));
  CHECK(recs[10] == msgs[9]->record());
}

TEST_CASE("file output template tokens: one file per request id", "[unit][file]") {
  scratch_dir d("out-perreq");
  std::vector<message_ptr> msgs{request("aaa", 1), request("bbb", 2), response("aaa", 3), request("ccc", 4)};
  file_output_options o;
  o.path = d / "r-%r-%Y.gor";
  auto r = run_output(o, msgs);
  CHECK(error_text(r.result.error) == "");
  auto names = d.names();
  REQUIRE(names.size() == 3);
  auto year = std::to_string(1900 + [] {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    return tm.tm_year;
  }());
  CHECK(names[0] == "r-aaa-" + year + "_0.gor");
  auto aaa = split_records(slurp(d / names[0]));
  REQUIRE(aaa.size() == 2);  // the response joined its request's file
  CHECK(aaa[1] == msgs[2]->record());
}

TEST_CASE("file output stops at the max size limit and counts drops", "[unit][file]") {
  scratch_dir d("out-max");
  auto msgs = numbered(10);
  file_output_options o;
  o.path = d / "m.gor";
  o.append = true;
  o.max_size_limit = byte_size{msgs[0]->record().size() + 14 + 1};  // the 2nd record crosses it
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<vector_source>(msgs));
  auto& st = p.add_sink("output-file", std::make_unique<file_output>(o));
  auto r = run_pipeline(io, p);
  CHECK(error_text(r.error) == "");
  CHECK(split_records(slurp(d / "m.gor")).size() == 2);
  CHECK(st.drops.load() == 8);
}

TEST_CASE("file output flushes within the flush interval while running", "[unit][file]") {
  scratch_dir d("out-flush");
  file_output_options o;
  o.path = d / "f.gor.gz";
  o.append = true;
  o.flush_interval = 50ms;
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<vector_source>(numbered(3), /*linger=*/true));
  p.add_sink("output-file", std::make_unique<file_output>(o));
  std::size_t seen = 0;
  asio::steady_timer t(io, 300ms);
  t.async_wait([&](auto) {
    // A sync-flushed gzip stream without its trailer: inflate what is there.
    std::string gz = slurp(d / "f.gor.gz");
    gzip_decoder dec;
    dec.set_input(gz);
    std::string out(1 << 16, '\0');
    std::size_t n = dec.inflate_some(out);
    out.resize(n);
    seen = split_records(out).size();
    p.stop();
  });
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  CHECK(seen == 3);
  CHECK(split_records(gunzip_cli(d / "f.gor.gz")).size() == 3);  // trailer written at the end
}

TEST_CASE("file output puts every taken message on disk when aborted", "[unit][file]") {
  scratch_dir d("out-abort");
  file_output_options o;
  o.path = d / "a.gor.gz";
  o.queue_limit = 1000;
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<endless_source>());
  auto& st = p.add_sink("output-file", std::make_unique<file_output>(o));
  asio::steady_timer t(io, 150ms);
  t.async_wait([&](auto) { p.abort(); });
  auto r = run_pipeline(io, p);
  REQUIRE(r.finished);
  std::size_t on_disk = 0;
  for (auto& n : d.names()) on_disk += split_records(gunzip_cli(d / n)).size();
  CHECK(st.messages.load() > 0);
  CHECK(on_disk == st.messages.load());
}

TEST_CASE("file output then file input reproduces the records byte for byte", "[unit][file]") {
  scratch_dir d("roundtrip");
  std::vector<message_ptr> msgs;
  std::string emoji = sep.substr(1, 12);
  std::vector<std::string> payloads{"GET / HTTP/1.1\r\n\r\n", std::string("\0\x01\xff\r\n", 5),
                                    "POST /x HTTP/1.1\r\nContent-Length: 14\r\n\r\n{" + emoji + "}\r\n" + emoji + " ",
                                    "HTTP/1.1 200 OK\r\n\r\n" + std::string(70000, 'b'), ""};
  for (std::size_t i = 0; i < payloads.size(); ++i)
    msgs.push_back(message::make(i % 2 ? message_type::response : message_type::request, "0123456789abcdef0123456" + std::to_string(i),
                                 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i), std::nullopt, payloads[i]));
  for (std::string name : {"rt.gor", "rt.gor.gz"}) {
    file_output_options o;
    o.path = d / name;
    auto w = run_output(o, msgs);
    CHECK(error_text(w.result.error) == "");
    file_input_options i;
    i.path = d / (name == "rt.gor" ? "rt_0.gor" : "rt.gor_0.gz");
    i.speed_factor = 0;
    auto r = run_input(i);
    CHECK(error_text(r.result.error) == "");
    REQUIRE(r.got->got.size() == msgs.size());
    for (std::size_t k = 0; k < msgs.size(); ++k) CHECK(r.got->got[k]->record() == msgs[k]->record());
  }
}

namespace {

struct merged {
  std::vector<std::pair<std::int64_t, std::string>> records;  // (timestamp, id)
  std::size_t max_open = 0;
};

merged merge_files(const std::vector<std::string>& paths, std::size_t depth = 100) {
  asio::io_context io;
  merged out;
  gor_file_read_options o;
  o.read_depth = depth;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        gor_file_merge merge(io.get_executor(), paths, o);
        for (;;) {
          auto m = merge.try_next();
          if (!m) m = co_await merge.next();
          if (!m) break;
          out.records.emplace_back(m->timestamp_ns(), std::string(m->id()));
          out.max_open = std::max(out.max_open, merge.open_files());
        }
        CHECK(merge.bytes_read() == merge.total_bytes());
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return out;
}

}  // namespace

TEST_CASE("a merge of many files keeps timestamp order with few files open", "[unit][file]") {
  scratch_dir d("manyfiles");
  std::vector<std::string> paths;
  std::vector<std::pair<std::int64_t, std::string>> expected;
  for (int k = 0; k < 300; ++k) {
    // Chunks in time order, as gor's output writes them; file 7 also holds a late record.
    std::string f;
    for (int j = 0; j < 10; ++j) {
      std::int64_t ts = k * 100 + j * 7;
      std::string id = std::to_string(k) + "-" + std::to_string(j);
      f += rec('1', id, ts, "x") + sep;
      expected.emplace_back(ts, id);
    }
    if (k == 7) {
      f += rec('1', "late", 29'950, "x") + sep;
      expected.emplace_back(29'950, "late");
    }
    char name[32];
    std::snprintf(name, sizeof name, "c_%03d.gor", k);
    paths.push_back(d / name);
    spit(paths.back(), f);
  }
  std::sort(expected.begin(), expected.end(), [](auto& a, auto& b) { return a.first < b.first; });  // no ties
  auto got = merge_files(paths);
  CHECK(got.records == expected);
  CHECK(got.max_open <= 3);
}

TEST_CASE("lazy and eager merges give the same order", "[unit][file]") {
  scratch_dir d("lazy-eager");
  std::mt19937 rng(7);
  std::vector<std::string> paths;
  for (int k = 0; k < 100; ++k) {
    std::string f;
    for (int j = 0; j < 20; ++j)
      f += rec('1', std::to_string(k) + "-" + std::to_string(j), static_cast<std::int64_t>(rng() % 5000), "x") + sep;
    paths.push_back(d / ("f" + std::to_string(1000 + k) + ".gor"));
    spit(paths.back(), f);
  }
  auto lazy = merge_files(paths);  // 100 files: more than eager_files
  // Each file fits its window, so the merge order is a sort by (timestamp, file).
  std::vector<std::pair<std::int64_t, std::string>> eager;
  std::vector<std::tuple<std::int64_t, int, int, std::string>> all;  // (ts, file, position, id)
  for (int k = 0; k < 100; ++k) {
    int pos = 0;
    for (auto& r : split_records(slurp(paths[k]))) {
      auto m = message::parse(r);
      all.emplace_back(m->timestamp_ns(), k, pos++, std::string(m->id()));
    }
  }
  std::sort(all.begin(), all.end());
  for (auto& [ts, k, pos, id] : all) eager.emplace_back(ts, id);
  CHECK(lazy.records == eager);
  // The same files, fewer than eager_files at a time, merged eagerly, agree too.
  auto first = merge_files(std::vector<std::string>(paths.begin(), paths.begin() + 40));
  std::vector<std::pair<std::int64_t, std::string>> first_expected;
  for (auto& [ts, k, pos, id] : all)
    if (k < 40) first_expected.emplace_back(ts, id);
  CHECK(first.records == first_expected);
}

TEST_CASE("file input reads two gzip files through one glob", "[unit][file]") {
  scratch_dir d("gzglob");
  for (int f = 0; f < 2; ++f) {
    std::string plain;
    for (int i = 0; i < 1000; ++i) plain += rec('1', std::to_string(f) + "-" + std::to_string(i), i * 2 + f, "GET / HTTP/1.1\r\n\r\n") + sep;
    std::string gz;
    gzip_encoder e;
    e.write(plain, gz);
    e.finish(gz);
    spit(d / ("r" + std::to_string(f) + ".gor.gz"), gz);
  }
  file_input_options o;
  o.path = d / "*.gz";
  o.speed_factor = 0;
  auto r = run_input(o);
  CHECK(error_text(r.result.error) == "");
  REQUIRE(r.got->got.size() == 2000);
  for (std::size_t i = 0; i < 2000; ++i) CHECK(r.got->got[i]->timestamp_ns() == static_cast<std::int64_t>(i));
}

namespace {

// Sends its messages `gap` apart.
class spaced_source : public source {
 public:
  spaced_source(std::vector<message_ptr> v, std::chrono::milliseconds gap) : v_(std::move(v)), gap_(gap) {}
  asio::awaitable<void> run(message_writer out) override {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (auto& m : v_) {
      co_await out.send(m);
      t.expires_after(gap_);
      co_await t.async_wait(asio::use_awaitable);
    }
  }

 private:
  std::vector<message_ptr> v_;
  std::chrono::milliseconds gap_;
};

}  // namespace

TEST_CASE("file output: a %S template moves to a new file as seconds pass", "[unit][file]") {
  scratch_dir d("seconds");
  file_output_options o;
  o.path = d / "s-%S.gor";
  o.append = true;
  asio::io_context io;
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<spaced_source>(numbered(2), 1100ms));
  p.add_sink("output-file", std::make_unique<file_output>(o));
  auto r = run_pipeline(io, p);
  CHECK(error_text(r.error) == "");
  auto names = d.names();
  REQUIRE(names.size() == 2);
  CHECK(names[0].size() == std::string("s-00.gor").size());
}

TEST_CASE("file input stops promptly while waiting for a far deadline", "[unit][file]") {
  scratch_dir d("stop");
  spit(d / "f.gor", rec('1', "a", 0, "x") + sep + rec('1', "b", 3'600'000'000'000, "x") + sep);
  file_input_options o;
  o.path = d / "f.gor";
  auto r = run_input(o, 10s, 100ms);
  REQUIRE(r.result.finished);
  CHECK(error_text(r.result.error) == "");
  CHECK(r.got->got.size() == 1);
  CHECK(r.took < 2s);
}

TEST_CASE("file input stops promptly while a FIFO sends nothing", "[unit][file][read_ahead]") {
  // Read-ahead is for regular files only: a thread blocked in read(2) on a FIFO could not be joined.
  scratch_dir d("fifo");
  std::string path = d / "in.gor";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  int writer = ::open(path.c_str(), O_RDWR);  // a writer that stays silent
  REQUIRE(writer >= 0);
  const std::string first = rec('1', "a", 1, "x") + sep;
  REQUIRE(::write(writer, first.data(), first.size()) == static_cast<ssize_t>(first.size()));
  file_input_options o;
  o.path = path;
  o.speed_factor = 0;
  auto r = run_input(o, 10s, 200ms);
  ::close(writer);
  REQUIRE(r.result.finished);
  CHECK(error_text(r.result.error) == "");
  CHECK(r.took < 3s);
}
