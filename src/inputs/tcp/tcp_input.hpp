// --input-tcp: receives messages from other coreplay or gor instances (--output-tcp): a
// listener, plain or TLS, whose every connection carries gor's record stream (meta + payload,
// each followed by "\n🐵🙈🙉\n").
//
// As gor: a line equal to "🐵🙈🙉\n" ends a record and the '\n' before it is not part of it
// (gor_record_reader); any number of connections; ":port" listens on every (IPv4) interface.
// Where coreplay differs, on purpose:
//  - Back-pressure: a connection whose messages the pipeline cannot take stops being read, so
//    the sender's TCP window closes (gor buffers without bound in goroutines).
//  - Records with a malformed meta line, or larger than --copy-buffer-size, are skipped and
//    counted (`malformed`, `oversized`, drops), with one error line each for the first five.
//  - A connection that ends inside a record (no separator after its last bytes) drops that
//    record and counts it (`truncated`, drops): a stream cut mid-record is a truncated record,
//    which gor drops too (unlike a file's last record, which coreplay keeps).
//  - A certificate or key that cannot be loaded is an error at startup naming the file (gor:
//    fatal too); a failed TLS handshake only ends that connection (counted in `errors_tls`).
// On cancellation (SIGINT/SIGTERM) it stops accepting and closes every connection; what was
// already emitted drains to the outputs.
//
// Counters: connections (accepted), connections_open, bytes_read, malformed, oversized,
// truncated, errors_tls, errors_read.
#pragma once

#include "core/gor_record.hpp"
#include "core/listen_socket.hpp"
#include "core/options.hpp"

#include <coreplay/plugin.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace coreplay {

struct tcp_input_options {
  bool secure = false;          // --input-tcp-secure
  std::string certificate;      // --input-tcp-certificate (PEM, may hold the chain)
  std::string certificate_key;  // --input-tcp-certificate-key (PEM)
  byte_size max_record_size{default_max_record_bytes};  // --copy-buffer-size: larger records skipped
  byte_size read_size{64u << 10};                       // one read from a connection
};

option_group<tcp_input_options> tcp_input_option_group();

class registry;
// Adds --input-tcp and its options to `r`.
void add_tcp_input(registry& r);

class tcp_input final : public source {
 public:
  // Binds the address (":port" is every IPv4 interface; port 0 picks a free one). Throws
  // option_error for a bad address or missing TLS files, std::runtime_error naming the address
  // when it cannot be bound, or the file when the certificate or key cannot be loaded.
  tcp_input(std::string address, tcp_input_options options);
  ~tcp_input() override;
  asio::awaitable<void> run(message_writer out) override;
  // The bound port (the real one when 0 was asked).
  std::uint16_t port() const noexcept;

  struct tls_config;
  struct state;

 private:
  void load_tls();

  std::string address_;
  tcp_input_options options_;
  std::shared_ptr<tls_config> tls_;
  listen_socket listener_;
};

}  // namespace coreplay
