// Configuration: schema, TOML loading, --set, validation, printing back as TOML.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "common/config.h"
#include "common/error.h"

namespace mmusim::test {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// The message of the UserError that `f` throws ("" if it throws none).
template <typename F>
std::string user_error(F&& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

std::string load_error(const std::string& text) {
  Config c;
  return user_error([&] { c.load_toml(text, "t.toml"); });
}

std::string set_error(const std::string& assignment) {
  Config c;
  return user_error([&] { c.set(assignment); });
}

std::string validate_error(std::initializer_list<const char*> assignments) {
  Config c;
  for (const char* a : assignments) c.set(a);
  return user_error([&] { c.validate(); });
}

}  // namespace

TEST_CASE("config: defaults", "[config]") {
  Config c;
  CHECK(c.u64("cpu.freq_mhz") == 3600);
  CHECK(c.u64("cpu.quantum") == 100000);
  CHECK(c.str("tlb.impl") == "model");
  CHECK(c.u64("tlb.l1.entries") == 64);
  CHECK(c.u64("tlb.l1.ways") == 4);
  CHECK(c.str("tlb.l1.policy") == "lru");
  CHECK(c.u64("tlb.l2.entries") == 1536);
  CHECK(c.u64("tlb.l2.ways") == 12);
  CHECK(c.str("mmu.mode") == "sv39");
  CHECK(c.u64("mmu.asid_bits") == 16);
  CHECK(c.u64("mem.size") == (uint64_t{4} << 30));
  CHECK(c.str("kernel.fork_policy") == "cow");
  CHECK(c.flag("kernel.zero_page"));
  CHECK(c.u64("kernel.fork_base") == 223000);
  CHECK(c.u64("kernel.syscall") == 650);
  CHECK(c.flag("verify.reference"));
  CHECK(c.u64("verify.max_reports") == 10);
  CHECK_NOTHROW(c.validate());
}

TEST_CASE("config: the schema is well formed", "[config]") {
  const auto& schema = mmusim::config_schema();
  REQUIRE(schema.size() == 72);
  CHECK(schema.front().name == "cpu.freq_mhz");
  CHECK(schema.back().name == "verify.max_reports");
  std::set<std::string> names;
  for (const auto& d : schema) {
    INFO(d.name);
    CHECK(names.insert(d.name).second);
    CHECK(!d.description.empty());
    CHECK(mmusim::find_param(d.name) == &d);
    if (d.type == mmusim::ParamType::Enum) {
      CHECK(!d.choices.empty());
    }
  }
  CHECK(mmusim::find_param("tlb.l1") == nullptr);
  // Every key the public interface names.
  for (const char* key :
       {"cpu.freq_mhz", "tlb.impl", "ptw.impl", "tlb.l1.entries", "tlb.l1.ways", "tlb.l1.latency",
        "tlb.l1.policy", "tlb.l2.entries", "tlb.l2.ways", "tlb.l2.latency", "tlb.l2.policy",
        "mmu.mode", "mmu.asid_bits", "mmu.pwc_entries", "mem.size", "mem.latency",
        "mem.copy_bytes_per_cycle", "kernel.fork_policy", "kernel.zero_page", "kernel.trap_entry",
        "kernel.trap_exit", "kernel.fault_base", "kernel.frame_alloc", "kernel.pte_update",
        "kernel.tlb_flush", "kernel.fork_base", "kernel.fork_per_pte", "kernel.context_switch"}) {
    INFO(key);
    CHECK(names.count(key) == 1);
  }
}

TEST_CASE("config: TOML nested tables, dotted keys and inline tables", "[config]") {
  Config c;
  c.load_toml(R"(
[tlb.l1]
entries = 32
policy = "plru"

[tlb]
l2.entries = 0
impl = "lockstep"

[mem]
size = "64M"
latency = 0x20

[kernel]
zero_page = false
)",
              "a.toml");
  CHECK(c.u64("tlb.l1.entries") == 32);
  CHECK(c.str("tlb.l1.policy") == "plru");
  CHECK(c.u64("tlb.l2.entries") == 0);
  CHECK(c.str("tlb.impl") == "lockstep");
  CHECK(c.u64("mem.size") == (uint64_t{64} << 20));
  CHECK(c.u64("mem.latency") == 32);
  CHECK_FALSE(c.flag("kernel.zero_page"));
  CHECK(c.u64("tlb.l1.ways") == 4);  // untouched keys keep their values

