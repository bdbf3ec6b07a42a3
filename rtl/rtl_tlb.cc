// The adapter between TlbModel and the verilated RTL TLB; see rtl_tlb.h.
#include "rtl_tlb.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "common/config.h"
#include "common/error.h"

#ifdef MMUSIM_HAVE_RTL
#include "rtl_tlb_variants.h"  // generated: the verilated models
#include "verilated_driver.h"
#endif

namespace mmusim {

namespace {

const char* policy_name(ReplacementPolicy p) {
  switch (p) {
    case ReplacementPolicy::Lru: return "lru";
    case ReplacementPolicy::Plru: return "plru";
    case ReplacementPolicy::Fifo: return "fifo";
    case ReplacementPolicy::Random: return "random";
  }
  return "?";
}

#ifdef MMUSIM_HAVE_RTL

// Widths the build verilates the RTL with (rtl/rtl.cmake: -GVpnWidth=52 ...).
constexpr unsigned kVpnWidth = 52, kPpnWidth = 44, kAsidWidth = 16;
constexpr uint64_t mask(unsigned bits) { return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

// tlb_pkg::inv_e
enum : uint8_t { kInvAll = 0, kInvAsid = 1, kInvVpn = 2, kInvVpnAsid = 3 };

template <class V>
class RtlTlbImpl final : public RtlTlb {
 public:
  RtlTlbImpl(const RtlTlbParams& p)
      : rtl_("tlb", p.vcd_path, p.period_ps, "the RTL TLB"),
        entries_(p.entries),
        ways_(p.ways),
        sets_(p.entries / p.ways),
        policy_(p.policy) {
    V& m = rtl_.model();
    m.clk_i = 0;
    m.rst_ni = 0;
    m.lookup_valid_i = m.fill_valid_i = m.inv_valid_i = 0;
    rtl_.eval();
    rtl_.cycle();
    rtl_.cycle();
    m.rst_ni = 1;
    rtl_.eval();
    // Measure the lookup latency on the empty TLB (a miss changes no state).
    m.lookup_vpn_i = 0;
    m.lookup_asid_i = 0;
    latency_ = issue(m.lookup_valid_i, m.lookup_ready_o, m.rsp_valid_o);
  }

  const TlbEntry* lookup(Vpn vpn, Asid asid) override {
    V& m = rtl_.model();
    m.lookup_vpn_i = vpn & mask(kVpnWidth);
    m.lookup_asid_i = static_cast<uint16_t>(asid & mask(kAsidWidth));
    issue(m.lookup_valid_i, m.lookup_ready_o, m.rsp_valid_o);
    hit_set_ = m.rsp_set_o;
    hit_way_ = m.rsp_way_o;
    if (!m.rsp_hit_o) return nullptr;
    out_.vpn = m.rsp_vpn_o;
    out_.ppn = m.rsp_ppn_o;
    out_.asid = m.rsp_asid_o;
    out_.flags = m.rsp_flags_o;
    out_.level = m.rsp_level_o;
    return &out_;
  }

  bool fill(const TlbEntry& e) override {
    V& m = rtl_.model();
    m.fill_vpn_i = e.vpn & mask(kVpnWidth);
    m.fill_ppn_i = e.ppn & mask(kPpnWidth);
    m.fill_asid_i = static_cast<uint16_t>(e.asid & mask(kAsidWidth));
    m.fill_flags_i = e.flags;
    m.fill_level_i = e.level & 3;
    issue(m.fill_valid_i, m.fill_ready_o, m.fill_done_o);
    fill_.set = m.fill_set_o;
    fill_.way = m.fill_way_o;
    fill_.update = m.fill_update_o;
    fill_.evict = m.fill_evict_o;
    return fill_.evict;
  }

  void invalidate_all() override { invalidate(kInvAll, 0, 0); }
  void invalidate_asid(Asid asid) override { invalidate(kInvAsid, 0, asid); }
  void invalidate_page(Vpn vpn) override { invalidate(kInvVpn, vpn, 0); }
  void invalidate_page_asid(Vpn vpn, Asid asid) override { invalidate(kInvVpnAsid, vpn, asid); }

  Cycles latency() const override { return latency_; }
  unsigned entries() const override { return entries_; }
  unsigned sets() const override { return sets_; }
  unsigned ways() const override { return ways_; }
  ReplacementPolicy policy() const override { return policy_; }
  const RtlFill& last_fill() const override { return fill_; }
  unsigned last_hit_set() const override { return hit_set_; }
  unsigned last_hit_way() const override { return hit_way_; }
  uint64_t cycles() const override { return rtl_.cycles(); }
  const std::string& error() const override { return error_; }

  bool slot_valid(unsigned set, unsigned way) const override {
    if (set >= sets_ || way >= ways_) return false;
    return vl_bit(rtl_.model().rootp->tlb__DOT__valid_q[set], way);
  }

  const TlbEntry* slot(unsigned set, unsigned way) override {
    if (!slot_valid(set, way)) return nullptr;
    const auto* r = rtl_.model().rootp;
    slot_.vpn = r->tlb__DOT__vpn_q[set][way];
    slot_.ppn = r->tlb__DOT__ppn_q[set][way];
    slot_.asid = r->tlb__DOT__asid_q[set][way];
    // perm_q holds the flags without G (bit 5), which is in global_q.
    const unsigned perm = r->tlb__DOT__perm_q[set][way];
    slot_.flags = static_cast<uint8_t>(((perm >> 5) << 6) | (unsigned{r->tlb__DOT__global_q[set][way]} << 5) |
                                       (perm & 0x1f));
    slot_.level = r->tlb__DOT__level_q[set][way];
    return &slot_;
  }

  void set_cycle_source(std::function<uint64_t()> now) override { rtl_.set_cycle_source(std::move(now)); }
  void finish_vcd(bool keep) override { rtl_.finish_vcd(keep); }

 private:
  void invalidate(uint8_t kind, Vpn vpn, Asid asid) {
    V& m = rtl_.model();
    m.inv_kind_i = kind;
    m.inv_vpn_i = vpn & mask(kVpnWidth);
    m.inv_asid_i = static_cast<uint16_t>(asid & mask(kAsidWidth));
    issue(m.inv_valid_i, m.inv_ready_o, m.inv_done_o);
  }

  // Raises `valid`, clocks until the RTL accepts the request (ready at the
  // rising edge), drops valid, and clocks on until `done` shows the registered
  // answer. Returns the edges from acceptance to the answer (the latency).
  unsigned issue(uint8_t& valid, const uint8_t& ready, const uint8_t& done) {
    rtl_.sync_vcd_time();
    rtl_.make_current();
    valid = 1;
    for (;;) {
      rtl_.falling();
      const bool accepted = ready;
      rtl_.rising();
      if (accepted) break;
    }
    valid = 0;
    unsigned edges = 1;
    while (!done) {
      rtl_.cycle();
      ++edges;
    }
    if (VL_UNLIKELY(rtl_.failed()) && error_.empty())
      error_ = "an assertion of the RTL TLB failed (its message is on standard output)";
    return edges;
  }

  VerilatedDriver<V> rtl_;
  unsigned entries_, ways_, sets_;
  ReplacementPolicy policy_;
  unsigned latency_ = 0;
  TlbEntry out_, slot_;
  RtlFill fill_;
  unsigned hit_set_ = 0, hit_way_ = 0;
  std::string error_;
};

struct Variant {
  unsigned entries, ways;
  ReplacementPolicy policy;
  std::unique_ptr<RtlTlb> (*make)(const RtlTlbParams&);
};

template <class V>
std::unique_ptr<RtlTlb> make_variant(const RtlTlbParams& p) {
  return std::make_unique<RtlTlbImpl<V>>(p);
}

#define MMUSIM_RTL_VARIANT_ROW(cls, e, w, pol) Variant{e, w, ReplacementPolicy::pol, &make_variant<cls>},
const Variant kVariants[] = {MMUSIM_RTL_TLB_VARIANT_TABLE(MMUSIM_RTL_VARIANT_ROW)};
#undef MMUSIM_RTL_VARIANT_ROW

const Variant* find_variant(const RtlTlbParams& p) {
  for (const Variant& v : kVariants)
    if (v.entries == p.entries && v.ways == p.ways && v.policy == p.policy) return &v;
  return nullptr;
}

#endif  // MMUSIM_HAVE_RTL

}  // namespace

bool rtl_tlb_built() {
#ifdef MMUSIM_HAVE_RTL
  return true;
#else
  return false;
#endif
}

std::string rtl_tlb_variants() {
  std::string out;
#ifdef MMUSIM_HAVE_RTL
  for (const Variant& v : kVariants)
    out += fmt::format("{}{}x{} {}", out.empty() ? "" : ", ", v.entries, v.ways, policy_name(v.policy));
#endif
  return out;
}

RtlTlbParams rtl_l1_params(const Config& cfg) {
  RtlTlbParams p;
  p.entries = unsigned(cfg.u64("tlb.l1.entries"));
  p.ways = unsigned(cfg.u64("tlb.l1.ways"));
  p.policy = parse_policy(cfg.str("tlb.l1.policy"));
  const uint64_t mhz = std::max<uint64_t>(1, cfg.u64("cpu.freq_mhz"));
  p.period_ps = std::max<uint64_t>(2, (1'000'000 + mhz / 2) / mhz);
  return p;
}

namespace {
std::string unavailable(const RtlTlbParams& p) {
  if (!rtl_tlb_built())
    return "this build has no RTL TLB (it was configured with -DMMUSIM_RTL=OFF); use --tlb model";
#ifdef MMUSIM_HAVE_RTL
  if (find_variant(p)) return "";
#endif
  return fmt::format(
      "the RTL TLB was not verilated for tlb.l1.entries = {}, tlb.l1.ways = {}, tlb.l1.policy = {} "
      "(verilated: {}; add the variant to the CMake cache variable MMUSIM_RTL_TLB_VARIANTS)",
      p.entries, p.ways, policy_name(p.policy), rtl_tlb_variants());
}
}  // namespace

std::string rtl_tlb_unavailable(const Config& cfg) {
  const std::string& impl = cfg.str("tlb.impl");
  if (impl == "model") return "";
  const std::string why = unavailable(rtl_l1_params(cfg));
  return why.empty() ? "" : fmt::format("tlb.impl = {}: {}", impl, why);
}

std::unique_ptr<RtlTlb> make_rtl_tlb(const RtlTlbParams& p) {
  const std::string why = unavailable(p);
  if (!why.empty()) throw UserError(why);
#ifdef MMUSIM_HAVE_RTL
  return find_variant(p)->make(p);
#else
  return nullptr;
#endif
}

}  // namespace mmusim
