// mmap, munmap and mprotect: VMAs, and the PTEs and TLB entries they remove
// or downgrade.
#include <fmt/format.h>

#include "common/error.h"
#include "kernel/kernel.h"
#include "kernel/page_table_visit.h"

namespace mmusim {

void Kernel::check_range(VAddr va, uint64_t len, const char* op) const {
  if (page_offset(va)) throw UserError(fmt::format("{}: address {:#x} is not page-aligned", op, va));
  if (len == 0) throw UserError(fmt::format("{}: length must not be zero", op));
  if (page_offset(len)) throw UserError(fmt::format("{}: length {:#x} is not page-aligned", op, len));
  const uint64_t limit = user_va_limit(mode_);
  if (va >= limit || len > limit - va)
    throw UserError(fmt::format("{}: range {:#x}+{:#x} is beyond the user address space ({:#x} with {})",
                                op, va, len, limit, mode_ == PagingMode::Sv39 ? "sv39" : "sv48"));
}

Cycles Kernel::mmap(Task& t, VAddr va, uint64_t len, Perms perms, bool shared, bool huge) {
  check_range(va, len, "mmap");
  AddressSpace& mm = t.proc->mm;
  const VAddr end = va + len;
  auto it = mm.vmas.lower_bound(va);
  if (it != mm.vmas.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > va)
      throw UserError(fmt::format("mmap: {:#x}+{:#x} overlaps the mapping at {:#x}-{:#x}", va, len,
                                  prev->second.start, prev->second.end));
  }
  if (it != mm.vmas.end() && it->second.start < end)
    throw UserError(fmt::format("mmap: {:#x}+{:#x} overlaps the mapping at {:#x}-{:#x}", va, len,
                                it->second.start, it->second.end));
  Vma v;
  v.start = va;
  v.end = end;
  v.perms = perms;
  if (shared) {
    v.shared = std::make_shared<SharedObject>(len >> kPageShift);
    std::fill(v.shared->mappers.begin(), v.shared->mappers.end(), 1);
  }
  // Shared mappings are never huge (Linux: THP for anonymous private memory).
  v.huge = !shared && (thp_ == Thp::Always || (thp_ == Thp::Madvise && huge));
  mm.vmas.emplace(va, std::move(v));
  ++stats_.syscalls;
  return costs_.syscall;
}

void Kernel::drop_shared_page(SharedObject& obj, uint64_t page, Cycles& cost) {
  if (--obj.mappers[page] == 0 && obj.frames[page] != SharedObject::kNoFrame) {
    const Ppn f = obj.frames[page];
    obj.frames[page] = SharedObject::kNoFrame;
    release_frame(f, cost);
  }
}

Cycles Kernel::unmap_range(Process& p, unsigned cpu, VAddr lo, VAddr hi) {
  Cycles cost = 0;
  // On-Demand-Fork: let go of whole shared tables, copy partly unmapped ones.
  // Out of memory for a copy: munmap fails (ENOMEM) and changes nothing.
  if (odf_ && !odf_prepare_range(p, cpu, lo, hi, true, cost)) return cost;
  p.mm.split_at(lo);
  p.mm.split_at(hi);
  std::vector<Vpn> leaf_tables, unmapped;
  std::vector<Ppn> freed;
  // Huge pages (huge_pages.cc): split those the range cuts, unmap whole ones.
  std::vector<Vpn> huge_emptied;
  unmap_huge(p, cpu, lo, hi, unmapped, freed, huge_emptied, cost);
  for (auto it = p.mm.vmas.lower_bound(lo); it != p.mm.vmas.end() && it->second.start < hi;) {
    Vma& v = it->second;
    Cost c;
    for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr slot, Pte pte, Vpn vpn) {
      write_leaf(slot, pte, Pte{}, c);
      freed.push_back(pte.ppn());
      unmapped.push_back(vpn);
      if (leaf_tables.empty() || leaf_tables.back() != (vpn >> kVpnBitsPerLevel))
        leaf_tables.push_back(vpn >> kVpnBitsPerLevel);
      return true;
    });
    cost += c.total();
    if (v.shared)
      for (VAddr a = v.start; a < v.end; a += kPageSize) drop_shared_page(*v.shared, v.page_in_object(a), cost);
    it = p.mm.vmas.erase(it);
  }
  // Flush before the frames go back: no CPU may reach a freed frame
  // (Linux's tlb_finish_mmu flushes, then frees the batch).
  if (!unmapped.empty()) shootdown(p, cpu, unmapped.data(), unmapped.size(), cost, cost);
  for (Ppn f : freed) release_frame(f, cost);
  for (Vpn t : leaf_tables) prune_tables(p, t << kVpnBitsPerLevel, cost);
  for (Vpn h : huge_emptied) prune_pmd_tables(p, h, cost);
  return cost;
}

Cycles Kernel::munmap(Task& t, VAddr va, uint64_t len) {
  check_range(va, len, "munmap");
  ++stats_.syscalls;
  return costs_.syscall + unmap_range(*t.proc, t.cpu, va, va + len);
}

Cycles Kernel::mprotect(Task& t, VAddr va, uint64_t len, Perms perms) {
  check_range(va, len, "mprotect");
  Process& p = *t.proc;
  const VAddr end = va + len;
  for (VAddr a = va; a < end;) {
    const Vma* v = p.mm.find(a);
    if (!v) throw UserError(fmt::format("mprotect: {:#x}+{:#x} is not fully mapped (nothing at {:#x})", va, len, a));
    a = v->end;
  }
  Cycles cost = costs_.syscall;
  ++stats_.syscalls;
  // On-Demand-Fork: copy the shared tables first (out of memory: ENOMEM, nothing changes).
  if (odf_ && !odf_prepare_range(p, t.cpu, va, end, false, cost)) return cost;
  p.mm.split_at(va);
  p.mm.split_at(end);
  std::vector<Vpn> changed;
  mprotect_huge(p, t.cpu, va, end, perms, changed, cost);  // huge pages (huge_pages.cc)
  for (auto it = p.mm.vmas.lower_bound(va); it != p.mm.vmas.end() && it->second.start < end; ++it) {
    Vma& v = it->second;
    v.perms = perms;
    Cost c;
    for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr slot, Pte pte, Vpn vpn) {
      const Ppn f = pte.ppn();
      // A private page becomes writable only if it is anon-exclusive; any other
      // page keeps its write protection and the next write faults (COW).
      const bool writable =
          perms.w && (v.shared || (f != zero_frame_ && frames_.exclusive(f) && frames_.refcount(f) == 1));
      const Pte updated = leaf_flags_for(v, f, writable, pte.dirty());
      if (updated != pte) {
        write_leaf(slot, pte, updated, c);
        changed.push_back(vpn);
      }
      return true;
    });
    cost += c.total();
  }
  if (!changed.empty()) shootdown(p, t.cpu, changed.data(), changed.size(), cost, cost);
  return cost;
}

}  // namespace mmusim
