// The kernel's invariants: reference counts, tables, VMAs and PTEs agree,
// and no TLB holds a translation the page tables no longer allow.
#include <fmt/format.h>

#include <set>
#include <stdexcept>

#include "kernel/kernel.h"
#include "kernel/page_table_visit.h"
#include "mmu/tlb_maintenance.h"

namespace mmusim {

void Kernel::check_invariants() const {
  auto fail = [](const std::string& what) { throw std::logic_error("kernel invariant: " + what); };
  std::unordered_map<Ppn, uint64_t> mapped;  // references found per frame
  std::unordered_map<Ppn, Pid> tables;
  std::set<const SharedObject*> objects;
  std::unordered_map<const SharedObject*, std::vector<uint32_t>> coverers;

  // On-Demand-Fork: the level-1 PTEs found pointing at each leaf table, and
  // the process whose walk counts the references of its pages.
  std::unordered_map<Ppn, uint64_t> leaf_table_refs;
  std::unordered_map<Ppn, uint32_t> leaf_table_owner;

  std::function<void(Pid, Ppn, unsigned)> walk_tables = [&](Pid pid, Ppn table, unsigned level) {
    if (level == 0 && odf_ && ++leaf_table_refs[table] > 1) return;  // a shared table: its entries counted once
    if (!tables.emplace(table, pid).second) fail(fmt::format("table frame {:#x} used twice", table));
    if (frames_.use(table) != FrameUse::PageTable || (frames_.refcount(table) != 1 && !(odf_ && level == 0)))
      fail(fmt::format("frame {:#x} of pid {} is not a page table with one reference", table, pid));
    unsigned valid = 0;
    for (unsigned i = 0; i < kPtesPerTable; ++i) {
      const Pte pte{mem_.read64(frame_addr(table) + i * kPteBytes)};
      if (!pte.valid()) continue;
      ++valid;
      if (level > 0 && !pte.is_leaf() && pte.write_protected() && (!odf_ || level != 1))
        fail(fmt::format("table {:#x} of pid {}: a level-{} PTE has WP (only On-Demand-Fork's level-1 PTEs may)",
                         table, pid, level));
      if (level == 1 && !pte.is_leaf() && frames_.refcount(pte.ppn()) > 1 && !pte.write_protected())
        fail(fmt::format("pid {}: shared leaf table {:#x} is not write-protected above", pid, pte.ppn()));
      if (level > 0 && !pte.is_leaf()) walk_tables(pid, pte.ppn(), level - 1);  // not a 2 MiB leaf
    }
    if (valid != frames_.table_entries(table))
      fail(fmt::format("table {:#x} of pid {} has {} valid entries, counted {}", table, pid, valid,
                       frames_.table_entries(table)));
  };

  for (const auto& [uid, proc] : procs_) {
    const Process& p = *proc;
    const Pid pid = p.pid;
    walk_tables(pid, p.mm.root, levels_ - 1);
    check_huge_invariants(p, mapped, tables);  // 2 MiB leaves and their deposits (huge_pages.cc)
    // Every leaf lies in a VMA and agrees with it.
    uint64_t leaves_in_vmas = 0;
    for (const auto& [start, v] : p.mm.vmas) {
      if (v.shared) {
        auto& cov = coverers[v.shared.get()];
        cov.resize(v.shared->mappers.size());
        for (VAddr a = v.start; a < v.end; a += kPageSize) ++cov[v.page_in_object(a)];
        objects.insert(v.shared.get());
      }
      for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr slot, Pte pte, Vpn vpn) {
        ++leaves_in_vmas;
        const Ppn f = pte.ppn();
        // A leaf table shared by On-Demand-Fork holds one reference per page,
        // however many processes share it: count its pages in one of them.
        bool counted = true;
        if (odf_shared_table(slot >> kPageShift)) {
          if (v.shared) fail(fmt::format("pid {}: a shared mapping's page at {:#x} is in a shared leaf table", pid,
                                         vpn << kPageShift));
          counted = leaf_table_owner.emplace(Ppn(slot >> kPageShift), p.uid).first->second == p.uid;
        }
        if (f == zero_frame_) {
          if (pte.writable()) fail(fmt::format("pid {} maps the zero frame writable at {:#x}", pid, vpn << kPageShift));
          return true;
        }
        if (frames_.use(f) != FrameUse::Data)
          fail(fmt::format("pid {} maps frame {:#x} at {:#x}, which is not a data frame", pid, f, vpn << kPageShift));
        if (counted) ++mapped[f];
        if (pte.writable() && !v.perms.w) fail(fmt::format("pid {}: writable PTE in a read-only VMA", pid));
        if (v.shared) {
          if (v.shared->frames[v.page_in_object(vpn << kPageShift)] != f)
            fail(fmt::format("pid {}: shared page at {:#x} does not map its object's frame", pid, vpn << kPageShift));
        } else if (pte.writable() && frames_.refcount(f) != 1) {
          fail(fmt::format("pid {}: writable private page at {:#x} maps frame {:#x} with {} references", pid,
                           vpn << kPageShift, f, frames_.refcount(f)));
        }
        return true;
      });
    }
    uint64_t all_leaves = 0;
    for_each_leaf(p.mm, 0, user_va_limit(mode_) >> kPageShift, [&](PAddr, Pte, Vpn) {
      ++all_leaves;
      return true;
    });
    if (all_leaves != leaves_in_vmas) fail(fmt::format("pid {} has PTEs outside its VMAs", pid));
  }
  for (const auto& [table, refs] : leaf_table_refs)
    if (frames_.refcount(table) != refs)
      fail(fmt::format("leaf table {:#x} has reference count {} but {} level-1 PTEs point to it", table,
                       frames_.refcount(table), refs));
  for (const SharedObject* obj : objects) {
    const auto& cov = coverers[obj];
    for (size_t i = 0; i < obj->frames.size(); ++i) {
      if (obj->mappers[i] != cov[i]) fail("shared object mapper count differs from the VMAs covering it");
      if (obj->frames[i] != SharedObject::kNoFrame) {
        if (cov[i] == 0) fail("shared object holds a frame no VMA covers");
        ++mapped[obj->frames[i]];
      }
    }
  }
  uint64_t data = 0;
  for (Ppn f = 0; f < frames_.high_water(); ++f) {
    switch (frames_.use(f)) {
      case FrameUse::Free:
        if (mapped.count(f) || tables.count(f)) fail(fmt::format("free frame {:#x} is mapped", f));
        break;
      case FrameUse::Data: {
        ++data;
        if (frames_.head(f) != f) break;  // a huge page's tail: its head holds the count
        auto it = mapped.find(f);
        const uint64_t refs = it == mapped.end() ? 0 : it->second;
        if (refs != frames_.refcount(f))
          fail(fmt::format("frame {:#x} has reference count {} but {} mappings", f, frames_.refcount(f), refs));
        break;
      }
      case FrameUse::PageTable:
        if (!tables.count(f)) fail(fmt::format("page-table frame {:#x} belongs to no process", f));
        break;
      case FrameUse::Reserved:
        break;
    }
  }
  if (frames_.stats().in_use != data + tables.size())
    fail(fmt::format("{} frames counted in use, {} found", frames_.stats().in_use, data + tables.size()));

  // No CPU's TLB holds a translation that p's page tables no longer allow:
  // same frame, no permission the PTE lacks. A CPU with a deferred flush of p
  // is exempt: it drops p's entries before it runs p again.
  for (unsigned k = 0; k < cpu_count(); ++k) {
    const CpuContext& cc = cpus_[k];
    std::unordered_map<Asid, const Process*> by_asid;
    if (asid_bits_ == 0) {
      if (cc.loaded) by_asid[0] = cc.loaded;
    } else {
      for (const auto& [uid, proc] : procs_)
        if (proc->asid_generation == asid_generation_) by_asid[proc->asid] = proc.get();
    }
    cc.tlb->visit_entries([&](const TlbEntry& e) {
      auto it = by_asid.find(e.asid);
      if (it == by_asid.end()) return;  // a dead address space's id: not reused before a rollover
      const Process& p = *it->second;
      if (p.deferred.test(k)) return;
      // A superpage entry (a 2 MiB page) must still be right for every 4 KiB page it covers.
      const Vpn span = Vpn{1} << (kVpnBitsPerLevel * e.level);
      const Vpn first = e.vpn & ~(span - 1);
      for (Vpn vpn = first; vpn < first + span; ++vpn) {
        const Pte pte = pte_of(p, vpn << kPageShift);
        const uint64_t perms = Pte::R | Pte::W | Pte::X | Pte::U;
        // On-Demand-Fork: a writable entry below a write-protected level-1 PTE is stale too.
        const bool wp_above = odf_ && (e.flags & Pte::W) && odf_write_protected(p, vpn);
        if (!pte.valid() || pte.ppn() != e.translate(vpn) || (e.flags & perms & ~pte.flags()) != 0 || wp_above)
          fail(fmt::format("CPU {} caches a stale translation of pid {} at {:#x}: frame {:#x} flags {:#x}, "
                           "the page tables say {}",
                           k, p.pid, vpn << kPageShift, e.translate(vpn), e.flags,
                           pte.valid() ? fmt::format("frame {:#x} flags {:#x}", pte.ppn(), pte.flags())
                                       : std::string("not mapped")));
      }
    });
  }
}

}  // namespace mmusim
