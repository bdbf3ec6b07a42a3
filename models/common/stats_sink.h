// Statistics are kept by the module that counts them and written into one flat
// JSON object of dotted keys ("tlb.l1.hits"), as spec/interface.md lists them.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "common/latency_stats.h"

namespace mmusim {

using StatsJson = nlohmann::ordered_json;

class StatsRegistry;  // common/stats_registry.h: the declarations of the keys

inline void report_latency(StatsJson& out, const std::string& prefix, const LatencyStats& l) {
  out[prefix + ".count"] = l.count();
  out[prefix + ".mean"] = l.mean();
  out[prefix + ".p50"] = l.percentile(50);
  out[prefix + ".p99"] = l.percentile(99);
  out[prefix + ".max"] = l.max();
}

}  // namespace mmusim
