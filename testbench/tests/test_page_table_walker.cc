// Unit tests of the page-table walker (models/mmu/page_table_walker.cc) over a
// mock PTE memory: exact PTE addresses, cycles, A/D updates, the protection
// matrix (also against the privilege, SUM and MXR), faults at every level,
// superpages and the page-walk cache.
#include <catch2/catch.hpp>

#include <iterator>
#include <map>
#include <vector>

#include "mmu/page_table_walker.h"
#include "mmu/tlb_model.h"
#include "mmu/walker_model.h"
#include "privilege_cases.h"
#include "pte_memory_log.h"

namespace mmusim::test {

namespace {

constexpr Cycles kReadLat = 10;
constexpr Cycles kWriteLat = 7;

constexpr Vpn vpn39(unsigned i2, unsigned i1, unsigned i0) { return vpn_of_indices(0, i2, i1, i0); }
constexpr Vpn vpn48(unsigned i3, unsigned i2, unsigned i1, unsigned i0) { return vpn_of_indices(i3, i2, i1, i0); }

// Sv39 layout used throughout: root 0x100, [3] -> 0x200, [5] -> 0x300, leaf [7].
constexpr Ppn kRoot = 0x100, kL1 = 0x200, kL0 = 0x300, kLeafPpn = 0x4242;
const Vpn kVpn = vpn39(3, 5, 7);

void build_sv39(PteMemoryLog& m, uint64_t leaf_flags = V | R | W | U | A | D) {
  m.set(slot_addr(kRoot, 3), Pte::make(kL1, V));
  m.set(slot_addr(kL1, 5), Pte::make(kL0, V));
  m.set(slot_addr(kL0, 7), Pte::make(kLeafPpn, leaf_flags));
}

}  // namespace

TEST_CASE("walker: Sv39 walk reads exactly three PTEs", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m);
  PageTableWalker w(PagingMode::Sv39, 0, m);
  CHECK(w.mode() == PagingMode::Sv39);
  const WalkResult r = w.walk(kRoot, kVpn, AccessType::Load);
  CHECK(r.fault == WalkFault::None);
  CHECK(m.reads == std::vector<PAddr>{0x100018, 0x200028, 0x300038});
  CHECK(m.writes.empty());
  CHECK(r.mem_reads == 3);
  CHECK(r.cycles == 3 * kReadLat);
  CHECK(r.level == 0);
  CHECK(r.pte_addr == 0x300038);
  CHECK(r.pte.ppn() == kLeafPpn);
  CHECK(r.pte == Pte::make(kLeafPpn, V | R | W | U | A | D));
  CHECK(w.stats().walks == 1);
  CHECK(w.stats().mem_reads == 3);
  CHECK(w.stats().mem_writes == 0);
  CHECK(w.stats().cycles == 30);
  CHECK(w.stats().pwc_hits == 0);
  CHECK(w.stats().pwc_misses == 0);
}

TEST_CASE("walker: Sv48 walk reads exactly four PTEs", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  const Ppn root = 0x100, l2 = 0x180, l1 = 0x200, l0 = 0x300;
  const Vpn vpn = vpn48(1, 3, 5, 7);
  m.set(slot_addr(root, 1), Pte::make(l2, V));
  m.set(slot_addr(l2, 3), Pte::make(l1, V));
  m.set(slot_addr(l1, 5), Pte::make(l0, V));
  m.set(slot_addr(l0, 7), Pte::make(0x777, V | R | U | A));
  PageTableWalker w(PagingMode::Sv48, 0, m);
  const WalkResult r = w.walk(root, vpn, AccessType::Load);
  CHECK(r.fault == WalkFault::None);
  CHECK(m.reads == std::vector<PAddr>{0x100008, 0x180018, 0x200028, 0x300038});
  CHECK(r.mem_reads == 4);
  CHECK(r.cycles == 40);
  CHECK(r.pte.ppn() == 0x777);
  CHECK(r.level == 0);
  // The same vpn under Sv39 indexes the root with bits 26..18 only.
  PteMemoryLog m39{kReadLat, kWriteLat};
  PageTableWalker w39(PagingMode::Sv39, 0, m39);
  const WalkResult r39 = w39.walk(root, vpn39(3, 5, 7), AccessType::Load);
  CHECK(r39.fault == WalkFault::NotValid);
  CHECK(m39.reads == std::vector<PAddr>{0x100018});
}

