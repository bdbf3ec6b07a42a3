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
  ++stats_.dma_descriptors;  // one for a contiguous run
  return counted_copy(frames, transfer_cycles(frames * kPageSize), copy_nj_ * double(frames));
}

Cycles DmaEngine::zero_frames(Ppn dst, uint64_t frames) {
  for (uint64_t i = 0; i < frames; ++i) mem_.zero_frame(dst + i);
  ++stats_.dma_descriptors;
  return counted_zero(frames, transfer_cycles(frames * kPageSize), zero_nj_ * double(frames));
}

}  // namespace mmusim
