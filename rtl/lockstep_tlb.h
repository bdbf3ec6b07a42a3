// Two TLBs in lockstep: every lookup, fill and invalidation goes to both, and
// their answers are compared. The reference (the C++ Tlb) answers for the
// simulation; the device under test (the RTL TLB) is checked against it.
//
// What is compared:
//   lookup        hit or miss; on a hit the entry (VPN, PPN, ASID, flags =
//                 permissions, level = page size); when the reference is a Tlb
//                 and the DUT an RtlTlb, also the set and way that hit
//   fill          (Tlb vs RtlTlb) the set and way written, i.e. the in-place
//                 update / free way / victim choice, and the entry stored there
//   invalidation  (Tlb vs RtlTlb) the valid bit of every slot afterwards
//   every op      (RtlTlb) the RTL's own assertions
// The first divergence is recorded with a report (simulated cycle, operation,
// both answers) and the divergence callback is called; comparing stops there
// (later differences would only be its consequences) while both TLBs keep
// being driven, the reference still answering.
//
// Where the DUT runs (LockstepCheck):
//   Inline  on the caller's thread: the callback comes within the operation
//           that diverged.
//   Thread  on a worker thread (CheckerThread), at most checker_capacity()
//           operations behind: the reference's answer (and where it sits) is
//           captured with each lookup and fill, and the worker drives the DUT
//           and compares. Lookups and fills cost the simulation only the
//           reference and the capture, so the two run on two host cores. The
//           report is the same (the operation's own cycle and numbers); the
//           callback comes at a later operation of the caller, or at drain().
//           Invalidations are rare: the worker is drained and they run inline.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "checker_thread.h"
#include "mmu/tlb_model.h"

namespace mmusim {

class Tlb;
class RtlTlb;

enum class LockstepCheck : uint8_t { Inline, Thread };
// tlb.lockstep_check: "inline" or "thread".
LockstepCheck parse_lockstep_check(const std::string& name);  // throws std::invalid_argument

class LockstepTlb final : public TlbModel {
 public:
  LockstepTlb(std::unique_ptr<TlbModel> ref, std::unique_ptr<TlbModel> dut,
              LockstepCheck mode = LockstepCheck::Inline);
  ~LockstepTlb() override;

  const TlbEntry* lookup(Vpn vpn, Asid asid) override;
  bool fill(const TlbEntry& e) override;  // the reference's answer
  void invalidate_all() override;
  void invalidate_asid(Asid asid) override;
  void invalidate_page(Vpn vpn) override;
  void invalidate_page_asid(Vpn vpn, Asid asid) override;
  // The reference's timing: a lockstep run is cycle-identical to a model run.
  Cycles latency() const override;
  unsigned entries() const override;
  void visit(const std::function<void(const TlbEntry&)>& fn) const override { ref_->visit(fn); }

  // Waits until every operation so far has been compared (Thread; nothing to
  // wait for Inline), then calls the divergence callback if it is still due.
  void drain();
  // Whether a divergence has been found so far: cheap, without waiting (the
  // worker may still be behind). For polling during a run.
  bool divergence_seen() const { return found_.load(std::memory_order_acquire); }
  // These drain first, so they cover every operation so far.
  bool diverged() { return divergences() != 0; }
  // The first divergence, several lines, "" if none.
  const std::string& report() {
    drain();
    return report_;
  }
  uint64_t divergences() {  // 0 or 1: comparing stops at the first
    drain();
    return divergences_;
  }
  uint64_t lookups() const { return lookups_; }
  uint64_t operations() const { return ops_; }
  // How far behind the worker may be, in operations (0 Inline).
  size_t checker_capacity() const { return checker_ ? Checker::capacity() : 0; }

  // Where the simulated cycle of the report comes from (e.g. the CPU's time).
  void set_cycle_source(std::function<uint64_t()> now) { now_ = std::move(now); }
  // Called once, at the first divergence, with the report.
  void set_on_divergence(std::function<void(const std::string&)> f) { on_divergence_ = std::move(f); }

