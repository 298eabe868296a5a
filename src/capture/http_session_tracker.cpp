#include "capture/http_session_tracker.hpp"

#include "core/log.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace coreplay::capture {

namespace {

// What a connection costs besides its buffers (table node, two reassemblers and framers).
constexpr std::size_t connection_overhead = 1024;

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Two hex digits per table entry: ids are built for every captured message.
constexpr auto hex_pairs = [] {
  constexpr char hex[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (int b = 0; b < 256; ++b) {
    t[2 * b] = hex[b >> 4];
    t[2 * b + 1] = hex[b & 0xf];
  }
  return t;
}();

// `digits` is even.
char* put_hex(char* out, std::uint64_t v, int digits) noexcept {
  for (int i = digits - 2; i >= 0; i -= 2) {
    std::memcpy(out, &hex_pairs[2 * ((v >> (i * 4)) & 0xff)], 2);
    out += 2;
  }
  return out;
}

// Any total order will do (it only names the sides): eight bytes at a time.
bool endpoint_less(const ip_address& ai, std::uint16_t ap, const ip_address& bi, std::uint16_t bp) {
  std::uint64_t a[2], b[2];
  std::memcpy(a, ai.bytes.data(), 16);
  std::memcpy(b, bi.bytes.data(), 16);
  if (a[1] != b[1]) return a[1] < b[1];
  if (a[0] != b[0]) return a[0] < b[0];
  return ap < bp;
}

}  // namespace

std::string set_header(std::string_view message, std::string_view name, std::string_view value) {
  std::string out;
  auto first_eol = message.find('\n');
  if (first_eol == std::string_view::npos) return std::string(message);  // no request line end
  std::size_t pos = first_eol + 1;
  while (pos < message.size()) {
    auto eol = message.find('\n', pos);
    if (eol == std::string_view::npos) break;
    std::string_view line = message.substr(pos, eol - pos);
    if (line.empty() || line == "\r") break;  // end of headers
    auto colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
      std::size_t value_end = pos + line.size() - (line.back() == '\r' ? 1 : 0);
      out.reserve(message.size() + value.size() + 2);
      out.append(message.substr(0, pos + colon + 1));
      out.push_back(' ');
      out.append(value);
      out.append(message.substr(value_end));
      return out;
    }
    pos = eol + 1;
  }
  out.reserve(message.size() + name.size() + value.size() + 4);
  out.append(message.substr(0, first_eol + 1));
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
  out.append(message.substr(first_eol + 1));
  return out;
}

