// librdkafka does the network I/O on its own threads. This coroutine hands it messages (raw
// records without a copy: the message stays alive until its delivery report; gor's JSON
// documents are copied) and a second coroutine, the
// pump, serves librdkafka's events (delivery reports, errors) on the io_context whenever
// librdkafka writes to an event pipe (rd_kafka_queue_io_event_enable), so nothing here blocks
// and no thread but the io_context's touches the plugin's state.
#include "outputs/kafka/kafka_output.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <vector>

namespace coreplay {

namespace {

constexpr int max_logged_failures = 5;

// A message whose bytes librdkafka holds without a copy, until the delivery report (delivered,
// failed or purged) gives the holder back. Holders are reused: no allocation per message.
struct in_flight {
  message_ptr m;
  in_flight* next_free = nullptr;
};

struct producer_state {
  producer_state(const asio::any_io_executor& ex, plugin_stats& s, std::string n)
      : name(std::move(n)),
        pipe(ex),
        wake(ex),
        fatal_wake(ex, asio::steady_timer::time_point::max()),
        stats(s),
        delivered(s.counter("delivered")),
        delivery_failed(s.counter("delivery_failed")),
        queue_full_waits(s.counter("queue_full_waits")) {}
  // librdkafka is gone before the holders (members) are: nothing points into their messages.
  ~producer_state() {
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (rk) rd_kafka_destroy(rk);
  }

  in_flight* hold(message_ptr m) {
    in_flight* h = free_holders;
    if (h) {
      free_holders = h->next_free;
    } else {
      holders.push_back(std::make_unique<in_flight>());
      h = holders.back().get();
    }
    h->m = std::move(m);
    return h;
  }
  void release(in_flight* h) noexcept {
    h->m.reset();
    h->next_free = free_holders;
    free_holders = h;
  }

  std::string name;
  std::string brokers;
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* rkt = nullptr;  // the output's topic, looked up once (not by name per message)
  kafka::event_pipe pipe;
  asio::steady_timer wake;        // cancelled whenever events were served (space may be free)
  asio::steady_timer fatal_wake;  // cancelled when a fatal error is recorded
  bool stopping = false;
  bool ever_delivered = false;
  std::string fatal;  // set by the callbacks; the sink fails with it
  int logged_failures = 0;
  plugin_stats& stats;
  std::atomic<std::uint64_t>& delivered;
  std::atomic<std::uint64_t>& delivery_failed;
  std::atomic<std::uint64_t>& queue_full_waits;
  // Callbacks run on the io_context's thread (rd_kafka_poll in serve()), as does hold().
  std::vector<std::unique_ptr<in_flight>> holders;
  in_flight* free_holders = nullptr;

  void set_fatal(std::string what) {
    if (!fatal.empty()) return;
    fatal = std::move(what);
    fatal_wake.cancel();
    wake.cancel();
  }
  void throw_if_fatal() const {
    if (!fatal.empty()) throw std::runtime_error(fatal);
  }
  // Runs the callbacks below for whatever librdkafka has queued.
  void serve() {
    rd_kafka_poll(rk, 0);
    wake.cancel();
  }
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& st = *static_cast<producer_state*>(opaque);
  if (m->_private) st.release(static_cast<in_flight*>(m->_private));  // librdkafka is done with the bytes
  if (!m->err) {
    st.ever_delivered = true;
    st.delivered.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
    return;  // dropped and counted by whoever purged
  st.delivery_failed.fetch_add(1, std::memory_order_relaxed);
  st.stats.errors.fetch_add(1, std::memory_order_relaxed);
  switch (m->err) {
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      st.set_fatal("topic '" + std::string(rd_kafka_topic_name(m->rkt)) + "' does not exist on '" + st.brokers +
                   "' (" + rd_kafka_err2str(m->err) + ")");
      return;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      st.set_fatal(std::string("not allowed to produce: ") + rd_kafka_err2str(m->err));
      return;
    default:
      break;
  }
  if (st.logged_failures < max_logged_failures) {
    log::error(st.name, ": delivery failed: ", rd_kafka_err2str(m->err));
    if (++st.logged_failures == max_logged_failures) log::error(st.name, ": further delivery failures are only counted");
  }
}

void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto& st = *static_cast<producer_state*>(opaque);
  auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    st.set_fatal(std::string("Kafka fatal error: ") + buf);
    return;
  }
  if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
    st.set_fatal(std::string("authentication with '") + st.brokers + "' failed: " + reason);
    return;
  }
  // Before anything was delivered, brokers that are all down (refused, unresolvable, TLS
  // failure) mean a wrong address: fail instead of retrying for ever. Later it is an outage
  // librdkafka rides out (messages retry until their timeout).
  if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && !st.ever_delivered) {
    st.set_fatal("cannot reach Kafka brokers '" + st.brokers + "': " + reason);
    return;
  }
  st.stats.errors.fetch_add(1, std::memory_order_relaxed);
  log::at(1, st.name, ": ", rd_kafka_err2name(code), ": ", reason);
}

