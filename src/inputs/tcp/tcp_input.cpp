#include "inputs/tcp/tcp_input.hpp"

#include "core/bell.hpp"
#include "core/core_options.hpp"
#include "core/log.hpp"
#include "core/registry.hpp"
#include "core/listen_socket.hpp"
#include "core/tcp_address.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <list>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace coreplay {

namespace {

using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using error_code = boost::system::error_code;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
constexpr int max_logged_skips = 5;

// How a connection usually ends: the peer closed it (TLS without close_notify included).
bool ordinary_end(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == ssl::error::stream_truncated ||
         ec == asio::error::broken_pipe;
}

std::string describe(const error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category())
    if (auto reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return reason;
  return ec.message();
}

std::string endpoint_text(const tcp::endpoint& ep) {
  std::ostringstream os;
  os << ep;
  return os.str();
}

}  // namespace

struct tcp_input::tls_config {
  ssl::context ctx{ssl::context::tls_server};
};

struct tcp_input::state {
  struct connection {
    std::optional<tcp::socket> plain;
    std::optional<ssl::stream<tcp::socket>> secure;
    asio::cancellation_signal cancel;
    std::string peer;
    tcp::socket& lowest() { return secure ? secure->next_layer() : *plain; }
  };

  state(asio::any_io_executor ex, message_writer o, std::string n, const tcp_input_options& opts)
      : out(o),
        name(std::move(n)),
        options(opts),
        done(ex),
        connections(o.stats().counter("connections")),
        connections_open(o.stats().counter("connections_open")),
        bytes_read(o.stats().counter("bytes_read")),
        malformed(o.stats().counter("malformed")),
        oversized(o.stats().counter("oversized")),
        truncated(o.stats().counter("truncated")),
        errors_tls(o.stats().counter("errors_tls")),
        errors_read(o.stats().counter("errors_read")) {}

  message_writer out;
  std::string name;
  tcp_input_options options;
  std::list<connection> conns;
  detail::bell done;  // rung when the last connection ends
  int logged = 0;
  int logged_tls = 0;
  std::atomic<std::uint64_t>& connections;
  std::atomic<std::uint64_t>& connections_open;
  std::atomic<std::uint64_t>& bytes_read;
  std::atomic<std::uint64_t>& malformed;
  std::atomic<std::uint64_t>& oversized;
  std::atomic<std::uint64_t>& truncated;
  std::atomic<std::uint64_t>& errors_tls;
  std::atomic<std::uint64_t>& errors_read;

  void report_drop(std::atomic<std::uint64_t>& counter, const std::string& what) {
    counter.fetch_add(1, std::memory_order_relaxed);
    out.stats().drops.fetch_add(1, std::memory_order_relaxed);
    if (logged < max_logged_skips) {
      log::error(name, ": ", what);
      if (++logged == max_logged_skips) log::error(name, ": further skipped records are only counted");
    }
  }

  template <typename Stream>
  asio::awaitable<void> read_records(Stream& stream, connection& c) {
    gor_record_reader reader(static_cast<std::size_t>(options.max_record_size.bytes),
                             [this, &c](const gor_record_skip& s) {
                               report_drop(s.why == gor_record_skip::reason::oversized ? oversized : malformed,
                                           "skipped record from " + c.peer + " at byte " + std::to_string(s.offset) +
                                               ": " + std::string(to_string(s.why)) + " (" + std::to_string(s.size) +
                                               " bytes)");
                             });
    const auto chunk = static_cast<std::size_t>(std::max<std::uint64_t>(options.read_size.bytes, 4096));
    for (;;) {
      auto space = reader.prepare(chunk);
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(space.data(), space.size()), tuple_awaitable);
      reader.commit(n);
      bytes_read.fetch_add(n, std::memory_order_relaxed);
      // Sending may suspend: then this connection is not read (back-pressure on the sender).
      while (auto m = reader.next())
        if (!out.offer(m)) co_await out.send(std::move(m));
      if (ec) {
        if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);  // closed by run()
        if (!ordinary_end(ec)) {
          errors_read.fetch_add(1, std::memory_order_relaxed);
          out.stats().errors.fetch_add(1, std::memory_order_relaxed);
          log::at(1, name, ": connection from ", c.peer, " failed: ", describe(ec));
        }
        break;
      }
    }
    if (reader.buffered() > 0)
      report_drop(truncated, "connection from " + c.peer + " ended inside a record (" +
                                 std::to_string(reader.buffered()) + " bytes without a separator); dropped");
  }

  asio::awaitable<void> serve(connection& c) {
    if (c.secure) {
      auto [ec] = co_await c.secure->async_handshake(ssl::stream_base::server, tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        errors_tls.fetch_add(1, std::memory_order_relaxed);
        out.stats().errors.fetch_add(1, std::memory_order_relaxed);
        // A client that keeps retrying would fill the log: the first few are reported.
        if (logged_tls < max_logged_skips) {
          log::error(name, ": TLS handshake with ", c.peer, " failed: ", describe(ec));
          if (++logged_tls == max_logged_skips) log::error(name, ": further TLS handshake failures are only counted");
        } else {
          log::at(2, name, ": TLS handshake with ", c.peer, " failed: ", describe(ec));
        }
        co_return;
      }
      co_await read_records(*c.secure, c);
    } else {
      co_await read_records(*c.plain, c);
    }
  }

  void spawn(asio::any_io_executor ex, tcp::socket sock, ssl::context* tls) {
    auto& c = conns.emplace_back();
    error_code ignored;
    auto peer = sock.remote_endpoint(ignored);
    c.peer = endpoint_text(peer);
    if (tls) c.secure.emplace(std::move(sock), *tls);
    else c.plain.emplace(std::move(sock));
    connections.fetch_add(1, std::memory_order_relaxed);
    connections_open.fetch_add(1, std::memory_order_relaxed);
    log::at(2, name, ": connection from ", c.peer);
    auto it = std::prev(conns.end());
    asio::co_spawn(ex, serve(c), asio::bind_cancellation_slot(c.cancel.slot(), [this, it](std::exception_ptr e) {
                     if (e) {
                       try {
                         std::rethrow_exception(e);
                       } catch (const boost::system::system_error& x) {
                         if (x.code() != asio::error::operation_aborted &&
                             x.code() != asio::experimental::error::channel_cancelled)
                           log::error(name, ": connection from ", it->peer, ": ", x.what());
                       } catch (const std::exception& x) {
                         log::error(name, ": connection from ", it->peer, ": ", x.what());
                       }
                     }
                     conns.erase(it);
                     connections_open.fetch_sub(1, std::memory_order_relaxed);
                     if (conns.empty()) done.ring();
                   }));
  }
};