TEST_CASE("walker: A is set once on a load, D only on a store", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m, V | R | W | U);
  PageTableWalker w(PagingMode::Sv39, 0, m);
  const PAddr leaf = slot_addr(kL0, 7);

  WalkResult r = w.walk(kRoot, kVpn, AccessType::Load);
  CHECK(r.fault == WalkFault::None);
  CHECK(m.write_addresses() == std::vector<PAddr>{leaf});
  CHECK(m.at(leaf) == Pte::make(kLeafPpn, V | R | W | U | A));
  CHECK(r.pte == Pte::make(kLeafPpn, V | R | W | U | A));
  CHECK(r.cycles == 3 * kReadLat + kWriteLat);
  CHECK(w.stats().mem_writes == 1);

  m.clear_log();
  r = w.walk(kRoot, kVpn, AccessType::Load);  // A already set: no write
  CHECK(m.writes.empty());
  CHECK(r.cycles == 3 * kReadLat);

  r = w.walk(kRoot, kVpn, AccessType::Store);  // D missing: one write
  CHECK(m.write_addresses() == std::vector<PAddr>{leaf});
  CHECK(m.at(leaf) == Pte::make(kLeafPpn, V | R | W | U | A | D));
  CHECK(r.pte.dirty());
  CHECK(r.cycles == 3 * kReadLat + kWriteLat);

  m.clear_log();
  r = w.walk(kRoot, kVpn, AccessType::Store);  // nothing left to set
  CHECK(m.writes.empty());
  CHECK(r.cycles == 3 * kReadLat);
  CHECK(w.stats().walks == 4);
  CHECK(w.stats().mem_reads == 12);
  CHECK(w.stats().mem_writes == 2);
  CHECK(w.stats().cycles == 12 * kReadLat + 2 * kWriteLat);
}

TEST_CASE("walker: first access is a store sets A and D in one write", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m, V | R | W | U);
  PageTableWalker w(PagingMode::Sv39, 0, m);
  const WalkResult r = w.walk(kRoot, kVpn, AccessType::Store);
  CHECK(r.fault == WalkFault::None);
  CHECK(m.writes.size() == 1);
  CHECK(m.at(slot_addr(kL0, 7)) == Pte::make(kLeafPpn, V | R | W | U | A | D));
  // A fetch of an executable page sets A only.
  PteMemoryLog m2{kReadLat, kWriteLat};
  build_sv39(m2, V | R | X | U);
  PageTableWalker w2(PagingMode::Sv39, 0, m2);
  CHECK(w2.walk(kRoot, kVpn, AccessType::Fetch).fault == WalkFault::None);
  CHECK(m2.at(slot_addr(kL0, 7)) == Pte::make(kLeafPpn, V | R | X | U | A));
}

