// Cost of the HTTP modifiers per request and of the middleware hex codec per byte, each next
// to a plain copy of the same bytes (the floor any filter that edits must pay).
// Usage: bench_modifiers [iterations]
#include <coreplay/message.hpp>

#include "core/http/http_modifier.hpp"
#include "core/http/http_prettifier.hpp"
#include "core/http/middleware_codec.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace coreplay;
using namespace coreplay::http;
using clock_type = std::chrono::steady_clock;

namespace {

volatile std::size_t keep_alive;  // keeps results alive

// The best of 5 runs: the machine is shared, and noise only ever adds time.
template <class F>
double ns_per_op(std::size_t iterations, F&& f) {
  for (std::size_t i = 0; i < iterations / 10 + 1; ++i) f(i);  // warm up
  double best = 1e300;
  for (int run = 0; run < 5; ++run) {
    auto t0 = clock_type::now();
    for (std::size_t i = 0; i < iterations; ++i) f(i);
    auto t1 = clock_type::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() /
                              static_cast<double>(iterations));
  }
  return best;
}

std::vector<std::string> make_requests(std::size_t n) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i) {
    std::string user = "user-" + std::to_string(i * 7919 % 100000);
    v.push_back("GET /v1/items/" + std::to_string(i) + "?page=2&sort=desc&user_id=" + user +
                " HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) "
                "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
                "Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\n"
                "Accept-Language: en-US,en;q=0.9\r\nX-User: " + user +
                "\r\nCookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
                "Connection: keep-alive\r\n\r\n");
  }
  return v;
}

