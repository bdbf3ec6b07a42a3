// On-Demand-Fork (Zhao et al., EuroSys 2021), kernel.fork_policy = odf.
//
// fork shares each eligible leaf (level-0) table of the parent with the child
// instead of copying its PTEs: the child's level-1 PTE points at the parent's
// table, the table frame's reference count goes up, and the level-1 PTEs of
// both processes get Pte::WP, which the walker honours with mmu.nonleaf_wp (a
// store below it faults even if the leaf PTE is writable; loads go through).
// Data frames are not touched at fork: a frame in a shared table is
// referenced once by that table, however many processes share the table.
//
// A table is eligible when every VMA overlapping its 2 MiB is private
// anonymous memory (as the paper: a table holding pages of a shared mapping is
// copied PTE by PTE, as cow does), or when it is shared already (it then holds
// no shared mapping's PTE: nothing is ever written into a shared table).
//
// No PTE of a table with more than one reference is ever written:
//  - a fault (a store below the WP, or any fault that would write a PTE in
//    the table, such as the demand fault of an absent page) copies the table
//    (faults.table_copy): a new table frame, the 512 PTEs copied through
//    PhysMem, a reference taken on each present page's frame and its PTE
//    write-protected in both copies (what cow fork would have done), one
//    reference dropped on the shared table, the level-1 PTE pointed at the
//    copy without WP. The fault ends there and the CPU retries: the retried
//    access takes the usual fault (cow_copy, cow_reuse, demand_zero) if it
//    needs one, with its own record. (The paper does both in one fault; the
//    retry costs one more trap and walk, and keeps one kind per fault.)
//  - a fault that finds the table's reference count at 1 (the other sharers
//    copied it or exited) lifts the WP and goes on in the same fault
//    (odf.tables_reused); a store whose leaf then allows it is a spurious
//    fault (the stale entry was cached under the WP).
//  - munmap of a whole shared table drops the reference (odf.tables_detached);
//    munmap of part of it, and mprotect, copy it first (odf.syscall_table_copies).
//  - teardown (exit, exec, kill) drops the reference and leaves the table's
//    pages alone.
// The walk caches hold the level-1 PTEs with their WP bit: whenever one
// changes, every page-walk cache is flushed, and the process's TLB entries
// below it are shot down as cow fork and a COW copy do.
#include <array>
#include <functional>
#include <vector>

#include "kernel/kernel.h"
#include "memory/phys_mem.h"

