// What each step of the kernel costs, in cycles: the kernel.* keys, read and
// validated once from the configuration.
#pragma once
#include "common/types.h"

namespace mmusim {

class Config;

struct KernelCosts {
  Cycles trap_entry = 0, trap_exit = 0;  // entering and leaving the fault handler
  Cycles fault_base = 0;                 // handler work besides the steps below
  Cycles frame_alloc = 0, frame_free = 0;
  Cycles pte_update = 0;                 // writing one PTE, besides its memory access
  Cycles tlb_flush = 0;                  // one local invalidation (sfence.vma of a page)
  Cycles cow_fault = 0;                  // a write-protect fault's work beyond a not-present one's
  Cycles cow_new_frame = 0;              // a COW fault's new frame: reverse map, accounting
  Cycles fork_base = 0, fork_per_pte = 0;
  uint64_t fork_cached_ptes = 0;   // PTEs a fork copies at fork_per_pte alone
  Cycles fork_per_pte_uncached = 0;  // extra for each PTE beyond them

  // The per-PTE work of one fork that copies `ptes` PTEs.
  Cycles fork_ptes(uint64_t ptes) const {
    return fork_per_pte * ptes + fork_per_pte_uncached * (ptes > fork_cached_ptes ? ptes - fork_cached_ptes : 0);
  }
  Cycles context_switch = 0, syscall = 0;
  Cycles ipi_send = 0;     // the initiator sends one IPI
  Cycles ipi_latency = 0;  // an IPI travels to its target
  Cycles ipi_handler = 0;  // the target's handler: entry, flush, acknowledge, exit

  static KernelCosts from(const Config& cfg);
};

}  // namespace mmusim
