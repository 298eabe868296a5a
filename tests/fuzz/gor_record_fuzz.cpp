// libFuzzer: the gor record reader on arbitrary bytes, fed in arbitrary pieces. Every record it
// returns must be the exact input bytes at its offset, and memory must stay bounded.
#include "core/gor_record.hpp"
#include "support/gor_record_events.hpp"

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
  if (test::record_events(in, piece, max, false) != test::record_events(in, piece, max, true)) std::abort();
  if (differential) {
    // Ours = gor's records, plus possibly the final record gor drops.
    auto ref = reference_records(in);
    if (got.size() < ref.size() || got.size() > ref.size() + 1) std::abort();
    for (std::size_t i = 0; i < ref.size(); ++i)
      if (got[i] != ref[i]) std::abort();
  }
  return 0;
}
