// --check-stats; see check_stats.h.
#include "check_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>

#include "common/error.h"

namespace mmusim {
namespace {

// "PATH:LINE:COLUMN: message" for a JSON syntax error at byte `byte` (1-based,
// as nlohmann counts it) of `text`.
std::string syntax_error(std::string_view text, const std::string& path,
                         const nlohmann::json::parse_error& e) {
  const size_t end = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  // what() is "[json.exception.parse_error.N] parse error at line L, column C: MESSAGE".
  std::string msg = e.what();
  if (size_t at = msg.find(", column "); at != std::string::npos) {
    if (size_t colon = msg.find(": ", at); colon != std::string::npos) msg.erase(0, colon + 2);
  }
  return fmt::format("{}:{}:{}: {}", path, line, column, msg);
}

bool same_value(const StatsJson& got, const StatsJson& want) {
  // Numbers compare as numbers (a float within a relative 1e-6); anything
  // else, or a number against a non-number, compares exactly.
  if (got.is_number() && want.is_number() && (got.is_number_float() || want.is_number_float())) {
    const double g = got.get<double>(), w = want.get<double>();
    return std::abs(g - w) <= 1e-6 * std::max(1.0, std::abs(w));
  }
  return got == want;
}

}  // namespace

int check_expected_stats(std::string_view text, const std::string& path, const StatsJson& stats,
                         std::ostream& err) {
  StatsJson expected;
  try {
    expected = StatsJson::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw UserError(syntax_error(text, path, e));
  } catch (const nlohmann::json::exception& e) {
    throw UserError(fmt::format("{}: {}", path, e.what()));
  }
  if (!expected.is_object())
    throw UserError(fmt::format("{}: expected a JSON object of statistics, not {}", path, expected.type_name()));
  if (expected.contains("stats")) {
    if (!expected["stats"].is_object())
      throw UserError(fmt::format("{}: \"stats\" must be an object of statistics, not {}", path,
                                  expected["stats"].type_name()));
    expected = StatsJson(expected["stats"]);
  }
  int bad = 0;
  for (const auto& [key, want] : expected.items()) {
    if (!stats.contains(key)) {
      err << fmt::format("{}: statistic '{}' does not exist\n", path, key);
      ++bad;
      continue;
    }
    const auto& got = stats[key];
    if (!same_value(got, want)) {
      err << fmt::format("{}: {} is {}, expected {}\n", path, key, got.dump(), want.dump());
      ++bad;
    }
  }
  return bad;
}

}  // namespace mmusim
