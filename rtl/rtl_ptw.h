// The verilated RTL page-table walker (rtl/ptw.sv) behind the WalkerModel
// interface.
//
// The adapter clocks the RTL from C++ (no SystemC clock), as the RTL TLB's
// does: a walk raises the request, then serves the RTL's memory port from a
// PteMemory (in the simulator the Mmu's, over PhysMem, so the RTL reads the
// kernel's real page tables): when the RTL raises mem_req_valid_o the adapter
// accepts it (mem_req_ready_i) at that edge, performs the read or write on the
// PteMemory, and answers (mem_rsp_valid_i) after the delay the memory charged
// (at least one cycle). WalkResult.cycles is the RTL's own count: the edges
// from the one that accepts the request to the one after which the answer is
// valid (2 + (1 + delay) per memory access with the PWC; 1 + ... without).
// While the RTL waits for memory its state cannot change (its inputs are
// held), so without a VCD those edges are counted but not evaluated: the
// cycle count is the same, the host time is not spent 100 times per PTE.
//
// Verilator fixes Levels and PwcEntries, so the build verilates a list of
// variants (CMake cache variable MMUSIM_RTL_PTW_VARIANTS) and make_rtl_ptw()
// picks the one mmu.mode and mmu.pwc_entries ask for. mmu.nonleaf_wp is an
// input pin, and so are the access's privilege, SUM and MXR (req_priv_i,
// req_sum_i, req_mxr_i, driven from the walk's AccessContext). Faulty variants (a define in ptw.sv) exist for the lockstep
// checker's own tests.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mmu/walker_model.h"

namespace mmusim {

class Config;

// The deliberate bugs of the faulty variants (ptw.sv's PTW_BUG_* defines).
enum class PtwBug : uint8_t {
  None,
  Align,      // PTW_BUG_ALIGN: a 2 MiB superpage's alignment is not checked
  LostDirty,  // PTW_BUG_LOST_DIRTY: a store finding A set and D clear writes nothing
  StalePwc,   // PTW_BUG_STALE_PWC: a flush leaves PWC entry 0 valid
  Sum,        // PTW_BUG_SUM: SUM is not latched: S-mode loads and stores on U pages always fault
};

struct RtlPtwParams {
  PagingMode mode = PagingMode::Sv39;
  unsigned pwc_entries = 16;
  bool nonleaf_wp = false;
  PtwBug bug = PtwBug::None;
  // If set: a VCD of every RTL signal is written to this path (an OutputFile:
  // moved into place by finish_vcd(true), removed otherwise).
  std::string vcd_path;
  uint64_t period_ps = 1000;  // one clock period in the VCD
};

class RtlPageTableWalker : public WalkerModel {
 public:
  // The first failure of the RTL's own assertions, "" if none.
  virtual const std::string& error() const = 0;
  // RTL clock cycles so far (reset and flushes included).
  virtual uint64_t cycles() const = 0;
  // Whether the last walk's PWC probe hit / missed (the rsp_pwc_* pins).
  virtual bool last_pwc_hit() const = 0;
  virtual bool last_pwc_miss() const = 0;
  // Valid PWC entries (the RTL's valid bits), for tests.
  virtual unsigned pwc_valid_entries() const = 0;
  // VCD timestamps follow this source of simulated cycles when it is ahead of
  // the RTL's own clock (as RtlTlb::set_cycle_source).
  virtual void set_cycle_source(std::function<uint64_t()> now) = 0;
  // Closes the VCD (if any): keep = true moves it into place, false deletes it.
  virtual void finish_vcd(bool keep) = 0;
};

// Whether this build has the RTL walker (-DMMUSIM_RTL=ON).
bool rtl_ptw_built();
// The verilated variants, e.g. "sv39 pwc 16, sv48 pwc 16" (faulty ones aside).
std::string rtl_ptw_variants();
// Builds the RTL walker for `p` over `mem`. Throws UserError if the build has
// no RTL or no variant for these parameters (the message lists the variants).
std::unique_ptr<RtlPageTableWalker> make_rtl_ptw(const RtlPtwParams& p, PteMemory& mem);
// "" if the configuration's ptw.impl can be built (always for "model"), else
// why not, naming the keys and the variants, for an exit-2 error up front.
std::string rtl_ptw_unavailable(const Config& cfg);
// The RTL walker's parameters from a configuration (mmu.*, cpu.freq_mhz).
RtlPtwParams rtl_ptw_params(const Config& cfg);

}  // namespace mmusim
