// Reading gor files: the record reader against `cat`/`gzip -dc` on the same file, plain and
// gzip, io_uring and read(2), and the whole --input-file plugin through a pipeline.
// Usage: bench_file_io [size_mb=1024] [dir=/tmp] [input-only|output-only]
//        bench_file_io generate SIZE_MB FILE      (writes the bench's file and keeps it)
//        bench_file_io plugin FILE [rounds=3] [nocat]  (the --input-file case alone on FILE, for perf)
// Every case checks that it found exactly the records that were generated.
#include "core/block_file.hpp"
#include "core/gor_record.hpp"
#include "core/gzip_stream.hpp"
#include "inputs/file/file_input.hpp"
#include "outputs/file/file_output.hpp"

#include <coreplay/pipeline.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

using namespace coreplay;
using clk = std::chrono::steady_clock;

namespace {

double secs(clk::duration d) { return std::chrono::duration<double>(d).count(); }

struct tally {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
};

// ~1 KiB requests and responses with varied sizes and binary bodies.
tally generate(const std::string& path, std::uint64_t target_bytes) {
  std::ofstream f(path, std::ios::binary);
  std::mt19937_64 rng(42);
  std::string body(64 << 10, '\0');
  for (auto& c : body) c = static_cast<char>(rng() & 0xff);
  tally t;
  std::string buf;
  std::int64_t ts = 1'700'000'000'000'000'000;
  while (t.bytes < target_bytes) {
    auto id = make_message_id();
    ts += static_cast<std::int64_t>(rng() % 1'000'000);
    std::size_t blen = rng() % 1500;
    std::string req = "POST /api/v1/items/" + std::to_string(t.records) +
                      " HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nContent-Length: " +
                      std::to_string(blen) + "\r\n\r\n" + body.substr(rng() % 60000, blen);
    auto m = message::make(message_type::request, id, ts, std::nullopt, req);
    auto r = message::make(message_type::response, id, ts + 1000, 1000,
                           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    append_gor_record(*m, buf);
    append_gor_record(*r, buf);
    t.records += 2;
    if (buf.size() > (4u << 20)) {
      t.bytes += buf.size();
      f.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  t.bytes += buf.size();
  f.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  return t;
}

double run_shell(const std::string& cmd) {
  auto t0 = clk::now();
  if (std::system(cmd.c_str()) != 0) std::cerr << "failed: " << cmd << "\n";
  return secs(clk::now() - t0);
}

// Reads `path` through block_file (+ gunzip) and the record reader; returns records found.
tally read_records(const std::string& path, bool io_uring, bool gz) {
  asio::io_context io;
  tally t;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        block_file f(io.get_executor(), path, block_file::open_mode::read, io_uring);
        if (io_uring && !f.uses_io_uring()) std::cerr << "(io_uring unavailable: read(2) used)\n";
        gor_record_reader r;
        std::optional<gzip_decoder> d;
        if (gz) d.emplace();
        std::string in(1 << 20, '\0');
        for (;;) {
          if (!gz) {
            auto span = r.prepare(1 << 20);
            auto n = co_await f.read_some(span);
            r.commit(n);
            if (n == 0) break;
          } else {
            auto n = co_await f.read_some(in);
            if (n == 0) break;
            d->set_input(std::string_view(in).substr(0, n));
            while (!d->needs_input()) {
              r.commit(d->inflate_some(r.prepare(1 << 20)));
              while (auto m = r.next()) {
                ++t.records;
                t.bytes += m->record().size() + gor_separator.size();
              }
            }
            continue;
          }
          while (auto m = r.next()) {
            ++t.records;
            t.bytes += m->record().size() + gor_separator.size();
          }
        }
        if (d) d->finish();
        r.finish();
        while (auto m = r.next()) {
          ++t.records;
          t.bytes += m->record().size() + gor_separator.size();
        }
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();
  return t;
}

class counting_sink : public sink {
 public:
  explicit counting_sink(std::uint64_t& n) : n_(n) {}
  asio::awaitable<void> run(message_reader in) override {
    // As --output-null: take what is queued without suspending, wait only when caught up.
    for (;;) {
      message_ptr m;
      if (!in.try_receive(m)) m = co_await in.receive();
      if (!m) break;
      ++n_;
    }
  }

 private:
  std::uint64_t& n_;
};

std::uint64_t run_input_plugin(const std::string& path) {
  asio::io_context io;
  pipeline p(io.get_executor());
  file_input_options o;
  o.path = path;
  o.speed_factor = 0;
  // For comparing settings: BENCH_READ_AHEAD=0 reads on the replay's thread; BENCH_BLOCK_KIB.
  if (const char* ra = std::getenv("BENCH_READ_AHEAD")) o.read_ahead_blocks = std::strtoull(ra, nullptr, 10);
  if (const char* kib = std::getenv("BENCH_BLOCK_KIB")) o.read_block_size = byte_size{std::strtoull(kib, nullptr, 10) << 10};
  std::uint64_t n = 0;
  p.add_source("input-file", std::make_unique<file_input>(o));
  p.add_sink("count", std::make_unique<counting_sink>(n));
  std::exception_ptr err;
  p.async_run([&](std::exception_ptr e) { err = e; });
  io.run();
  if (err) std::rethrow_exception(err);
  return n;
}

// The output plugin: `n` records from a source into a file.
class replay_source : public source {
 public:
  explicit replay_source(std::vector<message_ptr> v, std::uint64_t total) : v_(std::move(v)), total_(total) {}
  asio::awaitable<void> run(message_writer out) override {
    for (std::uint64_t i = 0; i < total_; ++i) co_await out.send(v_[i % v_.size()]);
  }

 private:
  std::vector<message_ptr> v_;
  std::uint64_t total_;
};

void run_output_plugin(const std::string& path, std::uint64_t records, bool append, bool io_uring = false) {
  asio::io_context io;
  pipeline p(io.get_executor());
  std::vector<message_ptr> v;
  for (int i = 0; i < 64; ++i)
    v.push_back(message::make(message_type::request, make_message_id(), i, std::nullopt,
                              "GET /" + std::string(static_cast<std::size_t>(400 + i * 10), 'x') + " HTTP/1.1\r\n\r\n"));
  file_output_options o;
  o.path = path;
  o.append = append;
  o.prefer_io_uring = io_uring;
  p.add_source("src", std::make_unique<replay_source>(v, records));
  p.add_sink("output-file", std::make_unique<file_output>(o));
  std::exception_ptr err;
  p.async_run([&](std::exception_ptr e) { err = e; });
  io.run();
  if (err) std::rethrow_exception(err);
}

void report(const char* what, double s, std::uint64_t bytes, std::uint64_t records = 0) {
  std::printf("%-44s %7.3f s  %8.1f MB/s", what, s, static_cast<double>(bytes) / 1e6 / s);
  if (records) std::printf("  %6.2f M rec/s", static_cast<double>(records) / 1e6 / s);
  std::printf("\n");
}

}  // namespace

// `n` records through the output plugin, write(2) then io_uring, then dd writing as many bytes;
// each case starts with no dirty pages of an earlier one, so none pays for another's writeback.
// Leaves dir/out.gor (plain) behind and returns its size.
std::uint64_t write_cases(const std::string& dir, std::uint64_t n) {
  run_shell("sync");
  auto t = clk::now();
  run_output_plugin(dir + "/out.gor", n, true);
  auto bytes = std::filesystem::file_size(dir + "/out.gor");
  report("file_output plugin, plain, write(2)", secs(clk::now() - t), bytes, n);
  std::filesystem::remove(dir + "/out.gor");
  run_shell("sync");
  t = clk::now();
  run_output_plugin(dir + "/out.gor", n, true, true);
  report("file_output plugin, plain, io_uring", secs(clk::now() - t), bytes, n);
  run_shell("sync");
  // dd writes the same number of bytes from /dev/zero in 256 KiB blocks, as the output does.
  report("dd if=/dev/zero bs=256k (reference for writing)",
         run_shell("dd if=/dev/zero of='" + dir + "/dd.out' bs=256k count=" + std::to_string(bytes / (256 * 1024) + 1) +
                   " status=none"),
         bytes);
  std::filesystem::remove(dir + "/dd.out");
  run_shell("sync");
  return bytes;
}

int main(int argc, char** argv) {
  if (argc > 3 && std::string(argv[1]) == "generate") {
    auto gen = generate(argv[3], std::strtoull(argv[2], nullptr, 10) << 20);
    std::printf("%s: %llu records, %llu bytes\n", argv[3], static_cast<unsigned long long>(gen.records),
                static_cast<unsigned long long>(gen.bytes));
    return 0;
  }
  if (argc > 2 && std::string(argv[1]) == "plugin") {
    const std::string path = argv[2];
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
    const bool with_cat = !(argc > 4 && std::string(argv[4]) == "nocat");  // nocat: keep a cold cache cold
    const auto bytes = std::filesystem::file_size(path);
    for (int i = 0; i < rounds; ++i) {
      if (with_cat) report("cat FILE > /dev/null", run_shell("cat '" + path + "' > /dev/null"), bytes);
      auto cpu = [] {
        rusage u{};
        ::getrusage(RUSAGE_SELF, &u);
        return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
               static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
      };
      auto t = clk::now();
      auto c0 = cpu();
      auto n = run_input_plugin(path);
      report("file_input plugin -> pipeline -> sink", secs(clk::now() - t), bytes, n);
      std::printf("  (cpu %.3f s: %.0f ns per record)\n", cpu() - c0, (cpu() - c0) * 1e9 / static_cast<double>(n));
    }
    return 0;
  }
  std::uint64_t mb = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
  std::string dir = argc > 2 ? argv[2] : "/tmp";
  dir += "/coreplay-bench-file-io-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string plain = dir + "/bench.gor";
  std::string gz = dir + "/bench.gor.gz";

  const bool input_only = argc > 3 && std::string(argv[3]) == "input-only";
  if (argc > 3 && std::string(argv[3]) == "output-only") {  // for profiling the writing path alone
    for (int i = 0; i < 3; ++i) {
      write_cases(dir, (mb << 20) / 480);
      std::filesystem::remove(dir + "/out.gor");
    }
    std::filesystem::remove_all(dir);
    return 0;
  }
  auto t0 = clk::now();
  auto gen = generate(plain, mb << 20);
  if (input_only) {  // for profiling the plugin path alone
    for (int i = 0; i < 3; ++i) {
      auto t = clk::now();
      auto n = run_input_plugin(plain);
      report("file_input plugin -> pipeline -> sink", secs(clk::now() - t), gen.bytes, n);
    }
    std::filesystem::remove_all(dir);
    return 0;
  }
  std::printf("generated %s: %.1f MB, %llu records in %.2f s\n", plain.c_str(), static_cast<double>(gen.bytes) / 1e6,
              static_cast<unsigned long long>(gen.records), secs(clk::now() - t0));
  double s_gzip = run_shell("gzip -1 -c '" + plain + "' > '" + gz + "'");
  std::printf("gzip -1 took %.2f s (%.1f MB compressed)\n\n", s_gzip,
              static_cast<double>(std::filesystem::file_size(gz)) / 1e6);

  bool ok = true;
  auto check = [&](const tally& t, const char* what) {
    if (t.records != gen.records || t.bytes != gen.bytes) {
      std::printf("MISMATCH in %s: %llu records %llu bytes\n", what, static_cast<unsigned long long>(t.records),
                  static_cast<unsigned long long>(t.bytes));
      ok = false;
    }
  };

  run_shell("cat '" + plain + "' > /dev/null");  // warm the page cache for everyone
  for (int round = 0; round < 2; ++round) {
    std::printf("-- round %d (page cache warm)\n", round + 1);
    report("cat FILE > /dev/null", run_shell("cat '" + plain + "' > /dev/null"), gen.bytes);
    {
      auto t = clk::now();
      auto r = read_records(plain, true, false);
      report("record reader, io_uring", secs(clk::now() - t), gen.bytes, r.records);
      check(r, "io_uring");
    }
    {
      auto t = clk::now();
      auto r = read_records(plain, false, false);
      report("record reader, read(2)", secs(clk::now() - t), gen.bytes, r.records);
      check(r, "read(2)");
    }
    report("gzip -dc FILE.gz > /dev/null", run_shell("gzip -dc '" + gz + "' > /dev/null"), gen.bytes);
    {
      auto t = clk::now();
      auto r = read_records(gz, true, true);
      report("record reader, gzip, io_uring", secs(clk::now() - t), gen.bytes, r.records);
      check(r, "gzip");
    }
    {
      auto t = clk::now();
      auto n = run_input_plugin(plain);
      report("file_input plugin -> pipeline -> sink", secs(clk::now() - t), gen.bytes, n);
      if (n != gen.records) ok = false;
    }
  }

  // Cold page cache (root only): how the plugin keeps up with the disk itself.
  if (::geteuid() == 0) {
    std::printf("-- cold page cache (echo 3 > /proc/sys/vm/drop_caches before each case)\n");
    auto drop = [] { run_shell("sync; echo 3 > /proc/sys/vm/drop_caches"); };
    drop();
    report("cat FILE > /dev/null", run_shell("cat '" + plain + "' > /dev/null"), gen.bytes);
    drop();
    auto t = clk::now();
    auto n = run_input_plugin(plain);
    report("file_input plugin -> pipeline -> sink", secs(clk::now() - t), gen.bytes, n);
    if (n != gen.records) ok = false;
  }

  {
    std::printf("-- writing\n");
    std::uint64_t n = gen.records / 2;
    auto bytes = write_cases(dir, n);
    report("cp FILE (reference for writing)", run_shell("cp '" + dir + "/out.gor' '" + dir + "/copy.gor'"), bytes);
    std::filesystem::remove(dir + "/copy.gor");
    run_shell("sync");
    auto t = clk::now();
    run_output_plugin(dir + "/out.gor.gz", n / 4, true);
    report("file_output plugin, gzip level 6", secs(clk::now() - t), bytes / 4, n / 4);
  }

  std::filesystem::remove_all(dir);
  std::printf("\n%s\n", ok ? "all record counts verified" : "RECORD COUNT MISMATCH");
  return ok ? 0 : 1;
}
