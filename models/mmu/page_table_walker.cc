// RISC-V Sv39/Sv48 page-table walk (privileged spec, "Virtual Address
// Translation Process") for user- and supervisor-mode accesses (mstatus.SUM
// and MXR), with hardware A/D update (Svadu) and an optional page-walk cache
// (PWC) of non-leaf PTEs.
//
// Walk
//   level = levels-1, table = root. Repeat:
//     pte_addr = pte_slot(table, vpn, level); one timed read.
//     V == 0                      -> NotValid
//     W == 1 and R == 0           -> Malformed (reserved encoding)
//     R == W == X == 0 (pointer):  level == 0, or U, A or D set (reserved in a
//                                  non-leaf PTE by the privileged spec) -> Malformed;
//                                  else table = pte.ppn, level -= 1, continue
//                                  (with mmu.nonleaf_wp, RSW bit 8 of the pointer
//                                  sets write_protected for the rest of the walk;
//                                  without it the RSW bits are ignored)
//     leaf at level > 0 whose ppn has any of its low 9*level bits set
//                                 -> Malformed (misaligned superpage)
//     leaf not permitting the access (pte_permits: R/W/X/U against the access,
//     its privilege, SUM and MXR) -> Permission
//     a store with write_protected set -> Permission (even if the leaf has W;
//     nothing is written: A and D stay as they are)
//     else, if A == 0 or (store and D == 0): write the PTE back with A (and D for
//     a store) set, one timed write.
//   On every outcome WalkResult.{pte, pte_addr, level} describe the last PTE read
//   (for a fault before a leaf: the offending PTE and its level).
//
// Page-walk cache
//   Fully associative, pwc_entries entries, exact LRU (stamps). An entry caches
//   one non-leaf PTE: key (root ppn, level L of the table it points to,
//   prefix = vpn >> 9*(L+1)), value the frame of that table and whether a
//   non-leaf PTE from the root down to it had WP (so a walk that starts at a
//   cached entry knows the write protection above it). Every non-leaf PTE
//   read is inserted (or refreshed). A walk probes L = 0, 1, ..., levels-2 and
//   starts at the first hit (counting one pwc_hit); when no level hits it counts
//   one pwc_miss and starts at the root. With pwc_entries = 0 there is no cache:
//   no probes, no hits, no misses.
#include "mmu/page_table_walker.h"

namespace mmusim {

PageTableWalker::PageTableWalker(PagingMode mode, unsigned pwc_entries, PteMemory& mem, bool nonleaf_wp)
    : mode_(mode), nonleaf_wp_(nonleaf_wp), mem_(mem), pwc_(pwc_entries) {}

void PageTableWalker::flush_pwc() {
  for (PwcEntry& e : pwc_) e.valid = false;
}

const PageTableWalker::PwcEntry* PageTableWalker::pwc_find(Ppn root, Vpn vpn, unsigned level) {
  const Vpn prefix = vpn >> (kVpnBitsPerLevel * (level + 1));
  for (PwcEntry& e : pwc_) {
    if (e.valid && e.level == level && e.prefix == prefix && e.root == root) {
      e.stamp = ++pwc_clock_;
      return &e;
    }
  }
  return nullptr;
}

void PageTableWalker::pwc_insert(Ppn root, Vpn vpn, unsigned level, Ppn next, bool wp) {
  if (pwc_.empty()) return;
  const Vpn prefix = vpn >> (kVpnBitsPerLevel * (level + 1));
  PwcEntry* slot = nullptr;
  for (PwcEntry& e : pwc_) {
    if (e.valid && e.level == level && e.prefix == prefix && e.root == root) {
      slot = &e;  // refresh in place
      break;
    }
  }
  if (slot == nullptr) {
    for (PwcEntry& e : pwc_) {
      if (!e.valid) {
        slot = &e;
        break;
      }
    }
  }
  if (slot == nullptr) {
    slot = &pwc_[0];
    for (PwcEntry& e : pwc_)
      if (e.stamp < slot->stamp) slot = &e;
  }
  slot->root = root;
  slot->prefix = prefix;
  slot->level = level;
  slot->next = next;
  slot->wp = wp;
  slot->stamp = ++pwc_clock_;
  slot->valid = true;
}

WalkResult PageTableWalker::walk(Ppn root, Vpn vpn, AccessType access, AccessContext ctx) {
  ++stats_.walks;
  WalkResult r;
  unsigned level = levels_of(mode_) - 1;
  Ppn table = root;

  if (!pwc_.empty()) {
    bool hit = false;
    for (unsigned l = 0; l + 1 < levels_of(mode_); ++l) {
      if (const PwcEntry* e = pwc_find(root, vpn, l)) {
        table = e->next;
        level = l;
        r.write_protected = e->wp;
        hit = true;
        break;
      }
    }
    if (hit)
      ++stats_.pwc_hits;
    else
      ++stats_.pwc_misses;
  }

  for (;;) {
    const PAddr addr = pte_slot(table, vpn, level);
    Cycles delay = 0;
    const Pte pte{mem_.read_pte(addr, delay)};
    r.cycles += delay;
    ++r.mem_reads;
    r.pte = pte;
    r.pte_addr = addr;
    r.level = level;

    if (!pte.valid()) {
      r.fault = WalkFault::NotValid;
      break;
    }
    if (pte.writable() && !pte.readable()) {
      r.fault = WalkFault::Malformed;
      break;
    }
    if (!pte.is_leaf()) {
      if (level == 0 || pte.user() || pte.accessed() || pte.dirty()) {
        r.fault = WalkFault::Malformed;
        break;
      }
      table = pte.ppn();
      --level;
      if (nonleaf_wp_ && pte.write_protected()) r.write_protected = true;
      pwc_insert(root, vpn, level, table, r.write_protected);
      continue;
    }
    // Leaf.
    if (level > 0 && (pte.ppn() & ((uint64_t{1} << (kVpnBitsPerLevel * level)) - 1)) != 0) {
      r.fault = WalkFault::Malformed;
      break;
    }
    if (!pte_permits(pte, access, ctx)) {
      r.fault = WalkFault::Permission;
      break;
    }
    if (r.write_protected && access == AccessType::Store) {
      r.fault = WalkFault::Permission;  // the hierarchical write protection above the leaf
      break;
    }
    const bool store = access == AccessType::Store;
    if (!pte.accessed() || (store && !pte.dirty())) {
      const Pte updated = pte.with(store ? (Pte::A | Pte::D) : Pte::A);
      Cycles wdelay = 0;
      mem_.write_pte(addr, updated.raw, wdelay);
      r.cycles += wdelay;
      ++stats_.mem_writes;
      r.pte = updated;
    }
    break;
  }

  stats_.mem_reads += r.mem_reads;
  stats_.cycles += r.cycles;
  return r;
}

}  // namespace mmusim
