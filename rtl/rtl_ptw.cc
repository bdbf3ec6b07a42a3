// The adapter between WalkerModel and the verilated RTL walker; see rtl_ptw.h.
#include "rtl_ptw.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "common/config.h"
#include "common/error.h"

#ifdef MMUSIM_HAVE_RTL
#include "rtl_ptw_variants.h"  // generated: the verilated models
#include "verilated_driver.h"
#endif

namespace mmusim {

namespace {

const char* mode_name(PagingMode m) { return m == PagingMode::Sv39 ? "sv39" : "sv48"; }

const char* bug_name(PtwBug b) {
  switch (b) {
    case PtwBug::None: return "";
    case PtwBug::Align: return " (faulty: alignment)";
    case PtwBug::LostDirty: return " (faulty: lost dirty)";
    case PtwBug::StalePwc: return " (faulty: stale pwc)";
    case PtwBug::Sum: return " (faulty: sum)";
  }
  return "";
}

#ifdef MMUSIM_HAVE_RTL

constexpr uint64_t kVpnMask = (uint64_t{1} << 52) - 1;  // -GVpnWidth=52 (rtl/rtl.cmake)
constexpr uint64_t kPpnMask = (uint64_t{1} << 44) - 1;  // -GPpnWidth=44

template <class V>
class RtlPtwImpl final : public RtlPageTableWalker {
 public:
  RtlPtwImpl(const RtlPtwParams& p, PteMemory& mem)
      : rtl_("ptw", p.vcd_path, p.period_ps, "the RTL walker"), mem_(mem), mode_(p.mode), pwc_entries_(p.pwc_entries) {
    V& m = rtl_.model();
    m.clk_i = 0;
    m.rst_ni = 0;
    m.nonleaf_wp_i = p.nonleaf_wp;
    m.req_valid_i = m.pwc_flush_i = m.mem_req_ready_i = m.mem_rsp_valid_i = 0;
    m.req_priv_i = m.req_sum_i = m.req_mxr_i = 0;
    rtl_.eval();
    rtl_.cycle();
    rtl_.cycle();
    m.rst_ni = 1;
    rtl_.eval();
  }

  WalkResult walk(Ppn root, Vpn vpn, AccessType access, Asid asid, AccessContext ctx = {}) override {
    rtl_.sync_vcd_time();
    rtl_.make_current();
    V& m = rtl_.model();
    m.req_vpn_i = vpn & kVpnMask;
    m.req_root_i = root & kPpnMask;
    m.req_asid_i = static_cast<uint16_t>(asid);
    m.req_access_i = static_cast<uint8_t>(access);
    m.req_priv_i = ctx.priv == Privilege::Supervisor;
    m.req_sum_i = ctx.sum;
    m.req_mxr_i = ctx.mxr;
    m.req_valid_i = 1;
    // Idle: the RTL is ready, so this edge accepts the request.
    rtl_.cycle();
    m.req_valid_i = 0;
    Cycles edges = 1;
    bool outstanding = false;
    Cycles countdown = 0;
    uint64_t rdata = 0;
    for (;;) {
      m.mem_req_ready_i = 0;
      m.mem_rsp_valid_i = 0;
      rtl_.falling();
      if (m.rsp_valid_o) break;
      if (outstanding && countdown > 2 && !rtl_.vcd_on()) {
        // Waiting for memory, the RTL holds its state (its inputs do not
        // change until the answer): those edges are counted, not evaluated.
        const Cycles idle = countdown - 2;
        countdown -= idle;
        rtl_.skip_cycles(idle);
        edges += idle;
      }
      if (outstanding && --countdown == 0) {
        m.mem_rsp_valid_i = 1;
        m.mem_rsp_rdata_i = rdata;
        outstanding = false;
      } else if (!outstanding && m.mem_req_valid_o) {
        // Accepted at this edge; the memory's delay runs from here.
        m.mem_req_ready_i = 1;
        Cycles delay = 0;
        if (m.mem_req_we_o) {
          mem_.write_pte(m.mem_req_addr_o, m.mem_req_wdata_o, delay);
          rdata = 0;
        } else {
          rdata = mem_.read_pte(m.mem_req_addr_o, delay);
        }
        countdown = std::max<Cycles>(1, delay);
        outstanding = true;
      }
      rtl_.rising();
      ++edges;
    }
    WalkResult r;
    r.fault = static_cast<WalkFault>(m.rsp_fault_o);
    r.pte = Pte{m.rsp_pte_o};
    r.pte_addr = m.rsp_pte_addr_o;
    r.level = m.rsp_level_o;
    r.write_protected = m.rsp_wp_o;
    r.mem_reads = m.rsp_mem_reads_o;
    r.cycles = edges;
    pwc_hit_ = m.rsp_pwc_hit_o;
    pwc_miss_ = m.rsp_pwc_miss_o;
    ++stats_.walks;
    stats_.mem_reads += r.mem_reads;
    stats_.mem_writes += m.rsp_mem_write_o;
    stats_.cycles += r.cycles;
    stats_.pwc_hits += pwc_hit_;
    stats_.pwc_misses += pwc_miss_;
    // Back to idle: the edge that leaves the answer (not charged to the walk).
    rtl_.rising();
    note_assertions();
    return r;
  }

