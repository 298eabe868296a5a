// What a gor_record_reader hands out, record by record and skip by skip, in order, as strings
// ("R@offset:bytes", "S<reason>@offset+size"): through next_span() alone, or (regions) through
// next_region() taken apart by gor_region_splitter first, as the file input's reader thread
// and its consumer do. The two must agree (unit test and fuzzer).
#pragma once

#include "core/gor_record.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace coreplay::test {

inline std::vector<std::string> record_events(std::string_view in, std::size_t piece, std::size_t max, bool regions,
                                              std::size_t* region_count = nullptr) {
  std::vector<std::string> out;
  auto skip = [&](const gor_record_skip& s) {
    out.push_back("S" + std::to_string(static_cast<int>(s.why)) + "@" + std::to_string(s.offset) + "+" +
                  std::to_string(s.size));
  };
  gor_record_reader r(max, skip);
  auto drain = [&] {
    gor_record_span s;
    if (regions && r.next_region(s)) {
      if (region_count) ++*region_count;
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

}  // namespace coreplay::test
