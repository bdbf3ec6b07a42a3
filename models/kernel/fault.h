// Page-fault kinds and the latency breakdown the kernel records for each fault.
#pragma once
#include <array>
#include <cstdint>

#include "common/enum_names.h"
#include "common/types.h"

namespace mmusim {

// The one enumeration of page-fault kinds: how the kernel resolved a fault.
// Statistics (faults.<kind>, faults.latency.<kind>.*), the summary, --compare,
// --timeline and the per-fault CSV take the names from kFaultKinds' table.
enum class FaultKind : uint8_t {
  DemandZero, CowZero, CowCopy, CowReuse, SharedMap,
  ThpZero, ThpCopy, ThpSplit, ThpReuse,  // 2 MiB pages (huge_pages.cc)
  TableCopy,                             // On-Demand-Fork (odf.cc)
  Count
};
constexpr size_t kFaultKinds = size_t(FaultKind::Count);

inline constexpr std::array<EnumName<FaultKind>, kFaultKinds> kFaultKindNames{{
    {FaultKind::DemandZero, "demand_zero",
     "first touch of a page: a zeroed frame (or, for a load of a private page, the shared zero frame) was mapped"},
    {FaultKind::CowZero, "cow_zero",
     "write to a private page mapped to the shared zero frame: a zeroed frame was allocated, nothing copied"},
    {FaultKind::CowCopy, "cow_copy", "write to a shared COW page: a new frame was allocated and the page copied"},
    {FaultKind::CowReuse, "cow_reuse",
     "write to a COW page that no one else shares any more: made writable in place, no copy"},
    {FaultKind::SharedMap, "shared_map",
     "touch of a shared mapping's page that another process already faulted in: its frame was mapped"},
    {FaultKind::ThpZero, "thp_zero",
     "first touch of a 2 MiB block of a huge-page mapping: a zeroed 2 MiB page (or, for a load, the huge zero "
     "page) was mapped as one entry"},
    {FaultKind::ThpCopy, "thp_copy",
     "write to a shared COW huge page with kernel.thp_cow = copy: a new 2 MiB page was allocated and all 2 MiB "
     "copied"},
    {FaultKind::ThpSplit, "thp_split",
     "write to a shared COW huge page with kernel.thp_cow = split: the 2 MiB mapping was split into 512 PTEs "
     "of the same frames and only the written 4 KiB page copied (or reused if no one else maps it)"},
    {FaultKind::ThpReuse, "thp_reuse",
     "write to a COW huge page that no one else maps any more: made writable in place as one 2 MiB entry"},
    {FaultKind::TableCopy, "table_copy",
     "On-Demand-Fork: a fault in a leaf page table shared since fork copied the table (its PTEs "
     "write-protected, their frames shared); the access is retried"},
}};
static_assert(names_in_order(kFaultKindNames));

constexpr const char* to_string(FaultKind k) { return kFaultKindNames[size_t(k)].name; }
constexpr const char* description(FaultKind k) { return kFaultKindNames[size_t(k)].description; }

// The write faults on pages that exist: the copy-on-write work that eager
// copy does at fork instead (--compare's "deferred" cycles), and the table
// copies On-Demand-Fork defers from fork.
constexpr bool is_cow_write(FaultKind k) {
  return k == FaultKind::CowZero || k == FaultKind::CowCopy || k == FaultKind::CowReuse ||
         k == FaultKind::ThpCopy || k == FaultKind::ThpSplit || k == FaultKind::ThpReuse ||
         k == FaultKind::TableCopy;
}

// What the faulting CPU must do after the handler: not a fault kind (a kind
// says how a resolved fault was resolved; a SIGSEGV or an OOM kill resolves nothing).
enum class FaultOutcome : uint8_t { Retry, Segv, OomKilled, Count };

inline constexpr std::array<EnumName<FaultOutcome>, size_t(FaultOutcome::Count)> kFaultOutcomeNames{{
    {FaultOutcome::Retry, "retry", "the fault was resolved (or was spurious): the access is retried"},
    {FaultOutcome::Segv, "segv", "no mapping allows the access: the process is killed (SIGSEGV)"},
    {FaultOutcome::OomKilled, "oom_killed", "no frame for the page or its tables: the process is killed"},
}};
static_assert(names_in_order(kFaultOutcomeNames));

constexpr const char* to_string(FaultOutcome o) { return kFaultOutcomeNames[size_t(o)].name; }

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
