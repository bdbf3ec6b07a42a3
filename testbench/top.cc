#include "top.h"

#include <tlm_utils/tlm_quantumkeeper.h>

#include "common/config.h"
#include "lockstep_tlb.h"
#include "mmu/tlb.h"
#include "rtl_tlb.h"

namespace mmusim {

namespace {
std::unique_ptr<ReferenceModel> make_reference(const Config& cfg) {
  return cfg.flag("verify.reference") ? std::make_unique<ReferenceModel>() : nullptr;
}
}  // namespace

Top::Top(sc_core::sc_module_name name, const Config& cfg, TraceReader& trace, const std::string& rtl_vcd)
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

  // tlb.impl: the RTL TLB as the L1, alone or in lockstep with the C++ one.
  const std::string& impl = cfg.str("tlb.impl");
  if (impl != "model") {
    RtlTlbParams p = rtl_l1_params(cfg);
    p.vcd_path = rtl_vcd;
    std::unique_ptr<RtlTlb> rtl = make_rtl_tlb(p);
    rtl_tlb = rtl.get();
    rtl->set_cycle_source([this] { return cpu.now(); });
    if (impl == "rtl") {
      mmu.set_l1(std::move(rtl));
    } else {
      auto pair = std::make_unique<LockstepTlb>(make_tlb(cfg, "l1"), std::move(rtl));
      pair->set_cycle_source([this] { return cpu.now(); });
      pair->set_on_divergence([](const std::string&) { sc_core::sc_stop(); });
      lockstep = pair.get();
      mmu.set_l1(std::move(pair));
    }
  }
}

bool Top::tlb_failed() const {
  return (lockstep && lockstep->diverged()) || (rtl_tlb && !rtl_tlb->error().empty());
}

std::string Top::tlb_failure() const {
  if (lockstep && lockstep->diverged()) return lockstep->report();
  if (rtl_tlb && !rtl_tlb->error().empty()) return rtl_tlb->error() + "\n";
  return "";
}

void Top::halt() {
  sc_core::sc_stop();
  sc_core::wait(never_);
}

void Top::finish_rtl_vcd(bool keep) {
  if (rtl_tlb) rtl_tlb->finish_vcd(keep);
}

void Top::report(StatsJson& out) const {
  cpu.report(out);
  mmu.report(out);
  kernel.report(out);
  out["memory.host_frames_peak"] = mem.stats().host_frames_peak;
}

}  // namespace mmusim
