// One CPU: executes the trace lines of the tasks it runs. Loads and stores go
// to its Mmu as TLM-2.0 transactions carrying the virtual address and the
// address space; a fault response traps into the Kernel, and the same access
// is retried. (A repeated L1 hit the Mmu's hit cache answers directly,
// without a transaction: Mmu::direct_access.) System calls (fork, thread,
// exec, exit, mmap, ...) call the Kernel. The CPU keeps its own clock (spec:
// each CPU has its own clock); it has no SystemC process of its own: the
// TracePlayer calls it in trace order, so an access costs no SystemC context
// switch.
#pragma once
#include <cstdint>
#include <string>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "common/clock.h"
#include "common/stats_sink.h"
#include "cpu/trace_record.h"
#include "kernel/kernel.h"
#include "mmu/access_extension.h"

namespace mmusim {

class Config;
class Mmu;
class ReferenceModel;
class TraceReader;

struct CpuStats {
  uint64_t accesses = 0, loads = 0, stores = 0, page_crossings = 0;
  uint64_t compute_cycles = 0;
};

// Verification over the whole run, shared by every CPU.
struct VerifyStats {
  uint64_t loads_checked = 0, mismatches = 0;
  // FNV-style hash over (line, value) of every completed load, in trace order:
  // two runs of one trace (eager and cow, model and RTL TLB, 1 or 4 CPUs)
  // loaded the same values iff they agree.
  uint64_t load_hash = 14695981039346656037ull;
};

class Cpu : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Cpu> socket;

  Cpu(sc_core::sc_module_name name, unsigned index, const Config& cfg, const Clock& clock,
      const TraceReader& trace, Kernel& kernel, ReferenceModel* reference, VerifyStats& verify);
  ~Cpu() override;

  // Executes one line of task t (t runs on this CPU). A trace error throws
  // UserError (the caller adds file:line).
  void execute(const TraceRecord& rec, Task& t);
  // The Mmu socket is bound to: an access it can serve from its hit cache
  // skips the TLM transaction (Mmu::direct_access). Without one, every
  // access is a transaction.
  void set_direct_mmu(Mmu* mmu) { mmu_ = mmu; }
  // Cycles spent elsewhere on this CPU's behalf (creating a task, IPIs).
  void charge(Cycles c) { advance(c); }

  unsigned index() const { return index_; }
  // This CPU's clock, in cycles.
  Cycles now() const { return clock_hz_.to_cycles(time_); }
  // The same as a time: kept as one, since every access adds its delay to it
  // (no conversion to cycles on the hot path).
  const sc_core::sc_time& time() const { return time_; }
  const CpuStats& stats() const { return stats_; }
  void report(StatsJson& out) const;  // cpu.<index>.*
  static void declare_stats(StatsRegistry& r);  // the keys report() writes

 private:
  // A load or store: the hit cache's case here, the rest in access_pages().
  void access(const TraceRecord& rec, Task& t);
  // Translates (taking any fault) and moves the bytes page by page, then completed().
  [[gnu::noinline]] void access_pages(const TraceRecord& rec, Task& t, uint8_t* data, bool legal);
  // A load or store done: counts it and checks it against the reference model
  // (`legal`: whether the model allows it) and the trace's expect=.
  [[gnu::always_inline]] inline void completed(const TraceRecord& rec, Pid ref_pid, const uint8_t* data, bool legal,
                                               bool crossed);
  // Every line but a load or store (kept out of execute(), which the hit
  // path goes through).
  [[gnu::noinline]] void operation(const TraceRecord& rec, Task& t);
  // One access within a page: Retry means it completed; otherwise the process
  // was killed. A probe translates (and takes any fault) but moves no data.
  // Not inlined: the hit path does not take it (Mmu::direct_access).
  [[gnu::noinline]] FaultOutcome access_page(Task& t, VAddr va, unsigned len, uint8_t* data, AccessType type,
                                             bool probe = false);
  // Verification failures: rare, so out of the hit path's way.
  [[gnu::cold, gnu::noinline]] void mismatch(const TraceRecord& rec, const std::string& what);
  [[gnu::cold, gnu::noinline]] void load_mismatch(const TraceRecord& rec, uint64_t value, uint64_t want,
                                                  const char* source);
  void advance(Cycles c) { time_ += clock_hz_.to_time(c); }

  unsigned index_;
  const Clock& clock_hz_;
  const TraceReader& trace_;
  Kernel& kernel_;
  ReferenceModel* ref_;
  Mmu* mmu_ = nullptr;  // see set_direct_mmu
  VerifyStats& verify_;
  uint64_t max_reports_;
  tlm::tlm_generic_payload trans_;
  AccessExtension ext_;
  sc_core::sc_time time_ = sc_core::SC_ZERO_TIME;
  CpuStats stats_;
};

}  // namespace mmusim
