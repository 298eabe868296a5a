#include "core/config.hpp"
#include "core/core_options.hpp"
#include "core/options.hpp"
#include "core/registry.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace coreplay;
using namespace std::chrono_literals;

TEST_CASE("sizes parse as gor's (powers of 1024, prefixes, underscores) and more", "[unit][options]") {
  CHECK(parse_size("42mb", "x").bytes == 42ull << 20);
  CHECK(parse_size("4_2", "x").bytes == 42);
  CHECK(parse_size("00", "x").bytes == 0);
  CHECK(parse_size("0_600tb", "x").bytes == 384ull << 40);  // Go syntax: a leading 0 is octal
  CHECK(parse_size("0600Tb", "x").bytes == 384ull << 40);
  CHECK(parse_size("0b_10010001111_1kb", "x").bytes == 2335ull << 10);
  CHECK(parse_size("0o12Mb", "x").bytes == 10ull << 20);
  CHECK(parse_size("0b111", "x").bytes == 7);
  CHECK(parse_size("0x12gB", "x").bytes == 18ull << 30);
  CHECK(parse_size("0x_67_7a_2f_cc_40_c6", "x").bytes == 113774485586118ull);
  CHECK(parse_size("1024", "x").bytes == 1024);
  CHECK(parse_size("256m", "x").bytes == 256ull << 20);  // the form gor's docs show (gor rejects it)
  CHECK(parse_size("1KiB", "x").bytes == 1024);
  CHECK_THROWS_WITH(parse_size("12parsecs", "--output-file-size-limit"),
                    "--output-file-size-limit: bad value '12parsecs' (expected a size like 4096, 64kb, 32mb or 1gb)");
  CHECK_THROWS_AS(parse_size("", "x"), option_error);
  CHECK_THROWS_AS(parse_size("mb", "x"), option_error);
  CHECK_THROWS_AS(parse_size("99999999999999tb", "x"), option_error);
}

TEST_CASE("durations parse Go syntax", "[unit][options]") {
  CHECK(parse_duration("2s", "x") == 2s);
  CHECK(parse_duration("100ms", "x") == 100ms);
  CHECK(parse_duration("1m30s", "x") == 90s);
  CHECK(parse_duration("1h", "x") == 3600s);
  CHECK(parse_duration("1.5s", "x") == 1500ms);
  CHECK(parse_duration("250us", "x") == 250us);
  CHECK(parse_duration("0", "x") == 0s);
  CHECK_THROWS_AS(parse_duration("5", "x"), option_error);
  CHECK_THROWS_AS(parse_duration("5 parsecs", "x"), option_error);
  CHECK_THROWS_AS(parse_duration("", "x"), option_error);
  CHECK_THROWS_AS(parse_duration("s", "x"), option_error);
  CHECK(format_duration(2s) == "2s");
  CHECK(format_duration(1500ms) == "1500ms");
  CHECK(format_size(byte_size{32u << 20}) == "32mb");
}

TEST_CASE("option groups bind flags to an aggregate with its defaults", "[unit][options]") {
  struct opts {
    bool loop = false;
    std::int64_t depth = 100;
    byte_size limit{32u << 20};
    std::chrono::nanoseconds wait{2s};
    std::string name;
    std::vector<std::string> headers;
  };
  option_group<opts> g("Test");
  g.add("loop", &opts::loop, "h").add("depth", &opts::depth, "h").add("limit", &opts::limit, "h")
      .add("wait", &opts::wait, "h").add("name", &opts::name, "h").add("header", &opts::headers, "h");
  CHECK(g.specs()[1].default_text == "100");
  CHECK(g.specs()[2].default_text == "32mb");
  CHECK(g.specs()[3].default_text == "2s");
  raw_options raw;
  raw.add("loop", "true", "--loop");
  raw.add("depth", "5", "--depth");
  raw.add("depth", "7", "--depth");  // the last one wins, as gor
  raw.add("header", "A: 1", "--header");
  raw.add("header", "B: 2", "--header");
  auto o = g.parse(raw);
  CHECK(o.loop);
  CHECK(o.depth == 7);
  CHECK(o.limit.bytes == 32u << 20);
  CHECK(o.headers == std::vector<std::string>{"A: 1", "B: 2"});
  raw.add("limit", "lots", "--limit");
  CHECK_THROWS_WITH(g.parse(raw), "--limit: bad value 'lots' (expected a size like 4096, 64kb, 32mb or 1gb)");
}

