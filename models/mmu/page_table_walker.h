// Hardware page-table walker for RISC-V Sv39/Sv48: reads one PTE per level from
// physical memory (timed), with an optional page-walk cache of non-leaf PTEs,
// and sets the A/D bits of the leaf with a timed PTE write (Svadu behaviour).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "common/enum_names.h"
#include "common/pte.h"
#include "common/types.h"

namespace mmusim {

// How the walker reaches memory. Implemented over the Mmu's TLM socket in the
// simulator and by mocks in tests. Each call is one memory access.
class PteMemory {
 public:
  virtual ~PteMemory() = default;
  virtual uint64_t read_pte(PAddr pa, Cycles& delay) = 0;
  virtual void write_pte(PAddr pa, uint64_t value, Cycles& delay) = 0;
  // The PTE at `pa` without a timed access or any statistic (the lockstep
  // checker's look at memory the C++ walker did not read). By default a read.
  virtual uint64_t peek_pte(PAddr pa) {
    Cycles ignored = 0;
    return read_pte(pa, ignored);
  }
};

// The privilege mode of an access that is translated (M-mode is not).
enum class Privilege : uint8_t { User, Supervisor };

// Who makes an access, as the leaf permission check needs it: the mode and
// the two mstatus bits that change it (privileged spec, "Virtual Address
// Translation Process" step 5). The default is a user-mode access.
struct AccessContext {
  Privilege priv = Privilege::User;
  bool sum = false;  // mstatus.SUM: S-mode may load and store (never fetch) on U = 1 pages
  bool mxr = false;  // mstatus.MXR: a load may read an execute-only page (R = 0, X = 1)
};

// Does a leaf PTE's R/W/X/U allow this access? (V must be set.) U-mode needs
// U = 1; S-mode on a U = 1 page faults on a fetch always and on a load or
// store unless SUM; S-mode on a U = 0 page is allowed. A load needs R, or X
// with MXR; a store R and W; a fetch X. W without R is reserved: never.
// Inline: the Mmu asks it on every TLB hit.
inline bool pte_permits(Pte pte, AccessType access, AccessContext ctx = {}) {
  if (!pte.valid()) return false;
  if (pte.writable() && !pte.readable()) return false;  // reserved encoding
  if (ctx.priv == Privilege::User) {
    if (!pte.user()) return false;
  } else if (pte.user() && (access == AccessType::Fetch || !ctx.sum)) {
    return false;  // S-mode never executes user code, and touches user data only with SUM
  }
  switch (access) {
    case AccessType::Load: return pte.readable() || (ctx.mxr && pte.executable());
    case AccessType::Store: return pte.readable() && pte.writable();
    case AccessType::Fetch: return pte.executable();
  }
  return false;
}

// What the walker found, as the hardware reports it: not a fault kind (the
// kernel's handler decides the kind, FaultKind in kernel/fault.h, from its own
// mappings; a NotValid page may become any kind, or a SIGSEGV).
enum class WalkFault : uint8_t {
  None,
  NotValid,      // V = 0 at some level: nothing mapped (page absent)
  Permission,    // leaf found but R/W/X/U (with the privilege, SUM, MXR) forbid the access,
                 // or a store below a write-protecting non-leaf PTE (mmu.nonleaf_wp)
  Malformed,     // W without R, non-leaf at the last level or with U/A/D set, misaligned superpage
  Count
};

inline constexpr std::array<EnumName<WalkFault>, size_t(WalkFault::Count)> kWalkFaultNames{{
    {WalkFault::None, "none", "a leaf PTE allows the access"},
    {WalkFault::NotValid, "not_valid", "V = 0 at some level: the page is absent"},
    {WalkFault::Permission, "permission",
     "a leaf PTE was found but its R/W/X/U bits (or, with mmu.nonleaf_wp, a non-leaf PTE above it) forbid the access"},
    {WalkFault::Malformed, "malformed",
     "W without R, a non-leaf PTE at the last level or with U, A or D set, or a misaligned superpage"},
}};
static_assert(names_in_order(kWalkFaultNames));

constexpr const char* to_string(WalkFault f) { return kWalkFaultNames[size_t(f)].name; }

struct WalkResult {
  WalkFault fault = WalkFault::None;
  Pte pte;               // the leaf PTE (after the A/D update) when one was found
  PAddr pte_addr = 0;    // where the leaf PTE lives
  unsigned level = 0;    // level of the leaf: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB
  Cycles cycles = 0;     // memory time spent by this walk
  unsigned mem_reads = 0;
  // mmu.nonleaf_wp: a non-leaf PTE on the way had the WP bit. The leaf's W
  // does not count: the translation may be cached for loads only.
  bool write_protected = false;
};

struct WalkerStats {
  uint64_t walks = 0, mem_reads = 0, mem_writes = 0, cycles = 0;
  uint64_t pwc_hits = 0, pwc_misses = 0;
};

class PageTableWalker {
 public:
  // nonleaf_wp: honour Pte::WP in non-leaf PTEs (mmu.nonleaf_wp); without it
  // the RSW bits of a non-leaf PTE are ignored, as the privileged spec says.
  PageTableWalker(PagingMode mode, unsigned pwc_entries, PteMemory& mem, bool nonleaf_wp = false);

  // Walks the tables rooted at frame `root` for `vpn`, an access by `ctx`
  // (user mode by default). On success (and on a Permission fault) `pte` is
  // the leaf; A (and D for a store) are set in memory only when the access is
  // permitted.
  WalkResult walk(Ppn root, Vpn vpn, AccessType access, AccessContext ctx = {});

  // The kernel freed or rewrote a page-table page: forget cached non-leaf PTEs.
  void flush_pwc();

  PagingMode mode() const { return mode_; }
  const WalkerStats& stats() const { return stats_; }

 private:
  struct PwcEntry {
    Ppn root = 0;
    Vpn prefix = 0;      // vpn >> (9 * (level + 1)): the pages this table covers
    unsigned level = 0;  // level of the table this entry points to (0 = leaf table)
    Ppn next = 0;        // frame of that table
    bool wp = false;     // a non-leaf PTE from the root down to this one had WP (mmu.nonleaf_wp)
    uint64_t stamp = 0;  // LRU
    bool valid = false;
  };
  const PwcEntry* pwc_find(Ppn root, Vpn vpn, unsigned level);
  void pwc_insert(Ppn root, Vpn vpn, unsigned level, Ppn next, bool wp);

  PagingMode mode_;
  bool nonleaf_wp_;
  PteMemory& mem_;
  std::vector<PwcEntry> pwc_;
  uint64_t pwc_clock_ = 0;
  WalkerStats stats_;
};

}  // namespace mmusim
