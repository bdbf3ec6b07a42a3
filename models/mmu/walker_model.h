// The small interface every page-table walker sits behind (the C++ walker,
// the RTL walker's adapter, the lockstep pair; ptw.impl), so the Mmu does not
// care which it has. Called on TLB misses only, never on the hit path.
#pragma once
#include "common/types.h"
#include "mmu/page_table_walker.h"

namespace mmusim {

class WalkerModel {
 public:
  virtual ~WalkerModel() = default;
  // One walk for `vpn` in the tables rooted at frame `root`; `asid` identifies
  // the address space (the RTL carries it; the C++ walker's PWC is keyed by
  // root); `ctx` is who accesses (user mode by default). Every override
  // repeats the default, so a call through any type means the same.
  virtual WalkResult walk(Ppn root, Vpn vpn, AccessType access, Asid asid, AccessContext ctx = {}) = 0;
  // The kernel freed or rewrote a page-table page: forget cached non-leaf PTEs.
  virtual void flush_pwc() = 0;
  // ptw.* statistics; WalkResult.cycles summed are the cycles charged.
  virtual const WalkerStats& stats() const = 0;
  virtual PagingMode mode() const = 0;
};

// The C++ walker (ptw.impl = model) behind the interface.
class CppPageTableWalker final : public WalkerModel {
 public:
  CppPageTableWalker(PagingMode mode, unsigned pwc_entries, PteMemory& mem, bool nonleaf_wp)
      : walker_(mode, pwc_entries, mem, nonleaf_wp) {}
  WalkResult walk(Ppn root, Vpn vpn, AccessType access, Asid, AccessContext ctx = {}) override {
    return walker_.walk(root, vpn, access, ctx);
  }
  void flush_pwc() override { walker_.flush_pwc(); }
  const WalkerStats& stats() const override { return walker_.stats(); }
  PagingMode mode() const override { return walker_.mode(); }
  PageTableWalker& walker() { return walker_; }

 private:
  PageTableWalker walker_;
};

}  // namespace mmusim
