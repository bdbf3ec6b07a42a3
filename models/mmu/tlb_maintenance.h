// What the kernel may do to one CPU's translation caches (RISC-V sfence.vma
// flavours, x86 invlpg / INVPCID): the only way the kernel reaches an MMU, so
// that several CPUs' MMUs, or a test double, can stand behind it.
#pragma once
#include <functional>

#include "common/types.h"
#include "mmu/tlb_model.h"

namespace mmusim {

class TlbMaintenance {
 public:
  virtual ~TlbMaintenance() = default;
  // One page of one address space (and global entries of that page).
  virtual void invalidate_page(Vpn vpn, Asid asid) = 0;
  // Every non-global entry of one address space.
  virtual void invalidate_asid(Asid asid) = 0;
  // Everything, the page-walk cache included.
  virtual void invalidate_all() = 0;
  // The kernel freed or changed a page-table page.
  virtual void flush_walk_cache() = 0;
  // Every cached translation (L1 and L2), for the kernel's invariant check
  // that no TLB holds a translation the page tables no longer allow. A TLB
  // that cannot be read out (the RTL alone) visits nothing.
  virtual void visit_entries(const std::function<void(const TlbEntry&)>& fn) const = 0;
};

}  // namespace mmusim
