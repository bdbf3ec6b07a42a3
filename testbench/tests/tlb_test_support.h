// Shared by the TLB tests (C++, RTL, lockstep): TLB entries built by name.
#pragma once
#include "common/pte.h"
#include "mmu/tlb.h"
#include "mmu/tlb_model.h"

namespace mmusim::test {

constexpr uint8_t kUserRw = Pte::V | Pte::R | Pte::W | Pte::U | Pte::A | Pte::D;
constexpr uint8_t kGlobal = Pte::G;

inline TlbEntry entry(Vpn vpn, Ppn ppn, Asid asid = 1, uint8_t flags = kUserRw, uint8_t level = 0) {
  TlbEntry e;
  e.vpn = vpn;
  e.ppn = ppn;
  e.asid = asid;
  e.flags = flags;
  e.level = level;
  return e;
}

// A test TLB's parameters: `entries` entries in sets of `ways` ways,
// replaced by `policy`, the random policy seeded with `seed`; 1-cycle hits.
inline TlbParams tlb_params(unsigned entries, unsigned ways, ReplacementPolicy policy = ReplacementPolicy::Lru,
                            uint64_t seed = 0) {
  TlbParams p;
  p.name = "test";
  p.entries = entries;
  p.ways = ways;
  p.policy = policy;
  p.seed = seed;
  return p;
}

}  // namespace mmusim::test
