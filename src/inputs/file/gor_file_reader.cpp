#include "inputs/file/gor_file_reader.hpp"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

namespace coreplay {

namespace {

constexpr std::ptrdiff_t meta_prefetch = 4;  // records ahead whose first line is fetched

bool ends_with_gz(const std::string& p) { return p.size() >= 3 && p.compare(p.size() - 3, 3, ".gz") == 0; }

// Read-ahead only for regular files: a pipe or FIFO may never deliver, and stopping must not
// wait to join a thread blocked in read(2) (on this thread such reads go through io_uring and
// are cancelled). What cannot be stat'ed fails to open below, with the usual error.
gor_file_read_options checked_read_ahead(gor_file_read_options o, const std::string& path) {
  struct stat st {};
  if (o.read_ahead_blocks && (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))) o.read_ahead_blocks = 0;
  // The thread's batches index blocks with 32-bit offsets: a --copy-buffer-size over 1 GiB
  // reads on the consumer's side.
  if (o.max_record_bytes > gor_read_ahead::max_record_bytes_limit) o.read_ahead_blocks = 0;
  return o;
}

}  // namespace

gor_file_reader::gor_file_reader(asio::any_io_executor ex, std::string path,
                                 const gor_file_read_options& opts,
                                 gor_record_reader::skip_handler on_skip)
    : path_(std::move(path)),
      opts_(checked_read_ahead(opts, path_)),
      file_(ex, path_, block_file::open_mode::read, opts_.prefer_io_uring && opts_.read_ahead_blocks == 0),
      records_(opts_.max_record_bytes, opts_.read_ahead_blocks ? gor_record_reader::skip_handler{} : on_skip) {
  opts_.read_depth = std::max<std::size_t>(opts_.read_depth, 1);
  opts_.block_bytes = std::max<std::size_t>(opts_.block_bytes, 4096);
  file_size_ = file_.size();
  if (opts_.read_ahead_blocks) {
    on_skip_ = std::move(on_skip);
    gor_read_ahead_options a;
    a.block_bytes = opts_.block_bytes;
    a.max_record_bytes = opts_.max_record_bytes;
    a.depth = opts_.read_ahead_blocks;
    a.gzip = ends_with_gz(path_);
    ahead_ = std::make_unique<gor_read_ahead>(ex, std::move(file_), path_, a);
    return;
  }
  if (ends_with_gz(path_)) gunzip_.emplace();
}

gor_file_reader::~gor_file_reader() = default;

void gor_file_reader::adopt(gor_read_ahead::batch* b) {
  batch_ = b;
  next_ = last_ = nullptr;
  skip_next_ = skip_last_ = nullptr;
  if (!b) return;
  if (b->region.size) region_.reset(b->span(b->region), opts_.max_record_bytes);
  next_ = b->records.data();
  last_ = next_ + b->records.size();
  skip_next_ = b->skips.data();
  skip_last_ = skip_next_ + b->skips.size();
  bytes_read_ = b->bytes_read;
}

// The thread's skips (oversized records) before `offset`, so that they and the malformed
// records found here are reported in file order.
void gor_file_reader::report_skips_before(std::uint64_t offset) {
  for (; skip_next_ != skip_last_ && skip_next_->offset < offset; ++skip_next_)
    if (on_skip_) on_skip_(*skip_next_);
}

// A record of the current batch into the window, its meta line parsed here.
[[gnu::always_inline]] inline void gor_file_reader::take(const gor_record_span& r) {
  if (skip_next_ != skip_last_) [[unlikely]] report_skips_before(r.offset);
  message_meta meta;
  if (!message::parse_meta(r.bytes, meta)) [[unlikely]] {
    if (on_skip_) on_skip_(gor_record_skip{gor_record_skip::reason::malformed_meta, r.offset, r.bytes.size()});
    return;
  }
  window_.push(meta.timestamp_ns, [&] { return message::parse_view(batch_->block, r.bytes, meta); });
}

// With read-ahead: one record of the current batch (first those of the region the thread left
// to split here, then the listed ones) into the window, or the next batch taken (its byte
// count kept), or `wait` when the thread has none ready.
[[gnu::always_inline]] inline gor_file_reader::ahead_step gor_file_reader::step_ahead() {
  if (region_.active()) {
    gor_record_span r;
    gor_record_skip skip;
    if (region_.next(r, skip) == gor_region_splitter::step::record) {
      take(r);
    } else {
      report_skips_before(skip.offset);
      if (on_skip_) on_skip_(skip);
    }
    return ahead_step::record;
  }
  if (next_ != last_) {
    const gor_record_span r = batch_->span(*next_++);
    // The record's first line was written on the other core: fetch a few records early.
    if (last_ - next_ > meta_prefetch) __builtin_prefetch(batch_->block.get() + next_[meta_prefetch].start);
    take(r);
    return ahead_step::record;
  }
  if (skip_next_ != skip_last_) report_skips_before(UINT64_MAX);
  if (done_) return ahead_step::done;
  if (batch_ && batch_->end) {
    done_ = true;
    if (batch_->error) std::rethrow_exception(batch_->error);
    return ahead_step::done;
  }
  adopt(ahead_->try_next());
  return batch_ ? ahead_step::record : ahead_step::wait;  // maybe no record: the next step says
}