void report(const char* what, double ns, double ref_ns) {
  std::printf("%-52s %9.1f ns/op   (%.1fx the copy)\n", what, ns, ref_ns > 0 ? ns / ref_ns : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t iters = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  auto reqs = make_requests(1024);
  std::size_t avg = 0;
  for (auto& r : reqs) avg += r.size();
  avg /= reqs.size();
  std::printf("requests: %zu distinct, %zu bytes on average, %zu iterations\n\n", reqs.size(), avg,
              iters);

  std::string copy;
  double copy_ns = ns_per_op(iters, [&](std::size_t i) {
    copy.assign(reqs[i & 1023]);
    keep_alive = copy.size();
  });
  report("reference: copy the payload into a string", copy_ns, copy_ns);

  auto msgs = std::vector<message_ptr>();
  for (auto& r : reqs) msgs.push_back(message::make(message_type::request, make_message_id(), 1, std::nullopt, r));
  double with_payload_ns = ns_per_op(iters, [&](std::size_t i) {
    keep_alive = msgs[i & 1023]->with_payload(reqs[i & 1023])->record().size();
  });
  report("reference: message::with_payload (new message)", with_payload_ns, copy_ns);

  struct chain {
    const char* name;
    http_modifier_options o;
  };
  std::vector<chain> chains;
  {
    http_modifier_options o;
    o.allow_method = {"GET", "POST"};
    chains.push_back({"filter only: allow-method", o});
  }
  {
    http_modifier_options o;
    o.allow_method = {"GET", "POST"};
    o.disallow_url = {"^/health"};
    o.header_limiter = {"X-User: 50%"};
    chains.push_back({"filters: method, disallow-url, header-limiter", o});
  }
  {
    http_modifier_options o;
    o.allow_method = {"GET", "POST"};
    o.set_header = {"X-Replayed: 1"};
    o.disallow_url = {"^/health"};
    o.allow_header = {"Host: example\\.com$"};
    o.param_limiter = {"user_id: 100%"};
    o.rewrite_url = {"^/v1/(.*):/v2/$1"};
    chains.push_back({"typical: method,set-header,url,header,limit,rewrite", o});
  }
  for (auto& c : chains) {
    http_modifier m(c.o);
    std::string out;
    std::size_t dropped = 0;
    double ns = ns_per_op(iters, [&](std::size_t i) {
      auto r = m.rewrite(reqs[i & 1023], out);
      dropped += r == http_modifier::outcome::dropped;
      keep_alive = out.size();
    });
    report(c.name, ns, copy_ns);
    double apply_ns = ns_per_op(iters, [&](std::size_t i) {
      auto r = m.apply(msgs[i & 1023]);
      keep_alive = r ? r->record().size() : 0;
    });
    std::printf("%-52s %9.1f ns/op   (dropped %.0f%%)\n", "  as message_filter::apply", apply_ns,
                100.0 * static_cast<double>(dropped) / static_cast<double>(5 * iters + iters / 10 + 1));
  }
  {
    // A 3 KiB cookie: the literal prefix "session=" lets the regex start near its match.
    http_modifier_options o;
    o.allow_header = {"Cookie: session=[0-9a-f]+"};
    http_modifier m(o);
    std::string big = "GET / HTTP/1.1\r\nHost: a\r\nCookie: " + std::string(3000, 'x') +
                      "; session=0123abcd\r\n\r\n";
    std::string out;
    double ns = ns_per_op(std::max<std::size_t>(iters / 100, 100), [&](std::size_t) {
      keep_alive = static_cast<std::size_t>(m.rewrite(big, out));
    });
    report("allow-header regex on a 3 KiB Cookie", ns, copy_ns);
    o.allow_header = {"Cookie: session=0123"};
    http_modifier lit(o);
    ns = ns_per_op(iters, [&](std::size_t) { keep_alive = static_cast<std::size_t>(lit.rewrite(big, out)); });
    report("allow-header literal on a 3 KiB Cookie", ns, copy_ns);
    // Worst case: a repeating regex with no literal prefix over 3 KiB takes the deep-stack
    // thread (pattern.hpp).
    o.allow_header = {"Cookie: ^(x|y)+;"};
    http_modifier deep(o);
    ns = ns_per_op(std::max<std::size_t>(iters / 100, 100), [&](std::size_t) {
      keep_alive = static_cast<std::size_t>(deep.rewrite(big, out));
    });
    report("allow-header repeating regex, 3 KiB (deep stack)", ns, copy_ns);
  }
  {
    // Check the typical chain's result once: the bench measures the right thing.
    http_modifier m(chains.back().o);
    std::string out;
    if (m.rewrite(reqs[3], out) != http_modifier::outcome::changed ||
        out.find("GET /v2/items/3?") != 0 || out.find("\r\nX-Replayed: 1\r\n") == std::string::npos) {
      std::fprintf(stderr, "typical chain produced an unexpected request\n");
      return 1;
    }
  }

  std::printf("\n");
  {
    http_prettifier p;
    std::string chunked = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 16; ++i) chunked += "100\r\n" + std::string(256, 'j') + "\r\n";
    chunked += "0\r\n\r\n";
    std::string out;
    double ns = ns_per_op(iters / 4, [&](std::size_t) {
      keep_alive = p.prettify(chunked, out) == http_prettifier::outcome::changed ? out.size() : 0;
    });
    report("prettify: de-chunk a 4 KiB response", ns, copy_ns);
  }

  std::printf("\n");
  std::mt19937_64 rng(1);
  std::string block(1 << 20, '\0');
  for (auto& c : block) c = static_cast<char>(rng());
  std::string dst;
  dst.reserve(2 * block.size() + 1);
  const std::size_t rounds = std::max<std::size_t>(iters / 2000, 20);
  auto mbps = [&](double ns_per_round, std::size_t bytes) {
    return static_cast<double>(bytes) / (ns_per_round / 1e9) / 1e6;
  };
  std::string mc(block.size(), '\0');
  double memcpy_ns = ns_per_op(rounds, [&](std::size_t) {
    std::memcpy(mc.data(), block.data(), block.size());
    keep_alive = static_cast<unsigned char>(mc[rng() % mc.size()]);
  });
  double enc_ns = ns_per_op(rounds, [&](std::size_t) {
    dst.clear();
    hex_encode_append(dst, block);
    keep_alive = dst.size();
  });
  std::string hex = dst, back;
  double dec_ns = ns_per_op(rounds, [&](std::size_t) {
    keep_alive = hex_decode(hex, back);
  });
  if (back != block) {
    std::fprintf(stderr, "hex round trip failed\n");
    return 1;
  }
  std::printf("%-52s %9.0f MB/s\n", "reference: memcpy 1 MiB", mbps(memcpy_ns, block.size()));
  std::printf("%-52s %9.0f MB/s of input (%.1fx memcpy time)\n", "middleware hex encode",
              mbps(enc_ns, block.size()), enc_ns / memcpy_ns);
  std::printf("%-52s %9.0f MB/s of output (%.1fx memcpy time)\n", "middleware hex decode",
              mbps(dec_ns, block.size()), dec_ns / memcpy_ns);
  return 0;
}
