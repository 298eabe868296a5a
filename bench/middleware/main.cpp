// Messages/s through --middleware (a C-speed echo child), beside a bare pipe round trip of the
// same hex lines through the same child in the same run.
//   build/release/bench/bench_middleware [messages]
// The child is this program run as `bench_middleware echo`: it copies stdin to stdout.
#include "core/http/middleware_codec.hpp"
#include "core/middleware.hpp"
#include "outputs/stdout/stdout_output.hpp"

#include <coreplay/pipeline.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;
using namespace coreplay;
using clock_type = std::chrono::steady_clock;

namespace {

int echo_main() {
  static char buf[1 << 16];
  for (;;) {
    auto n = ::read(0, buf, sizeof buf);
    if (n <= 0) return 0;
    for (ssize_t off = 0; off < n;) {
      auto w = ::write(1, buf + off, n - off);
      if (w <= 0) return 1;
      off += w;
    }
  }
}

class repeat_source : public source {
 public:
  repeat_source(message_ptr m, std::size_t n) : m_(std::move(m)), n_(n) {}
  asio::awaitable<void> run(message_writer out) override {
    for (std::size_t i = 0; i < n_; ++i) co_await out.send(m_);
  }
  message_ptr m_;
  std::size_t n_;
};

double bare_pipe(const std::string& self, const std::string& line, std::size_t n) {
  int in[2], out[2];
  if (pipe(in) || pipe(out)) std::exit(1);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  pid_t pid;
  char* argv[] = {const_cast<char*>(self.c_str()), const_cast<char*>("echo"), nullptr};
  auto t0 = clock_type::now();
  posix_spawn(&pid, self.c_str(), &fa, nullptr, argv, environ);
  close(in[0]);
  close(out[1]);
  std::thread writer([&] {
    std::string batch;
    for (std::size_t i = 0; i < n; ++i) {
      batch += line;
      if (batch.size() > 256 * 1024 || i + 1 == n) {
        for (std::size_t off = 0; off < batch.size();) off += ::write(in[1], batch.data() + off, batch.size() - off);
        batch.clear();
      }
    }
    close(in[1]);
  });
  std::size_t lines = 0;
  static char buf[1 << 16];
  for (;;) {
    auto r = ::read(out[0], buf, sizeof buf);
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; ++i) lines += buf[i] == '\n';
  }
  writer.join();
  waitpid(pid, nullptr, 0);
  close(out[0]);
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (lines != n) std::exit(1);
  return n / secs;
}

double through_pipeline(const std::string& self, message_ptr m, std::size_t n) {
  asio::io_context io(1);
  pipeline p(io.get_executor());
  p.add_source("src", std::make_unique<repeat_source>(m, n));
  auto& sink = p.add_sink("null", std::make_unique<null_output>());
  middleware_options o;
  o.command = self + " echo";
  p.set_stage("middleware", std::make_unique<middleware_process>(o));
  auto t0 = clock_type::now();
  p.async_run([](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
  io.run();
  double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (sink.messages != n) {
    std::fprintf(stderr, "lost: %llu of %zu\n", (unsigned long long)sink.messages.load(), n);
    std::exit(1);
  }
  return n / secs;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "echo") == 0) return echo_main();
  std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 300000;
  char self[4096];
  auto len = readlink("/proc/self/exe", self, sizeof self - 1);
  self[len] = 0;
  auto m = message::make(message_type::request, make_message_id(), 1700000000000000000, std::nullopt,
                         "GET /api/items?id=12345 HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n");
  auto line = http::middleware_encode(*m);
  double bare = 0, ours = 0;
  for (int round = 0; round < 3; ++round) {
    bare = std::max(bare, bare_pipe(self, line, n));
    ours = std::max(ours, through_pipeline(self, m, n));
  }
  std::printf("messages: %zu (%zu-byte record, %zu-byte hex line)\n", n, m->record().size(), line.size());
  std::printf("bare pipe round trip of the hex lines: %.0f msg/s\n", bare);
  std::printf("pipeline -> middleware -> null sink:    %.0f msg/s (%.2fx bare)\n", ours, ours / bare);
  return 0;
}