TEST_CASE("walker: protection matrix of R/W/X/U against load/store/fetch", "[walker]") {
  const WalkFault ok = WalkFault::None, perm = WalkFault::Permission,
                  bad = WalkFault::Malformed;
  struct Row {
    uint64_t flags;
    WalkFault load, store, fetch;
  };
  // Leaf flags with V=1 at level 0. R=W=X=0 is a pointer, which is malformed at
  // level 0; W without R is reserved.
  const Row rows[] = {
      {0, bad, bad, bad},                   {U, bad, bad, bad},
      {R, perm, perm, perm},                {R | U, ok, perm, perm},
      {W, bad, bad, bad},                   {W | U, bad, bad, bad},
      {R | W, perm, perm, perm},            {R | W | U, ok, ok, perm},
      {X, perm, perm, perm},                {X | U, perm, perm, ok},
      {R | X, perm, perm, perm},            {R | X | U, ok, perm, ok},
      {W | X, bad, bad, bad},               {W | X | U, bad, bad, bad},
      {R | W | X, perm, perm, perm},        {R | W | X | U, ok, ok, ok},
  };
  int permitted = 0;
  for (const Row& row : rows) {
    const AccessType accesses[] = {AccessType::Load, AccessType::Store, AccessType::Fetch};
    const WalkFault expected[] = {row.load, row.store, row.fetch};
    for (int i = 0; i < 3; ++i) {
      INFO("flags " << row.flags << " access " << to_string(accesses[i]) << ", expected " << to_string(expected[i]));
      PteMemoryLog m{kReadLat, kWriteLat};
      build_sv39(m, V | row.flags);  // A and D clear
      PageTableWalker w(PagingMode::Sv39, 0, m);
      const WalkResult r = w.walk(kRoot, kVpn, accesses[i]);
      CHECK(r.fault == expected[i]);
      CHECK(r.mem_reads == 3);
      CHECK(r.level == 0);
      CHECK(r.pte_addr == slot_addr(kL0, 7));
      const Pte leaf = Pte::make(kLeafPpn, V | row.flags);
      CHECK(pte_permits(leaf, accesses[i]) == (expected[i] == ok));
      if (expected[i] == ok) {
        ++permitted;
        CHECK(m.writes.size() == 1);
        CHECK(r.pte.accessed());
        CHECK(r.pte.dirty() == (accesses[i] == AccessType::Store));
      } else {
        CHECK(m.writes.empty());  // no A/D update without permission
        CHECK(r.pte == leaf);     // the leaf is still reported
        CHECK(r.cycles == 3 * kReadLat);
      }
    }
  }
  CHECK(permitted == 9);
  // V=0 never permits.
  CHECK_FALSE(pte_permits(Pte::make(1, R | W | X | U | A | D), AccessType::Load));
}

TEST_CASE("walker: privilege SUM and MXR against R/W/X/U: every rule", "[walker]") {
  unsigned allowed = 0;
  for (const PrivilegeCase& c : kPrivilegeCases) {
    INFO(c.describe());
    const Pte leaf = Pte::make(kLeafPpn, V | c.flags);
    CHECK(pte_permits(leaf, c.access, c.ctx) == c.allowed);
    CHECK(pte_permits(leaf.with(Pte::A | Pte::D), c.access, c.ctx) == c.allowed);  // A/D change nothing
    PteMemoryLog m{kReadLat, kWriteLat};
    build_sv39(m, V | c.flags);  // A and D clear
    PageTableWalker w(PagingMode::Sv39, 0, m);
    const WalkResult r = w.walk(kRoot, kVpn, c.access, c.ctx);
    CHECK(r.fault == c.fault());
    CHECK(r.level == 0);
    CHECK(r.mem_reads == 3);
    if (c.allowed) {
      ++allowed;
      const Pte updated = leaf.with(c.access == AccessType::Store ? (Pte::A | Pte::D) : Pte::A);
      CHECK(m.write_addresses() == std::vector<PAddr>{slot_addr(kL0, 7)});
      CHECK(m.at(slot_addr(kL0, 7)) == updated);
      CHECK(r.pte == updated);
    } else {
      CHECK(m.writes.empty());  // no A/D update without permission
      CHECK(r.pte == leaf);
      CHECK(r.cycles == 3 * kReadLat);
    }
  }
  CHECK(std::size(kPrivilegeCases) == 36);
  CHECK(allowed == 15);
}

