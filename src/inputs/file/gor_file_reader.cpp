#include "inputs/file/gor_file_reader.hpp"

#include <glob.h>

#include <algorithm>
#include <stdexcept>

namespace coreplay {

namespace {

bool ends_with_gz(const std::string& p) { return p.size() >= 3 && p.compare(p.size() - 3, 3, ".gz") == 0; }

}  // namespace

gor_file_reader::gor_file_reader(asio::any_io_executor ex, std::string path,
                                 const gor_file_read_options& opts,
                                 gor_record_reader::skip_handler on_skip)
    : path_(std::move(path)),
      opts_(opts),
      file_(ex, path_, block_file::open_mode::read, opts.prefer_io_uring),
      records_(opts.max_record_bytes, std::move(on_skip)) {
  opts_.read_depth = std::max<std::size_t>(opts_.read_depth, 1);
  opts_.block_bytes = std::max<std::size_t>(opts_.block_bytes, 4096);
  file_size_ = file_.size();
  if (ends_with_gz(path_)) gunzip_.emplace();
}

asio::awaitable<void> gor_file_reader::fill() {
  while (window_.size() < opts_.read_depth) {
    if (auto m = records_.next()) {
      window_.push(std::move(m));
      continue;
    }
    if (done_) break;
    co_await read_more();
  }
}

bool gor_file_reader::fill_buffered() {
  while (window_.size() < opts_.read_depth) {
    if (auto m = records_.next()) {
      window_.push(std::move(m));
      continue;
    }
    return done_;
  }
  return true;
}

asio::awaitable<void> gor_file_reader::read_more() {
  if (!gunzip_) {
    auto span = records_.prepare(opts_.block_bytes);
    std::size_t n = co_await file_.read_some(span);
    records_.commit(n);
    bytes_read_ += n;
    if (n == 0) {
      records_.finish();
      done_ = true;
      file_.close();
    }
    co_return;
  }
  try {
    if (gunzip_->needs_input()) {
      if (file_eof_) {
        gunzip_->finish();
        records_.finish();
        done_ = true;
        co_return;
      }
      compressed_.resize(opts_.block_bytes);
      std::size_t n = co_await file_.read_some(compressed_);
      bytes_read_ += n;
      if (n == 0) {
        file_eof_ = true;
        file_.close();
        co_return;
      }
      gunzip_->set_input(std::string_view(compressed_).substr(0, n));
    }
    auto span = records_.prepare(opts_.block_bytes);
    records_.commit(gunzip_->inflate_some(span));
  } catch (const gzip_error& e) {
    done_ = true;
    throw std::runtime_error("gzip file '" + path_ + "' at compressed byte " + std::to_string(e.offset()) +
                             ": " + e.what());
  }
}

gor_file_merge::gor_file_merge(asio::any_io_executor ex, const std::vector<std::string>& paths,
                               gor_file_read_options opts,
                               std::function<void(const std::string&, const gor_record_skip&)> on_skip) {
  // Every file holds a block in memory: keep the total bounded when a glob matches many chunks.
  if (paths.size() > 64)
    opts.block_bytes = std::max<std::size_t>(64 << 10, (std::size_t{64} << 20) / paths.size());
  files_.reserve(paths.size());
  for (auto& p : paths) {
    gor_record_reader::skip_handler h;
    if (on_skip) h = [on_skip, p](const gor_record_skip& s) { on_skip(p, s); };
    files_.push_back(std::make_unique<gor_file_reader>(ex, p, opts, std::move(h)));
  }
}

namespace {

struct later_top {
  const std::vector<std::unique_ptr<gor_file_reader>>* files;
  bool operator()(std::size_t a, std::size_t b) const {
    auto ta = (*files)[a]->top_timestamp(), tb = (*files)[b]->top_timestamp();
    return ta != tb ? ta > tb : a > b;
  }
};

}  // namespace

void gor_file_merge::reinsert(std::size_t i) {
  if (files_[i]->empty()) return;
  heap_.push_back(i);
  std::push_heap(heap_.begin(), heap_.end(), later_top{&files_});
}

message_ptr gor_file_merge::pop_top() {
  if (heap_.empty()) return nullptr;
  std::pop_heap(heap_.begin(), heap_.end(), later_top{&files_});
  std::size_t i = heap_.back();
  heap_.pop_back();
  refill_ = i;
  return files_[i]->pop();
}

message_ptr gor_file_merge::try_next() {
  if (!primed_) return nullptr;
  if (refill_) {
    if (!files_[*refill_]->fill_buffered()) return nullptr;
    reinsert(*refill_);
    refill_.reset();
  }
  return pop_top();
}

asio::awaitable<message_ptr> gor_file_merge::next() {
  if (!primed_) {
    primed_ = true;
    for (std::size_t i = 0; i < files_.size(); ++i) {
      co_await files_[i]->fill();
      if (!files_[i]->empty()) heap_.push_back(i);
    }
    std::make_heap(heap_.begin(), heap_.end(), later_top{&files_});
  }
  if (refill_) {
    co_await files_[*refill_]->fill();
    reinsert(*refill_);
    refill_.reset();
  }
  co_return pop_top();
}

std::vector<std::string> expand_input_glob(const std::string& pattern) {
  glob_t g{};
  int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (rc == GLOB_NOMATCH || (rc == 0 && out.empty()))
    throw std::runtime_error("no file matches '" + pattern + "'");
  if (rc != 0) throw std::runtime_error("cannot expand '" + pattern + "'");
  std::sort(out.begin(), out.end());  // byte order, as Go's filepath.Glob
  return out;
}

}  // namespace coreplay
