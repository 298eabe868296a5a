#include "outputs/file/chunk_naming.hpp"

#include <charconv>
#include <filesystem>
#include <random>
#include <system_error>
#include <vector>

namespace coreplay {

namespace {

void append_2(std::string& out, int v) {
  out += static_cast<char>('0' + (v / 10) % 10);
  out += static_cast<char>('0' + v % 10);
}

std::optional<int> parse_index(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  // Go's strconv.Atoi accepts a sign; gor's names never have one, but be as lenient.
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data() + (digits[0] == '+' ? 1 : 0), digits.data() + digits.size(), v);
  if (ec != std::errc{} || p != digits.data() + digits.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string expand_path_template(std::string_view tmpl, const path_tokens& t) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (c != '%' || i + 1 == tmpl.size()) {
      out += c;
      continue;
    }
    char k = tmpl[i + 1];
    switch (k) {
      case 'Y': out += std::to_string(t.local_time.tm_year + 1900); break;
      case 'm': append_2(out, t.local_time.tm_mon + 1); break;
      case 'd': append_2(out, t.local_time.tm_mday); break;
      case 'H': append_2(out, t.local_time.tm_hour); break;
      case 'M': append_2(out, t.local_time.tm_min); break;
      case 'S': append_2(out, t.local_time.tm_sec); break;
      case 'r': out += t.request_id; break;
      case 't': out += t.payload_type; break;
      case 'i': out += t.instance; break;
      case 'N':
        if (i + 2 < tmpl.size() && tmpl[i + 2] == 'S') {
          out += std::to_string(t.nanosecond);
          ++i;
          break;
        }
        [[fallthrough]];
      default:
        out += c;
        continue;  // not a token: keep '%' and look at the next char normally
    }
    ++i;
  }
  return out;
}

bool template_has_tokens(std::string_view tmpl) {
  for (std::string_view tok : {"%Y", "%m", "%d", "%H", "%M", "%S", "%NS", "%r", "%t", "%i"})
    if (tmpl.find(tok) != std::string_view::npos) return true;
  return false;
}

std::string_view file_extension(std::string_view path) {
  for (std::size_t i = path.size(); i-- > 0;) {
    if (path[i] == '/') break;
    if (path[i] == '.') return path.substr(i);
  }
  return {};
}

int file_index(std::string_view path) {
  auto ext = file_extension(path);
  auto stem = path.substr(0, path.size() - ext.size());
  auto us = stem.rfind('_');
  if (us == std::string_view::npos) return -1;
  auto v = parse_index(stem.substr(us + 1));
  return v ? *v : -1;
}

std::string with_file_index(std::string_view path, int index) {
  auto ext = file_extension(path);
  auto stem = path.substr(0, path.size() - ext.size());
  auto us = stem.rfind('_');
  if (us != std::string_view::npos && parse_index(stem.substr(us + 1))) stem = stem.substr(0, us);
  std::string out(stem);
  out += '_';
  out += std::to_string(index);
  out += ext;
  return out;
}

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path.front() == '/';
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    auto part = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (part.empty() || part == ".") {
    } else if (part == "..") {
      if (!parts.empty() && parts.back() != "..") parts.pop_back();
      else if (!rooted) parts.push_back(part);
    } else {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  std::string out = rooted ? "/" : "";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  if (out.empty()) out = ".";
  return out;
}

std::optional<int> last_chunk_index(const std::string& path) {
  namespace fs = std::filesystem;
  // Names look like <stem>_<N><ext> in the directory of `path`.
  std::string probe = with_file_index(path, 0);
  auto ext = std::string(file_extension(probe));
  auto slash = probe.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : probe.substr(0, slash));
  std::string base = slash == std::string::npos ? probe : probe.substr(slash + 1);
  std::string prefix = base.substr(0, base.size() - ext.size() - 1);  // "<stem>_"
  std::optional<int> best;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + ext.size()) continue;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    if (name.compare(name.size() - ext.size(), ext.size(), ext) != 0) continue;
    std::string_view digits(name.data() + prefix.size(), name.size() - prefix.size() - ext.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) continue;
    if (auto v = parse_index(digits); v && (!best || *v > *best)) best = v;
  }
  return best;
}

std::optional<int> last_chunk_index_probe(const std::string& path) {
  std::optional<int> last;
  std::error_code ec;
  for (int i = 0; std::filesystem::exists(with_file_index(path, i), ec); ++i) last = i;
  return last;
}

chunk_planner::placement chunk_planner::place(const std::string& path) {
  if (append_) {
    if (path == name_) return {false, name_};
    path_ = name_ = path;
    return {true, name_};
  }
  if (name_.empty()) {
    auto last = last_chunk_index(path);
    index_ = last ? *last + 1 : 0;
  } else if (path != path_) {
    auto last = last_chunk_index_probe(path);
    index_ = last ? *last : 0;
  } else if ((queue_limit_ > 0 && records_ >= queue_limit_) || (size_limit_ > 0 && bytes_ >= size_limit_)) {
    ++index_;
  } else {
    return {false, name_};
  }
  path_ = path;
  name_ = with_file_index(path, index_);
  return {true, name_};
}

const std::string& process_instance_id() {
  static const std::string id = [] {
    static constexpr char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::random_device rd;
    std::string s(8, 'a');
    for (auto& c : s) c = letters[rd() % 52];
    return s;
  }();
  return id;
}

}  // namespace coreplay
