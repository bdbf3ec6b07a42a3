// Shared by the TLB tests (C++, RTL, lockstep): TLB entries built by name.
#pragma once
#include "common/pte.h"
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

}  // namespace mmusim::test
