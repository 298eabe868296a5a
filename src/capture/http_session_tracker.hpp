// Both directions of every TCP connection: packets in, paired gor messages out.
#pragma once

#include "capture/capture_options.hpp"
#include "capture/http_framer.hpp"
#include "capture/packet_decoder.hpp"
#include "core/small_fifo.hpp"
#include "capture/tcp_reassembler.hpp"

#include <coreplay/message.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace coreplay::capture {

struct capture_counters {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;         // captured bytes (feed_packet) or payload bytes (feed)
  std::uint64_t malformed = 0;     // frames the decoder refused
  std::uint64_t ignored = 0;       // not IP/TCP, fragments, ports not ours
  std::uint64_t truncated = 0;     // cut by the snap length (their messages end up incomplete)
  std::uint64_t messages = 0;      // emitted
  std::uint64_t requests = 0;      // emitted requests
  std::uint64_t responses = 0;     // emitted responses
  std::uint64_t incomplete = 0;    // flushed incomplete (dropped, or emitted with allow_incomplete)
  std::uint64_t evictions = 0;     // buffers or connections dropped by the memory caps
  std::uint64_t out_of_order = 0;  // segments held for a hole
  std::uint64_t retransmits = 0;   // segments with nothing new, or partly seen already
  std::uint64_t gaps = 0;          // holes given up on
  std::uint64_t skipped_bytes = 0;   // stream bytes outside any message (resync)
  std::uint64_t framing_errors = 0;  // messages that broke HTTP framing
  std::uint64_t unanswered = 0;      // requests whose response was never seen
};

// Keyed by the 4-tuple. Direction: a packet to a configured port is client → server; with no
// ports (or port 0), a SYN or the first HTTP start line decides. Requests and responses pair in
// order; a response whose first byte precedes what the oldest waiting request acknowledged
// cannot answer it and gets an id of its own.
//
// Ids: 24 hex = client port (4) server port (4) client IPv4 or last 4 bytes of IPv6 (8), then
// (the request's ACK + its index on the connection) (8): unique per request, shared by its
// responses. Timestamps are first-packet times; a response's latency is its first packet minus
// its request's. Time comes from the packets and from expire(now): no clock inside.
class http_session_tracker {
 public:
  explicit http_session_tracker(capture_options options);
  http_session_tracker(const http_session_tracker&) = delete;
  http_session_tracker& operator=(const http_session_tracker&) = delete;

  // Decodes one captured frame and tracks it; decode errors are counted. Inline: it runs for
  // every packet, and most of it is the two calls.
  void feed_packet(link_type link, std::span<const std::uint8_t> frame, std::uint32_t wire_length,
                   std::int64_t timestamp_ns) {
    ++counters_.packets;
    counters_.bytes += frame.size();
    // One segment reused for every packet: the decoder sets all of its fields on success, so
    // nothing needs clearing first (a fresh one cost a dozen stores per packet).
    if (link == link_type::ethernet && decode_plain_ipv4_frame(frame, scratch_)) {
      scratch_.timestamp_ns = timestamp_ns;
      track(scratch_);
      return;
    }
    const decode_error e = decode_packet(link, frame, wire_length, timestamp_ns, scratch_);
    if (e != decode_error::none) {
      ++(is_malformed(e) ? counters_.malformed : counters_.ignored);
      return;
    }
    if (scratch_.truncated) ++counters_.truncated;
    track(scratch_);
  }
  void feed(const tcp_segment& segment);
  // Flushes what has waited longer than options.expire, forgets idle connections.
  void expire(std::int64_t now_ns);
  // End of input: flushes everything in progress and forgets every connection.
  void flush_all(std::int64_t now_ns);

  // The next message, or nullptr.
  message_ptr next();
  // Messages may instead be handed to `take` as they are made: it returns true when it took
  // the message, false to leave it for next() (then the ones after it wait too, in order).
  using message_taker = bool (*)(void* context, message_ptr& m);
  void set_taker(message_taker take, void* context) noexcept {
    take_ = take;
    take_context_ = context;
  }

  const capture_counters& counters() const noexcept { return counters_; }
  std::size_t connections() const noexcept { return table_.size(); }
  std::size_t buffered_bytes() const noexcept { return total_bytes_; }
  const capture_options& options() const noexcept { return options_; }

