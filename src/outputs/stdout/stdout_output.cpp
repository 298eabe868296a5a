#include "outputs/stdout/stdout_output.hpp"

#include "core/gor_format.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <unistd.h>

namespace coreplay {

// Blocking writes: stdout may be a terminal shared with stderr, and making it non-blocking
// would change it for everyone sharing the descriptor.
void stdout_output::write_all(std::string& buf) {
  std::size_t off = 0;
  while (off < buf.size()) {
    auto n = ::write(fd_, buf.data() + off, buf.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw boost::system::system_error(errno, boost::system::system_category(), "writing to stdout");
    }
    off += static_cast<std::size_t>(n);
  }
  buf.clear();
}

asio::awaitable<void> stdout_output::run(message_reader in) {
  constexpr std::size_t flush_at = 256 * 1024;
  std::string buf;
  buf.reserve(flush_at + 4096);
  for (;;) {
    message_ptr m;
    if (!in.try_receive(m)) {
      // Caught up: what is buffered goes out before we wait.
      if (!buf.empty()) write_all(buf);
      m = co_await in.receive();
    }
    if (!m) break;
    buf.append(m->record());
    buf.append(gor_separator);
    if (buf.size() >= flush_at) write_all(buf);
  }
  if (!buf.empty()) write_all(buf);
}

asio::awaitable<void> null_output::run(message_reader in) {
  for (;;) {
    message_ptr m;
    if (!in.try_receive(m)) m = co_await in.receive();
    if (!m) break;
  }
}

}  // namespace coreplay
