// --input-http ADDR: an HTTP server whose every request becomes a type-1 message (gor's
// HTTPInput): a client, a load generator or a test sends requests here and they are replayed,
// recorded or filtered like captured ones. Each request is answered "200 OK" once the pipeline
// has taken it; while the pipeline is full the answer waits (back-pressure reaches the client),
// where gor dropped requests past a 10,000-message queue.
#pragma once

#include <coreplay/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace coreplay {

struct http_input_options {
  std::size_t max_body_bytes = std::size_t{64} << 20;  // larger requests are refused with 413
};

class http_input : public source {
 public:
  // `address`: ":8080", "127.0.0.1:8080", "[::1]:8080" (port 0 picks one). Binds at once: a
  // bad or busy address throws std::runtime_error naming it.
  http_input(const std::string& address, http_input_options o = {});
  ~http_input() override;
  asio::awaitable<void> run(message_writer out) override;
  std::uint16_t port() const noexcept;

 private:
  struct state;
  std::string address_;
  std::shared_ptr<state> state_;
};

}  // namespace coreplay
