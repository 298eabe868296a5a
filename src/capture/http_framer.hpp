// HTTP/1.x message boundaries in one direction's contiguous byte stream.
#pragma once

#include "capture/capture_options.hpp"
#include "core/small_fifo.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay::capture {

enum class http_role : std::uint8_t {
  unknown,   // either start line is accepted (port 0: the start line tells the direction)
  request,   // client → server
  response,  // server → client
};

// What a request means for the framing of its response.
enum class request_kind : std::uint8_t { normal, head, connect };

// Where the bytes handed to feed() come from.
struct stream_position {
  std::int64_t timestamp_ns = 0;
  std::uint32_t seq = 0;  // sequence number of the first byte
  std::uint32_t ack = 0;  // ACK of the segment that carried it
};

struct http_message_info {
  std::uint64_t index = 0;  // messages started in this direction before this one
  bool is_request = false;
  request_kind kind = request_kind::normal;  // requests
  int status = 0;                            // responses
  std::int64_t first_timestamp_ns = 0;
  std::int64_t last_timestamp_ns = 0;
  std::uint32_t first_seq = 0;
  std::uint32_t first_ack = 0;
  bool complete = false;  // ended where the HTTP framing rules say, with no byte missing
  bool damaged = false;   // bytes missing inside (a gap), or ended early
};

struct http_event {
  enum class kind : std::uint8_t {
    start,  // a start line was recognised; bytes empty
    end,    // the message is over (complete or not); bytes hold it
  };
  kind what = kind::start;
  http_message_info info;
  std::string bytes;
  // Instead of bytes, after feed_borrowed(): the message inside the bytes given to that call.
  std::string_view borrowed;

  std::string_view data() const noexcept { return bytes.empty() ? borrowed : std::string_view(bytes); }
};

// Receives a framer's events as they happen (instead of queueing them for next()). The info
// and bytes are valid during the call only; the listener must not feed the framer that calls.
class http_event_listener {
 public:
  virtual void on_start(const http_message_info& info) = 0;
  virtual void on_end(const http_message_info& info, std::string_view bytes) = 0;

 protected:
  ~http_event_listener() = default;
};

// Sans-I/O: feed() bytes in stream order, gap() where bytes are missing, close() at FIN/RST,
// flush() on expiry; read events with next(). Start lines and header terminators may be split
// anywhere. A stream that starts mid-message (no SYN seen, or after a gap) is skipped up to the
// first line that is a request or status line; the start of each feed() and of the stream count
// as line starts, because segment boundaries usually are message boundaries.
class http_framer {
 public:
  explicit http_framer(http_role role = http_role::unknown,
                       capture_protocol protocol = capture_protocol::http) noexcept
      : role_(role), protocol_(protocol) {}

  void feed(std::string_view data, const stream_position& pos);
  // As feed(), but an end event whose message lies wholly inside `data` refers to it
  // (http_event::borrowed) instead of owning a copy: read the events before `data` goes away.
  void feed_borrowed(std::string_view data, const stream_position& pos);
  // `bytes` are missing before the next feed(). A Content-Length body survives (the message
  // is marked damaged); elsewhere the message in progress ends incomplete and framing resyncs.
  void gap(std::uint64_t bytes);
  // FIN or RST: ends a close-delimited body (complete) and anything else in progress (incomplete).
  void close();
  // Expiry: the message in progress ends as it is (complete only for the binary protocol).
  void flush();
  // Drops the message in progress without an event (eviction).
  void drop_message();

  // Events go to `l` from now on (nullptr: queued for next()/consume_events()).
  void set_listener(http_event_listener* l) noexcept { listener_ = l; }

  std::optional<http_event> next();
  // Calls f(http_event&) for every pending event in order, without moving them out; f must
  // not feed this framer.
  template <class F>
  void consume_events(F&& f) {
    while (events_head_ < events_.size()) f(events_[events_head_++]);
    events_.clear();
    events_head_ = 0;
  }

