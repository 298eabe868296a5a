// librdkafka fetches on its own threads into a bounded queue (queued.max.messages.kbytes);
// this coroutine drains that queue without blocking (rd_kafka_consumer_poll with timeout 0)
// and sleeps on an event pipe librdkafka writes to when the queue gets work. The one blocking
// call, the topic's metadata, runs on a short-lived thread while the coroutine keeps serving
// librdkafka's errors, so unreachable brokers are reported at once.
#include "inputs/kafka/kafka_input.hpp"

#include "core/log.hpp"
#include "inputs/file/replay_schedule.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <charconv>
#include <stdexcept>
#include <thread>
#include <vector>

namespace coreplay {

namespace {

constexpr int max_logged_skips = 5;

// rd_kafka_t shared with the metadata thread, which may outlive run().
struct consumer_handle {
  rd_kafka_t* rk = nullptr;
  ~consumer_handle() {
    if (rk) rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
};

struct metadata_result {
  std::atomic<bool> done{false};
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool topic_found = false;
  std::vector<std::int32_t> partitions;
};

struct consumer_state {
  explicit consumer_state(const asio::any_io_executor& ex) : pipe(ex) {}
  ~consumer_state() {
    // The handle may live on in the metadata thread: librdkafka must stop writing to the
    // pipe before it is closed.
    if (handle && handle->rk) {
      for (auto* q : {rd_kafka_queue_get_main(handle->rk), rd_kafka_queue_get_consumer(handle->rk)}) {
        if (!q) continue;
        rd_kafka_queue_io_event_enable(q, -1, nullptr, 0);
        rd_kafka_queue_destroy(q);
      }
    }
    handle.reset();
  }
  std::string name;
  std::string brokers;
  std::shared_ptr<consumer_handle> handle;
  kafka::event_pipe pipe;
  bool connected = false;  // the metadata came back
  std::string fatal;
  plugin_stats* stats = nullptr;
};

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto& st = *static_cast<consumer_state*>(opaque);
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
    if (st.fatal.empty()) st.fatal = std::string("authentication with '") + st.brokers + "' failed: " + reason;
    return;
  }
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !st.connected) {
    if (st.fatal.empty()) st.fatal = "cannot reach Kafka brokers '" + st.brokers + "': " + reason;
    return;
  }
  st.stats->errors.fetch_add(1, std::memory_order_relaxed);
  log::at(1, st.name, ": ", rd_kafka_err2name(code), ": ", reason);
}

}  // namespace

option_group<kafka_input_options> kafka_input_option_group() {
  option_group<kafka_input_options> g("Kafka");
  using o = kafka_input_options;
  g.add("input-kafka-topic", &o::topic, "Kafka topic to consume, every partition (required with --input-kafka-host)")
      .add("input-kafka-json-format", &o::json_format, "Consume gor's JSON documents")
      .add("input-kafka-use-sasl", &o::use_sasl, "SASL authentication")
      .add("input-kafka-mechanism", &o::mechanism, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
      .add("input-kafka-username", &o::username, "SASL user")
      .add("input-kafka-password", &o::password, "SASL password")
      .add("input-kafka-offset", &o::offset,
           "-1 newest, -2 oldest, or an offset; '-2|200%' replays the recorded timing at 2x (not with -1)");
  return g;
}

option_group<kafka::tls_options> kafka_tls_option_group() {
  option_group<kafka::tls_options> g("Kafka");
  using o = kafka::tls_options;
  g.add("kafka-tls-ca-cert", &o::ca_cert, "")
      .add("kafka-tls-client-cert", &o::client_cert, "")
      .add("kafka-tls-client-key", &o::client_key, "");
  return g;
}

std::int64_t parse_kafka_offset(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size())
    throw option_error("--input-kafka-offset '" + std::string(text) + "': expected -1 (newest), -2 (oldest) or an offset");
  if (v < -2)
    throw option_error("--input-kafka-offset '" + std::string(text) + "': offsets below -2 are not valid");
  return v;
}

