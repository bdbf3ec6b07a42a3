// One simulation run from a validated configuration and a trace: elaborate,
// simulate, check, collect statistics. SystemC elaborates once per process,
// so a process runs at most one simulation (--compare forks for the second).
#pragma once
#include <functional>
#include <string>

#include "common/stats_sink.h"
#include "common/types.h"

namespace mmusim {

class Config;
class Top;
struct TraceRecord;

struct RunOptions {
  std::string trace;        // path, or "-" for standard input
  std::string faults_csv;   // if set: per-fault CSV, written whole or not at all
  std::string rtl_vcd;      // if set (tlb.impl = rtl or lockstep): VCD of the RTL TLB's signals
  std::string ptw_vcd;      // if set (ptw.impl = rtl or lockstep): VCD of the RTL walker's signals
  std::string timeline_csv; // if set: frames and faults sampled over simulated time
  Cycles timeline_interval = 100000;  // cycles between timeline samples
  std::string vcd;          // if set: waveform of the model's main signals
  bool progress = false;    // progress lines on standard error
  bool check_each_step = false;  // kernel invariants after every record (slow)
  // Tests: called after every record with the whole model.
  std::function<void(Top&, const TraceRecord&)> after_record;
};

struct RunResult {
  int exit_code = 0;        // 0 ok, 1 verification failed, 2 bad input
  std::string error;        // the message for exit code 2 (or an invariant failure)
  StatsJson stats;          // every statistic; empty on exit code 2
};

RunResult run_simulation(const Config& cfg, const RunOptions& opts);

// The declarations of every statistic a run writes (mmusim --list-stats).
const StatsRegistry& stats_registry();

// The terminal summary of a run's statistics. Its last line is the host time,
// with the speed in accesses per second unless the run was too short to
// measure it (under 10 ms or under 1000 accesses).
std::string format_summary(const StatsJson& stats);

}  // namespace mmusim
