// All of Boost.Beast's WebSocket code of coreplay is in this file (it is heavy to compile).
#include "outputs/ws/ws_output.hpp"

#include "core/core_options.hpp"
#include "core/registry.hpp"
#include "core/tcp_address.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace coreplay {

namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

using plain_ws = websocket::stream<beast::tcp_stream>;
using secure_ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// One WebSocket connection, plain or TLS. Shared with the read that keeps control frames
// flowing and notices the peer closing it.
struct ws_connection final : pool_connection, std::enable_shared_from_this<ws_connection> {
  ws_connection(const asio::any_io_executor& ex, ssl::context* tls) {
    if (tls) secure.emplace(ex, *tls);
    else plain.emplace(ex);
  }
  beast::tcp_stream& lowest() {
    return secure ? beast::get_lowest_layer(*secure) : beast::get_lowest_layer(*plain);
  }
  void close() override { lowest().close(); }
  bool broken() const override { return is_broken; }

  template <class Stream>
  static asio::awaitable<error_code> write_frames(Stream& ws, const std::vector<message_ptr>& batch) {
    for (auto& m : batch) {
      // One binary frame per record; the frame's buffer is the message's own bytes.
      auto [ec, n] = co_await ws.async_write(asio::buffer(m->record()), tuple_awaitable);
      if (ec) co_return ec;
    }
    co_return error_code{};
  }
  asio::awaitable<error_code> write(const std::vector<message_ptr>& batch) override {
    auto self = shared_from_this();  // the write keeps its stream alive
    co_return secure ? co_await write_frames(*secure, batch) : co_await write_frames(*plain, batch);
  }

  template <class Stream>
  static asio::awaitable<void> close_politely(Stream& ws) {
    auto [ec] = co_await ws.async_close(websocket::close_code::normal, tuple_awaitable);
    (void)ec;
  }
  asio::awaitable<void> finish() override {
    auto self = shared_from_this();
    if (!is_broken) {
      if (secure) co_await close_politely(*secure);
      else co_await close_politely(*plain);
    }
    close();
  }

  // Reads whatever the server sends (ignored); the read answers pings and ends when the peer
  // closes the connection, so a closed connection is noticed before a write is lost.
  template <class Stream>
  void watch(Stream& ws) {
    ws.async_read(rx, [self = shared_from_this(), &ws](error_code ec, std::size_t) {
      if (!ec) {
        self->rx.clear();
        return self->watch(ws);
      }
      self->is_broken = true;
      self->close();
    });
  }
  void watch_for_close() {
    if (secure) watch(*secure);
    else watch(*plain);
  }

  std::optional<plain_ws> plain;
  std::optional<secure_ws> secure;
  beast::flat_buffer rx;
  bool is_broken = false;
};


class ws_transport final : public pool_transport {
 public:
  ws_transport(asio::any_io_executor ex, ws_url url, const ws_output_options& o)
      : ex_(std::move(ex)), url_(std::move(url)), opts_(o),
        authorization_("Basic " + base64_encode(url_.userinfo)) {
    if (url_.secure) configure_client_tls(tls_.emplace(ssl::context::tls_client), opts_.skip_verify);
  }

  template <class Stream>
  asio::awaitable<bool> handshake(Stream& ws, std::string& why) {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(opts_.connect_timeout);
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws.set_option(t);
    ws.set_option(websocket::stream_base::decorator([auth = authorization_](websocket::request_type& req) {
      req.set(beast::http::field::authorization, auth);
      req.set(beast::http::field::user_agent, "coreplay");
    }));
    ws.binary(true);
    ws.auto_fragment(false);
    websocket::response_type res;
    auto [ec] = co_await ws.async_handshake(res, url_.host_header, url_.target, tuple_awaitable);
    if (ec) {
      why = "WebSocket handshake failed: " + ec.message();
      if (res.result_int() != 0 && res.result() != beast::http::status::switching_protocols)
        why += " (HTTP " + std::to_string(res.result_int()) + ")";
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<std::shared_ptr<pool_connection>> dial(std::string& why) override {
    auto c = std::make_shared<ws_connection>(ex_, tls_ ? &*tls_ : nullptr);
    auto& sock = c->lowest();
    tcp::resolver resolver(ex_);
    auto [rec, endpoints] = co_await resolver.async_resolve(url_.host, url_.port, tuple_awaitable);
    if (rec) {
      why = "cannot resolve '" + url_.host + "': " + rec.message();
      co_return nullptr;
    }
    sock.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(opts_.connect_timeout));
    auto [cec, ep] = co_await sock.async_connect(endpoints, tuple_awaitable);
    if (cec) {
      why = "cannot connect: " + std::string(cec == beast::error::timeout ? "timed out" : cec.message());
      co_return nullptr;
    }
    error_code ignored;
    sock.socket().set_option(tcp::no_delay(true), ignored);
    if (c->secure) {
      auto& tls = c->secure->next_layer();
      if (!opts_.skip_verify) tls.set_verify_callback(ssl::host_name_verification(url_.host));
      if (!is_ip_literal(url_.host)) SSL_set_tlsext_host_name(tls.native_handle(), url_.host.c_str());
      auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, tuple_awaitable);
      if (hec) {
        why = "TLS handshake failed: " + std::string(hec == beast::error::timeout ? "timed out" : describe_error(hec));
        co_return nullptr;
      }
    }
    sock.expires_never();  // from here the WebSocket stream's own timeouts apply
    bool ok = c->secure ? co_await handshake(*c->secure, why) : co_await handshake(*c->plain, why);
    if (!ok) {
      c->close();
      co_return nullptr;
    }
    c->watch_for_close();
    co_return c;
  }

