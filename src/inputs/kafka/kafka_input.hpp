// --input-kafka-host: consumes every partition of a topic (assigned directly, no consumer
// group, as gor's sarama PartitionConsumers) and emits each record as a message.
#pragma once

#include "core/kafka/kafka_common.hpp"
#include "core/options.hpp"

#include <coreplay/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace coreplay {

struct kafka_input_options {
  std::string brokers;  // from --input-kafka-host
  std::string topic;
  bool json_format = false;
  bool use_sasl = false;
  std::string mechanism;
  std::string username;
  std::string password;
  // -1 newest, -2 oldest, or an offset; may carry gor's '|N%' speed suffix (taken off by the
  // registry and turned into speed_factor).
  std::string offset = "-1";
  double speed_factor = 1.0;
  // How long to wait for the topic's metadata before giving up.
  std::chrono::nanoseconds metadata_timeout{std::chrono::seconds(10)};
  kafka::tls_options tls;  // --kafka-tls-* (bound in the output's option group, shared)

  kafka::sasl_options sasl() const { return {use_sasl, mechanism, username, password}; }
};

// gor's --input-kafka-* flags (the brokers come from --input-kafka-host).
option_group<kafka_input_options> kafka_input_option_group();
// The shared --kafka-tls-* flags, for parsing only (they are registered with the output).
option_group<kafka::tls_options> kafka_tls_option_group();

// The start offset of --input-kafka-offset's text (suffix removed): -1, -2 or >= 0.
// Throws option_error for anything else.
std::int64_t parse_kafka_offset(std::string_view text);

// Replays the records' timing (Kafka timestamps, divided by speed_factor) unless the offset
// is -1, as gor. Records that are not gor records (or not gor's JSON with json_format) are
// dropped, counted ("malformed") and the first few logged. Fails, naming the brokers, when
// they cannot be reached or the topic does not exist.
// Stats counters: "partitions", "consumed", "malformed".
class kafka_input final : public source {
 public:
  // Throws option_error for a missing topic, a bad offset, or bad TLS/SASL settings.
  explicit kafka_input(kafka_input_options opts);
  asio::awaitable<void> run(message_writer out) override;

 private:
  kafka_input_options opts_;
  std::int64_t start_offset_ = -1;
};

}  // namespace coreplay
