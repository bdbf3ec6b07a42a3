// kernel.copy_engine = dma: an offload engine in the style of Intel's DSA.
// The kernel writes a descriptor and submits it (dma.setup), the engine
// moves the bytes at dma.bytes_per_cycle (a memory fill for zeroing), and
// the kernel learns of the completion by an interrupt (dma.interrupt) or by
// polling the completion record (dma.poll), as dma.completion says. A page
// fault cannot retire the faulting access before the page is there, so the
// faulting CPU waits for the whole transfer: the fault's `copy` time is
// setup + transfer + completion. The defaults put the break-even with the
// CPU's copy at about 8 KiB when polling (Intel's DTO library uses the CPU
// below that size): a 4 KiB page is dearer to offload than to copy.
// Energy: the same memory-channel traffic as the CPU's copy (the baseline
// of RowClone, MICRO 2013): dma.copy_energy_nj and dma.zero_energy_nj a page.
#pragma once
#include "memory/copy_engine.h"

namespace mmusim {

class DmaEngine : public CopyEngine {
 public:
  DmaEngine(const Config& cfg, PhysMem& mem);
  const char* name() const override { return "dma"; }

  // The cycles one transfer of `bytes` keeps the requester waiting.
  Cycles transfer_cycles(uint64_t bytes) const;

 private:
  Cycles copy_frames(Ppn dst, Ppn src, uint64_t frames) override;
  Cycles zero_frames(Ppn dst, uint64_t frames) override;

  PhysMem& mem_;
  Cycles setup_, completion_;
  uint64_t bytes_per_cycle_;
  double copy_nj_, zero_nj_;
};

}  // namespace mmusim
