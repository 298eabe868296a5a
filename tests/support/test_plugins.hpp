// Small sources and sinks for driving a pipeline in tests, and a runner that never hangs.
#pragma once

#include <coreplay/pipeline.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace coreplay::test {

inline message_ptr request(std::string id, std::int64_t ts = 1, std::string payload = "GET / HTTP/1.1\r\n\r\n") {
  return message::make(message_type::request, id, ts, std::nullopt, payload);
}
inline message_ptr response(std::string id, std::int64_t ts = 2, std::string payload = "HTTP/1.1 200 OK\r\n\r\n") {
  return message::make(message_type::response, id, ts, 1, payload);
}

// Sends the given messages, then ends (or waits to be cancelled when `linger`).
class vector_source : public source {
 public:
  explicit vector_source(std::vector<message_ptr> msgs, bool linger = false)
      : msgs_(std::move(msgs)), linger_(linger) {}
  asio::awaitable<void> run(message_writer out) override {
    for (auto& m : msgs_) {
      co_await out.send(m);
      ++sent;
    }
    if (linger_) {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
      co_await t.async_wait(asio::use_awaitable);
    }
  }
  std::size_t sent = 0;

 private:
  std::vector<message_ptr> msgs_;
  bool linger_;
};

// Emits numbered requests until cancelled (a live source).
class endless_source : public source {
 public:
  explicit endless_source(std::chrono::microseconds gap = std::chrono::microseconds(0)) : gap_(gap) {}
  asio::awaitable<void> run(message_writer out) override {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
      co_await out.send(request(std::to_string(sent)));
      ++sent;
      if (gap_.count()) {
        t.expires_after(gap_);
        co_await t.async_wait(asio::use_awaitable);
      }
    }
  }
  std::size_t sent = 0;

 private:
  std::chrono::microseconds gap_;
};

class failing_source : public source {
 public:
  asio::awaitable<void> run(message_writer) override {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    co_await t.async_wait(asio::use_awaitable);
    throw std::runtime_error("disk on fire");
  }
};

// Collects what it receives; optionally slow; records whether it saw the end of its stream.
class collecting_sink : public sink {
 public:
  struct state {
    std::vector<message_ptr> got;
    bool ended = false;
    bool flushed_after_cancel = false;
    std::function<bool(const message&)> accept;
  };
  explicit collecting_sink(std::shared_ptr<state> st, std::chrono::microseconds delay = {}, bool feedback = false)
      : st_(std::move(st)), delay_(delay), feedback_(feedback) {}
  asio::awaitable<void> run(message_reader in) override {
    asio::steady_timer t(co_await asio::this_coro::executor);
    try {
      while (auto m = co_await in.receive()) {
        if (delay_.count()) {
          t.expires_after(delay_);
          co_await t.async_wait(asio::use_awaitable);
        }
        st_->got.push_back(m);
        if (feedback_ && m->is_request())
          in.feedback().push(message::make(message_type::replayed_response, m->id(), m->timestamp_ns() + 1, 5,
                                            "HTTP/1.1 200 OK\r\n\r\n"));
      }
      st_->ended = true;
    } catch (...) {
      st_->flushed_after_cancel = true;  // a real sink would close its files here
      throw;
    }
  }
  bool accepts(const message& m) const override { return !st_->accept || st_->accept(m); }
  bool produces_feedback() const override { return feedback_; }

 private:
  std::shared_ptr<state> st_;
  std::chrono::microseconds delay_;
  bool feedback_;
};

class failing_sink : public sink {
 public:
  asio::awaitable<void> run(message_reader in) override {
    (void)co_await in.receive();
    throw std::runtime_error("target exploded");
  }
};

struct run_result {
  bool finished = false;
  std::exception_ptr error;
};

// Runs the pipeline on `io` for at most `limit`; `during` is called once the run has begun.
inline run_result run_pipeline(asio::io_context& io, pipeline& p,
                               std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  run_result r;
  p.async_run([&](std::exception_ptr e) {
    r.finished = true;
    r.error = e;
  });
  io.run_for(limit);
  return r;
}

inline std::string error_text(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

}  // namespace coreplay::test
