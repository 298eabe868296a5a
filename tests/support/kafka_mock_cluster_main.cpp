// A Kafka cluster for tests: librdkafka's mock cluster (the real protocol on 127.0.0.1).
// Prints the bootstrap servers on one line, then serves until stdin closes or a signal.
//   kafka_mock_cluster [brokers=1] [topic:partitions]...
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

static volatile std::sig_atomic_t stop = 0;

int main(int argc, char** argv) {
  std::signal(SIGINT, [](int) { stop = 1; });
  std::signal(SIGTERM, [](int) { stop = 1; });
  int brokers = argc > 1 ? std::atoi(argv[1]) : 1;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "kafka_mock_cluster: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers < 1 ? 1 : brokers);
  if (!mc) {
    std::fprintf(stderr, "kafka_mock_cluster: cannot create the cluster\n");
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    std::string spec = argv[i];
    auto colon = spec.find(':');
    int parts = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
    rd_kafka_mock_topic_create(mc, spec.substr(0, colon).c_str(), parts, 1);
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
  std::fflush(stdout);
  // Ends when stdin reaches its end (a test that dies takes its cluster along) or a signal.
  char c;
  while (!stop) {
    ssize_t n = ::read(0, &c, 1);
    if (n == 0) break;
    if (n < 0 && !stop) ::usleep(100000);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
