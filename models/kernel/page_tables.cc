// Page-table plumbing for the kernel: finding and creating the leaf slot of a
// page, writing leaf PTEs (with the per-table count of valid entries), pruning
// and freeing tables, and frames with their reference counts. Functional
// memory access; the time is charged into the caller's cost.
#include "kernel/kernel.h"

#include "memory/phys_mem.h"

namespace mmusim {

std::optional<Ppn> Kernel::alloc_frame(FrameUse use, Cost& c) {
  auto f = frames_.alloc(use);
  if (!f) return std::nullopt;
  c.alloc += costs_.frame_alloc;
  if (use == FrameUse::PageTable) c.alloc += engine_->zero(*f);  // a new table starts empty
  return f;
}

std::optional<Ppn> Kernel::alloc_copy_target(Ppn src, Cost& c) {
  if (copy_aware_alloc_ && engine_->placement_aware()) {
    std::optional<Ppn> near;
    engine_->for_each_near(src, [&](Ppn p) { return (near = frames_.alloc_at(p, FrameUse::Data)).has_value(); });
    engine_->count_placement(near.has_value());
    if (near) {
      c.alloc += costs_.frame_alloc;
      return near;
    }
  }
  return alloc_frame(FrameUse::Data, c);
}

void Kernel::release_frame(Ppn f, Cycles& cost) {
  if (frames_.reserved(f)) return;  // the zero frame is not reference-counted
  const uint64_t n = frames_.huge(f) ? kHugeFrames : 1;  // a huge page frees its 512 frames at once
  f = frames_.head(f);
  if (frames_.put(f)) {
    for (uint64_t i = 0; i < n; ++i) mem_.discard(f + i);
    cost += costs_.frame_free;
  }
}

PAddr Kernel::table_slot(const AddressSpace& mm, Vpn vpn, unsigned target, bool create, Cost& c, bool& oom) {
  Ppn table = mm.root;
  for (unsigned level = levels_ - 1; level > target; --level) {
    const PAddr slot = pte_slot(table, vpn, level);
    Pte pte{mem_.read64(slot)};
    c.handler += mem_.access_latency();
    if (!pte.valid()) {
      if (!create) return 0;
      auto next = alloc_frame(FrameUse::PageTable, c);
      if (!next) {
        oom = true;
        return 0;
      }
      pte = Pte::make(*next, Pte::V);
      mem_.write64(slot, pte.raw);
      c.pte_update += costs_.pte_update + mem_.access_latency();
      ++frames_.table_entries(table);
    }
    table = pte.ppn();
  }
  return pte_slot(table, vpn, target);
}

PAddr Kernel::find_leaf_slot(const AddressSpace& mm, Vpn vpn) const {
  Ppn table = mm.root;
  for (unsigned level = levels_ - 1; level > 0; --level) {
    const Pte pte{mem_.read64(pte_slot(table, vpn, level))};
    if (!pte.valid() || pte.is_leaf()) return 0;  // a leaf above level 0: a 2 MiB page
    table = pte.ppn();
  }
  return pte_slot(table, vpn, 0);
}

void Kernel::write_leaf(PAddr slot, Pte old_pte, Pte new_pte, Cost& c) {
  mem_.write64(slot, new_pte.raw);
  c.pte_update += costs_.pte_update + mem_.access_latency();
  if (old_pte.valid() != new_pte.valid()) {
    uint16_t& n = frames_.table_entries(slot >> kPageShift);
    n = uint16_t(new_pte.valid() ? n + 1 : n - 1);
  }
}

Pte Kernel::pte_of(const Process& p, VAddr va) const {
  const PAddr slot = find_leaf_slot(p.mm, vpn_of(va));
  return slot ? Pte{mem_.read64(slot)} : huge_pte_of(p, va);
}

void Kernel::prune_tables(Process& p, Vpn vpn, Cycles& cost) {
  // Slots of the non-leaf PTEs on the way down to vpn's leaf table.
  std::array<PAddr, 4> slots{};
  Ppn table = p.mm.root;
  for (unsigned level = levels_ - 1; level > 0; --level) {
    slots[level] = pte_slot(table, vpn, level);
    const Pte pte{mem_.read64(slots[level])};
    if (!pte.valid()) return;
    table = pte.ppn();
  }
  // Free empty tables bottom-up; the root stays while the process lives.
  for (unsigned level = 1; level < levels_; ++level) {
    if (frames_.table_entries(table) != 0) return;
    const PAddr parent_slot = slots[level];
    mem_.write64(parent_slot, 0);
    cost += costs_.pte_update + mem_.access_latency();
    --frames_.table_entries(parent_slot >> kPageShift);
    release_frame(table, cost);
    flush_walk_caches();  // no walk cache may keep the freed table
    table = parent_slot >> kPageShift;
  }
}

void Kernel::free_tables(Ppn table, unsigned level, Cycles& cost) {
  if (level == 0 && odf_release_shared_table(table)) return;  // On-Demand-Fork: others still use it
  if (level > 0) {
    for (unsigned i = 0; i < kPtesPerTable; ++i) {
      const Pte pte{mem_.read64(frame_addr(table) + i * kPteBytes)};
      if (pte.valid() && !pte.is_leaf()) free_tables(pte.ppn(), level - 1, cost);  // not a 2 MiB leaf
    }
  }
  frames_.table_entries(table) = 0;
  release_frame(table, cost);
}

Pte Kernel::leaf_flags_for(const Vma& v, Ppn frame, bool writable, bool dirty) const {
  uint64_t f = Pte::V | Pte::U | Pte::A;
  if (v.perms.r) f |= Pte::R;
  if (v.perms.x) f |= Pte::X;
  if (writable) f |= Pte::W;
  if (dirty) f |= Pte::D;
  return Pte::make(frame, f);
}

}  // namespace mmusim