namespace {
command_line parse(std::vector<std::string> args) {
  args.insert(args.begin(), "coreplay");
  return parse_command_line(args, default_registry());
}
std::string parse_error(std::vector<std::string> args) {
  try {
    auto c = parse(std::move(args));
    default_registry().validate(c.raw);
  } catch (const option_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("gor's flag syntax", "[unit][cli]") {
  auto c = parse({"--input-dummy", "--output-stdout", "-exit-after", "5s", "--verbose=2", "--stats",
                  "--split-output", "true", "--copy-buffer-size=1mb"});
  CHECK(c.raw.find("input-dummy")->front().text.empty());
  CHECK(c.raw.find("exit-after")->front().text == "5s");
  CHECK(c.raw.find("verbose")->front().text == "2");
  CHECK(c.raw.find("stats")->front().text == "true");
  CHECK(c.raw.find("split-output")->front().text == "true");
  auto core = core_option_group().parse(c.raw);
  CHECK(core.exit_after == 5s);
  CHECK(core.verbose == 2);
  CHECK(core.split_output);
  CHECK(core.copy_buffer_size.bytes == 1u << 20);
  auto f = parse({"--input-dummy", "--output-null", "--stats=false"});
  CHECK_FALSE(core_option_group().parse(f.raw).stats);
  CHECK(default_registry().input_count(f.raw) == 1);
  CHECK(default_registry().output_count(f.raw) == 1);
  auto n = parse({"--input-dummy", "--output-null=false"});
  CHECK(default_registry().output_count(n.raw) == 0);
}

TEST_CASE("every CLI error names the flag", "[unit][cli]") {
  CHECK(parse_error({"--input-fil", "x"}) == "--input-fil: unknown flag (did you mean --input-file?); see --help");
  CHECK(parse_error({"--exit-after"}) == "--exit-after: needs a value");
  CHECK(parse_error({"--exit-after", "soon"}) ==
        "--exit-after: bad value 'soon' (expected a duration like 2s, 100ms, 1m30s or 1h)");
  CHECK(parse_error({"--stats=maybe"}) == "--stats: bad value 'maybe' (expected true or false)");
  CHECK(parse_error({"--verbose", "x"}) == "--verbose: bad value 'x' (expected an integer)");
  CHECK(parse_error({"stray"}) == "unexpected argument 'stray'; flags start with --, see --help");
  CHECK(parse_error({"--output-binary", "k:9092"}) ==
        "--output-binary: not implemented in this build (Binary output)");
  CHECK(parse_error({"--input-dummy", "--output-stdout", "--output-stdout=true"}) == "");
}

TEST_CASE("help lists every gor flag, grouped, with defaults", "[unit][cli]") {
  std::ostringstream os;
  default_registry().print_help(os);
  auto help = os.str();
  for (const char* flag :
       {"input-dummy", "output-dummy", "output-stdout", "output-null", "input-raw", "input-raw-engine",
        "input-raw-track-response", "input-raw-expire", "input-raw-bpf-filter", "input-raw-vxlan-vni",
        "input-tcp", "output-tcp", "output-tcp-workers", "output-ws", "input-file", "input-file-loop",
        "input-file-read-depth", "input-file-dry-run", "input-file-max-wait", "output-file",
        "output-file-size-limit", "output-file-queue-limit", "output-file-append", "output-http",
        "output-http-workers", "output-http-timeout", "output-http-track-response", "output-http-elasticsearch",
        "http-original-host", "http-allow-method", "http-set-header", "http-rewrite-url", "http-rewrite-header",
        "http-header-limiter", "http-param-limiter", "http-basic-auth-filter", "output-kafka-host",
        "input-kafka-offset", "kafka-tls-ca-cert", "middleware", "prettify-http", "stats", "verbose", "exit-after",
        "split-output", "recognize-tcp-sessions", "copy-buffer-size", "http-pprof", "output-binary"}) {
    INFO(flag);
    CHECK(help.find(std::string("  --") + flag + " ") != std::string::npos);
  }
  CHECK(help.find("--copy-buffer-size SIZE") != std::string::npos);
  CHECK(help.find("(default 5mb)") != std::string::npos);
  CHECK(help.find("\nHTTP modifiers:\n") != std::string::npos);
}

namespace {
struct temp_yaml {
  std::string path;
  explicit temp_yaml(const std::string& text) {
    char name[] = "/tmp/coreplay-test-XXXXXX.yaml";
    int fd = mkstemps(name, 5);
    path = name;
    ::close(fd);
    std::ofstream(path) << text;
  }
  ~temp_yaml() { std::remove(path.c_str()); }
};
std::string yaml_error(const std::string& text) {
  temp_yaml f(text);
  raw_options raw;
  try {
    load_pipeline_file(f.path, default_registry(), raw);
    default_registry().validate(raw);
  } catch (const option_error& e) {
    std::string msg = e.what();
    // Replace the temporary name for stable comparisons.
    if (msg.rfind(f.path, 0) == 0) msg = "F" + msg.substr(f.path.size());
    return msg;
  }
  return "";
}
}  // namespace

TEST_CASE("YAML flat form: flag names to scalars or lists", "[unit][yaml]") {
  temp_yaml f(
      "# a pipeline\n"
      "input-dummy: \"\"\n"
      "output-stdout: true\n"
      "exit-after: 30s\n"
      "split_output: yes\n"
      "verbose: 1\n");
  raw_options raw;
  load_pipeline_file(f.path, default_registry(), raw);
  default_registry().validate(raw);
  auto core = core_option_group().parse(raw);
  CHECK(core.exit_after == 30s);
  CHECK(core.split_output);
  CHECK(core.verbose == 1);
  CHECK(default_registry().input_count(raw) == 1);
  CHECK(default_registry().output_count(raw) == 1);
}

TEST_CASE("YAML errors name the file and the line", "[unit][yaml]") {
  CHECK(yaml_error("input-dummy: x\noutput-stdut: true\n") ==
        "F:2: unknown key 'output-stdut' (did you mean 'output-stdout'?)");
  CHECK(yaml_error("input-dummy: x\nexit-after: soon\n") ==
        "F:2: exit-after: bad value 'soon' (expected a duration like 2s, 100ms, 1m30s or 1h)");
  CHECK(yaml_error("exit-after: [1s, 2s]\n") == "F:1: exit-after: takes one value, not a list");
  CHECK(yaml_error("input-dummy: {a: 1}\n") ==
        "F:1: input-dummy: expected a value or a list of values, not a mapping");
  CHECK(yaml_error("- a\n- b\n").find("F:1: expected a mapping") == 0);
  CHECK(yaml_error("input-dummy: [\n").find("F:2: invalid YAML") == 0);
  CHECK(yaml_error("").find("F: the pipeline file is empty") == 0);
  CHECK(yaml_error("stats: perhaps\n") == "F:1: stats: bad value 'perhaps' (expected true or false)");
  raw_options raw;
  CHECK_THROWS_WITH(load_pipeline_file("/nonexistent/p.yaml", default_registry(), raw),
                    "/nonexistent/p.yaml: cannot open the pipeline file");
}

TEST_CASE("every example pipeline validates", "[unit][yaml]") {
  // COREPLAY_SOURCE_DIR is set by CMake for the test binary.
  const char* dir = std::getenv("COREPLAY_SOURCE_DIR");
  std::string root = dir ? dir : COREPLAY_TEST_SOURCE_DIR;
  std::size_t n = 0;
  for (auto& entry : std::filesystem::directory_iterator(root + "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    raw_options raw;
    CHECK_NOTHROW(load_pipeline_file(entry.path().string(), default_registry(), raw));
    CHECK_NOTHROW(default_registry().validate(raw));
    ++n;
  }
  CHECK(n >= 2);
}

#include "core/stats_report.hpp"

TEST_CASE("the progress line of a file replay", "[unit][stats]") {
  plugin_stats file("input-file(a.gor)");
  file.messages = 500;
  file.bytes = 512 * 1024 - 500 * 14;
  file.counter("bytes_read") = 1024 * 1024;
  file.counter("bytes_total") = 1024 * 1024;
  file.counter("lag_ns") = 200'000;
  plugin_stats other("output-null");
  auto line = progress_line({&file, &other}, std::chrono::seconds(10));
  CHECK(line == "replay  50% (512.0KiB/1.0MiB), 50 msg/s, lag 0.2ms, ETA 0:10");
  CHECK(progress_line({&other}, std::chrono::seconds(1)).empty());
}
