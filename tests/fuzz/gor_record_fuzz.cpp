// libFuzzer: the gor record reader on arbitrary bytes, fed in arbitrary pieces. Every record it
// returns must be the exact input bytes at its offset, and memory must stay bounded.
#include "core/gor_record.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

using namespace coreplay;

namespace {

// gor's algorithm, line by line (input_file.go:parse), as the reference: the records it keeps.
std::vector<std::string> reference_records(std::string_view in) {
  std::vector<std::string> out;
  std::string buf;
  std::size_t pos = 0;
  for (;;) {
    auto nl = in.find('\n', pos);
    if (nl == std::string_view::npos) break;  // gor drops the tail
    auto line = in.substr(pos, nl + 1 - pos);
    pos = nl + 1;
    if (line == gor_separator_line) {
      if (!buf.empty()) {
        std::string rec = buf.substr(0, buf.size() - 1);
        if (message::parse(rec)) out.push_back(rec);
      }
      buf.clear();
      continue;
    }
    buf += line;
  }
  return out;
}

// What a reader hands out, record by record and skip by skip, in order: through next_span()
// alone, or (regions) through next_region() split by gor_region_splitter first, as the file
// input's reader thread and its consumer do. Both must give the same.
std::vector<std::string> spans_of(std::string_view in, std::size_t piece, std::size_t max, bool regions) {
  std::vector<std::string> out;
  auto skip = [&](const gor_record_skip& s) {
    out.push_back("S" + std::to_string(static_cast<int>(s.why)) + "@" + std::to_string(s.offset) + "+" +
                  std::to_string(s.size));
  };
  gor_record_reader r(max, skip);
  auto drain = [&] {
    gor_record_span s;
    if (regions && r.next_region(s)) {
      gor_region_splitter split;
      split.reset(s, max);
      gor_record_span v;
      gor_record_skip k;
      for (;;) {
        auto st = split.next(v, k);
        if (st == gor_region_splitter::step::done) break;
        if (st == gor_region_splitter::step::skip) skip(k);
        else out.push_back("R@" + std::to_string(v.offset) + ":" + std::string(v.bytes));
      }
    }
    while (r.next_span(s)) out.push_back("R@" + std::to_string(s.offset) + ":" + std::string(s.bytes));
  };
  for (std::size_t i = 0; i < in.size(); i += piece) {
    r.feed(in.substr(i, piece));
    drain();
  }
  r.finish();
  drain();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t piece = 1 + data[0] % 64;
  // Odd: compare with gor's algorithm (no size limit). Even: a small limit, bounded memory.
  const bool differential = data[1] & 1;
  std::size_t max = differential ? (std::size_t{1} << 30) : 16 + data[1] * 4;
  std::vector<std::string> got;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  gor_record_reader r(max);
  auto check = [&](const message_ptr& m) {
    auto rec = m->record();
    if (rec.size() > max) std::abort();
    if (r.last_offset() + rec.size() > in.size()) std::abort();
    if (std::memcmp(in.data() + r.last_offset(), rec.data(), rec.size()) != 0) std::abort();
    if (differential) got.emplace_back(rec);
  };
  for (std::size_t i = 0; i < in.size(); i += piece) {
    r.feed(in.substr(i, piece));
    while (auto m = r.next()) check(m);
    if (r.buffered() > max + 14 + piece) std::abort();
  }
  r.finish();
  while (auto m = r.next()) check(m);
  if (r.buffered() != 0) std::abort();
  if (spans_of(in, piece, max, false) != spans_of(in, piece, max, true)) std::abort();
  if (differential) {
    // Ours = gor's records, plus possibly the final record gor drops.
    auto ref = reference_records(in);
    if (got.size() < ref.size() || got.size() > ref.size() + 1) std::abort();
    for (std::size_t i = 0; i < ref.size(); ++i)
      if (got[i] != ref[i]) std::abort();
  }
  return 0;
}