  Config d;
  d.load_toml("tlb.l1.entries = 16\nmmu = { mode = \"sv48\" }\nmem.size = 1073741824\n", "b.toml");
  CHECK(d.u64("tlb.l1.entries") == 16);
  CHECK(d.str("mmu.mode") == "sv48");
  CHECK(d.u64("mem.size") == (uint64_t{1} << 30));

  // A second file merges on top of the first.
  d.load_toml("[tlb.l1]\nways = 2\n", "c.toml");
  CHECK(d.u64("tlb.l1.entries") == 16);
  CHECK(d.u64("tlb.l1.ways") == 2);
}

TEST_CASE("config: load_file", "[config]") {
  char path[] = "/tmp/mmusim_test_config_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "[cpu]\nfreq_mhz = 1000\n\n[tlb.l1]\nentrys = 8\n";
  }
  Config c;
  std::string err = user_error([&] { c.load_file(path); });
  CHECK_THAT(err, StartsWith(std::string(path) + ":5: "));
  CHECK_THAT(err, Contains("unknown configuration key 'tlb.l1.entrys'"));
  CHECK(c.u64("cpu.freq_mhz") == 3600);  // a failed load changes nothing
  {
    std::ofstream out(path);
    out << "[cpu]\nfreq_mhz = 1000\n";
  }
  c.load_file(path);
  CHECK(c.u64("cpu.freq_mhz") == 1000);
  std::remove(path);

  std::string missing = user_error([&] { c.load_file("/nonexistent/x.toml"); });
  CHECK_THAT(missing, StartsWith("/nonexistent/x.toml: "));
}

TEST_CASE("config: unknown keys", "[config]") {
  std::string err = load_error("[tlb.l1]\nentrys = 32\n");
  CHECK(err == "t.toml:2: unknown configuration key 'tlb.l1.entrys'; did you mean 'tlb.l1.entries'?");

  CHECK_THAT(load_error("\n\ncpu.freq = 10\n"),
             StartsWith("t.toml:3: unknown configuration key 'cpu.freq'; did you mean 'cpu.freq_mhz'?"));
  // Far from every key: no suggestion.
  err = load_error("colour = \"blue\"\n");
  CHECK(err == "t.toml:1: unknown configuration key 'colour'");
  // A key given without its table.
  CHECK_THAT(load_error("fork_policy = \"eager\"\n"),
             Contains("did you mean 'kernel.fork_policy'?"));
  // An unknown (empty) table, and a value where a table of keys belongs.
  CHECK_THAT(load_error("[tbl]\n"), Contains("unknown configuration table 'tbl'"));
  CHECK_THAT(load_error("tlb = 3\n"), Contains("'tlb' is a table of configuration keys"));
  // An empty known table is fine.
  CHECK(load_error("[tlb.l2]\n") == "");
  // The first problem in file order is the one reported.
  CHECK_THAT(load_error("zzz = 1\naaa = 2\n"), Contains("'zzz'"));

  err = set_error("tlb.l1.entrys=8");
  CHECK(err == "--set: unknown configuration key 'tlb.l1.entrys'; did you mean 'tlb.l1.entries'?");
  CHECK(set_error("x.y=1") == "--set: unknown configuration key 'x.y'");
}

