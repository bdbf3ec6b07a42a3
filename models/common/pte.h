// RISC-V Sv39/Sv48 page-table entry with its fields by name.
#pragma once
#include <cstdint>

#include "common/types.h"

namespace mmusim {

struct Pte {
  uint64_t raw = 0;

  static constexpr uint64_t V = 1u << 0;  // valid
  static constexpr uint64_t R = 1u << 1;  // readable
  static constexpr uint64_t W = 1u << 2;  // writable
  static constexpr uint64_t X = 1u << 3;  // executable
  static constexpr uint64_t U = 1u << 4;  // user accessible
  static constexpr uint64_t G = 1u << 5;  // global mapping
  static constexpr uint64_t A = 1u << 6;  // accessed
  static constexpr uint64_t D = 1u << 7;  // dirty
  static constexpr unsigned kRswShift = 8;  // two bits for software
  // With mmu.nonleaf_wp, RSW bit 8 of a non-leaf PTE forbids stores to every
  // page below it (x86's hierarchical R/W; On-Demand-Fork's shared tables).
  static constexpr uint64_t WP = 1u << kRswShift;
  static constexpr unsigned kPpnShift = 10;
  static constexpr uint64_t kPpnMask = (uint64_t{1} << 44) - 1;
  static constexpr uint64_t kFlagsMask = 0x3ff;

  constexpr Pte() = default;
  constexpr explicit Pte(uint64_t r) : raw(r) {}
  static constexpr Pte make(Ppn ppn, uint64_t flags) {
    return Pte{(ppn & kPpnMask) << kPpnShift | (flags & kFlagsMask)};
  }

  constexpr bool valid() const { return raw & V; }
  constexpr bool readable() const { return raw & R; }
  constexpr bool writable() const { return raw & W; }
  constexpr bool executable() const { return raw & X; }
  constexpr bool user() const { return raw & U; }
  constexpr bool global() const { return raw & G; }
  constexpr bool accessed() const { return raw & A; }
  constexpr bool dirty() const { return raw & D; }
  constexpr bool write_protected() const { return raw & WP; }  // meaningful on a non-leaf PTE only
  // A valid PTE with none of R/W/X points to the next-level table.
  constexpr bool is_leaf() const { return raw & (R | W | X); }
  constexpr Ppn ppn() const { return (raw >> kPpnShift) & kPpnMask; }
  constexpr uint64_t flags() const { return raw & kFlagsMask; }
  constexpr bool has(uint64_t f) const { return (raw & f) == f; }
  constexpr Pte with(uint64_t f) const { return Pte{raw | f}; }
  constexpr Pte without(uint64_t f) const { return Pte{raw & ~f}; }
  constexpr bool operator==(const Pte& o) const { return raw == o.raw; }
  constexpr bool operator!=(const Pte& o) const { return raw != o.raw; }
};

// Page-table geometry of the two supported formats.
enum class PagingMode : uint8_t { Sv39, Sv48 };

constexpr unsigned levels_of(PagingMode m) { return m == PagingMode::Sv39 ? 3 : 4; }
// User virtual addresses must lie below this bound (the lower half).
constexpr uint64_t user_va_limit(PagingMode m) {
  return uint64_t{1} << (m == PagingMode::Sv39 ? 38 : 47);
}
// Index into the table at `level` (0 = leaf level) for a virtual page number.
constexpr unsigned vpn_index(Vpn vpn, unsigned level) {
  return static_cast<unsigned>((vpn >> (level * kVpnBitsPerLevel)) & (kPtesPerTable - 1));
}

constexpr uint64_t kPteBytes = 8;

// Physical address of the PTE that translates vpn in `table`, a table at `level`.
constexpr PAddr pte_slot(Ppn table, Vpn vpn, unsigned level) {
  return frame_addr(table) + PAddr{vpn_index(vpn, level)} * kPteBytes;
}

}  // namespace mmusim
