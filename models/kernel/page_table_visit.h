// The kernel's walk over a range of leaf PTEs (a template, so it lives in a
// header included by the kernel's sources that need it).
#pragma once
#include "kernel/kernel.h"
#include "memory/phys_mem.h"

namespace mmusim {

// Leaves at `leaf_level` only: 0 the 4 KiB pages, 1 the 2 MiB ones (for_each_huge).
template <class Fn>
bool Kernel::visit_table(Ppn table, unsigned level, Vpn base, Vpn lo, Vpn hi, Fn& fn, unsigned leaf_level) const {
  const unsigned shift = level * kVpnBitsPerLevel;
  const uint64_t first = lo > base ? (lo - base) >> shift : 0;
  const uint64_t last = std::min<uint64_t>(kPtesPerTable - 1, (hi - 1 - base) >> shift);
  for (uint64_t i = first; i <= last; ++i) {
    const PAddr slot = frame_addr(table) + i * kPteBytes;
    const Pte pte{mem_.read64(slot)};
    if (!pte.valid()) continue;
    const Vpn vbase = base + (i << shift);
    if (level == leaf_level) {
      if ((level == 0 || pte.is_leaf()) && !fn(slot, pte, vbase)) return false;
    } else if (pte.is_leaf()) {
      continue;  // a page larger than the ones asked for
    } else if (!visit_table(pte.ppn(), level - 1, vbase, lo, hi, fn, leaf_level)) {
      return false;
    }
  }
  return true;
}

template <class Fn>
bool Kernel::for_each_leaf(const AddressSpace& mm, Vpn lo, Vpn hi, Fn&& fn) const {
  if (lo >= hi) return true;
  return visit_table(mm.root, levels_ - 1, 0, lo, hi, fn);
}

}  // namespace mmusim