TEST_CASE("config: wrong TOML types", "[config]") {
  std::string err = load_error("[tlb.l1]\nentries = \"32\"\n");
  CHECK_THAT(err, StartsWith("t.toml:2: tlb.l1.entries: "));
  CHECK_THAT(err, Contains("expected an unsigned integer, got a string"));

  CHECK_THAT(load_error("tlb.l1.entries = -4\n"),
             Contains("tlb.l1.entries: expected an unsigned integer, got -4"));
  CHECK_THAT(load_error("tlb.l1.entries = 3.5\n"), Contains("tlb.l1.entries: expected an unsigned integer, got a float"));
  CHECK_THAT(load_error("kernel.zero_page = \"yes\"\n"),
             Contains("kernel.zero_page: expected a boolean, got a string"));
  CHECK_THAT(load_error("kernel.zero_page = 1\n"),
             Contains("kernel.zero_page: expected a boolean, got an integer"));
  CHECK_THAT(load_error("mmu.mode = 39\n"), Contains("mmu.mode: expected one of sv39, sv48"));
  CHECK_THAT(load_error("mem.size = true\n"), Contains("mem.size: expected a size"));
  CHECK_THAT(load_error("mem.size = [1, 2]\n"), Contains("got an array"));
  CHECK_THAT(load_error("[tlb.l1.entries]\n"), Contains("tlb.l1.entries: expected an unsigned integer, got a table"));
}

TEST_CASE("config: out-of-range values", "[config]") {
  std::string err = load_error("[tlb.l1]\nways = 4\nentries = 0\n");
  CHECK(err == "t.toml:3: tlb.l1.entries: 0 is out of range [1, 65536]");
  CHECK_THAT(load_error("mmu.asid_bits = 17\n"),
             Contains("mmu.asid_bits: 17 is out of range [0, 16]"));
  CHECK_THAT(load_error("mem.size = \"512K\"\n"),
             Contains("mem.size: 512K is out of range [1M, 1T]"));
  CHECK_THAT(load_error("mem.size = \"2T\"\n"), Contains("mem.size: 2T is out of range"));
  CHECK_THAT(load_error("cpu.quantum = 0\n"), Contains("cpu.quantum: 0 is out of range"));
  CHECK_THAT(load_error("kernel.fork_base = 1000000001\n"),
             Contains("kernel.fork_base: 1000000001 is out of range [0, 1000000000]"));

  CHECK(set_error("tlb.l1.entries=0") == "--set tlb.l1.entries=0: 0 is out of range [1, 65536]");
  CHECK_THAT(set_error("tlb.seed=18446744073709551615"), Contains("tlb.seed=18446744073709551615: "));
  CHECK_THAT(set_error("tlb.seed=18446744073709551615"), Contains("out of range"));
}

TEST_CASE("config: bad enum values", "[config]") {
  CHECK(load_error("[tlb.l1]\npolicy = \"mru\"\n") ==
        "t.toml:2: tlb.l1.policy: 'mru' is not one of lru, plru, fifo, random");
  CHECK(set_error("tlb.impl=verilog") == "--set tlb.impl=verilog: expected one of model, rtl, lockstep");
  CHECK(set_error("kernel.fork_policy=COW") ==
        "--set kernel.fork_policy=COW: expected one of cow, eager, odf");
}

TEST_CASE("config: bad sizes", "[config]") {
  CHECK_THAT(load_error("mem.size = \"4X\"\n"), StartsWith("t.toml:1: mem.size: '4X' is not a size"));
  CHECK_THAT(load_error("mem.size = \"\"\n"), Contains("mem.size: '' is not a size"));
  CHECK_THAT(load_error("mem.size = -1\n"), Contains("mem.size: expected a size, got -1"));
  CHECK(set_error("mem.size=lots") ==
        "--set mem.size=lots: expected a size such as 4G, 64M, 512K, 0x1000 or 4096");
  CHECK_THAT(set_error("mem.size=99999999999T"), Contains("--set mem.size=99999999999T: expected a size"));
}

TEST_CASE("config: TOML syntax errors carry line and column", "[config]") {
  std::string err = load_error("[cpu]\nfreq_mhz = 1000\nquantum = = 3\n");
  CHECK_THAT(err, StartsWith("t.toml:3:"));
  CHECK(err.size() > std::string("t.toml:3:").size());
  CHECK_THAT(load_error("[tlb\n"), StartsWith("t.toml:1:"));
  // A key defined twice is a TOML error too.
  CHECK_THAT(load_error("[tlb.l1]\nentries = 8\n[tlb]\nl1.entries = 16\n"), StartsWith("t.toml:4:"));
}

