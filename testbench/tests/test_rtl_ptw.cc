// Tests of the RTL page-table walker (rtl/ptw.sv) through its adapter
// (rtl/rtl_ptw.cc), each walk also done by the C++ walker over an identical
// memory: Sv39 and Sv48 walks at every level, superpages aligned and
// misaligned, invalid and reserved PTEs at each level, A/D updates, PWC hits,
// replacement and flushes, mmu.nonleaf_wp, the privilege, SUM and MXR, the
// RTL's cycle count; a million random walks over random page tables in random
// modes; the lockstep pair and the faulty variants it must catch; mmusim
// --ptw rtl / lockstep.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "lockstep_ptw.h"
#include "mmu/page_table_walker.h"
#include "privilege_cases.h"
#include "pte_memory_log.h"
#include "rtl_ptw.h"
#include "sim_harness.h"

namespace mmusim::test {

#ifdef MMUSIM_HAVE_RTL

namespace {

constexpr Cycles kRead = 3, kWrite = 2;  // memory delays of the mock

// The random walks are a tenth as many under AddressSanitizer, whose build
// runs the verilated model about ten times slower (as test_rtl_lockstep.cc).
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kScale = 10;
#else
constexpr uint64_t kScale = 1;
#endif

// The C++ walker and the RTL walker side by side, each over its own copy of
// the same memory; every walk is done by both and compared in full.
struct Pair {
  PteMemoryLog cmem{kRead, kWrite}, rmem{kRead, kWrite};
  PageTableWalker cpp;
  std::unique_ptr<RtlPageTableWalker> rtl;

  Pair(PagingMode mode, unsigned pwc, bool nonleaf_wp = false, PtwBug bug = PtwBug::None)
      : cpp(mode, pwc, cmem, nonleaf_wp) {
    RtlPtwParams p;
    p.mode = mode;
    p.pwc_entries = pwc;
    p.nonleaf_wp = nonleaf_wp;
    p.bug = bug;
    rtl = make_rtl_ptw(p, rmem);
  }
  void set(PAddr pa, uint64_t pte) { cmem.mem[pa] = rmem.mem[pa] = pte; }
  uint64_t at(PAddr pa) const { return rmem.mem.count(pa) ? rmem.mem.at(pa) : 0; }

