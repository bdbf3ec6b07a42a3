// The lockstep pair; see lockstep_tlb.h.
#include "lockstep_tlb.h"

#include <fmt/format.h>

#include <stdexcept>
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

LockstepCheck parse_lockstep_check(const std::string& name) {
  if (name == "inline") return LockstepCheck::Inline;
  if (name == "thread") return LockstepCheck::Thread;
  throw std::invalid_argument("unknown lockstep check '" + name + "' (expected thread or inline)");
}

LockstepTlb::LockstepTlb(std::unique_ptr<TlbModel> ref, std::unique_ptr<TlbModel> dut, LockstepCheck mode)
    : ref_(std::move(ref)), dut_(std::move(dut)) {
  ref_tlb_ = dynamic_cast<Tlb*>(ref_.get());
  dut_rtl_ = dynamic_cast<RtlTlb*>(dut_.get());
  // The DUT's VCD follows the cycle of the operation it is doing, which in a
  // worker is behind the simulation's.
  if (dut_rtl_) dut_rtl_->set_cycle_source([this] { return dut_cycle_; });
  if (mode == LockstepCheck::Thread)
    checker_ = std::make_unique<Checker>([this](const Op* ops, size_t n) {
      for (size_t i = 0; i < n; ++i) check(ops[i]);
    });
}

// The worker goes first (checker_ is the last member), before what it uses.
LockstepTlb::~LockstepTlb() = default;

std::unique_ptr<TlbModel> LockstepTlb::exchange_dut(std::unique_ptr<TlbModel> dut) {
  drain();
  std::swap(dut, dut_);
  dut_rtl_ = dynamic_cast<RtlTlb*>(dut_.get());
  if (dut_rtl_) dut_rtl_->set_cycle_source([this] { return dut_cycle_; });
  return dut;
}

Cycles LockstepTlb::latency() const { return ref_->latency(); }
unsigned LockstepTlb::entries() const { return ref_->entries(); }

void LockstepTlb::drain() {
  if (checker_) checker_->drain();
  notify_divergence();
}

void LockstepTlb::diverge(uint64_t cycle, uint64_t op, uint64_t lookup, const std::string& what,
                          const std::string& ref_answer, const std::string& dut_answer) {
  ++divergences_;
  const std::string when = cycle != kUnknownCycle ? fmt::format("cycle {}", cycle) : std::string("an unknown cycle");
  report_ = fmt::format(
      "lockstep divergence at {} (TLB operation {}, lookup {}):\n"
      "  operation: {}\n"
      "  C++ TLB:   {}\n"
      "  RTL TLB:   {}\n",
      when, op, lookup, what, ref_answer, dut_answer);
  found_.store(true, std::memory_order_release);
}

void LockstepTlb::check_rtl_assertions(const Op& op, const char* op_name) {
  if (dut_rtl_ && !dut_rtl_->error().empty())
    diverge(op.cycle, op.op, checked_lookups_, op_name, "(no assertion)", dut_rtl_->error());
}

void LockstepTlb::submit(const Op& op) {
  if (checker_) {
    checker_->push(op);
  } else {
    check(op);
  }
  notify_divergence();
}

void LockstepTlb::check(const Op& op) {
  set_dut_cycle(op.cycle);
  if (op.kind == Op::Kind::Lookup) {
    ++checked_lookups_;
    check_lookup(op);
  } else {
    check_fill(op);
  }
}

const TlbEntry* LockstepTlb::lookup(Vpn vpn, Asid asid) {
  Op op;
  op.kind = Op::Kind::Lookup;
  op.op = ++ops_;
  ++lookups_;
  op.cycle = cycle_now();
  op.vpn = vpn;
  op.asid = asid;
  const TlbEntry* r = ref_->lookup(vpn, asid);
  if (r) {
    op.ref_hit = true;
    op.entry = *r;
    if (deep()) {
      // Where the reference hit: its slot pointers are stable.
      op.ref_set = ref_tlb_->set_of(vpn, r->level);
      op.ref_way = ref_tlb_->ways();
      for (unsigned w = 0; w < ref_tlb_->ways(); ++w)
        if (ref_tlb_->slot(op.ref_set, w) == r) op.ref_way = w;
    }
  }
  submit(op);
  return r;
}

