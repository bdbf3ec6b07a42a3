#include "top.h"

#include <tlm_utils/tlm_quantumkeeper.h>

#include "common/config.h"

namespace mmusim {

namespace {
std::unique_ptr<ReferenceModel> make_reference(const Config& cfg) {
  return cfg.flag("verify.reference") ? std::make_unique<ReferenceModel>() : nullptr;
}
}  // namespace

Top::Top(sc_core::sc_module_name name, const Config& cfg, TraceReader& trace)
    : sc_core::sc_module(name),
      clock(cfg.u64("cpu.freq_mhz")),
      mem("mem", cfg, clock),
      mmu("mmu", cfg, clock),
      kernel("kernel", cfg, mem, mmu),
      reference(make_reference(cfg)),
      cpu("cpu", cfg, clock, trace, kernel, reference.get()) {
  tlm_utils::tlm_quantumkeeper::set_global_quantum(clock.to_time(cfg.u64("cpu.quantum")));
  cpu.socket.bind(mmu.cpu_socket);
  mmu.mem_socket.bind(mem.socket);
}

void Top::report(StatsJson& out) const {
  cpu.report(out);
  mmu.report(out);
  kernel.report(out);
  out["memory.host_frames_peak"] = mem.stats().host_frames_peak;
}

}  // namespace mmusim