TEST_CASE("walker: a walk that faults in S-mode succeeds in U-mode and the reverse with no A/D write on the fault",
          "[walker]") {
  const AccessContext user, supervisor{Privilege::Supervisor, false, false};
  const PAddr leaf = slot_addr(kL0, 7);
  SECTION("a user page: S-mode without SUM faults, U-mode stores") {
    PteMemoryLog m{kReadLat, kWriteLat};
    build_sv39(m, V | R | W | U);
    PageTableWalker w(PagingMode::Sv39, 16, m);
    WalkResult r = w.walk(kRoot, kVpn, AccessType::Store, supervisor);
    CHECK(r.fault == WalkFault::Permission);
    CHECK(m.writes.empty());
    CHECK(m.at(leaf) == Pte::make(kLeafPpn, V | R | W | U));
    CHECK(r.pte == Pte::make(kLeafPpn, V | R | W | U));
    r = w.walk(kRoot, kVpn, AccessType::Store, user);
    CHECK(r.fault == WalkFault::None);
    CHECK(r.mem_reads == 1);  // through the PWC the S-mode walk filled
    CHECK(m.write_addresses() == std::vector<PAddr>{leaf});
    CHECK(m.at(leaf) == Pte::make(kLeafPpn, V | R | W | U | A | D));
  }
  SECTION("a supervisor page: U-mode faults, S-mode stores (behind the WalkerModel interface)") {
    PteMemoryLog m{kReadLat, kWriteLat};
    build_sv39(m, V | R | W);
    CppPageTableWalker w(PagingMode::Sv39, 0, m, false);
    WalkResult r = w.walk(kRoot, kVpn, AccessType::Store, 1);  // user mode by default
    CHECK(r.fault == WalkFault::Permission);
    CHECK(m.writes.empty());
    CHECK(r.pte == Pte::make(kLeafPpn, V | R | W));
    r = w.walk(kRoot, kVpn, AccessType::Store, 1, supervisor);
    CHECK(r.fault == WalkFault::None);
    CHECK(m.write_addresses() == std::vector<PAddr>{leaf});
    CHECK(m.at(leaf) == Pte::make(kLeafPpn, V | R | W | A | D));
    CHECK(w.stats().mem_writes == 1);
  }
}

TEST_CASE("walker: NotValid at each level", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  PageTableWalker w(PagingMode::Sv39, 0, m);
  SECTION("root") {
    const WalkResult r = w.walk(kRoot, kVpn, AccessType::Load);
    CHECK(r.fault == WalkFault::NotValid);
    CHECK(r.level == 2);
    CHECK(r.mem_reads == 1);
    CHECK(r.cycles == kReadLat);
    CHECK(r.pte_addr == 0x100018);
  }
  SECTION("level 1") {
    m.set(slot_addr(kRoot, 3), Pte::make(kL1, V));
    const WalkResult r = w.walk(kRoot, kVpn, AccessType::Store);
    CHECK(r.fault == WalkFault::NotValid);
    CHECK(r.level == 1);
    CHECK(r.mem_reads == 2);
    CHECK(r.pte_addr == 0x200028);
  }
  SECTION("leaf, with flags but V clear") {
    build_sv39(m, R | W | U | A | D);
    const WalkResult r = w.walk(kRoot, kVpn, AccessType::Load);
    CHECK(r.fault == WalkFault::NotValid);
    CHECK(r.level == 0);
    CHECK(r.mem_reads == 3);
    CHECK(r.pte_addr == 0x300038);
    CHECK(m.writes.empty());
  }
}

TEST_CASE("walker: malformed non-leaf PTEs", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  PageTableWalker w(PagingMode::Sv39, 0, m);
  m.set(slot_addr(kRoot, 3), Pte::make(kL1, V | W));  // W without R at the root
  WalkResult r = w.walk(kRoot, kVpn, AccessType::Load);
  CHECK(r.fault == WalkFault::Malformed);
  CHECK(r.level == 2);
  CHECK(r.mem_reads == 1);
  // A pointer at level 0.
  build_sv39(m, V);
  r = w.walk(kRoot, kVpn, AccessType::Load);
  CHECK(r.fault == WalkFault::Malformed);
  CHECK(r.level == 0);
  CHECK(r.mem_reads == 3);
}

TEST_CASE("walker: a pointer with U A or D set is malformed at the level it is read", "[walker]") {
  for (const uint64_t reserved : {U, A, D}) {
    for (unsigned level : {2u, 1u}) {
      INFO("bit " << reserved << " at level " << level);
      PteMemoryLog m{kReadLat, kWriteLat};
      build_sv39(m, V | R | W | U | A | D);
      const PAddr at = level == 2 ? slot_addr(kRoot, 3) : slot_addr(kL1, 5);
      m.set(at, Pte::make(level == 2 ? kL1 : kL0, V | reserved));
      PageTableWalker w(PagingMode::Sv39, 4, m);
      const WalkResult r = w.walk(kRoot, kVpn, AccessType::Load);
      CHECK(r.fault == WalkFault::Malformed);
      CHECK(r.level == level);
      CHECK(r.pte_addr == at);
      CHECK(r.mem_reads == 3 - level);
      CHECK(m.writes.empty());
      // never cached: the next walk reads it again (from the PWC entry above it, if any)
      const WalkResult again = w.walk(kRoot, kVpn, AccessType::Load);
      CHECK(again.fault == WalkFault::Malformed);
      CHECK(again.pte_addr == at);
      CHECK(again.mem_reads == 1);
    }
  }
}

