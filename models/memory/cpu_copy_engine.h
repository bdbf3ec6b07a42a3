// kernel.copy_engine = cpu: the faulting CPU copies and zeroes pages itself
// (memcpy / memset through the caches): one memory latency, then the bytes
// at mem.copy_bytes_per_cycle (copy) or mem.zero_bytes_per_cycle (zero).
// Energy: the memory-bus copy of RowClone's baseline (Seshadri et al.,
// MICRO 2013): mem.copy_energy_nj and mem.zero_energy_nj a 4 KiB page.
#pragma once
#include "memory/copy_engine.h"

namespace mmusim {

class CpuCopyEngine : public CopyEngine {
 public:
  CpuCopyEngine(const Config& cfg, PhysMem& mem);
  const char* name() const override { return "cpu"; }

 private:
  Cycles copy_frames(Ppn dst, Ppn src, uint64_t frames) override;
  Cycles zero_frames(Ppn dst, uint64_t frames) override;

  PhysMem& mem_;
  double copy_nj_, zero_nj_;  // a 4 KiB page
};

}  // namespace mmusim
