// The top level: instantiates the modules and binds the data path
//   Cpu --(virtual access)--> Mmu --(physical access)--> PhysMem
// with the Kernel beside them, handling traps and system calls.
#pragma once
#include <memory>
#include <string>

#include <systemc>

#include "common/clock.h"
#include "common/stats_sink.h"
#include "cpu/cpu.h"
#include "kernel/kernel.h"
#include "memory/phys_mem.h"
#include "mmu/mmu.h"
#include "verify/reference_model.h"

namespace mmusim {

class Config;
class LockstepTlb;
class RtlTlb;
class TraceReader;

class Top : public sc_core::sc_module {
 public:
  // rtl_vcd: with tlb.impl = rtl or lockstep, a VCD of the RTL TLB's signals.
  Top(sc_core::sc_module_name name, const Config& cfg, TraceReader& trace, const std::string& rtl_vcd = "");

  Clock clock;
  PhysMem mem;
  Mmu mmu;
  Kernel kernel;
  std::unique_ptr<ReferenceModel> reference;  // null with verify.reference = false
  Cpu cpu;
  // The L1 TLB chosen by tlb.impl (owned by mmu): the RTL adapter with rtl and
  // lockstep, the lockstep pair with lockstep; null otherwise.
  RtlTlb* rtl_tlb = nullptr;
  LockstepTlb* lockstep = nullptr;

  // A lockstep divergence or a failed RTL assertion: whether, and the report.
  bool tlb_failed() const;
  std::string tlb_failure() const;
  // Stops the simulation for good from the Cpu's thread (sc_stop, then waits
  // on an event never notified): the run ends at this point.
  void halt();
  // Closes the RTL's VCD: keep it (moved into place) or delete it.
  void finish_rtl_vcd(bool keep);

  // Every statistic of every module, one flat JSON object.
  void report(StatsJson& out) const;

 private:
  sc_core::sc_event never_;
};

}  // namespace mmusim
