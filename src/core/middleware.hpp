// --middleware "cmd args": one child process speaking gor's hex line protocol on its stdin and
// stdout; its stderr passes through. Full duplex: a slow child applies back-pressure.
#pragma once

#include <coreplay/plugin.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace coreplay {

struct middleware_options {
  std::string command;
  bool prettify = false;  // --prettify-http: the child sees de-chunked, gunzipped bodies (gor)
  std::size_t max_line_bytes = 64u << 20;  // a longer line is reported and skipped
  std::chrono::nanoseconds exit_grace{std::chrono::seconds(5)};  // after stdin closes
};

class middleware_process : public message_stage {
 public:
  explicit middleware_process(middleware_options o);
  asio::awaitable<void> run(message_reader in, message_writer out) override;

  // gor splits the command on spaces, without a shell.
  static std::vector<std::string> split_command(const std::string& command);

 private:
  middleware_options options_;
};

}  // namespace coreplay
