// The kernel-side software: processes with ASIDs and VMAs, page tables written
// into PhysMem as real PTEs, the frame allocator, fork (copy-on-write or
// eager), exec/exit/mmap/munmap/mprotect, and the page-fault handler (demand
// paging and the COW copy). Each step costs cycles from the configuration and
// faults record where their time went.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include <systemc>

#include "common/latency_stats.h"
#include "common/pte.h"
#include "common/stats_sink.h"
#include "kernel/address_space.h"
#include "kernel/fault.h"
#include "memory/frame_allocator.h"

namespace mmusim {

class Config;
class Mmu;
class PhysMem;

enum class FaultOutcome : uint8_t { Retry, Segv, OomKilled };

struct KernelStats {
  std::array<uint64_t, kFaultKinds> faults{};
  std::array<LatencyStats, kFaultKinds> latency;
  uint64_t segv = 0, oom_kills = 0, spurious_faults = 0;
  uint64_t forks = 0, forks_failed = 0, fork_cycles = 0, fork_ptes_copied = 0;
  uint64_t bytes_copied = 0, eager_bytes_copied = 0, cow_bytes_copied = 0;
  uint64_t context_switches = 0, syscalls = 0, asid_rollovers = 0;
  uint64_t processes_created = 0, execs = 0, exits = 0;
};

class Kernel : public sc_core::sc_module {
 public:
  Kernel(sc_core::sc_module_name name, const Config& cfg, PhysMem& mem, Mmu& mmu);
  ~Kernel() override;

  ProcState state(Pid pid) const;
  Process* process(Pid pid);
  Process* current() { return current_; }

  // Schedules `pid` (spawning it with an empty address space if never seen);
  // adds the context-switch cost (and any TLB flush an ASID change needs).
  // Returns null if a new process cannot get its root page table: it counts
  // as killed for lack of memory (kernel.oom_kills) and its lines are skipped.
  Process* switch_to(Pid pid, Cycles& cost);

  // System calls. A trace error (misaligned range, overlap, ...) throws
  // UserError with a message that the caller prefixes with file:line.
  Cycles mmap(Process& p, VAddr va, uint64_t len, Perms perms, bool shared);
  Cycles munmap(Process& p, VAddr va, uint64_t len);
  Cycles mprotect(Process& p, VAddr va, uint64_t len, Perms perms);
  struct ForkResult {
    bool ok = false;
    Cycles cycles = 0;
  };
  ForkResult fork(Process& parent, Pid child);
  Cycles exec(Process& p);
  Cycles exit(Process& p);  // p is destroyed

  // The trap: the Mmu refused an access of p at va. Handles it and says
  // whether the CPU retries the access or the process was killed (then p is
  // destroyed).
  struct FaultResult {
    FaultOutcome outcome = FaultOutcome::Retry;
    Cycles cycles = 0;
  };
  FaultResult handle_fault(Process& p, VAddr va, AccessType access, Cycles walk_cycles, Cycles now);

  // Every frame's reference count equals the PTEs (and shared objects) that
  // point to it, no free frame is mapped, tables are counted right, no
  // writable private PTE maps a frame someone else maps. Throws std::logic_error.
  void check_invariants() const;

  // The leaf PTE mapping va in p's tables (invalid PTE if none); no timing.
  Pte pte_of(const Process& p, VAddr va) const;
  Ppn zero_frame() const { return zero_frame_; }
  PagingMode mode() const { return mode_; }
  FrameAllocator& frames() { return frames_; }
  const FrameAllocator& frames() const { return frames_; }
  size_t live_processes() const { return procs_.size(); }

  // Called for every fault the handler resolved (for the --faults CSV).
  void set_fault_observer(std::function<void(const FaultRecord&)> obs) { observer_ = std::move(obs); }
  const KernelStats& stats() const { return stats_; }
  void report(StatsJson& out) const;

 private:
  using Cost = FaultBreakdown;

  // Page-table plumbing (functional memory access; costs charged into Cost).
  PAddr leaf_slot(const AddressSpace& mm, Vpn vpn, bool create, Cost& c, bool& oom);
  PAddr find_leaf_slot(const AddressSpace& mm, Vpn vpn) const;  // 0 if no leaf table
  void write_leaf(PAddr slot, Pte old_pte, Pte new_pte, Cost& c);
  // Visits valid leaf PTEs of [lo, hi) in page-number order; fn returns false to stop.
  template <class Fn> bool for_each_leaf(const AddressSpace& mm, Vpn lo, Vpn hi, Fn&& fn) const;
  template <class Fn>
  bool visit_table(Ppn table, unsigned level, Vpn base, Vpn lo, Vpn hi, Fn& fn) const;
  void prune_tables(AddressSpace& mm, Vpn vpn, Cycles& cost);
  void free_tables(Ppn table, unsigned level, Cycles& cost);

  // Frames.
  std::optional<Ppn> alloc_frame(FrameUse use, Cost& c);
  void release_frame(Ppn f, Cycles& cost);
  void drop_shared_page(SharedObject& obj, uint64_t page, Cycles& cost);

  // TLB maintenance for one process's translations.
  void shootdown_page(const Process& p, Vpn vpn, Cycles& cost);
  void shootdown_all(const Process& p, Cycles& cost);
  void assign_asid(Process& p, Cycles& cost);

  void check_range(VAddr va, uint64_t len, const char* op) const;
  Cycles unmap_range(Process& p, VAddr lo, VAddr hi, bool per_page_flush);
  Cycles teardown(Process& p, bool keep_root);
  Cycles kill(Process& p);
  Pte leaf_flags_for(const Vma& v, Ppn frame, bool writable, bool dirty) const;

  PhysMem& mem_;
  Mmu& mmu_;
  FrameAllocator frames_;
  PagingMode mode_;
  unsigned levels_;
  Ppn zero_frame_ = 0;
  bool cow_fork_;
  bool use_zero_page_;
  unsigned asid_bits_;
  uint64_t asid_generation_ = 1;
  uint64_t next_asid_ = 0;

  // Costs, in cycles (kernel.* and mem.latency).
  Cycles mem_latency_, trap_entry_, trap_exit_, fault_base_, frame_alloc_, frame_free_,
      pte_update_, tlb_flush_, fork_base_, fork_per_pte_, context_switch_, syscall_;
  uint64_t copy_bytes_per_cycle_;

  std::unordered_map<Pid, std::unique_ptr<Process>> procs_;
  std::unordered_map<Pid, ProcState> dead_;  // pids that exited or were killed
  Process* current_ = nullptr;
  Pid last_pid_ = 0;
  std::function<void(const FaultRecord&)> observer_;
  KernelStats stats_;
};

}  // namespace mmusim
