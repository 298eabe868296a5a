// What the Kafka input and output share: librdkafka configuration from gor's flags (brokers,
// SASL, TLS), a pipe that wakes the Asio loop when a librdkafka queue has work, and gor's JSON
// KafkaMessage codec. librdkafka's types stay out of this header (only opaque pointers).
#pragma once

#include <coreplay/message.hpp>
#include <coreplay/plugin.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

extern "C" {
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_queue_s rd_kafka_queue_t;
}

namespace coreplay::kafka {

// --output-kafka-use-sasl/-mechanism/-username/-password (and the --input-kafka-* twins).
struct sasl_options {
  bool use_sasl = false;
  std::string mechanism;  // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
  std::string username;
  std::string password;
};

// --kafka-tls-ca-cert/-client-cert/-client-key, shared by input and output.
struct tls_options {
  std::string ca_cert;
  std::string client_cert;
  std::string client_key;
  // gor: TLS is on when a CA or a client certificate is given.
  bool enabled() const noexcept { return !ca_cert.empty() || !client_cert.empty(); }
};

// A certificate without its key (or the reverse), an unknown SASL mechanism, or a setting
// librdkafka refuses: throws option_error naming the flag.
void validate(const sasl_options& sasl, const tls_options& tls, std::string_view flag_prefix);

// A librdkafka configuration for these brokers; the caller owns it (rd_kafka_new takes it).
// Throws option_error when librdkafka refuses a setting.
rd_kafka_conf_t* make_conf(const std::string& brokers, const sasl_options& sasl, const tls_options& tls);
// Sets one property; throws std::runtime_error with librdkafka's reason.
void set(rd_kafka_conf_t* conf, const char* name, const std::string& value);

// A non-blocking pipe that librdkafka writes to when a queue gets work
// (rd_kafka_queue_io_event_enable), watched by an Asio descriptor. After a wake-up the owner
// must serve the queue until it is empty: librdkafka may write once per non-empty period.
class event_pipe {
 public:
  explicit event_pipe(const asio::any_io_executor& ex);
  ~event_pipe();
  event_pipe(const event_pipe&) = delete;
  event_pipe& operator=(const event_pipe&) = delete;

  // Routes `q`'s wake-ups to this pipe (q stays owned by the caller).
  void attach(rd_kafka_queue_t* q);
  // Suspends until librdkafka wrote to the pipe or `max_wait` passed; then empties the pipe.
  // Cancellable (throws on cancellation like any awaited operation).
  asio::awaitable<void> wait(std::chrono::nanoseconds max_wait);
  // Stops further waits (wakes a pending one).
  void cancel();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// gor's JSON KafkaMessage for a message (Go encoding/json bytes: struct field order,
// Req_Body and Req_Headers omitted when empty, header names canonical and sorted,
// repeated headers joined with ", ", <>& escaped as \u003c \u003e \u0026).
std::string to_json(const message& m);

// The record gor's KafkaMessage.Dump() rebuilds from the JSON:
// "<Req_Type> <Req_ID> <Req_Ts>\n<Req_Method> <Req_URL> HTTP/1.1\r\n" + "K: V\r\n"... + "\r\n" + Req_Body
// (headers in the JSON's order). nullopt, with `error` set, when the JSON is not such an object.
std::optional<std::string> record_from_json(std::string_view json, std::string& error);

// librdkafka's default log callback prints to stderr with its own prefix; this one goes
// through coreplay's log at --verbose 2, naming the plugin.
void route_logs(rd_kafka_conf_t* conf);

}  // namespace coreplay::kafka
