// Transparent huge pages: 2 MiB pages mapped by one leaf PTE at level 1 (a
// PMD in Linux's words), after mm/huge_memory.c:
//   - first touch of an eligible, aligned 2 MiB block whose level-1 entry is
//     empty: a zeroed huge page for a store, the huge zero page for a load
//     (do_huge_pmd_anonymous_page); no free 2 MiB block: the 4 KiB path
//     (memory.thp_fallbacks);
//   - fork shares a huge page as one entry, write-protected in both
//     (copy_huge_pmd);
//   - a write to a write-protected huge page: made writable in place when no
//     one else maps it (faults.thp_reuse); the huge zero page is split into
//     512 PTEs of the 4 KiB zero frame and the 4 KiB path allocates the
//     written page; a shared one is split (kernel.thp_cow = split, Linux 5.8+
//     do_huge_pmd_wp_page: 512 PTEs of the same frames, the 4 KiB path copies
//     the written page) or copied whole (copy, before 5.8);
//   - munmap/mprotect of part of a huge page split it first (__split_huge_pmd),
//     a whole one is unmapped or changed as one entry (zap_huge_pmd).
// Each huge leaf keeps a page-table frame deposited beside it, as Linux's
// pgtable_trans_huge_deposit does, so that a split always has its table.
#include <fmt/format.h>

#include <stdexcept>

#include "common/config.h"
#include "common/stats_registry.h"
#include "kernel/kernel.h"
#include "kernel/page_table_visit.h"
#include "memory/phys_mem.h"
#include "mmu/tlb_maintenance.h"

