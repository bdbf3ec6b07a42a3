// The kernel-side software: tasks and processes, ASIDs, page tables written
// into PhysMem as real PTEs, the frame allocator, fork (copy-on-write,
// eager, or On-Demand-Fork), exec/exit/mmap/munmap/mprotect, the page-fault handler (demand
// paging and the COW copy), and TLB shootdowns across CPUs. Each step costs
// cycles from the configuration and faults record where their time went.
//
// The implementation is split by concern: kernel.cc (tasks, processes,
// scheduling, ASIDs, statistics), page_tables.cc, mappings.cc (mmap, munmap,
// mprotect), fork.cc, lifecycle.cc (exec, exit, teardown), fault_handler.cc,
// tlb_shootdown.cc, invariants.cc, huge_pages.cc (2 MiB pages) and odf.cc
// (On-Demand-Fork's shared tables).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/latency_stats.h"
#include "common/pte.h"
#include "common/stats_sink.h"
#include "kernel/address_space.h"
#include "kernel/fault.h"
#include "kernel/kernel_costs.h"
#include "memory/copy_engine.h"
#include "memory/frame_allocator.h"

namespace mmusim {

class Config;
class PhysMem;
class TlbMaintenance;

// kernel.shootdown: which remote CPUs a flush interrupts.
enum class ShootdownPolicy : uint8_t { Running, All };
// kernel.placement: the CPU of a task created without cpu=K.
enum class Placement : uint8_t { RoundRobin, Same };

struct KernelStats {
  std::array<uint64_t, kFaultKinds> faults{};
  std::array<LatencyStats, kFaultKinds> latency;
  uint64_t segv = 0, oom_kills = 0, spurious_faults = 0;
  uint64_t forks = 0, forks_failed = 0, fork_cycles = 0, fork_ptes_copied = 0;
  uint64_t bytes_copied = 0, eager_bytes_copied = 0, cow_bytes_copied = 0;
  uint64_t context_switches = 0, syscalls = 0, asid_rollovers = 0;
  uint64_t processes_created = 0, threads_created = 0, migrations = 0, execs = 0, exits = 0;
  // Shootdowns: operations that flushed other CPUs, IPIs sent, flushes left
  // for a CPU's next switch to the address space, cycles the initiators
  // waited, cycles the interrupted CPUs spent, full flushes a range became.
  uint64_t shootdowns = 0, ipis = 0, deferred_flushes = 0, initiator_cycles = 0, target_cycles = 0;
  uint64_t ceiling_flushes = 0;
  // Huge pages: 2 MiB mappings split into 512 PTEs, 2 MiB requests served by 4 KiB pages.
  uint64_t thp_splits = 0, thp_fallbacks = 0;
  // On-Demand-Fork: leaf tables shared at fork; shared tables a fault found
  // with no other sharer (write protection lifted, no copy); shared tables
  // munmap, exit or exec let go of whole; copied by munmap or mprotect.
  uint64_t odf_tables_shared = 0, odf_tables_reused = 0, odf_tables_detached = 0, odf_syscall_copies = 0;
};

// One CPU as the kernel sees it.
struct CpuContext {
  TlbMaintenance* tlb = nullptr;
  Task* current = nullptr;    // the task running here (null: idle, or it ended)
  Process* loaded = nullptr;  // whose translations are live here (stays after its task leaves)
  bool has_run = false;       // a task ran here before (the next one is a context switch)
  Cycles interrupted = 0;     // IPI handler cycles not yet added to the CPU's clock
  uint64_t ipis_received = 0;
};

class Kernel {
 public:
  // One TlbMaintenance per CPU (cpu.count of them), in CPU order.
  Kernel(const Config& cfg, PhysMem& mem, std::vector<TlbMaintenance*> cpus);
  ~Kernel();

  TaskState state(Pid tid) const;
  Task* task(Pid tid);
  // The process of the live task `tid` (tests), or null.
  Process* process(Pid tid) {
    Task* t = task(tid);
    return t ? t->proc : nullptr;
  }
  // Changes whenever a task ends: a Task* kept from before may dangle.
  uint64_t task_epoch() const { return task_epoch_; }
  unsigned cpu_count() const { return unsigned(cpus_.size()); }
  const CpuContext& cpu(unsigned k) const { return cpus_[k]; }

