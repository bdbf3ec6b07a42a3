#include "memory/cpu_copy_engine.h"

#include "common/config.h"
#include "memory/phys_mem.h"

namespace mmusim {

CpuCopyEngine::CpuCopyEngine(const Config& cfg, PhysMem& mem)
    : mem_(mem), copy_nj_(double(cfg.u64("mem.copy_energy_nj"))), zero_nj_(double(cfg.u64("mem.zero_energy_nj"))) {}

Cycles CpuCopyEngine::copy_frames(Ppn dst, Ppn src, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.copy_frame(dst + i, src + i);
  // one stream: one latency
  return counted_copy(frames, mem_.bulk_cycles(frames * kPageSize), copy_nj_ * double(frames));
}

Cycles CpuCopyEngine::zero_frames(Ppn dst, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.zero_frame(dst + i);
  return counted_zero(frames, mem_.zero_cycles(frames * kPageSize), zero_nj_ * double(frames));
}

}  // namespace mmusim
