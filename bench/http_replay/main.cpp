// N identical GETs through a coreplay pipeline into --output-http, against a local nginx,
// beside wrk against the same nginx in the same run (same connection count). Prints both
// rates and their ratio, and fails when a request did not get its 200.
//
//   bench_http_replay [requests=200000] [connections=1] [wrk-seconds=3]
#include "outputs/http/http_output.hpp"

#include <coreplay/pipeline.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace coreplay;
namespace asio = boost::asio;

namespace {

class repeat_source : public source {
 public:
  repeat_source(message_ptr m, std::int64_t n) : m_(std::move(m)), n_(n) {}
  asio::awaitable<void> run(message_writer out) override {
    for (std::int64_t i = 0; i < n_; ++i) co_await out.send(m_);
  }

 private:
  message_ptr m_;
  std::int64_t n_;
};

unsigned short free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

bool port_open(unsigned short port) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

pid_t start_nginx(const std::string& dir, unsigned short port) {
  std::ofstream conf(dir + "/nginx.conf");
  conf << "worker_processes 1;\npid " << dir << "/nginx.pid;\nerror_log " << dir << "/error.log;\n"
       << "events { worker_connections 1024; }\n"
       << "http {\n  access_log off;\n  keepalive_requests 100000000;\n"
       << "  client_body_temp_path " << dir << "/body;\n  proxy_temp_path " << dir << "/proxy;\n"
       << "  fastcgi_temp_path " << dir << "/fastcgi;\n  uwsgi_temp_path " << dir << "/uwsgi;\n"
       << "  scgi_temp_path " << dir << "/scgi;\n"
       << "  server { listen 127.0.0.1:" << port << "; location / { return 200 \"ok\"; } }\n}\n";
  conf.close();
  pid_t pid = fork();
  if (pid == 0) {
    execl("/usr/sbin/nginx", "nginx", "-p", dir.c_str(), "-c", (dir + "/nginx.conf").c_str(), "-g",
          "daemon off; master_process off;", static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 300 && !port_open(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pid;
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct wrk_result {
  double rate = 0;
  double requests = 0;
  double cpu = 0;  // seconds of CPU wrk used
};

wrk_result run_wrk(unsigned short port, int connections, int seconds) {
  std::string cmd = "wrk -t1 -c" + std::to_string(connections) + " -d" + std::to_string(seconds) +
                    "s http://127.0.0.1:" + std::to_string(port) + "/ 2>&1";
  wrk_result r;
  const double before = cpu_seconds(RUSAGE_CHILDREN);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char line[512];
  while (fgets(line, sizeof line, p)) {
    std::string s(line);
    if (auto at = s.find("Requests/sec:"); at != std::string::npos) r.rate = std::atof(s.c_str() + at + 13);
    if (auto at = s.find(" requests in "); at != std::string::npos) r.requests = std::atof(s.c_str());
  }
  pclose(p);
  r.cpu = cpu_seconds(RUSAGE_CHILDREN) - before;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 200000;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 1;
  const int wrk_seconds = argc > 3 ? std::atoi(argv[3]) : 3;

  char tmpl[] = "/tmp/coreplay-bench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto port = free_port();
  pid_t nginx = start_nginx(dir, port);
  if (!port_open(port)) {
    std::cerr << "nginx did not start (see " << dir << "/error.log)\n";
    return 2;
  }

  auto wrk = run_wrk(port, connections, wrk_seconds);
  const double wrk_rate = wrk.rate;

  asio::io_context io(1);
  pipeline p(io.get_executor());
  auto req = message::make(message_type::request, make_message_id(), 0, std::nullopt,
                           "GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: coreplay-bench\r\nAccept: */*\r\n\r\n");
  p.add_source("repeat", std::make_unique<repeat_source>(req, n));
  http_output_options o;
  o.workers_min = connections;
  o.workers = connections;
  auto& stats = p.add_sink("http", std::make_unique<http_output>("http://127.0.0.1:" + std::to_string(port), o));
  std::exception_ptr failure;
  bool done = false;
  auto start = std::chrono::steady_clock::now();
  const double cpu_before = cpu_seconds(RUSAGE_SELF);
  p.async_run([&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  io.run();
  const double cpu = cpu_seconds(RUSAGE_SELF) - cpu_before;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  kill(nginx, SIGTERM);
  waitpid(nginx, nullptr, 0);
  std::system(("rm -rf " + dir).c_str());

  std::uint64_t ok = 0;
  for (auto& [k, v] : stats.counters())
    if (k == "status_2xx") ok = v;
  double rate = static_cast<double>(n) / secs;
  std::cout << "connections=" << connections << " requests=" << n << "\n"
            << "wrk:      " << static_cast<long>(wrk_rate) << " req/s\n"
            << "coreplay: " << static_cast<long>(rate) << " req/s (" << secs << " s, " << ok << " x 2xx, "
            << stats.errors.load() << " errors; " << (stats.detail ? stats.detail() : "") << ")\n"
            << "ratio coreplay/wrk: " << (wrk_rate > 0 ? rate / wrk_rate : 0) << "\n"
            // CPU per request is steadier than rates on a shared machine.
            << "cpu per request: wrk " << (wrk.requests > 0 ? wrk.cpu / wrk.requests * 1e6 : 0) << " us, coreplay "
            << cpu / static_cast<double>(n) * 1e6 << " us\n";
  if (!done || failure || ok != static_cast<std::uint64_t>(n)) {
    std::cerr << "FAILED: not every request got a 2xx\n";
    return 1;
  }
  return 0;
}