TEST_CASE("config: a table header that does not start with a key is a syntax error", "[config]") {
  // Found by fuzzing (fuzz/regressions/config_toml/table-header-dot.toml): toml++
  // 3.3.0 asserts on these in a debug build (upstream marzer/tomlplusplus#294);
  // the library mmusim links reports them as errors.
  CHECK(load_error("[.cpu]\nfreq_mhz = 3600\n") ==
        "t.toml:1:2: Error while parsing key: expected bare key starting character or string delimiter, saw '.'");
  CHECK(load_error("# x\n[[=]]\n") ==
        "t.toml:2:3: Error while parsing key: expected bare key starting character or string delimiter, saw '='");
}

TEST_CASE("config: non-ASCII text only in comments", "[config]") {
  // Found by fuzzing (fuzz/regressions/config_toml/non-ascii-after-value.toml):
  // toml++ 3.3.0 reaches __builtin_unreachable on some non-ASCII characters where
  // it looks for whitespace (upstream marzer/tomlplusplus#190, #295).
  const std::string refused = ": non-ASCII character outside a comment (configuration keys and values are ASCII)";
  CHECK(load_error("mem.latency = 1\xc3\xa9\n") == "t.toml:1:16" + refused);
  CHECK(load_error("[cpu]\nfreq_mhz = 3600 \xc2\xa1\n") == "t.toml:2:17" + refused);
  CHECK(load_error("kernel.fork_policy = \"cow\" \xc3\xa9\n") == "t.toml:1:28" + refused);
  CHECK(load_error("kernel.fork_policy = \"#\xc3\xa9\"\n") == "t.toml:1:24" + refused);  // '#' in a string
  CHECK(load_error("kernel.fork_policy = \"\"\"\\\n  \xc2\xa7\"\"\"\n") == "t.toml:2:3" + refused);
  // In comments, anywhere (also after strings that hold quotes and '#').
  Config c;
  c.load_toml("\xEF\xBB\xBF# caf\xc3\xa9\nmem.latency = 120 # 120 \xc2\xb5s\n"
              "kernel.fork_policy = 'eager' # \xc3\xa9\n", "t.toml");
  CHECK(c.u64("mem.latency") == 120);
  CHECK(c.str("kernel.fork_policy") == "eager");
}

TEST_CASE("config: --set", "[config]") {
  Config c;
  c.set("tlb.l1.entries=32");
  c.set(" tlb.l1.ways = 0x8 ");
  c.set("mem.size=64M");
  c.set("kernel.fork_policy=eager");
  c.set(std::string("tlb.seed"), std::string("12345"));
  CHECK(c.u64("tlb.l1.entries") == 32);
  CHECK(c.u64("tlb.l1.ways") == 8);
  CHECK(c.u64("mem.size") == (uint64_t{64} << 20));
  CHECK(c.str("kernel.fork_policy") == "eager");
  CHECK(c.u64("tlb.seed") == 12345);
  for (const char* t : {"true", "1", "yes", "on", "TRUE"}) {
    c.set("kernel.zero_page=false");
    c.set(std::string("kernel.zero_page=") + t);
    CHECK(c.flag("kernel.zero_page"));
  }
  for (const char* f : {"false", "0", "no", "off"}) {
    c.set("verify.reference=true");
    c.set(std::string("verify.reference=") + f);
    CHECK_FALSE(c.flag("verify.reference"));
  }

  CHECK(set_error("tlb.l1.entries=abc") == "--set tlb.l1.entries=abc: expected an unsigned integer");
  CHECK(set_error("tlb.l1.entries=-1") == "--set tlb.l1.entries=-1: expected an unsigned integer");
  CHECK(set_error("tlb.l1.entries=") == "--set tlb.l1.entries=: expected an unsigned integer");
  CHECK(set_error("tlb.l1.entries=99999999999999999999") ==
        "--set tlb.l1.entries=99999999999999999999: expected an unsigned integer");
  CHECK_THAT(set_error("kernel.zero_page=maybe"), StartsWith("--set kernel.zero_page=maybe: expected a boolean"));
  // Without '=' (and with an empty key).
  CHECK(set_error("tlb.l1.entries") == "--set tlb.l1.entries: expected KEY=VALUE");
  CHECK_THAT(set_error("=5"), Contains("expected KEY=VALUE"));
}

