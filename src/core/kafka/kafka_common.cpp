#include "core/kafka/kafka_common.hpp"

#include "core/http/http_view.hpp"
#include "core/log.hpp"
#include "core/options.hpp"
#include "outputs/http/elasticsearch_document.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
// Boost.JSON header-only: compiled here, in this one file only.
#include <boost/json/src.hpp>

#include <librdkafka/rdkafka.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>

namespace coreplay::kafka {

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string("kafka setting ") + name + ": " + err);
}

void validate(const sasl_options& sasl, const tls_options& tls, std::string_view prefix) {
  if (!tls.client_cert.empty() && tls.client_key.empty())
    throw option_error("--kafka-tls-client-cert '" + tls.client_cert + "' needs --kafka-tls-client-key");
  if (tls.client_cert.empty() && !tls.client_key.empty())
    throw option_error("--kafka-tls-client-key '" + tls.client_key + "' needs --kafka-tls-client-cert");
  for (const std::string* f : {&tls.ca_cert, &tls.client_cert, &tls.client_key})
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0)
      throw option_error("cannot read Kafka TLS file '" + *f + "': " + std::strerror(errno));
  if (sasl.use_sasl) {
    const std::string& m = sasl.mechanism;
    if (m != "PLAIN" && m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512")
      throw option_error("--" + std::string(prefix) + "-mechanism '" + m +
                         "': expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512");
  }
}

rd_kafka_conf_t* make_conf(const std::string& brokers, const sasl_options& sasl, const tls_options& tls) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  try {
    set(conf, "bootstrap.servers", brokers);
    const bool use_tls = tls.enabled();
    if (sasl.use_sasl) {
      set(conf, "security.protocol", use_tls ? "sasl_ssl" : "sasl_plaintext");
      set(conf, "sasl.mechanism", sasl.mechanism);
      set(conf, "sasl.username", sasl.username);
      set(conf, "sasl.password", sasl.password);
    } else if (use_tls) {
      set(conf, "security.protocol", "ssl");
    }
    if (!tls.ca_cert.empty()) set(conf, "ssl.ca.location", tls.ca_cert);
    if (!tls.client_cert.empty()) set(conf, "ssl.certificate.location", tls.client_cert);
    if (!tls.client_key.empty()) set(conf, "ssl.key.location", tls.client_key);
    route_logs(conf);
  } catch (const std::runtime_error& e) {
    rd_kafka_conf_destroy(conf);
    throw option_error(e.what());
  }
  return conf;
}

void route_logs(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    // librdkafka's levels are syslog's: 3 error, 4 warning, 6 info, 7 debug.
    log::at(level <= 4 ? 2 : 3, "kafka ", rd_kafka_name(rk), " ", fac, ": ", buf);
  });
}

// --- event_pipe ------------------------------------------------------------------------------

struct event_pipe::impl {
  impl(const asio::any_io_executor& ex) : desc(ex), timer(ex) {}
  asio::posix::stream_descriptor desc;
  asio::steady_timer timer;
  int write_fd = -1;
};

event_pipe::event_pipe(const asio::any_io_executor& ex) : impl_(std::make_unique<impl>(ex)) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("kafka: cannot create a pipe: ") + std::strerror(errno));
  impl_->desc.assign(fds[0]);
  impl_->write_fd = fds[1];
}

event_pipe::~event_pipe() {
  if (impl_->write_fd >= 0) ::close(impl_->write_fd);
}

void event_pipe::attach(rd_kafka_queue_t* q) {
  static const char one = '1';
  rd_kafka_queue_io_event_enable(q, impl_->write_fd, &one, 1);
}

asio::awaitable<void> event_pipe::wait(std::chrono::nanoseconds max_wait) {
  using namespace asio::experimental::awaitable_operators;
  impl_->timer.expires_after(max_wait);
  try {
    co_await (impl_->desc.async_wait(asio::posix::stream_descriptor::wait_read, asio::use_awaitable) ||
              impl_->timer.async_wait(asio::use_awaitable));
  } catch (const asio::multiple_exceptions& e) {
    std::rethrow_exception(e.first_exception());
  }
  char buf[256];
  while (::read(impl_->desc.native_handle(), buf, sizeof buf) > 0) {
  }
}

void event_pipe::cancel() {
  impl_->desc.cancel();
  impl_->timer.cancel();
}

// --- JSON ------------------------------------------------------------------------------------