 private:
  struct connection_key {
    ip_address a_ip;
    ip_address b_ip;
    std::uint16_t a_port = 0;
    std::uint16_t b_port = 0;
    // Word at a time: every packet compares its key with the previous packet's connection.
    friend bool operator==(const connection_key& x, const connection_key& y) noexcept {
      std::uint64_t a[4], b[4];
      std::memcpy(a, x.a_ip.bytes.data(), 16);
      std::memcpy(a + 2, x.b_ip.bytes.data(), 16);
      std::memcpy(b, y.a_ip.bytes.data(), 16);
      std::memcpy(b + 2, y.b_ip.bytes.data(), 16);
      return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0 && x.a_port == y.a_port &&
             x.b_port == y.b_port && x.a_ip.v6 == y.a_ip.v6 && x.b_ip.v6 == y.b_ip.v6;
    }
  };
  struct key_hash {
    std::size_t operator()(const connection_key& k) const noexcept;
  };
  struct connection;
  // The framer reports to its direction, which knows its connection and side.
  // Fields in the order a packet touches them: what every packet reads first, the framer last,
  // so a connection whose state left the cache costs few lines to bring back.
  struct direction final : http_event_listener {
    http_session_tracker* tracker = nullptr;
    connection* conn = nullptr;
    int side = 0;
    bool fin = false;
    std::int64_t last_timestamp_ns = 0;
    std::uint64_t counted_skipped = 0;  // framer counters already added to counters_
    std::uint64_t counted_errors = 0;
    void on_start(const http_message_info& info) override;
    void on_end(const http_message_info& info, std::string_view bytes) override;

    tcp_reassembler reassembler;
    http_framer framer;
  };
  struct waiting_request {
    std::uint32_t id_low = 0;
    std::uint32_t ack = 0;
    std::int64_t first_timestamp_ns = 0;
  };
  struct connection {
    connection_key key;
    int client = -1;   // index of the direction carrying requests; -1 while unknown
    bool settled = false;  // in settled_ (nothing in progress) rather than active_
    bool response_paired = false;  // the response in progress has a request
    std::int64_t last_timestamp_ns = 0;
    connection* lru_prev = nullptr;  // neighbours in active_ or settled_
    connection* lru_next = nullptr;
    std::size_t accounted = 0;
    waiting_request response_request;
    small_fifo<waiting_request> waiting;
    char id_prefix[16];       // ids' client port, server port, client address (make_id)
    int id_prefix_side = -1;  // the client side id_prefix was written for
    direction dir[2];  // dir[0] carries bytes from a to b
  };

  void track(const tcp_segment& s);
  void set_client(connection& c, int side);
  // In-order bytes from `side` arrived: under the binary protocol the other side's message ends.
  void end_other_turn(connection& c, int side);
  void pump(connection& c, int side);
  // Adds what the framer counted (skipped bytes, framing errors) since the last call.
  void drain(connection& c, int side);
  void on_start(connection& c, int side, const http_message_info& info);
  void on_end(connection& c, int side, const http_message_info& info, std::string_view bytes);
  void flush_connection(connection& c);
  void account(connection& c);
  void remove(connection& c);
  void touch(connection& c);
  // 24 hex characters, built on the stack: one id per message must not allocate.
  struct message_id {
    char text[24];
    std::string_view view() const noexcept { return {text, sizeof text}; }
  };
  message_id make_id(connection& c, int side, std::uint32_t low) const;
  bool is_server_port(std::uint16_t port) const noexcept;

  capture_options options_;
  tcp_segment scratch_;  // feed_packet's decoded segment
  bool all_ports_ = false;
  std::int64_t expire_ns_ = 0;
  std::unordered_map<connection_key, connection, key_hash> table_;
  connection* last_ = nullptr;  // the connection of the previous packet
  // Connections in order of their last packet, oldest first: linked through the connections
  // themselves, so moving one to the back touches no separate list node.
  struct lru_list {
    connection* head = nullptr;
    connection* tail = nullptr;
    bool empty() const noexcept { return head == nullptr; }
    connection* front() const noexcept { return head; }
    void push_back(connection* c) noexcept {
      c->lru_prev = tail;
      c->lru_next = nullptr;
      (tail ? tail->lru_next : head) = c;
      tail = c;
    }
    void erase(connection* c) noexcept {
      (c->lru_prev ? c->lru_prev->lru_next : head) = c->lru_next;
      (c->lru_next ? c->lru_next->lru_prev : tail) = c->lru_prev;
      c->lru_prev = c->lru_next = nullptr;
    }
    void move_to_back(connection* c) noexcept {
      if (tail == c) return;
      erase(c);
      push_back(c);
    }
  };
  lru_list active_;   // by last packet, oldest first
  lru_list settled_;  // flushed, kept only to pair late responses
  void emit(message_ptr m) {
    if (take_ && out_.empty() && take_(take_context_, m)) return;
    out_.push_back(std::move(m));
  }

  small_fifo<message_ptr> out_;
  message_taker take_ = nullptr;
  void* take_context_ = nullptr;
  std::size_t total_bytes_ = 0;
  capture_counters counters_;
};

// `name: value` on a request: replaces the value of the first header of that name
// (case-insensitive), else inserts the header right after the request line (gor's SetHeader).
std::string set_header(std::string_view message, std::string_view name, std::string_view value);

}  // namespace coreplay::capture
