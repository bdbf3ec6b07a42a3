// mmusim-random-trace: the randomized tests' trace generator (random_trace.h)
// as a command, for scripts/soak and for reproducing one seed by hand.
//
//   mmusim-random-trace --seed N [--ops K] [--cpus C] [--no-zero-page]
//                       [--max-alive A] [--window-pages W] [--memory-pressure]
//                       [--huge] [--thp]
//                       -o TRACE [--expected FILE --policy POLICY]
//
// --expected writes what the generator predicts for the run under one fork
// policy, in the form mmusim --check-stats reads ({"stats": {key: value}}):
// for a policy it does not model (odf), only what every policy must give;
// with --thp, of the per-policy counts only faults.spurious;
// with --memory-pressure it predicts only that the run ends with nothing in use.
// Exit status 2 on bad usage.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "../random_trace.h"

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "mmusim-random-trace: " << why
            << "\nusage: mmusim-random-trace --seed N [--ops K] [--cpus C] [--no-zero-page] [--max-alive A]"
               " [--window-pages W] [--memory-pressure] [--huge] [--thp] -o TRACE [--expected FILE --policy POLICY]\n";
  std::exit(2);
}

uint64_t number(const std::string& opt, const char* text) {
  try {
    size_t used = 0;
    const unsigned long long v = std::stoull(text, &used, 0);
    if (used != std::string(text).size() || text[0] == '-') throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    usage(opt + ": expected a non-negative integer, not '" + text + "'");
  }
}

}  // namespace

int main(int argc, char** argv) {
  mmusim::test::RandomTraceOptions o;
  std::string trace_path, expected_path, policy;
  bool seeded = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--seed") o.seed = number(a, value()), seeded = true;
    else if (a == "--ops") o.ops = number(a, value());
    else if (a == "--cpus") o.cpus = unsigned(number(a, value()));
    else if (a == "--max-alive") o.max_alive = unsigned(number(a, value()));
    else if (a == "--window-pages") o.window_pages = unsigned(number(a, value()));
    else if (a == "--no-zero-page") o.zero_page = false;
    else if (a == "--memory-pressure") o.memory_pressure = true, o.expect_values = false;
    else if (a == "--huge") o.huge = true;  // mmaps with the `huge` flag in a 2 MiB window
    else if (a == "--thp") o.thp = true;    // the run has kernel.thp on: no 4 KiB fault predictions
    else if (a == "-o") trace_path = value();
    else if (a == "--expected") expected_path = value();
    else if (a == "--policy") policy = value();
    else if (a == "-h" || a == "--help") usage("the randomized tests' trace generator");
    else usage("unknown argument '" + a + "'");
  }
  if (!seeded) usage("--seed is required");
  if (trace_path.empty()) usage("-o TRACE is required");
  if (!expected_path.empty() && policy.empty()) usage("--expected needs --policy (cow, eager, ...)");
  if (o.cpus == 0 || o.cpus > 64) usage("--cpus must be 1 to 64");

  mmusim::test::RandomTrace t;
  try {
    t = mmusim::test::generate_random_trace(o);
  } catch (const std::invalid_argument& e) {
    usage(e.what());
  }
  std::ofstream out(trace_path, std::ios::binary | std::ios::trunc);
  out << t.text;
  if (!out.flush()) {
    std::cerr << "mmusim-random-trace: cannot write " << trace_path << "\n";
    return 2;
  }
  if (!expected_path.empty()) {
    nlohmann::ordered_json stats;
    if (o.memory_pressure) {
      stats["memory.frames_in_use"] = 0;
    } else {
      for (const auto& [k, v] : t.expected_stats) stats[k] = v;
      // A policy the generator does not model (a new one) gets the counts
      // every policy shares.
      auto it = t.per_policy_stats.find(policy);
      if (it != t.per_policy_stats.end())
        for (const auto& [k, v] : it->second) stats[k] = v;
    }
    stats["verify.mismatches"] = 0;
    stats["verify.invariant_failures"] = 0;
    nlohmann::ordered_json doc;
    doc["generator"] = {{"seed", o.seed}, {"ops", o.ops}, {"cpus", o.cpus}, {"zero_page", o.zero_page},
                        {"memory_pressure", o.memory_pressure}, {"policy", policy}};
    doc["stats"] = stats;
    std::ofstream e(expected_path, std::ios::trunc);
    e << doc.dump(2) << "\n";
    if (!e.flush()) {
      std::cerr << "mmusim-random-trace: cannot write " << expected_path << "\n";
      return 2;
    }
  }
  return 0;
}
