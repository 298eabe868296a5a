// --input-dummy: a GET / every second with its response, as gor's, for trying outputs.
#pragma once

#include <coreplay/plugin.hpp>

#include <chrono>

namespace coreplay {

struct dummy_input_options {
  std::chrono::nanoseconds interval{std::chrono::seconds(1)};
};

class dummy_input : public source {
 public:
  explicit dummy_input(dummy_input_options o) : options_(o) {}
  asio::awaitable<void> run(message_writer out) override;

 private:
  dummy_input_options options_;
};

}  // namespace coreplay