void LockstepTlb::check_lookup(const Op& op) {
  const TlbEntry* d = dut_->lookup(op.vpn, op.asid);
  if (!checking()) return;
  const TlbEntry* r = op.ref_hit ? &op.entry : nullptr;
  bool same = (r == nullptr) == (d == nullptr) && (!r || same_entry(*r, *d));
  if (same && r && deep()) same = op.ref_set == dut_rtl_->last_hit_set() && op.ref_way == dut_rtl_->last_hit_way();
  if (!same) {
    std::string ra = answer(r), da = answer(d);
    if (r && d && same_entry(*r, *d)) {
      ra += fmt::format(", set {} way {}", op.ref_set, op.ref_way);
      da += fmt::format(", set {} way {}", dut_rtl_->last_hit_set(), dut_rtl_->last_hit_way());
    }
    diverge(op.cycle, op.op, checked_lookups_, fmt::format("lookup vpn {:#x} asid {}", op.vpn, op.asid), ra, da);
  } else {
    check_rtl_assertions(op, "lookup");
  }
}

bool LockstepTlb::fill(const TlbEntry& e) {
  Op op;
  op.kind = Op::Kind::Fill;
  op.op = ++ops_;
  op.cycle = cycle_now();
  op.entry = e;
  const bool evicted = ref_->fill(e);
  if (deep()) {
    // The slot the reference wrote holds exactly e.
    op.ref_set = ref_tlb_->set_of(e.vpn, e.level);
    op.ref_way = ref_tlb_->ways();
    for (unsigned w = 0; w < ref_tlb_->ways() && op.ref_way == ref_tlb_->ways(); ++w) {
      const TlbEntry* s = ref_tlb_->slot(op.ref_set, w);
      if (s && same_entry(*s, e)) op.ref_way = w;
    }
  }
  submit(op);
  return evicted;
}

void LockstepTlb::check_fill(const Op& op) {
  const TlbEntry& e = op.entry;
  dut_->fill(e);
  if (!checking() || !deep()) return;
  const RtlFill& f = dut_rtl_->last_fill();
  const TlbEntry* stored = dut_rtl_->slot(f.set, f.way);
  if (f.set != op.ref_set || f.way != op.ref_way || !stored || !same_entry(*stored, e)) {
    diverge(op.cycle, op.op, checked_lookups_, fmt::format("fill {}", describe(e)),
            fmt::format("written to set {} way {}", op.ref_set, op.ref_way),
            fmt::format("written to set {} way {}{}: {}", f.set, f.way,
                        f.update ? " (in place)" : f.evict ? " (evicting)" : "",
                        stored ? describe(*stored) : std::string("slot invalid")));
  } else {
    check_rtl_assertions(op, "fill");
  }
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

// Invalidations compare every slot's valid bit, so they run inline: the worker
// is drained first and both TLBs are at the same operation.
void LockstepTlb::invalidate(InvKind kind, Vpn vpn, Asid asid) {
  drain();
  ++ops_;
  const uint64_t cycle = cycle_now();
  set_dut_cycle(cycle);
  switch (kind) {
    case InvKind::All:
      ref_->invalidate_all();
      dut_->invalidate_all();
      break;
    case InvKind::Asid:
      ref_->invalidate_asid(asid);
      dut_->invalidate_asid(asid);
      break;
    case InvKind::Page:
      ref_->invalidate_page(vpn);
      dut_->invalidate_page(vpn);
      break;
    case InvKind::PageAsid:
      ref_->invalidate_page_asid(vpn, asid);
      dut_->invalidate_page_asid(vpn, asid);
      break;
  }
  check_valid_bits(cycle, kind, vpn, asid);
  notify_divergence();
}

void LockstepTlb::check_valid_bits(uint64_t cycle, InvKind kind, Vpn vpn, Asid asid) {
  if (!checking() || !deep()) return;
  for (unsigned s = 0; s < ref_tlb_->sets(); ++s) {
    for (unsigned w = 0; w < ref_tlb_->ways(); ++w) {
      const TlbEntry* r = ref_tlb_->slot(s, w);
      if ((r != nullptr) != dut_rtl_->slot_valid(s, w)) {
        const TlbEntry* d = dut_rtl_->slot(s, w);
        diverge(cycle, ops_, lookups_, invalidation_text(kind, vpn, asid),
                fmt::format("afterwards set {} way {}: {}", s, w, r ? describe(*r) : "invalid"),
                fmt::format("afterwards set {} way {}: {}", s, w, d ? describe(*d) : "invalid"));
        return;
      }
    }
  }
  if (!dut_rtl_->error().empty())
    diverge(cycle, ops_, lookups_, invalidation_text(kind, vpn, asid), "(no assertion)", dut_rtl_->error());
}

void LockstepTlb::invalidate_all() { invalidate(InvKind::All, 0, 0); }
void LockstepTlb::invalidate_asid(Asid asid) { invalidate(InvKind::Asid, 0, asid); }
void LockstepTlb::invalidate_page(Vpn vpn) { invalidate(InvKind::Page, vpn, 0); }
void LockstepTlb::invalidate_page_asid(Vpn vpn, Asid asid) { invalidate(InvKind::PageAsid, vpn, asid); }

}  // namespace mmusim
