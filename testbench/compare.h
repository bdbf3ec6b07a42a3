// --compare: the same trace under eager copy, copy-on-write and On-Demand-Fork
// (with mmu.nonleaf_wp = true for that run), side by side, as the tutorial's
// "Copy-on-Write vs Normal Copying" table with measured numbers and a third column.
#pragma once
#include <string>

#include "common/stats_sink.h"

namespace mmusim {

class Config;
struct RunOptions;

// Runs the three policies (each in its own process: SystemC elaborates once per
// process), prints the table unless quiet, writes {"eager": ..., "cow": ...,
// "odf": ...} to stats_file if given. Returns the worst exit status of the runs.
int run_compare(const Config& cfg, const RunOptions& opts, const std::string& stats_file, bool quiet);

std::string format_comparison(const StatsJson& eager, const StatsJson& cow, const StatsJson& odf);

}  // namespace mmusim
