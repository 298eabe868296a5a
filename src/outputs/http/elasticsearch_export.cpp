// The exporter's I/O: Beast's HTTP client over one connection (plain or TLS).
#include "outputs/http/elasticsearch_export.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace coreplay {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// Bulk answers list every item; a few MiB covers thousands of documents.
constexpr std::uint64_t answer_limit = 64u << 20;

struct bulk_answer {
  error_code ec;
  int status = 0;
  std::string body;
};

}  // namespace

struct elasticsearch_exporter::impl {
  impl(const asio::any_io_executor& e, http_replay::elasticsearch_target t, elasticsearch_export_options o,
       plugin_stats& s)
      : ex(e),
        target(std::move(t)),
        opts(o),
        action_line(http_replay::bulk_action_line(target.index)),
        wake(e, asio::steady_timer::time_point::max()),
        resolver(e),
        docs(s.counter("es_docs")),
        indexed(s.counter("es_indexed")),
        errors(s.counter("es_errors")),
        dropped(s.counter("es_dropped")),
        requests(s.counter("es_requests")) {
    opts.batch_docs = std::max<std::int64_t>(1, opts.batch_docs);
    opts.max_pending_docs = std::max(opts.max_pending_docs, opts.batch_docs);
    if (opts.timeout.count() <= 0) opts.timeout = std::chrono::seconds(5);
    if (opts.flush_interval.count() <= 0) opts.flush_interval = std::chrono::seconds(1);
  }

  asio::awaitable<void> loop();
  asio::awaitable<void> send_pending();
  asio::awaitable<bulk_answer> post(std::string body);
  asio::awaitable<error_code> connect();
  template <typename Stream>
  asio::awaitable<bulk_answer> exchange(Stream& s, bhttp::request<bhttp::string_body>& req, bool& got_bytes);
  // Cancels whatever waits on the connection; safe at any time.
  void close_socket() {
    if (plain) plain->close();
    if (secure) beast::get_lowest_layer(*secure).close();
  }
  // Only where no operation on the connection is pending (the streams are destroyed).
  void disconnect() {
    close_socket();
    plain.reset();
    secure.reset();
    exchanges = 0;
    buf.clear();
  }
  void log_failure(std::size_t n, const std::string& why) {
    log::at(1, "output-http-elasticsearch ", target.authority, ": ", n, " document(s) not indexed: ", why);
  }

  asio::any_io_executor ex;
  http_replay::elasticsearch_target target;
  elasticsearch_export_options opts;
  std::string action_line;

  std::string pending;  // NDJSON: action line and document, per document
  std::vector<std::size_t> pending_ends;  // where each pending document ends in `pending`
  std::size_t pending_docs = 0;
  std::size_t in_flight_docs = 0;
  std::chrono::steady_clock::time_point first_pending_at;
  asio::steady_timer wake;
  bool closing = false;
  bool aborting = false;

  tcp::resolver resolver;
  std::optional<ssl::context> tls_ctx;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buf;
  std::uint64_t exchanges = 0;  // answers read on the current connection

  std::atomic<std::uint64_t>& docs;
  std::atomic<std::uint64_t>& indexed;
  std::atomic<std::uint64_t>& errors;
  std::atomic<std::uint64_t>& dropped;
  std::atomic<std::uint64_t>& requests;
};

elasticsearch_exporter::elasticsearch_exporter(const asio::any_io_executor& ex, http_replay::elasticsearch_target target,
                                               elasticsearch_export_options options, plugin_stats& stats)
    : impl_(std::make_shared<impl>(ex, std::move(target), options, stats)) {}

elasticsearch_exporter::~elasticsearch_exporter() = default;

const http_replay::elasticsearch_target& elasticsearch_exporter::target() const noexcept { return impl_->target; }

