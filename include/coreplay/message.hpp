// A captured or replayed HTTP message: gor's meta line plus the payload, immutable and shared.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace coreplay {

// The first byte of gor's meta line.
enum class message_type : char {
  request = '1',
  response = '2',            // original response, captured with the request
  replayed_response = '3',   // response of a replay target (--output-http-track-response)
};

class message;

// What a record's meta line says, as offsets into the record: parse() in two halves, so a reader
// thread can parse while another thread makes the messages (message::parse_view below).
struct message_meta {
  std::int64_t timestamp_ns = 0;
  std::optional<std::int64_t> latency_ns;
  std::uint32_t meta_len = 0;
  std::uint32_t payload_off = 0;
  std::uint32_t id_off = 0;
  std::uint32_t id_len = 0;
  message_type type{};  // the record's first byte: making the message need not read the record
};

// Messages cross plugins by pointer: fan-out to many outputs copies no payload bytes.
using message_ptr = std::shared_ptr<const message>;

// One record: `<type> <id> <timestamp-ns> [<latency-ns>] [extra fields...]\n<payload>`.
// The bytes are kept exactly as read or built, so writing a message back reproduces its record.
class message {
 public:
  // Parses one record (without the file separator). Returns nullptr when the meta line is
  // malformed: fewer than 3 space-separated fields, or a timestamp that is not an integer.
  static message_ptr parse(std::string record);
  // The same for a record inside a shared buffer (a file's read block): no copy; the message
  // keeps `owner` alive as long as it lives.
  static message_ptr parse_view(std::shared_ptr<const void> owner, std::string_view record);
  // The meta line alone: false when parse() would return nullptr. Touches nothing but `record`.
  static bool parse_meta(std::string_view record, message_meta& out) noexcept;
  // parse_view() of a record whose meta line parse_meta() has already read into `meta`, in a
  // read block. The block is taken by reference: converting it into a by-value owner built a
  // temporary per record, and moving that out stalled on store forwarding.
  static message_ptr parse_view(const std::shared_ptr<char[]>& block, std::string_view record,
                                const message_meta& meta);

  // Builds a record from its parts. latency_ns == nullopt writes gor's "-1".
  static message_ptr make(message_type type, std::string_view id, std::int64_t timestamp_ns,
                          std::optional<std::int64_t> latency_ns, std::string_view payload);

  // The same meta with a different payload (what modifiers produce).
  message_ptr with_payload(std::string_view payload) const;

  std::string_view record() const noexcept { return {data_, size_}; }
  std::string_view meta() const noexcept { return record().substr(0, meta_len_); }
  std::string_view payload() const noexcept { return record().substr(payload_off_); }

  message_type type() const noexcept { return type_; }
  bool is_request() const noexcept { return type() == message_type::request; }
  std::string_view id() const noexcept { return record().substr(id_off_, id_len_); }
  std::int64_t timestamp_ns() const noexcept { return timestamp_ns_; }
  // The fourth meta field, when present and numeric.
  std::optional<std::int64_t> latency_ns() const noexcept { return latency_ns_; }

  // Construction goes through parse()/make(); public only for make_shared.
  struct private_tag {};
  message(private_tag, std::string bytes);
  // make(): the record lives in `size` bytes at `storage`, allocated with this object (one
  // allocation per captured message); the caller writes them after construction.
  message(private_tag, char* const& storage, std::size_t size) noexcept;
  message(private_tag, std::shared_ptr<const void> owner, std::string_view record) noexcept;
  message(private_tag, const std::shared_ptr<char[]>& block, std::string_view record, const message_meta& meta) noexcept;
  // Copies own their bytes (data_ points into the object or its allocation).
  message(const message& other);
  message& operator=(const message& other);

 private:
  bool index();
  void apply(const message_meta& meta) noexcept;

  // What routing reads first (size, type, offsets) shares the object's first cache line, so a
  // router deciding where a message goes does not touch the record's bytes.
  const char* data_ = nullptr;    // the record: bytes_.data() or the allocation's tail
  std::size_t size_ = 0;
  std::uint32_t meta_len_ = 0;
  std::uint32_t payload_off_ = 0;
  std::uint32_t id_off_ = 0;
  std::uint32_t id_len_ = 0;
  std::int64_t timestamp_ns_ = 0;
  message_type type_{};           // data_[0]
  std::optional<std::int64_t> latency_ns_;
  std::shared_ptr<const void> owner_;  // the buffer a view points into
  std::string bytes_;             // the record, unless it was allocated with the object or is a view
};

// 24 lowercase hex characters, as gor's ids; unique per process run with overwhelming probability.
std::string make_message_id();

}  // namespace coreplay
