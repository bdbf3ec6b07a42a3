// Page-fault kinds and the latency breakdown the kernel records for each fault.
#pragma once
#include <array>
#include <cstdint>

#include "common/types.h"

namespace mmusim {

enum class FaultKind : uint8_t {
  DemandZero,  // first touch: zeroed frame (or the shared zero frame for a load)
  CowZero,     // store to a page mapped to the zero frame: new zeroed frame
  CowCopy,     // store to a shared COW page: new frame, 4 KiB copied
  CowReuse,    // store to a COW page nobody else maps any more: made writable in place
  SharedMap,   // touch of a shared mapping's page that another process already faulted in
  Count
};
constexpr size_t kFaultKinds = size_t(FaultKind::Count);

inline const char* to_string(FaultKind k) {
  static constexpr std::array<const char*, kFaultKinds> names{"demand_zero", "cow_zero", "cow_copy",
                                                               "cow_reuse", "shared_map"};
  return names[size_t(k)];
}

// Cycles spent in each phase of one fault, in the order they happen.
struct FaultBreakdown {
  Cycles trap_entry = 0;  // entering the handler
  Cycles walk = 0;        // the MMU's page walk that found the fault
  Cycles handler = 0;     // handler work: VMA lookup, checks, reading the page tables
  Cycles alloc = 0;       // frame allocation (data and any page-table frames)
  Cycles copy = 0;        // copying or zeroing the page
  Cycles pte_update = 0;  // writing PTEs (kernel work plus the memory access)
  Cycles tlb_flush = 0;   // invalidating the stale translation
  Cycles trap_exit = 0;   // returning to the faulting instruction
  Cycles shootdown = 0;   // waiting for other CPUs to flush the old translation

  Cycles total() const {
    return trap_entry + walk + handler + alloc + copy + pte_update + tlb_flush + trap_exit + shootdown;
  }
};

struct FaultRecord {
  Cycles cycle = 0;  // when the fault was taken
  Pid pid = 0;        // the faulting task
  unsigned cpu = 0;   // the CPU it ran on
  VAddr va = 0;
  FaultKind kind = FaultKind::DemandZero;
  FaultBreakdown cost;
};

}  // namespace mmusim
