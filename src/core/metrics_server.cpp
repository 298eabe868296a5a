#include "core/metrics_server.hpp"

#include "core/listen_socket.hpp"
#include "core/socket_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace coreplay {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

void json_string(std::ostream& os, std::string_view s) {
  os << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': os << "\\\""; break;
      case '\\': os << "\\\\"; break;
      case '\n': os << "\\n"; break;
      case '\r': os << "\\r"; break;
      case '\t': os << "\\t"; break;
      default:
        if (c < 0x20) {
          static constexpr char hex[] = "0123456789abcdef";
          os << "\\u00" << hex[c >> 4] << hex[c & 15];
        } else {
          os << static_cast<char>(c);
        }
    }
  }
  os << '"';
}

// A Prometheus label value: backslash, double quote and newline escaped.
std::string label(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// A named counter as a metric name part: [a-zA-Z0-9_] only.
std::string metric_part(std::string_view s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string stats_json(const std::vector<const plugin_stats*>& stats, std::chrono::steady_clock::duration uptime) {
  std::ostringstream os;
  os << "{\"uptime_seconds\": " << seconds(uptime) << ", \"plugins\": {";
  bool first = true;
  for (auto* s : stats) {
    os << (first ? "\n" : ",\n");
    first = false;
    json_string(os, s->name());
    os << ": {\"messages\": " << s->messages.load(std::memory_order_relaxed)
       << ", \"bytes\": " << s->bytes.load(std::memory_order_relaxed)
       << ", \"drops\": " << s->drops.load(std::memory_order_relaxed)
       << ", \"errors\": " << s->errors.load(std::memory_order_relaxed);
    if (s->queue_depth) os << ", \"queue\": " << s->queue_depth();
    for (auto& [k, v] : s->counters()) {
      os << ", ";
      json_string(os, k);
      os << ": " << v;
    }
    os << "}";
  }
  os << "\n}}\n";
  return os.str();
}

std::string stats_prometheus(const std::vector<const plugin_stats*>& stats,
                             std::chrono::steady_clock::duration uptime) {
  std::ostringstream os;
  os << "# HELP coreplay_uptime_seconds Seconds since the pipeline started.\n"
     << "# TYPE coreplay_uptime_seconds gauge\ncoreplay_uptime_seconds " << seconds(uptime) << "\n";
  struct family {
    const char* name;
    const char* help;
    const std::atomic<std::uint64_t> plugin_stats::*field;
  };
  static constexpr family families[] = {
      {"coreplay_messages_total", "Messages produced (inputs) or taken (outputs).", &plugin_stats::messages},
      {"coreplay_bytes_total", "Record bytes of those messages.", &plugin_stats::bytes},
      {"coreplay_drops_total", "Messages dropped on purpose and counted (full queue, limit, bad input).",
       &plugin_stats::drops},
      {"coreplay_errors_total", "Failures the plugin survived.", &plugin_stats::errors},
  };
  for (auto& f : families) {
    os << "# HELP " << f.name << " " << f.help << "\n# TYPE " << f.name << " counter\n";
    for (auto* s : stats)
      os << f.name << "{plugin=\"" << label(s->name()) << "\"} " << (s->*f.field).load(std::memory_order_relaxed)
         << "\n";
  }
  os << "# HELP coreplay_queue_depth Messages waiting in the plugin's channel.\n# TYPE coreplay_queue_depth gauge\n";
  for (auto* s : stats)
    if (s->queue_depth) os << "coreplay_queue_depth{plugin=\"" << label(s->name()) << "\"} " << s->queue_depth() << "\n";
  // Named counters differ per plugin (some are levels, such as lag_ns): one untyped family each.
  std::vector<std::string> seen;
  for (auto* s : stats)
    for (auto& [k, v] : s->counters()) {
      auto name = "coreplay_" + metric_part(k);
      if (std::find(seen.begin(), seen.end(), name) == seen.end()) {
        seen.push_back(name);
        os << "# TYPE " << name << " untyped\n";
      }
      os << name << "{plugin=\"" << label(s->name()) << "\"} " << v << "\n";
    }
  return os.str();
}

struct metrics_server::impl {
  explicit impl(stats_source s) : stats(std::move(s)) {}

  stats_source stats;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::optional<socket_server> server;

  http::response<http::string_body> answer(const http::request<http::empty_body>& req) const {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "coreplay");
    std::string_view path = req.target();
    path = path.substr(0, path.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.set(http::field::allow, "GET, HEAD");
    } else if (path == "/debug/vars") {
      res.set(http::field::content_type, "application/json; charset=utf-8");
      res.body() = stats_json(stats(), std::chrono::steady_clock::now() - started);
    } else if (path == "/metrics") {
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = stats_prometheus(stats(), std::chrono::steady_clock::now() - started);
    } else {
      res.result(http::status::not_found);
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = "coreplay serves /debug/vars (JSON) and /metrics (Prometheus) here\n";
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  // One connection: requests answered in turn until the client closes it or stop() does.
  static asio::awaitable<void> serve(std::shared_ptr<impl> self, tcp::socket& s) {
    if (!self) co_return;
    beast::flat_buffer buf;
    for (;;) {
      http::request_parser<http::empty_body> parser;
      parser.header_limit(16 * 1024);
      auto [ec, n] = co_await http::async_read(s, buf, parser, asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      auto res = self->answer(parser.get());
      auto [wec, wn] = co_await http::async_write(s, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !res.keep_alive()) break;
    }
  }
};

metrics_server::metrics_server(asio::any_io_executor ex, const std::string& address, stats_source stats)
    : impl_(std::make_shared<impl>(std::move(stats))) {
  impl_->server.emplace(ex, open_listen_socket(address, "--http-pprof"), "--http-pprof",
                        [w = std::weak_ptr<impl>(impl_)](tcp::socket& s) { return impl::serve(w.lock(), s); });
}

metrics_server::~metrics_server() { stop(); }

std::uint16_t metrics_server::port() const noexcept { return impl_->server->port(); }

void metrics_server::start() { impl_->server->start(); }

void metrics_server::stop() { impl_->server->stop(); }

}  // namespace coreplay
