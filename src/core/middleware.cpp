#include "core/middleware.hpp"

#include "core/http/http_prettifier.hpp"
#include "core/http/middleware_codec.hpp"
#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace coreplay {

namespace {

using boost::system::error_code;
constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// The pipeline prefixes the plugin's name, which holds the command.
std::runtime_error fault(const std::string&, const std::string& what) { return std::runtime_error(what); }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "ended";
}

// The child, owned: killed and reaped if still there when this goes away.
struct child_process {
  pid_t pid = -1;
  int status = 0;
  bool reaped = false;

  bool try_reap() {
    if (reaped || pid < 0) return reaped;
    int st = 0;
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) {
      status = st;
      reaped = true;
    }
    return reaped;
  }
  ~child_process() {
    if (pid > 0 && !try_reap()) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
  }
};

}  // namespace

middleware_process::middleware_process(middleware_options o) : options_(std::move(o)) {
  if (split_command(options_.command).empty()) throw std::invalid_argument("--middleware: empty command");
}

std::vector<std::string> middleware_process::split_command(const std::string& command) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < command.size()) {
    auto sp = command.find(' ', i);
    if (sp == std::string::npos) sp = command.size();
    if (sp > i) out.push_back(command.substr(i, sp - i));
    i = sp + 1;
  }
  return out;
}

asio::awaitable<void> middleware_process::run(message_reader in, message_writer out) {
  const std::string& cmd = options_.command;
  auto args = split_command(cmd);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) throw fault(cmd, std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    throw fault(cmd, std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  child_process child;
  int rc = ::posix_spawnp(&child.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (rc != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    child.pid = -1;
    throw fault(cmd, std::string("cannot be started: ") + std::strerror(rc));
  }
  log::at(1, "middleware '", cmd, "' started, pid ", child.pid);

  auto ex = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor child_in(ex, to_child[1]);
  asio::posix::stream_descriptor child_out(ex, from_child[0]);
  auto& bad_lines = out.stats().counter("bad_lines");
  http::http_prettifier prettifier;
  bool input_done = false;

  // When the child stops reading or writing: wait a little for it to exit and report how.
  auto child_gone = [&](std::string fallback) -> asio::awaitable<std::runtime_error> {
    asio::steady_timer t(ex);
    for (int i = 0; i < 100 && !child.try_reap(); ++i) {
      t.expires_after(std::chrono::milliseconds(10));
      co_await t.async_wait(as_tuple_awaitable);
    }
    co_return fault(cmd, child.reaped ? describe_status(child.status) : std::move(fallback));
  };
  auto write_out = [&](std::string& buf) -> asio::awaitable<void> {
    auto [ec, n] = co_await asio::async_write(child_in, asio::buffer(buf), as_tuple_awaitable);
    if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset)
      throw co_await child_gone("stopped reading its input");
    if (ec) throw fault(cmd, "input: " + ec.message());
    buf.clear();
  };

  auto writer = [&]() -> asio::awaitable<void> {
    std::string buf;
    for (;;) {
      message_ptr m;
      bool got = in.try_receive(m);
      if (!got) {
        if (!buf.empty()) co_await write_out(buf);
        m = co_await in.receive();
      }
      if (!m) break;
      if (options_.prettify) m = prettifier.apply(std::move(m));
      if (!m) continue;
      http::middleware_encode_append(buf, *m);
      if (buf.size() >= 256 * 1024) co_await write_out(buf);
    }
    if (!buf.empty()) co_await write_out(buf);
    input_done = true;
    child_in.close();  // EOF for the child: it may finish and exit
  };

  auto reader = [&]() -> asio::awaitable<void> {
    http::line_splitter lines(options_.max_line_bytes);
    std::vector<char> chunk(256 * 1024);
    std::uint64_t line_no = 0;
    auto handle = [&](std::string_view line) -> message_ptr {
      ++line_no;
      auto d = http::middleware_decode(line);
      if (d.error != http::middleware_error::none) {
        bad_lines.fetch_add(1, std::memory_order_relaxed);
        out.stats().drops.fetch_add(1, std::memory_order_relaxed);
        log::at(0, "middleware '", cmd, "': line ", line_no, " skipped: ", http::to_string(d.error));
        return nullptr;
      }
      return d.msg;
    };
    for (;;) {
      auto [ec, n] = co_await child_out.async_read_some(asio::buffer(chunk), as_tuple_awaitable);
      if (n > 0) {
        lines.feed(std::string_view(chunk.data(), n));
        while (auto line = lines.next())
          if (auto m = handle(*line)) co_await out.send(std::move(m));
        if (auto over = lines.oversized(); over > bad_lines.load())
          bad_lines.store(over);
      }
      if (ec == asio::error::eof) break;
      if (ec) throw fault(cmd, "output: " + ec.message());
    }
    if (auto rest = lines.finish())
      if (auto m = handle(*rest)) co_await out.send(std::move(m));
    // The child closed its output before we closed its input: it died or quit.
    if (!input_done) throw co_await child_gone("closed its output");
  };

  // Both directions at once; when one fails the other is cancelled, and the failure that is
  // not a cancellation is the one reported (the child's death, not our cancelled send).
  auto [order, writer_error, reader_error] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(ex, writer(), asio::deferred),
                                                       asio::co_spawn(ex, reader(), asio::deferred))
          .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  if (writer_error || reader_error) {
    if (child.pid > 0 && !child.try_reap()) ::kill(child.pid, SIGTERM);
    auto is_cancel = [](const std::exception_ptr& e) {
      try {
        std::rethrow_exception(e);
      } catch (const boost::system::system_error& se) {
        return se.code() == asio::error::operation_aborted ||
               se.code() == asio::experimental::error::channel_cancelled;
      } catch (...) {
        return false;
      }
    };
    if (reader_error && (!writer_error || is_cancel(writer_error))) std::rethrow_exception(reader_error);
    std::rethrow_exception(writer_error ? writer_error : reader_error);
  }
  // Both directions are done: give the child a moment to exit on its own.
  asio::steady_timer t(ex);
  auto deadline = std::chrono::steady_clock::now() + options_.exit_grace;
  while (!child.try_reap() && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(5));
    co_await t.async_wait(as_tuple_awaitable);
  }
  if (!child.reaped) {
    log::at(0, "middleware '", cmd, "' did not exit after its input ended; killing it");
    ::kill(child.pid, SIGKILL);
  } else if (!(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0)) {
    log::at(0, "middleware '", cmd, "' ", describe_status(child.status), " after its input ended");
  }
}

}  // namespace coreplay
