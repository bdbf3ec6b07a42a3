// Basic quantities of the model: addresses, page numbers, ids, cycles.
#pragma once
#include <cstdint>

namespace mmusim {

using VAddr = uint64_t;   // virtual address
using PAddr = uint64_t;   // physical address
using Vpn = uint64_t;     // virtual page number (VAddr >> kPageShift)
using Ppn = uint64_t;     // physical page (frame) number
using Asid = uint32_t;    // address-space id as held by the TLB
using Pid = uint32_t;     // trace process id, 1 .. 2^31-1
using Cycles = uint64_t;  // simulated clock cycles

constexpr unsigned kPageShift = 12;
constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
constexpr uint64_t kPageMask = kPageSize - 1;
constexpr unsigned kPtesPerTable = 512;  // 4 KiB table of 8-byte PTEs
constexpr unsigned kVpnBitsPerLevel = 9;

constexpr Vpn vpn_of(VAddr va) { return va >> kPageShift; }
constexpr uint64_t page_offset(uint64_t a) { return a & kPageMask; }
constexpr PAddr frame_addr(Ppn ppn) { return ppn << kPageShift; }

enum class AccessType : uint8_t { Load, Store, Fetch };

inline const char* to_string(AccessType t) {
  switch (t) {
    case AccessType::Load: return "load";
    case AccessType::Store: return "store";
    case AccessType::Fetch: return "fetch";
  }
  return "?";
}

// Page permissions of a mapping (VMA) as the trace names them.
struct Perms {
  bool r = false, w = false, x = false;
  constexpr bool operator==(const Perms& o) const { return r == o.r && w == o.w && x == o.x; }
  constexpr bool operator!=(const Perms& o) const { return !(*this == o); }
};

}  // namespace mmusim