  // Walks with both; checks that they agree on everything but the cycles.
  WalkResult walk(Ppn root, Vpn vpn, AccessType access, AccessContext ctx = {}) {
    cmem.clear_log();
    rmem.clear_log();
    const WalkerStats cs = cpp.stats(), rs = rtl->stats();
    const WalkResult c = cpp.walk(root, vpn, access, ctx);
    const WalkResult r = rtl->walk(root, vpn, access, 7, ctx);
    INFO(fmt::format("walk vpn {:#x} root {:#x} access {} {}-mode sum {} mxr {}", vpn, root, int(access),
                     ctx.priv == Privilege::Supervisor ? 'S' : 'U', int(ctx.sum), int(ctx.mxr)));
    CHECK(to_string(r.fault) == std::string(to_string(c.fault)));
    CHECK(r.pte.raw == c.pte.raw);
    CHECK(r.pte_addr == c.pte_addr);
    CHECK(r.level == c.level);
    CHECK(r.write_protected == c.write_protected);
    CHECK(r.mem_reads == c.mem_reads);
    CHECK(rmem.reads == cmem.reads);
    CHECK(rmem.writes == cmem.writes);
    CHECK(rtl->stats().pwc_hits - rs.pwc_hits == cpp.stats().pwc_hits - cs.pwc_hits);
    CHECK(rtl->stats().pwc_misses - rs.pwc_misses == cpp.stats().pwc_misses - cs.pwc_misses);
    CHECK(rtl->error().empty());
    return r;
  }
  void flush() {
    cpp.flush_pwc();
    rtl->flush_pwc();
  }
};

// Sv39: root 0x100 [1] -> 0x200 [2] -> 0x300 [3] -> leaf 0x4242.
constexpr Ppn kRoot = 0x100, kL1 = 0x200, kL0 = 0x300;
const Vpn kVpn = vpn_of_indices(0, 1, 2, 3);

void build_sv39(Pair& p, uint64_t leaf = Pte::make(0x4242, V | R | W | U | A | D).raw) {
  p.set(slot_addr(kRoot, 1), Pte::make(kL1, V).raw);
  p.set(slot_addr(kL1, 2), Pte::make(kL0, V).raw);
  p.set(slot_addr(kL0, 3), leaf);
}

}  // namespace

TEST_CASE("rtl ptw: Sv39 4 KiB walk: three reads and the leaf in the RTL's exact cycles") {
  for (unsigned pwc : {0u, 16u}) {
    INFO("pwc " << pwc);
    Pair p(PagingMode::Sv39, pwc);
    build_sv39(p);
    const WalkResult r = p.walk(kRoot, kVpn, AccessType::Load);
    CHECK(r.fault == WalkFault::None);
    CHECK(p.rmem.reads == std::vector<PAddr>{slot_addr(kRoot, 1), slot_addr(kL1, 2), slot_addr(kL0, 3)});
    CHECK(p.rmem.writes.empty());
    CHECK(r.level == 0);
    CHECK(r.pte.ppn() == 0x4242);
    CHECK(r.pte_addr == slot_addr(kL0, 3));
    CHECK(r.mem_reads == 3);
    // Accept (+ the PWC probe), then 1 + delay per read.
    CHECK(r.cycles == (pwc ? 2 : 1) + 3 * (1 + kRead));
    CHECK(p.rtl->stats().walks == 1);
    CHECK(p.rtl->stats().cycles == r.cycles);
    CHECK(p.rtl->stats().pwc_misses == (pwc ? 1 : 0));
  }
}

TEST_CASE("rtl ptw: walks end in a leaf at every level with superpages aligned and misaligned") {
  for (unsigned pwc : {0u, 16u}) {
    const PagingMode mode = pwc ? PagingMode::Sv48 : PagingMode::Sv39;
    const unsigned levels = levels_of(mode);
    for (unsigned leaf_level = 0; leaf_level < levels; ++leaf_level) {
      for (bool misaligned : {false, true}) {
        if (leaf_level == 0 && misaligned) continue;
        INFO(fmt::format("levels {} leaf level {} misaligned {}", levels, leaf_level, misaligned));
        Pair p(mode, 16);
        // Tables 0x1000, 0x1001, ... one per level from the root down.
        const Vpn vpn = vpn_of_indices(levels == 4 ? 5 : 0, 6, 7, 8);
        Ppn table = 0x1000;
        for (unsigned l = levels - 1; l > leaf_level; --l) {
          p.set(slot_addr(table, vpn_index(vpn, l)), Pte::make(table + 1, V).raw);
          ++table;
        }
        const Ppn ppn = (Ppn{0x40} << (9 * leaf_level)) + (misaligned ? 1 : 0);
        p.set(slot_addr(table, vpn_index(vpn, leaf_level)), Pte::make(ppn, V | R | U).raw);
        const WalkResult r = p.walk(0x1000, vpn, AccessType::Load);
        CHECK(r.fault == (misaligned ? WalkFault::Malformed : WalkFault::None));
        CHECK(r.level == leaf_level);
        CHECK(r.mem_reads == levels - leaf_level);
        // A set, written back, only when the leaf is good.
        CHECK(p.rmem.writes.size() == (misaligned ? 0u : 1u));
        if (!misaligned) CHECK(p.at(slot_addr(table, vpn_index(vpn, leaf_level))) == Pte::make(ppn, V | R | U | A).raw);
      }
    }
  }
}

TEST_CASE("rtl ptw: invalid and reserved PTEs at each level and a pointer at level 0") {
  for (const PagingMode mode : {PagingMode::Sv39, PagingMode::Sv48}) {
    const unsigned levels = levels_of(mode);
    for (unsigned bad_level = 0; bad_level < levels; ++bad_level) {
      for (const uint64_t bad : {uint64_t{0}, uint64_t{V | W}, uint64_t{V | W | X | U}, uint64_t{R | W | U}}) {
        INFO(fmt::format("levels {} bad level {} pte {:#x}", levels, bad_level, bad));
        Pair p(mode, 4);
        const Vpn vpn = vpn_of_indices(levels == 4 ? 1 : 0, 2, 3, 4);
        Ppn table = 0x2000;
        for (unsigned l = levels - 1; l > bad_level; --l) {
          p.set(slot_addr(table, vpn_index(vpn, l)), Pte::make(table + 1, V).raw);
          ++table;
        }
        p.set(slot_addr(table, vpn_index(vpn, bad_level)), Pte::make(0x777, bad).raw);
        const WalkResult r = p.walk(0x2000, vpn, AccessType::Store);
        CHECK(r.fault == ((bad & V) ? WalkFault::Malformed : WalkFault::NotValid));
        CHECK(r.level == bad_level);
        CHECK(r.pte_addr == slot_addr(table, vpn_index(vpn, bad_level)));
        CHECK(r.mem_reads == levels - bad_level);
        CHECK(p.rmem.writes.empty());
      }
    }
    // A pointer with a bit the spec reserves in a non-leaf PTE (U, A, D), at each upper level.
    for (unsigned bad_level = 1; bad_level < levels; ++bad_level) {
      for (const uint64_t reserved : {uint64_t{U}, uint64_t{A}, uint64_t{D}}) {
        INFO(fmt::format("levels {} reserved bit {:#x} in the pointer at level {}", levels, reserved, bad_level));
        Pair p(mode, 4);
        const Vpn vpn = vpn_of_indices(levels == 4 ? 1 : 0, 2, 3, 4);
        Ppn table = 0x2000;
        for (unsigned l = levels - 1; l > 0; --l) {
          p.set(slot_addr(table, vpn_index(vpn, l)), Pte::make(table + 1, l == bad_level ? V | reserved : V).raw);
          ++table;
        }
        p.set(slot_addr(table, vpn_index(vpn, 0)), Pte::make(0x777, V | R | W | U | A | D).raw);
        const WalkResult r = p.walk(0x2000, vpn, AccessType::Load);
        CHECK(r.fault == WalkFault::Malformed);
        CHECK(r.level == bad_level);
        CHECK(r.mem_reads == levels - bad_level);
      }
    }
    // A pointer (V only) where the leaf should be.
    Pair p(mode, 4);
    const Vpn vpn = vpn_of_indices(0, 0, 0, 9);
    Ppn table = 0x3000;
    for (unsigned l = levels - 1; l > 0; --l) p.set(slot_addr(table + (levels - 1 - l), vpn_index(vpn, l)), Pte::make(table + levels - l, V).raw);
    p.set(slot_addr(table + levels - 1, 9), Pte::make(0x1, V).raw);
    const WalkResult r = p.walk(0x3000, vpn, AccessType::Load);
    CHECK(r.fault == WalkFault::Malformed);
    CHECK(r.level == 0);
  }
}

TEST_CASE("rtl ptw: permissions and A/D updates") {
  struct Case {
    uint64_t flags;
    AccessType access;
    WalkFault fault;
    uint64_t written;  // the flags written back, 0 = no write
  };
  const Case cases[] = {
      {V | R | U, AccessType::Load, WalkFault::None, V | R | U | A},
      {V | R | U | A, AccessType::Load, WalkFault::None, 0},
      {V | R | W | U, AccessType::Store, WalkFault::None, V | R | W | U | A | D},
      {V | R | W | U | A, AccessType::Store, WalkFault::None, V | R | W | U | A | D},
      {V | R | W | U | A | D, AccessType::Store, WalkFault::None, 0},
      {V | R | W | U | A, AccessType::Load, WalkFault::None, 0},  // a load never sets D
      {V | R | U, AccessType::Store, WalkFault::Permission, 0},
      {V | R | W, AccessType::Load, WalkFault::Permission, 0},  // not a user page
      {V | R | U, AccessType::Fetch, WalkFault::Permission, 0},
      {V | X | U, AccessType::Fetch, WalkFault::None, V | X | U | A},
      {V | X | U, AccessType::Load, WalkFault::Permission, 0},
  };
  for (const Case& c : cases) {
    INFO(fmt::format("flags {:#x} access {}", c.flags, int(c.access)));
    Pair p(PagingMode::Sv39, 16);
    build_sv39(p, Pte::make(0x4242, c.flags).raw);
    const WalkResult r = p.walk(kRoot, kVpn, c.access);
    CHECK(r.fault == c.fault);
    if (c.written) {
      REQUIRE(p.rmem.writes.size() == 1);
      CHECK(p.rmem.writes[0].first == slot_addr(kL0, 3));
      CHECK(p.rmem.writes[0].second == Pte::make(0x4242, c.written).raw);
      CHECK(r.pte.raw == Pte::make(0x4242, c.written).raw);
      CHECK(r.cycles == 2 + 3 * (1 + kRead) + (1 + kWrite));
      CHECK(p.rtl->stats().mem_writes == 1);
    } else {
      CHECK(p.rmem.writes.empty());
      CHECK(r.pte.raw == Pte::make(0x4242, c.flags).raw);
    }
  }
}

TEST_CASE("rtl ptw: privilege SUM and MXR against R/W/X/U: every rule of the C++ walker's table") {
  // The rows of test_page_table_walker.cc, walked by both (each on a fresh
  // leaf, A and D clear).
  unsigned allowed = 0;
  for (const PrivilegeCase& c : kPrivilegeCases) {
    INFO(c.describe());
    Pair p(PagingMode::Sv39, 16);
    build_sv39(p, Pte::make(0x4242, V | c.flags).raw);
    const WalkResult r = p.walk(kRoot, kVpn, c.access, c.ctx);
    CHECK(r.fault == c.fault());
    CHECK(r.mem_reads == 3);
    if (c.allowed) {
      ++allowed;
      const uint64_t written = V | c.flags | A | (c.access == AccessType::Store ? D : 0);
      CHECK(p.rmem.writes == std::vector<std::pair<PAddr, uint64_t>>{{slot_addr(kL0, 3), Pte::make(0x4242, written).raw}});
    } else {
      CHECK(p.rmem.writes.empty());
      CHECK(r.pte.raw == Pte::make(0x4242, V | c.flags).raw);
    }
  }
  CHECK(allowed == 15);
}

TEST_CASE("rtl ptw: a walk that faults in S-mode succeeds in U-mode and the reverse with no A/D write on the fault") {
  const AccessContext user, supervisor{Privilege::Supervisor, false, false};
  // A user page: S-mode without SUM faults (nothing written), U-mode stores
  // through the PWC entries the S-mode walk left.
  Pair p(PagingMode::Sv39, 16);
  build_sv39(p, Pte::make(0x4242, V | R | W | U).raw);
  WalkResult r = p.walk(kRoot, kVpn, AccessType::Store, supervisor);
  CHECK(r.fault == WalkFault::Permission);
  CHECK(p.rmem.writes.empty());
  r = p.walk(kRoot, kVpn, AccessType::Store, user);
  CHECK(r.fault == WalkFault::None);
  CHECK(r.mem_reads == 1);
  CHECK(p.at(slot_addr(kL0, 3)) == Pte::make(0x4242, V | R | W | U | A | D).raw);
  // A supervisor page: U-mode faults, S-mode stores.
  Pair q(PagingMode::Sv48, 4);
  const Vpn vpn = vpn_of_indices(1, 2, 3, 4);
  q.set(slot_addr(0x10, 1), Pte::make(0x20, V).raw);
  q.set(slot_addr(0x20, 2), Pte::make(0x30, V).raw);
  q.set(slot_addr(0x30, 3), Pte::make(0x40, V).raw);
  q.set(slot_addr(0x40, 4), Pte::make(0x999, V | R | W).raw);
  r = q.walk(0x10, vpn, AccessType::Store, user);
  CHECK(r.fault == WalkFault::Permission);
  CHECK(q.rmem.writes.empty());
  r = q.walk(0x10, vpn, AccessType::Store, supervisor);
  CHECK(r.fault == WalkFault::None);
  CHECK(q.at(slot_addr(0x40, 4)) == Pte::make(0x999, V | R | W | A | D).raw);
  CHECK(q.rtl->stats().mem_writes == 1);
}

TEST_CASE("rtl ptw: PWC hits at each level and per root and a flush") {
  Pair p(PagingMode::Sv48, 16);
  // root 0x10 [0] -> 0x20 [1] -> 0x30 [2] -> 0x40; leaves in 0x40 and 0x41.
  p.set(slot_addr(0x10, 0), Pte::make(0x20, V).raw);
  p.set(slot_addr(0x20, 1), Pte::make(0x30, V).raw);
  p.set(slot_addr(0x30, 2), Pte::make(0x40, V).raw);
  p.set(slot_addr(0x30, 3), Pte::make(0x41, V).raw);
  p.set(slot_addr(0x40, 5), Pte::make(0x999, V | R | U | A).raw);
  p.set(slot_addr(0x40, 6), Pte::make(0x998, V | R | U | A).raw);
  p.set(slot_addr(0x41, 5), Pte::make(0x997, V | R | U | A).raw);
  CHECK(p.walk(0x10, vpn_of_indices(0, 1, 2, 5), AccessType::Load).mem_reads == 4);
  CHECK(p.rtl->pwc_valid_entries() == 3);
  CHECK(p.rtl->last_pwc_miss());
  // Same leaf table: the level-0 entry hits, one read.
  const WalkResult same = p.walk(0x10, vpn_of_indices(0, 1, 2, 6), AccessType::Load);
  CHECK(same.mem_reads == 1);
  CHECK(p.rtl->last_pwc_hit());
  CHECK(same.cycles == 2 + 1 * (1 + kRead));
  // Another leaf table under the same level-1 table: the level-1 entry hits, two reads.
  CHECK(p.walk(0x10, vpn_of_indices(0, 1, 3, 5), AccessType::Load).mem_reads == 2);
  CHECK(p.rtl->pwc_valid_entries() == 4);
  // Another root: its own entries.
  p.set(slot_addr(0x11, 0), Pte::make(0x20, V).raw);
  CHECK(p.walk(0x11, vpn_of_indices(0, 1, 2, 5), AccessType::Load).mem_reads == 4);
  CHECK(p.rtl->pwc_valid_entries() == 7);
  p.flush();
  CHECK(p.rtl->pwc_valid_entries() == 0);
  CHECK(p.walk(0x10, vpn_of_indices(0, 1, 2, 5), AccessType::Load).mem_reads == 4);
  CHECK(p.rtl->stats().pwc_hits == 2);
  CHECK(p.rtl->stats().pwc_misses == 3);
}

TEST_CASE("rtl ptw: PWC replacement is the C++ walker's exact LRU") {
  // A 4-entry PWC, Sv39: root 0x10 [0] -> level-1 table 0x20, whose slot t
  // points to leaf table 0x40 + t. A walk of leaf table t hits its entry Tt
  // (1 read), or hits the level-1 entry R (refreshing it) and inserts Tt (2
  // reads), or misses (3 reads, inserting R and Tt). Once full, an insert
  // evicts the least recently used entry.
  Pair p(PagingMode::Sv39, 4);
  p.set(slot_addr(0x10, 0), Pte::make(0x20, V).raw);
  for (unsigned t = 0; t < 4; ++t) {
    p.set(slot_addr(0x20, t), Pte::make(0x40 + t, V).raw);
    p.set(slot_addr(0x40 + t, 0), Pte::make(0x8000 + t, V | R | U | A).raw);
  }
  std::string pattern;
  for (unsigned t : {0, 0, 0, 1, 0, 0, 1, 0, 2, 0, 1, 1, 0, 0, 3, 1, 2, 1, 0, 3, 2, 0, 1, 3}) {
    const WalkResult r = p.walk(0x10, vpn_of_indices(0, 0, t, 0), AccessType::Load);
    CHECK(r.pte.ppn() == 0x8000 + t);
    pattern += char('0' + r.mem_reads);
  }
  // By hand, LRU first: after walk 9 (T2 inserted) the PWC is full (T1 T0 R
  // T2); walk 15 (T3) evicts T2; walk 17 (T2) evicts T0, 19 (T0) T3, 20 (T3)
  // T2, 21 (T2) T1, 23 (T1) T3, 24 (T3) T2.
  CHECK(pattern == "311211112111112121222122");
  CHECK(p.rtl->pwc_valid_entries() == 4);
}

TEST_CASE("rtl ptw: mmu.nonleaf_wp: a write-protecting pointer forbids stores below it also through the PWC") {
  for (bool enabled : {false, true}) {
    INFO("nonleaf_wp " << enabled);
    Pair p(PagingMode::Sv39, 16, enabled);
    p.set(slot_addr(kRoot, 1), Pte::make(kL1, V).raw);
    p.set(slot_addr(kL1, 2), Pte::make(kL0, V | WP).raw);
    p.set(slot_addr(kL0, 3), Pte::make(0x4242, V | R | W | U | A | D).raw);
    p.set(slot_addr(kL0, 4), Pte::make(0x4243, V | R | W | U).raw);
    WalkResult r = p.walk(kRoot, kVpn, AccessType::Store);
    CHECK(r.fault == (enabled ? WalkFault::Permission : WalkFault::None));
    CHECK(r.write_protected == enabled);
    // Through the PWC (the leaf table's entry carries the protection).
    r = p.walk(kRoot, kVpn + 1, AccessType::Store);
    CHECK(r.mem_reads == 1);
    CHECK(r.fault == (enabled ? WalkFault::Permission : WalkFault::None));
    CHECK(p.rmem.writes.size() == (enabled ? 0u : 1u));  // nothing written under protection
    r = p.walk(kRoot, kVpn + 1, AccessType::Load);
    CHECK(r.fault == WalkFault::None);
    CHECK(r.write_protected == enabled);
  }
}

TEST_CASE("rtl ptw: configurations without a verilated variant are refused with the list") {
  PteMemoryLog m{kRead, kWrite};
  RtlPtwParams p;
  p.pwc_entries = 7;
  try {
    make_rtl_ptw(p, m);
    FAIL("no error");
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("mmu.pwc_entries = 7") != std::string::npos);
    CHECK(std::string(e.what()).find("sv39 pwc 16") != std::string::npos);
  }
  CHECK(rtl_ptw_variants().find("sv48 pwc 16") != std::string::npos);
  CHECK(rtl_ptw_variants().find("faulty") == std::string::npos);
}

