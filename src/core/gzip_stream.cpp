#include "core/gzip_stream.hpp"

#include <zlib.h>

#include <climits>
#include <string>

namespace coreplay {

struct gzip_decoder::impl {
  z_stream s{};
};

gzip_decoder::gzip_decoder() : z_(std::make_unique<impl>()) {
  // 16 + MAX_WBITS: gzip wrapper only, so a zlib or raw stream is reported as corrupt.
  if (inflateInit2(&z_->s, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
}

gzip_decoder::~gzip_decoder() { inflateEnd(&z_->s); }

void gzip_decoder::set_input(std::string_view in) {
  z_->s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z_->s.avail_in = static_cast<uInt>(in.size());
}

bool gzip_decoder::needs_input() const noexcept { return z_->s.avail_in == 0; }

std::size_t gzip_decoder::inflate_some(std::span<char> out) {
  auto& s = z_->s;
  std::size_t produced = 0;
  while (produced < out.size() && s.avail_in > 0) {
    auto room = std::min<std::size_t>(out.size() - produced, UINT_MAX);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    s.avail_out = static_cast<uInt>(room);
    uInt in_before = s.avail_in;
    in_member_ = true;
    int rc = ::inflate(&s, Z_NO_FLUSH);
    total_in_ += in_before - s.avail_in;
    produced += room - s.avail_out;
    if (rc == Z_STREAM_END) {
      // One member done; another may follow.
      in_member_ = false;
      inflateReset(&s);
      continue;
    }
    if (rc == Z_BUF_ERROR) break;  // no progress possible: needs more output or input
    if (rc != Z_OK) {
      std::string what = "corrupt gzip data";
      if (s.msg) (what += ": ") += s.msg;
      throw gzip_error(what, total_in_);
    }
  }
  return produced;
}

void gzip_decoder::finish() const {
  if (in_member_) throw gzip_error("truncated gzip data (the stream ends inside a member)", total_in_);
}

struct gzip_encoder::impl {
  z_stream s{};
};

gzip_encoder::gzip_encoder(int level) : z_(std::make_unique<impl>()) {
  if (deflateInit2(&z_->s, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
}

gzip_encoder::~gzip_encoder() { deflateEnd(&z_->s); }

void gzip_encoder::run(std::string_view in, int flush, std::string& out) {
  auto& s = z_->s;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  // Deflate into a scratch block and append only what it produced: growing `out` by a worst
  // case each call would zero-fill kilobytes per record.
  char scratch[32 * 1024];
  for (;;) {
    s.next_out = reinterpret_cast<Bytef*>(scratch);
    s.avail_out = sizeof scratch;
    int rc = ::deflate(&s, flush);
    std::size_t produced = sizeof scratch - s.avail_out;
    out.append(scratch, produced);
    total_out_ += produced;
    if (rc == Z_STREAM_END) return;
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("gzip compression failed");
    if (s.avail_in == 0 && s.avail_out != 0) return;  // all input taken and all output flushed
  }
}

void gzip_encoder::write(std::string_view in, std::string& out) {
  if (finished_) throw std::logic_error("gzip_encoder: write after finish");
  while (!in.empty()) {
    auto part = in.substr(0, std::min<std::size_t>(in.size(), 1u << 30));
    run(part, Z_NO_FLUSH, out);
    in.remove_prefix(part.size());
  }
}

void gzip_encoder::sync_flush(std::string& out) {
  if (!finished_) run({}, Z_SYNC_FLUSH, out);
}

void gzip_encoder::finish(std::string& out) {
  if (finished_) return;
  run({}, Z_FINISH, out);
  finished_ = true;
}

}  // namespace coreplay
