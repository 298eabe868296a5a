// The emitter: one structured task group of sources, sinks and two routers.
//
//   sources --(bounded ingress)--> primary router --+--(bounded, one per sink)--> sinks
//   sinks that track responses --(elastic feedback)--> feedback router --+
//
// With a stage (middleware), the routers feed the stage and a post router takes its output:
//   sources --> primary router --> stage --(bounded)--> post router --> sinks
//   feedback router --> stage
//
// Shutdown: when every source has ended (returned, or cancelled by stop()) the primary router
// ends the streams of the feedback-producing sinks, waits until their last feedback has been
// routed, then ends the other sinks' streams. Each sink drains its channel and flushes. Nothing
// accepted into a channel is dropped unless abort() (or the drain timeout) cancels everything.
#include <coreplay/pipeline.hpp>

#include "core/bell.hpp"
#include "core/rate_gate.hpp"
#include "core/ring_channel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

namespace coreplay {

using boost::system::error_code;
using asio::use_awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace detail {

using sink_channel = ring_channel<message_ptr>;
struct envelope {
  message_ptr msg;  // nullptr: the source `origin` has ended
  std::uint32_t origin = 0;
};
using ingress_channel = ring_channel<envelope>;

// A many-to-one channel into a router, with its depth for --stats.
struct lane {
  ingress_channel ch;
  std::size_t depth = 0;
  lane(const asio::any_io_executor& ex, std::size_t cap) : ch(ex, std::max<std::size_t>(1, cap)) {}
};

struct source_port {
  pipeline::impl* owner = nullptr;
  lane* target = nullptr;
  // The one output, when nothing stands between (no stage, no filter, no rate limit on either
  // side): decided at the start, so offer() can hand messages straight to it.
  sink_port* direct = nullptr;
  std::uint32_t index = 0;
  std::unique_ptr<source> plugin;
  plugin_stats stats;
  rate_gate gate;
  asio::cancellation_signal cancel;
  bool running = false;    // the plugin's run() has not returned
  bool task_live = false;  // the task (run + end announcement) has not completed

  source_port(std::string name, rate_limit l) : stats(std::move(name)), gate(l) {}
};

struct sink_port {
  pipeline::impl* owner = nullptr;
  std::uint32_t index = 0;
  std::unique_ptr<sink> plugin;
  plugin_stats stats;
  rate_gate gate;
  sink_channel ch;
  std::size_t depth = 0;
  asio::cancellation_signal cancel;
  bool closed = false;   // no more messages will be sent to it
  bool running = false;
  bool task_live = false;
  bool produces = false;

  sink_port(std::string name, rate_limit l, const asio::any_io_executor& ex, std::size_t cap)
      : stats(std::move(name)), gate(l), ch(ex, cap) {}
};

}  // namespace detail

using detail::envelope;
using detail::sink_port;
using detail::source_port;

namespace {

// Asio reports a cancelled channel operation as channel_cancelled, other operations as
// operation_aborted.
bool is_cancel_code(const error_code& ec) {
  return ec == asio::error::operation_aborted || ec == asio::experimental::error::channel_cancelled;
}

bool is_cancellation(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& se) {
    return is_cancel_code(se.code());
  } catch (const asio::multiple_exceptions& me) {  // from awaitable operators || and &&
    return is_cancellation(me.first_exception());
  } catch (...) {
    return false;
  }
}

std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const asio::multiple_exceptions& me) {
    return describe(me.first_exception());
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown error";
  }
}

// Counters of the pipeline and its ports are written only from the pipeline's executor (one
// thread: the channels are not thread-safe either) and read by the stats printer: a relaxed
// load and store, no locked read-modify-write per message.
inline void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

