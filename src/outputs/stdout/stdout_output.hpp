// --output-stdout (and gor's --output-dummy): every message in gor's file format on stdout.
#pragma once

#include <coreplay/plugin.hpp>

namespace coreplay {

struct stdout_output_options {};

class stdout_output : public sink {
 public:
  explicit stdout_output(int fd = 1) : fd_(fd) {}
  asio::awaitable<void> run(message_reader in) override;

 private:
  void write_all(std::string& buf);
  int fd_;
};

// --output-null: takes everything, writes nothing.
class null_output : public sink {
 public:
  asio::awaitable<void> run(message_reader in) override;
};

}  // namespace coreplay