namespace mmusim {

namespace {
constexpr uint64_t kHugePageSize = uint64_t{kHugeFrames} << kPageShift;
constexpr Vpn huge_base(Vpn vpn) { return vpn & ~Vpn{kHugeFrames - 1}; }
}  // namespace

void Kernel::configure_huge_pages(const Config& cfg) {
  const std::string thp = cfg.str("kernel.thp");
  thp_ = thp == "never" ? Thp::Never : thp == "always" ? Thp::Always : Thp::Madvise;
  thp_cow_copy_ = cfg.str("kernel.thp_cow") == "copy";
}

template <class Fn>
void Kernel::for_each_huge(const AddressSpace& mm, Vpn lo, Vpn hi, Fn&& fn) const {
  auto each = [&](PAddr slot, Pte pte, Vpn base) {
    fn(slot, pte, base);
    return true;
  };
  if (lo < hi) visit_table(mm.root, levels_ - 1, 0, lo, hi, each, 1);
}

bool Kernel::huge_mapped(const Process& p, VAddr va) const {
  bool found = false;
  for_each_huge(p.mm, vpn_of(va), vpn_of(va) + 1, [&](PAddr, Pte, Vpn) { found = true; });
  return found;
}

Pte Kernel::huge_pte_of(const Process& p, VAddr va) const {
  Pte found;
  for_each_huge(p.mm, vpn_of(va), vpn_of(va) + 1, [&](PAddr, Pte pte, Vpn base) {
    found = Pte::make(pte.ppn() + (vpn_of(va) - base), pte.flags());
  });
  return found;
}

// One 2 MiB request to the copy engine (kernel.copy_engine).
Cycles Kernel::zero_huge(Ppn head) { return engine_->zero(head, kHugeFrames); }

Cycles Kernel::copy_huge(Ppn dst, Ppn src) { return engine_->copy(dst, src, kHugeFrames); }

void Kernel::get_huge(Ppn head) {
  if (frames_.huge(head)) {
    frames_.get(head);
  } else {
    for (Ppn f = head; f < head + kHugeFrames; ++f) frames_.get(f);
  }
}

void Kernel::release_huge(Ppn head, Cycles& cost) {
  if (head == huge_zero_) return;
  if (frames_.huge(head)) {
    release_frame(head, cost);
  } else {
    for (Ppn f = head; f < head + kHugeFrames; ++f) release_frame(f, cost);
  }
}

bool Kernel::huge_exclusive(Ppn head) const {
  if (frames_.huge(head)) return frames_.refcount(head) == 1;
  for (Ppn f = head; f < head + kHugeFrames; ++f)
    if (frames_.refcount(f) != 1) return false;
  return true;
}

void Kernel::set_huge_exclusive(Ppn head, bool e) {
  if (frames_.huge(head)) {
    frames_.set_exclusive(head, e);
  } else {
    for (Ppn f = head; f < head + kHugeFrames; ++f) frames_.set_exclusive(f, e);
  }
}

void Kernel::record_fault(FaultKind kind, const Cost& c, Cycles now, Pid tid, unsigned cpu, VAddr va) {
  ++stats_.faults[size_t(kind)];
  stats_.latency[size_t(kind)].add(c.total());
  if (observer_) observer_(FaultRecord{now, tid, cpu, va, kind, c});
}

void Kernel::split_pmd(Process& p, unsigned cpu, PAddr slot, Pte pmd, Vpn base, Cost& c) {
  // The deposited table becomes the leaf table: no allocation, so no failure.
  if (p.mm.thp_deposit.empty()) throw std::logic_error("kernel: a huge leaf without a deposited table");
  const Ppn table = p.mm.thp_deposit.back();
  p.mm.thp_deposit.pop_back();
  const Ppn head = pmd.ppn();
  const bool zero = head == huge_zero_;
  for (unsigned i = 0; i < kHugeFrames; ++i) {
    // The huge zero page splits into PTEs of the 4 KiB zero frame (Linux's
    // __split_huge_zero_page_pmd); any other into its own 512 frames.
    const Pte e = zero ? Pte::make(zero_frame_, pmd.flags() & ~uint64_t{Pte::W | Pte::D})
                       : Pte::make(head + i, pmd.flags());
    mem_.write64(frame_addr(table) + i * kPteBytes, e.raw);
  }
  frames_.table_entries(table) = uint16_t(kHugeFrames);
  c.pte_update += costs_.pte_update * kHugeFrames + mem_.transfer_cycles(kHugeFrames * kPteBytes);
  write_leaf(slot, pmd, Pte::make(table, Pte::V), c);  // valid before and after: the count stays
  // The huge page becomes 512 frames, each with one reference per mapper:
  // this process's PTEs and every other process's huge leaf.
  if (!zero && frames_.huge(head)) frames_.split_huge(head);
  ++stats_.thp_splits;
  // No CPU may keep the 2 MiB translation beside the new 4 KiB ones (Linux's
  // pmdp_invalidate flushes the huge page on every split): a huge zero
  // page's entry would name other frames than the 4 KiB zero frame.
  shootdown_page(p, cpu, base, c.tlb_flush, c.shootdown);
}

std::optional<Kernel::FaultResult> Kernel::huge_fault(Task& t, const Vma& v, VAddr va, AccessType access, Cost& c,
                                                      Cycles now, bool& split) {
  if (!v.huge) return std::nullopt;
  const Vpn base = huge_base(vpn_of(va));
  const VAddr hva = base << kPageShift;
  // Only a block wholly inside the VMA may be (or hold) a huge page.
  if (hva < v.start || v.end - hva < kHugePageSize) return std::nullopt;
  Process& p = *t.proc;
  const unsigned cpu = t.cpu;
  const bool store = access == AccessType::Store;
  const Cycles handler_before = c.handler;
  auto to_small_pages = [&]() -> std::optional<FaultResult> {
    c.handler = handler_before;  // the 4 KiB path reads the tables itself
    return std::nullopt;
  };
  auto done = [&](FaultKind kind) -> std::optional<FaultResult> {
    c.trap_exit = costs_.trap_exit;
    record_fault(kind, c, now, t.tid, cpu, va);
    return FaultResult{FaultOutcome::Retry, c.total()};
  };
  const FaultResult oom_kill{FaultOutcome::OomKilled, 0};  // the handler kills p

  bool oom = false;
  const PAddr slot = table_slot(p.mm, base, 1, true, c, oom);
  if (!slot) return oom_kill;
  const Pte pmd{mem_.read64(slot)};
  c.handler += mem_.access_latency();
  if (pmd.valid() && !pmd.is_leaf()) return to_small_pages();  // 4 KiB pages live here

  if (!pmd.valid()) {
    // First touch of the block (pmd_none).
    Pte leaf;
    if (!store && use_zero_page_) {
      if (!huge_zero_) {
        // Allocated once, on the first load that needs it, and kept (Linux
        // frees it under memory pressure): not counted in frames in use.
        auto z = frames_.alloc_huge(FrameUse::Reserved);
        if (!z) {
          ++stats_.thp_fallbacks;
          return to_small_pages();
        }
        c.alloc += costs_.frame_alloc;
        c.copy += zero_huge(*z);
        huge_zero_ = *z;
      }
      leaf = leaf_flags_for(v, huge_zero_, false, false);
    } else {
      auto h = frames_.alloc_huge(FrameUse::Data);
      if (!h) {
        ++stats_.thp_fallbacks;  // fragmented or full: 4 KiB pages
        return to_small_pages();
      }
      c.alloc += costs_.frame_alloc;
      c.copy += zero_huge(*h);
      frames_.set_exclusive(*h, true);
      leaf = leaf_flags_for(v, *h, v.perms.w, store);
    }
    auto deposit = alloc_frame(FrameUse::PageTable, c);
    if (!deposit) {
      Cycles ignored = 0;
      release_huge(leaf.ppn(), ignored);
      return oom_kill;  // VM_FAULT_OOM, as Linux when pte_alloc_one fails
    }
    p.mm.thp_deposit.push_back(*deposit);
    write_leaf(slot, pmd, leaf, c);  // absent before: nothing to flush
    return done(FaultKind::ThpZero);
  }

  // A huge leaf is present.
  if (!store || pmd.writable()) {
    // Already allowed: a stale TLB entry (see the 4 KiB path's spurious()).
    ++stats_.spurious_faults;
    flush_local_page(p, cpu, base, c.tlb_flush);
    c.trap_exit = costs_.trap_exit;
    return FaultResult{FaultOutcome::Retry, c.total()};
  }
  const Ppn head = pmd.ppn();
  if (head != huge_zero_ && huge_exclusive(head)) {
    // No one else maps it: writable in place, one 2 MiB entry (thp_reuse).
    c.handler += costs_.cow_fault;
    set_huge_exclusive(head, true);
    write_leaf(slot, pmd, leaf_flags_for(v, head, true, true), c);
    if (reuse_flush_all_) shootdown_page(p, cpu, base, c.tlb_flush, c.shootdown);
    else flush_local_page(p, cpu, base, c.tlb_flush);
    return done(FaultKind::ThpReuse);
  }
  if (head != huge_zero_ && thp_cow_copy_) {
    // Before Linux 5.8: a new huge page and all 2 MiB copied.
    if (auto h = frames_.alloc_huge(FrameUse::Data)) {
      c.alloc += costs_.frame_alloc;
      c.copy += copy_huge(*h, head);
      c.handler += costs_.cow_fault + costs_.cow_new_frame;  // as the 4 KiB COW copy
      stats_.bytes_copied += kHugePageSize;
      stats_.cow_bytes_copied += kHugePageSize;
      frames_.set_exclusive(*h, true);
      write_leaf(slot, pmd, leaf_flags_for(v, *h, true, true), c);
      if (broken_cow_shootdown_) flush_local_page(p, cpu, base, c.tlb_flush);
      else shootdown_page(p, cpu, base, c.tlb_flush, c.shootdown);  // one flush of the 2 MiB translation
      release_huge(head, c.handler);
      return done(FaultKind::ThpCopy);
    }
    ++stats_.thp_fallbacks;  // no free 2 MiB block: split instead
  }
  // Split (Linux 5.8+, and the huge zero page in every version): 512 PTEs of
  // the same frames; the 2 MiB translation goes on every CPU (pmdp_invalidate),
  // then the 4 KiB path resolves the written page.
  split_pmd(p, cpu, slot, pmd, base, c);
  split = true;
  return std::nullopt;
}

bool Kernel::fork_huge(Process& parent, Process& child, const Vma& pv, Cost& c, uint64_t& ptes, uint64_t& copied,
                       uint64_t& write_protected) {
  if (!pv.huge) return true;  // only huge-page VMAs hold 2 MiB leaves
  bool ok = true;
  for_each_huge(parent.mm, vpn_of(pv.start), vpn_of(pv.end), [&](PAddr slot, Pte pte, Vpn base) {
    if (!ok) return;
    const Ppn head = pte.ppn();
    bool oom = false;
    Cost walk;  // building the child's tables: only allocations are charged here
    const PAddr cslot = table_slot(child.mm, base, 1, true, walk, oom);
    c.alloc += walk.alloc;
    if (!cslot) {
      ok = false;
      return;
    }
    if (cow_fork_ || head == huge_zero_) {
      // One entry for 2 MiB (copy_huge_pmd), with its own deposited table.
      auto deposit = alloc_frame(FrameUse::PageTable, c);
      if (!deposit) {
        ok = false;
        return;
      }
      child.mm.thp_deposit.push_back(*deposit);
      Pte child_pte = pte;
      if (head != huge_zero_) {  // the huge zero page is nobody's: nothing to count
        get_huge(head);
        set_huge_exclusive(head, false);
        if (pte.writable()) {
          mem_.write64(slot, pte.without(Pte::W).raw);  // write-protect the parent too
          ++write_protected;
        }
        child_pte = pte.without(Pte::W);
      }
      mem_.write64(cslot, child_pte.raw);
      ++frames_.table_entries(cslot >> kPageShift);
      ++ptes;
      return;
    }
    // Eager: a new huge page with the 2 MiB copied, or, when no 2 MiB block
    // is free, 512 4 KiB frames in a leaf table (memory.thp_fallbacks).
    if (auto h = frames_.alloc_huge(FrameUse::Data)) {
      auto deposit = alloc_frame(FrameUse::PageTable, c);
      if (!deposit) {
        Cycles ignored = 0;
        release_huge(*h, ignored);
        ok = false;
        return;
      }
      child.mm.thp_deposit.push_back(*deposit);
      c.alloc += costs_.frame_alloc;
      c.copy += copy_huge(*h, head);
      frames_.set_exclusive(*h, true);
      mem_.write64(cslot, leaf_flags_for(pv, *h, pv.perms.w, pte.dirty()).raw);
      ++frames_.table_entries(cslot >> kPageShift);
      ++ptes;
      copied += kHugeFrames;
      return;
    }
    ++stats_.thp_fallbacks;
    for (unsigned i = 0; i < kHugeFrames; ++i) {
      Cost leaf_walk;
      const PAddr lslot = leaf_slot(child.mm, base + i, true, leaf_walk, oom);
      c.alloc += leaf_walk.alloc;
      if (!lslot) {
        ok = false;
        return;
      }
      auto f = alloc_copy_target(head + i, c);
      if (!f) {
        ok = false;
        return;
      }
      c.copy += engine_->copy(*f, head + i);
      frames_.set_exclusive(*f, true);
      mem_.write64(lslot, leaf_flags_for(pv, *f, pv.perms.w, pte.dirty()).raw);
      ++frames_.table_entries(lslot >> kPageShift);
      ++ptes;
      ++copied;
    }
  });
  return ok;
}

void Kernel::unmap_huge(Process& p, unsigned cpu, VAddr lo, VAddr hi, std::vector<Vpn>& unmapped, std::vector<Ppn>& freed,
                        std::vector<Vpn>& emptied, Cycles& cost) {
  Cost c;
  const Vpn first = huge_base(vpn_of(lo)), last = huge_base(vpn_of(hi) + kHugeFrames - 1);
  for_each_huge(p.mm, first, last, [&](PAddr slot, Pte pte, Vpn base) {
    const VAddr start = base << kPageShift;
    if (start >= lo && hi - start >= kHugePageSize) {
      // Wholly unmapped: one entry (zap_huge_pmd), one page to flush.
      write_leaf(slot, pte, Pte{}, c);
      const Ppn head = pte.ppn();
      if (head != huge_zero_) {
        if (frames_.huge(head)) {
          freed.push_back(head);  // release_frame frees all 512 frames
        } else {
          for (Ppn f = head; f < head + kHugeFrames; ++f) freed.push_back(f);
        }
      }
      unmapped.push_back(base);
      // Its deposited table goes too: no walker ever reached it.
      release_frame(p.mm.thp_deposit.back(), cost);
      p.mm.thp_deposit.pop_back();
      emptied.push_back(base);
    } else {
      split_pmd(p, cpu, slot, pte, base, c);  // partly: 4 KiB PTEs, the caller unmaps those in range
    }
  });
  cost += c.total();
}

void Kernel::prune_pmd_tables(Process& p, Vpn vpn, Cycles& cost) {
  // Slots of the non-leaf PTEs on the way down to vpn's level-1 table.
  std::array<PAddr, 4> slots{};
  Ppn table = p.mm.root;
  for (unsigned level = levels_ - 1; level > 1; --level) {
    slots[level] = pte_slot(table, vpn, level);
    const Pte pte{mem_.read64(slots[level])};
    if (!pte.valid()) return;
    table = pte.ppn();
  }
  // Free empty tables bottom-up from level 1; the root stays.
  for (unsigned level = 2; level < levels_; ++level) {
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

void Kernel::mprotect_huge(Process& p, unsigned cpu, VAddr lo, VAddr hi, Perms perms, std::vector<Vpn>& changed, Cycles& cost) {
  Cost c;
  const Vpn first = huge_base(vpn_of(lo)), last = huge_base(vpn_of(hi) + kHugeFrames - 1);
  for_each_huge(p.mm, first, last, [&](PAddr slot, Pte pte, Vpn base) {
    const VAddr start = base << kPageShift;
    if (start >= lo && hi - start >= kHugePageSize) {
      // Wholly covered: one entry changes (change_huge_pmd). Writable only if
      // no one else maps it, as for a 4 KiB page.
      const Ppn head = pte.ppn();
      const Vma* v = p.mm.find(start);
      Vma nv = *v;
      nv.perms = perms;
      const bool writable = perms.w && head != huge_zero_ && frames_.exclusive(head) && huge_exclusive(head);
      const Pte updated = leaf_flags_for(nv, head, writable, pte.dirty());
      if (updated != pte) {
        write_leaf(slot, pte, updated, c);
        changed.push_back(base);
      }
    } else {
      split_pmd(p, cpu, slot, pte, base, c);  // the caller changes the 4 KiB PTEs in range
    }
  });
  cost += c.total();
}

void Kernel::teardown_huge(Process& p, Cycles& cost) {
  for_each_huge(p.mm, 0, user_va_limit(mode_) >> kPageShift, [&](PAddr, Pte pte, Vpn) {
    cost += costs_.pte_update;  // cleared with the table, one store
    release_huge(pte.ppn(), cost);
  });
  for (Ppn d : p.mm.thp_deposit) release_frame(d, cost);
  p.mm.thp_deposit.clear();
}

void Kernel::check_huge_invariants(const Process& p, std::unordered_map<Ppn, uint64_t>& mapped,
                                   std::unordered_map<Ppn, Pid>& tables) const {
  auto fail = [](const std::string& what) { throw std::logic_error("kernel invariant: " + what); };
  const Pid pid = p.pid;
  uint64_t in_vmas = 0;
  for (const auto& [start, v] : p.mm.vmas) {
    const Vpn lo = vpn_of(v.start), hi = vpn_of(v.end);
    for_each_huge(p.mm, huge_base(lo), huge_base(hi + kHugeFrames - 1), [&](PAddr, Pte pte, Vpn base) {
      const VAddr va = base << kPageShift;
      if (base < lo || base + kHugeFrames > hi)
        return;  // not wholly in this VMA: counted as outside below
      if (!v.huge || v.shared) fail(fmt::format("pid {} maps a huge page at {:#x} in a VMA not eligible", pid, va));
      ++in_vmas;
      const Ppn head = pte.ppn();
      if (head % kHugeFrames) fail(fmt::format("pid {}: huge leaf at {:#x} names frame {:#x}, not 2 MiB-aligned",
                                                pid, va, head));
      if (pte.writable() && !v.perms.w) fail(fmt::format("pid {}: writable huge PTE in a read-only VMA", pid));
      if (head == huge_zero_) {
        if (pte.writable()) fail(fmt::format("pid {} maps the huge zero page writable at {:#x}", pid, va));
        return;
      }
      if (frames_.huge(head)) {
        // One reference on the head per mapping of the whole huge page.
        if (frames_.head(head) != head || frames_.use(head) != FrameUse::Data)
          fail(fmt::format("pid {}: huge leaf at {:#x} does not name a huge data page's head", pid, va));
        ++mapped[head];
      } else {
        // Split under another mapper: one reference on each of its frames.
        for (Ppn f = head; f < head + kHugeFrames; ++f) {
          if (frames_.use(f) != FrameUse::Data || frames_.huge(f))
            fail(fmt::format("pid {}: huge leaf at {:#x} covers frame {:#x}, not a data frame", pid, va, f));
          ++mapped[f];
        }
      }
      if (pte.writable() && !huge_exclusive(head))
        fail(fmt::format("pid {}: writable huge page at {:#x} is mapped by someone else too", pid, va));
    });
  }
  uint64_t all = 0;
  for_each_huge(p.mm, 0, user_va_limit(mode_) >> kPageShift, [&](PAddr, Pte, Vpn) { ++all; });
  if (all != in_vmas) fail(fmt::format("pid {} has huge PTEs outside its VMAs", pid));
  if (p.mm.thp_deposit.size() != all)
    fail(fmt::format("pid {} has {} huge leaves but {} deposited tables", pid, all, p.mm.thp_deposit.size()));
  for (Ppn d : p.mm.thp_deposit) {
    if (!tables.emplace(d, pid).second) fail(fmt::format("deposited table frame {:#x} used twice", d));
    if (frames_.use(d) != FrameUse::PageTable || frames_.refcount(d) != 1 || frames_.table_entries(d) != 0)
      fail(fmt::format("deposited frame {:#x} of pid {} is not an empty page table with one reference", d, pid));
  }
}

void Kernel::report_huge(StatsJson& out) const {
  out["memory.thp_splits"] = stats_.thp_splits;
  out["memory.thp_fallbacks"] = stats_.thp_fallbacks;
  out["memory.huge_zero_page"] = huge_zero_ ? 1 : 0;
}

void Kernel::declare_huge_stats(StatsRegistry& r) {
  r.add({
      {"memory.thp_splits", "splits",
       "2 MiB mappings split into 512 4 KiB PTEs (a COW write with kernel.thp_cow = split, a write to the huge "
       "zero page, a partial munmap or mprotect); Linux's thp_split_pmd"},
      {"memory.thp_fallbacks", "requests",
       "huge-page requests (a first touch, a COW copy, an eager fork's copy) that found no free 2 MiB block and "
       "used 4 KiB pages (or a split) instead"},
      {"memory.huge_zero_page", "pages",
       "1 if the huge zero page was allocated (on the first load of a huge block; the kernel's own, not counted "
       "in frames in use)"},
  });
}

}  // namespace mmusim
