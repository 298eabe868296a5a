#include "core/registry.hpp"

#include <iomanip>
#include <ostream>
#include <sstream>

namespace coreplay {

void registry::add_pending(std::string group, std::vector<option_spec> specs) {
  for (auto& s : specs) {
    s.group = group;
    s.implemented = false;
    specs_.push_back(std::move(s));
  }
}

void registry::make_value_optional(std::string_view flag) {
  for (auto& s : specs_)
    if (s.flag == flag) s.optional_value = true;
}

const option_spec* registry::find(std::string_view flag) const {
  for (auto& s : specs_)
    if (s.flag == flag) return &s;
  return nullptr;
}

std::string registry::closest(std::string_view flag) const {
  std::string best;
  std::size_t best_d = SIZE_MAX;
  for (auto& s : specs_) {
    auto d = edit_distance(flag, s.flag);
    // A flag that starts with what was typed is a good guess too (--input-fil → --input-file).
    if (s.flag.rfind(flag, 0) == 0 && flag.size() >= 4) d = std::min<std::size_t>(d, 1);
    if (d < best_d) best_d = d, best = s.flag;
  }
  return best_d <= std::max<std::size_t>(3, flag.size() / 3) ? best : std::string{};
}

void registry::print_help(std::ostream& os) const {
  os << "Usage: coreplay [flags]            capture, record and replay HTTP traffic (gor's flags)\n"
        "       coreplay run PIPELINE.yaml  run a pipeline file (keys are flag names)\n"
        "       coreplay validate FILE.yaml check a pipeline file without running it\n"
        "       coreplay --version\n\n"
        "Flags take '--flag value', '--flag=value' or '-flag value'. Sizes: 4096, 64kb, 32mb, 1gb.\n"
        "Durations: 100ms, 2s, 1m30s, 1h. Input and output addresses take a limit suffix:\n"
        "'addr|100' (at most 100 messages per second) or 'addr|50%' (sampling; on --input-file\n"
        "and --input-kafka a speed factor: 200% replays twice as fast).\n";
  std::string group;
  for (auto& s : specs_) {
    if (s.group != group) {
      group = s.group;
      os << "\n" << group << ":\n";
    }
    std::string left = "  --" + s.flag;
    switch (s.kind) {
      case value_kind::flag: break;
      case value_kind::integer: case value_kind::integer_list: left += " N"; break;
      case value_kind::number: left += " X"; break;
      case value_kind::size: left += " SIZE"; break;
      case value_kind::duration: left += " DURATION"; break;
      case value_kind::text: case value_kind::text_list: left += " VALUE"; break;
    }
    os << std::left << std::setw(44) << left << " " << s.help;
    if (s.kind == value_kind::text_list || s.kind == value_kind::integer_list) os << " (repeatable)";
    if (!s.default_text.empty() && s.default_text != "false") os << " (default " << s.default_text << ")";
    if (!s.implemented) os << " [not implemented in this build]";
    os << "\n";
  }
}

void registry::validate(const raw_options& raw) const {
  for (auto& [flag, values] : raw.all()) {
    auto* s = find(flag);
    if (!s) throw option_error(values.front().origin + ": unknown flag");
    if (!s->implemented)
      throw option_error(values.front().origin + ": not implemented in this build (" + s->group + ")");
  }
  for (auto& v : validators_) v(raw);
  // Address values must carry a valid limit suffix.
  for (auto& p : plugins_)
    if (auto* vs = raw.find(p.flag); vs && !p.boolean_flag)
      for (auto& v : *vs) (void)split_limit_for(v);
}

std::pair<std::string, rate_limit> registry::split_limit_for(const option_value& v) {
  try {
    return split_address_limit(v.text);
  } catch (const std::invalid_argument& e) {
    throw option_error(v.origin + ": " + e.what());
  }
}

std::size_t registry::input_count(const raw_options& raw) const {
  std::size_t n = 0;
  for (auto& p : plugins_)
    if (p.input)
      if (auto* vs = raw.find(p.flag))
        n += p.boolean_flag ? (parse_bool(vs->back().text, vs->back().origin) ? 1 : 0) : vs->size();
  return n;
}

std::size_t registry::output_count(const raw_options& raw) const {
  std::size_t n = 0;
  for (auto& p : plugins_)
    if (!p.input)
      if (auto* vs = raw.find(p.flag))
        n += p.boolean_flag ? (parse_bool(vs->back().text, vs->back().origin) ? 1 : 0) : vs->size();
  return n;
}

void registry::build(pipeline& pl, const raw_options& raw) const {
  for (auto& setup : setups_) setup(pl, raw);
  for (auto& p : plugins_) {
    auto* vs = raw.find(p.flag);
    if (!vs) continue;
    if (p.boolean_flag) {
      if (parse_bool(vs->back().text, vs->back().origin))
        p.create(pl, raw, option_value{"", vs->back().origin});
      continue;
    }
    for (auto& v : *vs) p.create(pl, raw, v);
  }
}

}  // namespace coreplay