namespace {

// Go's encoding/json string: append_json_string's escaping plus the HTML-safe escapes.
void append_go_json_string(std::string& out, std::string_view s) {
  std::string tmp;
  http_replay::append_json_string(tmp, s);
  for (std::size_t i = 0; i < tmp.size(); ++i) {
    char c = tmp[i];
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else if (c == '\xE2' && i + 2 < tmp.size() && tmp[i + 1] == '\x80' && (tmp[i + 2] == '\xA8' || tmp[i + 2] == '\xA9')) {
      out += tmp[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
}

// Go's textproto.CanonicalMIMEHeaderKey: names with bytes other than letters, digits and
// '-' are kept as written.
std::string canonical_header(std::string_view name) {
  std::string s(name);
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return s;
  bool upper = true;
  for (char& c : s) {
    c = upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
              : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return s;
}

void field(std::string& out, const char* name, std::string_view value) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += name;
  out += "\":";
  append_go_json_string(out, value);
}

}  // namespace

std::string to_json(const message& m) {
  // The meta line's first three fields, as strings.
  std::string_view meta = m.meta();
  if (!meta.empty() && meta.back() == '\n') meta.remove_suffix(1);
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    auto sp = meta.find(' ');
    parts[i] = meta.substr(0, sp);
    meta = sp == std::string_view::npos ? std::string_view{} : meta.substr(sp + 1);
  }

  std::string_view payload = m.payload();
  http::http_view view(payload);
  std::string_view url, method, body;
  std::map<std::string, std::string> headers;  // sorted, as Go marshals maps
  bool parsed = view.has_start_line();
  if (view.request()) {
    url = view.request()->target;
    method = view.request()->method;
  } else {
    // A response (method "HTTP/1.1", as gor) or a start line gor's parser refuses: the first word.
    method = payload.substr(0, std::min(payload.find(' '), payload.find_first_of("\r\n")));
  }
  if (parsed) {
    view.for_each_header([&](const http::header_field& h) {
      auto key = canonical_header(h.name);
      auto [it, fresh] = headers.emplace(key, std::string(h.value));
      if (!fresh) it->second.append(", ").append(h.value);
      return true;
    });
    body = view.body();
  }

  std::string out = "{";
  field(out, "Req_URL", url);
  field(out, "Req_Type", parts[0]);
  field(out, "Req_ID", parts[1]);
  field(out, "Req_Ts", parts[2]);
  field(out, "Req_Method", method);
  if (!body.empty()) field(out, "Req_Body", body);
  if (!headers.empty()) {
    out += ",\"Req_Headers\":{";
    bool first = true;
    for (auto& [k, v] : headers) {
      if (!first) out += ',';
      first = false;
      append_go_json_string(out, k);
      out += ':';
      append_go_json_string(out, v);
    }
    out += '}';
  }
  out += '}';
  return out;
}

std::optional<std::string> record_from_json(std::string_view json, std::string& error) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec);
  if (ec) {
    error = "invalid JSON: " + ec.message();
    return std::nullopt;
  }
  const auto* obj = v.if_object();
  if (!obj) {
    error = "the JSON is not an object";
    return std::nullopt;
  }
  auto str = [&](const char* key, std::string_view& out) {
    auto it = obj->find(key);
    if (it == obj->end() || it->value().is_null()) return true;
    auto* s = it->value().if_string();
    if (!s) {
      error = std::string(key) + " is not a string";
      return false;
    }
    out = std::string_view(s->data(), s->size());
    return true;
  };
  std::string_view url, type, id, ts, method, body;
  if (!str("Req_URL", url) || !str("Req_Type", type) || !str("Req_ID", id) || !str("Req_Ts", ts) ||
      !str("Req_Method", method) || !str("Req_Body", body))
    return std::nullopt;
  std::string rec;
  rec.reserve(json.size());
  rec.append(type).append(" ").append(id).append(" ").append(ts).append("\n");
  rec.append(method).append(" ").append(url).append(" HTTP/1.1\r\n");
  if (auto it = obj->find("Req_Headers"); it != obj->end() && !it->value().is_null()) {
    auto* h = it->value().if_object();
    if (!h) {
      error = "Req_Headers is not an object";
      return std::nullopt;
    }
    for (auto& kv : *h) {
      auto* s = kv.value().if_string();
      if (!s) {
        error = "Req_Headers." + std::string(kv.key()) + " is not a string";
        return std::nullopt;
      }
      rec.append(kv.key().data(), kv.key().size()).append(": ").append(s->data(), s->size()).append("\r\n");
    }
  }
  rec.append("\r\n").append(body);
  return rec;
}

}  // namespace coreplay::kafka
