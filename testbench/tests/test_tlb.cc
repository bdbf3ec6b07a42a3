// Unit tests of the C++ TLB (models/mmu/tlb.cc): replacement policies with exact
// hit/miss patterns and victim ways, ASIDs, global entries, invalidations,
// superpages, constructor validation.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "mmu/tlb.h"
#include "tlb_test_support.h"

namespace mmusim::test {

namespace {

struct Trace {
  std::string pattern;            // 'H' or 'M' per access
  std::vector<unsigned> victims;  // way used by the fill after each miss
};

// Looks up each vpn; on a miss asks victim_way(), fills (ppn = vpn + 1000) and
// checks that the fill went to exactly that way.
Trace run(Tlb& tlb, const std::vector<Vpn>& seq, Asid asid = 1) {
  Trace t;
  for (Vpn v : seq) {
    if (const TlbEntry* e = tlb.lookup(v, asid)) {
      CHECK(e->vpn == v);
      CHECK(e->ppn == v + 1000);
      t.pattern += 'H';
      continue;
    }
    t.pattern += 'M';
    const unsigned way = tlb.victim_way(v);
    tlb.fill(entry(v, v + 1000, asid));
    const TlbEntry* s = tlb.slot(tlb.set_of(v), way);
    REQUIRE(s != nullptr);
    CHECK(s->vpn == v);
    t.victims.push_back(way);
  }
  return t;
}

unsigned valid_slots(const Tlb& tlb) {
  unsigned n = 0;
  for (unsigned s = 0; s < tlb.sets(); ++s)
    for (unsigned w = 0; w < tlb.ways(); ++w)
      if (tlb.slot(s, w) != nullptr) ++n;
  return n;
}

const std::vector<Vpn> kFaSeq = {1, 2, 3, 4, 1, 5, 2, 1, 6, 3, 1, 4};
const std::vector<Vpn> k2wSeq = {1, 5, 2, 1, 9, 5, 6, 10, 2, 1};

}  // namespace

TEST_CASE("tlb: parse_policy", "[tlb]") {
  CHECK(parse_policy("lru") == ReplacementPolicy::Lru);
  CHECK(parse_policy("plru") == ReplacementPolicy::Plru);
  CHECK(parse_policy("fifo") == ReplacementPolicy::Fifo);
  CHECK(parse_policy("random") == ReplacementPolicy::Random);
  CHECK_THROWS_AS(parse_policy("LRU"), std::invalid_argument);
  CHECK_THROWS_AS(parse_policy(""), std::invalid_argument);
  CHECK_THROWS_AS(parse_policy("mru"), std::invalid_argument);
}

TEST_CASE("tlb: constructor validates geometry", "[tlb]") {
  using P = ReplacementPolicy;
  CHECK_THROWS_AS(Tlb(tlb_params(0, 1)), std::invalid_argument);
  CHECK_THROWS_AS(Tlb(tlb_params(4, 0)), std::invalid_argument);
  CHECK_THROWS_AS(Tlb(tlb_params(4, 8)), std::invalid_argument);
  CHECK_THROWS_AS(Tlb(tlb_params(6, 4)), std::invalid_argument);
  CHECK_THROWS_AS(Tlb(tlb_params(6, 3, P::Plru)), std::invalid_argument);
  CHECK_THROWS_AS(Tlb(tlb_params(12, 6, P::Plru)), std::invalid_argument);
  CHECK_NOTHROW(Tlb(tlb_params(12, 3)));
  CHECK_NOTHROW(Tlb(tlb_params(12, 3, P::Fifo)));
  CHECK_NOTHROW(Tlb(tlb_params(12, 3, P::Random)));
  CHECK_NOTHROW(Tlb(tlb_params(1, 1, P::Plru)));
  CHECK_NOTHROW(Tlb(tlb_params(12, 4, P::Plru)));  // 3 sets, 4 ways

  TlbParams p;
  p.name = "l1";
  p.entries = 64;
  p.ways = 4;
  p.latency = 3;
  p.policy = P::Plru;
  Tlb t(p);
  CHECK(t.name() == "l1");
  CHECK(t.entries() == 64);
  CHECK(t.ways() == 4);
  CHECK(t.sets() == 16);
  CHECK(t.latency() == 3);
  CHECK(t.policy() == P::Plru);
}

TEST_CASE("tlb: set index per level, power-of-two and other set counts", "[tlb]") {
  Tlb a(tlb_params(16, 4));  // 4 sets
  CHECK(a.set_of(0) == 0);
  CHECK(a.set_of(7) == 3);
  CHECK(a.set_of(0x5ab, 1) == 2);                          // 0x5ab >> 9 = 2
  CHECK(a.set_of((Vpn{7} << 18) | 0x3ffff, 2) == 3);       // >> 18 = 7
  Tlb b(tlb_params(6, 2));   // 3 sets
  CHECK(b.set_of(7) == 1);
  CHECK(b.set_of(Vpn{5} << 9, 1) == 2);
  Tlb fa(tlb_params(4, 4));  // fully associative
  CHECK(fa.set_of(12345) == 0);
}

TEST_CASE("tlb: lru, 4-entry fully associative, exact pattern and victims", "[tlb]") {
  Tlb tlb(tlb_params(4, 4));
  const Trace t = run(tlb, kFaSeq);
  CHECK(t.pattern == "MMMMHMMHMMHM");
  CHECK(t.victims == std::vector<unsigned>{0, 1, 2, 3, 1, 2, 3, 1, 2});
  CHECK(tlb.stats().hits == 3);
  CHECK(tlb.stats().misses == 9);
  CHECK(tlb.stats().fills == 9);
  CHECK(tlb.stats().evictions == 5);
  // Final contents: way0=1, way1=3, way2=4, way3=6.
  CHECK(tlb.slot(0, 0)->vpn == 1);
  CHECK(tlb.slot(0, 1)->vpn == 3);
  CHECK(tlb.slot(0, 2)->vpn == 4);
  CHECK(tlb.slot(0, 3)->vpn == 6);
  CHECK(tlb.slot(0, 4) == nullptr);  // out of range
  CHECK(tlb.slot(1, 0) == nullptr);
}

TEST_CASE("tlb: plru, 4-entry fully associative, exact pattern and victims", "[tlb]") {
  Tlb tlb(tlb_params(4, 4, ReplacementPolicy::Plru));
  const Trace t = run(tlb, kFaSeq);
  CHECK(t.pattern == "MMMMHMHHMMHM");
  CHECK(t.victims == std::vector<unsigned>{0, 1, 2, 3, 2, 3, 1, 2});
  CHECK(tlb.stats().hits == 4);
  CHECK(tlb.stats().misses == 8);
  CHECK(tlb.stats().evictions == 4);
  CHECK(tlb.slot(0, 0)->vpn == 1);
  CHECK(tlb.slot(0, 1)->vpn == 3);
  CHECK(tlb.slot(0, 2)->vpn == 4);
  CHECK(tlb.slot(0, 3)->vpn == 6);
}

TEST_CASE("tlb: fifo, 4-entry fully associative, exact pattern and victims", "[tlb]") {
  Tlb tlb(tlb_params(4, 4, ReplacementPolicy::Fifo));
  const Trace t = run(tlb, kFaSeq);
  CHECK(t.pattern == "MMMMHMHMMMHM");
  CHECK(t.victims == std::vector<unsigned>{0, 1, 2, 3, 0, 1, 2, 3, 0});
  CHECK(tlb.stats().hits == 3);
  CHECK(tlb.stats().misses == 9);
  CHECK(tlb.stats().evictions == 5);
  CHECK(tlb.slot(0, 0)->vpn == 4);
  CHECK(tlb.slot(0, 1)->vpn == 1);
  CHECK(tlb.slot(0, 2)->vpn == 6);
  CHECK(tlb.slot(0, 3)->vpn == 3);
}

TEST_CASE("tlb: lru and plru, 8-entry 2-way, exact pattern and victims", "[tlb]") {
  // 4 sets: vpns 1, 5, 9 map to set 1; 2, 6, 10 to set 2. With two ways PLRU is LRU.
  for (auto policy : {ReplacementPolicy::Lru, ReplacementPolicy::Plru}) {
    Tlb tlb(tlb_params(8, 2, policy));
    const Trace t = run(tlb, k2wSeq);
    CHECK(t.pattern == "MMMHMMMMMM");
    CHECK(t.victims == std::vector<unsigned>{0, 1, 0, 1, 0, 1, 0, 1, 1});
    CHECK(tlb.slot(1, 0)->vpn == 5);
    CHECK(tlb.slot(1, 1)->vpn == 1);
    CHECK(tlb.slot(2, 0)->vpn == 10);
    CHECK(tlb.slot(2, 1)->vpn == 2);
    CHECK(tlb.slot(0, 0) == nullptr);
    CHECK(tlb.slot(3, 1) == nullptr);
    CHECK(tlb.stats().evictions == 5);
  }
}

TEST_CASE("tlb: fifo, 8-entry 2-way, exact pattern and victims", "[tlb]") {
  Tlb tlb(tlb_params(8, 2, ReplacementPolicy::Fifo));
  const Trace t = run(tlb, k2wSeq);
  CHECK(t.pattern == "MMMHMHMMMM");
  CHECK(t.victims == std::vector<unsigned>{0, 1, 0, 0, 1, 0, 1, 1});
  CHECK(tlb.slot(1, 0)->vpn == 9);
  CHECK(tlb.slot(1, 1)->vpn == 1);
  CHECK(tlb.slot(2, 0)->vpn == 10);
  CHECK(tlb.slot(2, 1)->vpn == 2);
}

TEST_CASE("tlb: plru 8-way tree bits follow the documented convention", "[tlb]") {
  Tlb tlb(tlb_params(8, 8, ReplacementPolicy::Plru));
  CHECK(tlb.victim_way(0) == 0);
  for (Vpn v = 0; v < 8; ++v) tlb.fill(entry(v, v + 1000));  // ways 0..7 in order
  for (unsigned w = 0; w < 8; ++w) REQUIRE(tlb.slot(0, w)->vpn == w);
  // After touching 0..7 in order every bit is 0: victim way 0.
  CHECK(tlb.victim_way(0) == 0);
  // Hit way 0 -> b0=1,b1=1,b3=1: victim right, left, left = way 4.
  REQUIRE(tlb.lookup(0, 1) != nullptr);
  CHECK(tlb.victim_way(0) == 4);
  REQUIRE(tlb.lookup(4, 1) != nullptr);  // b0=0,b2=1,b5=1
  CHECK(tlb.victim_way(0) == 2);
  REQUIRE(tlb.lookup(2, 1) != nullptr);  // b0=1,b1=0,b4=1
  CHECK(tlb.victim_way(0) == 6);
  REQUIRE(tlb.lookup(6, 1) != nullptr);  // b0=0,b2=0,b6=1
  CHECK(tlb.victim_way(0) == 1);
  REQUIRE(tlb.lookup(1, 1) != nullptr);  // b0=1,b1=1,b3=0
  CHECK(tlb.victim_way(0) == 5);
  // The fill goes where victim_way said, evicting vpn 5.
  tlb.fill(entry(100, 1100));
  CHECK(tlb.slot(0, 5)->vpn == 100);
  CHECK(tlb.lookup(5, 1) == nullptr);
  CHECK(tlb.stats().evictions == 1);
}

TEST_CASE("tlb: random is deterministic per seed and differs across seeds", "[tlb]") {
  // A fixed pseudo-random access stream over 12 pages into a 4-entry TLB.
  std::vector<Vpn> seq;
  uint32_t x = 12345;
  for (int i = 0; i < 400; ++i) {
    x = x * 1103515245u + 12345u;
    seq.push_back((x >> 16) % 12);
  }
  Tlb a(tlb_params(4, 4, ReplacementPolicy::Random, 7));
  Tlb b(tlb_params(4, 4, ReplacementPolicy::Random, 7));
  Tlb c(tlb_params(4, 4, ReplacementPolicy::Random, 8));
  const Trace ta = run(a, seq), tb = run(b, seq), tc = run(c, seq);
  CHECK(ta.pattern == tb.pattern);
  CHECK(ta.victims == tb.victims);
  CHECK(ta.victims != tc.victims);
  // Invalid ways first, whatever the seed.
  REQUIRE(ta.victims.size() > 4);
  CHECK(std::vector<unsigned>(ta.victims.begin(), ta.victims.begin() + 4) ==
        std::vector<unsigned>{0, 1, 2, 3});
  CHECK(std::vector<unsigned>(tc.victims.begin(), tc.victims.begin() + 4) ==
        std::vector<unsigned>{0, 1, 2, 3});
  // Every way gets chosen at some point.
  std::vector<unsigned> seen(4, 0);
  for (unsigned w : ta.victims) ++seen.at(w);
  for (unsigned n : seen) CHECK(n > 4);
  CHECK(a.stats().evictions == ta.victims.size() - 4);
}

TEST_CASE("tlb: random and fifo ignore hits", "[tlb]") {
  for (auto policy : {ReplacementPolicy::Random, ReplacementPolicy::Fifo}) {
    Tlb a(tlb_params(4, 4, policy, 99));
    Tlb b(tlb_params(4, 4, policy, 99));
    std::vector<unsigned> va, vb;
    for (Vpn v = 0; v < 40; ++v) {
      // b sees extra hits on whatever sits in way 0 and way 3 before each fill.
      if (v >= 4) {
        REQUIRE(b.lookup(b.slot(0, 0)->vpn, 1) != nullptr);
        REQUIRE(b.lookup(b.slot(0, 3)->vpn, 1) != nullptr);
      }
      va.push_back(a.victim_way(v));
      vb.push_back(b.victim_way(v));
      a.fill(entry(v, v));
      b.fill(entry(v, v));
    }
    CHECK(va == vb);
  }
}

TEST_CASE("tlb: invalid ways are used before evicting, for every policy", "[tlb]") {
  using P = ReplacementPolicy;
  for (auto policy : {P::Lru, P::Plru, P::Fifo, P::Random}) {
    Tlb tlb(tlb_params(4, 4, policy, 3));
    for (Vpn v = 1; v <= 4; ++v) tlb.fill(entry(v, v));  // ways 0..3
    tlb.invalidate_page(4);                                 // frees way 3
    tlb.invalidate_page(2);                                 // frees way 1
    CHECK(valid_slots(tlb) == 2);
    CHECK(tlb.victim_way(50) == 1);
    tlb.fill(entry(50, 50));
    CHECK(tlb.slot(0, 1)->vpn == 50);
    CHECK(tlb.victim_way(51) == 3);
    tlb.fill(entry(51, 51));
    CHECK(tlb.slot(0, 3)->vpn == 51);
    CHECK(tlb.stats().evictions == 0);
    CHECK(valid_slots(tlb) == 4);
    // Now full: the next fill evicts.
    const unsigned w = tlb.victim_way(52);
    tlb.fill(entry(52, 52));
    CHECK(tlb.slot(0, w)->vpn == 52);
    CHECK(tlb.stats().evictions == 1);
  }
  // lru: the invalid way wins over the least recently used one (way 0 here).
  Tlb lru(tlb_params(4, 4));
  for (Vpn v = 1; v <= 4; ++v) lru.fill(entry(v, v));
  lru.invalidate_page(3);
  CHECK(lru.victim_way(9) == 2);
  lru.fill(entry(9, 9));
  CHECK(lru.victim_way(10) == 0);  // vpn 1 is the LRU one
}

TEST_CASE("tlb: a fill of an existing vpn/asid updates it in place", "[tlb]") {
  Tlb tlb(tlb_params(4, 4, ReplacementPolicy::Fifo));
  tlb.fill(entry(7, 100, 1));
  tlb.fill(entry(8, 101, 1));
  tlb.fill(entry(7, 200, 1, kUserRw & ~0x04));  // now read-only, new frame
  CHECK(valid_slots(tlb) == 2);
  CHECK(tlb.slot(0, 0)->ppn == 200);
  CHECK(tlb.slot(0, 0)->flags == (kUserRw & ~0x04));
  const TlbEntry* e = tlb.lookup(7, 1);
  REQUIRE(e != nullptr);
  CHECK(e->ppn == 200);
  CHECK(tlb.stats().fills == 3);
  CHECK(tlb.stats().evictions == 0);
  // Same for a full set: no eviction, fifo pointer untouched.
  tlb.fill(entry(9, 9));
  tlb.fill(entry(10, 10));
  CHECK(tlb.victim_way(11) == 0);
  tlb.fill(entry(9, 99));
  CHECK(tlb.slot(0, 2)->ppn == 99);
  CHECK(tlb.victim_way(11) == 0);
  CHECK(tlb.stats().evictions == 0);
  CHECK(valid_slots(tlb) == 4);
}

TEST_CASE("tlb: ASID isolation", "[tlb]") {
  Tlb tlb(tlb_params(8, 2));
  tlb.fill(entry(7, 100, 1));
  tlb.fill(entry(7, 200, 2));
  CHECK(valid_slots(tlb) == 2);
  const TlbEntry* e1 = tlb.lookup(7, 1);
  REQUIRE(e1 != nullptr);
  CHECK(e1->ppn == 100);
  CHECK(e1->asid == 1);
  const TlbEntry* e2 = tlb.lookup(7, 2);
  REQUIRE(e2 != nullptr);
  CHECK(e2->ppn == 200);
  CHECK(tlb.lookup(7, 3) == nullptr);
  CHECK(tlb.stats().hits == 2);
  CHECK(tlb.stats().misses == 1);
  tlb.invalidate_asid(1);
  CHECK(tlb.lookup(7, 1) == nullptr);
  REQUIRE(tlb.lookup(7, 2) != nullptr);
}

TEST_CASE("tlb: global entries match every ASID and survive invalidate_asid", "[tlb]") {
  Tlb tlb(tlb_params(8, 2));
  tlb.fill(entry(8, 300, 1, kUserRw | kGlobal));
  tlb.fill(entry(9, 400, 1));
  for (Asid a : {0u, 1u, 5u, 4095u}) {
    const TlbEntry* e = tlb.lookup(8, a);
    REQUIRE(e != nullptr);
    CHECK(e->ppn == 300);
    CHECK(e->global());
  }
  // A global fill from another ASID refreshes the same entry.
  tlb.fill(entry(8, 301, 2, kUserRw | kGlobal));
  CHECK(valid_slots(tlb) == 2);
  CHECK(tlb.lookup(8, 7)->ppn == 301);
  tlb.invalidate_asid(1);
  CHECK(tlb.lookup(9, 1) == nullptr);
  REQUIRE(tlb.lookup(8, 1) != nullptr);
  tlb.invalidate_asid(2);
  REQUIRE(tlb.lookup(8, 3) != nullptr);
  // invalidate_page_asid also removes the global entry, whatever the ASID.
  tlb.invalidate_page_asid(8, 9);
  CHECK(tlb.lookup(8, 1) == nullptr);
  CHECK(valid_slots(tlb) == 0);
}

TEST_CASE("tlb: each invalidation kind", "[tlb]") {
  Tlb tlb(tlb_params(16, 4));
  auto fill_all = [&] {
    tlb.fill(entry(10, 1, 1));
    tlb.fill(entry(10, 2, 2));
    tlb.fill(entry(11, 3, 1));
    tlb.fill(entry(12, 4, 2));
    tlb.fill(entry(13, 5, 1, kUserRw | kGlobal));
    REQUIRE(valid_slots(tlb) == 5);
  };
  auto present = [&](Vpn v, Asid a) { return tlb.lookup(v, a) != nullptr; };

  fill_all();
  SECTION("invalidate_page: every ASID") {
    tlb.invalidate_page(10);
    CHECK_FALSE(present(10, 1));
    CHECK_FALSE(present(10, 2));
    CHECK(present(11, 1));
    CHECK(present(12, 2));
    CHECK(present(13, 1));
    tlb.invalidate_page(13);  // global too
    CHECK_FALSE(present(13, 1));
    CHECK(valid_slots(tlb) == 2);
    CHECK(tlb.stats().flush_page == 2);
  }
  SECTION("invalidate_page_asid: one ASID") {
    tlb.invalidate_page_asid(10, 2);
    CHECK(present(10, 1));
    CHECK_FALSE(present(10, 2));
    tlb.invalidate_page_asid(11, 2);  // 11 is ASID 1's
    CHECK(present(11, 1));
    tlb.invalidate_page_asid(11, 1);
    CHECK_FALSE(present(11, 1));
    CHECK(valid_slots(tlb) == 3);
    CHECK(tlb.stats().flush_page == 3);
  }
  SECTION("invalidate_asid: non-global entries of one ASID") {
    tlb.invalidate_asid(1);
    CHECK_FALSE(present(10, 1));
    CHECK_FALSE(present(11, 1));
    CHECK(present(10, 2));
    CHECK(present(12, 2));
    CHECK(present(13, 1));
    CHECK(valid_slots(tlb) == 3);
    CHECK(tlb.stats().flush_asid == 1);
  }
  SECTION("invalidate_all") {
    tlb.invalidate_all();
    CHECK(valid_slots(tlb) == 0);
    CHECK_FALSE(present(13, 1));
    CHECK(tlb.stats().flush_all == 1);
    CHECK(tlb.stats().flush_asid == 0);
    CHECK(tlb.stats().flush_page == 0);
    fill_all();  // usable again, counts rebuilt
    CHECK(present(13, 2));
  }
}

TEST_CASE("tlb: superpages of level 1 and 2", "[tlb]") {
  Tlb tlb(tlb_params(8, 2));
  const Vpn mega = Vpn{3} << 9;    // 2 MiB page: vpns 0x600 .. 0x7ff
  const Vpn giga = Vpn{5} << 18;   // 1 GiB page: 2^18 vpns
  tlb.fill(entry(mega + 0x10, 0x40000, 1, kUserRw, 1));  // any vpn inside the page
  tlb.fill(entry(giga, 0x80000, 1, kUserRw, 2));
  CHECK(tlb.slot(tlb.set_of(mega, 1), 0) != nullptr);
  CHECK(tlb.slot(tlb.set_of(giga, 2), 0) != nullptr);

  for (Vpn off : {Vpn{0}, Vpn{1}, Vpn{0x10}, Vpn{0x1ff}}) {
    const TlbEntry* e = tlb.lookup(mega + off, 1);
    REQUIRE(e != nullptr);
    CHECK(e->level == 1);
    CHECK(e->translate(mega + off) == 0x40000 + off);
  }
  CHECK(tlb.lookup(mega + 0x200, 1) == nullptr);  // next 2 MiB page
  CHECK(tlb.lookup(mega - 1, 1) == nullptr);
  CHECK(tlb.lookup(mega, 2) == nullptr);          // other ASID

  for (Vpn off : {Vpn{0}, Vpn{0x12345}, Vpn{0x3ffff}}) {
    const TlbEntry* e = tlb.lookup(giga + off, 1);
    REQUIRE(e != nullptr);
    CHECK(e->level == 2);
    CHECK(e->translate(giga + off) == 0x80000 + off);
  }
  CHECK(tlb.lookup(giga + 0x40000, 1) == nullptr);

  // A 4 KiB entry and a superpage coexist; the 4 KiB one is probed first.
  tlb.fill(entry(mega + 5, 0x999, 1));
  CHECK(tlb.lookup(mega + 5, 1)->ppn == 0x999);
  CHECK(tlb.lookup(mega + 6, 1)->translate(mega + 6) == 0x40006);

  // invalidate_page of any vpn inside a superpage removes it.
  tlb.invalidate_page(mega + 0x1fe);
  CHECK(tlb.lookup(mega + 6, 1) == nullptr);
  REQUIRE(tlb.lookup(mega + 5, 1) != nullptr);  // a different 4 KiB vpn: still there
  CHECK(valid_slots(tlb) == 2);
  // invalidate_page_asid of a vpn inside the 1 GiB page, right ASID.
  tlb.invalidate_page_asid(giga + 0x777, 2);
  REQUIRE(tlb.lookup(giga, 1) != nullptr);
  tlb.invalidate_page_asid(giga + 0x777, 1);
  CHECK(tlb.lookup(giga, 1) == nullptr);
  CHECK(valid_slots(tlb) == 1);
  // Only level 0 left: a miss probes nothing else and a new superpage works again.
  tlb.fill(entry(giga, 0x80000, 1, kUserRw | kGlobal, 2));
  CHECK(tlb.lookup(giga + 1, 42)->translate(giga + 1) == 0x80001);
  tlb.invalidate_asid(1);
  CHECK(tlb.lookup(giga + 1, 1) != nullptr);  // global survives
  CHECK(tlb.lookup(mega + 5, 1) == nullptr);
}

TEST_CASE("tlb: superpage fills of the same page at different vpns do not duplicate", "[tlb]") {
  Tlb tlb(tlb_params(4, 4));
  const Vpn mega = Vpn{9} << 9;
  tlb.fill(entry(mega + 1, 0x40000, 1, kUserRw, 1));
  tlb.fill(entry(mega + 300, 0x80000, 1, kUserRw, 1));
  CHECK(valid_slots(tlb) == 1);
  CHECK(tlb.lookup(mega + 2, 1)->translate(mega + 2) == 0x80002);
  // A 4 KiB entry at the same vpn is a different entry.
  tlb.fill(entry(mega + 1, 0x123, 1, kUserRw, 0));
  CHECK(valid_slots(tlb) == 2);
  CHECK_THROWS_AS(tlb.fill(entry(1, 1, 1, kUserRw, 4)), std::invalid_argument);
}

TEST_CASE("tlb: victim_way agrees with fill, lru 16-entry 4-way", "[tlb]") {
  Tlb tlb(tlb_params(16, 4));
  uint32_t x = 1;
  for (int i = 0; i < 500; ++i) {
    x = x * 1664525u + 1013904223u;
    const Vpn v = (x >> 20) % 40;
    if (tlb.lookup(v, 1)) continue;
    const unsigned set = tlb.set_of(v);
    const unsigned way = tlb.victim_way(v);
    tlb.fill(entry(v, v));
    REQUIRE(tlb.slot(set, way) != nullptr);
    CHECK(tlb.slot(set, way)->vpn == v);
  }
  CHECK(tlb.stats().hits + tlb.stats().misses == 500);
  CHECK(tlb.stats().fills == tlb.stats().misses);
  CHECK(valid_slots(tlb) == 16);
}

}  // namespace mmusim::test