asio::awaitable<void> gor_file_reader::fill() {
  if (ahead_) {
    while (!fill_buffered()) adopt(co_await ahead_->next());
    co_return;
  }
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
  if (ahead_) {
    const std::size_t depth = opts_.read_depth;
    while (window_.size() < depth) {
      auto st = step_ahead();
      if (st == ahead_step::done) return true;
      if (st == ahead_step::wait) return false;
    }
    return true;
  }
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
    throw e.in_file(path_);
  }
}

gor_file_merge::gor_file_merge(asio::any_io_executor ex, std::vector<std::string> paths,
                               gor_file_read_options opts,
                               std::function<void(const std::string&, const gor_record_skip&)> on_skip)
    : ex_(std::move(ex)), paths_(std::move(paths)), opts_(opts), on_skip_(std::move(on_skip)) {
  if (paths_.size() > read_ahead_files) opts_.read_ahead_blocks = 0;
  files_.resize(paths_.size());
  skips_reported_.resize(paths_.size());
}

gor_file_merge::~gor_file_merge() = default;

std::unique_ptr<gor_file_reader> gor_file_merge::open(std::size_t i, const gor_file_read_options& o) {
  gor_record_reader::skip_handler h;
  // A file read twice (a peek, then for good) reports each skipped record once: skips come
  // in offset order, so the second pass stays quiet up to where the first one got.
  if (on_skip_)
    h = [this, i](const gor_record_skip& s) {
      if (s.offset < skips_reported_[i]) return;
      skips_reported_[i] = s.offset + 1;
      on_skip_(paths_[i], s);
    };
  return std::make_unique<gor_file_reader>(ex_, paths_[i], o, std::move(h));
}

std::uint64_t gor_file_merge::bytes_read() const noexcept {
  std::uint64_t n = done_bytes_;
  for (auto& f : files_)
    if (f) n += f->bytes_read();
  return n;
}

std::size_t gor_file_merge::open_files() const noexcept {
  std::size_t n = 0;
  for (auto& f : files_) n += f != nullptr;
  return n;
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

asio::awaitable<void> gor_file_merge::prime() {
  primed_ = true;
  if (paths_.size() <= eager_files) {
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      files_[i] = open(i, opts_);
      total_bytes_ += files_[i]->file_size();
    }
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      co_await files_[i]->fill();
      reinsert(i);
    }
    co_return;
  }
  // Learn each file's first head with a small block, one file open at a time.
  gor_file_read_options peek = opts_;
  peek.block_bytes = std::min<std::size_t>(opts_.block_bytes, 64 << 10);
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    auto f = open(i, peek);
    total_bytes_ += f->file_size();
    co_await f->fill();
    if (!f->empty()) waiting_.emplace_back(f->top_timestamp(), i);
  }
  // Descending, so the next file to open is at the back.
  std::sort(waiting_.begin(), waiting_.end(), [](auto& a, auto& b) { return a > b; });
}

bool gor_file_merge::activation_due() const noexcept {
  if (waiting_.empty()) return false;
  if (heap_.empty()) return true;
  auto top = heap_.front();
  auto head = waiting_.back();
  auto ts = files_[top]->top_timestamp();
  return head.first < ts || (head.first == ts && head.second < top);
}

asio::awaitable<void> gor_file_merge::activate(std::size_t i) {
  files_[i] = open(i, opts_);
  co_await files_[i]->fill();
  reinsert(i);
}

void gor_file_merge::reinsert(std::size_t i) {
  auto& f = files_[i];
  if (f->empty()) {
    // Finished: free its buffers; only its byte count is kept.
    done_bytes_ += f->bytes_read();
    f.reset();
    return;
  }
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
    auto& f = *files_[*refill_];
    if (!f.fill_buffered()) return nullptr;
    // The only open file, none waiting: its head is next, no heap to keep (refill_ stays).
    if (heap_.empty() && waiting_.empty() && !f.empty()) return f.pop();
    reinsert(*refill_);
    refill_.reset();
  }
  if (activation_due()) return nullptr;
  return pop_top();
}

asio::awaitable<message_ptr> gor_file_merge::next() {
  if (!primed_) co_await prime();
  if (refill_) {
    co_await files_[*refill_]->fill();
    reinsert(*refill_);
    refill_.reset();
  }
  while (activation_due()) {
    auto i = waiting_.back().second;
    waiting_.pop_back();
    co_await activate(i);
  }
  co_return pop_top();
}

std::vector<std::string> expand_input_glob(const std::string& pattern) {
  if (pattern.rfind("s3://", 0) == 0)
    throw std::runtime_error("'" + pattern + "': s3:// inputs are not supported (gor PRO)");
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
