// Who copies and zeroes pages for the kernel (kernel.copy_engine): the CPU
// (cpu_copy_engine.h), an offload DMA engine (dma_engine.h) or the DRAM
// itself (rowclone_engine.h). An engine really moves the bytes, through
// PhysMem, and returns the cycles the faulting CPU waits for it; it counts
// what it did and the energy it spent. The kernel charges that time to the
// fault's `copy` column.
#pragma once
#include <cstdint>
#include <memory>

#include "common/stats_sink.h"
#include "common/types.h"

namespace mmusim {

class Config;
class PhysMem;
class StatsRegistry;

struct CopyEngineStats {
  uint64_t copies = 0, zeroes = 0;            // operations (one a request, any size)
  uint64_t bytes_copied = 0, bytes_zeroed = 0;
  Cycles copy_cycles = 0, zero_cycles = 0;    // what the requesters waited
  double copy_energy_nj = 0, zero_energy_nj = 0;
  // RowClone: 4 KiB copies in one subarray (Fast Parallel Mode), between
  // banks (Pipelined Serial Mode), and within a bank across subarrays (two
  // PSM transfers through another bank); zeroings from the subarray's zero row.
  uint64_t fpm_copies = 0, psm_copies = 0, psm_intra_bank = 0, fpm_zeroes = 0;
  // Copy-aware allocation: destinations found in the source's subarray, and
  // copies for which none was free.
  uint64_t placed_near = 0, placed_far = 0;
  uint64_t dma_descriptors = 0;
};

class CopyEngine {
 public:
  virtual ~CopyEngine() = default;

  // Copies `frames` whole frames from src.. to dst.. (contiguous runs).
  Cycles copy(Ppn dst, Ppn src, uint64_t frames = 1) { return copy_frames(dst, src, frames); }
  // Zeroes `frames` whole frames from dst.
  Cycles zero(Ppn dst, uint64_t frames = 1) { return zero_frames(dst, frames); }
  virtual const char* name() const = 0;

  // Copy-aware allocation (kernel.copy_aware_alloc): calls fn(p) for each
  // frame a copy of `src` would be cheapest into, best first, until fn
  // returns true. Engines that do not care about placement call nothing.
  template <class Fn> void for_each_near(Ppn src, Fn&& fn) const {
    for (uint64_t i = 0, n = near_count(); i < n; ++i)
      if (fn(near_frame(src, i))) return;
  }
  bool placement_aware() const { return near_count() > 0; }
  void count_placement(bool near) { ++(near ? stats_.placed_near : stats_.placed_far); }

  const CopyEngineStats& stats() const { return stats_; }
  void report(StatsJson& out) const;
  static void declare_stats(StatsRegistry& r);

 protected:
  virtual Cycles copy_frames(Ppn dst, Ppn src, uint64_t frames) = 0;
  virtual Cycles zero_frames(Ppn dst, uint64_t frames) = 0;
  // Count one request of `frames` frames that took t cycles and nj nanojoules.
  Cycles counted_copy(uint64_t frames, Cycles t, double nj);
  Cycles counted_zero(uint64_t frames, Cycles t, double nj);
  // The i-th of near_count() frames near `src` (may lie beyond memory: the
  // caller checks).
  virtual uint64_t near_count() const { return 0; }
  virtual Ppn near_frame(Ppn /*src*/, uint64_t /*i*/) const { return 0; }

  CopyEngineStats stats_;
};

// The engine kernel.copy_engine names, with its keys from cfg.
std::unique_ptr<CopyEngine> make_copy_engine(const Config& cfg, PhysMem& mem);

}  // namespace mmusim