  void flush_pwc() override {
    rtl_.make_current();
    rtl_.model().pwc_flush_i = 1;
    rtl_.cycle();
    rtl_.model().pwc_flush_i = 0;
    note_assertions();
  }

  const WalkerStats& stats() const override { return stats_; }
  PagingMode mode() const override { return mode_; }
  const std::string& error() const override { return error_; }
  uint64_t cycles() const override { return rtl_.cycles(); }
  bool last_pwc_hit() const override { return pwc_hit_; }
  bool last_pwc_miss() const override { return pwc_miss_; }

  unsigned pwc_valid_entries() const override {
    if (pwc_entries_ == 0) return 0;
    const auto v = rtl_.model().rootp->ptw__DOT__pwc_valid_q;
    unsigned n = 0;
    for (unsigned i = 0; i < pwc_entries_; ++i) n += vl_bit(v, i);
    return n;
  }

  void set_cycle_source(std::function<uint64_t()> now) override { rtl_.set_cycle_source(std::move(now)); }
  void finish_vcd(bool keep) override { rtl_.finish_vcd(keep); }

 private:
  void note_assertions() {
    if (VL_UNLIKELY(rtl_.failed()) && error_.empty())
      error_ = "an assertion of the RTL walker failed (its message is on standard output)";
  }

  VerilatedDriver<V> rtl_;
  PteMemory& mem_;
  PagingMode mode_;
  unsigned pwc_entries_;
  bool pwc_hit_ = false, pwc_miss_ = false;
  WalkerStats stats_;
  std::string error_;
};

struct Variant {
  PagingMode mode;
  unsigned pwc_entries;
  PtwBug bug;
  std::unique_ptr<RtlPageTableWalker> (*make)(const RtlPtwParams&, PteMemory&);
};

template <class V>
std::unique_ptr<RtlPageTableWalker> make_variant(const RtlPtwParams& p, PteMemory& mem) {
  return std::make_unique<RtlPtwImpl<V>>(p, mem);
}

#define MMUSIM_RTL_PTW_ROW(cls, mode, pwc, bug) Variant{PagingMode::mode, pwc, PtwBug::bug, &make_variant<cls>},
const Variant kVariants[] = {MMUSIM_RTL_PTW_VARIANT_TABLE(MMUSIM_RTL_PTW_ROW)};
#undef MMUSIM_RTL_PTW_ROW

const Variant* find_variant(const RtlPtwParams& p) {
  for (const Variant& v : kVariants)
    if (v.mode == p.mode && v.pwc_entries == p.pwc_entries && v.bug == p.bug) return &v;
  return nullptr;
}

#endif  // MMUSIM_HAVE_RTL

std::string unavailable(const RtlPtwParams& p) {
  if (!rtl_ptw_built())
    return "this build has no RTL walker (it was configured with -DMMUSIM_RTL=OFF); use --ptw model";
#ifdef MMUSIM_HAVE_RTL
  if (find_variant(p)) return "";
#endif
  return fmt::format(
      "the RTL walker was not verilated for mmu.mode = {}, mmu.pwc_entries = {}{} "
      "(verilated: {}; add the variant to the CMake cache variable MMUSIM_RTL_PTW_VARIANTS)",
      mode_name(p.mode), p.pwc_entries, bug_name(p.bug), rtl_ptw_variants());
}

}  // namespace

bool rtl_ptw_built() {
#ifdef MMUSIM_HAVE_RTL
  return true;
#else
  return false;
#endif
}

std::string rtl_ptw_variants() {
  std::string out;
#ifdef MMUSIM_HAVE_RTL
  for (const Variant& v : kVariants)
    if (v.bug == PtwBug::None)
      out += fmt::format("{}{} pwc {}", out.empty() ? "" : ", ", mode_name(v.mode), v.pwc_entries);
#endif
  return out;
}

RtlPtwParams rtl_ptw_params(const Config& cfg) {
  RtlPtwParams p;
  p.mode = cfg.str("mmu.mode") == "sv48" ? PagingMode::Sv48 : PagingMode::Sv39;
  p.pwc_entries = unsigned(cfg.u64("mmu.pwc_entries"));
  p.nonleaf_wp = cfg.flag("mmu.nonleaf_wp");
  const uint64_t mhz = std::max<uint64_t>(1, cfg.u64("cpu.freq_mhz"));
  p.period_ps = std::max<uint64_t>(2, (1'000'000 + mhz / 2) / mhz);
  return p;
}

std::string rtl_ptw_unavailable(const Config& cfg) {
  const std::string& impl = cfg.str("ptw.impl");
  if (impl == "model") return "";
  const std::string why = unavailable(rtl_ptw_params(cfg));
  return why.empty() ? "" : fmt::format("ptw.impl = {}: {}", impl, why);
}

std::unique_ptr<RtlPageTableWalker> make_rtl_ptw(const RtlPtwParams& p, PteMemory& mem) {
  const std::string why = unavailable(p);
  if (!why.empty()) throw UserError(why);
#ifdef MMUSIM_HAVE_RTL
  return find_variant(p)->make(p, mem);
#else
  (void)mem;
  return nullptr;
#endif
}

}  // namespace mmusim
