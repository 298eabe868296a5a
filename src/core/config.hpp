// Reading what the user asked for: gor's command line, or a pipeline YAML file.
#pragma once

#include "core/options.hpp"

#include <string>
#include <vector>

namespace coreplay {

class registry;

struct command_line {
  enum class action { run, validate, help, version };
  action what = action::run;
  raw_options raw;
  std::string pipeline_file;  // `coreplay run FILE` / `coreplay validate FILE`
};

// gor's syntax: --flag value, --flag=value, -flag value, repeated flags, booleans alone or
// as --flag=true (a following literal true/false is taken too, as gor's docs write it).
// Throws option_error naming the flag; an unknown flag names the closest known one.
command_line parse_command_line(const std::vector<std::string>& args, const registry& reg);

// The flat form: a mapping of flag names (without dashes) to scalars or lists of scalars.
// Errors name the file and line. Values are appended to `into` (so later CLI flags override).
void load_pipeline_file(const std::string& path, const registry& reg, raw_options& into);

}  // namespace coreplay
