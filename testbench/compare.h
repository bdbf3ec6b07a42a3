// --compare: the same trace under eager copy and copy-on-write, side by side,
// as the tutorial's "Copy-on-Write vs Normal Copying" table with measured numbers.
#pragma once
#include <string>

#include "common/stats_sink.h"

namespace mmusim {

class Config;
struct RunOptions;

// Runs both policies (each in its own process: SystemC elaborates once per
// process), prints the table unless quiet, writes {"eager": ..., "cow": ...}
// to stats_file if given. Returns the worse exit status of the two runs.
int run_compare(const Config& cfg, const RunOptions& opts, const std::string& stats_file, bool quiet);

std::string format_comparison(const StatsJson& eager, const StatsJson& cow);

}  // namespace mmusim