void elasticsearch_exporter::add(std::string_view request, std::string_view response, std::chrono::nanoseconds rtt,
                                 std::int64_t at_unix_ns) {
  auto& i = *impl_;
  if (i.closing || i.aborting) return;
  i.docs.fetch_add(1, std::memory_order_relaxed);
  if (i.pending_docs >= static_cast<std::size_t>(i.opts.max_pending_docs)) {
    i.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  i.pending.append(i.action_line);
  http_replay::append_document(i.pending, request, response, rtt.count(), at_unix_ns);
  i.pending_ends.push_back(i.pending.size());
  if (i.pending_docs++ == 0) {
    i.first_pending_at = std::chrono::steady_clock::now();
    i.wake.cancel();  // the loop now waits for the flush deadline instead of for ever
  } else if (i.pending_docs == static_cast<std::size_t>(i.opts.batch_docs)) {
    i.wake.cancel();
  }
}

void elasticsearch_exporter::close() {
  impl_->closing = true;
  impl_->wake.cancel();
}

void elasticsearch_exporter::abort() {
  auto& i = *impl_;
  i.aborting = true;
  i.wake.cancel();
  i.resolver.cancel();
  i.close_socket();
}

asio::awaitable<void> elasticsearch_exporter::run() {
  auto keep = impl_;
  co_await keep->loop();
}

asio::awaitable<void> elasticsearch_exporter::impl::loop() {
  for (;;) {
    if (aborting) break;
    const auto deadline = first_pending_at + opts.flush_interval;
    const bool due = pending_docs > 0 && (pending_docs >= static_cast<std::size_t>(opts.batch_docs) || closing ||
                                          std::chrono::steady_clock::now() >= deadline);
    if (due) {
      co_await send_pending();
      continue;
    }
    if (closing) break;
    wake.expires_at(pending_docs > 0 ? deadline : asio::steady_timer::time_point::max());
    co_await wake.async_wait(tuple_awaitable);
  }
  if (pending_docs > 0) dropped.fetch_add(pending_docs, std::memory_order_relaxed);
  pending_docs = 0;
  pending.clear();
  pending_ends.clear();
  disconnect();
}

asio::awaitable<void> elasticsearch_exporter::impl::send_pending() {
  // At most batch_docs documents; the rest (they came while a request was in flight) follow.
  const auto n = std::min(pending_docs, static_cast<std::size_t>(opts.batch_docs));
  std::string body;
  if (n == pending_docs) {
    body.swap(pending);
    pending.reserve(body.capacity());
    pending_ends.clear();
  } else {
    const auto cut = pending_ends[n - 1];
    body.assign(pending, 0, cut);
    pending.erase(0, cut);
    pending_ends.erase(pending_ends.begin(), pending_ends.begin() + static_cast<std::ptrdiff_t>(n));
    for (auto& e : pending_ends) e -= cut;
    first_pending_at = std::chrono::steady_clock::now();
  }
  pending_docs -= n;
  in_flight_docs = n;
  requests.fetch_add(1, std::memory_order_relaxed);
  auto a = co_await post(std::move(body));
  in_flight_docs = 0;
  if (aborting) {
    dropped.fetch_add(n, std::memory_order_relaxed);
    co_return;
  }
  if (a.ec) {
    errors.fetch_add(n, std::memory_order_relaxed);
    log_failure(n, a.ec == beast::error::timeout ? std::string("timeout") : a.ec.message());
    co_return;
  }
  if (a.status < 200 || a.status > 299) {
    errors.fetch_add(n, std::memory_order_relaxed);
    log_failure(n, "status " + std::to_string(a.status) + ": " + a.body.substr(0, 300));
    co_return;
  }
  auto r = http_replay::read_bulk_response(a.body);
  const auto failed = std::min<std::size_t>(r.failed, n);
  indexed.fetch_add(n - failed, std::memory_order_relaxed);
  if (failed > 0) {
    errors.fetch_add(failed, std::memory_order_relaxed);
    log_failure(failed, "rejected by Elasticsearch: " + r.first_reason);
  }
}

asio::awaitable<error_code> elasticsearch_exporter::impl::connect() {
  disconnect();
  auto [rec, results] = co_await resolver.async_resolve(target.host, target.port, tuple_awaitable);
  if (rec) co_return rec;
  if (target.tls) {
    if (!tls_ctx) {
      tls_ctx.emplace(ssl::context::tls_client);
      if (opts.skip_verify) {
        tls_ctx->set_verify_mode(ssl::verify_none);
      } else {
        error_code ignored;
        tls_ctx->set_default_verify_paths(ignored);
        tls_ctx->set_verify_mode(ssl::verify_peer);
      }
    }
    secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *tls_ctx);
    auto& low = beast::get_lowest_layer(*secure);
    low.expires_after(opts.timeout);
    auto [cec, ep] = co_await low.async_connect(results, tuple_awaitable);
    if (cec) co_return cec;
    error_code aec;
    (void)asio::ip::make_address(target.host, aec);
    if (aec) SSL_set_tlsext_host_name(secure->native_handle(), target.host.c_str());  // SNI for names only
    if (!opts.skip_verify) secure->set_verify_callback(ssl::host_name_verification(target.host));
    auto [hec] = co_await secure->async_handshake(ssl::stream_base::client, tuple_awaitable);
    co_return hec;
  }
  plain = std::make_unique<beast::tcp_stream>(ex);
  plain->expires_after(opts.timeout);
  auto [cec, ep] = co_await plain->async_connect(results, tuple_awaitable);
  co_return cec;
}