namespace mmusim {

bool Kernel::odf_write_protected(const Process& p, Vpn vpn) const {
  Ppn table = p.mm.root;
  for (unsigned level = levels_ - 1; level > 0; --level) {
    const Pte pte{mem_.read64(pte_slot(table, vpn, level))};
    if (!pte.valid() || pte.is_leaf()) return false;
    if (pte.write_protected()) return true;
    table = pte.ppn();
  }
  return false;
}

namespace {

// Whether every VMA overlapping the pages [lo, hi) is private.
bool all_private(const AddressSpace& mm, Vpn lo, Vpn hi) {
  const VAddr a = lo << kPageShift, b = hi << kPageShift;
  auto it = mm.vmas.upper_bound(a);
  if (it != mm.vmas.begin()) --it;
  for (; it != mm.vmas.end() && it->second.start < b; ++it)
    if (it->second.end > a && it->second.shared) return false;
  return true;
}

}  // namespace

bool Kernel::odf_share_tables(Process& parent, Process& child, Cost& c, std::vector<Vpn>& shared) {
  std::vector<std::pair<PAddr, Vpn>> candidates;  // parent's level-1 slots and the first page below them
  std::function<void(Ppn, unsigned, Vpn)> visit = [&](Ppn table, unsigned level, Vpn base) {
    for (unsigned i = 0; i < kPtesPerTable; ++i) {
      const PAddr slot = frame_addr(table) + i * kPteBytes;
      const Pte pte{mem_.read64(slot)};
      if (!pte.valid() || pte.is_leaf()) continue;  // a huge page is not a table
      const Vpn vbase = base + (Vpn{i} << (level * kVpnBitsPerLevel));
      if (level > 1) {
        visit(pte.ppn(), level - 1, vbase);
      } else if (frames_.refcount(pte.ppn()) > 1 || all_private(parent.mm, vbase, vbase + kPtesPerTable)) {
        candidates.emplace_back(slot, vbase);
      }
    }
  };
  visit(parent.mm.root, levels_ - 1, 0);

  uint64_t written = 0;
  for (const auto& [pslot, vbase] : candidates) {
    bool oom = false;
    Cost walk;  // building the child's upper tables: only allocations are charged here
    const PAddr cslot = table_slot(child.mm, vbase, 1, true, walk, oom);
    c.alloc += walk.alloc;
    if (!cslot) return false;
    const Pte pte{mem_.read64(pslot)};
    const Pte protected_pte = pte.with(Pte::WP);
    if (pte != protected_pte) {
      mem_.write64(pslot, protected_pte.raw);
      ++written;
    }
    mem_.write64(cslot, protected_pte.raw);
    ++written;
    ++frames_.table_entries(cslot >> kPageShift);
    frames_.get(pte.ppn());  // the child's reference on the table
    shared.push_back(vbase >> kVpnBitsPerLevel);
  }
  // Per shared table, fork_per_pte for its level-1 PTE (the per-table work
  // that replaces 512 per-PTE steps) and the memory traffic of the writes.
  c.pte_update += costs_.fork_per_pte * candidates.size() + mem_.transfer_cycles(written * kPteBytes);
  return true;
}

bool Kernel::odf_copy_table(Process& p, unsigned cpu, Vpn vpn, PAddr l1_slot, Pte l1, Cost& c) {
  const Ppn old = l1.ppn();
  auto copy = frames_.alloc(FrameUse::PageTable);  // not zeroed: the copy overwrites all of it
  if (!copy) return false;
  c.alloc += costs_.frame_alloc;
  c.copy += engine_->copy(*copy, old);  // the table, by the copy engine like any page
  uint64_t present = 0, protected_ptes = 0;
  for (unsigned i = 0; i < kPtesPerTable; ++i) {
    const PAddr slot = frame_addr(*copy) + i * kPteBytes;
    const Pte pte{mem_.read64(slot)};
    if (!pte.valid()) continue;
    ++present;
    const Ppn f = pte.ppn();
    if (f != zero_frame_) {
      frames_.get(f);  // the copy's reference; the shared table keeps its own
      frames_.set_exclusive(f, false);
    }
    if (pte.writable()) {  // both copies lose W, as cow fork would have done
      mem_.write64(slot, pte.without(Pte::W).raw);
      mem_.write64(frame_addr(old) + i * kPteBytes, pte.without(Pte::W).raw);
      ++protected_ptes;
    }
  }
  frames_.table_entries(*copy) = frames_.table_entries(old);
  frames_.put(old);  // still referenced by the other sharers
  mem_.write64(l1_slot, Pte::make(*copy, l1.flags() & ~Pte::WP).raw);
  c.pte_update += costs_.fork_per_pte * present + costs_.pte_update + mem_.access_latency() +
                  mem_.transfer_cycles(2 * protected_ptes * kPteBytes);
  // Every CPU's walk cache may hold the old level-1 PTE; the process's TLB
  // entries below it are flushed as for any change of a page-table pointer.
  flush_walk_caches();
  std::array<Vpn, kPtesPerTable> pages;
  const Vpn first = vpn & ~Vpn{kPtesPerTable - 1};
  for (unsigned i = 0; i < kPtesPerTable; ++i) pages[i] = first + i;
  shootdown(p, cpu, pages.data(), pages.size(), c.tlb_flush, c.shootdown);
  return true;
}

Kernel::OdfUnshare Kernel::odf_unshare(Process& p, unsigned cpu, Vpn vpn, Cost& c) {
  bool oom = false;
  const PAddr l1_slot = table_slot(p.mm, vpn, 1, false, c, oom);
  if (!l1_slot) return OdfUnshare::None;
  const Pte l1{mem_.read64(l1_slot)};
  c.handler += mem_.access_latency();
  if (!l1.valid() || l1.is_leaf() || !l1.write_protected()) return OdfUnshare::None;
  if (frames_.refcount(l1.ppn()) == 1) {
    // The other sharers copied the table or exited: it is this process's alone.
    mem_.write64(l1_slot, l1.without(Pte::WP).raw);
    c.pte_update += costs_.pte_update + mem_.access_latency();
    flush_walk_caches();  // they cached the WP bit; the TLB entries cached under it only lack W
    ++stats_.odf_tables_reused;
    return OdfUnshare::Reused;
  }
  return odf_copy_table(p, cpu, vpn, l1_slot, l1, c) ? OdfUnshare::Copied : OdfUnshare::Oom;
}

bool Kernel::odf_prepare_range(Process& p, unsigned cpu, VAddr lo, VAddr hi, bool unmapping, Cycles& cost) {
  Cost c;
  bool ok = true;
  std::vector<Vpn> detached;
  const Vpn first = vpn_of(lo), end = vpn_of(hi);
  for (Vpn t = first & ~Vpn{kPtesPerTable - 1}; ok && t < end; t += kPtesPerTable) {
    bool oom = false;
    Cost walk;  // the kernel's own walk: untimed, as munmap's and mprotect's
    const PAddr l1_slot = table_slot(p.mm, t, 1, false, walk, oom);
    if (!l1_slot) continue;
    const Pte l1{mem_.read64(l1_slot)};
    if (!l1.valid() || l1.is_leaf() || !odf_shared_table(l1.ppn())) continue;
    if (unmapping && first <= t && t + kPtesPerTable <= end) {
      // The whole table goes: let go of it (zap_pmd_range of a shared table).
      mem_.write64(l1_slot, 0);
      c.pte_update += costs_.pte_update + mem_.access_latency();
      --frames_.table_entries(l1_slot >> kPageShift);
      frames_.put(l1.ppn());
      ++stats_.odf_tables_detached;
      detached.push_back(t);
    } else if (odf_copy_table(p, cpu, t, l1_slot, l1, c)) {
      ++stats_.odf_syscall_copies;
    } else {
      ok = false;
    }
  }
  if (!detached.empty()) {
    flush_walk_caches();
    shootdown_all(p, cpu, c.tlb_flush, c.shootdown);
    // Upper tables left empty go, as prune_tables does below a leaf table.
    for (Vpn t : detached) odf_prune_upper(p, t, c.pte_update);
  }
  cost += c.total();
  return ok;
}

void Kernel::odf_prune_upper(Process& p, Vpn vpn, Cycles& cost) {
  std::array<PAddr, 5> slots{};
  Ppn table = p.mm.root;
  for (unsigned level = levels_ - 1; level > 1; --level) {
    slots[level] = pte_slot(table, vpn, level);
    const Pte pte{mem_.read64(slots[level])};
    if (!pte.valid() || pte.is_leaf()) return;
    table = pte.ppn();
  }
  for (unsigned level = 2; level < levels_; ++level) {  // table is a level-(level-1) table
    if (frames_.table_entries(table) != 0) return;
    const PAddr parent_slot = slots[level];
    mem_.write64(parent_slot, 0);
    cost += costs_.pte_update + mem_.access_latency();
    --frames_.table_entries(parent_slot >> kPageShift);
    release_frame(table, cost);
    flush_walk_caches();
    table = parent_slot >> kPageShift;
  }
}

bool Kernel::odf_release_shared_table(Ppn table) {
  if (!odf_shared_table(table)) return false;
  frames_.put(table);
  ++stats_.odf_tables_detached;
  return true;
}

}  // namespace mmusim
