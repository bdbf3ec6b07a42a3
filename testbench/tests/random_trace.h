// A deterministic, seeded generator of random multi-process traces (trace
// format v1, spec/trace-format.md) for the randomized end-to-end tests.
//
// The generator keeps its own model of every process: which pids are unseen,
// alive or dead, each process's mapped pages with their permissions (private
// or shared, and which shared object), and the bytes every page holds
// (copy-on-write for private pages after a fork, one copy for shared ones). It
// uses that model to stay a valid trace (never a fork to a live pid, mprotect
// only of fully mapped ranges, mmap never overlapping), to know which accesses
// segfault (and that the process is dead afterwards), to write `expect=`
// values on loads, and to predict what the simulator must count.
//
// Plain C++17 and std::mt19937_64 with its own integer draws: the same seed
// gives the same text on every platform.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mmusim::test {

struct RandomTraceOptions {
  uint64_t seed = 1;
  // Trace records generated before the final exits (which are added on top:
  // the trace always ends with every live process exited).
  size_t ops = 2000;
  // Physical memory may run out (a small mem.size): OOM kills and failed
  // forks make the simulator's set of live processes a subset of the
  // generator's. The trace then stays valid whatever the simulator kills:
  // every pid a fork may create is spawned and exited at the start (so a
  // child that a fork did not create is dead and its lines are skipped, rather
  // than spawned), a new process is only spawned when the generator believes
  // none is alive (spawning needs a frame; with nobody alive all memory is
  // free), and no `expect=` is written (a killed process's stores to shared
  // memory never happen). expected_stats is then empty.
  bool memory_pressure = false;
  // Write `expect=<value>` on about half of the loads (not with memory_pressure).
  bool expect_values = true;
  // Most processes alive at once, and pages of the main window of virtual
  // addresses that mmaps share (small, so that mappings and accesses collide).
  unsigned max_alive = 5;
  unsigned window_pages = 64;
  // With more than one CPU (trace format 1.1): processes grow threads (on
  // random CPUs, cpu=K or the placement rule) that take over some of their
  // loads, stores and computes, and threads migrate. A thread exits before its
  // process's main task does; exec and a segfault end it with the process.
  // One CPU: the version-1 trace, unchanged for a seed. Not with memory_pressure.
  unsigned cpus = 1;
  // kernel.zero_page of the runs: whether a load of an untouched private page
  // maps the shared zero frame (then a later store is a cow_zero fault) or a
  // zeroed frame of its own (per_policy_stats depend on it).
  bool zero_page = true;
  // Some private mmaps in a window of one 2 MiB-aligned block (and the pages
  // below it), most with the `huge` flag (trace format 1.1): under kernel.thp
  // = never the flag changes nothing, and every prediction holds.
  bool huge = false;
  // The runs have transparent huge pages on (kernel.thp = madvise or always):
  // the per-policy fault kinds, bytes copied and peak frames are not
  // predicted (per_policy_stats keeps only faults.spurious); the rest is.
  bool thp = false;
};

struct RandomTrace {
  std::string text;
  // How many operations of each kind (random_trace_kinds()) were generated.
  std::map<std::string, uint64_t> kinds;
  // Statistic key (spec/interface.md) -> the value the simulator must report,
  // under either fork policy and any TLB / MMU configuration. Empty with
  // memory_pressure.
  std::map<std::string, uint64_t> expected_stats;
  // Fork policy ("cow", "eager") -> statistic key -> the value the simulator
  // must report under that policy (with opts.zero_page, any TLB / MMU
  // configuration): the fault kinds, the bytes copied, the peak of data frames,
  // the PTEs fork copied and, on one CPU, no spurious fault. The generator's own model of Linux's anonymous
  // memory computes them (frames with reference counts and the anon-exclusive
  // flag, the zero frame, shared objects), not the simulator's kernel. Empty
  // with memory_pressure.
  std::map<std::string, std::map<std::string, uint64_t>> per_policy_stats;
  uint64_t records = 0;  // trace records (not comments or blank lines)
};

// Every kind of operation the generator can produce.
const std::vector<std::string>& random_trace_kinds();

RandomTrace generate_random_trace(const RandomTraceOptions& opts);

}  // namespace mmusim::test