kafka_input::kafka_input(kafka_input_options opts) : opts_(std::move(opts)) {
  if (opts_.brokers.empty()) throw option_error("--input-kafka-host: no broker given");
  if (opts_.topic.empty()) throw option_error("--input-kafka-host '" + opts_.brokers + "' needs --input-kafka-topic");
  start_offset_ = parse_kafka_offset(opts_.offset);
  kafka::validate(opts_.sasl(), opts_.tls, "input-kafka");
}

asio::awaitable<void> kafka_input::run(message_writer out) {
  auto ex = co_await asio::this_coro::executor;
  auto& stats = out.stats();
  auto& partitions_counter = stats.counter("partitions");
  auto& consumed = stats.counter("consumed");
  auto& malformed = stats.counter("malformed");
  auto st = std::make_shared<consumer_state>(ex);
  st->name = stats.name();
  st->brokers = opts_.brokers;
  st->stats = &stats;

  rd_kafka_conf_t* conf = kafka::make_conf(opts_.brokers, opts_.sasl(), opts_.tls);
  try {
    kafka::set(conf, "client.id", "coreplay");
    kafka::set(conf, "group.id", "coreplay");  // required by librdkafka; never joined (assign only)
    kafka::set(conf, "enable.auto.commit", "false");
    kafka::set(conf, "enable.auto.offset.store", "false");
    kafka::set(conf, "enable.partition.eof", "false");
    kafka::set(conf, "allow.auto.create.topics", "false");
    kafka::set(conf, "queued.max.messages.kbytes", "16384");  // librdkafka's prefetch bound
  } catch (...) {
    rd_kafka_conf_destroy(conf);
    throw;
  }
  rd_kafka_conf_set_opaque(conf, st.get());
  rd_kafka_conf_set_error_cb(conf, on_error);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);  // owns conf on success only
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("cannot create a Kafka consumer: ") + err);
  }
  st->handle = std::make_shared<consumer_handle>();
  st->handle->rk = rk;
  {
    rd_kafka_queue_t* main_q = rd_kafka_queue_get_main(rk);
    st->pipe.attach(main_q);
    rd_kafka_queue_destroy(main_q);
  }

  // The topic's partitions, from a thread (rd_kafka_metadata blocks), while errors are served here.
  auto md = std::make_shared<metadata_result>();
  {
    auto timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(opts_.metadata_timeout).count());
    std::thread([h = st->handle, md, topic = opts_.topic, timeout_ms] {
      rd_kafka_topic_t* rkt = rd_kafka_topic_new(h->rk, topic.c_str(), nullptr);
      const rd_kafka_metadata_t* m = nullptr;
      md->err = rkt ? rd_kafka_metadata(h->rk, 0, rkt, &m, timeout_ms) : rd_kafka_last_error();
      if (!md->err && m) {
        for (int i = 0; i < m->topic_cnt; ++i) {
          if (topic != m->topics[i].topic) continue;
          md->topic_found = true;
          md->topic_err = m->topics[i].err;
          for (int p = 0; p < m->topics[i].partition_cnt; ++p) md->partitions.push_back(m->topics[i].partitions[p].id);
        }
      }
      if (m) rd_kafka_metadata_destroy(m);
      if (rkt) rd_kafka_topic_destroy(rkt);
      md->done.store(true, std::memory_order_release);
    }).detach();
  }
  while (!md->done.load(std::memory_order_acquire)) {
    co_await st->pipe.wait(std::chrono::milliseconds(20));
    rd_kafka_poll(rk, 0);
    if (!st->fatal.empty()) throw std::runtime_error(st->fatal);
  }
  st->connected = true;
  const std::string where = "topic '" + opts_.topic + "' on '" + opts_.brokers + "'";
  if (md->err) throw std::runtime_error("cannot read the metadata of " + where + ": " + rd_kafka_err2str(md->err));
  if (!md->topic_found || md->topic_err)
    throw std::runtime_error(where + ": " +
                             (md->topic_err ? rd_kafka_err2str(md->topic_err) : "not in the brokers' metadata"));
  if (md->partitions.empty()) throw std::runtime_error(where + " has no partitions");

  std::int64_t start = start_offset_ == -1 ? RD_KAFKA_OFFSET_END
                       : start_offset_ == -2 ? RD_KAFKA_OFFSET_BEGINNING
                                             : start_offset_;
  {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(md->partitions.size()));
    for (auto p : md->partitions) rd_kafka_topic_partition_list_add(list, opts_.topic.c_str(), p)->offset = start;
    auto e = rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) throw std::runtime_error("cannot assign the partitions of " + where + ": " + rd_kafka_err2str(e));
  }
  partitions_counter.store(md->partitions.size(), std::memory_order_relaxed);
  rd_kafka_poll_set_consumer(rk);  // errors now arrive through the consumer queue
  {
    rd_kafka_queue_t* main_q = rd_kafka_queue_get_main(rk);
    rd_kafka_queue_io_event_enable(main_q, -1, nullptr, 0);
    rd_kafka_queue_destroy(main_q);
    rd_kafka_queue_t* cq = rd_kafka_queue_get_consumer(rk);
    st->pipe.attach(cq);
    rd_kafka_queue_destroy(cq);
  }

  // gor replays the recorded timing only when the offset is not -1.
  const bool timed = start_offset_ != -1;
  replay_schedule schedule(opts_.speed_factor);
  asio::steady_timer timer(ex);
  std::chrono::steady_clock::time_point replay_start;
  bool first = true;
  int logged = 0;
  std::string error;

  for (;;) {
    rd_kafka_message_t* rkm = rd_kafka_consumer_poll(rk, 0);
    if (!rkm) {
      if (!st->fatal.empty()) throw std::runtime_error(st->fatal);
      co_await st->pipe.wait(std::chrono::seconds(1));
      continue;
    }
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(rkm, rd_kafka_message_destroy);
    if (rkm->err) {
      if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (rkm->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || rkm->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
          rkm->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        throw std::runtime_error(where + ": " + rd_kafka_message_errstr(rkm));
      stats.errors.fetch_add(1, std::memory_order_relaxed);
      log::at(1, st->name, ": ", rd_kafka_message_errstr(rkm));
      continue;
    }
    consumed.fetch_add(1, std::memory_order_relaxed);
    std::string_view value(static_cast<const char*>(rkm->payload), rkm->len);
    message_ptr m;
    if (opts_.json_format) {
      if (auto rec = kafka::record_from_json(value, error)) {
        m = message::parse(std::move(*rec));
        if (!m) error = "the rebuilt record has no valid meta line";
      }
    } else {
      m = message::parse(std::string(value));
      if (!m) error = "not a gor record (needs '<type> <id> <timestamp>' and a newline)";
    }
    if (!m) {
      malformed.fetch_add(1, std::memory_order_relaxed);
      stats.drops.fetch_add(1, std::memory_order_relaxed);
      if (logged < max_logged_skips) {
        log::error(st->name, ": skipped record at partition ", rkm->partition, " offset ", rkm->offset, ": ", error);
        if (++logged == max_logged_skips) log::error(st->name, ": further skipped records are only counted");
      }
      continue;
    }
    if (timed) {
      std::int64_t ts_ms = rd_kafka_message_timestamp(rkm, nullptr);
      if (ts_ms >= 0) {
        auto step = schedule.next(ts_ms * 1'000'000);
        auto now = std::chrono::steady_clock::now();
        if (first) {
          replay_start = now;
          first = false;
        }
        auto deadline = replay_start + step.offset;
        if (!step.out_of_order && deadline > now) {
          guard.reset();
          timer.expires_at(deadline);
          co_await timer.async_wait(asio::use_awaitable);
        }
      }
    }
    guard.reset();
    if (!out.offer(m)) co_await out.send(std::move(m));
  }
}

}  // namespace coreplay
