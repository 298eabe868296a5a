#include "inputs/file/record_window.hpp"
#include "inputs/file/replay_schedule.hpp"
#include "outputs/file/chunk_naming.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

using namespace coreplay;
using namespace std::chrono_literals;

TEST_CASE("chunk index helpers match gor's getFileIndex/setFileIndex", "[unit][file]") {
  CHECK(file_index("/tmp/logs") == -1);
  CHECK(file_index("/tmp/logs_1") == 1);
  CHECK(file_index("/tmp/logs_2.gz") == 2);
  CHECK(file_index("/tmp/logs_0.gz") == 0);
  CHECK(with_file_index("/tmp/logs", 0) == "/tmp/logs_0");
  CHECK(with_file_index("/tmp/logs.gz", 1) == "/tmp/logs_1.gz");
  CHECK(with_file_index("/tmp/logs_1", 0) == "/tmp/logs_0");
  CHECK(with_file_index("/tmp/logs_0", 10) == "/tmp/logs_10");
  CHECK(with_file_index("/tmp/logs_0.gz", 10) == "/tmp/logs_10.gz");
  CHECK(with_file_index("/tmp/logs_underscores.gz", 10) == "/tmp/logs_underscores_10.gz");
  CHECK(with_file_index("x.gor.gz", 0) == "x.gor_0.gz");
  CHECK(with_file_index("name.gor", 1) == "name_1.gor");
  CHECK(file_extension("a.b/c") == "");
  CHECK(file_extension("x.gor.gz") == ".gz");
  CHECK(clean_path("./test_requests.gor") == "test_requests.gor");
  CHECK(clean_path("/a//b/./c/../d") == "/a/b/d");
  CHECK(clean_path("../x") == "../x");
}

TEST_CASE("path template tokens", "[unit][file]") {
  path_tokens t;
  t.local_time.tm_year = 2024 - 1900;
  t.local_time.tm_mon = 2;
  t.local_time.tm_mday = 7;
  t.local_time.tm_hour = 9;
  t.local_time.tm_min = 5;
  t.local_time.tm_sec = 3;
  t.nanosecond = 42;
  t.request_id = "abc";
  t.payload_type = '3';
  t.instance = "XyZwAbCd";
  CHECK(expand_path_template("/tmp/log-%Y-%m-%d-%S-%t", t) == "/tmp/log-2024-03-07-03-3");
  CHECK(expand_path_template("%H:%M %NS %r %i %% %q 100%", t) == "09:05 42 abc XyZwAbCd %% %q 100%");
  CHECK(expand_path_template("%N%NS", t) == "%N42");
  CHECK(template_has_tokens("a-%H.gor"));
  CHECK_FALSE(template_has_tokens("plain.gor"));
  CHECK(process_instance_id().size() == 8);
  CHECK(process_instance_id() == process_instance_id());
}

TEST_CASE("last chunk index scans only this output's chunks", "[unit][file]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("coreplay-naming-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto touch = [&](const char* n) { std::ofstream(dir / n) << "x"; };
  std::string tmpl = (dir / "req.gor").string();
  CHECK_FALSE(last_chunk_index(tmpl));
  touch("req-old_7.gor");
  touch("req.gor");
  CHECK_FALSE(last_chunk_index(tmpl));
  touch("req_0.gor");
  touch("req_2.gor");
  touch("req_10.gor");
  touch("req_11.gor.gz");
  CHECK(last_chunk_index(tmpl) == 10);
  CHECK(last_chunk_index((dir / "req.gor.gz").string()) == std::nullopt);  // stem "req.gor"
  touch("req.gor_3.gz");
  CHECK(last_chunk_index((dir / "req.gor.gz").string()) == 3);
  fs::remove_all(dir);
}

