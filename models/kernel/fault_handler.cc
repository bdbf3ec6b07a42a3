// The page-fault handler: demand paging (a zeroed frame, the shared zero
// frame, a shared mapping's frame), the copy-on-write fault in its six steps
// (identify, allocate, copy, remap, grant write and flush, restart), and
// spurious faults left by stale read-only TLB entries.
#include "kernel/kernel.h"
#include "memory/phys_mem.h"

namespace mmusim {

Kernel::FaultResult Kernel::handle_fault(Task& t, VAddr va, AccessType access, Cycles walk_cycles, Cycles now) {
  Process& p = *t.proc;
  const unsigned cpu = t.cpu;
  const Pid tid = t.tid;
  Cost c;
  c.trap_entry = costs_.trap_entry;
  c.walk = walk_cycles;
  c.handler = costs_.fault_base;

  // Step 1: identify the page and whether the access is legal at all.
  Vma* v = p.mm.find(va);
  const bool allowed = v && (access == AccessType::Store  ? v->perms.w
                             : access == AccessType::Load ? v->perms.r
                                                          : v->perms.x);
  auto die = [&](FaultOutcome why) {  // kills every task of p
    if (why == FaultOutcome::Segv) ++stats_.segv;
    else ++stats_.oom_kills;
    const Cycles cost = c.total() + kill(p, cpu);
    return FaultResult{why, cost};
  };
  if (!allowed) return die(FaultOutcome::Segv);

  // Huge pages (huge_pages.cc): a fault on or into a 2 MiB page; a split
  // leaves the written 4 KiB page to the path below.
  bool thp_split = false;
  if (auto r = huge_fault(t, *v, va, access, c, now, thp_split))
    return r->outcome == FaultOutcome::OomKilled ? die(FaultOutcome::OomKilled) : *r;

  const Vpn vpn = vpn_of(va);
  if (odf_) {
    // On-Demand-Fork: no PTE of a leaf table another process shares may
    // change: the fault copies the table and the CPU retries (odf.cc).
    const OdfUnshare u = odf_unshare(p, cpu, vpn, c);
    if (u == OdfUnshare::Oom) return die(FaultOutcome::OomKilled);
    if (u == OdfUnshare::Copied) {
      c.trap_exit = costs_.trap_exit;
      ++stats_.faults[size_t(FaultKind::TableCopy)];
      stats_.latency[size_t(FaultKind::TableCopy)].add(c.total());
      if (observer_) observer_(FaultRecord{now, tid, cpu, va, FaultKind::TableCopy, c});
      return FaultResult{FaultOutcome::Retry, c.total()};
    }
  }
  bool oom = false;
  const PAddr slot = leaf_slot(p.mm, vpn, true, c, oom);
  if (!slot) return die(FaultOutcome::OomKilled);
  const Pte pte{mem_.read64(slot)};
  c.handler += mem_.access_latency();
  const bool store = access == AccessType::Store;

  auto spurious = [&]() {
    // The PTE already allows the access (another CPU resolved it, or a stale
    // read-only entry outlived a COW reuse): this CPU flushes its own entry
    // and retries (x86's flush_tlb_fix_spurious_fault, RISC-V's local sfence).
    ++stats_.spurious_faults;
    flush_local_page(p, cpu, vpn, c.tlb_flush);
    c.trap_exit = costs_.trap_exit;
    return FaultResult{FaultOutcome::Retry, c.total()};
  };

  FaultKind kind;
  Pte updated;
  if (!pte.valid()) {
    // Demand paging: the page is absent.
    if (v->shared) {
      SharedObject& obj = *v->shared;
      const uint64_t page = v->page_in_object(va);
      if (obj.frames[page] == SharedObject::kNoFrame) {
        auto f = alloc_frame(FrameUse::Data, c);
        if (!f) return die(FaultOutcome::OomKilled);
        c.copy += engine_->zero(*f);
        obj.frames[page] = uint32_t(*f);  // the object's own reference
        kind = FaultKind::DemandZero;
      } else {
        kind = FaultKind::SharedMap;
      }
      frames_.get(obj.frames[page]);
      updated = leaf_flags_for(*v, obj.frames[page], v->perms.w, store);
    } else if (!store && use_zero_page_) {
      kind = FaultKind::DemandZero;
      updated = leaf_flags_for(*v, zero_frame_, false, false);
    } else {
      auto f = alloc_frame(FrameUse::Data, c);
      if (!f) return die(FaultOutcome::OomKilled);
      c.copy += engine_->zero(*f);
      frames_.set_exclusive(*f, true);
      kind = FaultKind::DemandZero;
      updated = leaf_flags_for(*v, *f, v->perms.w, store);
    }
    // An absent page has no translation anywhere: nothing to flush.
    write_leaf(slot, pte, updated, c);
  } else if (store && !pte.writable()) {
    // The intentional fault: a write to a present, write-protected page of a
    // writable mapping.
    if (v->shared) {
      // Shared pages are mapped writable in a writable VMA; a read-only one
      // is only a stale entry of an upgrade. Repair and retry.
      write_leaf(slot, pte, pte.with(Pte::W | Pte::D), c);
      return spurious();
    }
    c.handler += costs_.cow_fault;  // the page's lock, reference count, reuse check
    const Ppn old = pte.ppn();
    Ppn target = old;
    if (old == zero_frame_) {
      auto f = alloc_frame(FrameUse::Data, c);  // step 2
      if (!f) return die(FaultOutcome::OomKilled);
      c.copy += engine_->zero(*f);
      c.handler += costs_.cow_new_frame;  // reverse map and accounting (Linux's wp_page_copy)
      target = *f;
      kind = FaultKind::CowZero;
    } else if (frames_.refcount(old) == 1) {
      kind = FaultKind::CowReuse;  // nobody else maps it: no copy
    } else {
      auto f = alloc_copy_target(old, c);       // step 2: a new free frame
      if (!f) return die(FaultOutcome::OomKilled);
      c.copy += engine_->copy(*f, old);         // step 3: copy the old page
      c.handler += costs_.cow_new_frame;        // both frames' reverse map and accounting
      stats_.bytes_copied += kPageSize;
      stats_.cow_bytes_copied += kPageSize;
      target = *f;
      kind = FaultKind::CowCopy;
    }
    frames_.set_exclusive(target, true);
    updated = leaf_flags_for(*v, target, true, true);  // steps 4 and 5: remap, writable
    write_leaf(slot, pte, updated, c);
    if (kind == FaultKind::CowReuse && !reuse_flush_all_) {
      // Read-only to writable, same frame: x86 flushes nothing remote; a
      // stale read-only entry elsewhere costs at most a spurious fault.
      flush_local_page(p, cpu, vpn, c.tlb_flush);
    } else if (broken_cow_shootdown_) {
      flush_local_page(p, cpu, vpn, c.tlb_flush);  // tests: the remote flush forgotten
    } else {
      // The old translation is stale on every CPU (ptep_clear_flush).
      shootdown_page(p, cpu, vpn, c.tlb_flush, c.shootdown);
    }
    // The sharers lose one reference only once no CPU can reach the old frame.
    if (kind == FaultKind::CowCopy) release_frame(old, c.handler);
  } else {
    return spurious();
  }
  c.trap_exit = costs_.trap_exit;  // step 6: return, the CPU restarts the access
  // The write that split a shared huge page (a write to the huge zero page stays cow_zero).
  if (thp_split && kind != FaultKind::CowZero) kind = FaultKind::ThpSplit;

  ++stats_.faults[size_t(kind)];
  stats_.latency[size_t(kind)].add(c.total());
  if (observer_) observer_(FaultRecord{now, tid, cpu, va, kind, c});
  return FaultResult{FaultOutcome::Retry, c.total()};
}

}  // namespace mmusim