std::uint32_t fnv1a32(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

// Remembers up to `cap` keys, forgetting the oldest first: bounded memory for id bookkeeping.
template <typename V>
class bounded_map {
 public:
  explicit bounded_map(std::size_t cap) : cap_(cap) {}
  void put(std::string_view k, V v) {
    auto [it, inserted] = map_.try_emplace(std::string(k), v);
    if (!inserted) { it->second = v; return; }
    order_.push_back(it->first);
    if (order_.size() > cap_) { map_.erase(order_.front()); order_.pop_front(); }
  }
  const V* find(std::string_view k) const {
    auto it = map_.find(std::string(k));
    return it == map_.end() ? nullptr : &it->second;
  }

 private:
  std::size_t cap_;
  std::unordered_map<std::string, V> map_;
  std::deque<std::string> order_;
};

}  // namespace

struct pipeline::impl {
  asio::any_io_executor ex;
  pipeline_options opts;
  std::vector<std::unique_ptr<source_port>> sources;
  std::vector<std::unique_ptr<sink_port>> sinks;
  std::vector<std::unique_ptr<message_filter>> filters;
  plugin_stats emitter_stats{"emitter"};
  std::atomic<std::uint64_t>& filtered = emitter_stats.counter("filtered");
  std::atomic<std::uint64_t>& truncated = emitter_stats.counter("truncated");
  std::atomic<std::uint64_t>& feedback_dropped = emitter_stats.counter("feedback_dropped");
  std::atomic<std::uint64_t>& abandoned = emitter_stats.counter("abandoned");

  detail::lane primary;  // sources -> primary router
  detail::lane post;     // stage -> post router

  // The optional stage (middleware) and the ports it reads and writes through.
  std::unique_ptr<message_stage> stage;
  std::unique_ptr<sink_port> stage_in;
  std::unique_ptr<source_port> stage_out;
  std::chrono::steady_clock::time_point last_stage_output{};

  std::mutex feedback_mu;
  std::deque<message_ptr> feedback;
  std::size_t live_producers = 0;
  detail::bell feedback_bell{ex};
  detail::bell feedback_done_bell{ex};
  bool feedback_done = false;

  detail::bell tasks_bell{ex};
  std::size_t live_tasks = 0;
  // The pipeline's own tasks, cancelled only by abort().
  struct internal_task {
    asio::cancellation_signal sig;
    bool live = false;
  };
  internal_task router_task, post_task, feedback_task, stage_task;
  asio::steady_timer drain_timer{ex};

  bool started = false;
  bool stopping = false;
  bool aborting = false;
  std::exception_ptr first_error;

  // Routing state.
  std::size_t round_robin = 0;
  bounded_map<std::uint32_t> routed{1 << 16};       // request id -> sink index (split mode)
  bounded_map<bool> dropped_requests{1 << 16};      // ids whose request a filter dropped

  impl(asio::any_io_executor e, pipeline_options o)
      : ex(std::move(e)), opts(o), primary(ex, o.queue_capacity), post(ex, o.queue_capacity) {
    emitter_stats.queue_depth = [this] { return primary.depth + post.depth; };
  }

  void fail(const std::string& who, std::exception_ptr e) {
    if (!first_error) {
      try {
        std::rethrow_exception(e);
      } catch (const plugin_error&) {
        first_error = e;
      } catch (...) {
        first_error = std::make_exception_ptr(plugin_error(who, describe(e)));
      }
    }
    request_stop();
  }

  void request_stop() {
    if (stopping) return;
    stopping = true;
    for (auto& s : sources)
      if (s->running) s->cancel.emit(asio::cancellation_type::terminal);
    drain_timer.expires_after(opts.drain_timeout);
    drain_timer.async_wait([this](error_code ec) {
      if (!ec && live_tasks > 0) request_abort();
    });
  }

  void request_abort() {
    if (aborting) return;
    aborting = true;
    stopping = true;
    // Every source task, also one that has ended its plugin and waits to announce it.
    for (auto& s : sources)
      if (s->task_live) s->cancel.emit(asio::cancellation_type::terminal);
    for (auto* t : {&router_task, &post_task, &feedback_task, &stage_task})
      if (t->live) t->sig.emit(asio::cancellation_type::terminal);
    for (auto& s : sinks)
      if (s->task_live) s->cancel.emit(asio::cancellation_type::terminal);
  }