template <typename Stream>
asio::awaitable<bulk_answer> elasticsearch_exporter::impl::exchange(Stream& s, bhttp::request<bhttp::string_body>& req,
                                                                    bool& got_bytes) {
  bulk_answer a;
  beast::get_lowest_layer(s).expires_after(opts.timeout);
  auto [wec, wn] = co_await bhttp::async_write(s, req, tuple_awaitable);
  if (wec) {
    a.ec = wec;
    co_return a;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(answer_limit);
  auto [rec, rn] = co_await bhttp::async_read(s, buf, parser, tuple_awaitable);
  got_bytes = parser.got_some();
  if (rec) {
    a.ec = rec;
    co_return a;
  }
  beast::get_lowest_layer(s).expires_never();
  auto res = parser.release();
  a.status = static_cast<int>(res.result_int());
  a.body = std::move(res.body());
  if (!res.keep_alive()) disconnect();
  else ++exchanges;
  co_return a;
}

asio::awaitable<bulk_answer> elasticsearch_exporter::impl::post(std::string body) {
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, target.bulk_path, 11};
  req.set(bhttp::field::host, target.authority);
  req.set(bhttp::field::content_type, "application/x-ndjson");
  req.set(bhttp::field::user_agent, "coreplay");
  if (!target.authorization.empty()) req.set(bhttp::field::authorization, target.authorization);
  req.body() = std::move(body);
  req.prepare_payload();

  for (int attempt = 0;; ++attempt) {
    bulk_answer a;
    if (aborting) {
      a.ec = asio::error::operation_aborted;
      co_return a;
    }
    const bool reused = (plain || secure) && exchanges > 0;
    if (!plain && !secure) {
      if (auto ec = co_await connect()) {
        disconnect();
        a.ec = ec;
        co_return a;
      }
    }
    bool got_bytes = false;
    a = secure ? co_await exchange(*secure, req, got_bytes) : co_await exchange(*plain, req, got_bytes);
    if (!a.ec) co_return a;
    disconnect();
    // Elasticsearch (or a proxy) closed an idle keep-alive connection as we sent: most likely
    // nothing was indexed, so the batch goes once more on a fresh connection.
    const bool stale = a.ec == asio::error::eof || a.ec == asio::error::connection_reset ||
                       a.ec == asio::error::broken_pipe || a.ec == bhttp::error::end_of_stream ||
                       a.ec == ssl::error::stream_truncated;
    if (reused && attempt == 0 && !got_bytes && stale && !aborting) continue;
    co_return a;
  }
}

}  // namespace coreplay
