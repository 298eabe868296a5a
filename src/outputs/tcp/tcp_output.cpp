#include "outputs/tcp/tcp_output.hpp"

#include "core/core_options.hpp"
#include "core/gor_record.hpp"
#include "core/registry.hpp"
#include "core/tcp_address.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <optional>
#include <vector>

namespace coreplay {

namespace {

using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
using error_code = boost::system::error_code;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

// One connection, plain or TLS. Shared with the read that watches for the peer closing it.
struct connection final : pool_connection, std::enable_shared_from_this<connection> {
  connection(const asio::any_io_executor& ex, ssl::context* tls) {
    if (tls) secure.emplace(ex, *tls);
    else plain.emplace(ex);
  }
  tcp::socket& lowest() { return secure ? secure->next_layer() : *plain; }
  void close() override {
    error_code ignored;
    lowest().close(ignored);
  }
  bool broken() const override { return is_broken; }

  asio::awaitable<error_code> write(const std::vector<message_ptr>& batch) override {
    bufs.clear();
    for (auto& m : batch) {
      bufs.push_back(asio::buffer(m->record()));
      bufs.push_back(asio::buffer(gor_separator));
    }
    auto self = shared_from_this();  // the write keeps its stream alive
    auto [ec, n] = secure ? co_await asio::async_write(*secure, bufs, tuple_awaitable)
                          : co_await asio::async_write(*plain, bufs, tuple_awaitable);
    co_return ec;
  }

  asio::awaitable<void> finish() override {
    error_code ignored;
    lowest().shutdown(tcp::socket::shutdown_send, ignored);
    close();
    co_return;
  }

  // A gor receiver never writes: a read on the connection only ends when the peer closes it
  // (or sends something, which is ignored). So a closed connection is noticed before a write is lost.
  void watch_for_close() {
    auto on_read = [self = shared_from_this()](error_code ec, std::size_t) {
      if (!ec) return self->watch_for_close();
      self->is_broken = true;
      self->close();
    };
    if (secure) secure->async_read_some(asio::buffer(probe), std::move(on_read));
    else plain->async_read_some(asio::buffer(probe), std::move(on_read));
  }

  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> secure;
  bool is_broken = false;  // the peer closed it, or a write failed
  bool timed_out = false;  // the dial's deadline closed it
  std::array<char, 64> probe{};
  std::vector<asio::const_buffer> bufs;
};


class tcp_transport final : public pool_transport {
 public:
  tcp_transport(asio::any_io_executor ex, std::string host, std::string port, const tcp_output_options& o)
      : ex_(std::move(ex)), host_(std::move(host)), port_(std::move(port)), opts_(o) {
    if (opts_.secure) configure_client_tls(tls_.emplace(ssl::context::tls_client), opts_.skip_verify);
  }

  // A connected (and, with TLS, handshaken) stream, or nullptr with the reason in `why`.
  asio::awaitable<std::shared_ptr<pool_connection>> dial(std::string& why) override {
    auto c = std::make_shared<connection>(ex_, tls_ ? &*tls_ : nullptr);
    asio::steady_timer deadline(ex_);
    deadline.expires_after(opts_.connect_timeout);
    deadline.async_wait([c](error_code ec) {
      if (ec) return;
      c->timed_out = true;
      c->close();
    });
    tcp::resolver resolver(ex_);
    auto [rec, endpoints] = co_await resolver.async_resolve(host_, port_, tuple_awaitable);
    if (rec) {
      why = "cannot resolve '" + host_ + "': " + rec.message();
      co_return nullptr;
    }
    auto [cec, ep] = co_await asio::async_connect(c->lowest(), endpoints, tuple_awaitable);
    if (cec) {
      why = "cannot connect: " + std::string(c->timed_out ? "timed out" : cec.message());
      co_return nullptr;
    }
    error_code ignored;
    c->lowest().set_option(tcp::no_delay(true), ignored);
    if (c->secure) {
      if (!opts_.skip_verify) c->secure->set_verify_callback(ssl::host_name_verification(host_));
      if (!is_ip_literal(host_)) SSL_set_tlsext_host_name(c->secure->native_handle(), host_.c_str());
      auto [hec] = co_await c->secure->async_handshake(ssl::stream_base::client, tuple_awaitable);
      if (hec) {
        why = "TLS handshake failed: " + std::string(c->timed_out ? "timed out" : describe_error(hec));
        co_return nullptr;
      }
    }
    deadline.cancel();
    c->watch_for_close();
    co_return c;
  }

 private:
  asio::any_io_executor ex_;
  std::string host_, port_;
  tcp_output_options opts_;
  std::optional<ssl::context> tls_;
};

}  // namespace

option_group<tcp_output_options> tcp_output_option_group() {
  option_group<tcp_output_options> g("TCP output");
  using o = tcp_output_options;
  g.add("output-tcp-secure", &o::secure, "Connect with TLS")
      .add("output-tcp-skip-verify", &o::skip_verify, "Do not verify the receiver's TLS certificate")
      .add("output-tcp-sticky", &o::sticky, "Keep each message id on one connection (FNV-1a hash)")
      .add("output-tcp-workers", &o::workers, "Connections per TCP output, each buffering 100 messages")
      .add("output-tcp-stats", &o::stats, "Log gor's output_tcp queue line (latest,mean,max,count,count/second,workers) every 5s");
  return g;
}

void add_tcp_output(registry& r) {
  r.add_output("output-tcp", "Send messages to another coreplay/gor instance (--input-tcp): host:port",
               tcp_output_option_group(),
               [](const std::string& address, const tcp_output_options& o, rate_limit&, std::size_t&,
                  const raw_options& raw) {
                 auto opts = o;
                 opts.end_timeout = core_option_group().parse(raw).drain_timeout;
                 return std::make_unique<tcp_output>(address, std::move(opts));
               });
}

tcp_output::tcp_output(std::string address, tcp_output_options options)
    : address_(std::move(address)), options_(std::move(options)) {
  if (options_.workers < 1)
    throw option_error("--output-tcp-workers: must be at least 1 (got " + std::to_string(options_.workers) + ")");
  auto hp = split_host_port(address_);
  if (!hp || hp->port.empty())
    throw option_error("--output-tcp '" + address_ + "': expected host:port");
  host_ = hp->host.empty() ? "localhost" : hp->host;
  port_ = hp->port;
}

tcp_output::~tcp_output() = default;

asio::awaitable<void> tcp_output::run(message_reader in) {
  auto ex = co_await asio::this_coro::executor;
  co_await run_worker_pool(in, std::make_shared<tcp_transport>(ex, host_, port_, options_),
                           pool_options(options_, "output-tcp(" + address_ + ")", "output_tcp"));
}

}  // namespace coreplay
