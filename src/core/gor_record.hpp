// gor's file and stream record codec: `meta\npayload` records, each followed by "\n🐵🙈🙉\n".
// Sans-I/O: the reader takes bytes and gives messages; the writer gives bytes.
#pragma once

#include "core/gor_format.hpp"

#include <coreplay/message.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay {

// gor_separator (core/gor_format.hpp): 0A F0 9F 90 B5 F0 9F 99 88 F0 9F 99 89 0A.
// The separator without its leading '\n': the line that ends a record.
inline constexpr std::string_view gor_separator_line = gor_separator.substr(1);

inline constexpr std::size_t default_max_record_bytes = std::size_t{5} << 20;  // --copy-buffer-size

// Why a record was skipped; `offset` is the byte offset of the record's first byte in the
// (decompressed) stream, `size` its length as far as it was seen.
struct gor_record_skip {
  enum class reason { malformed_meta, oversized };
  reason why;
  std::uint64_t offset;
  std::uint64_t size;
};

std::string_view to_string(gor_record_skip::reason r) noexcept;

// A record as gor_record_reader::next_span() gives it: its bytes inside the reader's current
// block, its meta line not yet read.
struct gor_record_span {
  std::uint64_t offset = 0;  // of its first byte in the stream
  std::string_view bytes;
};

// A record as gor_record_reader::next_view() gives it: its bytes inside the reader's current
// block and its parsed meta line; message::parse_view(block, bytes, meta) makes the message.
struct gor_record_view {
  std::uint64_t offset = 0;  // of its first byte in the stream
  std::string_view bytes;
  message_meta meta;
};

// Splits a byte stream into records exactly as gor's readers do: '\n'-terminated lines, and
// a line that is exactly "🐵🙈🙉\n" ends the record (the '\n' before it is not part of the
// record). Differences from gor, on purpose: a final record without its separator is kept
// (a partial separator at its end is removed), and a record over `max_record_bytes` is
// skipped without being buffered whole. The reader holds at most max_record_bytes + one feed;
// blocks that returned messages still point into stay alive until those messages are released.
class gor_record_reader {
 public:
  using skip_handler = std::function<void(const gor_record_skip&)>;

  // `spare_blocks`: blocks released by their messages kept for reuse.
  explicit gor_record_reader(std::size_t max_record_bytes = default_max_record_bytes,
                             skip_handler on_skip = {}, std::size_t spare_blocks = 4);

  // Zero-copy feeding: write up to `n` bytes into prepare(n), then commit how many were written.
  std::span<char> prepare(std::size_t n);
  void commit(std::size_t n);
  // Copying feed, for tests and small inputs.
  void feed(std::string_view bytes);
  // No more input: whatever is buffered becomes the final record.
  void finish();

  // The next complete record, or nullptr when more input is needed (or, after finish(), at
  // the end). Malformed and oversized records are skipped and reported to the skip handler.
  message_ptr next();
  // The same without making the message (for a reader thread that leaves that to the consumer).
  // `out.bytes` lies in current_block(), and stays valid while a reference to it is held: the
  // reader only moves bytes inside a block nobody else holds.
  bool next_view(gor_record_view& out);
  // The next record's bytes alone, its meta line unchecked: a caller that parses it elsewhere
  // (the consumer of a reader thread) reports a malformed one itself. Skips only oversized
  // records and records whose first line is the separator line.
  bool next_span(gor_record_span& out);
  // Everything buffered up to the end of the last separator in it, as one region of whole
  // records that gor_region_splitter takes apart exactly as next_span() would have (for a
  // reader thread that leaves the splitting to its consumer). False when no separator is
  // buffered, or while an oversized record is being dropped or after finish(): use next_span().
  bool next_region(gor_record_span& out);
  const std::shared_ptr<char[]>& current_block() const noexcept { return buf_.data; }
  // Stream offset of current_block()'s first byte (modulo 2^64, as every offset).
  std::uint64_t block_offset() const noexcept { return base_; }

  // Byte offset of the record last returned by next().
  std::uint64_t last_offset() const noexcept { return last_offset_; }
  std::uint64_t malformed() const noexcept { return malformed_; }
  std::uint64_t oversized() const noexcept { return oversized_; }
  // Bytes buffered but not yet returned as records.
  std::size_t buffered() const noexcept { return end_ - begin_; }
  // Bytes consumed so far (fed and committed).
  std::uint64_t bytes_in() const noexcept { return base_ + end_; }

  // Forget all state, as for a new stream (counters are kept).
  void reset();

 private:
  void take(std::size_t len, std::size_t skip_after, gor_record_span& out);
  void skip(gor_record_skip::reason why, std::uint64_t offset, std::uint64_t size);
  void compact();
  void move_to_block(std::size_t capacity);
  static constexpr std::size_t align = 64;
  static std::size_t lead_for(const char* block, std::size_t len) noexcept;
  void rebase(std::size_t lead) noexcept;

  std::size_t max_;
  std::size_t max_spare_;
  skip_handler on_skip_;
  // Records are returned as views into the block they were read into (no copy per record); a
  // block still referenced by messages is left to them and reading continues in another one.
  struct block {
    std::shared_ptr<char[]> data;
    std::size_t size = 0;
  };
  block buf_;
  std::vector<block> spare_;  // blocks handed out earlier, reused once their messages are gone
  std::size_t begin_ = 0;     // first byte of the current record
  std::size_t end_ = 0;       // end of valid data
  std::size_t scan_ = 0;      // where the separator search resumes
  std::uint64_t base_ = 0;    // stream offset of buf_[0]
  bool discarding_ = false;   // inside an oversized record: drop bytes up to its separator
  std::uint64_t discard_offset_ = 0;
  bool finished_ = false;
  std::uint64_t last_offset_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t oversized_ = 0;
};

// Takes a region from gor_record_reader::next_region() apart: its records in order, and the
// records next_span() would have skipped (a first line that is the separator line, a record
// over max_record_bytes) as skips, in their place.
class gor_region_splitter {
 public:
  enum class step { record, skip, done };
  void reset(gor_record_span region, std::size_t max_record_bytes) noexcept;
  bool active() const noexcept { return pos_ != end_; }
  step next(gor_record_span& out, gor_record_skip& skip) noexcept;

 private:
  const char* pos_ = nullptr;
  const char* end_ = nullptr;
  std::uint64_t offset_ = 0;  // stream offset of a byte = offset_ + its address (modulo 2^64)
  std::size_t max_ = 0;
};

// A record's bytes on disk: message::record() then the separator.
inline void append_gor_record(const message& m, std::string& out) {
  out.append(m.record());
  out.append(gor_separator);
}

// Appends records to a caller's buffer (a file's write buffer, a socket's).
class gor_record_writer {
 public:
  explicit gor_record_writer(std::string& out) noexcept : out_(&out) {}
  void write(const message& m) { append_gor_record(m, *out_); }

 private:
  std::string* out_;
};

inline std::size_t gor_record_size(const message& m) noexcept {
  return m.record().size() + gor_separator.size();
}

}  // namespace coreplay
