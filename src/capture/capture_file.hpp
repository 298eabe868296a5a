// Frames of a pcap or pcapng file. Classic pcap files (what tcpdump writes) are read from a
// memory map: each frame is handed over where it lies in the page cache, with no read(2) copy
// and no per-packet stdio call. pcapng, pipes and other formats go through libpcap.
#pragma once

#include "capture/packet_decoder.hpp"

#include <cstddef>
#include <cstdint>
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
  // std::runtime_error naming the file (and the byte offset for the memory-mapped reader) on
  // a truncated or corrupt record; the frames before it have been handed over.
  template <class F>
  bool read(F&& f, int max_frames) {
    file_frame fr;
    for (int i = 0; i < max_frames; ++i) {
      int rc = next(fr);
      if (rc < 0) return false;
      if (rc > 0) f(fr);
    }
    return true;
  }

  link_type link() const noexcept { return link_; }
  const std::string& path() const noexcept { return path_; }
  bool memory_mapped() const noexcept { return map_ != nullptr; }

 private:
  // 1: a frame, 0: filtered out, -1: end of file.
  int next(file_frame& out);
  int next_mapped(file_frame& out);
  int next_libpcap(file_frame& out);
  void release_consumed();
  [[noreturn]] void corrupt(const std::string& why) const;

  std::string path_;
  pcap* handle_ = nullptr;           // libpcap: the reader (pcapng...), or the filter's compiler
  std::unique_ptr<bpf_program> filter_;  // for the mapped reader
  link_type link_ = link_type::ethernet;
  // Memory-mapped classic pcap.
  const std::uint8_t* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::size_t pos_ = 0;
  std::size_t released_ = 0;  // pages before this offset were given back (RSS stays flat)
  bool swapped_ = false;      // the file's byte order is not ours
  std::int64_t fraction_ns_ = 1000;  // nanoseconds per unit of the timestamp fraction
  std::uint32_t max_caplen_ = 0;
};

}  // namespace coreplay::capture