TEST_CASE("config: --set overrides a loaded file", "[config]") {
  Config c;
  c.load_toml("[tlb.l1]\nentries = 32\nways = 8\n", "a.toml");
  c.set("tlb.l1.entries=128");
  CHECK(c.u64("tlb.l1.entries") == 128);
  CHECK(c.u64("tlb.l1.ways") == 8);
  CHECK_NOTHROW(c.validate());
}

TEST_CASE("config: cross-key checks", "[config]") {
  CHECK(validate_error({"tlb.l1.entries=66"}) == "tlb.l1.entries = 66 is not a multiple of tlb.l1.ways = 4");
  CHECK(validate_error({"tlb.l1.entries=8", "tlb.l1.ways=16"}) == "tlb.l1.ways = 16 exceeds tlb.l1.entries = 8");
  CHECK(validate_error({"tlb.l1.entries=48", "tlb.l1.ways=6", "tlb.l1.policy=plru"}) ==
        "tlb.l1.policy = plru needs tlb.l1.ways to be a power of two, not 6");
  CHECK_THAT(validate_error({"tlb.l2.policy=plru"}), Contains("tlb.l2.ways"));  // 12 ways
  CHECK_THAT(validate_error({"tlb.l2.entries=1000"}), Contains("tlb.l2.entries = 1000 is not a multiple of tlb.l2.ways"));
  CHECK_THAT(validate_error({"tlb.l2.entries=8", "tlb.l2.ways=16"}), Contains("tlb.l2.ways = 16 exceeds"));
  CHECK(validate_error({"mem.size=1048577"}) == "mem.size = 1048577 is not a multiple of 4K");
  CHECK(validate_error({"rowclone.row_bytes=6K"}) == "rowclone.row_bytes = 6K is not a multiple of 4K");
  // Accepted: no L2 whatever its ways, fully associative L1, plru with power-of-two ways.
  CHECK(validate_error({"tlb.l2.entries=0", "tlb.l2.ways=7", "tlb.l2.policy=plru"}) == "");
  CHECK(validate_error({"tlb.l1.entries=32", "tlb.l1.ways=32"}) == "");
  CHECK(validate_error({"tlb.l1.entries=64", "tlb.l1.ways=8", "tlb.l1.policy=plru"}) == "");
  CHECK(validate_error({"mem.size=1M"}) == "");
}

TEST_CASE("config: getters reject undeclared keys and wrong types", "[config]") {
  Config c;
  CHECK_THROWS_AS(c.u64("tlb.l1.entrys"), std::logic_error);
  CHECK_THROWS_AS(c.u64("tlb.l1.policy"), std::logic_error);
  CHECK_THROWS_AS(c.flag("tlb.l1.entries"), std::logic_error);
  CHECK_THROWS_AS(c.str("kernel.zero_page"), std::logic_error);
  CHECK_THROWS_AS(c.real("cpu.freq_mhz"), std::logic_error);
  CHECK_NOTHROW(c.u64("mem.size"));  // Size keys read as integers
}

