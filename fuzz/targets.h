// The fuzz targets of mmusim's input parsers (fuzz/README.md in docs/fuzzing.md).
//
// Each target feeds bytes to one real parser. A UserError (the clean
// "FILE:LINE: message", exit status 2) is a normal outcome and is caught here;
// anything else escapes: a crash, a sanitizer report, another exception or a
// hang is a finding. fuzz/main.cc wraps one target as a libFuzzer binary; the
// Catch2 test test_fuzz_regressions.cc replays fuzz/regressions/<target>/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mmusim::fuzz {

// A trace file: plain text, gzip or zstd (recognised by its first bytes, as
// mmusim does), read record by record to the end.
void trace(const uint8_t* data, size_t size);
// A configuration file (TOML), merged into the defaults and validated; the
// effective configuration it gives must read back as itself.
void config_toml(const uint8_t* data, size_t size);
// --set KEY=VALUE overrides, one per line, then validated.
void config_set(const uint8_t* data, size_t size);
// The expected statistics of --check-stats, compared with a run's statistics.
void check_stats(const uint8_t* data, size_t size);

struct Target {
  std::string_view name;
  void (*run)(const uint8_t*, size_t);
};
inline constexpr Target kTargets[] = {
    {"trace", trace},
    {"config_toml", config_toml},
    {"config_set", config_set},
    {"check_stats", check_stats},
};

}  // namespace mmusim::fuzz