TEST_CASE("walker: 2 MiB and 1 GiB superpages", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  PageTableWalker w(PagingMode::Sv39, 0, m);
  const Vpn vpn = kVpn;  // indices 3, 5, 7
  SECTION("2 MiB leaf at level 1") {
    m.set(slot_addr(kRoot, 3), Pte::make(kL1, V));
    m.set(slot_addr(kL1, 5), Pte::make(0x40000, V | R | W | U | A | D));
    const WalkResult r = w.walk(kRoot, vpn, AccessType::Store);
    CHECK(r.fault == WalkFault::None);
    CHECK(r.level == 1);
    CHECK(r.mem_reads == 2);
    CHECK(m.reads == std::vector<PAddr>{0x100018, 0x200028});
    CHECK(r.pte_addr == 0x200028);
    TlbEntry e;
    e.vpn = vpn;
    e.ppn = r.pte.ppn();
    e.level = static_cast<uint8_t>(r.level);
    CHECK(e.translate(vpn) == 0x40007);
    CHECK(e.translate(vpn39(3, 5, 0x1ff)) == 0x401ff);
  }
  SECTION("1 GiB leaf at level 2") {
    m.set(slot_addr(kRoot, 3), Pte::make(0x80000, V | R | U | A));
    const WalkResult r = w.walk(kRoot, vpn, AccessType::Load);
    CHECK(r.fault == WalkFault::None);
    CHECK(r.level == 2);
    CHECK(r.mem_reads == 1);
    CHECK(r.cycles == kReadLat);
    TlbEntry e;
    e.vpn = vpn;
    e.ppn = r.pte.ppn();
    e.level = static_cast<uint8_t>(r.level);
    CHECK(e.translate(vpn) == 0x80000 + ((5u << 9) | 7u));
  }
  SECTION("misaligned 2 MiB leaf") {
    m.set(slot_addr(kRoot, 3), Pte::make(kL1, V));
    m.set(slot_addr(kL1, 5), Pte::make(0x40001, V | R | W | U));
    const WalkResult r = w.walk(kRoot, vpn, AccessType::Load);
    CHECK(r.fault == WalkFault::Malformed);
    CHECK(r.level == 1);
    CHECK(m.writes.empty());
  }
  SECTION("misaligned 1 GiB leaf") {
    m.set(slot_addr(kRoot, 3), Pte::make(0x80200, V | R | W | U));  // bit 9 set
    const WalkResult r = w.walk(kRoot, vpn, AccessType::Load);
    CHECK(r.fault == WalkFault::Malformed);
    CHECK(r.level == 2);
    CHECK(m.writes.empty());
  }
}