namespace {

// A random page-table world, built by its own small PTE builder (not the
// kernel's): a pool of table frames, a few roots, PTEs of every kind over a
// small index space (so walks share tables and the PWC hits and evicts), and
// mutations between walks, sometimes followed by a PWC flush and sometimes
// not (both walkers then see the same stale entries).
class RandomTables {
 public:
  RandomTables(Pair& p, unsigned levels, uint64_t seed) : p_(p), levels_(levels), rng_(seed) {
    for (Ppn t = kFirst; t < kFirst + kTables; ++t)
      for (unsigned i = 0; i < kIndices; ++i) p_.set(slot_addr(t, i), random_pte());
  }
  Ppn root() { return kFirst + rng_() % kRoots; }
  Vpn vpn() {
    Vpn v = 0;
    for (unsigned l = 0; l < levels_; ++l) v |= Vpn{unsigned(rng_() % kIndices)} << (9 * l);
    // High VPN bits beyond the mode's: the PWC compares the whole VPN.
    if (rng_() % 16 == 0) v |= Vpn{rng_() % 4} << (9 * levels_);
    return v;
  }
  AccessType access() { return AccessType(rng_() % 3); }
  // U- or S-mode, SUM and MXR each drawn half the time.
  AccessContext context() {
    const unsigned bits = unsigned(rng_() % 8);
    return {(bits & 1) ? Privilege::Supervisor : Privilege::User, (bits & 2) != 0, (bits & 4) != 0};
  }
  void mutate() {
    const Ppn t = kFirst + rng_() % kTables;
    p_.set(slot_addr(t, unsigned(rng_() % kIndices)), random_pte());
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  static constexpr Ppn kFirst = 0x100;
  static constexpr unsigned kTables = 24, kRoots = 3, kIndices = 4;

  uint64_t random_pte() {
    const unsigned kind = rng_() % 16;
    const uint64_t junk = (rng_() % 4 == 0) ? (rng_() & (Pte::WP | Pte::G | Pte::A | Pte::D | Pte::U)) : 0;
    if (kind < 2) return rng_() & ~uint64_t{V};                                  // invalid
    if (kind < 9) return Pte::make(kFirst + rng_() % kTables, V | junk).raw;  // pointer
    // A leaf: random W/X/U/A/D/G/WP, R mostly (W without R sometimes), a PPN
    // aligned for every level mostly, else with random low bits (misaligned
    // as a superpage).
    uint64_t flags = V | (rng_() & (W | X | U | A | D | Pte::G | Pte::WP));
    if (rng_() % 8 != 0) flags |= R;
    if (!(flags & (R | W | X))) flags |= R;
    Ppn ppn = (rng_() & 0xffff) << 27;
    if (rng_() % 4 == 0) ppn |= rng_() & ((Ppn{1} << (9 * (rng_() % 4))) - 1);
    return Pte::make(ppn, flags).raw;
  }

  Pair& p_;
  unsigned levels_;
  std::mt19937_64 rng_;
};

// One walk by both walkers of `p`; "" if they agree on everything but the
// cycles, else both answers.
std::string compare_walk(Pair& p, Ppn root, Vpn vpn, AccessType access, AccessContext ctx, WalkResult& c) {
  p.cmem.clear_log();
  p.rmem.clear_log();
  const WalkerStats cs = p.cpp.stats(), rs = p.rtl->stats();
  c = p.cpp.walk(root, vpn, access, ctx);
  const WalkResult r = p.rtl->walk(root, vpn, access, 1, ctx);
  const bool same = c.fault == r.fault && c.pte == r.pte && c.pte_addr == r.pte_addr && c.level == r.level &&
                    c.write_protected == r.write_protected && c.mem_reads == r.mem_reads &&
                    p.cmem.reads == p.rmem.reads && p.cmem.writes == p.rmem.writes &&
                    p.cpp.stats().pwc_hits - cs.pwc_hits == p.rtl->stats().pwc_hits - rs.pwc_hits &&
                    p.rtl->error().empty();
  if (same) return "";
  return fmt::format("vpn {:#x} root {:#x} access {} {}-mode sum {} mxr {}: C++ {} pte {:#x} at {:#x} level {} "
                     "reads {}; RTL {} pte {:#x} at {:#x} level {} reads {}; {}",
                     vpn, root, int(access), ctx.priv == Privilege::Supervisor ? 'S' : 'U', int(ctx.sum),
                     int(ctx.mxr), to_string(c.fault), c.pte.raw, c.pte_addr, c.level, c.mem_reads,
                     to_string(r.fault), r.pte.raw, r.pte_addr, r.level, r.mem_reads, p.rtl->error());
}

// What the random walks reached, summed over the streams.
struct RandomOutcomes {
  std::array<uint64_t, size_t(WalkFault::Count)> faults{};  // per WalkFault
  uint64_t supervisor_walks = 0;
  uint64_t sum_user_page = 0;      // an S-mode load or store of a U page allowed by SUM
  uint64_t supervisor_denied = 0;  // an S-mode walk to a U page refused (no SUM, a fetch, or R/W/X)
  uint64_t mxr_read = 0;           // a load of a leaf without R allowed by MXR
};

// n random walks compared walk by walk, each in a random mode (priv, SUM,
// MXR); returns the RTL's statistics and counts the outcomes.
WalkerStats random_walks(PagingMode mode, unsigned pwc, bool nonleaf_wp, uint64_t walks, uint64_t seed,
                         RandomOutcomes& out) {
  walks /= kScale;
  Pair p(mode, pwc, nonleaf_wp);
  RandomTables t(p, levels_of(mode), seed);
  uint64_t bad = 0;
  for (uint64_t i = 0; i < walks && bad == 0; ++i) {
    const Ppn root = t.root();
    const Vpn vpn = t.vpn();
    const AccessType access = t.access();
    const AccessContext ctx = t.context();
    WalkResult c;
    const std::string diff = compare_walk(p, root, vpn, access, ctx, c);
    ++out.faults[size_t(c.fault)];
    const bool leaf = c.fault == WalkFault::None || c.fault == WalkFault::Permission;
    if (ctx.priv == Privilege::Supervisor) {
      ++out.supervisor_walks;
      if (leaf && c.pte.user()) ++(c.fault == WalkFault::None ? out.sum_user_page : out.supervisor_denied);
    }
    if (c.fault == WalkFault::None && access == AccessType::Load && !c.pte.readable()) ++out.mxr_read;
    if (!diff.empty()) {
      ++bad;
      INFO(fmt::format("walk {}: {}", i, diff));
      CHECK(diff.empty());
    }
    const unsigned event = unsigned(t.rng()() % 64);
    if (event < 6) t.mutate();
    if (event == 0 || event == 7) p.flush();
  }
  CHECK(bad == 0);
  CHECK(p.rtl->stats().walks == walks);
  CHECK(p.rtl->stats().mem_reads == p.cpp.stats().mem_reads);
  CHECK(p.rtl->stats().mem_writes == p.cpp.stats().mem_writes);
  CHECK(p.rtl->stats().pwc_misses == p.cpp.stats().pwc_misses);
  return p.rtl->stats();
}

}  // namespace

TEST_CASE("rtl ptw: a million random walks over random page tables compared with the C++ walker") {
  // 4-entry PWCs (evictions on most walks), the default 16 entries with Sv48
  // and nonleaf_wp, and no PWC; every walk in a random mode.
  RandomOutcomes out;
  const WalkerStats a = random_walks(PagingMode::Sv39, 4, false, 400'000, 1, out);
  const WalkerStats b = random_walks(PagingMode::Sv48, 4, true, 200'000, 2, out);
  const WalkerStats c = random_walks(PagingMode::Sv48, 16, true, 250'000, 3, out);
  const WalkerStats d = random_walks(PagingMode::Sv39, 0, false, 150'000, 4, out);
  CHECK(a.walks + b.walks + c.walks + d.walks == 1'000'000 / kScale);
  // Every outcome is common.
  for (size_t f = 0; f < out.faults.size(); ++f) {
    INFO(to_string(WalkFault(f)) << ": " << out.faults[f]);
    CHECK(out.faults[f] > 10'000 / kScale);
  }
  // The streams reach every outcome: hits, misses, writes.
  CHECK(a.pwc_hits > 10'000 / kScale);
  CHECK(a.pwc_misses > 10'000 / kScale);
  CHECK(c.pwc_hits > 10'000 / kScale);
  CHECK(a.mem_writes > 1'000 / kScale);
  CHECK(d.pwc_hits == 0);
  // And every privilege rule: S-mode walks, U pages reached through SUM and
  // refused without it, X-only pages read through MXR.
  INFO(fmt::format("supervisor {}, SUM {}, refused {}, MXR {}", out.supervisor_walks, out.sum_user_page,
                   out.supervisor_denied, out.mxr_read));
  CHECK(out.supervisor_walks > 400'000 / kScale);
  CHECK(out.sum_user_page > 10'000 / kScale);
  CHECK(out.supervisor_denied > 10'000 / kScale);
  CHECK(out.mxr_read > 1'000 / kScale);
}

TEST_CASE("rtl ptw: the random walks catch the faulty variant that ignores SUM") {
  Pair p(PagingMode::Sv39, 4, false, PtwBug::Sum);
  RandomTables t(p, 3, 5);
  uint64_t first = 0;
  std::string diff;
  for (uint64_t i = 1; i <= 10'000 && diff.empty(); ++i) {
    const Ppn root = t.root();
    const Vpn vpn = t.vpn();
    const AccessType access = t.access();
    const AccessContext ctx = t.context();
    WalkResult c;
    diff = compare_walk(p, root, vpn, access, ctx, c);
    first = i;
  }
  INFO(diff);
  REQUIRE_FALSE(diff.empty());
  // Only an S-mode load or store with SUM of a U page tells the two apart:
  // the C++ walker allows it, the faulty RTL refuses it.
  CHECK(diff.find("S-mode sum 1") != std::string::npos);
  CHECK(diff.find("C++ none") != std::string::npos);
  CHECK(diff.find("RTL permission") != std::string::npos);
  CHECK(first < 1'000);
}

TEST_CASE("rtl ptw: the lockstep pair over one memory: only the C++ walker writes and nothing diverges") {
  PteMemoryLog mem{kRead, kWrite};
  mem.mem[slot_addr(kRoot, 1)] = Pte::make(kL1, V).raw;
  mem.mem[slot_addr(kL1, 2)] = Pte::make(kL0, V).raw;
  mem.mem[slot_addr(kL0, 3)] = Pte::make(0x4242, V | R | W | U).raw;
  LockstepPageTableWalker pair(
      mem, [](PteMemory& m) { return std::make_unique<CppPageTableWalker>(PagingMode::Sv39, 16, m, false); },
      [](PteMemory& m) {
        RtlPtwParams p;
        return make_rtl_ptw(p, m);
      });
  const WalkResult r = pair.walk(kRoot, kVpn, AccessType::Store, 3);
  CHECK(r.fault == WalkFault::None);
  CHECK(r.cycles == 3 * kRead + kWrite);  // the C++ walker's timing
  // One write of A|D: the RTL's was compared, not performed.
  REQUIRE(mem.writes.size() == 1);
  CHECK(mem.writes[0].second == Pte::make(0x4242, V | R | W | U | A | D).raw);
  CHECK(mem.reads.size() == 3);
  CHECK(pair.walk(kRoot, kVpn, AccessType::Store, 3).mem_reads == 1);
  pair.flush_pwc();
  CHECK(pair.walk(kRoot, kVpn, AccessType::Load, 3).mem_reads == 3);
  CHECK(pair.walks() == 3);
  CHECK_FALSE(pair.diverged());
  CHECK(pair.stats().walks == 3);
}

namespace {

// A lockstep pair whose DUT is a faulty RTL variant, over `mem`.
std::unique_ptr<LockstepPageTableWalker> faulty_pair(PteMemoryLog& mem, PtwBug bug) {
  auto pair = std::make_unique<LockstepPageTableWalker>(
      mem, [](PteMemory& m) { return std::make_unique<CppPageTableWalker>(PagingMode::Sv39, 4, m, false); },
      [bug](PteMemory& m) {
        RtlPtwParams p;
        p.pwc_entries = 4;
        p.bug = bug;
        return make_rtl_ptw(p, m);
      });
  pair->set_cycle_source([] { return uint64_t{1234}; });
  return pair;
}

}  // namespace

TEST_CASE("rtl ptw: lockstep catches a wrong superpage alignment check") {
  PteMemoryLog mem{kRead, kWrite};
  mem.mem[slot_addr(kRoot, 1)] = Pte::make(kL1, V).raw;
  mem.mem[slot_addr(kL1, 2)] = Pte::make(0x4201, V | R | U | A).raw;  // a 2 MiB leaf, misaligned
  mem.mem[slot_addr(kL1, 4)] = Pte::make(0x4200, V | R | U | A).raw;  // aligned
  auto pair = faulty_pair(mem, PtwBug::Align);
  std::string seen;
  pair->set_on_divergence([&](const std::string& r) { seen = r; });
  CHECK(pair->walk(kRoot, vpn_of_indices(0, 1, 4, 0), AccessType::Load, 1).fault == WalkFault::None);
  CHECK_FALSE(pair->diverged());
  CHECK(pair->walk(kRoot, vpn_of_indices(0, 1, 2, 0), AccessType::Load, 1).fault == WalkFault::Malformed);
  REQUIRE(pair->diverged());
  CHECK(seen == pair->report());
  INFO(pair->report());
  CHECK(pair->report().find("lockstep divergence at cycle 1234 (walk 2") != std::string::npos);
  CHECK(pair->report().find("walk:         vpn 0x40400 asid 1 root 0x100 load") != std::string::npos);
  CHECK(pair->report().find("C++ walker:   fault malformed") != std::string::npos);
  CHECK(pair->report().find("RTL walker:   fault none") != std::string::npos);
}

TEST_CASE("rtl ptw: lockstep catches a lost dirty-bit write") {
  PteMemoryLog mem{kRead, kWrite};
  mem.mem[slot_addr(kRoot, 1)] = Pte::make(kL1, V).raw;
  mem.mem[slot_addr(kL1, 2)] = Pte::make(kL0, V).raw;
  mem.mem[slot_addr(kL0, 3)] = Pte::make(0x4242, V | R | W | U | A).raw;
  auto pair = faulty_pair(mem, PtwBug::LostDirty);
  pair->walk(kRoot, kVpn, AccessType::Load, 1);
  CHECK_FALSE(pair->diverged());
  pair->walk(kRoot, kVpn, AccessType::Store, 1);
  REQUIRE(pair->diverged());
  INFO(pair->report());
  CHECK(pair->report().find("writes [0x300018 = 0x10908d7]") != std::string::npos);
  CHECK(pair->report().find("writes []") != std::string::npos);
}

TEST_CASE("rtl ptw: lockstep catches a stale PWC entry left by a flush") {
  PteMemoryLog mem{kRead, kWrite};
  mem.mem[slot_addr(kRoot, 1)] = Pte::make(kL1, V).raw;
  mem.mem[slot_addr(kL1, 2)] = Pte::make(kL0, V).raw;
  mem.mem[slot_addr(kL0, 3)] = Pte::make(0x4242, V | R | U | A).raw;
  mem.mem[slot_addr(0x301, 3)] = Pte::make(0x5555, V | R | U | A).raw;
  auto pair = faulty_pair(mem, PtwBug::StalePwc);
  CHECK(pair->walk(kRoot, kVpn, AccessType::Load, 1).pte.ppn() == 0x4242);
  // The kernel moves the leaf table and flushes the walk cache.
  mem.mem[slot_addr(kL1, 2)] = Pte::make(0x301, V).raw;
  pair->flush_pwc();
  CHECK(pair->walk(kRoot, kVpn, AccessType::Load, 1).pte.ppn() == 0x5555);
  REQUIRE(pair->diverged());
  INFO(pair->report());
  CHECK(pair->report().find("after 1 PWC flushes") != std::string::npos);
  // The stale entry is the first one inserted, the level-1 table's: the RTL
  // skips the root, the C++ walker (flushed) reads it.
  CHECK(pair->report().find("3 reads [0x100008 0x200010 0x301018], writes [], pwc miss") != std::string::npos);
  CHECK(pair->report().find("2 reads [0x200010 0x301018], writes [], pwc hit") != std::string::npos);
}

TEST_CASE("rtl ptw: lockstep catches SUM not latched and its report shows the privilege") {
  PteMemoryLog mem{kRead, kWrite};
  mem.mem[slot_addr(kRoot, 1)] = Pte::make(kL1, V).raw;
  mem.mem[slot_addr(kL1, 2)] = Pte::make(kL0, V).raw;
  mem.mem[slot_addr(kL0, 3)] = Pte::make(0x4242, V | R | W | U | A).raw;
  auto pair = faulty_pair(mem, PtwBug::Sum);
  const AccessContext supervisor{Privilege::Supervisor, false, false}, with_sum{Privilege::Supervisor, true, false};
  // U-mode, and S-mode without SUM, agree: the faulty RTL differs only with SUM.
  CHECK(pair->walk(kRoot, kVpn, AccessType::Load, 1).fault == WalkFault::None);
  CHECK(pair->walk(kRoot, kVpn, AccessType::Store, 1, supervisor).fault == WalkFault::Permission);
  CHECK_FALSE(pair->diverged());
  CHECK(pair->walk(kRoot, kVpn, AccessType::Store, 1, with_sum).fault == WalkFault::None);
  REQUIRE(pair->diverged());
  INFO(pair->report());
  CHECK(pair->report().find("(walk 3,") != std::string::npos);
  CHECK(pair->report().find("walk:         vpn 0x40403 asid 1 root 0x100 store, S-mode, sum 1, mxr 0\n") !=
        std::string::npos);
  CHECK(pair->report().find("C++ walker:   fault none, pte 0x10908d7 at 0x300018 level 0") != std::string::npos);
  CHECK(pair->report().find("RTL walker:   fault permission, pte 0x1090857 at 0x300018 level 0") !=
        std::string::npos);
}

TEST_CASE("rtl ptw: a faulty walker in a whole simulation stops it with exit 1 and the report") {
  // Without the zero page a load maps a writable, clean page (A set, D
  // clear); the store after it walks again to set D, which the faulty
  // walker does not write.
  std::string trace = "1 mmap 0x10000000 1M rw\n";
  for (int page = 0; page < 64; ++page) {
    trace += fmt::format("1 load {:#x}\n", 0x10000000 + page * 4096);
    trace += fmt::format("1 store {:#x} {}\n", 0x10000000 + page * 4096, page);
  }
  const unsigned lines = 1 + 2 * 64;
  bool swapped = false;
  const RunResult r = simulate(trace, {"ptw.impl=lockstep", "mmu.pwc_entries=4", "kernel.zero_page=false"},
                               [&](Top& top, const TraceRecord&) {
                                 if (swapped) return;
                                 swapped = true;
                                 REQUIRE(top.ptw_locksteps.size() == 1);
                                 WalkerModel& dut = top.ptw_locksteps[0]->replace_dut([](PteMemory& m) {
                                   RtlPtwParams p;
                                   p.pwc_entries = 4;
                                   p.bug = PtwBug::LostDirty;
                                   return make_rtl_ptw(p, m);
                                 });
                                 top.rtl_ptws[0] = dynamic_cast<RtlPageTableWalker*>(&dut);
                               });
  INFO(r.error);
  CHECK(r.exit_code == 1);
  CHECK(r.error.find("lockstep divergence at cycle") != std::string::npos);
  CHECK(r.error.find("walk:         vpn 0x10000 asid") != std::string::npos);
  CHECK(r.error.find(" store") != std::string::npos);
  CHECK(r.error.find("RTL walker:   fault none") != std::string::npos);
  CHECK(r.stats["lockstep.walk_divergences"] == 1);
  // The first page's load walks twice (a fault, then the retry), its store
  // walks to set D: the third walk diverged.
  CHECK(r.stats["lockstep.walks"] == 3);
  CHECK(r.stats["trace.records"].get<uint64_t>() < lines);
}

TEST_CASE("rtl ptw: a whole simulation under --ptw rtl and lockstep: the model's statistics") {
  std::string text = "1 mmap 0x10000000 4M rw\n";
  for (int page = 0; page < 1024; page += 3) text += fmt::format("1 store {:#x} {}\n", 0x10000000 + page * 4096, page);
  text += "1 fork 2\n";
  for (int page = 0; page < 1024; page += 5) text += fmt::format("2 store {:#x} 7\n", 0x10000000 + page * 4096);
  for (int page = 0; page < 1024; page += 6) text += fmt::format("1 load {:#x} expect={}\n", 0x10000000 + page * 4096, page);
  text += "2 exit\n1 exit\n";
  TempFile trace(text);
  auto run = [&](std::vector<std::string> args) {
    TempFile stats("", ".json");
    args.insert(args.end(), {"-q", "--stats", stats.path(), trace.path()});
    const ProcessResult p = run_mmusim(args);
    INFO(p.err);
    REQUIRE(p.exit_code == 0);
    std::ifstream in(stats.path());
    std::stringstream s;
    s << in.rdbuf();
    return nlohmann::json::parse(s.str());
  };
  const auto model = run({});
  const auto rtl = run({"--ptw", "rtl"});
  const auto lock = run({"--ptw", "lockstep", "--tlb", "lockstep"});
  CHECK(lock["lockstep.walks"] == model["ptw.walks"]);
  CHECK(lock["lockstep.walk_divergences"] == 0);
  CHECK(lock["lockstep.divergences"] == 0);
  CHECK(model["ptw.pwc_hits"].get<uint64_t>() > 100);
  for (const char* key : {"ptw.walks", "ptw.mem_reads", "ptw.mem_writes", "ptw.pwc_hits", "ptw.pwc_misses",
                          "faults.cow_copy", "verify.load_hash", "sim.cycles", "ptw.cycles"}) {
    INFO(key);
    CHECK(lock[key] == model[key]);
  }
  for (const char* key : {"ptw.walks", "ptw.mem_reads", "ptw.mem_writes", "ptw.pwc_hits", "faults.cow_copy",
                          "verify.load_hash"}) {
    INFO(key);
    CHECK(rtl[key] == model[key]);
  }
  // The RTL charges its own cycles: per walk the request and the PWC probe,
  // and one cycle per memory access on top of the memory's latency.
  const uint64_t walks = model["ptw.walks"], accesses = model["ptw.mem_reads"].get<uint64_t>() +
                                                        model["ptw.mem_writes"].get<uint64_t>();
  CHECK(rtl["ptw.cycles"].get<uint64_t>() == model["ptw.cycles"].get<uint64_t>() + 2 * walks + accesses);
  CHECK(rtl["sim.cycles"].get<uint64_t>() > model["sim.cycles"].get<uint64_t>());
}

TEST_CASE("rtl ptw: mmusim --ptw usage errors exit 2 naming the keys and --vcd writes the walker's VCD") {
  TempFile trace("1 mmap 0x1000 8K rw\n1 store 0x1000 1\n1 load 0x1000 expect=1\n1 store 0x2000 2\n");
  auto r = run_mmusim({"--ptw", "rtl", "--set", "mmu.pwc_entries=7", trace.path()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("ptw.impl = rtl") != std::string::npos);
  CHECK(r.err.find("mmu.pwc_entries = 7") != std::string::npos);
  CHECK(r.err.find("sv48 pwc 16") != std::string::npos);
  r = run_mmusim({"--ptw", "verilog", trace.path()});
  CHECK(r.exit_code == 2);

  TempFile vcd("", ".vcd");
  const std::string ptw_vcd = vcd.path().substr(0, vcd.path().size() - 4) + ".ptw.vcd";
  r = run_mmusim({"-q", "--ptw", "lockstep", "--vcd", vcd.path(), trace.path()});
  INFO(r.output << r.err);
  CHECK(r.exit_code == 0);
  REQUIRE(file_exists(ptw_vcd));
  std::ifstream in(ptw_vcd);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("mem_req_addr_o") != std::string::npos);
  CHECK(text.str().find("pwc_valid_q") != std::string::npos);
  std::remove(ptw_vcd.c_str());
}

#else  // !MMUSIM_HAVE_RTL

TEST_CASE("rtl ptw: without the RTL --ptw rtl and lockstep are exit-2 errors") {
  TempFile trace("1 mmap 0x1000 4K rw\n1 store 0x1000 1\n");
  for (const char* impl : {"rtl", "lockstep"}) {
    const auto r = run_mmusim({"--ptw", impl, trace.path()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("MMUSIM_RTL=OFF") != std::string::npos);
  }
}

#endif

}  // namespace mmusim::test
