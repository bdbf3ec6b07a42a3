// A latency distribution in cycles: count, mean, exact percentiles, max.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/types.h"

namespace mmusim {

class LatencyStats {
 public:
  void add(Cycles c) {
    samples_.push_back(c);
    sum_ += c;
    max_ = std::max(max_, c);
  }
  uint64_t count() const { return samples_.size(); }
  double mean() const { return samples_.empty() ? 0.0 : double(sum_) / double(samples_.size()); }
  Cycles max() const { return max_; }
  Cycles sum() const { return sum_; }
  // Nearest-rank percentile (p in 0..100); 0 when empty.
  Cycles percentile(double p) const {
    if (samples_.empty()) return 0;
    std::vector<Cycles> s(samples_);
    size_t rank = static_cast<size_t>(p / 100.0 * double(s.size()) + 0.999999);
    rank = std::clamp<size_t>(rank, 1, s.size());
    std::nth_element(s.begin(), s.begin() + long(rank - 1), s.end());
    return s[rank - 1];
  }

 private:
  std::vector<Cycles> samples_;
  Cycles sum_ = 0;
  Cycles max_ = 0;
};

}  // namespace mmusim