TEST_CASE("walker: page-walk cache skips the upper levels", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m);
  m.set(slot_addr(kL0, 8), Pte::make(0x5000, V | R | W | U | A | D));
  m.set(slot_addr(kL1, 6), Pte::make(0x380, V));
  m.set(slot_addr(0x380, 0), Pte::make(0x6000, V | R | U | A));
  PageTableWalker w(PagingMode::Sv39, 4, m);

  WalkResult r = w.walk(kRoot, kVpn, AccessType::Load);
  CHECK(r.mem_reads == 3);
  CHECK(w.stats().pwc_hits == 0);
  CHECK(w.stats().pwc_misses == 1);

  // Neighbouring page in the same leaf table: only the leaf PTE is read.
  m.clear_log();
  r = w.walk(kRoot, vpn39(3, 5, 8), AccessType::Load);
  CHECK(r.fault == WalkFault::None);
  CHECK(r.pte.ppn() == 0x5000);
  CHECK(m.reads == std::vector<PAddr>{slot_addr(kL0, 8)});
  CHECK(r.mem_reads == 1);
  CHECK(r.cycles == kReadLat);
  CHECK(w.stats().pwc_hits == 1);
  CHECK(w.stats().pwc_misses == 1);

  // Another leaf table under the same level-1 table: skips the root only.
  m.clear_log();
  r = w.walk(kRoot, vpn39(3, 6, 0), AccessType::Load);
  CHECK(r.fault == WalkFault::None);
  CHECK(r.pte.ppn() == 0x6000);
  CHECK(m.reads == std::vector<PAddr>{slot_addr(kL1, 6), slot_addr(0x380, 0)});
  CHECK(w.stats().pwc_hits == 2);

  // ...and now that leaf table is cached too.
  m.clear_log();
  w.walk(kRoot, vpn39(3, 6, 0), AccessType::Load);
  CHECK(m.reads.size() == 1);
  CHECK(w.stats().pwc_hits == 3);

  // A different root does not hit entries of this one.
  m.set(slot_addr(0x900, 3), Pte::make(kL1, V));
  m.clear_log();
  r = w.walk(0x900, vpn39(3, 5, 8), AccessType::Load);
  CHECK(r.mem_reads == 3);
  CHECK(w.stats().pwc_misses == 2);

  // flush_pwc brings back full walks.
  w.flush_pwc();
  m.clear_log();
  r = w.walk(kRoot, vpn39(3, 5, 8), AccessType::Load);
  CHECK(m.reads == std::vector<PAddr>{0x100018, 0x200028, 0x300040});
  CHECK(w.stats().pwc_hits == 3);
  CHECK(w.stats().pwc_misses == 3);
  CHECK(w.stats().walks == 6);
  CHECK(w.stats().mem_reads == 3 + 1 + 2 + 1 + 3 + 3);
}

TEST_CASE("walker: page-walk cache of one entry keeps the most recent table", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m);
  m.set(slot_addr(kL0, 8), Pte::make(0x5000, V | R | W | U | A | D));
  m.set(slot_addr(kL1, 6), Pte::make(0x380, V));
  m.set(slot_addr(0x380, 0), Pte::make(0x6000, V | R | U | A));
  PageTableWalker w(PagingMode::Sv39, 1, m);
  w.walk(kRoot, kVpn, AccessType::Load);  // inserts the level-1 then the level-0 table
  CHECK(w.walk(kRoot, vpn39(3, 5, 8), AccessType::Load).mem_reads == 1);
  // The level-1 table entry was evicted by the level-0 one: full walk.
  CHECK(w.walk(kRoot, vpn39(3, 6, 0), AccessType::Load).mem_reads == 3);
  CHECK(w.stats().pwc_hits == 1);
  CHECK(w.stats().pwc_misses == 2);
}

TEST_CASE("walker: Sv48 page-walk cache hit reads one PTE", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  const Ppn root = 0x100, l2 = 0x180, l1 = 0x200, l0 = 0x300;
  m.set(slot_addr(root, 1), Pte::make(l2, V));
  m.set(slot_addr(l2, 3), Pte::make(l1, V));
  m.set(slot_addr(l1, 5), Pte::make(l0, V));
  m.set(slot_addr(l0, 7), Pte::make(0x777, V | R | U | A));
  m.set(slot_addr(l0, 9), Pte::make(0x779, V | R | U | A));
  PageTableWalker w(PagingMode::Sv48, 8, m);
  CHECK(w.walk(root, vpn48(1, 3, 5, 7), AccessType::Load).mem_reads == 4);
  m.clear_log();
  const WalkResult r = w.walk(root, vpn48(1, 3, 5, 9), AccessType::Load);
  CHECK(r.pte.ppn() == 0x779);
  CHECK(m.reads == std::vector<PAddr>{slot_addr(l0, 9)});
  // Same low indices, different top-level index: no hit.
  CHECK(w.walk(root, vpn48(2, 3, 5, 9), AccessType::Load).fault == WalkFault::NotValid);
  CHECK(w.stats().pwc_hits == 1);
  CHECK(w.stats().pwc_misses == 2);
}