  void spawn(std::string who, asio::awaitable<void> task, asio::cancellation_signal& sig,
             bool& live) {
    ++live_tasks;
    live = true;
    asio::co_spawn(ex, std::move(task),
                   asio::bind_cancellation_slot(
                       sig.slot(), [this, who = std::move(who), &live](std::exception_ptr e) {
                         live = false;
                         if (e && !(is_cancellation(e) && stopping)) fail(who, e);
                         if (--live_tasks == 0) tasks_bell.ring();
                       }));
  }

  // --- sources ---------------------------------------------------------------------------

  asio::awaitable<void> run_source(source_port& p) {
    std::exception_ptr err;
    try {
      co_await p.plugin->run(message_writer(&p));
    } catch (...) {
      err = std::current_exception();
    }
    p.running = false;
    if (err && !(stopping && is_cancellation(err))) fail(p.stats.name(), err);
    // Announce the end in-band, after every message this source sent (unless aborting: then
    // nobody reads the ingress any more).
    if (aborting) co_return;
    co_await asio::this_coro::reset_cancellation_state();
    if (auto ec = co_await p.target->ch.async_send(envelope{nullptr, p.index})) throw boost::system::system_error(ec);
  }

  // --- the stage ---------------------------------------------------------------------------

  asio::awaitable<void> run_stage() {
    std::exception_ptr err;
    try {
      co_await stage->run(message_reader(stage_in.get()), message_writer(stage_out.get()));
    } catch (...) {
      err = std::current_exception();
    }
    close_ended_sink(*stage_in);
    stage_out->running = false;
    if (err && !(stopping && is_cancellation(err))) fail(stage_in->stats.name(), err);
    if (aborting) co_return;
    co_await asio::this_coro::reset_cancellation_state();
    if (auto ec = co_await post.ch.async_send(envelope{nullptr, 0})) throw boost::system::system_error(ec);
  }

  // Once the inputs are done: wait until nothing is queued or in flight anywhere and the
  // stage has been silent for the quiet period, so its last answers are not cut off.
  asio::awaitable<void> settle_stage() {
    asio::steady_timer t(ex);
    const auto quiet = std::max<std::chrono::nanoseconds>(opts.stage_quiet_period, std::chrono::milliseconds(1));
    for (;;) {
      if (stage_in->closed) co_return;
      bool busy = stage_in->depth > 0 || post.depth > 0;
      {
        std::lock_guard lk(feedback_mu);
        busy = busy || !feedback.empty();
      }
      for (auto& s : sinks) busy = busy || (s->produces && (s->depth > 0 || !s->plugin->idle()));
      if (!busy && std::chrono::steady_clock::now() - last_stage_output >= quiet) co_return;
      t.expires_after(quiet / 2);
      co_await t.async_wait(as_tuple_awaitable);
    }
  }

  // --- routing ---------------------------------------------------------------------------

  // In place: m becomes what continues, or empty when it is dropped.
  void process(message_ptr& m) {
    if (m->record().size() > opts.copy_buffer_size && m->payload().size() > opts.copy_buffer_size) {
      truncated.fetch_add(1, std::memory_order_relaxed);
      auto keep = m->record().size() - m->payload().size() + opts.copy_buffer_size;
      m = message::parse(std::string(m->record().substr(0, keep)));
      if (!m) return;
    }
    if (filters.empty() && !any_dropped_) return;  // nothing to look at
    const bool request = m->is_request();
    if (!request && !dropped_requests_empty() && dropped_requests.find(m->id())) {
      filtered.fetch_add(1, std::memory_order_relaxed);
      m.reset();
      return;
    }
    for (auto& f : filters) {
      message_ptr out;
      try {
        out = f->apply(m);
      } catch (const std::exception&) {
        emitter_stats.errors.fetch_add(1, std::memory_order_relaxed);
        out = nullptr;
      }
      if (!out) {
        filtered.fetch_add(1, std::memory_order_relaxed);
        if (request) { dropped_requests.put(m->id(), true); any_dropped_ = true; }
        m.reset();
        return;
      }
      m = std::move(out);
    }
  }
  bool any_dropped_ = false;
  bool dropped_requests_empty() const { return !any_dropped_; }

