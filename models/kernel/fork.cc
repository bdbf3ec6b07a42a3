// fork: a child process with one task and a copy of the whole address space,
// copy-on-write (frames shared, writable pages write-protected in both) or
// eager (every private page copied now).
#include <fmt/format.h>

#include <algorithm>

#include "common/error.h"
#include "kernel/kernel.h"
#include "kernel/page_table_visit.h"

namespace mmusim {

Kernel::ForkResult Kernel::fork(Task& t, Pid child_pid, unsigned child_cpu) {
  if (state(child_pid) == TaskState::Alive)
    throw UserError(fmt::format("fork: child pid {} is alive", child_pid));
  Process& parent = *t.proc;
  ++stats_.syscalls;
  Cost c;
  c.handler = costs_.syscall + costs_.fork_base;
  auto fail = [&](Process* child) {
    Cycles cost = c.total();
    if (child) cost += kill(*child, t.cpu);
    dead_[child_pid] = TaskState::Dead;  // its lines are skipped
    ++stats_.forks_failed;
    stats_.fork_cycles += cost;
    return ForkResult{false, cost};
  };

  auto root = alloc_frame(FrameUse::PageTable, c);
  if (!root) return fail(nullptr);
  Process& child = new_process(child_pid, *root);
  new_task(child, child_pid, child_cpu);

  uint64_t ptes = 0, copied = 0, write_protected = 0;
  bool ok = true;
  Cycles free_cost = 0;
  // On-Demand-Fork: the leaf tables the child shares (odf.cc); their PTEs are not copied below.
  std::vector<Vpn> shared_tables;
  if (odf_ && !odf_share_tables(parent, child, c, shared_tables)) ok = false;
  for (auto& [start, pv] : parent.mm.vmas) {
    if (!ok) break;
    Vma& cv = child.mm.vmas.emplace(start, pv).first->second;
    if (cv.shared)
      for (VAddr a = cv.start; a < cv.end; a += kPageSize) ++cv.shared->mappers[cv.page_in_object(a)];
    // Huge pages (huge_pages.cc): each 2 MiB leaf is copied as one entry.
    if (!fork_huge(parent, child, pv, c, ptes, copied, write_protected)) {
      ok = false;
      break;
    }
    auto copy_pte = [&](PAddr slot, Pte pte, Vpn vpn) {
      const Ppn f = pte.ppn();
      Pte child_pte = pte;
      if (pv.shared) {
        frames_.get(f);  // shared for real: both write the same frame
      } else if (f == zero_frame_) {
        // the zero frame is shared by everyone already
      } else if (!cow_fork_) {
        auto copy = alloc_copy_target(f, c);
        if (!copy) return false;
        c.copy += engine_->copy(*copy, f);
        frames_.set_exclusive(*copy, true);
        child_pte = leaf_flags_for(pv, *copy, pv.perms.w, pte.dirty());
        ++copied;
      } else {
        frames_.get(f);
        frames_.set_exclusive(f, false);
        if (pte.writable()) {
          mem_.write64(slot, pte.without(Pte::W).raw);  // write-protect the parent too
          ++write_protected;
        }
        child_pte = pte.without(Pte::W);
      }
      bool oom = false;
      Cost walk;  // building the child's tables: only allocations are charged here
      const PAddr cslot = leaf_slot(child.mm, vpn, true, walk, oom);
      c.alloc += walk.alloc;
      if (!cslot) {
        if (child_pte.ppn() != zero_frame_) release_frame(child_pte.ppn(), free_cost);
        return false;
      }
      mem_.write64(cslot, child_pte.raw);
      ++frames_.table_entries(cslot >> kPageShift);
      ++ptes;
      return true;
    };
    const Vpn lo = vpn_of(pv.start), hi = vpn_of(pv.end);
    if (shared_tables.empty()) {
      ok = for_each_leaf(parent.mm, lo, hi, copy_pte);
    } else {
      for (Vpn a = lo; ok && a < hi;) {  // table by table, skipping the shared ones
        const Vpn b = std::min(hi, (a | (kPtesPerTable - 1)) + 1);
        if (!std::binary_search(shared_tables.begin(), shared_tables.end(), a >> kVpnBitsPerLevel))
          ok = for_each_leaf(parent.mm, a, b, copy_pte);
        a = b;
      }
    }
    if (!ok) break;
  }
  // The parent lost write permission on pages any CPU running it may still
  // hold as writable: one flush of the whole address space (dup_mmap's
  // flush_tlb_mm), on every CPU that may cache it.
  // Shared tables: their level-1 PTEs took WP in the parent (odf.cc).
  if (write_protected || !shared_tables.empty()) shootdown_all(parent, t.cpu, c.tlb_flush, c.shootdown);
  if (!shared_tables.empty()) flush_walk_caches();  // the walk caches hold the parent's level-1 PTEs
  // Per-PTE kernel work (dearer once the pages' state outgrows the caches:
  // Linux's fork is superlinear in the pages it copies), and the memory
  // traffic of writing the child's PTEs and the parent's write-protected ones.
  c.pte_update += costs_.fork_ptes(ptes) + mem_.transfer_cycles((ptes + write_protected) * kPteBytes);
  c.handler += free_cost;
  if (!ok) return fail(&child);

  ++stats_.forks;
  stats_.fork_ptes_copied += ptes;
  stats_.odf_tables_shared += shared_tables.size();
  stats_.bytes_copied += copied * kPageSize;
  stats_.eager_bytes_copied += copied * kPageSize;
  const Cycles cost = c.total();
  stats_.fork_cycles += cost;
  return ForkResult{true, cost};
}

}  // namespace mmusim
