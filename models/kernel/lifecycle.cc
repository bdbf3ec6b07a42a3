// The end of tasks and address spaces: exit, exec, and the kill of a whole
// process (segmentation fault, out of memory).
#include "kernel/kernel.h"
#include "kernel/page_table_visit.h"

namespace mmusim {

Cycles Kernel::teardown(Process& p, unsigned cpu, bool keep_root) {
  Cycles cost = 0;
  Cost c;
  teardown_huge(p, cost);  // 2 MiB leaves and their deposited tables (huge_pages.cc)
  for (auto& [start, v] : p.mm.vmas) {
    for_each_leaf(p.mm, vpn_of(v.start), vpn_of(v.end), [&](PAddr slot, Pte pte, Vpn) {
      if (odf_shared_table(slot >> kPageShift)) return true;  // the other sharers keep its pages
      c.pte_update += costs_.pte_update;  // cleared with the table, one store each
      release_frame(pte.ppn(), cost);
      return true;
    });
    if (v.shared)
      for (VAddr a = v.start; a < v.end; a += kPageSize) drop_shared_page(*v.shared, v.page_in_object(a), cost);
  }
  p.mm.vmas.clear();
  cost += c.total();
  // Free every table below the root, then the root itself unless exec keeps it.
  for (unsigned i = 0; i < kPtesPerTable; ++i) {
    const PAddr slot = frame_addr(p.mm.root) + i * kPteBytes;
    const Pte pte{mem_.read64(slot)};
    if (pte.valid()) {
      free_tables(pte.ppn(), levels_ - 2, cost);
      mem_.write64(slot, 0);
    }
  }
  frames_.table_entries(p.mm.root) = 0;
  if (!keep_root) release_frame(p.mm.root, cost);
  flush_walk_caches();
  shootdown(p, cpu, nullptr, 0, cost, cost, !keep_root);
  return cost;
}

Cycles Kernel::kill(Process& p, unsigned cpu) {
  const Cycles cost = teardown(p, cpu, false);
  while (!p.tasks.empty()) remove_task(*p.tasks.back());
  forget_process_on_cpus(p);
  procs_.erase(p.uid);  // p is gone
  return cost;
}

Cycles Kernel::exec(Task& t) {
  ++stats_.syscalls;
  ++stats_.execs;
  Process& p = *t.proc;
  // execve ends every other thread of the process first (de_thread).
  for (size_t i = p.tasks.size(); i-- > 0;)
    if (p.tasks[i] != &t) remove_task(*p.tasks[i]);
  return costs_.syscall + teardown(p, t.cpu, true);
}

Cycles Kernel::exit(Task& t) {
  ++stats_.syscalls;
  ++stats_.exits;
  Process& p = *t.proc;
  if (p.tasks.size() > 1) {
    remove_task(t);  // the address space lives on in the other threads
    return costs_.syscall;
  }
  return costs_.syscall + kill(p, t.cpu);
}

}  // namespace mmusim
