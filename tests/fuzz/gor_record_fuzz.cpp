// libFuzzer: the gor record reader on arbitrary bytes, fed in arbitrary pieces. Every record it
// returns must be the exact input bytes at its offset, and memory must stay bounded.
#include "core/gor_record.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

using namespace coreplay;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::size_t piece = 1 + data[0] % 64;
  std::size_t max = 16 + data[1] * 4;
  std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
  gor_record_reader r(max);
  auto check = [&](const message_ptr& m) {
    auto rec = m->record();
    if (rec.size() > max) std::abort();
    if (r.last_offset() + rec.size() > in.size()) std::abort();
    if (std::memcmp(in.data() + r.last_offset(), rec.data(), rec.size()) != 0) std::abort();
  };
  for (std::size_t i = 0; i < in.size(); i += piece) {
    r.feed(in.substr(i, piece));
    while (auto m = r.next()) check(m);
    if (r.buffered() > max + 14 + piece) std::abort();
  }
  r.finish();
  while (auto m = r.next()) check(m);
  if (r.buffered() != 0) std::abort();
  return 0;
}
