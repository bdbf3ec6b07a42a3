#include "cpu/trace_player.h"

#include <fmt/format.h>

#include "common/error.h"
#include "common/interrupt.h"
#include "common/stats_registry.h"
#include "kernel/kernel.h"
#include "verify/reference_model.h"

namespace mmusim {

TracePlayer::TracePlayer(sc_core::sc_module_name name, const Clock& clock, TraceReader& trace, Kernel& kernel,
                         std::vector<Cpu*> cpus, ReferenceModel* reference, Cycles quantum)
    : sc_core::sc_module(name),
      clock_(clock),
      trace_(trace),
      kernel_(kernel),
      cpus_(std::move(cpus)),
      ref_(reference),
      quantum_(quantum) {
  SC_THREAD(run);
}

Cycles TracePlayer::now() const {
  Cycles t = 0;
  for (const Cpu* c : cpus_) t = std::max(t, c->now());
  return t;
}

void TracePlayer::run() {
  TraceRecord rec;
  const sc_core::sc_time quantum = clock_.to_time(quantum_);
  // SystemC time moves only in the wait below, so the next sync point is
  // computed there, not per record (sc_time_stamp() is a library call).
  sc_core::sc_time next_sync = sc_core::sc_time_stamp() + quantum;
  try {
    while (trace_.next(rec)) {
      // Every kPollRecords records (microseconds apart), not every record:
      // SIGINT or SIGTERM stops the run between records (run_simulation
      // reports it), and every kProgressRecords the progress line moves on.
      if (records_ % kPollRecords == 0) {
        if (interrupt_signal() != 0) break;
        if (on_progress && records_ != 0 && records_ % kProgressRecords == 0) on_progress(records_);
      }
      ++records_;
      try {
        dispatch(rec);
      } catch (const UserError& e) {
        throw UserError(fmt::format("{}: {}", trace_.where(rec.line), e.what()));
      }
      if (after_record) after_record(rec);
      // SystemC time follows the CPU that ran, a quantum at a time: nothing
      // else needs it during the run, so one wait per quantum is enough.
      const sc_core::sc_time& t = cpus_[last_cpu_]->time();
      if (t >= next_sync) {
        sc_core::wait(t - sc_core::sc_time_stamp());
        next_sync = sc_core::sc_time_stamp() + quantum;
      }
    }
  } catch (const UserError& e) {
    error_ = e.what();
  }
  // IPI handler time not yet charged to the CPUs that took the IPIs.
  for (Cpu* c : cpus_) c->charge(kernel_.take_interrupt_cycles(c->index()));
  sc_core::sc_time end = sc_core::sc_time_stamp();
  for (const Cpu* c : cpus_) end = std::max(end, c->time());
  if (end > sc_core::sc_time_stamp()) sc_core::wait(end - sc_core::sc_time_stamp());
  finished_ = true;  // the thread ends; with nothing left to do, sc_start returns
}

void TracePlayer::dispatch(const TraceRecord& rec) {
  Task* t = cached_task_;
  if (rec.pid != cached_tid_ || kernel_.task_epoch() != cached_epoch_) {
    switch (kernel_.state(rec.pid)) {
      case TaskState::Dead:
        ++skipped_;
        return;
      case TaskState::Unseen: {
        // A task never seen starts a new process, placed by kernel.placement.
        const unsigned cpu = kernel_.place(std::nullopt, last_cpu_);
        Cycles cost = 0;
        t = kernel_.spawn(rec.pid, cpu, cost);
        cpus_[cpu]->charge(cost);
        if (!t) {  // no memory for its page table: it never runs
          ++skipped_;
          return;
        }
        if (ref_) ref_->spawn(t->proc->uid);
        break;
      }
      case TaskState::Alive:
        t = kernel_.task(rec.pid);
        break;
    }
    cached_tid_ = rec.pid;
    cached_task_ = t;
    cached_epoch_ = kernel_.task_epoch();
  }
  last_cpu_ = t->cpu;
  cpus_[t->cpu]->execute(rec, *t);
}

void TracePlayer::report(StatsJson& out) const {
  out["sim.cycles"] = now();
  out["trace.lines"] = trace_.lines_read();
  out["trace.records"] = records_;
  out["trace.skipped_lines"] = skipped_;
}

void TracePlayer::declare_stats(StatsRegistry& r) {
  r.add({
      {"sim.cycles", "cycles", "simulated cycles at the end (the largest CPU clock)"},
      {"trace.lines", "lines", "every line read, comments and blank lines included"},
      {"trace.records", "records", "trace records (operations) executed"},
      {"trace.skipped_lines", "lines", "lines skipped because their process had exited or been killed"},
  });
}

}  // namespace mmusim
