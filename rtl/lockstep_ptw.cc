// The lockstep pair of walkers; see lockstep_ptw.h.
#include "lockstep_ptw.h"

#include <fmt/format.h>

#include <utility>

#include "rtl_ptw.h"

namespace mmusim {

// The reference's view: the real memory, every access recorded.
class LockstepPageTableWalker::RefView final : public PteMemory {
 public:
  RefView(PteMemory& mem, std::vector<Access>& reads, std::vector<Access>& writes)
      : mem_(mem), reads_(reads), writes_(writes) {}
  uint64_t read_pte(PAddr pa, Cycles& delay) override {
    Cycles d = 0;
    const uint64_t v = mem_.read_pte(pa, d);
    delay += d;
    reads_.push_back({pa, v, d});
    return v;
  }
  void write_pte(PAddr pa, uint64_t value, Cycles& delay) override {
    Cycles d = 0;
    mem_.write_pte(pa, value, d);
    delay += d;
    writes_.push_back({pa, value, d});
  }
  uint64_t peek_pte(PAddr pa) override { return mem_.peek_pte(pa); }

 private:
  PteMemory& mem_;
  std::vector<Access>& reads_;
  std::vector<Access>& writes_;
};

// The DUT's view: memory as it was before the reference's walk; writes recorded only.
class LockstepPageTableWalker::DutView final : public PteMemory {
 public:
  DutView(PteMemory& mem, const std::vector<Access>& ref_reads, const std::vector<Access>& ref_writes,
          std::vector<Access>& reads, std::vector<Access>& writes)
      : mem_(mem), ref_reads_(ref_reads), ref_writes_(ref_writes), reads_(reads), writes_(writes) {}
  uint64_t read_pte(PAddr pa, Cycles& delay) override {
    const size_t i = reads_.size();
    Access a{pa, 0, 1};
    if (i < ref_reads_.size() && ref_reads_[i].addr == pa) {
      a = ref_reads_[i];
    } else {
      a.value = peek_pte(pa);
      if (i < ref_reads_.size()) a.delay = ref_reads_[i].delay;
    }
    delay += a.delay;
    reads_.push_back(a);
    return a.value;
  }
  void write_pte(PAddr pa, uint64_t value, Cycles& delay) override {
    const Cycles d = ref_writes_.empty() ? 1 : ref_writes_.front().delay;
    delay += d;
    writes_.push_back({pa, value, d});
  }
  uint64_t peek_pte(PAddr pa) override {
    // Undo the reference's writes of this walk: what it read there came before them.
    for (const Access& w : ref_writes_)
      if (w.addr == pa)
        for (const Access& r : ref_reads_)
          if (r.addr == pa) return r.value;
    return mem_.peek_pte(pa);
  }

 private:
  PteMemory& mem_;
  const std::vector<Access>& ref_reads_;
  const std::vector<Access>& ref_writes_;
  std::vector<Access>& reads_;
  std::vector<Access>& writes_;
};

namespace {

const char* access_name(AccessType a) {
  switch (a) {
    case AccessType::Load: return "load";
    case AccessType::Store: return "store";
    case AccessType::Fetch: return "fetch";
  }
  return "?";
}

const char* pwc_text(uint64_t hits, uint64_t misses) {
  if (hits) return "pwc hit";
  if (misses) return "pwc miss";
  return "no pwc";
}

std::string answer(const WalkResult& r, const std::vector<LockstepPageTableWalker::Access>& reads,
                   const std::vector<LockstepPageTableWalker::Access>& writes, const char* pwc) {
  std::string s = fmt::format("fault {}, pte {:#x} at {:#x} level {}, write_protected {}, {} reads [",
                              to_string(r.fault), r.pte.raw, r.pte_addr, r.level, r.write_protected ? 1 : 0,
                              r.mem_reads);
  for (size_t i = 0; i < reads.size(); ++i) s += fmt::format("{}{:#x}", i ? " " : "", reads[i].addr);
  s += "], writes [";
  for (size_t i = 0; i < writes.size(); ++i)
    s += fmt::format("{}{:#x} = {:#x}", i ? " " : "", writes[i].addr, writes[i].value);
  return s + "], " + pwc;
}

bool same_addrs(const std::vector<LockstepPageTableWalker::Access>& a,
                const std::vector<LockstepPageTableWalker::Access>& b, bool values) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].addr != b[i].addr || (values && a[i].value != b[i].value)) return false;
  return true;
}

}  // namespace

