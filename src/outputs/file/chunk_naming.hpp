// --output-file names: template tokens and gor's `_N` chunk suffixes (output_file.go).
#pragma once

#include <ctime>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coreplay {

// What the template tokens stand for at one write.
struct path_tokens {
  std::tm local_time{};        // %Y %m %d %H %M %S
  std::int64_t nanosecond = 0; // %NS: nanosecond of the second, not padded
  std::string_view request_id; // %r
  char payload_type = '1';     // %t
  std::string_view instance;   // %i
};

// Substitutes %Y %m %d %H %M %S %NS %r %t %i; other text (and unknown %x) stays as is.
std::string expand_path_template(std::string_view tmpl, const path_tokens& t);
// True if the template has a token whose value changes from write to write.
bool template_has_tokens(std::string_view tmpl);
// %r in the template: one file per request id (with its responses).
inline bool template_per_request(std::string_view tmpl) { return tmpl.find("%r") != std::string_view::npos; }

// Go's filepath.Ext: the last dot-suffix of the last path element ("x.gor.gz" → ".gz").
std::string_view file_extension(std::string_view path);
// gor's getFileIndex: N for "name_N.ext", else -1.
int file_index(std::string_view path);
// gor's setFileIndex: "a.gor",1 → "a_1.gor"; "a_3.gor",0 → "a_0.gor"; "a.gor.gz",0 → "a.gor_0.gz".
std::string with_file_index(std::string_view path, int index);
// filepath.Clean, lexically: "./a.gor" → "a.gor", "a//b/../c" → "a/c".
std::string clean_path(std::string_view path);

// The highest N among existing files named like with_file_index(path, N), if any. Unlike
// gor's glob, files that only share a prefix ("req-old_7.gor" for "req.gor") do not count.
std::optional<int> last_chunk_index(const std::string& path);

// The same, by probing name_0, name_1... with stat(2): O(chunks of this name), not O(directory).
// Used when the template changes mid-run (e.g. %r: one name per request).
std::optional<int> last_chunk_index_probe(const std::string& path);

// Decides which file each record goes to (gor's rules, output_file.go:filename), with two
// changes: files are always opened for appending, so nothing is ever truncated, and names
// are looked up only when a file is opened, not at every write.
// - append mode: the expanded template itself.
// - chunk mode, first file of the run: the last existing chunk + 1 (a restart never
//   overwrites), or _0.
// - the template expands to another name (time tokens, %r): continue that name's last chunk.
// - a chunk holds queue_limit records or size_limit bytes (0 = no limit): the next index.
class chunk_planner {
 public:
  chunk_planner(bool append, std::size_t queue_limit, std::uint64_t size_limit_bytes)
      : append_(append), queue_limit_(queue_limit), size_limit_(size_limit_bytes) {}

  struct placement {
    bool open_new;     // close the current file, open `name`
    std::string name;  // the file for this record
  };
  // `path`: the template expanded for this record, cleaned.
  placement place(const std::string& path);
  // The new file is open; it already holds `existing_bytes`.
  void opened(std::uint64_t existing_bytes) noexcept {
    records_ = 0;
    bytes_ = existing_bytes;
  }
  // A record went into the current file, taking `disk_bytes` there.
  void wrote(std::uint64_t disk_bytes) noexcept {
    ++records_;
    bytes_ += disk_bytes;
  }
  std::uint64_t records_in_file() const noexcept { return records_; }
  std::uint64_t bytes_in_file() const noexcept { return bytes_; }

 private:
  bool append_;
  std::size_t queue_limit_;
  std::uint64_t size_limit_;
  std::string path_;     // template expansion of the current file
  std::string name_;     // the current file
  int index_ = 0;
  std::uint64_t records_ = 0;
  std::uint64_t bytes_ = 0;
};

// 8 random letters [a-zA-Z], fixed for the process (%i).
const std::string& process_instance_id();

}  // namespace coreplay