  // The CPU for a task being created by a task on `creator_cpu`: `requested`
  // (cpu=K) if given, else kernel.placement. Throws UserError if K is out of range.
  unsigned place(std::optional<unsigned> requested, unsigned creator_cpu);
  // A task id never seen starts a new process with an empty address space on
  // `cpu`. Returns null if it cannot get its root page table: it counts as
  // killed for lack of memory (kernel.oom_kills) and its lines are skipped.
  Task* spawn(Pid tid, unsigned cpu, Cycles& cost);
  // Runs `t` on its CPU: the context-switch cost, any TLB flush an address
  // space change needs (no ASIDs, ASID rollover, a deferred shootdown).
  void switch_to(Task& t, Cycles& cost);
  // Cycles this CPU spent in IPI handlers since the last call (its clock owes
  // them). Inline: the CPU asks before every trace line.
  Cycles take_interrupt_cycles(unsigned cpu) {
    const Cycles c = cpus_[cpu].interrupted;
    if (c) cpus_[cpu].interrupted = 0;  // no store on the hit path, which asks every access
    return c;
  }

  // System calls of task t, on t's CPU. A trace error (misaligned range,
  // overlap, live id, ...) throws UserError; the caller adds file:line.
  Cycles mmap(Task& t, VAddr va, uint64_t len, Perms perms, bool shared, bool huge = false);
  Cycles munmap(Task& t, VAddr va, uint64_t len);
  Cycles mprotect(Task& t, VAddr va, uint64_t len, Perms perms);
  struct ForkResult {
    bool ok = false;
    Cycles cycles = 0;
  };
  ForkResult fork(Task& t, Pid child, unsigned child_cpu);
  Cycles thread(Task& t, Pid new_tid, unsigned cpu);
  Cycles migrate(Task& t, unsigned cpu);
  Cycles exec(Task& t);  // ends t's sibling threads
  Cycles exit(Task& t);  // t is destroyed, and its process with its last task

  // The trap: t's MMU refused an access at va. Handles it and says whether
  // the CPU retries the access or the process was killed (then t and every
  // task of its process are destroyed).
  struct FaultResult {
    FaultOutcome outcome = FaultOutcome::Retry;
    Cycles cycles = 0;
  };
  FaultResult handle_fault(Task& t, VAddr va, AccessType access, Cycles walk_cycles, Cycles now);

  // Every frame's reference count equals the PTEs (and shared objects) that
  // point to it, no free frame is mapped, tables are counted right, no
  // writable private PTE maps a frame someone else maps, and no CPU's TLB
  // holds a translation the page tables no longer allow (unless a deferred
  // flush will drop it first). Throws std::logic_error.
  void check_invariants() const;

  // The leaf PTE mapping va in p's tables (invalid PTE if none); no timing.
  Pte pte_of(const Process& p, VAddr va) const;
  Ppn zero_frame() const { return zero_frame_; }
  // The huge zero page's head frame (0 until a load first needs it), and
  // whether va is mapped by a 2 MiB leaf in p's tables (huge_pages.cc).
  Ppn huge_zero_frame() const { return huge_zero_; }
  bool huge_mapped(const Process& p, VAddr va) const;
  PagingMode mode() const { return mode_; }
  FrameAllocator& frames() { return frames_; }
  const FrameAllocator& frames() const { return frames_; }
  const CopyEngine& copy_engine() const { return *engine_; }
  size_t live_processes() const { return procs_.size(); }

  // Called for every fault the handler resolved (for the --faults CSV).
  void set_fault_observer(std::function<void(const FaultRecord&)> obs) { observer_ = std::move(obs); }
  const KernelStats& stats() const { return stats_; }
  void report(StatsJson& out) const;
  // The keys report() writes, and the <kind> of faults.<kind> (the fault kinds).
  static void declare_stats(StatsRegistry& r);

  // Tests only: skip the remote part of the shootdown after a COW copy, to
  // show that the verification catches the stale translations it leaves.
  void break_cow_shootdown_for_test() { broken_cow_shootdown_ = true; }

 private:
  using Cost = FaultBreakdown;

  // Processes and tasks (kernel.cc).
  Process& new_process(Pid pid, Ppn root);
  Task& new_task(Process& p, Pid tid, unsigned cpu);
  void remove_task(Task& t);  // unlinks t from its process and its CPU
  void assign_asid(Process& p, unsigned cpu, Cycles& cost);

