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
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mmu/tlb_model.h"

namespace mmusim {

class Tlb;
class RtlTlb;

class LockstepTlb final : public TlbModel {
 public:
  LockstepTlb(std::unique_ptr<TlbModel> ref, std::unique_ptr<TlbModel> dut);
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

  bool diverged() const { return divergences_ != 0; }
  // The first divergence, several lines, "" if none.
  const std::string& report() const { return report_; }
  uint64_t lookups() const { return lookups_; }
  uint64_t operations() const { return ops_; }
  uint64_t divergences() const { return divergences_; }  // 0 or 1: comparing stops at the first

  // Where the simulated cycle of the report comes from (e.g. the CPU's time).
  void set_cycle_source(std::function<uint64_t()> now) { now_ = std::move(now); }
  // Called once, at the first divergence, with the report.
  void set_on_divergence(std::function<void(const std::string&)> f) { on_divergence_ = std::move(f); }

  TlbModel& ref() { return *ref_; }
  TlbModel& dut() { return *dut_; }
  // Replaces the DUT, returning the old one (tests: wrap it in a faulty TLB).
  std::unique_ptr<TlbModel> exchange_dut(std::unique_ptr<TlbModel> dut);

 private:
  bool checking() const { return divergences_ == 0; }
  void diverge(const std::string& op, const std::string& ref_answer, const std::string& dut_answer);
  enum class InvKind : uint8_t { All, Asid, Page, PageAsid };
  static std::string invalidation_text(InvKind kind, Vpn vpn, Asid asid);
  void check_rtl_assertions(const char* op_name);
  void check_valid_bits(InvKind kind, Vpn vpn, Asid asid);

  std::unique_ptr<TlbModel> ref_, dut_;
  Tlb* ref_tlb_ = nullptr;     // ref_ when it is the C++ Tlb (deeper checks)
  RtlTlb* dut_rtl_ = nullptr;  // dut_ when it is the RTL adapter
  std::function<uint64_t()> now_;
  std::function<void(const std::string&)> on_divergence_;
  uint64_t lookups_ = 0, ops_ = 0, divergences_ = 0;
  std::string report_;
};

// An entry as text: "vpn 0x... ppn 0x... asid N flags DAGUXWRV-style level L".
std::string describe(const TlbEntry& e);

}  // namespace mmusim
