#include "capture/packet_engine.hpp"

#include "capture/capture_file.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <pcap/pcap.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace coreplay::capture {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr int frames_per_read = 8192;  // yield to the pipeline between batches

std::int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }
[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

// Waits until `w` (a descriptor or a socket) is readable or `max_wait` has passed.
template <typename Waitable>
asio::awaitable<void> wait_readable(Waitable& w, asio::steady_timer& timer, std::chrono::nanoseconds max_wait) {
  using namespace asio::experimental::awaitable_operators;
  timer.expires_after(max_wait);
  try {
    co_await (w.async_wait(Waitable::wait_read, asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
  } catch (const asio::multiple_exceptions& e) {
    std::rethrow_exception(e.first_exception());  // both cancelled: report it as one cancellation
  }
}

// Every engine's read(): hand over what is ready; if nothing was, wait once and try again.
template <typename Waitable, typename Drain>
asio::awaitable<bool> read_ready(Waitable& w, asio::steady_timer& timer, std::chrono::nanoseconds max_wait,
                                 Drain drain) {
  if (drain() > 0) co_return true;
  co_await wait_readable(w, timer, max_wait);
  drain();
  co_return true;
}

// --- libpcap: live devices and files ------------------------------------------------------

struct pcap_closer {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using pcap_handle = std::unique_ptr<pcap_t, pcap_closer>;

void set_filter(pcap_t* h, const std::string& filter, const std::string& where) {
  if (filter.empty()) return;
  bpf_program prog{};
  if (pcap_compile(h, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    fail(where + ": bad BPF filter '" + filter + "': " + pcap_geterr(h));
  int rc = pcap_setfilter(h, &prog);
  pcap_freecode(&prog);
  if (rc != 0) fail(where + ": cannot set BPF filter: " + pcap_geterr(h));
}

link_type checked_link(pcap_t* h, const std::string& where) {
  int dlt = pcap_datalink(h);
  auto link = static_cast<link_type>(dlt);
  if (!is_supported(link)) {
    const char* name = pcap_datalink_val_to_name(dlt);
    fail(where + ": unsupported link type " + std::to_string(dlt) + " (" + (name ? name : "?") + ")");
  }
  return link;
}

class pcap_live_engine final : public packet_engine {
 public:
  pcap_live_engine(const asio::any_io_executor& ex, const engine_config& cfg)
      : desc_(ex), timer_(ex), cfg_(cfg) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    std::string where = "libpcap on " + cfg.device;
    h_.reset(pcap_create(cfg.device.c_str(), errbuf));
    if (!h_) fail(where + ": " + errbuf);
    pcap_set_snaplen(h_.get(), static_cast<int>(cfg.snaplen));
    pcap_set_promisc(h_.get(), cfg.promisc ? 1 : 0);
    if (cfg.monitor) pcap_set_rfmon(h_.get(), 1);
    // Not immediate mode: on Linux it switches libpcap to TPACKET_V2, whose ring has one
    // snaplen-sized slot per packet (a 64 MiB ring of 256 KiB slots holds 256 packets, lost
    // in the first burst). TPACKET_V3 packs packets into blocks retired after this timeout.
    auto timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.buffer_timeout).count();
    pcap_set_timeout(h_.get(), static_cast<int>(timeout_ms > 0 ? timeout_ms : 10));
    if (cfg.buffer_size) pcap_set_buffer_size(h_.get(), static_cast<int>(std::min<std::uint64_t>(cfg.buffer_size, INT32_MAX)));
    if (!cfg.timestamp_type.empty()) {
      int t = pcap_tstamp_type_name_to_val(cfg.timestamp_type.c_str());
      if (t == PCAP_ERROR) fail(where + ": unknown timestamp type '" + cfg.timestamp_type + "'");
      pcap_set_tstamp_type(h_.get(), t);
    }
    scale_ = pcap_set_tstamp_precision(h_.get(), PCAP_TSTAMP_PRECISION_NANO) == 0 ? 1 : 1000;
    int rc = pcap_activate(h_.get());
    if (rc < 0) {
      std::string why = rc == PCAP_ERROR_PERM_DENIED ? "permission denied (run as root or setcap cap_net_raw,cap_net_admin+ep)"
                        : rc == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
                        : pcap_geterr(h_.get());
      fail(where + ": " + why);
    }
    if (pcap_get_tstamp_precision(h_.get()) != PCAP_TSTAMP_PRECISION_NANO) scale_ = 1000;
    link_ = checked_link(h_.get(), where);
    set_filter(h_.get(), cfg.bpf_filter, where);
    if (pcap_setnonblock(h_.get(), 1, errbuf) != 0) fail(where + ": " + errbuf);
    int fd = pcap_get_selectable_fd(h_.get());
    if (fd < 0) fail(where + ": no selectable descriptor");
    desc_.assign(fd);
  }
  ~pcap_live_engine() override {
    desc_.release();  // libpcap owns the descriptor
  }

  asio::awaitable<bool> read(frame_consumer& c, std::chrono::nanoseconds max_wait) override {
    return read_ready(desc_, timer_, max_wait, [this, &c] { return dispatch(c); });
  }

  engine_counters counters() override {
    pcap_stat st{};
    if (pcap_stats(h_.get(), &st) == 0) {
      counters_.kernel_drops = st.ps_drop;
      counters_.interface_drops = st.ps_ifdrop;
    }
    return counters_;
  }

  std::string describe() const override {
    return "libpcap on " + cfg_.device + (cfg_.bpf_filter.empty() ? "" : ", filter '" + cfg_.bpf_filter + "'");
  }

 private:
  struct dispatch_context {
    frame_consumer* consumer;
    link_type link;
    std::int64_t scale;
  };
  static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
    auto* ctx = reinterpret_cast<dispatch_context*>(user);
    ctx->consumer->on_frame(frame{ctx->link, std::span<const std::uint8_t>(bytes, h->caplen), h->len,
                                  std::int64_t(h->ts.tv_sec) * 1'000'000'000 + std::int64_t(h->ts.tv_usec) * ctx->scale});
  }

  int dispatch(frame_consumer& c) {
    dispatch_context ctx{&c, link_, scale_};
    int total = 0;
    while (total < frames_per_read) {
      int n = pcap_dispatch(h_.get(), frames_per_read - total, &on_packet, reinterpret_cast<u_char*>(&ctx));
      if (n < 0) fail("libpcap on " + cfg_.device + ": " + pcap_geterr(h_.get()));
      if (n == 0) break;
      total += n;
    }
    return total;
  }

  pcap_handle h_;
  asio::posix::stream_descriptor desc_;
  asio::steady_timer timer_;
  engine_config cfg_;
  link_type link_{};
  std::int64_t scale_ = 1;
  engine_counters counters_;
};

class pcap_file_engine final : public packet_engine {
 public:
  explicit pcap_file_engine(const engine_config& cfg) : file_(cfg.device, cfg.bpf_filter), cfg_(cfg) {}

  asio::awaitable<bool> read(frame_consumer& c, std::chrono::nanoseconds) override {
    const link_type link = file_.link();
    co_return file_.read([&](const file_frame& f) { c.on_frame(frame{link, f.bytes, f.wire_length, f.timestamp_ns}); },
                         capture_file_frames_per_turn);
  }
  bool finite() const override { return true; }
  capture_file* file() noexcept override { return &file_; }
  std::string describe() const override {
    return "pcap file " + cfg_.device + (file_.direct() ? " (read directly)" : " (through libpcap)");
  }

 private:
  capture_file file_;
  engine_config cfg_;
};

// --- AF_PACKET -------------------------------------------------------------------------------

int loopback_index() {
  static const int idx = static_cast<int>(if_nametoindex("lo"));
  return idx;
}

int interface_index(const std::string& device, const std::string& where) {
  if (device.empty() || device == "any") return 0;
  unsigned idx = if_nametoindex(device.c_str());
  if (idx == 0) fail(where + ": no such interface '" + device + "'");
  return static_cast<int>(idx);
}

link_type link_of(unsigned short hatype) {
  switch (hatype) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK:
      return link_type::ethernet;
    default:
      return link_type::raw;  // tun, ipip, gre...: the frame starts at the IP header
  }
}

// Compiles a filter for Ethernet frames and attaches it to the socket.
void attach_filter(int fd, const std::string& filter, std::uint32_t snaplen, const std::string& where) {
  if (filter.empty()) return;
  pcap_handle dead(pcap_open_dead(DLT_EN10MB, static_cast<int>(snaplen)));
  bpf_program prog{};
  if (pcap_compile(dead.get(), &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    fail(where + ": bad BPF filter '" + filter + "': " + pcap_geterr(dead.get()));
  sock_fprog fp{static_cast<unsigned short>(prog.bf_len), reinterpret_cast<sock_filter*>(prog.bf_insns)};
  int rc = ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
  pcap_freecode(&prog);
  if (rc != 0) fail_errno(where + ": cannot attach BPF filter");
}

int open_packet_socket(const engine_config& cfg, const std::string& where, int& ifindex) {
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (errno == EPERM || errno == EACCES)
      fail(where + ": permission denied (run as root or setcap cap_net_raw,cap_net_admin+ep)");
    fail_errno(where + ": socket");
  }
  ifindex = interface_index(cfg.device, where);
  if (cfg.promisc && ifindex > 0) {
    packet_mreq mr{};
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_PROMISC;
    ::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  }
  return fd;
}

void bind_packet_socket(int fd, int ifindex, const std::string& where) {
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) fail_errno(where + ": bind");
}

// On lo every packet passes twice (sent and received): keep the received copy only.
bool duplicate_on_loopback(const sockaddr_ll& sll) {
  return sll.sll_pkttype == PACKET_OUTGOING && sll.sll_ifindex == loopback_index();
}

class af_packet_engine final : public packet_engine {
 public:
  af_packet_engine(const asio::any_io_executor& ex, const engine_config& cfg) : desc_(ex), timer_(ex), cfg_(cfg) {
    std::string where = "af_packet on " + cfg.device;
    int ifindex = 0;
    int fd = open_packet_socket(cfg, where, ifindex);
    desc_.assign(fd);
    int version = TPACKET_V3;
    if (::setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) != 0) fail_errno(where + ": TPACKET_V3");
    std::uint64_t total = cfg.buffer_size ? cfg.buffer_size : (64u << 20);
    block_size_ = 1u << 22;  // 4 MiB blocks
    block_count_ = static_cast<unsigned>(std::max<std::uint64_t>(2, total / block_size_));
    tpacket_req3 req{};
    req.tp_block_size = block_size_;
    req.tp_block_nr = block_count_;
    req.tp_frame_size = 1u << 11;
    req.tp_frame_nr = (block_size_ / req.tp_frame_size) * block_count_;
    // Without a short retire timeout, packets wait in a block until it fills.
    req.tp_retire_blk_tov = static_cast<unsigned>(std::max<long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(cfg.buffer_timeout).count()));
    if (::setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) fail_errno(where + ": PACKET_RX_RING");
    ring_size_ = std::size_t(block_size_) * block_count_;
    void* ring = ::mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
    if (ring == MAP_FAILED) ring = ::mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ring == MAP_FAILED) fail_errno(where + ": mmap");
    ring_ = static_cast<std::uint8_t*>(ring);
    attach_filter(fd, cfg.bpf_filter, cfg.snaplen, where);
    bind_packet_socket(fd, ifindex, where);
  }
  ~af_packet_engine() override {
    if (ring_) ::munmap(ring_, ring_size_);
  }

  asio::awaitable<bool> read(frame_consumer& c, std::chrono::nanoseconds max_wait) override {
    return read_ready(desc_, timer_, max_wait, [this, &c] { return drain(c); });
  }

  engine_counters counters() override {
    tpacket_stats_v3 st{};
    socklen_t len = sizeof st;
    if (::getsockopt(desc_.native_handle(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
      counters_.kernel_drops += st.tp_drops;  // reading resets the kernel's counters
    return counters_;
  }

  std::string describe() const override {
    return "af_packet (TPACKET_V3) on " + cfg_.device + (cfg_.bpf_filter.empty() ? "" : ", filter '" + cfg_.bpf_filter + "'");
  }

 private:
  int drain(frame_consumer& c) {
    int frames = 0;
    for (unsigned blocks = 0; blocks < block_count_ && frames < frames_per_read; ++blocks) {
      auto* bd = reinterpret_cast<tpacket_block_desc*>(ring_ + std::size_t(current_) * block_size_);
      if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER)) break;
      auto* p = reinterpret_cast<std::uint8_t*>(bd) + bd->hdr.bh1.offset_to_first_pkt;
      for (std::uint32_t i = 0; i < bd->hdr.bh1.num_pkts; ++i) {
        auto* h = reinterpret_cast<tpacket3_hdr*>(p);
        auto* sll = reinterpret_cast<sockaddr_ll*>(p + TPACKET_ALIGN(sizeof(tpacket3_hdr)));
        if (!duplicate_on_loopback(*sll)) {
          c.on_frame(frame{link_of(sll->sll_hatype), std::span<const std::uint8_t>(p + h->tp_mac, h->tp_snaplen),
                           h->tp_len, std::int64_t(h->tp_sec) * 1'000'000'000 + h->tp_nsec});
          ++frames;
        }
        p += h->tp_next_offset;
      }
      __atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
      current_ = (current_ + 1) % block_count_;
    }
    return frames;
  }

  asio::posix::stream_descriptor desc_;
  asio::steady_timer timer_;
  engine_config cfg_;
  std::uint8_t* ring_ = nullptr;
  std::size_t ring_size_ = 0;
  unsigned block_size_ = 0;
  unsigned block_count_ = 0;
  unsigned current_ = 0;
  engine_counters counters_;
};

class raw_socket_engine final : public packet_engine {
 public:
  raw_socket_engine(const asio::any_io_executor& ex, const engine_config& cfg)
      : desc_(ex), timer_(ex), cfg_(cfg), buf_(std::max<std::uint32_t>(cfg.snaplen, 65536 + 128)) {
    std::string where = "raw_socket on " + cfg.device;
    int ifindex = 0;
    int fd = open_packet_socket(cfg, where, ifindex);
    desc_.assign(fd);
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (cfg.buffer_size) {
      int sz = static_cast<int>(std::min<std::uint64_t>(cfg.buffer_size, INT32_MAX));
      if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)  // root may exceed rmem_max
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    attach_filter(fd, cfg.bpf_filter, cfg.snaplen, where);
    bind_packet_socket(fd, ifindex, where);
  }

  asio::awaitable<bool> read(frame_consumer& c, std::chrono::nanoseconds max_wait) override {
    return read_ready(desc_, timer_, max_wait, [this, &c] { return drain(c); });
  }

  engine_counters counters() override {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (::getsockopt(desc_.native_handle(), SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
      counters_.kernel_drops += st.tp_drops;
    return counters_;
  }

  std::string describe() const override {
    return "raw_socket on " + cfg_.device + (cfg_.bpf_filter.empty() ? "" : ", filter '" + cfg_.bpf_filter + "'");
  }

 private:
  int drain(frame_consumer& c) {
    int frames = 0;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    while (frames < frames_per_read) {
      sockaddr_ll sll{};
      iovec iov{buf_.data(), buf_.size()};
      msghdr msg{};
      msg.msg_name = &sll;
      msg.msg_namelen = sizeof sll;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      auto n = ::recvmsg(desc_.native_handle(), &msg, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        fail_errno("raw_socket on " + cfg_.device);
      }
      if (duplicate_on_loopback(sll)) continue;
      std::int64_t ts = 0;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS) {
          timespec t{};
          std::memcpy(&t, CMSG_DATA(cm), sizeof t);
          ts = std::int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
        }
      if (ts == 0) ts = realtime_ns();
      auto captured = std::min<std::size_t>(static_cast<std::size_t>(n), buf_.size());
      c.on_frame(frame{link_of(sll.sll_hatype), std::span<const std::uint8_t>(buf_.data(), captured),
                       static_cast<std::uint32_t>(n), ts});
      ++frames;
    }
    return frames;
  }

  asio::posix::stream_descriptor desc_;
  asio::steady_timer timer_;
  engine_config cfg_;
  std::vector<std::uint8_t> buf_;
  engine_counters counters_;
};

// --- VXLAN -----------------------------------------------------------------------------------

class vxlan_engine final : public packet_engine {
 public:
  vxlan_engine(const asio::any_io_executor& ex, const engine_config& cfg)
      : socket_(ex), timer_(ex), cfg_(cfg), buf_(65536) {
    error_code ec;
    socket_.open(asio::ip::udp::v4(), ec);
    if (!ec) socket_.bind({asio::ip::address_v4::any(), cfg.vxlan_port}, ec);
    if (ec) fail("vxlan on UDP port " + std::to_string(cfg.vxlan_port) + ": " + ec.message());
    socket_.non_blocking(true);
  }

  asio::awaitable<bool> read(frame_consumer& c, std::chrono::nanoseconds max_wait) override {
    return read_ready(socket_, timer_, max_wait, [this, &c] { return drain(c); });
  }

  std::string describe() const override { return "vxlan on UDP port " + std::to_string(cfg_.vxlan_port); }

  std::uint64_t not_vxlan = 0;

 private:
  int drain(frame_consumer& c) {
    int frames = 0;
    while (frames < frames_per_read) {
      error_code ec;
      auto n = socket_.receive(asio::buffer(buf_), 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) break;
      if (ec) fail(describe() + ": " + ec.message());
      std::uint32_t vni = 0;
      auto inner = vxlan_inner_frame(std::span<const std::uint8_t>(buf_.data(), n), vni);
      if (inner.empty()) {
        ++not_vxlan;
        continue;
      }
      if (!vxlan_vni_allowed(vni, cfg_.vxlan_vni)) continue;
      c.on_frame(frame{link_type::ethernet, inner, static_cast<std::uint32_t>(inner.size()), realtime_ns()});
      ++frames;
    }
    return frames;
  }

  asio::ip::udp::socket socket_;
  asio::steady_timer timer_;
  engine_config cfg_;
  std::vector<std::uint8_t> buf_;
};

}  // namespace

std::unique_ptr<packet_engine> open_engine(const asio::any_io_executor& ex, const engine_config& cfg) {
  if (cfg.engine == "libpcap" || cfg.engine == "pcap") return std::make_unique<pcap_live_engine>(ex, cfg);
  if (cfg.engine == "pcap_file") return std::make_unique<pcap_file_engine>(cfg);
  if (cfg.engine == "af_packet") return std::make_unique<af_packet_engine>(ex, cfg);
  if (cfg.engine == "raw_socket") return std::make_unique<raw_socket_engine>(ex, cfg);
  if (cfg.engine == "vxlan") return std::make_unique<vxlan_engine>(ex, cfg);
  throw std::runtime_error("--input-raw-engine: unknown engine '" + cfg.engine +
                           "' (libpcap, pcap_file, af_packet, raw_socket or vxlan)");
}

}  // namespace coreplay::capture
