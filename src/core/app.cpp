#include "core/app.hpp"

#include "core/config.hpp"
#include "core/core_options.hpp"
#include "core/log.hpp"
#include "core/metrics_server.hpp"
#include "core/registry.hpp"
#include "core/stats_report.hpp"

#include <coreplay/pipeline.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <unistd.h>
#include <iostream>

namespace coreplay {

namespace {

void print_summary(const pipeline& p, std::chrono::steady_clock::duration elapsed) {
  auto secs = std::chrono::duration<double>(elapsed).count();
  std::ostringstream head;
  head.precision(3);
  head << std::fixed << "coreplay: summary after " << secs << "s";
  log::write_line(head.str());
  auto text = format_stats(p.stats(), "  ");
  if (!text.empty() && text.back() == '\n') text.pop_back();
  log::write_line(text);
}

}  // namespace

int run_app(int argc, char** argv) {
  // A middleware or a stdout reader that goes away must be an error we report, not a silent
  // death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  const registry& reg = default_registry();
  std::vector<std::string> args(argv, argv + argc);
  command_line cmd;
  core_options core;
  try {
    cmd = parse_command_line(args, reg);
    if (cmd.what == command_line::action::help) {
      reg.print_help(std::cout);
      return 0;
    }
    if (cmd.what == command_line::action::version) {
      std::cout << "coreplay " << COREPLAY_VERSION << "\n";
      return 0;
    }
    reg.validate(cmd.raw);
    core = core_option_group().parse(cmd.raw);
    if (reg.input_count(cmd.raw) == 0 || reg.output_count(cmd.raw) == 0)
      throw option_error(
          std::string(cmd.pipeline_file.empty() ? "" : cmd.pipeline_file + ": ") +
          "at least one input and one output are required (e.g. --input-raw :8080 --output-stdout); see --help");
  } catch (const option_error& e) {
    std::cerr << "coreplay: " << e.what() << "\n";
    return 2;
  }
  if (cmd.what == command_line::action::validate) {
    std::cout << cmd.pipeline_file << ": ok (" << reg.input_count(cmd.raw) << " inputs, "
              << reg.output_count(cmd.raw) << " outputs)\n";
    return 0;
  }
  log::verbosity = static_cast<int>(core.verbose);

  asio::io_context io(1);
  pipeline_options po;
  po.split_output = core.split_output;
  po.recognize_tcp_sessions = core.recognize_tcp_sessions;
  po.copy_buffer_size = core.copy_buffer_size.bytes ? core.copy_buffer_size.bytes : 5u << 20;
  po.drain_timeout = core.drain_timeout;
  pipeline p(io.get_executor(), po);
  try {
    reg.build(p, cmd.raw);
  } catch (const option_error& e) {
    std::cerr << "coreplay: " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {  // a value only its plugin can judge
    std::cerr << "coreplay: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "coreplay: " << e.what() << "\n";
    return 1;
  }

  std::unique_ptr<metrics_server> metrics;
  if (!core.http_pprof.empty()) {
    try {
      metrics = std::make_unique<metrics_server>(io.get_executor(), core.http_pprof, [&p] { return p.stats(); });
    } catch (const std::exception& e) {
      std::cerr << "coreplay: " << e.what() << "\n";
      return 1;
    }
    metrics->start();
    log::at(1, "serving counters on ", core.http_pprof, " (port ", metrics->port(), "): /debug/vars, /metrics");
  }

  auto started = std::chrono::steady_clock::now();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signals_seen = 0;
  std::function<void()> await_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (++signals_seen == 1) {
        log::info("received ", sig == SIGINT ? "SIGINT" : "SIGTERM",
                  ": stopping inputs and draining outputs (signal again to abort)");
        p.stop();
        await_signal();
      } else {
        log::info("second signal: aborting");
        p.abort();
      }
    });
  };
  await_signal();

  asio::steady_timer exit_timer(io);
  if (core.exit_after.count() > 0) {
    exit_timer.expires_after(core.exit_after);
    exit_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      log::at(1, "--exit-after elapsed: stopping");
      p.stop();
    });
  }

  asio::steady_timer stats_timer(io);
  std::function<void()> schedule_stats = [&] {
    stats_timer.expires_after(core.stats_interval.count() > 0 ? core.stats_interval : std::chrono::seconds(5));
    stats_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      auto text = format_stats(p.stats(), "[stats] ");
      if (!text.empty() && text.back() == '\n') text.pop_back();
      log::write_line(text);
      schedule_stats();
    });
  };
  if (core.stats) schedule_stats();

  // A progress line for replays from files when a person is watching (stderr is a terminal)
  // and --stats is not already printing.
  asio::steady_timer progress_timer(io);
  bool progress_shown = false;
  std::function<void()> schedule_progress = [&] {
    progress_timer.expires_after(std::chrono::seconds(1));
    progress_timer.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      auto line = progress_line(p.stats(), std::chrono::steady_clock::now() - started);
      if (!line.empty()) {
        log::write_raw("\r\x1b[K" + line);
        progress_shown = true;
      }
      schedule_progress();
    });
  };
  if (!core.stats && ::isatty(2)) schedule_progress();

  std::exception_ptr failure;
  p.async_run([&](std::exception_ptr e) {
    failure = e;
    signals.cancel();
    exit_timer.cancel();
    stats_timer.cancel();
    progress_timer.cancel();
    if (metrics) metrics->stop();
  });
  io.run();
  if (progress_shown) log::write_raw("\r\x1b[K");

  if (core.stats) {
    print_summary(p, std::chrono::steady_clock::now() - started);
  } else {
    // Without --stats, still never lose anything silently: name every plugin that dropped
    // messages or met errors.
    for (auto* s : p.stats()) {
      auto drops = s->drops.load(std::memory_order_relaxed), errors = s->errors.load(std::memory_order_relaxed);
      if (drops || errors) {
        auto line = format_stats({s}, "");
        if (!line.empty() && line.back() == '\n') line.pop_back();
        log::info("warning: ", line);
      }
    }
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "coreplay: error: " << e.what() << "\n";
    }
    return 1;
  }
  return 0;
}

}  // namespace coreplay
