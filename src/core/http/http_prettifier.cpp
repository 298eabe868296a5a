#include "core/http/http_prettifier.hpp"

#include "core/http/http_view.hpp"

#include <zlib.h>

#include <charconv>
#include <cstring>
#include <optional>

namespace coreplay::http {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One line from pos: its text without EOL and the offset after the EOL; nullopt if no LF.
std::optional<std::pair<std::string_view, std::size_t>> line_at(std::string_view s,
                                                                std::size_t pos) {
  if (pos >= s.size()) return std::nullopt;
  const void* nl = std::memchr(s.data() + pos, '\n', s.size() - pos);
  if (!nl) return std::nullopt;
  std::size_t n = static_cast<const char*>(nl) - s.data();
  std::size_t e = (n > pos && s[n - 1] == '\r') ? n - 1 : n;
  return std::pair{s.substr(pos, e - pos), n + 1};
}

bool token_is(std::string_view value, std::string_view a, std::string_view b = {}) {
  return iequals(value, a) || (!b.empty() && iequals(value, b));
}

}  // namespace

std::optional<std::size_t> decode_chunked(std::string_view body, std::string& out,
                                          std::string& trailers) {
  out.clear();
  trailers.clear();
  std::size_t pos = 0;
  for (;;) {
    auto line = line_at(body, pos);
    if (!line) return std::nullopt;
    std::string_view text = line->first;
    std::size_t size = 0, i = 0;
    for (; i < text.size(); ++i) {
      int d = hex_value(text[i]);
      if (d < 0) break;
      if (size > (SIZE_MAX >> 4)) return std::nullopt;
      size = size * 16 + static_cast<std::size_t>(d);
    }
    if (i == 0) return std::nullopt;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i < text.size() && text[i] != ';') return std::nullopt;  // only extensions may follow
    pos = line->second;
    if (size == 0) break;
    if (size > body.size() - pos) return std::nullopt;  // cut off
    out.append(body.substr(pos, size));
    pos += size;
    if (body.substr(pos, 2) == "\r\n")
      pos += 2;
    else if (body.substr(pos, 1) == "\n")
      pos += 1;
    else
      return std::nullopt;
  }
  // Trailer section: header lines up to an empty line. A capture that ends right after
  // the last chunk (no final empty line) is accepted as complete.
  for (;;) {
    if (pos >= body.size()) return pos;
    auto line = line_at(body, pos);
    if (!line) return std::nullopt;
    pos = line->second;
    if (line->first.empty()) return pos;
    if (line->first.find(':') == std::string_view::npos) return std::nullopt;
    if (!trailers.empty()) trailers.push_back('\n');
    trailers.append(line->first);
  }
}

