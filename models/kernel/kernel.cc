// Tasks, processes, scheduling on CPUs, ASIDs and the kernel's statistics.
#include "kernel/kernel.h"

#include <fmt/format.h>

#include "common/config.h"
#include "common/error.h"
#include "common/stats_registry.h"
#include "memory/phys_mem.h"
#include "mmu/tlb_maintenance.h"

namespace mmusim {

KernelCosts KernelCosts::from(const Config& cfg) {
  KernelCosts k;
  k.trap_entry = cfg.u64("kernel.trap_entry");
  k.trap_exit = cfg.u64("kernel.trap_exit");
  k.fault_base = cfg.u64("kernel.fault_base");
  k.frame_alloc = cfg.u64("kernel.frame_alloc");
  k.frame_free = cfg.u64("kernel.frame_free");
  k.pte_update = cfg.u64("kernel.pte_update");
  k.tlb_flush = cfg.u64("kernel.tlb_flush");
  k.cow_fault = cfg.u64("kernel.cow_fault");
  k.cow_new_frame = cfg.u64("kernel.cow_new_frame");
  k.fork_base = cfg.u64("kernel.fork_base");
  k.fork_per_pte = cfg.u64("kernel.fork_per_pte");
  k.fork_cached_ptes = cfg.u64("kernel.fork_cached_ptes");
  k.fork_per_pte_uncached = cfg.u64("kernel.fork_per_pte_uncached");
  k.context_switch = cfg.u64("kernel.context_switch");
  k.syscall = cfg.u64("kernel.syscall");
  k.ipi_send = cfg.u64("kernel.ipi_send");
  k.ipi_latency = cfg.u64("kernel.ipi_latency");
  k.ipi_handler = cfg.u64("kernel.ipi_handler");
  return k;
}

Kernel::Kernel(const Config& cfg, PhysMem& mem, std::vector<TlbMaintenance*> cpus)
    : mem_(mem),
      frames_(mem.frames()),
      costs_(KernelCosts::from(cfg)),
      mode_(cfg.str("mmu.mode") == "sv48" ? PagingMode::Sv48 : PagingMode::Sv39),
      levels_(levels_of(mode_)),
      cow_fork_(cfg.str("kernel.fork_policy") != "eager"),
      odf_(cfg.str("kernel.fork_policy") == "odf"),
      use_zero_page_(cfg.flag("kernel.zero_page")),
      asid_bits_(unsigned(cfg.u64("mmu.asid_bits"))),
      shootdown_policy_(cfg.str("kernel.shootdown") == "all" ? ShootdownPolicy::All : ShootdownPolicy::Running),
      placement_(cfg.str("kernel.placement") == "same" ? Placement::Same : Placement::RoundRobin),
      reuse_flush_all_(cfg.str("kernel.reuse_flush") == "all"),
      flush_ceiling_(cfg.u64("kernel.flush_ceiling")),
      engine_(make_copy_engine(cfg, mem)),
      copy_aware_alloc_(cfg.flag("kernel.copy_aware_alloc")),
      last_placed_(unsigned(cpus.size()) - 1),  // round robin starts at CPU 0
      cpus_(cpus.size()) {
  for (size_t k = 0; k < cpus.size(); ++k) cpus_[k].tlb = cpus[k];
  // Frame 0 stays unused so that a zero PPN never names a real page; the
  // zero frame backs first-touch loads of private pages.
  frames_.reserve();
  zero_frame_ = frames_.reserve();
  configure_huge_pages(cfg);
}

Kernel::~Kernel() = default;

TaskState Kernel::state(Pid tid) const {
  if (tasks_.count(tid)) return TaskState::Alive;
  return dead_.count(tid) ? TaskState::Dead : TaskState::Unseen;
}

Task* Kernel::task(Pid tid) {
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

unsigned Kernel::place(std::optional<unsigned> requested, unsigned creator_cpu) {
  if (requested) {
    if (*requested >= cpus_.size())
      throw UserError(fmt::format("cpu={} is out of range (cpu.count = {})", *requested, cpus_.size()));
    last_placed_ = *requested;
    return *requested;
  }
  if (placement_ == Placement::Same) return creator_cpu;
  last_placed_ = unsigned((last_placed_ + 1) % cpus_.size());
  return last_placed_;
}

Process& Kernel::new_process(Pid pid, Ppn root) {
  auto owned = std::make_unique<Process>();
  owned->pid = pid;
  owned->uid = next_process_uid_++;
  owned->mm.root = root;
  owned->cpus = CpuMask(cpu_count());
  owned->deferred = CpuMask(cpu_count());
  Process& p = *owned;
  procs_.emplace(p.uid, std::move(owned));
  return p;
}

Task& Kernel::new_task(Process& p, Pid tid, unsigned cpu) {
  auto owned = std::make_unique<Task>();
  owned->tid = tid;
  owned->proc = &p;
  owned->cpu = cpu;
  Task& t = *owned;
  tasks_.emplace(tid, std::move(owned));
  dead_.erase(tid);
  p.tasks.push_back(&t);
  return t;
}

void Kernel::remove_task(Task& t) {
  auto& siblings = t.proc->tasks;
  siblings.erase(std::find(siblings.begin(), siblings.end(), &t));
  if (cpus_[t.cpu].current == &t) cpus_[t.cpu].current = nullptr;
  const Pid tid = t.tid;
  ++task_epoch_;
  dead_[tid] = TaskState::Dead;
  tasks_.erase(tid);  // t is gone
}

Task* Kernel::spawn(Pid tid, unsigned cpu, Cycles& cost) {
  Cost c;
  auto root = alloc_frame(FrameUse::PageTable, c);
  if (!root) {
    ++stats_.oom_kills;
    dead_[tid] = TaskState::Dead;
    return nullptr;
  }
  cost += c.total();
  ++stats_.processes_created;
  return &new_task(new_process(tid, *root), tid, cpu);
}

void Kernel::switch_to(Task& t, Cycles& cost) {
  CpuContext& cc = cpus_[t.cpu];
  if (cc.current == &t) return;
  if (cc.has_run) {
    cost += costs_.context_switch;
    ++stats_.context_switches;
  }
  Process& p = *t.proc;
  if (cc.loaded != &p) {
    if (asid_bits_ == 0) {
      // Without ASIDs a TLB only ever holds the running address space's entries.
      if (cc.has_run) {
        cc.tlb->invalidate_all();
        cost += costs_.tlb_flush;
      }
      if (cc.loaded) {
        cc.loaded->cpus.reset(t.cpu);
        cc.loaded->deferred.reset(t.cpu);
      }
    } else if (p.asid_generation != asid_generation_) {
      assign_asid(p, t.cpu, cost);
    }
    cc.loaded = &p;
  }
  // Set even when p stayed loaded: a full shootdown while this CPU ran no task
  // (its task had exited) flushed p here and took the CPU out of the mask.
  p.cpus.set(t.cpu);
  if (p.deferred.test(t.cpu)) {
    // A shootdown skipped this CPU while it ran something else: flush now.
    p.deferred.reset(t.cpu);
    cc.tlb->invalidate_asid(p.asid);
    cost += costs_.tlb_flush;
  }
  cc.current = &t;
  cc.has_run = true;
}

void Kernel::assign_asid(Process& p, unsigned cpu, Cycles& cost) {
  const uint64_t ids = uint64_t{1} << asid_bits_;
  if (next_asid_ == ids) {
    // Out of ids: start a new generation. Nothing tagged with an old id may
    // survive in any TLB: every CPU flushes (Linux defers the others to their
    // next switch; done here at once, each charged one local flush). The
    // address spaces loaded on the other CPUs get new ids right away, so that
    // no id of the new generation names two address spaces in one TLB.
    ++asid_generation_;
    ++stats_.asid_rollovers;
    next_asid_ = 0;
    for (const auto& [uid, proc] : procs_) {
      proc->cpus.clear();
      proc->deferred.clear();
    }
    for (unsigned k = 0; k < cpu_count(); ++k) {
      CpuContext& other = cpus_[k];
      other.tlb->invalidate_all();
      if (k == cpu) {
        cost += costs_.tlb_flush;
        continue;
      }
      other.interrupted += costs_.tlb_flush;
      if (other.loaded) {  // p too: its other CPUs keep running it
        if (other.loaded->asid_generation != asid_generation_) {
          other.loaded->asid = Asid(next_asid_++);
          other.loaded->asid_generation = asid_generation_;
        }
        other.loaded->cpus.set(k);
      }
    }
    if (p.asid_generation == asid_generation_) return;  // got one above on another CPU
  }
  p.asid = Asid(next_asid_++);
  p.asid_generation = asid_generation_;
}

Cycles Kernel::thread(Task& t, Pid new_tid, unsigned cpu) {
  if (state(new_tid) == TaskState::Alive) throw UserError(fmt::format("thread: task {} is alive", new_tid));
  ++stats_.syscalls;
  ++stats_.threads_created;
  new_task(*t.proc, new_tid, cpu);
  return costs_.syscall;
}

Cycles Kernel::migrate(Task& t, unsigned cpu) {
  if (cpu >= cpus_.size())
    throw UserError(fmt::format("migrate: CPU {} is out of range (cpu.count = {})", cpu, cpus_.size()));
  ++stats_.syscalls;
  if (cpu != t.cpu) {
    ++stats_.migrations;
    // The old CPU keeps the address space loaded (lazily) and stays in its mask.
    if (cpus_[t.cpu].current == &t) cpus_[t.cpu].current = nullptr;
    t.cpu = cpu;
  }
  return costs_.syscall;
}

void Kernel::report(StatsJson& out) const {
  for (size_t k = 0; k < kFaultKinds; ++k) out[std::string("faults.") + to_string(FaultKind(k))] = stats_.faults[k];
  out["faults.segv"] = stats_.segv;
  out["faults.spurious"] = stats_.spurious_faults;
  Cycles fault_cycles = 0;
  for (const auto& l : stats_.latency) fault_cycles += l.sum();
  out["faults.cycles"] = fault_cycles;
  for (size_t k = 0; k < kFaultKinds; ++k)
    report_latency(out, std::string("faults.latency.") + to_string(FaultKind(k)), stats_.latency[k]);
  out["memory.bytes_copied"] = stats_.bytes_copied;
  out["memory.bytes_copied_eager"] = stats_.eager_bytes_copied;
  out["memory.bytes_copied_cow"] = stats_.cow_bytes_copied;
  out["fork.count"] = stats_.forks;
  out["fork.failed"] = stats_.forks_failed;
  out["fork.cycles"] = stats_.fork_cycles;
  out["fork.ptes_copied"] = stats_.fork_ptes_copied;
  out["fork.tables_shared"] = stats_.odf_tables_shared;
  out["odf.tables_reused"] = stats_.odf_tables_reused;
  out["odf.tables_detached"] = stats_.odf_tables_detached;
  out["odf.syscall_table_copies"] = stats_.odf_syscall_copies;
  out["kernel.oom_kills"] = stats_.oom_kills;
  out["kernel.context_switches"] = stats_.context_switches;
  out["kernel.syscalls"] = stats_.syscalls;
  out["kernel.asid_rollovers"] = stats_.asid_rollovers;
  out["kernel.processes_created"] = stats_.processes_created;
  out["kernel.threads_created"] = stats_.threads_created;
  out["kernel.migrations"] = stats_.migrations;
  out["kernel.execs"] = stats_.execs;
  out["kernel.exits"] = stats_.exits;
  out["shootdown.count"] = stats_.shootdowns;
  out["shootdown.ipis"] = stats_.ipis;
  out["shootdown.deferred"] = stats_.deferred_flushes;
  out["shootdown.initiator_cycles"] = stats_.initiator_cycles;
  out["shootdown.target_cycles"] = stats_.target_cycles;
  out["shootdown.full_flushes"] = stats_.ceiling_flushes;
  for (unsigned k = 0; k < cpu_count(); ++k) out[fmt::format("cpu.{}.ipis_received", k)] = cpus_[k].ipis_received;
  frames_.report(out);
  engine_->report(out);
  report_huge(out);
}

void Kernel::declare_stats(StatsRegistry& r) {
  std::vector<std::pair<std::string, std::string>> kinds;
  for (const auto& k : kFaultKindNames) kinds.emplace_back(k.name, k.description);
  r.define("kind", std::move(kinds));
  r.add({
      {"faults.<kind>", "faults", "faults of this kind the handler resolved"},
      {"faults.segv", "faults", "accesses outside every mapping or against its permissions"},
      {"faults.spurious", "faults",
       "write faults that found the PTE already allowing the access (a stale read-only TLB entry); the CPU "
       "flushed its own entry and retried"},
      {"faults.cycles", "cycles", "cycles spent in resolved faults of every kind (the sum of their latencies)"},
      {"faults.latency.<kind>.count", "faults", "faults of this kind (the samples of its latency)"},
      {"faults.latency.<kind>.mean", "cycles", "mean latency of a fault of this kind"},
      {"faults.latency.<kind>.p50", "cycles", "median latency of a fault of this kind (nearest rank)"},
      {"faults.latency.<kind>.p99", "cycles", "99th percentile of the latency of a fault of this kind (nearest rank)"},
      {"faults.latency.<kind>.max", "cycles", "largest latency of a fault of this kind"},
      {"memory.bytes_copied", "bytes", "bytes copied by COW faults and eager forks"},
      {"memory.bytes_copied_eager", "bytes", "bytes copied by eager forks"},
      {"memory.bytes_copied_cow", "bytes", "bytes copied by COW faults"},
      {"fork.count", "forks", "successful forks"},
      {"fork.failed", "forks", "forks that failed for lack of memory"},
      {"fork.cycles", "cycles", "total cycles spent in fork"},
      {"fork.ptes_copied", "PTEs", "leaf PTEs written into children's page tables"},
      {"fork.tables_shared", "tables",
       "On-Demand-Fork: leaf page tables a fork shared with the child instead of copying their PTEs"},
      {"odf.tables_reused", "tables",
       "On-Demand-Fork: faults in a write-protected leaf table that no other process shares any more: "
       "the protection was lifted, nothing copied"},
      {"odf.tables_detached", "tables",
       "On-Demand-Fork: shared leaf tables a process let go of whole (munmap of the whole table, exit, exec): "
       "one reference dropped, nothing copied or freed"},
      {"odf.syscall_table_copies", "tables",
       "On-Demand-Fork: shared leaf tables copied by munmap or mprotect of part of them"},
      {"kernel.oom_kills", "processes", "processes killed for lack of memory"},
      {"kernel.context_switches", "switches", "switches of a CPU from one task to another"},
      {"kernel.syscalls", "calls", "system calls (fork, exec, exit, mmap, munmap, mprotect, thread, migrate)"},
      {"kernel.asid_rollovers", "rollovers", "times the ASIDs ran out and a new generation began"},
      {"kernel.processes_created", "processes",
       "processes spawned by a task id's first trace line (forks not counted)"},
      {"kernel.threads_created", "threads", "threads created"},
      {"kernel.migrations", "tasks", "tasks moved to another CPU"},
      {"kernel.execs", "calls", "exec calls"},
      {"kernel.exits", "calls", "exit calls"},
      {"shootdown.count", "operations", "operations that flushed other CPUs' TLBs"},
      {"shootdown.ipis", "IPIs", "inter-processor interrupts sent for shootdowns"},
      {"shootdown.deferred", "flushes", "flushes deferred to a CPU's next switch to the address space"},
      {"shootdown.initiator_cycles", "cycles", "cycles the initiating CPUs waited for acknowledgements"},
      {"shootdown.target_cycles", "cycles", "cycles the interrupted CPUs spent in the IPI handler"},
      {"shootdown.full_flushes", "flushes",
       "range flushes of more than kernel.flush_ceiling pages done as one flush of the address space"},
      {"cpu.<k>.ipis_received", "IPIs", "shootdown IPIs this CPU received"},
  });
  declare_huge_stats(r);
}

}  // namespace mmusim