// Serves librdkafka's events until the sink stops.
asio::awaitable<void> pump(std::shared_ptr<producer_state> st) {
  while (!st->stopping) {
    try {
      co_await st->pipe.wait(std::chrono::milliseconds(250));
    } catch (const boost::system::system_error&) {
      // cancelled: stopping
    }
    if (st->stopping) break;
    st->serve();
  }
}

// Completes only once a fatal error is recorded (throws when cancelled).
asio::awaitable<void> wait_fatal(producer_state& st) {
  while (st.fatal.empty()) {
    (void)co_await st.fatal_wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (st.fatal.empty()) {
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) throw boost::system::system_error(asio::error::operation_aborted);
    }
  }
}

// Waits until events were served or `d` passed.
asio::awaitable<void> nap(producer_state& st, std::chrono::milliseconds d) {
  st.wake.expires_after(d);
  (void)co_await st.wake.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

option_group<kafka_output_options> kafka_output_option_group() {
  option_group<kafka_output_options> g("Kafka");
  using o = kafka_output_options;
  g.add("output-kafka-topic", &o::topic, "Kafka topic to produce to (required with --output-kafka-host)")
      .add("output-kafka-json-format", &o::json_format, "Produce gor's JSON documents instead of raw records")
      .add("output-kafka-use-sasl", &o::use_sasl, "SASL authentication")
      .add("output-kafka-mechanism", &o::mechanism, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
      .add("output-kafka-username", &o::username, "SASL user")
      .add("output-kafka-password", &o::password, "SASL password")
      .add("kafka-tls-ca-cert", &o::tls_ca_cert, "CA certificate for Kafka TLS (input and output)")
      .add("kafka-tls-client-cert", &o::tls_client_cert, "Client certificate for Kafka TLS (needs the key)")
      .add("kafka-tls-client-key", &o::tls_client_key, "Client key for Kafka TLS (needs the certificate)")
      .add("output-kafka-flush-timeout", &o::flush_timeout,
           "At the end, how long undelivered messages may take before they are dropped (coreplay)");
  return g;
}

kafka_output::kafka_output(kafka_output_options opts) : opts_(std::move(opts)) {
  if (opts_.brokers.empty()) throw option_error("--output-kafka-host: no broker given");
  if (opts_.topic.empty()) throw option_error("--output-kafka-host '" + opts_.brokers + "' needs --output-kafka-topic");
  kafka::validate(opts_.sasl(), opts_.tls(), "output-kafka");
}

asio::awaitable<void> kafka_output::run(message_reader in) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  auto& stats = in.stats();
  auto st = std::make_shared<producer_state>(ex, stats, stats.name());
  st->brokers = opts_.brokers;

  rd_kafka_conf_t* conf = kafka::make_conf(opts_.brokers, opts_.sasl(), opts_.tls());
  try {
    // gor (sarama): acks from the leader only, snappy.
    kafka::set(conf, "acks", "1");
    kafka::set(conf, "compression.codec", "snappy");
    kafka::set(conf, "client.id", "coreplay");
    kafka::set(conf, "message.timeout.ms", std::to_string(std::max<std::int64_t>(
                                                1, std::chrono::duration_cast<std::chrono::milliseconds>(opts_.message_timeout).count())));
    kafka::set(conf, "queue.buffering.max.messages", std::to_string(std::max<std::int64_t>(1, opts_.queue_messages)));
    kafka::set(conf, "queue.buffering.max.kbytes", std::to_string(std::max<std::uint64_t>(1, opts_.queue_bytes.bytes >> 10)));
  } catch (...) {
    rd_kafka_conf_destroy(conf);
    throw;
  }
  rd_kafka_conf_set_opaque(conf, st.get());
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_error_cb(conf, on_error);
  char err[512];
  st->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);  // owns conf on success only
  if (!st->rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("cannot create a Kafka producer: ") + err);
  }
  {
    rd_kafka_queue_t* main_q = rd_kafka_queue_get_main(st->rk);
    st->pipe.attach(main_q);
    rd_kafka_queue_destroy(main_q);
  }
  stats.detail = [w = std::weak_ptr<producer_state>(st)] {
    auto s = w.lock();
    return s && s->rk ? "in flight " + std::to_string(rd_kafka_outq_len(s->rk)) : std::string();
  };
  asio::co_spawn(ex, pump(st), [](std::exception_ptr) {});

  st->rkt = rd_kafka_topic_new(st->rk, opts_.topic.c_str(), nullptr);
  if (!st->rkt)
    throw std::runtime_error("cannot use Kafka topic '" + opts_.topic + "': " + rd_kafka_err2str(rd_kafka_last_error()));
  int logged_rejects = 0;
  // held: the message whose bytes `value` are (librdkafka keeps them, no copy); else copied.
  auto produce_once = [&](std::string_view value, in_flight* held) {
    const int flags = held ? 0 : RD_KAFKA_MSG_F_COPY;
    void* opaque = held;
    return rd_kafka_producev(st->rk, RD_KAFKA_V_RKT(st->rkt),
                             RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                             RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  };

  std::exception_ptr failure;
  bool cancelled = false;
  try {
    std::string json;
    std::uint64_t taken = 0;
    for (;;) {
      st->throw_if_fatal();
      message_ptr m;
      if (!in.try_receive(m)) {
        // Idle: also wake for a fatal error, so a wrong broker is reported without traffic.
        auto r = co_await (in.receive() || wait_fatal(*st));
        if (r.index() == 1) st->throw_if_fatal();
        m = std::get<0>(std::move(r));
      }
      if (!m) break;
      // A sink that never waits (its channel always has more) still serves delivery reports.
      if ((++taken & 1023) == 0) st->serve();
      std::string_view value = m->record();
      in_flight* held = nullptr;
      if (opts_.json_format) {
        json = kafka::to_json(*m);
        value = json;
      } else {
        held = st->hold(std::move(m));
      }
      for (;;) {
        auto e = produce_once(value, held);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          // Back-pressure: wait for deliveries to make room; never drop.
          st->queue_full_waits.fetch_add(1, std::memory_order_relaxed);
          st->serve();
          st->throw_if_fatal();
          co_await nap(*st, std::chrono::milliseconds(100));
          continue;
        }
        // Too large for the producer, or similar: this message only (librdkafka did not take it).
        if (held) st->release(held);
        stats.drops.fetch_add(1, std::memory_order_relaxed);
        if (logged_rejects++ < max_logged_failures)
          log::error(st->name, ": message of ", value.size(), " bytes refused: ", rd_kafka_err2str(e));
        break;
      }
    }
  } catch (const boost::system::system_error& e) {
    if (e.code() == asio::error::operation_aborted) cancelled = true;
    failure = std::current_exception();
  } catch (const asio::multiple_exceptions& e) {  // both arms of the idle wait cancelled
    cancelled = true;
    failure = e.first_exception();
  } catch (...) {
    failure = std::current_exception();
  }

  // Flush what was accepted, within a bound, then drop (and count) the rest. Not interruptible.
  co_await asio::this_coro::reset_cancellation_state();
  co_await asio::this_coro::throw_if_cancelled(false);
  if (st->fatal.empty()) {
    if (cancelled) {
      rd_kafka_flush(st->rk, 1000);  // aborted: a short blocking flush only
    } else {
      auto deadline = std::chrono::steady_clock::now() + opts_.flush_timeout;
      while (rd_kafka_outq_len(st->rk) > 0 && st->fatal.empty() && std::chrono::steady_clock::now() < deadline) {
        rd_kafka_flush(st->rk, 0);
        st->serve();
        if (rd_kafka_outq_len(st->rk) == 0) break;
        co_await nap(*st, std::chrono::milliseconds(20));
      }
    }
  }
  if (int left = rd_kafka_outq_len(st->rk); left > 0) {
    rd_kafka_purge(st->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
    st->serve();
    stats.drops.fetch_add(static_cast<std::uint64_t>(left), std::memory_order_relaxed);
    if (st->fatal.empty()) log::error(st->name, ": ", left, " messages not delivered within the flush timeout (dropped)");
  }
  st->stopping = true;
  st->pipe.cancel();
  st->wake.cancel();
  co_await asio::this_coro::throw_if_cancelled(true);
  if (!st->fatal.empty() && !cancelled) failure = std::make_exception_ptr(std::runtime_error(st->fatal));
  if (failure) std::rethrow_exception(failure);
}

}  // namespace coreplay