  // Page-table plumbing (page_tables.cc): functional memory access, costs
  // charged into Cost.
  // The slot of vpn's PTE in its level-`target` table (creating the tables
  // above it if `create`); 0 if one is absent, or oom if one cannot be had.
  PAddr table_slot(const AddressSpace& mm, Vpn vpn, unsigned target, bool create, Cost& c, bool& oom);
  PAddr leaf_slot(const AddressSpace& mm, Vpn vpn, bool create, Cost& c, bool& oom) {
    return table_slot(mm, vpn, 0, create, c, oom);
  }
  PAddr find_leaf_slot(const AddressSpace& mm, Vpn vpn) const;  // 0 if no leaf table
  void write_leaf(PAddr slot, Pte old_pte, Pte new_pte, Cost& c);
  // Visits valid leaf PTEs of [lo, hi) in page-number order; fn returns false to stop.
  template <class Fn> bool for_each_leaf(const AddressSpace& mm, Vpn lo, Vpn hi, Fn&& fn) const;
  template <class Fn>
  bool visit_table(Ppn table, unsigned level, Vpn base, Vpn lo, Vpn hi, Fn& fn, unsigned leaf_level = 0) const;
  void prune_tables(Process& p, Vpn vpn, Cycles& cost);
  void free_tables(Ppn table, unsigned level, Cycles& cost);
  std::optional<Ppn> alloc_frame(FrameUse use, Cost& c);
  // A data frame to copy `src` into: with kernel.copy_aware_alloc, one where
  // the copy engine copies it fastest if one is free.
  std::optional<Ppn> alloc_copy_target(Ppn src, Cost& c);
  void release_frame(Ppn f, Cycles& cost);
  void drop_shared_page(SharedObject& obj, uint64_t page, Cycles& cost);
  Pte leaf_flags_for(const Vma& v, Ppn frame, bool writable, bool dirty) const;

  // TLB shootdowns (tlb_shootdown.cc). n pages of p's translations changed
  // (n = 0: all of them); every CPU that may cache them is flushed, by IPI or
  // at its next switch to p, as kernel.shootdown says; a range of more than
  // kernel.flush_ceiling pages is one full flush. Adds the local flush to
  // `local` and what the initiator waited for other CPUs to `wait`.
  void shootdown(Process& p, unsigned initiator, const Vpn* pages, size_t n, Cycles& local, Cycles& wait,
                 bool dying = false);
  void shootdown_page(Process& p, unsigned initiator, Vpn vpn, Cycles& local, Cycles& wait);
  void shootdown_all(Process& p, unsigned initiator, Cycles& local, Cycles& wait);
  void flush_local_page(Process& p, unsigned cpu, Vpn vpn, Cycles& cost);  // this CPU only
  void flush_walk_caches();
  void forget_process_on_cpus(const Process& p);

  // On-Demand-Fork (odf.cc, kernel.fork_policy = odf): fork shares the
  // parent's leaf tables (reference-counted page-table frames), with Pte::WP
  // in the level-1 PTEs above them in both processes; no PTE of a table with
  // more than one reference is ever written: a fault copies the table first,
  // munmap and mprotect copy it or let go of it whole, teardown drops one
  // reference.
  enum class OdfUnshare : uint8_t { None, Reused, Copied, Oom };
  // The slot of vpn's level-1 PTE (creating the tables above it), 0 if none.
  // fork: shares every eligible leaf table of the parent with the child and
  // lists them (vpn >> 9, ascending) in `shared`; false when out of memory.
  bool odf_share_tables(Process& parent, Process& child, Cost& c, std::vector<Vpn>& shared);
  // A fault at vpn: copies its leaf table if it is shared, or lifts the write
  // protection if this process is its last sharer.
  OdfUnshare odf_unshare(Process& p, unsigned cpu, Vpn vpn, Cost& c);
  // Copies the shared leaf table of vpn's level-1 PTE (at l1_slot) for p.
  bool odf_copy_table(Process& p, unsigned cpu, Vpn vpn, PAddr l1_slot, Pte l1, Cost& c);
  // munmap (unmapping) and mprotect of [lo, hi): no shared table is left in
  // the range; false when out of memory (the call then changes nothing).
  bool odf_prepare_range(Process& p, unsigned cpu, VAddr lo, VAddr hi, bool unmapping, Cycles& cost);
  void odf_prune_upper(Process& p, Vpn vpn, Cycles& cost);  // frees empty tables above level 1
  // Teardown: drops one reference on a shared leaf table; false if `table` is
  // not shared (the caller frees it and its pages).
  bool odf_release_shared_table(Ppn table);
  bool odf_shared_table(Ppn table) const { return odf_ && frames_.refcount(table) > 1; }
  // Whether a non-leaf PTE above vpn's leaf has Pte::WP (no timing).
  bool odf_write_protected(const Process& p, Vpn vpn) const;

  // Mappings (mappings.cc) and lifecycle (lifecycle.cc).
  void check_range(VAddr va, uint64_t len, const char* op) const;
  Cycles unmap_range(Process& p, unsigned cpu, VAddr lo, VAddr hi);
  Cycles teardown(Process& p, unsigned cpu, bool keep_root);
  Cycles kill(Process& p, unsigned cpu);  // every task of p, then p

