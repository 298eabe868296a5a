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

// 8 random letters [a-zA-Z], fixed for the process (%i).
const std::string& process_instance_id();

}  // namespace coreplay
