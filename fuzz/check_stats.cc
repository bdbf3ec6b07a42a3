// Fuzz target: the expected statistics of --check-stats (testbench/check_stats.cc).
#include <sstream>
#include <string_view>

#include "check_stats.h"
#include "common/error.h"
#include "targets.h"

namespace mmusim::fuzz {

void check_stats(const uint8_t* data, size_t size) {
  // A run's statistics, with each kind of value a run writes.
  static const StatsJson run = StatsJson::parse(R"({
    "sim.accesses": 17, "sim.cycles": 123456789012, "trace.lines": 25,
    "faults.cow_copy": 3, "faults.spurious": 0, "memory.bytes_copied": 12288,
    "tlb.l1.hit_rate": 0.875, "walk.latency.mean": 41.5, "verify.mismatches": 0,
    "config.fork.policy": "cow", "rtl.enabled": false
  })");
  std::ostringstream err;
  try {
    check_expected_stats(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json",
                         run, err);
  } catch (const UserError&) {
  }
}

}  // namespace mmusim::fuzz
