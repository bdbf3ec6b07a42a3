// --check-stats: a run's statistics against the expected ones of a scenario.
#pragma once
#include <iosfwd>
#include <string>
#include <string_view>

#include "common/stats_sink.h"

namespace mmusim {

// Compares `stats` with the expected statistics in `text`, the JSON of the file
// `path` (named in messages): an object {"stats": {key: value}} or just
// {key: value}. Prints each difference to `err` as "PATH: ..." and returns how
// many there are. Throws UserError("PATH:LINE:COLUMN: ...") if the text is not
// such an object.
int check_expected_stats(std::string_view text, const std::string& path, const StatsJson& stats,
                         std::ostream& err);

}  // namespace mmusim