TEST_CASE("walker: pwc_entries = 0 never hits", "[walker]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m);
  PageTableWalker w(PagingMode::Sv39, 0, m);
  for (int i = 0; i < 3; ++i) CHECK(w.walk(kRoot, kVpn, AccessType::Load).mem_reads == 3);
  w.flush_pwc();  // harmless without a cache
  CHECK(w.walk(kRoot, kVpn, AccessType::Load).mem_reads == 3);
  CHECK(w.stats().pwc_hits == 0);
  CHECK(w.stats().pwc_misses == 0);
  CHECK(w.stats().mem_reads == 12);
}

}  // namespace mmusim::test

namespace mmusim::test {

// mmu.nonleaf_wp (On-Demand-Fork): RSW bit 8 of a non-leaf PTE forbids stores below it.
TEST_CASE("walker: a store below a WP non-leaf PTE faults, a load does not", "[walker][odf]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m, V | R | W | U | A);  // writable, clean leaf
  m.set(slot_addr(kL1, 5), Pte::make(kL0, V | Pte::WP));
  PageTableWalker w(PagingMode::Sv39, 0, m, true);
  const WalkResult st = w.walk(kRoot, kVpn, AccessType::Store);
  CHECK(st.fault == WalkFault::Permission);
  CHECK(st.write_protected);
  CHECK(m.writes.empty());  // no D set for a store that faults
  CHECK(m.at(slot_addr(kL0, 7)) == Pte::make(kLeafPpn, V | R | W | U | A));
  const WalkResult ld = w.walk(kRoot, kVpn, AccessType::Load);
  CHECK(ld.fault == WalkFault::None);
  CHECK(ld.write_protected);
  CHECK(ld.pte.writable());  // the leaf itself; the MMU caches it without W
  // WP on the root's entry protects the whole subtree as well.
  m.set(slot_addr(kL1, 5), Pte::make(kL0, V));
  m.set(slot_addr(kRoot, 3), Pte::make(kL1, V | Pte::WP));
  CHECK(w.walk(kRoot, kVpn, AccessType::Store).fault == WalkFault::Permission);
}

TEST_CASE("walker: without mmu.nonleaf_wp the RSW bits of a non-leaf PTE are ignored", "[walker][odf]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m);
  m.set(slot_addr(kL1, 5), Pte::make(kL0, V | Pte::WP));
  PageTableWalker w(PagingMode::Sv39, 0, m);
  const WalkResult r = w.walk(kRoot, kVpn, AccessType::Store);
  CHECK(r.fault == WalkFault::None);
  CHECK_FALSE(r.write_protected);
}

TEST_CASE("walker: the page-walk cache keeps the WP bit with the entry", "[walker][odf][pwc]") {
  PteMemoryLog m{kReadLat, kWriteLat};
  build_sv39(m);
  m.set(slot_addr(kL1, 5), Pte::make(kL0, V | Pte::WP));
  PageTableWalker w(PagingMode::Sv39, 4, m, true);
  CHECK(w.walk(kRoot, kVpn, AccessType::Load).fault == WalkFault::None);
  m.clear_log();
  // The second walk starts at the cached leaf table: one read, and still protected.
  const WalkResult r = w.walk(kRoot, kVpn, AccessType::Store);
  CHECK(m.reads == std::vector<PAddr>{slot_addr(kL0, 7)});
  CHECK(r.fault == WalkFault::Permission);
  CHECK(r.write_protected);
  // A neighbour under the same level-1 table but another (unprotected) leaf table.
  m.set(slot_addr(kL1, 6), Pte::make(0x301, V));
  m.set(slot_addr(0x301, 7), Pte::make(kLeafPpn + 1, V | R | W | U | A | D));
  CHECK(w.walk(kRoot, vpn39(3, 6, 7), AccessType::Store).fault == WalkFault::None);
  // After the kernel lifts the protection and flushes, stores go through.
  m.set(slot_addr(kL1, 5), Pte::make(kL0, V));
  CHECK(w.walk(kRoot, kVpn, AccessType::Store).fault == WalkFault::Permission);  // stale PWC until flushed
  w.flush_pwc();
  CHECK(w.walk(kRoot, kVpn, AccessType::Store).fault == WalkFault::None);
}

}  // namespace mmusim::test
