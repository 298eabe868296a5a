#include "core/config.hpp"

#include "core/registry.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>

namespace coreplay {

namespace {

bool is_bool_literal(const std::string& s) {
  std::string t = s;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t == "true" || t == "false";
}

bool looks_like_flag(const std::string& s) {
  if (s.size() < 2 || s[0] != '-') return false;
  // "-2" is a value (e.g. a Kafka offset), not a flag.
  return !(std::isdigit(static_cast<unsigned char>(s[1])));
}

std::string unknown_flag_message(const std::string& origin, const std::string& name, const registry& reg) {
  std::string msg = origin + ": unknown flag";
  auto near = reg.closest(name);
  if (!near.empty()) msg += " (did you mean --" + near + "?)";
  return msg + "; see --help";
}

}  // namespace

command_line parse_command_line(const std::vector<std::string>& args, const registry& reg) {
  command_line cmd;
  std::size_t i = 1;
  if (i < args.size() && (args[i] == "run" || args[i] == "validate")) {
    cmd.what = args[i] == "run" ? command_line::action::run : command_line::action::validate;
    if (i + 1 >= args.size()) throw option_error(args[i] + ": needs a pipeline file (coreplay " + args[i] + " FILE.yaml)");
    cmd.pipeline_file = args[i + 1];
    load_pipeline_file(cmd.pipeline_file, reg, cmd.raw);
    i += 2;
  } else if (i < args.size() && (args[i] == "help")) {
    cmd.what = command_line::action::help;
    return cmd;
  } else if (i < args.size() && args[i] == "version") {
    cmd.what = command_line::action::version;
    return cmd;
  }
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!looks_like_flag(a)) throw option_error("unexpected argument '" + a + "'; flags start with --, see --help");
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::string name = body, value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    if (name == "h" || name == "help") {
      cmd.what = command_line::action::help;
      return cmd;
    }
    if (name == "version" || name == "v") {
      cmd.what = command_line::action::version;
      return cmd;
    }
    std::string origin = "--" + name;
    auto* spec = reg.find(name);
    if (!spec) throw option_error(unknown_flag_message(origin, name, reg));
    if (spec->kind == value_kind::flag) {
      if (!has_value) {
        if (i + 1 < args.size() && is_bool_literal(args[i + 1])) value = args[++i];
        else value = "true";
      }
      (void)parse_bool(value, origin);
    } else if (!has_value) {
      if (i + 1 < args.size() && !(spec->optional_value && looks_like_flag(args[i + 1]))) {
        value = args[++i];
      } else if (spec->optional_value) {
        value.clear();
      } else {
        throw option_error(origin + ": needs a value");
      }
    }
    cmd.raw.add(name, std::move(value), std::move(origin));
  }
  return cmd;
}

void load_pipeline_file(const std::string& path, const registry& reg, raw_options& into) {
  YAML::Node root;
  {
    std::ifstream probe(path);
    if (!probe) throw option_error(path + ": cannot open the pipeline file");
  }
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    throw option_error(path + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    throw option_error(path + ": " + e.what());
  }
  if (root.IsNull()) throw option_error(path + ": the pipeline file is empty");
  if (!root.IsMap())
    throw option_error(path + ":" + std::to_string(root.Mark().line + 1) +
                       ": expected a mapping of flag names to values (e.g. input-raw: \":8080\")");
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node key_node = it->first;  // the iterator yields a temporary pair
    const YAML::Node value = it->second;
    std::string where = path + ":" + std::to_string(key_node.Mark().line + 1);
    if (!key_node.IsScalar()) throw option_error(where + ": keys are flag names");
    std::string key = key_node.Scalar();
    while (!key.empty() && key[0] == '-') key.erase(0, 1);
    std::replace(key.begin(), key.end(), '_', '-');
    auto* spec = reg.find(key);
    if (!spec) {
      std::string msg = where + ": unknown key '" + key_node.Scalar() + "'";
      auto near = reg.closest(key);
      if (!near.empty()) msg += " (did you mean '" + near + "'?)";
      throw option_error(msg);
    }
    std::string origin = where + ": " + key;
    auto add_scalar = [&](const YAML::Node& n, const std::string& o) {
      if (n.IsNull()) {
        if (spec->kind == value_kind::flag) into.add(key, "true", o);
        else if (spec->optional_value) into.add(key, "", o);
        else throw option_error(o + ": needs a value");
        return;
      }
      if (!n.IsScalar()) throw option_error(o + ": expected a value or a list of values");
      if (spec->kind == value_kind::flag) (void)parse_bool(n.Scalar(), o);
      into.add(key, n.Scalar(), o);
    };
    if (value.IsSequence()) {
      if (spec->kind != value_kind::text_list && spec->kind != value_kind::integer_list)
        throw option_error(origin + ": takes one value, not a list");
      for (const auto& item : value)
        add_scalar(item, path + ":" + std::to_string(item.Mark().line + 1) + ": " + key);
    } else if (value.IsMap()) {
      throw option_error(origin + ": expected a value or a list of values, not a mapping");
    } else {
      add_scalar(value, origin);
    }
  }
}

}  // namespace coreplay
