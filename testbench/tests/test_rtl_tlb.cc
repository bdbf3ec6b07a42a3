// Directed tests of the RTL TLB (rtl/tlb.sv) through its adapter (rtl/rtl_tlb.cc):
// reset, fill, hit, miss, ASIDs and global entries, superpages, in-place update,
// each invalidation kind, replacement order under each policy (against the
// spec's sequences and against the C++ TLB), the RTL's assertions, the VCD.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "mmu/tlb.h"
#include "rtl_tlb.h"
#include "sim_harness.h"
#include "tlb_test_support.h"

namespace mmusim::test {

#ifdef MMUSIM_HAVE_RTL

namespace {

std::unique_ptr<RtlTlb> rtl(unsigned entries, unsigned ways, ReplacementPolicy policy,
                            const std::string& vcd = "") {
  RtlTlbParams p;
  p.entries = entries;
  p.ways = ways;
  p.policy = policy;
  p.vcd_path = vcd;
  return make_rtl_tlb(p);
}

unsigned valid_slots(RtlTlb& t) {
  unsigned n = 0;
  for (unsigned s = 0; s < t.sets(); ++s)
    for (unsigned w = 0; w < t.ways(); ++w) n += t.slot_valid(s, w);
  return n;
}

// Looks up each vpn (asid 1); on a miss fills it (ppn = vpn + 1000) and notes
// the way the fill went to. 'H'/'M' per access.
struct Replay {
  std::string pattern;
  std::vector<unsigned> ways;
};
Replay replay(TlbModel& t, const std::vector<Vpn>& seq) {
  Replay r;
  for (Vpn v : seq) {
    if (const TlbEntry* e = t.lookup(v, 1)) {
      CHECK(e->ppn == v + 1000);
      r.pattern += 'H';
      continue;
    }
    r.pattern += 'M';
    if (auto* tl = dynamic_cast<Tlb*>(&t)) r.ways.push_back(tl->victim_way(v));
    t.fill(entry(v, v + 1000));
    if (auto* rt = dynamic_cast<RtlTlb*>(&t)) r.ways.push_back(rt->last_fill().way);
  }
  return r;
}

}  // namespace

TEST_CASE("rtl: after reset every slot is invalid and a lookup takes one cycle") {
  GIVEN("the default L1 (64 entries, 4 ways, lru)") {
    auto t = rtl(64, 4, ReplacementPolicy::Lru);
    THEN("its shape is the parameters'") {
      CHECK(t->entries() == 64);
      CHECK(t->sets() == 16);
      CHECK(t->ways() == 4);
      CHECK(t->policy() == ReplacementPolicy::Lru);
    }
    THEN("the lookup latency measured on the RTL is 1 cycle and every slot is invalid") {
      CHECK(t->latency() == 1);
      CHECK(valid_slots(*t) == 0);
      CHECK(t->lookup(0, 0) == nullptr);
      CHECK(t->error().empty());
    }
    WHEN("one lookup is made") {
      const uint64_t before = t->cycles();
      t->lookup(0x1234, 1);
      THEN("the RTL was clocked once") { CHECK(t->cycles() == before + 1); }
    }
  }
}

TEST_CASE("rtl: fill, hit, miss, ASIDs and global entries") {
  auto t = rtl(64, 4, ReplacementPolicy::Lru);
  GIVEN("a filled page of ASID 1") {
    t->fill(entry(0x12345, 0x777, 1, kUserRw));
    THEN("the fill went to the lowest way of its set") {
      CHECK(t->last_fill().set == (0x12345 % 16));
      CHECK(t->last_fill().way == 0);
      CHECK_FALSE(t->last_fill().update);
      CHECK_FALSE(t->last_fill().evict);
    }
    THEN("a lookup of that page in ASID 1 hits with the whole entry") {
      const TlbEntry* e = t->lookup(0x12345, 1);
      REQUIRE(e != nullptr);
      CHECK(e->vpn == 0x12345);
      CHECK(e->ppn == 0x777);
      CHECK(e->asid == 1);
      CHECK(e->flags == kUserRw);
      CHECK(e->level == 0);
      CHECK(t->last_hit_set() == (0x12345 % 16));
      CHECK(t->last_hit_way() == 0);
    }
    THEN("another page or another ASID misses") {
      CHECK(t->lookup(0x12346, 1) == nullptr);
      CHECK(t->lookup(0x12345, 2) == nullptr);
    }
  }
  GIVEN("a global page filled under ASID 1") {
    t->fill(entry(0x500, 0x900, 1, kUserRw | kGlobal));
    THEN("it hits in every ASID") {
      for (Asid a : {0u, 1u, 7u, 65535u}) {
        const TlbEntry* e = t->lookup(0x500, a);
        REQUIRE(e != nullptr);
        CHECK(e->ppn == 0x900);
      }
    }
  }
  GIVEN("full-width fields") {
    const Vpn vpn = (Vpn{1} << 52) - 3;  // a 64-bit VA's VPN
    const Ppn ppn = (Ppn{1} << 44) - 1;
    t->fill(entry(vpn, ppn, 0xffff, 0xff & ~kGlobal));
    THEN("they survive the round trip") {
      const TlbEntry* e = t->lookup(vpn, 0xffff);
      REQUIRE(e != nullptr);
      CHECK(e->vpn == vpn);
      CHECK(e->ppn == ppn);
      CHECK(e->asid == 0xffff);
      CHECK(e->flags == (0xff & ~kGlobal));
    }
  }
}

TEST_CASE("rtl: a fill of a page already present updates it in place") {
  auto t = rtl(64, 4, ReplacementPolicy::Lru);
  GIVEN("a page of ASID 1 and the same page of ASID 2") {
    t->fill(entry(0x40, 0x1, 1));
    t->fill(entry(0x40, 0x2, 2));
    REQUIRE(t->last_fill().way == 1);
    WHEN("ASID 1's page is filled again with a new frame and flags") {
      t->fill(entry(0x40, 0x3, 1, kUserRw & ~0x04));
      THEN("the same slot is overwritten, nothing is duplicated or evicted") {
        CHECK(t->last_fill().way == 0);
        CHECK(t->last_fill().update);
        CHECK_FALSE(t->last_fill().evict);
        CHECK(valid_slots(*t) == 2);
        const TlbEntry* e = t->lookup(0x40, 1);
        REQUIRE(e != nullptr);
        CHECK(e->ppn == 0x3);
        CHECK(e->flags == (kUserRw & ~0x04));
        CHECK(t->lookup(0x40, 2)->ppn == 0x2);
        CHECK(t->error().empty());
      }
    }
  }
}

TEST_CASE("rtl: superpages") {
  auto t = rtl(64, 4, ReplacementPolicy::Plru);
  GIVEN("a 2 MiB page at VPN 0x200 (filled from a VPN inside it)") {
    t->fill(entry(0x2a5, 0x4000, 1, kUserRw, 1));
    THEN("it lives in the set its 2 MiB page number maps to") { CHECK(t->last_fill().set == (0x2a5 >> 9) % 16); }
    THEN("every VPN of the 2 MiB page hits, with the entry as filled") {
      for (Vpn v : {Vpn{0x200}, Vpn{0x2a5}, Vpn{0x3ff}}) {
        const TlbEntry* e = t->lookup(v, 1);
        REQUIRE(e != nullptr);
        CHECK(e->level == 1);
        CHECK(e->vpn == 0x2a5);
        CHECK(e->translate(v) == 0x4000 + (v & 0x1ff));
      }
      CHECK(t->lookup(0x400, 1) == nullptr);
      CHECK(t->lookup(0x1ff, 1) == nullptr);
    }
    WHEN("a 4 KiB page inside it is filled too") {
      t->fill(entry(0x210, 0x9999, 1));
      THEN("the 4 KiB entry wins for its VPN, the superpage for the others") {
        CHECK(t->lookup(0x210, 1)->level == 0);
        CHECK(t->lookup(0x211, 1)->level == 1);
      }
    }
    WHEN("a 1 GiB page is filled") {
      t->fill(entry(Vpn{3} << 18, 0x80000, 1, kUserRw, 2));
      THEN("it covers 2^18 VPNs") {
        CHECK(t->lookup((Vpn{3} << 18) + 0x3ffff, 1)->level == 2);
        CHECK(t->lookup(Vpn{4} << 18, 1) == nullptr);
      }
    }
  }
}

TEST_CASE("rtl: each invalidation kind") {
  auto t = rtl(64, 4, ReplacementPolicy::Lru);
  // Page 0x10 in ASIDs 1 and 2, page 0x11 in ASID 1, global page 0x12 (under
  // ASID 1), a 2 MiB page covering VPN 0x400 in ASID 1.
  auto fill_all = [&] {
    t->invalidate_all();
    t->fill(entry(0x10, 0xa, 1));
    t->fill(entry(0x10, 0xb, 2));
    t->fill(entry(0x11, 0xc, 1));
    t->fill(entry(0x12, 0xd, 1, kUserRw | kGlobal));
    t->fill(entry(0x400, 0xe00, 1, kUserRw, 1));
    REQUIRE(valid_slots(*t) == 5);
  };
  WHEN("everything is invalidated") {
    fill_all();
    t->invalidate_all();
    THEN("nothing is left") { CHECK(valid_slots(*t) == 0); }
  }
  WHEN("ASID 1 is invalidated") {
    fill_all();
    t->invalidate_asid(1);
    THEN("ASID 1's non-global entries go; ASID 2's and the global one stay") {
      CHECK(t->lookup(0x10, 1) == nullptr);
      CHECK(t->lookup(0x11, 1) == nullptr);
      CHECK(t->lookup(0x401, 1) == nullptr);
      CHECK(t->lookup(0x10, 2) != nullptr);
      CHECK(t->lookup(0x12, 1) != nullptr);
      CHECK(valid_slots(*t) == 2);
    }
  }
  WHEN("page 0x10 is invalidated in every ASID") {
    fill_all();
    t->invalidate_page(0x10);
    THEN("both ASIDs' entries for it go, the rest stay") {
      CHECK(t->lookup(0x10, 1) == nullptr);
      CHECK(t->lookup(0x10, 2) == nullptr);
      CHECK(valid_slots(*t) == 3);
    }
  }
  WHEN("a VPN inside the superpage is invalidated") {
    fill_all();
    t->invalidate_page(0x4ff);
    THEN("the superpage goes") {
      CHECK(t->lookup(0x400, 1) == nullptr);
      CHECK(valid_slots(*t) == 4);
    }
  }
  WHEN("page 0x10 is invalidated in ASID 2 only") {
    fill_all();
    t->invalidate_page_asid(0x10, 2);
    THEN("ASID 1's entry stays") {
      CHECK(t->lookup(0x10, 1) != nullptr);
      CHECK(t->lookup(0x10, 2) == nullptr);
      CHECK(valid_slots(*t) == 4);
    }
  }
  WHEN("the global page is invalidated with page + ASID of another ASID") {
    fill_all();
    t->invalidate_page_asid(0x12, 7);
    THEN("the global entry goes (sfence.vma with an ASID also removes global entries of that page)") {
      CHECK(t->lookup(0x12, 1) == nullptr);
      CHECK(valid_slots(*t) == 4);
    }
  }
  WHEN("invalidations are followed by fills") {
    fill_all();
    t->invalidate_page_asid(0x10, 1);  // frees way 0 of set 0
    t->fill(entry(0x20, 0xf, 1));      // set 0: the lowest invalid way
    THEN("the freed way is reused first") { CHECK(t->last_fill().way == 0); }
  }
}

// The RTL compares only the page levels level_seen_q marks (tlb.sv): an
// invalidation of one page or one ASID must leave the marks of the levels the
// remaining entries are at, and one of everything clears them.
TEST_CASE("rtl: a lookup still probes every page level an entry is left at") {
  auto t = rtl(64, 4, ReplacementPolicy::Lru);
  t->fill(entry(0x10, 0xa, 1));                                       // 4 KiB, ASID 1
  t->fill(entry(0x400, 0xe00, 2, kUserRw, 1));                        // 2 MiB, ASID 2
  t->fill(entry(Vpn{3} << 18, 0x80000, 1, kUserRw | kGlobal, 2));     // 1 GiB, global
  WHEN("a page, an ASID and a page of an ASID are invalidated, none of them the superpages") {
    t->invalidate_page(0x10);
    t->invalidate_asid(1);
    t->invalidate_page_asid(0x11, 2);
    THEN("both superpages still hit, at their levels") {
      const TlbEntry* e = t->lookup(0x4ff, 2);
      REQUIRE(e != nullptr);
      CHECK(e->level == 1);
      e = t->lookup((Vpn{3} << 18) + 5, 9);
      REQUIRE(e != nullptr);
      CHECK(e->level == 2);
      CHECK(valid_slots(*t) == 2);
    }
  }
  WHEN("everything is invalidated and a 2 MiB page is filled again") {
    t->invalidate_all();
    t->fill(entry(0x600, 0xf00, 2, kUserRw, 1));
    THEN("the new one hits at level 1 and the old ones miss") {
      const TlbEntry* e = t->lookup(0x7ff, 2);
      REQUIRE(e != nullptr);
      CHECK(e->level == 1);
      CHECK(t->lookup(0x4ff, 2) == nullptr);
      CHECK(t->lookup((Vpn{3} << 18) + 5, 9) == nullptr);
    }
  }
  CHECK(t->error().empty());
}

namespace {
// Seven pages mapping to set 0 of a 16-set TLB, and an access sequence that
// exercises hits, fills into free ways and evictions.
const std::vector<Vpn> kSet0 = {0, 16, 32, 48, 64, 80, 96};
std::vector<Vpn> set0_sequence() {
  const auto& p = kSet0;
  return {p[0], p[1], p[2], p[3], p[0], p[4], p[1], p[5], p[2], p[0], p[6], p[3], p[4], p[5], p[0], p[6]};
}
}  // namespace

TEST_CASE("rtl: replacement order matches the specification and the C++ TLB") {
  GIVEN("lru, 64 entries, 4 ways") {
    auto t = rtl(64, 4, ReplacementPolicy::Lru);
    Tlb ref(tlb_params(64, 4, ReplacementPolicy::Lru, 1));
    // Fill 0,1,2,3 (ways 0-3); hit 0; 64 evicts the LRU (16, way 1); ...
    const Replay r = replay(*t, set0_sequence());
    CHECK(r.pattern == "MMMMHMMMMMMMMMMM");
    CHECK(r.ways == std::vector<unsigned>{0, 1, 2, 3, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3});
    const Replay c = replay(ref, set0_sequence());
    CHECK(c.pattern == r.pattern);
    CHECK(c.ways == r.ways);
  }
  GIVEN("plru, 64 entries, 4 ways") {
    auto t = rtl(64, 4, ReplacementPolicy::Plru);
    Tlb ref(tlb_params(64, 4, ReplacementPolicy::Plru, 1));
    const Replay r = replay(*t, set0_sequence());
    const Replay c = replay(ref, set0_sequence());
    // After 0..3 fill ways 0..3 and a hit on way 0, the tree points at way 2.
    REQUIRE(r.ways.size() > 4);
    CHECK(r.ways[4] == 2);
    CHECK(c.pattern == r.pattern);
    CHECK(c.ways == r.ways);
  }
  GIVEN("fifo, 64 entries, 4 ways") {
    auto t = rtl(64, 4, ReplacementPolicy::Fifo);
    Tlb ref(tlb_params(64, 4, ReplacementPolicy::Fifo, 1));
    const Replay r = replay(*t, set0_sequence());
    // Free ways 0..3, then evictions round robin from way 0 whatever the hits.
    REQUIRE(r.ways.size() >= 8);
    CHECK(std::vector<unsigned>(r.ways.begin(), r.ways.begin() + 8) ==
          std::vector<unsigned>{0, 1, 2, 3, 0, 1, 2, 3});
    const Replay c = replay(ref, set0_sequence());
    CHECK(c.pattern == r.pattern);
    CHECK(c.ways == r.ways);
  }
  GIVEN("the other verilated variants") {
    for (auto [entries, ways, policy] :
         std::vector<std::tuple<unsigned, unsigned, ReplacementPolicy>>{
             {32, 32, ReplacementPolicy::Lru},
             {32, 32, ReplacementPolicy::Plru},
             {16, 16, ReplacementPolicy::Fifo},
             {36, 3, ReplacementPolicy::Lru},
             {36, 3, ReplacementPolicy::Fifo}}) {
      auto t = rtl(entries, ways, policy);
      Tlb ref(tlb_params(entries, ways, policy, 1));
      // Pages of one set (sets = entries / ways), more of them than ways.
      std::vector<Vpn> seq;
      const unsigned sets = entries / ways;
      uint64_t x = 12345;
      for (unsigned i = 0; i < 400; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        seq.push_back(Vpn((x >> 33) % (ways + ways / 2 + 2)) * sets + 1 % sets);
      }
      const Replay r = replay(*t, seq);
      const Replay c = replay(ref, seq);
      INFO(entries << "x" << ways);
      CHECK(r.pattern == c.pattern);
      CHECK(r.ways == c.ways);
      CHECK(r.pattern.find('H') != std::string::npos);
    }
  }
}

TEST_CASE("rtl: the fill and lookup invariants are asserted in the RTL") {
  auto t = rtl(64, 4, ReplacementPolicy::Lru);
  GIVEN("a page mapped non-global in ASID 1 and global under ASID 2 (inconsistent G bits)") {
    t->fill(entry(0x30, 0x1, 1));
    t->fill(entry(0x30, 0x2, 2, kUserRw | kGlobal));
    REQUIRE(t->error().empty());
    WHEN("ASID 1 looks the page up, so that two ways hit") {
      const TlbEntry* e = t->lookup(0x30, 1);
      THEN("the lowest way answers, as in the C++ TLB, and the at-most-one-hit assertion fires") {
        REQUIRE(e != nullptr);
        CHECK(e->ppn == 0x1);
        CHECK(t->error().find("assertion") != std::string::npos);
      }
    }
  }
}

TEST_CASE("rtl: the VCD records the RTL's signals") {
  TempFile placeholder("", ".vcd");
  const std::string path = placeholder.path() + ".rtl.vcd";
  GIVEN("an RTL TLB writing a VCD") {
    auto t = rtl(64, 4, ReplacementPolicy::Lru, path);
    t->fill(entry(0x10, 0x20));
    t->lookup(0x10, 1);
    WHEN("the VCD is kept") {
      t->finish_vcd(true);
      std::ifstream in(path);
      std::stringstream text;
      text << in.rdbuf();
      THEN("it holds the ports and registers, with value changes") {
        CHECK(text.str().find("lookup_vpn_i") != std::string::npos);
        CHECK(text.str().find("valid_q") != std::string::npos);
        CHECK(text.str().find("#") != std::string::npos);
      }
      std::remove(path.c_str());
    }
    WHEN("the VCD is dropped") {
      t->finish_vcd(false);
      THEN("no file is left") {
        CHECK_FALSE(file_exists(path));
        CHECK_FALSE(file_exists(path + ".tmp"));
      }
    }
  }
}

TEST_CASE("rtl: configurations without a verilated variant are refused with the list") {
  RtlTlbParams p;
  p.entries = 128;
  p.ways = 8;
  CHECK_THROWS_AS(make_rtl_tlb(p), UserError);
  try {
    make_rtl_tlb(p);
  } catch (const UserError& e) {
    CHECK(std::string(e.what()).find("64x4 lru") != std::string::npos);
    CHECK(std::string(e.what()).find("MMUSIM_RTL_TLB_VARIANTS") != std::string::npos);
  }
  p.entries = 64;
  p.ways = 4;
  p.policy = ReplacementPolicy::Random;
  CHECK_THROWS_AS(make_rtl_tlb(p), UserError);
  CHECK(rtl_tlb_variants().find("64x4 plru") != std::string::npos);
}

TEST_CASE("rtl: mmusim --tlb rtl/lockstep: usage errors exit 2 before anything runs") {
  TempFile trace("1 mmap 0x1000 4K rw\n1 store 0x1000 1\n");
  auto r = run_mmusim({"--tlb", "rtl", "--set", "tlb.l1.entries=128", "--set", "tlb.l1.ways=8", trace.path()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("tlb.l1.entries = 128") != std::string::npos);
  r = run_mmusim({"--tlb", "lockstep", "--set", "tlb.l1.policy=random", trace.path()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("random") != std::string::npos);
}

TEST_CASE("rtl: mmusim --tlb rtl --vcd writes the model's VCD and the RTL's beside it") {
  TempFile trace("1 mmap 0x1000 8K rw\n1 store 0x1000 1\n1 load 0x1000 expect=1\n1 store 0x2000 2\n");
  TempFile vcd("", ".vcd");
  std::string rtl_vcd = vcd.path().substr(0, vcd.path().size() - 4) + ".rtl.vcd";
  const auto r = run_mmusim({"-q", "--tlb", "rtl", "--vcd", vcd.path(), trace.path()});
  CHECK(r.exit_code == 0);
  INFO(r.output);
  CHECK(file_exists(vcd.path()));
  REQUIRE(file_exists(rtl_vcd));
  std::ifstream in(rtl_vcd);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("fill_vpn_i") != std::string::npos);
  std::remove(rtl_vcd.c_str());
}

#else  // !MMUSIM_HAVE_RTL

TEST_CASE("rtl: without the RTL, --tlb rtl and lockstep are exit-2 errors") {
  RtlTlbParams p;
  CHECK_THROWS_AS(make_rtl_tlb(p), UserError);
  TempFile trace("1 mmap 0x1000 4K rw\n1 store 0x1000 1\n");
  for (const char* impl : {"rtl", "lockstep"}) {
    const auto r = run_mmusim({"--tlb", impl, trace.path()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("MMUSIM_RTL=OFF") != std::string::npos);
  }
}

#endif

}  // namespace mmusim::test
