// --output-kafka-host: produces every message to a Kafka topic, as gor does (one record per
// message, value = meta + payload, no key; or gor's JSON KafkaMessage).
#pragma once

#include "core/kafka/kafka_common.hpp"
#include "core/options.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <string>

namespace coreplay {

struct kafka_output_options {
  std::string brokers;  // from --output-kafka-host: a:9092,b:9092
  std::string topic;
  bool json_format = false;
  bool use_sasl = false;
  std::string mechanism;
  std::string username;
  std::string password;
  std::string tls_ca_cert;
  std::string tls_client_cert;
  std::string tls_client_key;
  // At the end of the stream, how long accepted messages may take to be delivered; what is
  // still undelivered then is dropped and counted. Kept below the pipeline's drain timeout.
  std::chrono::nanoseconds flush_timeout{std::chrono::seconds(5)};
  // A message librdkafka could not deliver within this long is counted as an error.
  std::chrono::nanoseconds message_timeout{std::chrono::seconds(30)};
  // Messages (and bytes) librdkafka may hold undelivered; past them the sink waits.
  std::int64_t queue_messages = 100000;
  byte_size queue_bytes{64u << 20};

  kafka::sasl_options sasl() const { return {use_sasl, mechanism, username, password}; }
  kafka::tls_options tls() const { return {tls_ca_cert, tls_client_cert, tls_client_key}; }
};

// gor's --output-kafka-* and --kafka-tls-* flags (the brokers come from --output-kafka-host).
option_group<kafka_output_options> kafka_output_option_group();

// Stats counters: "delivered", "delivery_failed", "queue_full_waits"; detail: in flight.
// Fails (run() throws, naming the brokers) when no broker can be reached before the first
// delivery, when the topic does not exist, or when authentication fails.
class kafka_output final : public sink {
 public:
  // Throws option_error for a missing topic, a TLS certificate without its key (or the
  // reverse), or an unknown SASL mechanism.
  explicit kafka_output(kafka_output_options opts);
  asio::awaitable<void> run(message_reader in) override;

  const kafka_output_options& options() const noexcept { return opts_; }

 private:
  kafka_output_options opts_;
};

}  // namespace coreplay
