#include "core/block_file.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>
#if defined(BOOST_ASIO_HAS_IO_URING) && defined(BOOST_ASIO_HAS_FILE)
#include <boost/asio/stream_file.hpp>
#define COREPLAY_BLOCK_FILE_URING 1
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <system_error>

namespace coreplay {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what, const std::string& path) {
  throw std::system_error(err, std::generic_category(), what + " '" + path + "'");
}

}  // namespace

struct block_file::impl {
  std::string path;
  int fd = -1;  // fallback path
#ifdef COREPLAY_BLOCK_FILE_URING
  std::optional<asio::stream_file> file;
#endif
  ~impl() {
    if (fd >= 0) ::close(fd);
  }
  int native() const {
#ifdef COREPLAY_BLOCK_FILE_URING
    if (file) return const_cast<asio::stream_file&>(*file).native_handle();
#endif
    return fd;
  }
};

block_file::block_file(asio::any_io_executor ex, const std::string& path, open_mode mode,
                       bool prefer_io_uring)
    : impl_(std::make_unique<impl>()) {
  impl_->path = path;
#ifdef COREPLAY_BLOCK_FILE_URING
  if (prefer_io_uring) {
    try {
      asio::file_base::flags f = asio::file_base::read_only;
      if (mode == open_mode::write_truncate)
        f = asio::file_base::write_only | asio::file_base::create | asio::file_base::truncate;
      else if (mode == open_mode::write_append)
        f = asio::file_base::write_only | asio::file_base::create | asio::file_base::append;
      impl_->file.emplace(ex, path, f);
      return;
    } catch (const std::exception&) {
      // io_uring refused (not permitted here) or the open failed: open(2) below either works
      // or reports the error with errno.
      impl_->file.reset();
    }
  }
#else
  (void)ex;
  (void)prefer_io_uring;
#endif
  int flags = O_CLOEXEC;
  if (mode == open_mode::read) flags |= O_RDONLY;
  else if (mode == open_mode::write_truncate) flags |= O_WRONLY | O_CREAT | O_TRUNC;
  else flags |= O_WRONLY | O_CREAT | O_APPEND;
  impl_->fd = ::open(path.c_str(), flags, 0660);
  if (impl_->fd < 0) throw_errno(errno, "cannot open", path);
  if (mode == open_mode::read) {
    struct stat st {};
    if (::fstat(impl_->fd, &st) == 0 && S_ISDIR(st.st_mode)) throw_errno(EISDIR, "cannot read", path);
    ::posix_fadvise(impl_->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
}

block_file::~block_file() = default;
block_file::block_file(block_file&&) noexcept = default;
block_file& block_file::operator=(block_file&&) noexcept = default;

asio::awaitable<std::size_t> block_file::read_some(std::span<char> out) {
#ifdef COREPLAY_BLOCK_FILE_URING
  if (impl_->file) {
    auto [ec, n] = co_await impl_->file->async_read_some(
        asio::buffer(out.data(), out.size()), asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::eof) co_return 0;
    if (ec) throw boost::system::system_error(ec, "cannot read '" + impl_->path + "'");
    co_return n;
  }
#endif
  for (;;) {
    ssize_t n = ::read(impl_->fd, out.data(), out.size());
    if (n >= 0) co_return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_errno(errno, "cannot read", impl_->path);
  }
}

std::size_t block_file::read_some_sync(std::span<char> out) {
  for (;;) {
    ssize_t n = ::read(impl_->native(), out.data(), out.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_errno(errno, "cannot read", impl_->path);
  }
}

asio::awaitable<void> block_file::write_all(std::string_view bytes) {
#ifdef COREPLAY_BLOCK_FILE_URING
  if (impl_->file) {
    // Bound to no cancellation slot: a write cancelled half way would leave a torn record.
    auto [ec, n] = co_await asio::async_write(
        *impl_->file, asio::buffer(bytes.data(), bytes.size()),
        asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable)));
    if (ec) throw boost::system::system_error(ec, "cannot write '" + impl_->path + "'");
    co_return;
  }
#endif
  write_all_sync(bytes);
  co_return;
}

void block_file::write_all_sync(std::string_view bytes) {
  int fd = impl_->native();
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(errno, "cannot write", impl_->path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::uint64_t block_file::size() const {
  struct stat st {};
  if (::fstat(impl_->native(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

void block_file::close() {
  if (!impl_) return;
#ifdef COREPLAY_BLOCK_FILE_URING
  if (impl_->file) {
    boost::system::error_code ec;
    impl_->file->close(ec);
    impl_->file.reset();
  }
#endif
  if (impl_->fd >= 0) {
    ::close(impl_->fd);
    impl_->fd = -1;
  }
}

bool block_file::is_open() const noexcept {
  if (!impl_) return false;
#ifdef COREPLAY_BLOCK_FILE_URING
  if (impl_->file) return true;
#endif
  return impl_->fd >= 0;
}

bool block_file::uses_io_uring() const noexcept {
#ifdef COREPLAY_BLOCK_FILE_URING
  return impl_ && impl_->file.has_value();
#else
  return false;
#endif
}

const std::string& block_file::path() const noexcept { return impl_->path; }

}  // namespace coreplay
