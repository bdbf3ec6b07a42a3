// The CPU: plays the trace. Loads and stores go to the Mmu as TLM-2.0
// transactions carrying the virtual address and the address space; a fault
// response traps into the Kernel, and the same access is retried. System
// calls (fork, exec, exit, mmap, ...) call the Kernel. Loosely timed: time is
// kept locally with a tlm_quantumkeeper, no context switch per access.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "common/clock.h"
#include "common/stats_sink.h"
#include "cpu/trace_reader.h"
#include "kernel/kernel.h"
#include "mmu/access_extension.h"

namespace mmusim {

class Config;
class ReferenceModel;
struct Process;

struct CpuStats {
  uint64_t accesses = 0, loads = 0, stores = 0, page_crossings = 0;
  uint64_t skipped_lines = 0, records = 0, compute_cycles = 0;
  uint64_t loads_checked = 0, mismatches = 0;
  // FNV-style hash over (line, value) of every completed load: two runs of one trace
  // (eager and cow, model and RTL TLB) loaded the same values iff they agree.
  uint64_t load_hash = 14695981039346656037ull;
};

class Cpu : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Cpu> socket;

  SC_HAS_PROCESS(Cpu);
  Cpu(sc_core::sc_module_name name, const Config& cfg, const Clock& clock, TraceReader& trace,
      Kernel& kernel, ReferenceModel* reference);
  ~Cpu() override;

  // Called after every executed record (tests check invariants here).
  std::function<void(const TraceRecord&)> after_record;
  // Called every few thousand records with the records done so far.
  std::function<void(uint64_t records)> on_progress;

  bool finished() const { return finished_; }
  // The trace error that stopped the run ("FILE:LINE: message"), if any.
  const std::string& error() const { return error_; }
  Cycles cycles() const { return cycles_; }
  // The CPU's current simulated time (its local time included), in cycles.
  Cycles now() const { return clock_.to_cycles(qk_.get_current_time()); }
  const CpuStats& stats() const { return stats_; }
  void report(StatsJson& out) const;

 private:
  void run();
  void execute(const TraceRecord& rec);
  void access(const TraceRecord& rec);
  // One access within a page: Retry means it completed; otherwise the process
  // was killed. A probe translates (and takes any fault) but moves no data.
  FaultOutcome access_page(VAddr va, unsigned len, uint8_t* data, AccessType type, bool probe = false);
  void advance(Cycles c);
  void mismatch(const TraceRecord& rec, const std::string& what);

  const Clock& clock_;
  TraceReader& trace_;
  Kernel& kernel_;
  ReferenceModel* ref_;
  uint64_t max_reports_;
  tlm_utils::tlm_quantumkeeper qk_;
  tlm::tlm_generic_payload trans_;
  AccessExtension ext_;
  Process* cur_ = nullptr;  // the running process, null after it died
  Pid cur_pid_ = 0;
  bool finished_ = false;
  std::string error_;
  Cycles cycles_ = 0;
  CpuStats stats_;
};

}  // namespace mmusim
