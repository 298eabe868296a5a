// An nginx for tests: its own prefix in a temporary directory, a free 127.0.0.1 port, the
// server block the test gives, and an access log the test can read. Stopped (SIGTERM to the
// pid it started) when the object goes away.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace coreplay::test {

class nginx_process {
 public:
  // `locations` is the inside of the server block, e.g. `location / { return 200 "ok"; }`.
  explicit nginx_process(const std::string& locations, const std::string& http_extra = "") {
    char tmpl[] = "/tmp/coreplay-nginx-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    std::ofstream conf(dir_ + "/nginx.conf");
    conf << "worker_processes 1;\npid " << dir_ << "/nginx.pid;\nerror_log " << dir_ << "/error.log;\n"
         << "events { worker_connections 1024; }\n"
         << "http {\n"
         << "  log_format replay '$request|$http_host|$http_x_order|$request_length';\n"
         << "  access_log " << dir_ << "/access.log replay;\n"
         << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_ << "/proxy;\n"
         << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
         << "  scgi_temp_path " << dir_ << "/scgi;\n"
         << http_extra << "\n"
         << "  server {\n    listen 127.0.0.1:" << port_ << ";\n" << locations << "\n  }\n}\n";
    conf.close();
    pid_ = fork();
    if (pid_ == 0) {
      std::string c = dir_ + "/nginx.conf";
      execl("/usr/sbin/nginx", "nginx", "-p", dir_.c_str(), "-c", c.c_str(), "-g", "daemon off; master_process off;",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 500 && !port_open(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!port_open()) throw std::runtime_error("nginx did not start: " + read(dir_ + "/error.log"));
  }
  ~nginx_process() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  nginx_process(const nginx_process&) = delete;
  nginx_process& operator=(const nginx_process&) = delete;

  unsigned short port() const { return port_; }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + authority(); }
  // nginx writes its access log lines as requests finish (no buffer configured).
  std::string access_log() const { return read(dir_ + "/access.log"); }
  // nginx logs a request after it has sent the response: a client that has its answer may look
  // before the line is written. The log once it holds `line` (or after 5 s, as it is then).
  std::string access_log_with(const std::string& line) const {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      auto log = access_log();
      if (log.find(line) != std::string::npos || std::chrono::steady_clock::now() > until) return log;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  static std::string read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  static unsigned short free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
  }
  bool port_open() const {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    return !ec;
  }

  std::string dir_;
  unsigned short port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace coreplay::test
