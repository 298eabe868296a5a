#include "inputs/file/file_input.hpp"

#include "core/log.hpp"
#include "core/stats_report.hpp"

#include "inputs/file/gor_file_reader.hpp"
#include "inputs/file/replay_schedule.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <iostream>

namespace coreplay {

namespace {

// Shared with the stats printer, which may outlive run().
struct input_progress {
  std::atomic<std::uint64_t> lag_ns{0};
  std::atomic<std::uint64_t> max_lag_ns{0};
  std::atomic<std::uint64_t> bytes_read{0};
  std::atomic<std::uint64_t> bytes_total{0};
};

constexpr int max_logged_skips = 5;

}  // namespace

option_group<file_input_options> file_input_option_group() {
  option_group<file_input_options> g("File input");
  using o = file_input_options;
  g.add("input-file-loop", &o::loop, "Start over at the end of the files")
      .add("input-file-read-depth", &o::read_depth, "Records per file kept sorted by timestamp to fix small disorder")
      .add("input-file-dry-run", &o::dry_run, "Read the files and print what a replay would do; send nothing")
      .add("input-file-max-wait", &o::max_wait, "Cap on any wait between two records, after speed scaling (0: none)");
  return g;
}

file_input::file_input(file_input_options opts) : opts_(std::move(opts)) {}

asio::awaitable<void> file_input::run(message_writer out) {
  auto ex = co_await asio::this_coro::executor;
  auto& stats = out.stats();
  auto& malformed = stats.counter("malformed");
  auto& oversized = stats.counter("oversized");
  auto& out_of_order = stats.counter("out_of_order");
  auto& lag_counter = stats.counter("lag_ns");
  auto& max_lag_counter = stats.counter("max_lag_ns");
  auto& bytes_read_counter = stats.counter("bytes_read");
  auto& bytes_total_counter = stats.counter("bytes_total");
  auto progress = std::make_shared<input_progress>();
  stats.detail = [progress] {
    std::string s = "lag " + format_go_duration(static_cast<std::int64_t>(progress->lag_ns.load())) +
                    " (max " + format_go_duration(static_cast<std::int64_t>(progress->max_lag_ns.load())) +
                    "), read " + human_bytes(progress->bytes_read.load()) + "/" +
                    human_bytes(progress->bytes_total.load());
    return s;
  };

  gor_file_read_options ropts;
  ropts.read_depth = static_cast<std::size_t>(std::max<std::int64_t>(opts_.read_depth, 1));
  ropts.max_record_bytes = static_cast<std::size_t>(opts_.max_record_size.bytes);
  ropts.block_bytes = static_cast<std::size_t>(opts_.read_block_size.bytes);
  ropts.prefer_io_uring = opts_.prefer_io_uring;
  ropts.read_ahead_blocks = opts_.read_ahead_blocks;

  int logged = 0;
  auto on_skip = [&](const std::string& path, const gor_record_skip& s) {
    (s.why == gor_record_skip::reason::oversized ? oversized : malformed).fetch_add(1, std::memory_order_relaxed);
    stats.drops.fetch_add(1, std::memory_order_relaxed);
    if (logged < max_logged_skips) {
      bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
      log::info("input-file: skipped record at ", gz ? "uncompressed " : "", "byte ", s.offset, " of '", path,
                "': ", to_string(s.why), " (", s.size, " bytes)");
      if (++logged == max_logged_skips) log::info("input-file: further skipped records are only counted");
    }
  };

  replay_schedule schedule(opts_.speed_factor, opts_.max_wait);
  asio::steady_timer timer(ex);
  dry_run_figures dry;
  std::uint64_t total_read_before = 0;  // bytes of earlier loop passes

  for (;;) {
    auto paths = expand_input_glob(opts_.path);
    dry.files += paths.size();
    gor_file_merge merge(ex, std::move(paths), ropts, on_skip);
    auto update_read = [&] {
      std::uint64_t r = total_read_before + merge.bytes_read();
      std::uint64_t total = total_read_before + merge.total_bytes();
      progress->bytes_read.store(r, std::memory_order_relaxed);
      bytes_read_counter.store(r, std::memory_order_relaxed);
      progress->bytes_total.store(total, std::memory_order_relaxed);
      bytes_total_counter.store(total, std::memory_order_relaxed);
    };

    schedule.restart();
    std::uint64_t pass_records = 0;
    std::chrono::steady_clock::time_point start, now;
    unsigned since_clock = 0;
    for (;;) {
      message_ptr m = merge.try_next();
      if (!m) m = co_await merge.next();
      if (!m) break;
      ++pass_records;
      auto step = schedule.next(m->timestamp_ns());
      if (opts_.dry_run) {
        ++dry.records;
        dry.bytes += m->record().size();
        continue;
      }
      if (pass_records == 1) {
        start = now = std::chrono::steady_clock::now();
        since_clock = 0;
      }
      if (step.out_of_order) {
        out_of_order.fetch_add(1, std::memory_order_relaxed);
      } else {
        auto deadline = start + step.offset;
        // Deadlines only grow: one passed before the last clock reading needs no new reading
        // (refreshed every 64 records so the lag figure stays current).
        if (deadline > now || ++since_clock >= 64) {
          now = std::chrono::steady_clock::now();
          since_clock = 0;
        }
        if (deadline > now) {
          timer.expires_at(deadline);
          co_await timer.async_wait(asio::use_awaitable);
          now = std::chrono::steady_clock::now();
        }
        auto lag = static_cast<std::uint64_t>(std::max<std::int64_t>(0, (now - deadline).count()));
        progress->lag_ns.store(lag, std::memory_order_relaxed);
        lag_counter.store(lag, std::memory_order_relaxed);
        if (lag > progress->max_lag_ns.load(std::memory_order_relaxed)) {
          progress->max_lag_ns.store(lag, std::memory_order_relaxed);
          max_lag_counter.store(lag, std::memory_order_relaxed);
        }
      }
      if ((pass_records & 255) == 0) update_read();
      if (!out.offer(m)) co_await out.send(std::move(m));
    }
    update_read();
    total_read_before += merge.bytes_read();
    // Looping over files without a single valid record would spin forever.
    if (!opts_.loop || opts_.dry_run || pass_records == 0) break;
  }

  if (opts_.dry_run) {
    std::ostream& os = opts_.dry_run_out ? *opts_.dry_run_out : std::cout;
    os << format_dry_run_summary(dry, schedule) << std::flush;
  }
}

}  // namespace coreplay
