// The plugin registry: every plugin kind with its gor flag, its option group and its factory.
// One explicit list (registry.cpp), no static self-registration.
#pragma once

#include "core/options.hpp"

#include <coreplay/pipeline.hpp>

#include <iosfwd>
#include <memory>
#include <type_traits>
#include <string>
#include <vector>

namespace coreplay {

class registry {
 public:
  // A plugin created once per value of `flag` (`--input-file a.gor --input-file b.gor`).
  // make(address, options, limit) may consume `limit` (e.g. a file input's |200% is a speed);
  // what is left of it is applied by the pipeline. A make that also takes the raw options
  // (make(address, options, limit, raw)) can read process-wide flags.
  template <typename Opts, typename Make>
  void add_input(std::string flag, std::string help, option_group<Opts> group, Make make) {
    add_plugin<Opts>(std::move(flag), std::move(help), std::move(group), true, false,
                     [make](pipeline& p, const std::string& name, const std::string& address,
                            const Opts& o, rate_limit limit, const raw_options& raw) {
                       std::unique_ptr<source> src;
                       if constexpr (std::is_invocable_v<Make, const std::string&, const Opts&, rate_limit&,
                                                         const raw_options&>)
                         src = make(address, o, limit, raw);
                       else
                         src = make(address, o, limit);
                       p.add_source(name, std::move(src), limit);
                     });
  }
  // make(address, options, limit, queue_capacity[, raw]) for outputs.
  template <typename Opts, typename Make>
  void add_output(std::string flag, std::string help, option_group<Opts> group, Make make,
                  bool boolean_flag = false) {
    add_plugin<Opts>(std::move(flag), std::move(help), std::move(group), false, boolean_flag,
                     [make](pipeline& p, const std::string& name, const std::string& address,
                            const Opts& o, rate_limit limit, const raw_options& raw) {
                       std::size_t capacity = 0;
                       std::unique_ptr<sink> s;
                       if constexpr (std::is_invocable_v<Make, const std::string&, const Opts&, rate_limit&,
                                                         std::size_t&, const raw_options&>)
                         s = make(address, o, limit, capacity, raw);
                       else
                         s = make(address, o, limit, capacity);
                       p.add_sink(name, std::move(s), limit, capacity);
                     });
  }
  // A flag whose value may be left out (`--input-dummy` alone means `--input-dummy ""`).
  void make_value_optional(std::string_view flag);

  // Options that belong to no plugin (the process, the emitter, the modifiers).
  template <typename Opts>
  void add_group(const option_group<Opts>& group) {
    for (auto& s : group.specs()) specs_.push_back(s);
    validators_.push_back([group](const raw_options& raw) { (void)group.parse(raw); });
  }

  // Options that shape the pipeline itself (middleware, modifiers): `setup` runs on every
  // build with the parsed options.
  template <typename Opts, typename Setup>
  void add_pipeline_setup(const option_group<Opts>& group, Setup setup) {
    add_group(group);
    add_setup(group, setup);
  }
  // Another setup over a group already added (setups run in the order added).
  template <typename Opts, typename Setup>
  void add_setup(const option_group<Opts>& group, Setup setup) {
    setups_.push_back([group, setup](pipeline& p, const raw_options& raw) { setup(p, group.parse(raw)); });
  }

  // gor flags whose plugin this build does not have: accepted by the parser, rejected with
  // "not implemented in this build" when used.
  void add_pending(std::string group, std::vector<option_spec> specs);

  const option_spec* find(std::string_view flag) const;
  // The closest known flag, for "did you mean".
  std::string closest(std::string_view flag) const;
  const std::vector<option_spec>& specs() const noexcept { return specs_; }

  void print_help(std::ostream& os) const;
  // Parses every option value and rejects flags of plugins this build lacks.
  void validate(const raw_options& raw) const;
  std::size_t input_count(const raw_options& raw) const;
  std::size_t output_count(const raw_options& raw) const;
  // Creates every plugin the options name and adds it to the pipeline.
  void build(pipeline& p, const raw_options& raw) const;

 private:
  using factory = std::function<void(pipeline&, const raw_options&, const option_value&)>;
  struct plugin_entry {
    std::string flag;
    bool input = false;
    bool boolean_flag = false;
    factory create;
  };

  template <typename Opts, typename Add>
  void add_plugin(std::string flag, std::string help, option_group<Opts> group, bool input,
                  bool boolean_flag, Add add) {
    option_spec addr;
    addr.flag = flag;
    addr.kind = boolean_flag ? value_kind::flag : value_kind::text_list;
    addr.default_text = boolean_flag ? "false" : "";
    addr.help = std::move(help);
    addr.group = group.title();
    specs_.push_back(addr);
    for (auto& s : group.specs()) specs_.push_back(s);
    validators_.push_back([group](const raw_options& raw) { (void)group.parse(raw); });
    plugins_.push_back(plugin_entry{
        flag, input, boolean_flag,
        [group, add, flag](pipeline& p, const raw_options& raw, const option_value& v) {
          Opts o = group.parse(raw);
          auto [address, limit] = split_limit_for(v);
          std::string name = flag + (address.empty() ? "" : "(" + address + ")");
          add(p, name, address, o, limit, raw);
        }});
  }
  static std::pair<std::string, rate_limit> split_limit_for(const option_value& v);

  std::vector<option_spec> specs_;
  std::vector<plugin_entry> plugins_;
  std::vector<std::function<void(const raw_options&)>> validators_;
  std::vector<std::function<void(pipeline&, const raw_options&)>> setups_;
};

// The registry with every plugin of this build.
const registry& default_registry();

}  // namespace coreplay
