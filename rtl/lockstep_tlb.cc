// The lockstep pair; see lockstep_tlb.h.
#include "lockstep_tlb.h"

#include <fmt/format.h>

#include <utility>

#include "mmu/tlb.h"
#include "rtl_tlb.h"

namespace mmusim {

namespace {

std::string flags_text(uint8_t f) {
  // PTE bit order, most significant first: D A G U X W R V.
  static const char kLetters[] = "DAGUXWRV";
  std::string s;
  for (int bit = 7; bit >= 0; --bit) s += (f >> bit) & 1 ? kLetters[7 - bit] : '-';
  return s;
}

bool same_entry(const TlbEntry& a, const TlbEntry& b) {
  return a.vpn == b.vpn && a.ppn == b.ppn && a.asid == b.asid && a.flags == b.flags && a.level == b.level;
}

std::string answer(const TlbEntry* e) { return e ? "hit " + describe(*e) : std::string("miss"); }

}  // namespace

std::string describe(const TlbEntry& e) {
  return fmt::format("vpn {:#x} ppn {:#x} asid {} flags {:#04x} ({}) level {}", e.vpn, e.ppn, e.asid,
                     e.flags, flags_text(e.flags), e.level);
}

LockstepTlb::LockstepTlb(std::unique_ptr<TlbModel> ref, std::unique_ptr<TlbModel> dut)
    : ref_(std::move(ref)), dut_(std::move(dut)) {
  ref_tlb_ = dynamic_cast<Tlb*>(ref_.get());
  dut_rtl_ = dynamic_cast<RtlTlb*>(dut_.get());
}

LockstepTlb::~LockstepTlb() = default;

std::unique_ptr<TlbModel> LockstepTlb::exchange_dut(std::unique_ptr<TlbModel> dut) {
  std::swap(dut, dut_);
  dut_rtl_ = dynamic_cast<RtlTlb*>(dut_.get());
  return dut;
}

Cycles LockstepTlb::latency() const { return ref_->latency(); }
unsigned LockstepTlb::entries() const { return ref_->entries(); }

void LockstepTlb::diverge(const std::string& op, const std::string& ref_answer, const std::string& dut_answer) {
  ++divergences_;
  const std::string when = now_ ? fmt::format("cycle {}", now_()) : std::string("an unknown cycle");
  report_ = fmt::format(
      "lockstep divergence at {} (TLB operation {}, lookup {}):\n"
      "  operation: {}\n"
      "  C++ TLB:   {}\n"
      "  RTL TLB:   {}\n",
      when, ops_, lookups_, op, ref_answer, dut_answer);
  if (on_divergence_) on_divergence_(report_);
}

void LockstepTlb::check_rtl_assertions(const char* op_name) {
  if (dut_rtl_ && !dut_rtl_->error().empty()) diverge(op_name, "(no assertion)", dut_rtl_->error());
}

const TlbEntry* LockstepTlb::lookup(Vpn vpn, Asid asid) {
  ++ops_;
  ++lookups_;
  const TlbEntry* r = ref_->lookup(vpn, asid);
  const TlbEntry* d = dut_->lookup(vpn, asid);
  if (!checking()) return r;
  bool same = (r == nullptr) == (d == nullptr) && (!r || same_entry(*r, *d));
  unsigned ref_set = 0, ref_way = 0;
  if (same && r && ref_tlb_ && dut_rtl_) {
    // Where the reference hit: its slot pointers are stable.
    ref_set = ref_tlb_->set_of(vpn, r->level);
    ref_way = ref_tlb_->ways();
    for (unsigned w = 0; w < ref_tlb_->ways(); ++w)
      if (ref_tlb_->slot(ref_set, w) == r) ref_way = w;
    same = ref_set == dut_rtl_->last_hit_set() && ref_way == dut_rtl_->last_hit_way();
  }
  if (!same) {
    std::string ra = answer(r), da = answer(d);
    if (r && d && same_entry(*r, *d)) {
      ra += fmt::format(", set {} way {}", ref_set, ref_way);
      da += fmt::format(", set {} way {}", dut_rtl_->last_hit_set(), dut_rtl_->last_hit_way());
    }
    diverge(fmt::format("lookup vpn {:#x} asid {}", vpn, asid), ra, da);
  } else {
    check_rtl_assertions("lookup");
  }
  return r;
}

bool LockstepTlb::fill(const TlbEntry& e) {
  ++ops_;
  const bool evicted = ref_->fill(e);
  dut_->fill(e);
  if (!checking() || !ref_tlb_ || !dut_rtl_) return evicted;
  // The slot the reference wrote holds exactly e.
  const unsigned set = ref_tlb_->set_of(e.vpn, e.level);
  unsigned way = ref_tlb_->ways();
  for (unsigned w = 0; w < ref_tlb_->ways() && way == ref_tlb_->ways(); ++w) {
    const TlbEntry* s = ref_tlb_->slot(set, w);
    if (s && same_entry(*s, e)) way = w;
  }
  const RtlFill& f = dut_rtl_->last_fill();
  const TlbEntry* stored = dut_rtl_->slot(f.set, f.way);
  if (f.set != set || f.way != way || !stored || !same_entry(*stored, e)) {
    diverge(fmt::format("fill {}", describe(e)), fmt::format("written to set {} way {}", set, way),
            fmt::format("written to set {} way {}{}: {}", f.set, f.way,
                        f.update ? " (in place)" : f.evict ? " (evicting)" : "",
                        stored ? describe(*stored) : std::string("slot invalid")));
  } else {
    check_rtl_assertions("fill");
  }
  return evicted;
}

std::string LockstepTlb::invalidation_text(InvKind kind, Vpn vpn, Asid asid) {
  switch (kind) {
    case InvKind::All: return "invalidate all";
    case InvKind::Asid: return fmt::format("invalidate asid {}", asid);
    case InvKind::Page: return fmt::format("invalidate page vpn {:#x}", vpn);
    case InvKind::PageAsid: return fmt::format("invalidate page vpn {:#x} asid {}", vpn, asid);
  }
  return "invalidate";
}

void LockstepTlb::check_valid_bits(InvKind kind, Vpn vpn, Asid asid) {
  if (!checking() || !ref_tlb_ || !dut_rtl_) return;
  for (unsigned s = 0; s < ref_tlb_->sets(); ++s) {
    for (unsigned w = 0; w < ref_tlb_->ways(); ++w) {
      const TlbEntry* r = ref_tlb_->slot(s, w);
      if ((r != nullptr) != dut_rtl_->slot_valid(s, w)) {
        const TlbEntry* d = dut_rtl_->slot(s, w);
        diverge(invalidation_text(kind, vpn, asid),
                fmt::format("afterwards set {} way {}: {}", s, w, r ? describe(*r) : "invalid"),
                fmt::format("afterwards set {} way {}: {}", s, w, d ? describe(*d) : "invalid"));
        return;
      }
    }
  }
  if (!dut_rtl_->error().empty()) diverge(invalidation_text(kind, vpn, asid), "(no assertion)", dut_rtl_->error());
}

void LockstepTlb::invalidate_all() {
  ++ops_;
  ref_->invalidate_all();
  dut_->invalidate_all();
  check_valid_bits(InvKind::All, 0, 0);
}

void LockstepTlb::invalidate_asid(Asid asid) {
  ++ops_;
  ref_->invalidate_asid(asid);
  dut_->invalidate_asid(asid);
  check_valid_bits(InvKind::Asid, 0, asid);
}

void LockstepTlb::invalidate_page(Vpn vpn) {
  ++ops_;
  ref_->invalidate_page(vpn);
  dut_->invalidate_page(vpn);
  check_valid_bits(InvKind::Page, vpn, 0);
}

void LockstepTlb::invalidate_page_asid(Vpn vpn, Asid asid) {
  ++ops_;
  ref_->invalidate_page_asid(vpn, asid);
  dut_->invalidate_page_asid(vpn, asid);
  check_valid_bits(InvKind::PageAsid, vpn, asid);
}

}  // namespace mmusim