std::size_t http_session_tracker::key_hash::operator()(const connection_key& k) const noexcept {
  // Word at a time: this runs for every packet.
  auto word = [](const std::uint8_t* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  std::uint64_t h = (std::uint64_t(k.a_port) << 16 | k.b_port) * 0x9e3779b97f4a7c15ull;
  for (const std::uint8_t* p : {k.a_ip.bytes.data(), k.a_ip.bytes.data() + 8, k.b_ip.bytes.data(),
                                k.b_ip.bytes.data() + 8}) {
    h = (h ^ word(p)) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return static_cast<std::size_t>(h);
}

http_session_tracker::http_session_tracker(capture_options options) : options_(std::move(options)) {
  all_ports_ = options_.ports.empty() ||
               std::find(options_.ports.begin(), options_.ports.end(), 0) != options_.ports.end();
  expire_ns_ = options_.expire.count() > 0 ? options_.expire.count() : 1'000'000'000;
}

bool http_session_tracker::is_server_port(std::uint16_t port) const noexcept {
  if (options_.ports.size() == 1) return port == options_.ports.front();  // the usual --input-raw :PORT
  return std::find(options_.ports.begin(), options_.ports.end(), port) != options_.ports.end();
}

void http_session_tracker::feed(const tcp_segment& segment) {
  ++counters_.packets;
  counters_.bytes += segment.payload.size();
  track(segment);
}

void http_session_tracker::track(const tcp_segment& s) {
  bool to_server = all_ports_ || is_server_port(s.dst_port);
  bool from_server = all_ports_ || is_server_port(s.src_port);
  if (!to_server && !from_server) {
    ++counters_.ignored;
    return;
  }
  const bool src_is_a = endpoint_less(s.src, s.src_port, s.dst, s.dst_port);
  connection_key key = src_is_a ? connection_key{s.src, s.dst, s.src_port, s.dst_port}
                                : connection_key{s.dst, s.src, s.dst_port, s.src_port};
  const int side = src_is_a ? 0 : 1;
  // Packets come in bursts per connection (a request, its response, the ACK): one remembered
  // entry saves most hash lookups.
  connection* found = nullptr;
  if (last_ && last_->key == key) {
    found = last_;
  } else if (auto it = table_.find(key); it != table_.end()) {
    found = &it->second;
  }
  if (found && s.has(tcp_flag::syn) && !s.has(tcp_flag::ack)) {
    // A new SYN on a known 4-tuple (port reuse) starts a new connection, unless it is the
    // retransmission of the one that started this one.
    const tcp_reassembler& r = found->dir[side].reassembler;
    if (r.started() && r.next_seq() != s.seq + 1) {
      connection& old = *found;
      flush_connection(old);
      counters_.unanswered += old.waiting.size();
      remove(old);
      found = nullptr;
    }
  }
  if (!found) {
    // Nothing to learn from a bare ACK/FIN/RST of a connection we never saw.
    if (s.payload.empty() && !s.has(tcp_flag::syn)) return;
    found = &table_.try_emplace(key).first->second;
    connection& c = *found;
    c.key = key;
    for (int i = 0; i < 2; ++i) {
      direction& d = c.dir[i];
      d.reassembler = tcp_reassembler(options_.max_connection_bytes);
      d.framer = http_framer(http_role::unknown, options_.protocol);
      d.tracker = this;
      d.conn = &c;  // table nodes do not move
      d.side = i;
      d.framer.set_listener(&d);
    }
    active_.push_back(&c);
    if (!all_ports_)
      set_client(c, is_server_port(s.dst_port) ? side : 1 - side);
  }
  last_ = found;
  connection& c = *found;
  if (c.client < 0 && s.has(tcp_flag::syn)) set_client(c, s.has(tcp_flag::ack) ? 1 - side : side);
  if (c.client < 0 && options_.protocol == capture_protocol::binary && !s.payload.empty())
    set_client(c, side);
  touch(c);
  c.last_timestamp_ns = s.timestamp_ns;
  direction& d = c.dir[side];
  d.last_timestamp_ns = s.timestamp_ns;
  // A bare ACK (a third of the packets of a keep-alive exchange) moves no stream: nothing to
  // reassemble, frame or account once the times are noted.
  if (s.payload.empty() && (s.flags & (tcp_flag::syn | tcp_flag::fin | tcp_flag::rst)) == 0) return;

  if (d.reassembler.take_in_order(s)) {
    // The segment is the stream's next bytes: straight to the framer (what feed(), then
    // pump() would do, without holding it as a chunk first).
    end_other_turn(c, side);
    const std::size_t buffered = d.framer.buffered_bytes();
    d.framer.feed_borrowed(s.payload, stream_position{s.timestamp_ns, s.seq, s.ack});
    drain(c, side);
    // Nothing is held by the reassemblers here: the memory in use changed only if the framer
    // kept more of a message (most segments carry whole messages, kept nowhere).
    if (d.framer.buffered_bytes() != buffered) account(c);
    return;
  }
  switch (d.reassembler.feed(s)) {
    case tcp_reassembler::feed_result::out_of_order:
      ++counters_.out_of_order;
      break;
    case tcp_reassembler::feed_result::overlap:
    case tcp_reassembler::feed_result::duplicate:
      ++counters_.retransmits;
      break;
    case tcp_reassembler::feed_result::evicted:
      ++counters_.evictions;
      break;
    case tcp_reassembler::feed_result::in_order:
      end_other_turn(c, side);
      break;
    case tcp_reassembler::feed_result::no_data:
      break;
  }
  pump(c, side);

  if (s.has(tcp_flag::rst)) {
    // An abort: whatever was held is all there will be.
    for (int i = 0; i < 2; ++i) {
      c.dir[i].reassembler.skip_gap();
      pump(c, i);
      c.dir[i].framer.close();
      drain(c, i);
    }
    remove(c);
    return;
  }
  if (c.dir[0].fin && c.dir[1].fin && !c.dir[0].reassembler.has_held() && !c.dir[1].reassembler.has_held()) {
    remove(c);
    return;
  }
  account(c);
}

[[gnu::always_inline]] inline void http_session_tracker::end_other_turn(connection& c, int side) {
  // Binary protocol: in-order bytes from one side end the other side's message (its turn is
  // over); HTTP messages end by their own framing.
  if (options_.protocol != capture_protocol::binary || !c.dir[1 - side].framer.in_message()) return;
  c.dir[1 - side].framer.flush();
  drain(c, 1 - side);
}

void http_session_tracker::set_client(connection& c, int side) {
  c.client = side;
  c.dir[side].framer.set_role(http_role::request);
  c.dir[1 - side].framer.set_role(http_role::response);
}

void http_session_tracker::pump(connection& c, int side) {
  direction& d = c.dir[side];
  while (auto ch = d.reassembler.next()) {
    if (ch->gap_before > 0) {
      ++counters_.gaps;
      d.framer.gap(ch->gap_before);
    }
    // The chunk's bytes live until the reassembler's next call: drain the events now.
    d.framer.feed_borrowed(ch->data, stream_position{ch->timestamp_ns, ch->seq, ch->ack});
    drain(c, side);
  }
  if (!d.fin && d.reassembler.fin_reached()) {
    d.fin = true;
    d.framer.close();
  }
  drain(c, side);
}

void http_session_tracker::drain(connection& c, int side) {
  direction& d = c.dir[side];
  counters_.skipped_bytes += d.framer.skipped_bytes() - d.counted_skipped;
  d.counted_skipped = d.framer.skipped_bytes();
  counters_.framing_errors += d.framer.framing_errors() - d.counted_errors;
  d.counted_errors = d.framer.framing_errors();
}

// The framer's events, straight into the tracker's handlers (one call, not two).
[[gnu::flatten]] void http_session_tracker::direction::on_start(const http_message_info& info) {
  tracker->on_start(*conn, side, info);
}
[[gnu::flatten]] void http_session_tracker::direction::on_end(const http_message_info& info, std::string_view bytes) {
  tracker->on_end(*conn, side, info, bytes);
}

void http_session_tracker::on_start(connection& c, int side, const http_message_info& info) {
  if (c.client < 0) set_client(c, info.is_request ? side : 1 - side);
  if (info.is_request) {
    c.waiting.push_back(waiting_request{info.first_ack + static_cast<std::uint32_t>(info.index),
                                        info.first_ack, info.first_timestamp_ns});
    // Requests nobody answers (one-way capture) must not pile up without bound.
    if (c.waiting.size() > 1024) {
      c.waiting.pop_front();
      ++counters_.unanswered;
    }
    c.dir[1 - side].framer.expect_response_to(info.kind);
    return;
  }
  // A response: it answers the oldest waiting request, unless its first byte comes before what
  // that request acknowledged (the request was never seen), and skipping requests whose
  // answers were lost (the next one already acknowledged past them).
  auto& w = c.waiting;
  const std::uint32_t seq = info.first_seq;
  while (w.size() >= 2 && seq_before(w[0].ack, w[1].ack) && seq_before_or_equal(w[1].ack, seq)) {
    w.pop_front();
    ++counters_.unanswered;
  }
  c.response_paired = !w.empty() && seq_before_or_equal(w.front().ack, seq);
  if (c.response_paired) {
    c.response_request = w.front();
    const bool interim = options_.protocol == capture_protocol::http && info.status < 200;
    if (!interim) w.pop_front();
  }
}

void http_session_tracker::on_end(connection& c, int side, const http_message_info& info, std::string_view bytes) {
  const bool is_request = info.is_request;
  if (!info.complete) {
    ++counters_.incomplete;
    if (log::verbosity.load(std::memory_order_relaxed) >= 2) {
      const std::string_view b = bytes;
      log::at(2, "input-raw: incomplete ", is_request ? "request" : "response", " (", b.size(), " bytes, ",
              c.key.a_ip.to_string(), ":", c.key.a_port, " <-> ", c.key.b_ip.to_string(), ":", c.key.b_port,
              "): ", b.substr(0, std::min(b.find('\r'), std::size_t{120})),
              options_.allow_incomplete ? "" : "; dropped (--input-raw-allow-incomplete keeps it)");
    }
    if (!options_.allow_incomplete) return;
  }
  if (bytes.empty()) return;
  if (is_request) {
    const message_id id = make_id(c, side, info.first_ack + static_cast<std::uint32_t>(info.index));
    message_ptr m;
    if (!options_.realip_header.empty()) {
      const ip_address& client_ip = side == 0 ? c.key.a_ip : c.key.b_ip;
      std::string with = set_header(bytes, options_.realip_header, client_ip.to_string());
      m = message::make(message_type::request, id.view(), info.first_timestamp_ns, std::nullopt, with);
    } else {
      m = message::make(message_type::request, id.view(), info.first_timestamp_ns, std::nullopt, bytes);
    }
    emit(std::move(m));
    ++counters_.messages;
    ++counters_.requests;
    return;
  }
  if (!options_.track_response) return;
  message_id id;
  std::optional<std::int64_t> latency;
  if (c.response_paired) {
    id = make_id(c, 1 - side, c.response_request.id_low);
    latency = info.first_timestamp_ns - c.response_request.first_timestamp_ns;
  } else {
    id = make_id(c, 1 - side, info.first_seq);
  }
  emit(message::make(message_type::response, id.view(), info.first_timestamp_ns, latency, bytes));
  ++counters_.messages;
  ++counters_.responses;
}

http_session_tracker::message_id http_session_tracker::make_id(connection& c, int client_side, std::uint32_t low) const {
  // client_side: the direction whose sender is the client. The first 16 characters are the
  // same for every message of the connection: written once.
  if (c.id_prefix_side != client_side) {
    const ip_address& client_ip = client_side == 0 ? c.key.a_ip : c.key.b_ip;
    std::uint16_t client_port = client_side == 0 ? c.key.a_port : c.key.b_port;
    std::uint16_t server_port = client_side == 0 ? c.key.b_port : c.key.a_port;
    char* p = put_hex(c.id_prefix, client_port, 4);
    p = put_hex(p, server_port, 4);
    put_hex(p, client_ip.last4(), 8);
    c.id_prefix_side = client_side;
  }
  message_id id;
  std::uint64_t prefix[2];  // two word moves (a byte-wise copy was what the compiler chose)
  std::memcpy(prefix, c.id_prefix, sizeof prefix);
  std::memcpy(id.text, prefix, sizeof prefix);
  put_hex(id.text + sizeof c.id_prefix, low, 8);
  return id;
}

void http_session_tracker::flush_connection(connection& c) {
  for (int i = 0; i < 2; ++i) {
    direction& d = c.dir[i];
    if (d.reassembler.has_held()) {
      d.reassembler.skip_gap();
      pump(c, i);
    }
    if (d.framer.in_message()) {
      d.framer.flush();
      drain(c, i);
    }
  }
}

void http_session_tracker::expire(std::int64_t now_ns) {
  const std::int64_t cutoff = now_ns - expire_ns_;
  while (!active_.empty() && active_.front()->last_timestamp_ns <= cutoff) {
    connection& c = *active_.front();
    flush_connection(c);
    active_.erase(&c);
    settled_.push_back(&c);
    c.settled = true;
    account(c);
  }
  const std::int64_t idle_cutoff = now_ns - std::max<std::int64_t>(options_.connection_idle_timeout.count(), expire_ns_);
  while (!settled_.empty() && settled_.front()->last_timestamp_ns <= idle_cutoff) {
    connection& c = *settled_.front();
    counters_.unanswered += c.waiting.size();
    remove(c);
  }
}

void http_session_tracker::flush_all(std::int64_t now_ns) {
  (void)now_ns;
  while (!active_.empty()) {
    connection& c = *active_.front();
    flush_connection(c);
    counters_.unanswered += c.waiting.size();
    remove(c);
  }
  while (!settled_.empty()) {
    connection& c = *settled_.front();
    counters_.unanswered += c.waiting.size();
    remove(c);
  }
}

void http_session_tracker::touch(connection& c) {
  if (c.settled) {
    settled_.erase(&c);
    c.settled = false;
    active_.push_back(&c);
  } else {
    active_.move_to_back(&c);  // most packets follow one of the same connection: nothing to do
  }
}

void http_session_tracker::account(connection& c) {
  auto usage = [&c] {
    std::size_t u = connection_overhead;
    for (auto& d : c.dir) u += d.reassembler.held_bytes() + d.framer.buffered_bytes();
    return u;
  };
  std::size_t u = usage();
  if (u > options_.max_connection_bytes) {
    for (auto& d : c.dir) {
      if (d.reassembler.has_held() || d.framer.in_message()) ++counters_.evictions;
      d.reassembler.clear();
      d.framer.drop_message();
    }
    c.response_paired = false;
    u = usage();
  }
  total_bytes_ = total_bytes_ + u - c.accounted;
  c.accounted = u;
  // Over the total: the least recently active connections go first, this one last.
  while (total_bytes_ > options_.max_total_bytes) {
    connection* victim = nullptr;
    if (!settled_.empty() && settled_.front() != &c)
      victim = settled_.front();
    else if (!active_.empty() && active_.front() != &c)
      victim = active_.front();
    if (!victim) break;
    ++counters_.evictions;
    remove(*victim);
  }
}

void http_session_tracker::remove(connection& c) {
  total_bytes_ -= c.accounted;
  if (c.settled)
    settled_.erase(&c);
  else
    active_.erase(&c);
  if (last_ == &c) last_ = nullptr;
  connection_key key = c.key;  // c dies inside erase
  table_.erase(key);
}

message_ptr http_session_tracker::next() {
  if (out_.empty()) return nullptr;
  message_ptr m = std::move(out_.front());
  out_.pop_front();
  return m;
}

}  // namespace coreplay::capture