  // Whether s takes m at all: false when the sink does not want it, has ended or is over its
  // rate (the last two counted as drops).
  bool wants(sink_port& s, const message& m) {
    if (s.plugin && !s.plugin->accepts(m)) return false;
    if (s.closed || !s.gate.admit()) {
      s.stats.drops.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  // Fast path without suspension: true when s took m or is not to get it; false when its
  // channel is full (m untouched). Take, for the last (or only) destination: the channel takes
  // m itself, saving a reference count increment now and a decrement when the sender drops it.
  template <bool Take = false>
  bool try_deliver(sink_port& s, std::conditional_t<Take, message_ptr&, const message_ptr&> m) {
    if (!wants(s, *m)) return true;
    if (!s.ch.try_send(std::move(m))) return false;  // a const m is copied: moved only when Take
    ++s.depth;
    return true;
  }

  asio::awaitable<void> deliver_slow(sink_port& s, message_ptr m) {
    auto ec = co_await s.ch.async_send(std::move(m));
    if (is_cancel_code(ec) && aborting) throw boost::system::system_error(ec);
    if (ec) s.stats.drops.fetch_add(1, std::memory_order_relaxed);  // the sink ended meanwhile
    else ++s.depth;  // (the sink may have taken it already: depth wraps for a moment, unsigned)
  }

  asio::awaitable<void> deliver(sink_port& s, const message_ptr& m) {
    if (!try_deliver(s, m)) co_await deliver_slow(s, m);
  }

  // Routes m as far as it goes without suspending. True when it is done (m may have been taken
  // and left empty); false when a sink's channel was full: then m is the message to deliver
  // (already filtered) and `pending` says where to continue (finish_dispatch).
  struct pending_delivery {
    sink_port* only = nullptr;  // split mode: the one sink
    std::size_t next = 0;       // fan-out: the first sink not yet served
  };

  bool try_dispatch(message_ptr& m, bool from_feedback, pending_delivery& pending) {
    if (from_feedback && stage) {  // the middleware sees replayed responses too (gor)
      if (try_deliver(*stage_in, m)) return true;
      pending.only = stage_in.get();
      return false;
    }
    process(m);
    if (!m) return true;
    bump(emitter_stats.messages);
    bump(emitter_stats.bytes, m->record().size());
    if (!opts.split_output || from_feedback || sinks.size() < 2) {
      for (std::size_t i = 0; i < sinks.size(); ++i) {
        if (!(i + 1 == sinks.size() ? try_deliver<true>(*sinks[i], m) : try_deliver(*sinks[i], m))) {
          pending.next = i;
          return false;
        }
      }
      return true;
    }
    std::uint32_t pick;
    if (m->is_request()) {
      if (opts.recognize_tcp_sessions)
        pick = fnv1a32(m->id().substr(0, 16)) % sinks.size();
      else
        pick = static_cast<std::uint32_t>(round_robin++ % sinks.size());
      routed.put(m->id(), pick);
    } else if (auto* p = routed.find(m->id())) {
      pick = *p;
    } else {
      pick = fnv1a32(opts.recognize_tcp_sessions ? m->id().substr(0, 16) : m->id()) % sinks.size();
    }
    if (try_deliver<true>(*sinks[pick], m)) return true;
    pending.only = sinks[pick].get();
    return false;
  }

  asio::awaitable<void> finish_dispatch(message_ptr m, pending_delivery pending) {
    if (pending.only) {
      co_await deliver_slow(*pending.only, std::move(m));
      co_return;
    }
    co_await deliver_slow(*sinks[pending.next], m);
    for (std::size_t i = pending.next + 1; i < sinks.size(); ++i) co_await deliver(*sinks[i], m);
  }

  asio::awaitable<void> dispatch(message_ptr m, bool from_feedback) {
    pending_delivery pending;
    if (!try_dispatch(m, from_feedback, pending)) co_await finish_dispatch(std::move(m), pending);
  }

  asio::awaitable<void> end_stream(sink_port& s) {
    if (s.closed) co_return;
    s.closed = true;
    auto ec = co_await s.ch.async_send(message_ptr{});
    if (is_cancel_code(ec) && aborting) throw boost::system::system_error(ec);
  }

  static bool try_next(detail::lane& l, envelope& e) {
    if (!l.ch.try_receive(e)) return false;
    if (e.msg) --l.depth;
    return true;
  }

  static asio::awaitable<envelope> next(detail::lane& l) {
    auto [ec, e] = co_await l.ch.async_receive();
    if (ec) throw boost::system::system_error(ec);
    if (e.msg) --l.depth;
    co_return e;
  }

  // route_primary waits on an empty ingress lane with nothing in hand.
  bool router_parked = false;

  // A source's message routed on the spot, in the source's own turn, when nothing can be
  // ahead of it: the router is parked on an empty lane, there is no stage, and every open sink
  // has room, so delivery cannot stop half way. Saves the ingress hop (and touches the message
  // while it is still in cache). False: use the lane.
  bool try_route_inline(message_ptr& m) {
    if (!router_parked || stage || primary.ch.size() != 0) return false;
    for (auto& s : sinks)
      if (!s->closed && s->ch.full()) return false;
    pending_delivery pending;
    if (!try_dispatch(m, false, pending)) {
      // Cannot happen (every sink had room); never lose a message silently all the same.
      auto& s = pending.only ? *pending.only : *sinks[pending.next];
      s.stats.drops.fetch_add(1, std::memory_order_relaxed);
    }
    m.reset();
    return true;
  }

  asio::awaitable<void> route_primary() {
    std::size_t live = sources.size();
    while (live > 0) {
      envelope e;
      if (!try_next(primary, e)) {
        router_parked = true;
        try {
          e = co_await next(primary);
        } catch (...) {
          router_parked = false;
          throw;
        }
        router_parked = false;
      }
      if (!e.msg) {
        --live;
        continue;
      }
      if (stage) {
        if (!try_deliver(*stage_in, e.msg)) co_await deliver_slow(*stage_in, std::move(e.msg));
      } else {
        pending_delivery pending;
        if (!try_dispatch(e.msg, false, pending)) co_await finish_dispatch(std::move(e.msg), pending);
      }
    }
    if (stage) {
      // The post router finishes the run once the stage has answered everything.
      co_await settle_stage();
      co_await end_stream(*stage_in);
      co_return;
    }
    co_await end_sinks();
  }

  asio::awaitable<void> route_post() {
    for (;;) {
      envelope e;
      if (!try_next(post, e)) e = co_await next(post);
      if (!e.msg) break;
      last_stage_output = std::chrono::steady_clock::now();
      pending_delivery pending;
      if (!try_dispatch(e.msg, false, pending)) co_await finish_dispatch(std::move(e.msg), pending);
    }
    co_await end_sinks();
  }

  // Every input has ended. End the responders first so their last feedback still reaches
  // the other sinks, then everyone else.
  asio::awaitable<void> end_sinks() {
    for (auto& s : sinks)
      if (s->produces) co_await end_stream(*s);
    while (!feedback_done) co_await feedback_done_bell.wait();
    for (auto& s : sinks) co_await end_stream(*s);
  }

  asio::awaitable<void> route_feedback() {
    for (;;) {
      message_ptr m;
      {
        std::lock_guard lk(feedback_mu);
        if (!feedback.empty()) {
          m = std::move(feedback.front());
          feedback.pop_front();
        }
      }
      if (m) {
        co_await dispatch(std::move(m), true);
        continue;
      }
      if (live_producers == 0) break;
      co_await feedback_bell.wait();
    }
    feedback_done = true;
    feedback_done_bell.ring();
  }

  void push_feedback(sink_port& from, message_ptr m) {
    bool was_empty;
    {
      std::lock_guard lk(feedback_mu);
      if (feedback.size() >= opts.feedback_capacity) {
        feedback_dropped.fetch_add(1, std::memory_order_relaxed);
        from.stats.drops.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      was_empty = feedback.empty();
      feedback.push_back(std::move(m));
    }
    if (was_empty) asio::dispatch(ex, [this] { feedback_bell.ring(); });
  }

  // --- sinks -----------------------------------------------------------------------------

  void close_ended_sink(sink_port& s) {
    s.running = false;
    s.closed = true;
    if (s.depth > 0) {
      // Messages still queued for a sink that ended: count them, never lose them silently.
      s.stats.drops.fetch_add(s.depth, std::memory_order_relaxed);
      abandoned.fetch_add(s.depth, std::memory_order_relaxed);
      s.depth = 0;
    }
    s.ch.cancel();  // a router waiting to send to this sink gives up (channel_cancelled)
    s.ch.close();
  }

  asio::awaitable<void> run_sink(sink_port& s) {
    std::exception_ptr err;
    try {
      co_await s.plugin->run(message_reader(&s));
    } catch (...) {
      err = std::current_exception();
    }
    close_ended_sink(s);
    if (s.produces) {
      --live_producers;
      feedback_bell.ring();
    }
    if (err && !(aborting && is_cancellation(err))) fail(s.stats.name(), err);
  }

  // --- the group -------------------------------------------------------------------------

  asio::awaitable<void> run() {
    for (auto& s : sinks) {
      s->running = true;
      if (s->produces) ++live_producers;
      spawn(s->stats.name(), run_sink(*s), s->cancel, s->task_live);
    }
    spawn("emitter", route_feedback(), feedback_task.sig, feedback_task.live);
    spawn("emitter", route_primary(), router_task.sig, router_task.live);
    if (stage) {
      stage_in->running = true;
      stage_out->running = true;
      spawn("emitter", route_post(), post_task.sig, post_task.live);
      spawn(stage_in->stats.name(), run_stage(), stage_task.sig, stage_task.live);
    }
    for (auto& s : sources) {
      s->running = true;
      spawn(s->stats.name(), run_source(*s), s->cancel, s->task_live);
    }
    if (stopping) {  // stop() came before the run began
      stopping = false;
      request_stop();
    }
    while (live_tasks > 0) co_await tasks_bell.wait();
    drain_timer.cancel();
    if (first_error) std::rethrow_exception(first_error);
  }
};

// --- message_writer / message_reader / feedback_writer ------------------------------------

namespace {
void count(plugin_stats& st, std::size_t size) {
  bump(st.messages);
  bump(st.bytes, size);
}
// m went into s's channel straight from p (no router): counted where the router would have.
void count_direct(sink_port& s, source_port& p, std::size_t size) {
  ++s.depth;
  count(p.owner->emitter_stats, size);
  count(p.stats, size);
}
}  // namespace

asio::awaitable<void> message_writer::send(message_ptr m) {
  if (offer_impl(m, true)) co_return;
  auto& p = *port_;
  const auto size = m->record().size();
  if (sink_port* s = direct_when_room(p, *m)) {
    // The one output is full and nothing is ahead of this message: wait for room in its own
    // channel (the output drains it in one go) rather than queue in the router's lane, which
    // would take every message after it through the router too.
    auto& o = *p.owner;
    auto ec = co_await s->ch.async_send(std::move(m));
    if (ec) {  // as deliver_slow: an output that ended meanwhile loses the message, counted
      if (is_cancel_code(ec) && o.aborting) throw boost::system::system_error(ec);
      s->stats.drops.fetch_add(1, std::memory_order_relaxed);
      count(p.stats, size);
      co_return;
    }
    count_direct(*s, p, size);
    co_return;
  }
  auto& lane = *p.target;
  ++lane.depth;
  auto ec = co_await lane.ch.async_send(envelope{std::move(m), p.index});
  if (ec) {
    --lane.depth;
    throw boost::system::system_error(ec);
  }
  count(p.stats, size);
}

// p's one output when m may go straight to it, room in its channel or not: nothing can be
// ahead of m (the router waits on an empty lane) and the output is open and takes m.
sink_port* message_writer::direct_when_room(detail::source_port& p, const message& m) {
  sink_port* s = p.direct;
  if (!s) return nullptr;
  auto& o = *p.owner;
  if (o.router_parked && o.primary.ch.size() == 0 && !s->closed && s->ch.is_open() &&
      m.record().size() <= o.opts.copy_buffer_size && (!s->plugin || s->plugin->accepts(m)))
    return s;
  return nullptr;
}

bool message_writer::offer(message_ptr& m) { return offer_impl(m, true); }

// wait_for_direct: when only a full channel keeps m from the direct output, false (the
// caller's send() waits for room there) instead of the router's lane.
[[gnu::flatten]] bool message_writer::offer_impl(message_ptr& m, bool wait_for_direct) {
  auto& p = *port_;
  if (sink_port* s = direct_when_room(p, *m)) {
    // try_route_inline() for one plain output, without its general steps.
    if (!s->ch.full()) {
      const auto size = m->record().size();
      s->ch.try_send(std::move(m));
      count_direct(*s, p, size);
      return true;
    }
    if (wait_for_direct) return false;
  }
  if (!p.gate.admit()) {
    bump(p.stats.drops);
    m.reset();
    return true;
  }
  const auto size = m->record().size();
  auto& lane = *p.target;
  if (&lane == &p.owner->primary && p.owner->try_route_inline(m)) {
    count(p.stats, size);
    return true;
  }
  if (lane.ch.full()) return false;
  ++lane.depth;
  lane.ch.try_send(envelope{std::move(m), p.index});  // takes m (a waiting router is woken later)
  count(p.stats, size);
  return true;
}

bool message_writer::try_send(message_ptr m) {
  if (offer_impl(m, false)) return true;
  bump(port_->stats.drops);
  return false;
}

plugin_stats& message_writer::stats() const noexcept { return port_->stats; }
asio::any_io_executor message_writer::get_executor() const { return port_->owner->ex; }

asio::awaitable<message_ptr> message_reader::receive() {
  auto& s = *port_;
  message_ptr m;
  bool got = s.ch.try_receive(m);
  if (!got) {
    auto [ec, v] = co_await s.ch.async_receive();
    if (ec == asio::experimental::error::channel_closed) co_return nullptr;
    if (ec) throw boost::system::system_error(ec);
    m = std::move(v);
  }
  if (m) {
    --s.depth;
    bump(s.stats.messages);
    bump(s.stats.bytes, m->record().size());
  }
  co_return m;
}

constexpr std::size_t receive_prefetch_ahead = 4;

[[gnu::flatten]] bool message_reader::try_receive(message_ptr& out) {
  auto& s = *port_;
  bool got = s.ch.try_receive(out);
  if (!got) {
    // A sink whose channel was closed (it ended early) sees the end of its stream.
    if (!s.ch.is_open()) {
      out = nullptr;
      return true;
    }
    return false;
  }
  if (out) {
    // Sinks take a channel's worth in a row, each message made that many messages ago and out
    // of L1 by now; reading its size here (and its reference count when the sink drops it)
    // waited on it. Fetch the ones a few places behind.
    if (const message_ptr* next = s.ch.peek(receive_prefetch_ahead)) __builtin_prefetch(next->get());
    --s.depth;
    bump(s.stats.messages);
    bump(s.stats.bytes, out->record().size());
  }
  return true;
}

plugin_stats& message_reader::stats() const noexcept { return port_->stats; }
asio::any_io_executor message_reader::get_executor() const { return port_->owner->ex; }
feedback_writer message_reader::feedback() const noexcept { return feedback_writer(port_); }

void feedback_writer::push(message_ptr m) {
  if (port_ && m) port_->owner->push_feedback(*port_, std::move(m));
}

// --- plugin_stats ---------------------------------------------------------------------------

std::atomic<std::uint64_t>& plugin_stats::counter(std::string_view key) {
  std::lock_guard lk(mu_);
  for (auto& [k, v] : named_)
    if (k == key) return v;
  return named_.emplace_back(std::piecewise_construct, std::forward_as_tuple(key),
                             std::forward_as_tuple(0))
      .second;
}

std::vector<std::pair<std::string, std::uint64_t>> plugin_stats::counters() const {
  std::lock_guard lk(mu_);
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (auto& [k, v] : named_) out.emplace_back(k, v.load(std::memory_order_relaxed));
  return out;
}

// --- pipeline -------------------------------------------------------------------------------

pipeline::pipeline(asio::any_io_executor ex, pipeline_options options)
    : impl_(std::make_unique<impl>(std::move(ex), options)) {}

pipeline::~pipeline() = default;

plugin_stats& pipeline::add_source(std::string name, std::unique_ptr<source> s, rate_limit limit) {
  auto p = std::make_unique<source_port>(std::move(name), limit);
  p->owner = impl_.get();
  p->target = &impl_->primary;
  p->index = static_cast<std::uint32_t>(impl_->sources.size());
  p->plugin = std::move(s);
  auto& ref = p->stats;
  impl_->sources.push_back(std::move(p));
  return ref;
}

plugin_stats& pipeline::add_sink(std::string name, std::unique_ptr<sink> s, rate_limit limit,
                                 std::size_t queue_capacity) {
  auto cap = queue_capacity ? queue_capacity : impl_->opts.queue_capacity;
  auto p = std::make_unique<sink_port>(std::move(name), limit, impl_->ex, std::max<std::size_t>(cap, 1));
  p->owner = impl_.get();
  p->index = static_cast<std::uint32_t>(impl_->sinks.size());
  p->produces = s->produces_feedback();
  p->plugin = std::move(s);
  auto* raw = p.get();
  p->stats.queue_depth = [raw] { return raw->depth; };
  auto& ref = p->stats;
  impl_->sinks.push_back(std::move(p));
  return ref;
}

void pipeline::add_filter(std::unique_ptr<message_filter> f) { impl_->filters.push_back(std::move(f)); }

void pipeline::set_stage(std::string name, std::unique_ptr<message_stage> s) {
  auto& i = *impl_;
  i.stage = std::move(s);
  i.stage_in = std::make_unique<sink_port>(name, rate_limit{}, i.ex, i.opts.queue_capacity);
  i.stage_in->owner = &i;
  auto* in = i.stage_in.get();
  in->stats.queue_depth = [in] { return in->depth; };
  i.stage_out = std::make_unique<source_port>(name + ".out", rate_limit{});
  i.stage_out->owner = &i;
  i.stage_out->target = &i.post;
}

void pipeline::start(asio::any_completion_handler<void(std::exception_ptr)> handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  if (slot.is_connected()) {
    slot.assign([this](asio::cancellation_type t) {
      if ((t & asio::cancellation_type::terminal) != asio::cancellation_type::none)
        abort();
      else
        stop();
    });
  }
  if (impl_->started)
    throw std::logic_error("pipeline::async_run called twice");
  impl_->started = true;
  auto& i = *impl_;
  const bool one_plain_sink = !i.stage && i.filters.empty() && i.sinks.size() == 1 && i.sinks[0]->gate.open();
  for (auto& src : i.sources)
    src->direct = one_plain_sink && src->gate.open() && src->target == &i.primary ? i.sinks[0].get() : nullptr;
  asio::co_spawn(impl_->ex, impl_->run(),
                 [h = std::move(handler), slot](std::exception_ptr e) mutable {
                   if (slot.is_connected()) slot.clear();
                   std::move(h)(e);
                 });
}

void pipeline::stop() {
  asio::dispatch(impl_->ex, [i = impl_.get()] {
    if (i->started) i->request_stop();
    else i->stopping = true;
  });
}

void pipeline::abort() {
  asio::dispatch(impl_->ex, [i = impl_.get()] { i->request_abort(); });
}

bool pipeline::stopping() const noexcept { return impl_->stopping; }

std::vector<const plugin_stats*> pipeline::stats() const {
  std::vector<const plugin_stats*> out;
  for (auto& s : impl_->sources) out.push_back(&s->stats);
  for (auto& s : impl_->sinks) out.push_back(&s->stats);
  if (impl_->stage) {
    out.push_back(&impl_->stage_in->stats);
    out.push_back(&impl_->stage_out->stats);
  }
  out.push_back(&impl_->emitter_stats);
  return out;
}

}  // namespace coreplay
