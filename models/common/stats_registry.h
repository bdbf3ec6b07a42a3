// Every statistic declared once, like the configuration's keys: its key, unit
// and description, registered by the module that counts it (a static
// declare_stats(StatsRegistry&) next to its report()). The summary, --compare
// and mmusim --list-stats read the declarations; reading a key nobody declared
// is an error, not a silent 0. The registry is built once, before or after a
// run, never on the simulation's hot path.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/stats_sink.h"

namespace mmusim {

struct StatDecl {
  // A dotted key ("tlb.l1.hits"), or a pattern with placeholders in angle
  // brackets, each standing for one part of the key: <k> for a CPU's number
  // ("cpu.<k>.cycles"), any other one for the values define() gives it
  // ("faults.latency.<kind>.p99").
  const char* key;
  const char* unit;         // "cycles", "accesses", "frames", "bytes", ...; "text" for a string
  const char* description;

  bool is_pattern() const;
};

// An undeclared statistic was asked for: a bug in the caller, named in what().
class UnknownStatistic : public std::out_of_range {
 public:
  explicit UnknownStatistic(std::string_view key);
};

class StatsRegistry {
 public:
  // A placeholder's values (name without brackets, e.g. "kind"), each with a
  // description for --list-stats. Defined before the patterns that use it.
  void define(const std::string& placeholder, std::vector<std::pair<std::string, std::string>> values);
  // Declares keys, in the order --list-stats prints them. A key declared twice,
  // or a pattern with a placeholder not defined first, throws std::logic_error.
  void add(const std::vector<StatDecl>& decls);

  // The declaration of `key` (exact, else the first pattern matching it); nullptr if none.
  const StatDecl* find(std::string_view key) const;
  // The same, but an undeclared key throws UnknownStatistic.
  const StatDecl& at(std::string_view key) const;
  const std::vector<StatDecl>& all() const { return decls_; }

  // The keys a declaration stands for in a run with `cpus` CPUs (itself, if
  // it is not a pattern).
  std::vector<std::string> expand(const StatDecl& d, unsigned cpus) const;

  // mmusim --list-stats: every key with its unit and description, one a line.
  std::string list() const;

 private:
  bool matches(std::string_view pattern, std::string_view key) const;

  std::vector<StatDecl> decls_;
  std::unordered_map<std::string, size_t> exact_;  // key -> index in decls_
  std::vector<size_t> patterns_;                   // indices in decls_
  std::vector<std::string> placeholder_order_;  // in define() order, for list()
  std::unordered_map<std::string, std::vector<std::string>> placeholders_;
  std::unordered_map<std::string, std::vector<std::string>> placeholder_descriptions_;
};

// A run's statistics read by declared key: an undeclared key throws
// UnknownStatistic; a declared one the run did not emit (a CPU it did not
// have) reads as 0 or "".
class StatsView {
 public:
  StatsView(const StatsJson& stats, const StatsRegistry& registry) : stats_(stats), registry_(registry) {}
  uint64_t u64(const std::string& key) const;
  double real(const std::string& key) const;
  std::string text(const std::string& key) const;
  // Whether the run emitted this declared key.
  bool has(const std::string& key) const;

 private:
  const StatsJson& stats_;
  const StatsRegistry& registry_;
};

}  // namespace mmusim
