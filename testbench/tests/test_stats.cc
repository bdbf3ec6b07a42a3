// The statistics' declarations (common/stats_registry.h): every key a run
// writes is declared with its unit and description, every declared key is
// written, an undeclared key is an error, and mmusim --list-stats prints them.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "common/stats_registry.h"
#include "run.h"
#include "sim_harness.h"

namespace mmusim::test {

namespace {

const std::string kSource = MMUSIM_SOURCE_DIR;

// The statistics mmusim writes for `trace` with `args`.
nlohmann::json run_stats(const std::string& trace, std::vector<std::string> args = {}) {
  TempFile stats("", ".json");
  args.insert(args.begin(), {"-q", "--stats", stats.path()});
  args.push_back(kSource + "/traces/" + trace);
  const ProcessResult r = run_mmusim(args);
  INFO(r.command << "\n" << r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(stats.path());
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("stats: every key a run writes is declared, and every declared key is written", "[stats]") {
  const StatsRegistry& reg = stats_registry();
  struct Scenario {
    std::string trace;
    std::vector<std::string> args;
    unsigned cpus;
  };
  for (const Scenario& sc : std::vector<Scenario>{{"tutorial-int-x.trace", {}, 1},
                                                  {"zero-page.trace", {"--fork-policy", "eager"}, 1},
                                                  {"mc-cow-sibling.trace", {"--set", "cpu.count=2"}, 2},
                                                  {"mc-reuse-spurious.trace", {"--set", "cpu.count=2"}, 2}}) {
    INFO(sc.trace);
    const nlohmann::json s = run_stats(sc.trace, sc.args);
    for (const auto& [key, value] : s.items()) {
      INFO("written: " << key);
      const StatDecl* d = reg.find(key);
      REQUIRE(d != nullptr);
      CHECK(value.is_string() == (std::string(d->unit) == "text"));
    }
    size_t declared = 0;
    for (const StatDecl& d : reg.all())
      for (const std::string& key : reg.expand(d, sc.cpus)) {
        INFO("declared: " << key << " (" << d.key << ")");
        CHECK(s.contains(key));
        ++declared;
      }
    CHECK(declared == s.size());  // no key written twice under two declarations
  }
}

TEST_CASE("stats: every declaration has a unit and a description, and patterns match only their values", "[stats]") {
  const StatsRegistry& reg = stats_registry();
  for (const StatDecl& d : reg.all()) {
    INFO(d.key);
    CHECK(std::string(d.unit) != "");
    CHECK(std::string(d.description) != "");
  }
  CHECK(reg.find("tlb.l1.fills") != nullptr);
  CHECK(reg.find("tlb.l2.evictions") != nullptr);
  CHECK(std::string(reg.at("cpu.3.cycles").key) == "cpu.<k>.cycles");
  CHECK(std::string(reg.at("faults.latency.cow_copy.p99").key) == "faults.latency.<kind>.p99");
  CHECK(std::string(reg.at("faults.shared_map").key) == "faults.<kind>");
  CHECK(std::string(reg.at("faults.segv").key) == "faults.segv");  // the exact key before the pattern
  CHECK(reg.find("cpu.x.cycles") == nullptr);
  CHECK(reg.find("cpu..cycles") == nullptr);
  CHECK(reg.find("faults.latency.bogus.mean") == nullptr);
  CHECK(reg.find("faults.latency.cow_copy") == nullptr);
  CHECK(reg.find("faults.latency.cow_copy.p99.x") == nullptr);
  CHECK(reg.find("tlb.l1") == nullptr);
  CHECK(reg.expand(reg.at("cpu.0.tlb.l1.hits"), 2) ==
        std::vector<std::string>{"cpu.0.tlb.l1.hits", "cpu.1.tlb.l1.hits"});
  CHECK(reg.expand(reg.at("faults.latency.cow_zero.max"), 1).size() == kFaultKinds);
}

TEST_CASE("stats: reading an undeclared key is an error, a declared one the run did not write is 0", "[stats]") {
  const StatsJson s{{"tlb.l1.hits", 7}, {"sim.wall_seconds", 0.5}, {"mmusim.version", "1.2.3"}};
  const StatsView v(s, stats_registry());
  CHECK(v.u64("tlb.l1.hits") == 7);
  CHECK(v.real("sim.wall_seconds") == 0.5);
  CHECK(v.text("mmusim.version") == "1.2.3");
  CHECK(v.u64("tlb.l1.misses") == 0);
  CHECK(v.u64("cpu.5.cycles") == 0);
  CHECK_FALSE(v.has("cpu.5.cycles"));
  CHECK_THROWS_AS(v.u64("tlb.l1.hitz"), UnknownStatistic);
  CHECK_THROWS_WITH(v.u64("tlb.l1.hitz"), Catch::Contains("unknown statistic 'tlb.l1.hitz'"));
  CHECK_THROWS_AS(v.has("faults.cow"), UnknownStatistic);
  CHECK_THROWS_AS(stats_registry().at("nope"), UnknownStatistic);

  StatsRegistry r;
  r.add({{"a.b", "count", "a b"}});
  CHECK_THROWS_AS(r.add({{"a.b", "count", "again"}}), std::logic_error);
  CHECK_THROWS_AS(r.add({{"a.<undefined>", "count", "no such placeholder"}}), std::logic_error);
  r.define("x", {{"one", "the first"}, {"two", "the second"}});
  CHECK_THROWS_AS(r.define("x", {}), std::logic_error);
  r.add({{"a.<x>.c", "count", "per x"}});
  CHECK(r.find("a.two.c") != nullptr);
  CHECK(r.find("a.three.c") == nullptr);
  CHECK(r.expand(*r.find("a.one.c"), 4) == std::vector<std::string>{"a.one.c", "a.two.c"});
}

TEST_CASE("stats: mmusim --list-stats prints every key with its unit and description", "[stats][cli]") {
  const ProcessResult r = run_mmusim({"--list-stats"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const StatDecl& d : stats_registry().all()) {
    INFO(d.key);
    const size_t at = r.out.find("\n" + std::string(d.key) + " ");
    REQUIRE(at != std::string::npos);
    const std::string line = r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
    CHECK(line.find(std::string(" ") + d.unit + " ") != std::string::npos);
    CHECK(line.find(d.description) != std::string::npos);
  }
  CHECK(r.out.find("cow_copy") != std::string::npos);  // the values of <kind>
  const ProcessResult help = run_mmusim({"--help"});
  CHECK(help.out.find("--list-stats") != std::string::npos);
}

TEST_CASE("stats: TLB fills and evictions are written, and tiny TLBs evict", "[stats][tlb]") {
  const nlohmann::json big = run_stats("fork-chain.trace");
  CHECK(big["tlb.l1.fills"].get<uint64_t>() > 0);
  CHECK(big["tlb.l2.fills"].get<uint64_t>() > 0);
  CHECK(big["tlb.l1.evictions"].get<uint64_t>() <= big["tlb.l1.fills"].get<uint64_t>());
  // Every L2 fill follows a walk that found a page: at most one per walk.
  CHECK(big["tlb.l2.fills"].get<uint64_t>() <= big["ptw.walks"].get<uint64_t>());
  const nlohmann::json tiny = run_stats(
      "fork-chain.trace", {"--set", "tlb.l1.entries=1", "--set", "tlb.l1.ways=1", "--set", "tlb.l2.entries=0"});
  CHECK(tiny["tlb.l1.evictions"].get<uint64_t>() > 0);
  CHECK(tiny["tlb.l2.fills"].get<uint64_t>() == 0);
  CHECK(tiny["tlb.l2.evictions"].get<uint64_t>() == 0);
}

}  // namespace mmusim::test
