// Frames of a pcap or pcapng file. Classic pcap files (what tcpdump writes) are read here in
// 1 MiB blocks, each frame handed over where it lies in the block: no per-packet stdio call and
// no copy per frame (libpcap freads every record into its own buffer). Not memory-mapped: a
// file truncated while mapped kills the process with SIGBUS. pcapng, pipes and other formats
// go through libpcap.
#pragma once

#include "capture/packet_decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

struct pcap;
struct bpf_program;

namespace coreplay::capture {

struct file_frame {
  std::span<const std::uint8_t> bytes;
  std::uint32_t wire_length;
  std::int64_t timestamp_ns;
};

// Frames a reader takes from a capture file per turn (the pipeline drains between turns): the
// messages of one turn (about 2 per 3 packets at most) fit a sink's queue (1024 by default),
// are routed straight to it and go back to the pools of freed message blocks before the next.
inline constexpr int capture_file_frames_per_turn = 1024;

class capture_file {
 public:
  // Opens `path` and compiles `bpf_filter` (none when empty). Throws std::runtime_error
  // naming the file: cannot open, not a capture file, bad filter, unsupported link type.
  explicit capture_file(const std::string& path, const std::string& bpf_filter = {});
  ~capture_file();
  capture_file(const capture_file&) = delete;
  capture_file& operator=(const capture_file&) = delete;

  // Hands up to `max_frames` frames that pass the filter to f(const file_frame&); the bytes
  // are valid during the call only. Returns false at the end of the file. Throws
  // std::runtime_error naming the file (and the byte offset when read directly) on a
  // truncated or corrupt record or a read error; the frames before it have been handed over.
  template <class F>
  bool read(F&& f, int max_frames) {
    file_frame fr;
    if (fd_ >= 0 && !filter_) {
      for (int i = 0; i < max_frames; ++i) {
        if (!next_in_block(fr)) {  // a record across the block's end, the end, or an error
          int rc = next_direct(fr);
          if (rc < 0) return false;
          if (rc == 0) continue;
        }
        f(fr);
      }
      return true;
    }
    for (int i = 0; i < max_frames; ++i) {
      int rc = next(fr);
      if (rc < 0) return false;
      if (rc > 0) f(fr);
    }
    return true;
  }

  link_type link() const noexcept { return link_; }
  const std::string& path() const noexcept { return path_; }
  // Read by this class (a classic pcap in a file), not by libpcap.
  bool direct() const noexcept { return fd_ >= 0; }

 private:
  // Takes over the reading when `path` is a classic pcap in a regular file.
  bool open_direct(const std::string& path);
  // 1: a frame, 0: filtered out, -1: end of file.
  int next(file_frame& out);
  int next_direct(file_frame& out);
  // next_direct() for a valid record wholly inside the block (most of them), inline; false
  // leaves everything as it was for next_direct() to decide.
  bool next_in_block(file_frame& out) noexcept {
    const std::size_t left = end_ - pos_;
    if (left < 16) return false;
    const std::uint8_t* h = block_.get() + pos_;
    std::uint32_t v[4];
    std::memcpy(v, h, 16);
    if (swapped_)
      for (auto& x : v) x = __builtin_bswap32(x);
    if (v[2] > max_caplen_ || v[2] > left - 16) return false;
    out.bytes = std::span<const std::uint8_t>(h + 16, v[2]);
    out.wire_length = v[3];
    out.timestamp_ns = std::int64_t(v[0]) * 1'000'000'000 + std::int64_t(v[1]) * fraction_ns_;
    pos_ += 16 + v[2];
    return true;
  }
  int next_libpcap(file_frame& out);
  // At least `bytes` unread bytes in the block, reading more; false at the end of the file.
  bool fill(std::size_t bytes) { return end_ - pos_ >= bytes || refill(bytes); }
  bool refill(std::size_t bytes);
  [[noreturn]] void corrupt(const std::string& why) const;

  std::string path_;
  pcap* handle_ = nullptr;           // libpcap: the reader (pcapng...), or the filter's compiler
  std::unique_ptr<bpf_program> filter_;  // for the direct reader
  link_type link_ = link_type::ethernet;
  // Direct reading of a classic pcap.
  int fd_ = -1;
  std::unique_ptr<std::uint8_t[]> block_;
  std::size_t capacity_ = 0;
  std::size_t pos_ = 0;          // next unread byte in block_
  std::size_t end_ = 0;          // end of the bytes read into block_
  std::uint64_t block_offset_ = 0;  // file offset of block_[0]
  bool eof_ = false;
  bool swapped_ = false;      // the file's byte order is not ours
  std::int64_t fraction_ns_ = 1000;  // nanoseconds per unit of the timestamp fraction
  std::uint32_t max_caplen_ = 0;
};

}  // namespace coreplay::capture
