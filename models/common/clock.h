// The core clock: converts between cycles and SystemC time. The period is a
// whole number of picoseconds (SystemC's default resolution), so every delay
// is an exact multiple of it and cycles are recovered without rounding.
#pragma once
#include <cmath>
#include <systemc>

#include "common/types.h"

namespace mmusim {

class Clock {
 public:
  explicit Clock(uint64_t freq_mhz)
      : freq_mhz_(freq_mhz),
        period_ps_(std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(1e6 / double(freq_mhz))))),
        period_(sc_core::sc_time::from_value(period_ps_)) {}

  // Inline (sc_time::from_value is a library call, and this is on the hot
  // path); exact while the product stays below 2^53 ps (about 104 days).
  sc_core::sc_time to_time(Cycles c) const { return period_ * double(c); }
  Cycles to_cycles(const sc_core::sc_time& t) const { return t.value() / period_ps_; }
  const sc_core::sc_time& period() const { return period_; }
  uint64_t freq_mhz() const { return freq_mhz_; }

 private:
  uint64_t freq_mhz_;
  uint64_t period_ps_;
  sc_core::sc_time period_;
};

}  // namespace mmusim
