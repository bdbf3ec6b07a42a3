// Two page-table walkers in lockstep (ptw.impl = lockstep): every walk and
// every PWC flush goes to both, and their answers are compared. The reference
// (the C++ walker) answers for the simulation; the device under test (the RTL
// walker) is checked against it.
//
// Memory: only the reference touches the real memory. Its reads and writes
// are recorded. The DUT reads through a view of memory as it was before the
// walk: its i-th read, at the address of the reference's i-th read, gets the
// value (and delay) the reference got; any other address is looked at without
// a timed access (PteMemory::peek_pte), with the reference's own writes of
// this walk undone. The DUT's writes are recorded, never performed. So both
// read identical memory and the run's memory statistics are the reference's.
//
// What is compared, per walk (each walker gets the same AccessContext, which
// the report shows): the sequence of PTE addresses read, the writes
// (address and value), the result (fault kind, leaf PTE after the A/D update,
// its address and level, write_protected, reads), whether the PWC hit or
// missed (the walkers' statistics before and after), and the RTL's own
// assertions. Not compared: cycles (the reference's are charged, so a
// lockstep run is cycle-identical to a model run). The first divergence is
// recorded with a report (cycle, walk, both answers) and the divergence
// callback is called; comparing stops there while both walkers keep walking.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mmu/walker_model.h"

namespace mmusim {

class LockstepPageTableWalker final : public WalkerModel {
 public:
  using Factory = std::function<std::unique_ptr<WalkerModel>(PteMemory&)>;
  // `mem`: the real memory. The factories build the reference and the DUT
  // over the views of it this class gives them.
  LockstepPageTableWalker(PteMemory& mem, const Factory& make_ref, const Factory& make_dut);
  ~LockstepPageTableWalker() override;

  // The reference's answer; both walkers get the same context.
  WalkResult walk(Ppn root, Vpn vpn, AccessType access, Asid asid, AccessContext ctx = {}) override;
  void flush_pwc() override;
  const WalkerStats& stats() const override { return ref_->stats(); }
  PagingMode mode() const override { return ref_->mode(); }

  bool diverged() const { return divergences_ != 0; }
  const std::string& report() const { return report_; }  // the first divergence, "" if none
  uint64_t walks() const { return walks_; }
  uint64_t divergences() const { return divergences_; }  // 0 or 1: comparing stops at the first

  void set_cycle_source(std::function<uint64_t()> now) { now_ = std::move(now); }
  void set_on_divergence(std::function<void(const std::string&)> f) { on_divergence_ = std::move(f); }

  WalkerModel& ref() { return *ref_; }
  WalkerModel& dut() { return *dut_; }
  // Builds a new DUT over the DUT's view (tests: a faulty variant mid-run).
  // The old one is destroyed: pointers to it (Top::rtl_ptws) must be updated.
  WalkerModel& replace_dut(const Factory& make_dut);

  // One memory access of a walk, as recorded.
  struct Access {
    PAddr addr = 0;
    uint64_t value = 0;
    Cycles delay = 0;
  };

 private:
  class RefView;
  class DutView;
  void diverge(const std::string& walk, const std::string& ref_answer, const std::string& dut_answer);

  PteMemory& mem_;
  std::unique_ptr<RefView> ref_view_;
  std::unique_ptr<DutView> dut_view_;
  std::unique_ptr<WalkerModel> ref_, dut_;
  // This walk's accesses (capacity kept across walks: no allocation per walk).
  std::vector<Access> ref_reads_, ref_writes_, dut_reads_, dut_writes_;
  std::function<uint64_t()> now_;
  std::function<void(const std::string&)> on_divergence_;
  uint64_t walks_ = 0, flushes_ = 0, divergences_ = 0;
  std::string report_;
};

}  // namespace mmusim