 private:
  asio::any_io_executor ex_;
  ws_url url_;
  ws_output_options opts_;
  std::string authorization_;
  std::optional<ssl::context> tls_;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string base64_encode(std::string_view in) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
                      std::uint8_t(in[i + 2]);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    std::uint32_t v = std::uint32_t(std::uint8_t(in[i])) << 16;
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    std::uint32_t v = (std::uint32_t(std::uint8_t(in[i])) << 16) | (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

ws_url parse_ws_url(const std::string& url) {
  auto bad = [&](const std::string& why) {
    return option_error("--output-ws '" + url + "': " + why + " (expected ws://host[:port][/path] or wss://...)");
  };
  ws_url u;
  auto colon = url.find("://");
  if (colon == std::string::npos) throw bad("no scheme");
  auto scheme = lower(url.substr(0, colon));
  if (scheme == "wss") u.secure = true;
  else if (scheme != "ws") throw bad("the scheme must be ws or wss");
  auto rest = std::string_view(url).substr(colon + 3);
  auto auth_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (auto hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    u.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) throw bad("no host");
  u.host_header = std::string(authority);
  bool has_port = authority.back() != ']' && authority.rfind(':') != std::string_view::npos &&
                  (authority.front() != '[' || authority.rfind(':') > authority.rfind(']'));
  if (has_port) {
    auto hp = split_host_port(authority);
    if (!hp || hp->host.empty()) throw bad("bad host:port");
    u.host = hp->host;
    u.port = hp->port;
  } else {
    u.host = std::string(authority);
    if (u.host.front() == '[') {
      if (u.host.size() < 3 || u.host.back() != ']') throw bad("bad host");
      u.host = u.host.substr(1, u.host.size() - 2);
    }
    u.port = u.secure ? "443" : "80";
  }
  u.target = tail.empty() || tail.front() != '/' ? "/" + std::string(tail) : std::string(tail);
  return u;
}

option_group<ws_output_options> ws_output_option_group() {
  option_group<ws_output_options> g("WebSocket output");
  using o = ws_output_options;
  g.add("output-ws-skip-verify", &o::skip_verify, "Do not verify the wss:// server's TLS certificate")
      .add("output-ws-sticky", &o::sticky, "Keep each message id on one connection (FNV-1a hash)")
      .add("output-ws-workers", &o::workers, "Connections per WebSocket output, each buffering 100 messages")
      .add("output-ws-stats", &o::stats,
           "Log gor's output_ws queue line (latest,mean,max,count,count/second,workers) every 5s");
  return g;
}

void add_ws_output(registry& r) {
  r.add_output("output-ws",
               "Send each message as one binary WebSocket frame: ws://[user:pass@]host[:port][/path] or wss://...",
               ws_output_option_group(),
               [](const std::string& url, const ws_output_options& o, rate_limit&, std::size_t&, const raw_options& raw) {
                 auto opts = o;
                 opts.end_timeout = core_option_group().parse(raw).drain_timeout;
                 return std::make_unique<ws_output>(url, std::move(opts));
               });
}

ws_output::ws_output(std::string url, ws_output_options options) : url_(std::move(url)), options_(std::move(options)) {
  if (options_.workers < 1)
    throw option_error("--output-ws-workers: must be at least 1 (got " + std::to_string(options_.workers) + ")");
  parsed_ = parse_ws_url(url_);
  display_ = std::string(parsed_.secure ? "wss://" : "ws://") + parsed_.host_header + parsed_.target;
}

ws_output::~ws_output() = default;

asio::awaitable<void> ws_output::run(message_reader in) {
  auto ex = co_await asio::this_coro::executor;
  co_await run_worker_pool(in, std::make_shared<ws_transport>(ex, parsed_, options_),
                           pool_options(options_, "output-ws(" + display_ + ")", "output_ws"));
}

}  // namespace coreplay
