// The small interface every TLB implementation sits behind (the C++ TLB, the
// RTL TLB adapter, the lockstep pair), so the Mmu does not care which it has.
#pragma once
#include <cstdint>
#include <functional>

#include "common/types.h"

namespace mmusim {

struct TlbEntry {
  Vpn vpn = 0;          // virtual page number of the 4 KiB page that was looked up;
                        // for a superpage, the lower (level*9) bits are ignored
  Ppn ppn = 0;          // frame of the page (for a superpage: of its first 4 KiB page)
  Asid asid = 0;
  uint8_t flags = 0;    // the leaf PTE's low 8 bits (V R W X U G A D)
  uint8_t level = 0;    // 0: 4 KiB, 1: 2 MiB, 2: 1 GiB, 3: 512 GiB
  bool global() const { return flags & 0x20; }  // PTE G bit: matches every ASID
  // The frame for `vpn` within this (possibly super) page.
  Ppn translate(Vpn v) const {
    const uint64_t span = uint64_t{1} << (9 * level);
    return ppn + (v & (span - 1));
  }
};

class TlbModel {
 public:
  virtual ~TlbModel() = default;
  // Hot path: no allocation. Returns the matching entry (updating replacement
  // state) or nullptr on a miss. The pointer is valid until the next call.
  virtual const TlbEntry* lookup(Vpn vpn, Asid asid) = 0;
  // Installs a translation (replacing a matching entry if present, otherwise
  // choosing a victim by the replacement policy). Returns whether it evicted a
  // valid entry of another page (tlb.<level>.evictions).
  virtual bool fill(const TlbEntry& e) = 0;
  virtual void invalidate_all() = 0;
  // Non-global entries of one ASID.
  virtual void invalidate_asid(Asid asid) = 0;
  // Entries mapping vpn, in every ASID.
  virtual void invalidate_page(Vpn vpn) = 0;
  // Entries mapping vpn in one ASID, and global entries mapping vpn.
  virtual void invalidate_page_asid(Vpn vpn, Asid asid) = 0;
  // Hit latency in cycles.
  virtual Cycles latency() const = 0;
  virtual unsigned entries() const = 0;
  // Every valid entry (the kernel's invariant check; not on the hot path). An
  // implementation that cannot be read out (the RTL adapter) visits nothing.
  virtual void visit(const std::function<void(const TlbEntry&)>& fn) const { (void)fn; }
};

}  // namespace mmusim
