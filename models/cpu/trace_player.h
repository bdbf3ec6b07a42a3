// Plays the trace: reads it line by line (the trace order is the memory order
// of all CPUs) and hands each line to the CPU its task runs on. The only
// SystemC process of the model; CPUs are called directly, each keeping its
// own clock, so an access costs no SystemC context switch.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "common/clock.h"
#include "common/stats_sink.h"
#include "cpu/cpu.h"
#include "cpu/trace_reader.h"

namespace mmusim {

class Kernel;
class ReferenceModel;

class TracePlayer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(TracePlayer);
  TracePlayer(sc_core::sc_module_name name, const Clock& clock, TraceReader& trace, Kernel& kernel,
              std::vector<Cpu*> cpus, ReferenceModel* reference, Cycles quantum);

  // Called after every executed record (tests check invariants here).
  std::function<void(const TraceRecord&)> after_record;
  // Called every few thousand records with the records done so far.
  std::function<void(uint64_t records)> on_progress;

  bool finished() const { return finished_; }
  // The trace error that stopped the run ("FILE:LINE: message"), if any.
  const std::string& error() const { return error_; }
  uint64_t records() const { return records_; }
  uint64_t skipped_lines() const { return skipped_; }
  // The largest CPU clock: the simulated time so far.
  Cycles now() const;
  // The CPU that ran the last line.
  unsigned last_cpu() const { return last_cpu_; }
  void report(StatsJson& out) const;
  static void declare_stats(StatsRegistry& r);  // the keys report() writes

 private:
  // How often the loop looks at the host (signals, the progress line):
  // powers of two, so that the test is a mask. Host polling, not model time.
  static constexpr uint64_t kPollRecords = 1024;
  static constexpr uint64_t kProgressRecords = 16384;
  static_assert(kProgressRecords % kPollRecords == 0, "progress is reported at a poll");
  void run();
  void dispatch(const TraceRecord& rec);

  const Clock& clock_;
  TraceReader& trace_;
  Kernel& kernel_;
  std::vector<Cpu*> cpus_;
  ReferenceModel* ref_;
  Cycles quantum_;
  // The last line's task, while no task has ended since (kernel task epoch).
  Pid cached_tid_ = 0;
  Task* cached_task_ = nullptr;
  uint64_t cached_epoch_ = 0;
  unsigned last_cpu_ = 0;
  uint64_t records_ = 0, skipped_ = 0;
  bool finished_ = false;
  std::string error_;
};

}  // namespace mmusim