TEST_CASE("replay schedule: absolute offsets, speed, max wait, disorder", "[unit][file]") {
  SECTION("gaps at normal speed") {
    replay_schedule s;
    CHECK(s.next(1000).offset == 0ns);
    CHECK(s.next(1500).offset == 500ns);
    CHECK(s.next(4500).offset == 3500ns);
  }
  SECTION("200% halves gaps, cumulatively") {
    replay_schedule s(2.0);
    s.next(0);
    CHECK(s.next(1'000'000).offset == 500'000ns);
    CHECK(s.next(3'000'000).offset == 1'500'000ns);
  }
  SECTION("max wait caps each scaled gap") {
    replay_schedule s(0.5, 1ms);
    s.next(0);
    CHECK(s.next(100'000).offset == 200'000ns);  // 0.1ms / 0.5 = 0.2ms
    CHECK(s.next(10'000'000).offset == 1'200'000ns);  // capped at 1ms
    CHECK(s.max_wait_ns() == 1'000'000);
  }
  SECTION("out of order records are due at once and keep the reference") {
    replay_schedule s;
    s.next(100);
    auto st = s.next(50);
    CHECK(st.out_of_order);
    CHECK(s.next(300).offset == 200ns);  // gap measured from 100, not 50
    CHECK(s.out_of_order() == 1);
    CHECK(s.first_wait_ns() == -50);
  }
  SECTION("restart for a loop") {
    replay_schedule s;
    s.next(100);
    s.next(200);
    s.restart();
    CHECK(s.next(100).offset == 0ns);
    CHECK(s.next(150).offset == 50ns);
  }
  SECTION("speed 0, NaN or infinite is as fast as possible") {
    for (double f : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
      replay_schedule s(f);
      s.next(0);
      CHECK(s.next(1'000'000'000).offset == 0ns);
    }
  }
  SECTION("huge gaps saturate instead of overflowing") {
    replay_schedule s(0.001);
    s.next(INT64_MIN);
    CHECK(s.next(INT64_MAX).offset.count() == INT64_MAX);
  }
}

TEST_CASE("Go duration strings", "[unit][file]") {
  CHECK(format_go_duration(0) == "0s");
  CHECK(format_go_duration(1) == "1ns");
  CHECK(format_go_duration(1500) == "1.5\xC2\xB5s");
  CHECK(format_go_duration(100'000'000) == "100ms");
  CHECK(format_go_duration(1'500'000) == "1.5ms");
  CHECK(format_go_duration(1'000'000'000) == "1s");
  CHECK(format_go_duration(61'500'000'000) == "1m1.5s");
  CHECK(format_go_duration(3'600'000'000'000) == "1h0m0s");
  CHECK(format_go_duration(-2'000'000) == "-2ms");
  CHECK(format_go_duration(INT64_MAX) == "2562047h47m16.854775807s");
}

TEST_CASE("dry run summary is gor's text", "[unit][file]") {
  replay_schedule s;
  s.next(0);
  s.next(100'000'000);
  s.next(50'000'000);
  s.next(1'100'000'000);
  dry_run_figures f{4, 2, 1234};
  CHECK(format_dry_run_summary(f, s) ==
        "Records found: 4\nFiles processed: 2\nBytes processed: 1234\nMax wait: 1s\nMin wait: 100ms\n"
        "First wait: 100ms\nIt will take `1.1s` to replay at current speed.\n"
        "Found 1 records with out of order timestamp\n");
  replay_schedule none;
  none.next(5);
  CHECK(format_dry_run_summary({1, 1, 10}, none).find("Min wait: 2562047h47m16.854775807s\n") != std::string::npos);
}

TEST_CASE("record window orders by timestamp, ties in file order", "[unit][file]") {
  record_window w;
  for (auto [ts, id] : {std::pair{30, "a"}, {10, "b"}, {20, "c"}, {10, "d"}})
    w.push(message::make(message_type::request, id, ts, std::nullopt, ""));
  std::string order;
  while (!w.empty()) order += w.pop()->id();
  CHECK(order == "bdca");
}

namespace {

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& tag) {
    path = std::filesystem::temp_directory_path() / ("coreplay-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& n) const { return (path / n).string(); }
};

void touch(const std::string& p) { std::ofstream(p) << "x"; }

}  // namespace

TEST_CASE("chunk planner: queue limit rotates, as gor's queue-limit tests", "[unit][file]") {
  temp_dir d("planner-queue");
  SECTION("limit 2: writes 1-2 in _0, write 3 in _1") {
    chunk_planner p(false, 2, 0);
    std::string tmpl = d / "out.gor";
    std::vector<std::string> names;
    for (int i = 0; i < 3; ++i) {
      auto pl = p.place(tmpl);
      if (pl.open_new) p.opened(0);
      names.push_back(pl.name);
      p.wrote(10);
    }
    CHECK(names == std::vector<std::string>{d / "out_0.gor", d / "out_0.gor", d / "out_1.gor"});
  }
  SECTION("limit 3: all in _0") {
    chunk_planner p(false, 3, 0);
    for (int i = 0; i < 3; ++i) {
      auto pl = p.place(d / "out.gor");
      CHECK(pl.name == d / "out_0.gor");
      CHECK(pl.open_new == (i == 0));
      p.wrote(10);
    }
  }
  SECTION(".gz keeps its suffix last") {
    chunk_planner p(false, 2, 0);
    std::vector<std::string> names;
    for (int i = 0; i < 3; ++i) {
      names.push_back(p.place(d / "x.gor.gz").name);
      p.wrote(1);
    }
    CHECK(names.back() == d / "x.gor_1.gz");
    CHECK(names.front() == d / "x.gor_0.gz");
  }
}

TEST_CASE("chunk planner: size limit and restart", "[unit][file]") {
  temp_dir d("planner-size");
  std::string tmpl = d / "req.gor";
  SECTION("size limit of two records: third record in _1") {
    chunk_planner p(false, 0, 50);
    std::vector<std::string> names;
    for (int i = 0; i < 3; ++i) {
      names.push_back(p.place(tmpl).name);
      p.wrote(25);
    }
    CHECK(names[1] == d / "req_0.gor");
    CHECK(names[2] == d / "req_1.gor");
  }
  SECTION("a restart continues at the last index + 1") {
    touch(d / "req_0.gor");
    touch(d / "req_4.gor");
    touch(d / "req-old_9.gor");
    chunk_planner p(false, 256, 0);
    CHECK(p.place(tmpl).name == d / "req_5.gor");
  }
  SECTION("a template naming an indexed file keeps one index") {
    chunk_planner p(false, 256, 0);
    CHECK(p.place(d / "logs_1").name == d / "logs_0");
  }
  SECTION("append mode keeps the template name") {
    chunk_planner p(true, 1, 1);
    auto a = p.place(tmpl);
    CHECK(a.open_new);
    CHECK(a.name == tmpl);
    p.wrote(100);
    auto b = p.place(tmpl);
    CHECK_FALSE(b.open_new);
    CHECK(p.place(d / "other.gor").open_new);
  }
  SECTION("per-request names come back to their own chunk") {
    chunk_planner p(false, 256, 0);
    auto a = p.place(d / "r-aaa.gor");
    touch(a.name);
    auto b = p.place(d / "r-bbb.gor");
    touch(b.name);
    auto a2 = p.place(d / "r-aaa.gor");
    CHECK(a.name == d / "r-aaa_0.gor");
    CHECK(b.name == d / "r-bbb_0.gor");
    CHECK(a2.open_new);
    CHECK(a2.name == a.name);
  }
}

TEST_CASE("record window keeps order across its ring's wrap and growth", "[unit][file]") {
  // Against a stable sort of the same timestamps: mostly in order, some late, many ties.
  std::mt19937 rng(3);
  record_window w;
  std::vector<std::pair<std::int64_t, int>> pending;  // what the window holds, in arrival order
  std::vector<std::pair<std::int64_t, int>> expect, got;
  std::int64_t ts = 0;
  for (int i = 0; i < 20000; ++i) {
    ts += static_cast<std::int64_t>(rng() % 3);
    std::int64_t t = rng() % 10 == 0 ? ts - static_cast<std::int64_t>(rng() % 20) : ts;
    w.push(message::make(message_type::request, std::to_string(i), t, std::nullopt, ""));
    pending.emplace_back(t, i);
    const std::size_t depth = 1 + rng() % 40;
    while (w.size() > depth) {
      auto it = std::min_element(pending.begin(), pending.end(),
                                 [](auto& a, auto& b) { return a.first < b.first; });  // first of the smallest
      expect.push_back(*it);
      pending.erase(it);
      auto m = w.pop();
      got.emplace_back(m->timestamp_ns(), std::stoi(std::string(m->id())));
    }
  }
  REQUIRE(got == expect);
}
