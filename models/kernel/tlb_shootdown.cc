// TLB shootdowns: when a PTE of a process is removed, downgraded or pointed
// at another frame, every CPU that may cache the old translation is flushed
// before the operation completes (Linux: flush_tlb_mm_range, ptep_clear_flush
// and the mm's cpumask).
//
// Timing: the initiator flushes its own TLB (kernel.tlb_flush a page, or once
// for a full flush), sends one IPI per target (kernel.ipi_send each), and
// waits until the last target has acknowledged: kernel.ipi_latency after the
// last send plus the handler (kernel.ipi_handler and the target's own flush
// work). Each target's clock is charged its handler and flush.
#include "kernel/kernel.h"

#include "mmu/tlb_maintenance.h"

namespace mmusim {

void Kernel::shootdown(Process& p, unsigned initiator, const Vpn* pages, size_t n, Cycles& local, Cycles& wait,
                       bool dying) {
  const bool full = n == 0 || n > flush_ceiling_;
  if (n && full) ++stats_.ceiling_flushes;
  const Cycles flush_work = full ? costs_.tlb_flush : costs_.tlb_flush * n;
  auto flush = [&](TlbMaintenance& tlb) {
    if (full) {
      asid_bits_ ? tlb.invalidate_asid(p.asid) : tlb.invalidate_all();
    } else {
      for (size_t i = 0; i < n; ++i) tlb.invalidate_page(pages[i], p.asid);
    }
  };

  // The initiator runs p (a fault, a system call or an exit of one of its
  // tasks), except when a failed fork tears down a child that never ran.
  if (asid_bits_ ? p.asid_generation == asid_generation_ : cpus_[initiator].loaded == &p) {
    flush(*cpus_[initiator].tlb);
    local += flush_work;
  }

  uint64_t targets = 0;
  bool deferred = false;
  for (unsigned k = 0; k < cpu_count(); ++k) {
    if (k == initiator || !p.cpus.test(k)) continue;
    CpuContext& cc = cpus_[k];
    const bool running = cc.loaded == &p && cc.current && cc.current->proc == &p;
    // A dying address space's id is not reused before a rollover, which
    // flushes every TLB: only CPUs still running it need an IPI.
    if (!running && dying) continue;
    if (!running && shootdown_policy_ == ShootdownPolicy::Running) {
      // Not running p now: it flushes p's translations when it next switches to it.
      if (!p.deferred.test(k)) {
        p.deferred.set(k);
        ++stats_.deferred_flushes;
      }
      deferred = true;
      continue;
    }
    flush(*cc.tlb);
    const Cycles handler = costs_.ipi_handler + flush_work;
    cc.interrupted += handler;
    ++cc.ipis_received;
    stats_.target_cycles += handler;
    ++targets;
    // A CPU flushed whole that is not running p holds nothing of it any more.
    if (full && !running) p.cpus.reset(k);
  }
  if (targets == 0 && !deferred) return;
  ++stats_.shootdowns;
  if (targets == 0) return;
  stats_.ipis += targets;
  const Cycles waited = targets * costs_.ipi_send + costs_.ipi_latency + costs_.ipi_handler + flush_work;
  wait += waited;
  stats_.initiator_cycles += waited;
}

void Kernel::shootdown_page(Process& p, unsigned initiator, Vpn vpn, Cycles& local, Cycles& wait) {
  shootdown(p, initiator, &vpn, 1, local, wait);
}

void Kernel::shootdown_all(Process& p, unsigned initiator, Cycles& local, Cycles& wait) {
  shootdown(p, initiator, nullptr, 0, local, wait);
}

void Kernel::flush_local_page(Process& p, unsigned cpu, Vpn vpn, Cycles& cost) {
  cpus_[cpu].tlb->invalidate_page(vpn, p.asid);
  cost += costs_.tlb_flush;
}

void Kernel::flush_walk_caches() {
  // Walk caches are tagged by table frame, not by address space: any CPU
  // that ever walked a freed table may still hold it.
  for (CpuContext& cc : cpus_) cc.tlb->flush_walk_cache();
}

void Kernel::forget_process_on_cpus(const Process& p) {
  for (CpuContext& cc : cpus_) {
    if (cc.loaded == &p) cc.loaded = nullptr;
    if (cc.current && cc.current->proc == &p) cc.current = nullptr;
  }
}

}  // namespace mmusim