option_group<tcp_input_options> tcp_input_option_group() {
  option_group<tcp_input_options> g("TCP input");
  using o = tcp_input_options;
  g.add("input-tcp-secure", &o::secure, "Accept TLS connections (needs the certificate and key)")
      .add("input-tcp-certificate", &o::certificate, "PEM certificate (chain) of the TCP input")
      .add("input-tcp-certificate-key", &o::certificate_key, "PEM private key of the TCP input");
  return g;
}

void add_tcp_input(registry& r) {
  r.add_input("input-tcp", "Receive messages from other coreplay/gor instances (--output-tcp) on this address: ':28020'",
              tcp_input_option_group(),
              [](const std::string& address, const tcp_input_options& o, rate_limit&, const raw_options& raw) {
                auto opts = o;
                if (auto cb = core_option_group().parse(raw).copy_buffer_size.bytes) opts.max_record_size = byte_size{cb};
                return std::make_unique<tcp_input>(address, std::move(opts));
              });
}

tcp_input::tcp_input(std::string address, tcp_input_options options)
    : address_(std::move(address)), options_(std::move(options)) {
  if (!split_host_port(address_)) throw option_error("--input-tcp '" + address_ + "': expected [host]:port");
  if (options_.secure) load_tls();
  // Bound now: a bad or busy address fails the start naming it, and port() is known at once.
  listener_ = open_listen_socket(address_, "input-tcp");
}

void tcp_input::load_tls() {
  if (options_.certificate.empty() || options_.certificate_key.empty())
    throw option_error("--input-tcp-secure needs --input-tcp-certificate and --input-tcp-certificate-key");
  tls_ = std::make_shared<tls_config>();
  error_code ec;
  tls_->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
  if (tls_->ctx.use_certificate_chain_file(options_.certificate, ec); ec)
    throw std::runtime_error("input-tcp: cannot load certificate '" + options_.certificate + "': " + describe(ec));
  if (tls_->ctx.use_private_key_file(options_.certificate_key, ssl::context::pem, ec); ec)
    throw std::runtime_error("input-tcp: cannot load certificate key '" + options_.certificate_key +
                             "': " + describe(ec));
  if (SSL_CTX_check_private_key(tls_->ctx.native_handle()) != 1)
    throw std::runtime_error("input-tcp: key '" + options_.certificate_key + "' does not match certificate '" +
                             options_.certificate + "'");
}

tcp_input::~tcp_input() {
  if (listener_.fd >= 0) ::close(listener_.fd);  // never handed to an acceptor
}

std::uint16_t tcp_input::port() const noexcept { return listener_.endpoint.port(); }

asio::awaitable<void> tcp_input::run(message_writer out) {
  auto ex = co_await asio::this_coro::executor;
  const std::string name = "input-tcp(" + address_ + ")";
  if (listener_.fd < 0) throw std::logic_error(name + ": run() twice");
  tcp::acceptor acceptor(ex);
  acceptor.assign(listener_.endpoint.protocol(), listener_.fd);
  listener_.fd = -1;  // the acceptor owns it now
  auto bound = acceptor.local_endpoint();
  log::at(1, name, ": listening on ", endpoint_text(bound), options_.secure ? " (TLS)" : "");

  state st(ex, out, name, options_);
  // The counter lives with the plugin's stats, which outlive run().
  out.stats().detail = [&c = st.connections_open] { return "open=" + std::to_string(c.load()); };
  ssl::context* tls = tls_ ? &tls_->ctx : nullptr;

  std::exception_ptr err;
  try {
    asio::steady_timer pause(ex);
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(tuple_awaitable);
      if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
      if (ec) {  // out of descriptors, or the like: report, breathe, go on
        out.stats().errors.fetch_add(1, std::memory_order_relaxed);
        log::error(name, ": accept failed: ", ec.message());
        pause.expires_after(std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::use_awaitable);
        continue;
      }
      st.spawn(ex, std::move(sock), tls);
    }
  } catch (...) {
    err = std::current_exception();
  }
  // Stop accepting, end every connection, and return only once they have all ended: they
  // send through `out`, which must not be used after run() returns.
  co_await asio::this_coro::reset_cancellation_state();
  co_await asio::this_coro::throw_if_cancelled(false);
  error_code ignored;
  acceptor.close(ignored);
  for (auto& c : st.conns) {
    c.cancel.emit(asio::cancellation_type::terminal);
    c.lowest().close(ignored);
  }
  while (!st.conns.empty()) co_await st.done.wait();
  std::rethrow_exception(err);
}

}  // namespace coreplay
