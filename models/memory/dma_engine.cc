#include "memory/dma_engine.h"

#include "common/config.h"
#include "memory/phys_mem.h"

namespace mmusim {

DmaEngine::DmaEngine(const Config& cfg, PhysMem& mem)
    : mem_(mem),
      setup_(cfg.u64("dma.setup")),
      completion_(cfg.str("dma.completion") == "interrupt" ? cfg.u64("dma.interrupt") : cfg.u64("dma.poll")),
      bytes_per_cycle_(cfg.u64("dma.bytes_per_cycle")),
      copy_nj_(double(cfg.u64("dma.copy_energy_nj"))),
      zero_nj_(double(cfg.u64("dma.zero_energy_nj"))) {}

Cycles DmaEngine::transfer_cycles(uint64_t bytes) const {
  return setup_ + (bytes + bytes_per_cycle_ - 1) / bytes_per_cycle_ + completion_;
}

Cycles DmaEngine::copy_frames(Ppn dst, Ppn src, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.copy_frame(dst + i, src + i);
  const Cycles t = transfer_cycles(frames * kPageSize);  // one descriptor for a contiguous run
  ++stats_.copies;
  ++stats_.dma_descriptors;
  stats_.bytes_copied += frames * kPageSize;
  stats_.copy_cycles += t;
  stats_.copy_energy_nj += copy_nj_ * double(frames);
  return t;
}

Cycles DmaEngine::zero_frames(Ppn dst, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.zero_frame(dst + i);
  const Cycles t = transfer_cycles(frames * kPageSize);
  ++stats_.zeroes;
  ++stats_.dma_descriptors;
  stats_.bytes_zeroed += frames * kPageSize;
  stats_.zero_cycles += t;
  stats_.zero_energy_nj += zero_nj_ * double(frames);
  return t;
}

}  // namespace mmusim