bool gunzip(std::string_view in, std::string& out, std::size_t max_bytes) {
  out.clear();
  if (in.empty()) return false;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return false;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  std::size_t in_left = in.size();
  std::size_t produced = 0;
  out.resize(std::min<std::size_t>(std::max<std::size_t>(in.size() * 4, 4096), max_bytes + 1));
  bool ok = false;
  for (;;) {
    // zlib counts in uInt; feed and drain in slices that fit.
    uInt in_slice = static_cast<uInt>(std::min<std::size_t>(in_left, 1u << 30));
    zs.avail_in = in_slice;
    if (produced == out.size()) {
      if (out.size() > max_bytes) break;
      out.resize(std::min(out.size() * 2, max_bytes + 1));
    }
    uInt out_slice = static_cast<uInt>(std::min<std::size_t>(out.size() - produced, 1u << 30));
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = out_slice;
    int rc = inflate(&zs, Z_NO_FLUSH);
    std::size_t ate = in_slice - zs.avail_in, made = out_slice - zs.avail_out;
    in_left -= ate;
    produced += made;
    if (rc == Z_BUF_ERROR && ate == 0 && made == 0 && produced < out.size()) break;  // stuck
    if (produced > max_bytes) break;
    if (rc == Z_STREAM_END) {
      if (in_left == 0) {
        ok = true;
        break;
      }
      // Another gzip member follows (concatenated gzip is still one gzip body).
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && in_left == 0) break;  // truncated
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  inflateEnd(&zs);
  if (!ok) {
    out.clear();
    return false;
  }
  out.resize(produced);
  return true;
}

http_prettifier::outcome http_prettifier::prettify(std::string_view payload,
                                                   std::string& out) const {
  http_view v(payload);
  if (!v.has_start_line() || !v.head_complete()) return outcome::unchanged;
  bool chunked = false, gzipped = false;
  std::optional<header_field> content_length;
  v.for_each_header([&](const header_field& h) {
    if (iequals(h.name, "Transfer-Encoding") && token_is(h.value, "chunked")) chunked = true;
    else if (iequals(h.name, "Content-Encoding") && token_is(h.value, "gzip", "x-gzip"))
      gzipped = true;
    else if (!content_length && iequals(h.name, "Content-Length"))
      content_length = h;
    return true;
  });
  std::string_view rest = v.body();
  // A HEAD or 304 response announces its coding but carries no body: nothing to undo.
  if (rest.empty()) return outcome::unchanged;
  if (!chunked && !gzipped) return outcome::unchanged;

  std::string body_buf, trailers;
  std::string_view body;
  std::string_view after;  // bytes after this message's body (pipelined messages)
  if (chunked) {
    auto used = decode_chunked(rest, body_buf, trailers);
    if (!used) {
      stats_.bad_chunked.fetch_add(1, std::memory_order_relaxed);
      return outcome::failed;
    }
    body = body_buf;
    after = rest.substr(*used);
  } else {
    std::size_t len = rest.size();
    if (content_length) {
      std::size_t cl = 0;
      auto cv = content_length->value;
      auto [p, ec] = std::from_chars(cv.data(), cv.data() + cv.size(), cl);
      if (ec == std::errc{} && p == cv.data() + cv.size()) len = std::min(cl, rest.size());
    }
    body = rest.substr(0, len);
    after = rest.substr(len);
  }

  std::string inflated;
  bool do_gunzip = gzipped && !body.empty();  // HEAD/304: headers only, nothing to inflate
  if (do_gunzip) {
    if (!gunzip(body, inflated, opt_.max_inflated_bytes)) {
      stats_.bad_gzip.fetch_add(1, std::memory_order_relaxed);
      return outcome::failed;
    }
    body = inflated;
  }
  if (!chunked && !do_gunzip) return outcome::unchanged;

  // Rebuild the head: drop the codings we undid, add trailers, fix Content-Length.
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, body.size());
  std::string_view len(num, static_cast<std::size_t>(end - num));
  std::string head(payload.substr(0, v.body_begin()));
  if (chunked) {
    // Content-Length takes the place of Transfer-Encoding unless there is one already.
    http_view hv(head);
    auto te = hv.header("Transfer-Encoding");
    if (te && !hv.header("Content-Length")) {
      std::string line("Content-Length: ");
      line.append(len).append(hv.eol());
      head.replace(te->line_begin, te->line_end - te->line_begin, line);
    }
    delete_header(head, "Transfer-Encoding");
    if (!trailers.empty()) {
      delete_header(head, "Trailer");
      http_view tv_head(head);
      std::string lines;
      std::string_view tv = trailers;
      while (!tv.empty()) {
        auto nl = tv.find('\n');
        lines.append(tv.substr(0, nl)).append(tv_head.eol());
        if (nl == std::string_view::npos) break;
        tv.remove_prefix(nl + 1);
      }
      head.insert(tv_head.headers_end(), lines);
    }
  }
  if (do_gunzip) delete_header(head, "Content-Encoding");
  set_header(head, "Content-Length", len);

  out.clear();
  out.reserve(head.size() + body.size() + after.size());
  out.append(head).append(body).append(after);
  if (chunked) stats_.dechunked.fetch_add(1, std::memory_order_relaxed);
  if (do_gunzip) stats_.gunzipped.fetch_add(1, std::memory_order_relaxed);
  return outcome::changed;
}

std::string http_prettifier::summary() const {
  auto get = [](const std::atomic<std::uint64_t>& a) { return std::to_string(a.load(std::memory_order_relaxed)); };
  return "dechunked=" + get(stats_.dechunked) + " gunzipped=" + get(stats_.gunzipped) +
         " bad_chunked=" + get(stats_.bad_chunked) + " bad_gzip=" + get(stats_.bad_gzip);
}

message_ptr http_prettifier::apply(message_ptr m) {
  if (!m) return m;
  std::string out;
  if (prettify(m->payload(), out) != outcome::changed) return m;
  return m->with_payload(out);
}

}  // namespace coreplay::http
