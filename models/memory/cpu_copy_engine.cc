#include "memory/cpu_copy_engine.h"

#include "common/config.h"
#include "memory/phys_mem.h"

namespace mmusim {

CpuCopyEngine::CpuCopyEngine(const Config& cfg, PhysMem& mem)
    : mem_(mem), copy_nj_(double(cfg.u64("mem.copy_energy_nj"))), zero_nj_(double(cfg.u64("mem.zero_energy_nj"))) {}

Cycles CpuCopyEngine::copy_frames(Ppn dst, Ppn src, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.copy_frame(dst + i, src + i);
  const Cycles t = mem_.bulk_cycles(frames * kPageSize);  // one stream: one latency
  ++stats_.copies;
  stats_.bytes_copied += frames * kPageSize;
  stats_.copy_cycles += t;
  stats_.copy_energy_nj += copy_nj_ * double(frames);
  return t;
}

Cycles CpuCopyEngine::zero_frames(Ppn dst, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.zero_frame(dst + i);
  const Cycles t = mem_.zero_cycles(frames * kPageSize);
  ++stats_.zeroes;
  stats_.bytes_zeroed += frames * kPageSize;
  stats_.zero_cycles += t;
  stats_.zero_energy_nj += zero_nj_ * double(frames);
  return t;
}

}  // namespace mmusim
