// The C++ TLB: set-associative, ASID-tagged, with lru/plru/fifo/random replacement.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmu/tlb_model.h"

namespace mmusim {

enum class ReplacementPolicy : uint8_t { Lru, Plru, Fifo, Random };
ReplacementPolicy parse_policy(const std::string& name);  // throws std::invalid_argument

// A C++ TLB's parameters, by name (tlb.l1.* / tlb.l2.* in the configuration).
// entries must be a multiple of ways; sets = entries / ways; entries = ways is
// fully associative. plru needs a power-of-two number of ways.
struct TlbParams {
  std::string name = "tlb";  // in error messages ("l1", "l2")
  unsigned entries = 64;
  unsigned ways = 4;
  Cycles latency = 1;        // hit latency in cycles
  ReplacementPolicy policy = ReplacementPolicy::Lru;
  uint64_t seed = 0;         // random replacement's generator
};

struct TlbStats {
  uint64_t hits = 0, misses = 0, fills = 0, evictions = 0;
  uint64_t flush_all = 0, flush_asid = 0, flush_page = 0;
};

class Tlb final : public TlbModel {
 public:
  // Throws std::invalid_argument if the geometry is impossible (see TlbParams).
  explicit Tlb(const TlbParams& p);

  const TlbEntry* lookup(Vpn vpn, Asid asid) override;
  bool fill(const TlbEntry& e) override;
  void invalidate_all() override;
  void invalidate_asid(Asid asid) override;
  void invalidate_page(Vpn vpn) override;
  void invalidate_page_asid(Vpn vpn, Asid asid) override;
  Cycles latency() const override { return latency_; }
  unsigned entries() const override { return entries_; }
  void visit(const std::function<void(const TlbEntry&)>& fn) const override;

  // The way fill() would choose for a new page vpn (of size `level`) right now:
  // the lowest invalid way of its set, else the policy's victim. Does not change
  // any state (random: the next draw, without consuming it). For lockstep checks.
  unsigned victim_way(Vpn vpn, unsigned level = 0) const;
  unsigned set_of(Vpn vpn, unsigned level = 0) const;
  const TlbStats& stats() const { return stats_; }
  const std::string& name() const { return name_; }

  // For a cache of recent hits in front of this TLB (the Mmu's hit cache).
  // epoch() changes whenever a lookup might return something else (every
  // fill and invalidation); while it has not, hit_again(slot_of(e)) with an
  // entry e that lookup() returned does exactly what that lookup would do
  // again (count the hit, update the replacement state) without searching.
  uint64_t epoch() const { return epoch_; }
  unsigned slot_of(const TlbEntry* e) const;
  void hit_again(unsigned slot) {
    ++stats_.hits;
    if (policy_ == ReplacementPolicy::Lru) slots_[slot].stamp = ++clock_;  // touch(), without the division
    else touch(slot / ways_, slot % ways_);
  }
  // Read-only view of one slot (tests, lockstep): nullptr if invalid.
  const TlbEntry* slot(unsigned set, unsigned way) const;
  unsigned ways() const { return ways_; }
  unsigned sets() const { return sets_; }
  ReplacementPolicy policy() const { return policy_; }

 private:
  struct Slot {
    TlbEntry entry;
    uint64_t stamp = 0;  // lru: value of clock_ at the last hit or fill
    bool valid = false;
  };
  Slot& at(unsigned set, unsigned way) { return slots_[size_t{set} * ways_ + way]; }
  const Slot& at(unsigned set, unsigned way) const { return slots_[size_t{set} * ways_ + way]; }
  void touch(unsigned set, unsigned way);          // a hit or fill: lru / plru update
  unsigned choose_victim(unsigned set) const;      // invalid first, then the policy
  void drop(Slot& s);                              // invalidate one valid slot
  static uint64_t rng_next(uint64_t state);        // xorshift64* state step
  static unsigned rng_pick(uint64_t state, unsigned ways);  // way from a stepped state

  std::string name_;
  unsigned entries_;
  unsigned ways_;
  unsigned sets_;
  uint64_t set_mask_;       // sets_ - 1 when sets_ is a power of two
  bool sets_pow2_;
  Cycles latency_;
  ReplacementPolicy policy_;
  std::vector<Slot> slots_;           // set-major: slot (set, way) at set * ways + way
  std::vector<uint8_t> plru_;         // plru: (ways - 1) tree bits per set, one byte each
  std::vector<unsigned> fifo_next_;   // fifo: per-set round-robin pointer
  uint64_t clock_ = 0;                // lru stamp source
  uint64_t rng_;                      // random: xorshift64* state (never 0)
  unsigned level_count_[4] = {0, 0, 0, 0};  // valid entries per page level
  uint64_t epoch_ = 1;                // see epoch(); 0 is never current
  TlbStats stats_;
};

}  // namespace mmusim