TEST_CASE("config: to_toml round-trips", "[config]") {
  Config a;
  a.set("tlb.l1.entries=32");
  a.set("tlb.l1.policy=fifo");
  a.set("tlb.impl=lockstep");
  a.set("tlb.seed=9223372036854775807");
  a.set("mem.size=12345678848");  // 0x2DFDC1C00: exact in K only
  a.set("kernel.zero_page=false");
  a.set("kernel.fork_policy=eager");
  a.set("mmu.asid_bits=0");

  for (bool described : {true, false}) {
    std::string text = a.to_toml(described);
    INFO(text);
    Config b;
    b.load_toml(text, "roundtrip.toml");
    CHECK(b.effective() == a.effective());
  }

  std::string text = a.to_toml(true);
  CHECK_THAT(text, Contains("[cpu]\n"));
  CHECK_THAT(text, Contains("[tlb]\n"));
  CHECK_THAT(text, Contains("[tlb.l1]\n"));
  CHECK_THAT(text, Contains("[kernel]\n"));
  CHECK_THAT(text, Contains("# cycles to write one PTE, besides its memory access [cycles] (default 50)\n"
                            "pte_update = 50\n"));
  CHECK_THAT(text, Contains("entries = 32\n"));
  CHECK_THAT(text, Contains("policy = \"fifo\"\n"));
  CHECK_THAT(text, Contains("size = \"12056327K\"\n"));
  CHECK_THAT(text, Contains("(default 4G)"));
  CHECK(a.to_toml(false).find('#') == std::string::npos);

  // Defaults print sizes with their suffix; a size that is no multiple of 1K prints as an integer.
  CHECK_THAT(Config().to_toml(false), Contains("size = \"4G\"\n"));
  Config odd;
  odd.set("mem.size=1048577");
  CHECK_THAT(odd.to_toml(false), Contains("size = 1048577\n"));
  Config back;
  back.load_toml(odd.to_toml(false), "odd.toml");
  CHECK(back.u64("mem.size") == 1048577);
}

TEST_CASE("config: effective values as text", "[config]") {
  Config c;
  c.set("tlb.l2.entries=0");
  auto e = c.effective();
  CHECK(e.size() == mmusim::config_schema().size());
  CHECK(e.at("mem.size") == "4G");
  CHECK(e.at("tlb.l2.entries") == "0");
  CHECK(e.at("kernel.zero_page") == "true");
  CHECK(e.at("mmu.mode") == "sv39");
}

TEST_CASE("config: parse_size and format_size", "[config]") {
  using mmusim::parse_size;
  uint64_t v = 0;
  CHECK((parse_size("4096", v) && v == 4096));
  CHECK((parse_size("0", v) && v == 0));
  CHECK((parse_size("512K", v) && v == 512 * 1024));
  CHECK((parse_size("64M", v) && v == (uint64_t{64} << 20)));
  CHECK((parse_size("4G", v) && v == (uint64_t{4} << 30)));
  CHECK((parse_size("2T", v) && v == (uint64_t{2} << 40)));
  CHECK((parse_size("4g", v) && v == (uint64_t{4} << 30)));
  CHECK((parse_size("4GB", v) && v == (uint64_t{4} << 30)));
  CHECK((parse_size("4GiB", v) && v == (uint64_t{4} << 30)));
  CHECK((parse_size("0x1000", v) && v == 0x1000));
  CHECK((parse_size("0X10M", v) && v == (uint64_t{16} << 20)));
  CHECK((parse_size("0xFFFFFFFFFFFFFFFF", v) && v == UINT64_MAX));
  CHECK((parse_size("18446744073709551615", v) && v == UINT64_MAX));
  CHECK((parse_size("16777215T", v) && v == (uint64_t{16777215} << 40)));

  v = 7;
  for (const char* bad : {"", "K", "4X", "4KK", "4 K", " 4", "4 ", "-4", "+4", "0x", "0xG",
                          "1.5G", "4Gb", "18446744073709551616", "0x10000000000000000",
                          "16777216T", "17179869184G", "99999999999999999999K"}) {
    INFO(bad);
    CHECK_FALSE(parse_size(bad, v));
  }
  CHECK(v == 7);  // untouched on failure

  using mmusim::format_size;
  CHECK(format_size(0) == "0");
  CHECK(format_size(4096) == "4K");
  CHECK(format_size(uint64_t{4} << 30) == "4G");
  CHECK(format_size(uint64_t{3} << 40) == "3T");
  CHECK(format_size(1536 * 1024) == "1536K");
  CHECK(format_size(1000) == "1000");
}

}  // namespace mmusim::test