LockstepPageTableWalker::LockstepPageTableWalker(PteMemory& mem, const Factory& make_ref, const Factory& make_dut)
    : mem_(mem) {
  for (auto* v : {&ref_reads_, &ref_writes_, &dut_reads_, &dut_writes_}) v->reserve(8);
  ref_view_ = std::make_unique<RefView>(mem_, ref_reads_, ref_writes_);
  dut_view_ = std::make_unique<DutView>(mem_, ref_reads_, ref_writes_, dut_reads_, dut_writes_);
  ref_ = make_ref(*ref_view_);
  dut_ = make_dut(*dut_view_);
}

LockstepPageTableWalker::~LockstepPageTableWalker() = default;

WalkerModel& LockstepPageTableWalker::replace_dut(const Factory& make_dut) {
  dut_ = make_dut(*dut_view_);
  return *dut_;
}

void LockstepPageTableWalker::diverge(const std::string& walk, const std::string& ref_answer,
                                      const std::string& dut_answer) {
  ++divergences_;
  const std::string when = now_ ? fmt::format("cycle {}", now_()) : std::string("an unknown cycle");
  report_ = fmt::format(
      "lockstep divergence at {} (walk {}, after {} PWC flushes):\n"
      "  walk:         {}\n"
      "  C++ walker:   {}\n"
      "  RTL walker:   {}\n",
      when, walks_, flushes_, walk, ref_answer, dut_answer);
  if (on_divergence_) on_divergence_(report_);
}

WalkResult LockstepPageTableWalker::walk(Ppn root, Vpn vpn, AccessType access, Asid asid, AccessContext ctx) {
  ++walks_;
  ref_reads_.clear();
  ref_writes_.clear();
  dut_reads_.clear();
  dut_writes_.clear();
  const WalkerStats ref_before = ref_->stats(), dut_before = dut_->stats();
  const WalkResult r = ref_->walk(root, vpn, access, asid, ctx);
  const WalkResult d = dut_->walk(root, vpn, access, asid, ctx);
  if (divergences_ != 0) return r;
  const WalkerStats &ra = ref_->stats(), &da = dut_->stats();
  const uint64_t ref_hit = ra.pwc_hits - ref_before.pwc_hits, ref_miss = ra.pwc_misses - ref_before.pwc_misses;
  const uint64_t dut_hit = da.pwc_hits - dut_before.pwc_hits, dut_miss = da.pwc_misses - dut_before.pwc_misses;
  const bool same = r.fault == d.fault && r.pte == d.pte && r.pte_addr == d.pte_addr && r.level == d.level &&
                    r.write_protected == d.write_protected && r.mem_reads == d.mem_reads &&
                    same_addrs(ref_reads_, dut_reads_, false) && same_addrs(ref_writes_, dut_writes_, true) &&
                    ref_hit == dut_hit && ref_miss == dut_miss;
  const auto* rtl = dynamic_cast<const RtlPageTableWalker*>(dut_.get());
  if (!same || (rtl && !rtl->error().empty())) {
    std::string dut_text = answer(d, dut_reads_, dut_writes_, pwc_text(dut_hit, dut_miss));
    if (same) dut_text = "the same answer, but " + rtl->error();
    diverge(fmt::format("vpn {:#x} asid {} root {:#x} {}, {}-mode, sum {}, mxr {}", vpn, asid, root,
                        access_name(access), ctx.priv == Privilege::Supervisor ? 'S' : 'U', ctx.sum ? 1 : 0,
                        ctx.mxr ? 1 : 0),
            answer(r, ref_reads_, ref_writes_, pwc_text(ref_hit, ref_miss)), dut_text);
  }
  return r;
}

void LockstepPageTableWalker::flush_pwc() {
  ++flushes_;
  ref_->flush_pwc();
  dut_->flush_pwc();
}

}  // namespace mmusim
