// --check-stats (testbench/check_stats.cc): which expected statistics match a
// run's, and the clean error ("FILE:LINE:COLUMN: ...") for a malformed file.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "check_stats.h"
#include "common/error.h"

namespace mmusim::test {

namespace {

const StatsJson& run_stats() {
  static const StatsJson s = StatsJson::parse(
      R"({"sim.accesses": 17, "tlb.l1.hit_rate": 0.875, "config.fork.policy": "cow"})");
  return s;
}

// The number of differences, and what was printed about them.
int differences(const std::string& json, std::string* printed = nullptr) {
  std::ostringstream err;
  int n = check_expected_stats(json, "e.json", run_stats(), err);
  if (printed) *printed = err.str();
  return n;
}

std::string error_of(const std::string& json) {
  try {
    differences(json);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("check-stats: equal, unequal and missing statistics", "[check_stats]") {
  CHECK(differences(R"({"stats": {"sim.accesses": 17, "config.fork.policy": "cow"}})") == 0);
  CHECK(differences(R"({"sim.accesses": 17})") == 0);  // without the "stats" wrapper
  std::string printed;
  CHECK(differences(R"({"sim.accesses": 18, "nope": 1})", &printed) == 2);
  CHECK(printed == "e.json: sim.accesses is 17, expected 18\ne.json: statistic 'nope' does not exist\n");
  // Floats within a relative 1e-6, integers exactly.
  CHECK(differences(R"({"tlb.l1.hit_rate": 0.8750005})") == 0);
  CHECK(differences(R"({"tlb.l1.hit_rate": 0.876})") == 1);
  CHECK(differences(R"({"sim.accesses": 17.0000001})") == 0);
}

TEST_CASE("check-stats: a value of another kind is a difference, not a crash", "[check_stats]") {
  // Found by fuzzing (fuzz/regressions/check_stats/): a string expected where the
  // run has a float threw nlohmann's type_error out of mmusim.
  std::string printed;
  CHECK(differences(R"({"tlb.l1.hit_rate": "x"})", &printed) == 1);
  CHECK(printed == "e.json: tlb.l1.hit_rate is 0.875, expected \"x\"\n");
  CHECK(differences(R"({"config.fork.policy": 1.5})") == 1);
  CHECK(differences(R"({"sim.accesses": null})") == 1);
}

TEST_CASE("check-stats: a malformed file is an error naming file, line and column", "[check_stats]") {
  CHECK(error_of("{\n  \"sim.accesses\": 17,\n  oops\n}") ==
        "e.json:3:3: syntax error while parsing object key - invalid literal; last read: '17,<U+000A>  o'; "
        "expected string literal");
  CHECK(error_of("") == "e.json:1:1: syntax error while parsing value - unexpected end of input; expected "
                        "'[', '{', or a literal");
  CHECK(error_of("[1, 2]") == "e.json: expected a JSON object of statistics, not array");
  CHECK(error_of("17") == "e.json: expected a JSON object of statistics, not number");
  CHECK(error_of(R"({"stats": [1]})") == "e.json: \"stats\" must be an object of statistics, not array");
}

}  // namespace mmusim::test
