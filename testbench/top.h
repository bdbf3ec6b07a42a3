// The top level: instantiates the modules and binds the data path
//   Cpu --(virtual access)--> Mmu --(physical access)--> PhysMem
// with the Kernel beside them, handling traps and system calls.
#pragma once
#include <memory>

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
class TraceReader;

class Top : public sc_core::sc_module {
 public:
  Top(sc_core::sc_module_name name, const Config& cfg, TraceReader& trace);

  Clock clock;
  PhysMem mem;
  Mmu mmu;
  Kernel kernel;
  std::unique_ptr<ReferenceModel> reference;  // null with verify.reference = false
  Cpu cpu;

  // Every statistic of every module, one flat JSON object.
  void report(StatsJson& out) const;
};

}  // namespace mmusim
