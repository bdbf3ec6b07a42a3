// The top level: instantiates the modules and binds the data path of each CPU
//   Cpu[k] --(virtual access)--> Mmu[k] --(physical access)--> PhysMem
// with the Kernel beside them, handling traps, system calls and shootdowns,
// and the TracePlayer handing each trace line to its task's CPU.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <systemc>

#include "common/clock.h"
#include "common/stats_sink.h"
#include "cpu/cpu.h"
#include "cpu/trace_player.h"
#include "kernel/kernel.h"
#include "memory/phys_mem.h"
#include "mmu/mmu.h"
#include "verify/reference_model.h"

namespace mmusim {

class Config;
class LockstepPageTableWalker;
class LockstepTlb;
class RtlPageTableWalker;
class RtlTlb;
class TraceReader;

class Top : public sc_core::sc_module {
 public:
  // rtl_vcd: with tlb.impl = rtl or lockstep, a VCD of CPU 0's RTL TLB signals;
  // ptw_vcd: with ptw.impl = rtl or lockstep, one of CPU 0's RTL walker.
  Top(sc_core::sc_module_name name, const Config& cfg, TraceReader& trace, const std::string& rtl_vcd = "",
      const std::string& ptw_vcd = "");
  ~Top() override;

  Clock clock;
  PhysMem mem;
  std::vector<std::unique_ptr<Mmu>> mmus;  // one per CPU
  Kernel kernel;
  std::unique_ptr<ReferenceModel> reference;  // null with verify.reference = false
  VerifyStats verify;
  std::vector<std::unique_ptr<Cpu>> cpus;
  std::unique_ptr<TracePlayer> player;
  // Each CPU's L1 TLB chosen by tlb.impl (owned by its mmu): the RTL adapter
  // with rtl and lockstep, the lockstep pair with lockstep; empty otherwise.
  std::vector<RtlTlb*> rtl_tlbs;
  std::vector<LockstepTlb*> locksteps;
  // Each CPU's walker chosen by ptw.impl (owned by its mmu), likewise.
  std::vector<RtlPageTableWalker*> rtl_ptws;
  std::vector<LockstepPageTableWalker*> ptw_locksteps;

  Cycles now() const { return player->now(); }
  // Waits until every lockstep TLB's worker has compared all it was given
  // (tlb.lockstep_check = thread): before reading the results of a run.
  void drain_locksteps();
  // A lockstep divergence or a failed RTL assertion (TLB or walker): whether,
  // so far (cheap: for polling during the run), and the report (after drain_locksteps).
  bool tlb_failed() const;
  std::string tlb_failure() const;
  uint64_t lockstep_lookups() const;
  uint64_t lockstep_divergences() const;
  uint64_t lockstep_walks() const;
  uint64_t lockstep_walk_divergences() const;
  // Stops the simulation for good from the player's thread (sc_stop, then
  // waits on an event never notified): the run ends at this point.
  void halt();
  // Closes the RTL's VCDs: keep them (moved into place) or delete them.
  void finish_rtl_vcd(bool keep);

  // Every statistic of every module, one flat JSON object.
  void report(StatsJson& out) const;
  // The keys report() writes: every module's declarations, in report()'s order.
  static void declare_stats(StatsRegistry& r);

 private:
  sc_core::sc_event never_;
};

}  // namespace mmusim