  // Huge pages (huge_pages.cc): 2 MiB leaves one level above the 4 KiB ones
  // (Linux's PMD-mapped THP). Each huge leaf has a page-table frame deposited
  // beside it (AddressSpace::thp_deposit), so that a split never fails.
  enum class Thp : uint8_t { Never, Madvise, Always };
  void configure_huge_pages(const Config& cfg);
  // The level-1 slot of vpn (creating the tables above it), 0 if none.
  // Visits the 2 MiB leaves of [lo, hi) (page numbers): fn(slot, pte, first vpn).
  template <class Fn> void for_each_huge(const AddressSpace& mm, Vpn lo, Vpn hi, Fn&& fn) const;
  // A fault at va of a huge-page VMA: resolved here (a result), or left to
  // the 4 KiB path (nothing; `split` says the huge leaf was split first).
  std::optional<FaultResult> huge_fault(Task& t, const Vma& v, VAddr va, AccessType access, Cost& c, Cycles now,
                                        bool& split);
  // 512 PTEs of the same frames; the 2 MiB translation is shot down.
  void split_pmd(Process& p, unsigned cpu, PAddr slot, Pte pmd, Vpn base, Cost& c);
  Cycles zero_huge(Ppn head);
  Cycles copy_huge(Ppn dst, Ppn src);
  // References of a huge leaf: one on the head of a huge page, or one on each
  // of the 512 frames once the huge page was split under another mapper.
  void get_huge(Ppn head);
  void release_huge(Ppn head, Cycles& cost);
  bool huge_exclusive(Ppn head) const;  // no one else maps any of its frames
  void set_huge_exclusive(Ppn head, bool e);
  void record_fault(FaultKind kind, const Cost& c, Cycles now, Pid tid, unsigned cpu, VAddr va);
  Pte huge_pte_of(const Process& p, VAddr va) const;  // the 2 MiB leaf, as the PTE of va's frame
  bool fork_huge(Process& parent, Process& child, const Vma& pv, Cost& c, uint64_t& ptes, uint64_t& copied,
                 uint64_t& write_protected);
  void unmap_huge(Process& p, unsigned cpu, VAddr lo, VAddr hi, std::vector<Vpn>& unmapped, std::vector<Ppn>& freed,
                  std::vector<Vpn>& emptied, Cycles& cost);
  void prune_pmd_tables(Process& p, Vpn vpn, Cycles& cost);  // after a huge leaf went
  void mprotect_huge(Process& p, unsigned cpu, VAddr lo, VAddr hi, Perms perms, std::vector<Vpn>& changed, Cycles& cost);
  void teardown_huge(Process& p, Cycles& cost);
  void check_huge_invariants(const Process& p, std::unordered_map<Ppn, uint64_t>& mapped,
                             std::unordered_map<Ppn, Pid>& tables) const;
  void report_huge(StatsJson& out) const;
  static void declare_huge_stats(StatsRegistry& r);

  PhysMem& mem_;
  FrameAllocator frames_;
  const KernelCosts costs_;
  PagingMode mode_;
  unsigned levels_;
  Ppn zero_frame_ = 0;
  bool cow_fork_;
  bool odf_;  // kernel.fork_policy = odf (cow_fork_ is set too: unshared tables are copied as cow does)
  bool use_zero_page_;
  unsigned asid_bits_;
  uint64_t asid_generation_ = 1;
  uint64_t next_asid_ = 0;
  ShootdownPolicy shootdown_policy_;
  Placement placement_;
  bool reuse_flush_all_;
  uint64_t flush_ceiling_;
  std::unique_ptr<CopyEngine> engine_;  // every page copy and zeroing
  bool copy_aware_alloc_;
  unsigned last_placed_;
  bool broken_cow_shootdown_ = false;

  std::vector<CpuContext> cpus_;
  std::unordered_map<Pid, std::unique_ptr<Process>> procs_;  // by process id
  std::unordered_map<Pid, std::unique_ptr<Task>> tasks_;     // by task id
  std::unordered_map<Pid, TaskState> dead_;                  // task ids that exited or were killed
  uint32_t next_process_uid_ = 1;
  uint64_t task_epoch_ = 0;
  std::function<void(const FaultRecord&)> observer_;
  KernelStats stats_;

  // Huge pages (huge_pages.cc).
  Thp thp_ = Thp::Madvise;
  bool thp_cow_copy_ = false;  // kernel.thp_cow = copy
  Ppn huge_zero_ = 0;          // the huge zero page, allocated on first use
};

}  // namespace mmusim
