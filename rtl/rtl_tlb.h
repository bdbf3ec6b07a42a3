// The verilated RTL TLB (rtl/tlb.sv) behind the TlbModel interface.
//
// The adapter drives the RTL's pins and clocks it from C++ (no SystemC clock):
// each operation sets the request, asserts valid and toggles the clock until the
// RTL accepts it, then reads the registered response. The RTL only sees clock
// edges while the MMU uses it, so its cycle count is its own (cycles()).
//
// Verilator fixes parameters when it translates the RTL, so the build verilates
// a list of variants (entries x ways x policy; CMake cache variable
// MMUSIM_RTL_TLB_VARIANTS) and make_rtl_tlb() picks the one the configuration
// asks for. The RTL implements the lru, plru and fifo policies.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mmu/tlb.h"
#include "mmu/tlb_model.h"

namespace mmusim {

class Config;

struct RtlTlbParams {
  unsigned entries = 64;
  unsigned ways = 4;
  ReplacementPolicy policy = ReplacementPolicy::Lru;
  // If set: a VCD of every RTL signal is written to this path (through an
  // OutputFile: moved into place by finish_vcd(true), removed otherwise).
  std::string vcd_path;
  // VCD time: one clock period in picoseconds (the CPU clock's); see set_cycle_source.
  uint64_t period_ps = 1000;
};

// Where the RTL put the last fill (its fill_* response pins).
struct RtlFill {
  unsigned set = 0, way = 0;
  bool update = false;  // overwrote an entry of the same page and ASID
  bool evict = false;   // evicted a valid entry of another page
};

class RtlTlb : public TlbModel {
 public:
  // latency() is the RTL's own lookup latency: the clock edges from the one that
  // accepts a lookup to the one after which its answer is valid, measured once
  // at construction. That is what the MMU charges for an L1 lookup with --tlb rtl.
  virtual unsigned sets() const = 0;
  virtual unsigned ways() const = 0;
  virtual ReplacementPolicy policy() const = 0;
  virtual const RtlFill& last_fill() const = 0;
  // The set and way of the last lookup's hit (the rsp_set_o / rsp_way_o pins).
  virtual unsigned last_hit_set() const = 0;
  virtual unsigned last_hit_way() const = 0;
  // Whether a slot holds a valid entry (the RTL's valid bits).
  virtual bool slot_valid(unsigned set, unsigned way) const = 0;
  // The entry in a slot, read from the RTL's registers (nullptr if invalid or
  // out of range). Valid until the next call. For tests and the lockstep checker.
  virtual const TlbEntry* slot(unsigned set, unsigned way) = 0;
  // The first failure of the RTL's own assertions, "" if none. (The assertion's
  // message is printed on standard output when it fires; the run goes on.)
  virtual const std::string& error() const = 0;
  // RTL clock cycles so far (reset included).
  virtual uint64_t cycles() const = 0;
  // VCD timestamps follow this source of simulated cycles (e.g. the CPU's time)
  // when it is ahead of the RTL's own clock; without it the VCD's time is the
  // RTL's cycle count. Each RTL clock edge takes at least half a period.
  virtual void set_cycle_source(std::function<uint64_t()> now) = 0;
  // Closes the VCD (if any): keep = true moves it into place, false deletes it.
  virtual void finish_vcd(bool keep) = 0;
};

// Whether this build has the RTL TLB (-DMMUSIM_RTL=ON).
bool rtl_tlb_built();
// The verilated variants, e.g. "64x4 lru, 64x4 plru, 32x32 lru".
std::string rtl_tlb_variants();
// Builds the RTL TLB for `p`. Throws UserError if the build has no RTL or no
// variant for these parameters (the message lists the variants).
std::unique_ptr<RtlTlb> make_rtl_tlb(const RtlTlbParams& p);
// "" if the configuration's tlb.impl can be built (always for "model"), else a
// message saying why not, naming the keys, for an exit-2 error up front.
std::string rtl_tlb_unavailable(const Config& cfg);
// The RTL parameters of the L1 TLB of a configuration (tlb.l1.*).
RtlTlbParams rtl_l1_params(const Config& cfg);

}  // namespace mmusim