  TlbModel& ref() { return *ref_; }
  TlbModel& dut() {
    drain();
    return *dut_;
  }
  // Replaces the DUT, returning the old one (tests: wrap it in a faulty TLB).
  std::unique_ptr<TlbModel> exchange_dut(std::unique_ptr<TlbModel> dut);

 private:
  // A lookup or fill as the worker needs it: the request and the reference's
  // answer, taken when the reference ran. One cache line, which CheckerThread
  // writes around the cache.
  struct alignas(64) Op {
    enum class Kind : uint8_t { Lookup, Fill };
    TlbEntry entry;          // lookup: the reference's hit; fill: the entry filled
    Vpn vpn = 0;             // lookup
    uint64_t cycle = 0;      // for the report and the DUT's VCD
    uint64_t op = 0;         // operation number, for the report
    Asid asid = 0;           // lookup
    uint32_t ref_set = 0, ref_way = 0;  // where the reference hit or wrote (Tlb vs RtlTlb)
    Kind kind = Kind::Lookup;
    bool ref_hit = false;    // lookup: the reference hit
  };
  static_assert(sizeof(Op) == 64, "an operation is one cache line");
  using Checker = CheckerThread<Op>;

  bool checking() const { return divergences_ == 0; }
  bool deep() const { return ref_tlb_ && dut_rtl_; }
  // Hands the operation to the DUT and compares (the worker, or inline).
  void submit(const Op& op);
  void check(const Op& op);
  void check_lookup(const Op& op);
  void check_fill(const Op& op);
  // Calls the divergence callback once, on the caller's thread, when due.
  void notify_divergence() {
    if (!divergence_seen() || notified_) return;
    notified_ = true;
    if (on_divergence_) on_divergence_(report_);
  }
  uint64_t cycle_now() const { return now_ ? now_() : kUnknownCycle; }
  void set_dut_cycle(uint64_t cycle) { dut_cycle_ = cycle == kUnknownCycle ? 0 : cycle; }
  void diverge(uint64_t cycle, uint64_t op, uint64_t lookup, const std::string& what,
               const std::string& ref_answer, const std::string& dut_answer);
  enum class InvKind : uint8_t { All, Asid, Page, PageAsid };
  static std::string invalidation_text(InvKind kind, Vpn vpn, Asid asid);
  void check_rtl_assertions(const Op& op, const char* op_name);
  void invalidate(InvKind kind, Vpn vpn, Asid asid);
  void check_valid_bits(uint64_t cycle, InvKind kind, Vpn vpn, Asid asid);

  static constexpr uint64_t kUnknownCycle = ~uint64_t{0};
  // Set up front (or between drains), read by both threads.
  std::unique_ptr<TlbModel> ref_, dut_;
  Tlb* ref_tlb_ = nullptr;     // ref_ when it is the C++ Tlb (deeper checks)
  RtlTlb* dut_rtl_ = nullptr;  // dut_ when it is the RTL adapter
  std::function<uint64_t()> now_;
  std::function<void(const std::string&)> on_divergence_;
  // What each thread writes at every operation sits in a cache line of its
  // own: sharing one made the worker slower than checking inline.
  // The caller's:
  alignas(64) uint64_t lookups_ = 0;
  uint64_t ops_ = 0;
  bool notified_ = false;  // the callback was called
  // The comparing side's (the worker between drains), read after drain():
  alignas(64) uint64_t divergences_ = 0;
  uint64_t checked_lookups_ = 0;  // lookups compared (numbers the reports)
  uint64_t dut_cycle_ = 0;  // the cycle of the operation the DUT is doing (its VCD time)
  std::string report_;
  alignas(64) std::atomic<bool> found_{false};  // report_ is written
  std::unique_ptr<Checker> checker_;            // last: its worker uses the rest
};

// An entry as text: "vpn 0x... ppn 0x... asid N flags DAGUXWRV-style level L".
std::string describe(const TlbEntry& e);

}  // namespace mmusim
