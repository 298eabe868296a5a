#include "capture/capture_file.hpp"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace coreplay::capture {

namespace {

constexpr std::uint32_t magic_usec = 0xa1b2c3d4;
constexpr std::uint32_t magic_nsec = 0xa1b23c4d;
constexpr std::size_t file_header_size = 24;
constexpr std::size_t record_header_size = 16;
// Read size: large enough that read(2) calls cost nothing per packet.
constexpr std::size_t block_size = std::size_t{1} << 20;

std::uint32_t load32(const std::uint8_t* p, bool swapped) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

}  // namespace

capture_file::capture_file(const std::string& path, const std::string& bpf_filter) : path_(path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // libpcap checks the header and maps the file's LINKTYPE to its DLT in every case. Our own
  // FILE with a 1 MiB buffer: libpcap reads each record with fread, and the default 4 KiB
  // stdio buffer costs a read() every few dozen packets. pcap_close closes it.
  FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(path + ": " + std::strerror(errno));
  std::setvbuf(f, nullptr, _IOFBF, std::size_t{1} << 20);
  handle_ = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!handle_) {
    if (f != stdin) std::fclose(f);
    throw std::runtime_error(path + ": " + errbuf);
  }
  auto fail = [&](const std::string& why) {
    pcap_close(handle_);
    handle_ = nullptr;
    throw std::runtime_error(path + ": " + why);
  };
  const int dlt = pcap_datalink(handle_);
  link_ = static_cast<link_type>(dlt);
  if (!is_supported(link_)) {
    const char* name = pcap_datalink_val_to_name(dlt);
    fail("unsupported link type " + std::to_string(dlt) + " (" + (name ? name : "?") + ")");
  }
  if (!bpf_filter.empty()) {
    filter_ = std::make_unique<bpf_program>();
    if (pcap_compile(handle_, filter_.get(), bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      filter_.reset();
      fail("bad BPF filter '" + bpf_filter + "': " + pcap_geterr(handle_));
    }
  }
  const std::uint32_t snaplen = static_cast<std::uint32_t>(std::max(pcap_snapshot(handle_), 0));
  max_caplen_ = std::min<std::uint32_t>(std::max<std::uint32_t>(snaplen, 262144), 64u << 20);

  if (open_direct(path)) {
    pcap_close(handle_);  // the filter, once compiled, needs no handle
    handle_ = nullptr;
  } else if (filter_) {
    pcap_setfilter(handle_, filter_.get());
  }
}

bool capture_file::open_direct(const std::string& path) {
  // A classic pcap in a regular file (stdin, FIFOs and pcapng stay with libpcap).
  if (path == "-") return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  std::uint8_t head[file_header_size] = {};
  std::uint32_t magic = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      ::pread(fd, head, file_header_size, 0) == static_cast<ssize_t>(file_header_size))
    std::memcpy(&magic, head, 4);
  swapped_ = __builtin_bswap32(magic) == magic_usec || __builtin_bswap32(magic) == magic_nsec;
  const std::uint32_t native = swapped_ ? __builtin_bswap32(magic) : magic;
  if ((native != magic_usec && native != magic_nsec) ||
      ::lseek(fd, static_cast<off_t>(file_header_size), SEEK_SET) < 0) {
    ::close(fd);
    swapped_ = false;
    return false;
  }
  fraction_ns_ = native == magic_nsec ? 1 : 1000;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  fd_ = fd;
  capacity_ = block_size;
  block_ = std::make_unique_for_overwrite<std::uint8_t[]>(capacity_);
  block_offset_ = file_header_size;
  return true;
}

capture_file::~capture_file() {
  if (fd_ >= 0) ::close(fd_);
  if (filter_) pcap_freecode(filter_.get());
  if (handle_) pcap_close(handle_);
}

void capture_file::corrupt(const std::string& why) const {
  throw std::runtime_error(path_ + ": " + why + " at byte " + std::to_string(block_offset_ + pos_));
}

int capture_file::next(file_frame& out) { return fd_ >= 0 ? next_direct(out) : next_libpcap(out); }

bool capture_file::refill(std::size_t bytes) {
  // Keep the unread tail: move it to the front, grow the block for a frame larger than it.
  const std::size_t tail = end_ - pos_;
  if (bytes > capacity_) {
    auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(bytes);
    std::memcpy(bigger.get(), block_.get() + pos_, tail);
    block_ = std::move(bigger);
    capacity_ = bytes;
  } else if (pos_ > 0) {
    std::memmove(block_.get(), block_.get() + pos_, tail);
  }
  block_offset_ += pos_;
  pos_ = 0;
  end_ = tail;
  while (end_ < bytes && !eof_) {
    ssize_t n = ::read(fd_, block_.get() + end_, capacity_ - end_);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(path_ + ": read error at byte " + std::to_string(block_offset_ + end_) + ": " +
                               std::strerror(errno));
    }
    if (n == 0) eof_ = true;
    end_ += static_cast<std::size_t>(n);
  }
  return end_ >= bytes;
}

int capture_file::next_libpcap(file_frame& out) {
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_, &hdr, &data);
  if (rc == PCAP_ERROR_BREAK) return -1;
  if (rc == PCAP_ERROR) throw std::runtime_error(path_ + ": " + pcap_geterr(handle_));
  if (rc != 1) return 0;
  out.bytes = std::span<const std::uint8_t>(data, hdr->caplen);
  out.wire_length = hdr->len;
  out.timestamp_ns = std::int64_t(hdr->ts.tv_sec) * 1'000'000'000 + std::int64_t(hdr->ts.tv_usec);
  return 1;
}

int capture_file::next_direct(file_frame& out) {
  // What next_in_block() leaves out: a record across the block's end (read more), the end of
  // the file, and damage (named with its byte offset).
  if (!fill(record_header_size)) {
    if (end_ == pos_) return -1;
    corrupt("truncated dump file: " + std::to_string(end_ - pos_) + " bytes of a " +
            std::to_string(record_header_size) + "-byte record header");
  }
  const std::uint32_t caplen = load32(block_.get() + pos_ + 8, swapped_);
  if (caplen > max_caplen_)
    corrupt("invalid packet capture length " + std::to_string(caplen) + ", bigger than the maximum of " +
            std::to_string(max_caplen_));
  if (!fill(record_header_size + caplen))
    corrupt("truncated dump file: a " + std::to_string(caplen) + "-byte packet with only " +
            std::to_string(end_ - pos_ - record_header_size) + " bytes left");
  next_in_block(out);  // the whole record is in the block now
  if (filter_) {
    pcap_pkthdr ph{};
    ph.caplen = static_cast<std::uint32_t>(out.bytes.size());
    ph.len = out.wire_length;
    if (pcap_offline_filter(filter_.get(), &ph, out.bytes.data()) == 0) return 0;
  }
  return 1;
}

}  // namespace coreplay::capture