  bool in_message() const noexcept { return state_ != state::seek || msg_size() != 0; }
  std::size_t buffered_bytes() const noexcept { return msg_.capacity(); }
  http_role role() const noexcept { return role_; }
  void set_role(http_role r) noexcept { role_ = r; }
  // Response side: the next final response answers a request of this kind (HEAD has no body).
  // Bounded: with only the requests captured, no response ever takes them off.
  void expect_response_to(request_kind k) {
    if (expected_.size() == 1024) expected_.pop_front();
    expected_.push_back(k);
  }

  std::uint64_t skipped_bytes() const noexcept { return skipped_; }
  std::uint64_t framing_errors() const noexcept { return framing_errors_; }

 private:
  enum class state : std::uint8_t {
    seek,         // between messages, or looking for a start line
    start_line,   // collecting a start line candidate
    headers,
    body_length,  // Content-Length bytes left in remaining_
    chunk_size,
    chunk_ext,
    chunk_size_lf,
    chunk_data,
    chunk_data_end,  // after a chunk's data: CRLF (or a bare LF)
    chunk_data_lf,   // after that CR: LF
    trailer_line_start,
    trailer_line,
    trailer_end,
    body_close,  // until FIN/RST
    binary,
  };

  void scan(std::string_view data, const stream_position& pos);
  void append(std::string_view piece);
  void keep_borrowed();
  void clear_message();
  std::string_view msg() const noexcept {
    return borrowing_ ? data_.substr(borrow_off_, borrow_len_) : std::string_view(msg_);
  }
  std::size_t msg_size() const noexcept { return borrowing_ ? borrow_len_ : msg_.size(); }
  void begin(const stream_position& pos, std::size_t offset);
  bool whole_header(std::string_view data, std::size_t& i);
  bool accept_whole_header(std::string_view start_line, int kind, std::size_t length, std::size_t& i);
  // 1: a request line (and this side may send requests), 2: a status line, 0: neither.
  int start_line_kind(std::string_view line) const noexcept;
  bool accept_start_line(std::string_view line);
  void accept_start_line_of(std::string_view line, bool request);
  void reject_start_line(bool at_line_end);
  // A header line that may_frame() (see the .cpp): notes Content-Length, Transfer-Encoding, Expect.
  void header_line(std::string_view line);
  void end_headers();
  void end_chunk_size_line();
  void reserve_body();
  void emit_start();
  void finish(bool complete);
  void fail();
  void tunnel();
  bool body_state() const noexcept;
  bool expect_without_body() const noexcept;

  http_role role_;
  capture_protocol protocol_;
  http_event_listener* listener_ = nullptr;
  state state_ = state::seek;
  bool at_line_start_ = true;  // in seek: the next byte starts a line
  bool synced_ = false;        // the next byte must start a message
  std::string msg_;
  // During a feed: the message so far is data_[borrow_off_, +borrow_len_) when borrowing_.
  std::string_view data_;
  std::size_t borrow_off_ = 0;
  std::size_t borrow_len_ = 0;
  bool borrowing_ = false;
  bool lend_ = false;  // feed_borrowed(): end events may refer to data_
  std::size_t line_start_ = 0;   // header lines: start of the current line in msg_
  std::size_t header_end_ = 0;
  std::uint64_t remaining_ = 0;  // Content-Length or chunk bytes left
  std::uint64_t chunk_size_ = 0;
  int chunk_digits_ = 0;
  // Headers of the message in progress.
  std::optional<std::uint64_t> content_length_;
  bool bad_content_length_ = false;
  bool has_transfer_encoding_ = false;
  bool chunked_ = false;
  bool expect_continue_ = false;
  http_message_info info_;
  std::uint64_t index_ = 0;
  small_fifo<request_kind> expected_;
  // Drained after every feed, so a vector read from events_head_ stays a few slots long and
  // allocates nothing once warm (a deque of these large events allocated every few events).
  std::vector<http_event> events_;
  std::size_t events_head_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t framing_errors_ = 0;
};

// Request line: token SP target SP HTTP/1.0|1.1, then CR LF or LF (not included in `line`).
bool is_request_line(std::string_view line) noexcept;
// Status line: HTTP/1.0|1.1 SP 3DIGIT [SP reason], reason possibly empty.
bool is_status_line(std::string_view line) noexcept;

}  // namespace coreplay::capture
