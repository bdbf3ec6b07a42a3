// The lockstep checker (rtl/lockstep_tlb.cc): a randomized stream of over a
// million lookups, fills and invalidations driven into the C++ TLB and the RTL
// TLB with zero divergences, under every verilated variant; and proof that the
// checker catches a TLB answering one lookup wrongly (a wrong PPN, a wrong
// hit/miss, a wrong victim, a lost invalidation), also in a whole simulation,
// which then stops with exit status 1 and the report. Both ways of checking
// (LockstepCheck): inline, and on a worker thread, where the report must be
// the inline one's, word for word.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "lockstep_tlb.h"
#include "mmu/tlb.h"
#include "rtl_tlb.h"
#include "sim_harness.h"
#include "tlb_test_support.h"

namespace mmusim::test {

namespace {


// The randomized streams are a tenth as long under AddressSanitizer, whose
// build runs the verilated model about ten times slower.
#if defined(__SANITIZE_ADDRESS__)
constexpr uint64_t kScale = 10;
#else
constexpr uint64_t kScale = 1;
#endif

// A TLB that answers like the one it wraps except for one deliberate fault.
// It is an RtlTlb, so the lockstep keeps its deep checks (slots, victims).
class FaultyTlb final : public RtlTlb {
 public:
  enum class Fault { WrongPpn, MissInsteadOfHit, WrongVictim, LostInvalidation };
  // The lookup that answered wrongly (WrongPpn): its number among this TLB's
  // lookups and its VPN. Kept outside, to outlive a simulation's TLBs.
  struct Fired {
    uint64_t lookup = 0;
    Vpn vpn = 0;
  };
  FaultyTlb(std::unique_ptr<RtlTlb> inner, Fault fault, uint64_t at, Fired* fired = nullptr)
      : inner_(std::move(inner)), fault_(fault), at_(at), log_(fired) {}

  const TlbEntry* lookup(Vpn vpn, Asid asid) override {
    const TlbEntry* e = inner_->lookup(vpn, asid);
    ++lookups_;
    if (e && lookups_ >= at_ && !fired_) {
      if (fault_ == Fault::WrongPpn) {
        fired_ = true;
        if (log_) *log_ = Fired{lookups_, vpn};
        wrong_ = *e;
        wrong_.ppn ^= 1;
        return &wrong_;
      }
      if (fault_ == Fault::MissInsteadOfHit) {
        fired_ = true;
        return nullptr;
      }
    }
    return e;
  }
  bool fill(const TlbEntry& e) override {
    inner_->fill(e);
    fill_ = inner_->last_fill();
    if (fault_ == Fault::WrongVictim && fill_.evict && ++evictions_ >= at_ && !fired_) {
      fired_ = true;
      fill_.way = (fill_.way + 1) % inner_->ways();
    }
    return fill_.evict;
  }
  void invalidate_all() override { inner_->invalidate_all(); }
  void invalidate_asid(Asid a) override { inner_->invalidate_asid(a); }
  void invalidate_page(Vpn v) override { inner_->invalidate_page(v); }
  void invalidate_page_asid(Vpn v, Asid a) override {
    if (fault_ == Fault::LostInvalidation && !fired_ && inner_->lookup(v, a)) {
      fired_ = true;  // dropped: the entry stays valid
      return;
    }
    inner_->invalidate_page_asid(v, a);
  }
  Cycles latency() const override { return inner_->latency(); }
  unsigned entries() const override { return inner_->entries(); }
  unsigned sets() const override { return inner_->sets(); }
  unsigned ways() const override { return inner_->ways(); }
  ReplacementPolicy policy() const override { return inner_->policy(); }
  const RtlFill& last_fill() const override { return fill_; }
  unsigned last_hit_set() const override { return inner_->last_hit_set(); }
  unsigned last_hit_way() const override { return inner_->last_hit_way(); }
  bool slot_valid(unsigned s, unsigned w) const override { return inner_->slot_valid(s, w); }
  const TlbEntry* slot(unsigned s, unsigned w) override { return inner_->slot(s, w); }
  const std::string& error() const override { return inner_->error(); }
  uint64_t cycles() const override { return inner_->cycles(); }
  void set_cycle_source(std::function<uint64_t()> now) override { inner_->set_cycle_source(std::move(now)); }
  void finish_vcd(bool keep) override { inner_->finish_vcd(keep); }
  bool fired() const { return fired_; }

 private:
  std::unique_ptr<RtlTlb> inner_;
  Fault fault_;
  uint64_t at_;
  Fired* log_;
  uint64_t lookups_ = 0, evictions_ = 0;
  bool fired_ = false;
  TlbEntry wrong_;
  RtlFill fill_;
};

// A plain TlbModel answering one lookup with a wrong PPN (no RTL needed).
class WrongPpnTlb final : public TlbModel {
 public:
  WrongPpnTlb(std::unique_ptr<TlbModel> inner, uint64_t at) : inner_(std::move(inner)), at_(at) {}
  const TlbEntry* lookup(Vpn vpn, Asid asid) override {
    const TlbEntry* e = inner_->lookup(vpn, asid);
    if (e && ++hits_ == at_) {
      wrong_ = *e;
      wrong_.ppn += 7;
      return &wrong_;
    }
    return e;
  }
  bool fill(const TlbEntry& e) override { return inner_->fill(e); }
  void invalidate_all() override { inner_->invalidate_all(); }
  void invalidate_asid(Asid a) override { inner_->invalidate_asid(a); }
  void invalidate_page(Vpn v) override { inner_->invalidate_page(v); }
  void invalidate_page_asid(Vpn v, Asid a) override { inner_->invalidate_page_asid(v, a); }
  Cycles latency() const override { return inner_->latency(); }
  unsigned entries() const override { return inner_->entries(); }

 private:
  std::unique_ptr<TlbModel> inner_;
  uint64_t at_, hits_ = 0;
  TlbEntry wrong_;
};

// splitmix64
struct Random {
  uint64_t x;
  uint64_t next() {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

struct StreamCounts {
  uint64_t lookups = 0, hits = 0, fills = 0, evictions = 0, invalidations = 0;
  uint64_t ops() const { return lookups + fills + invalidations; }
};

// A random page and the entry a walk would produce for it. Pools:
//   conflict  4 KiB pages crowding three sets (replacement under pressure)
//   wide      4 KiB pages spread over 4x the TLB's reach
//   global    4 KiB pages that are global in every ASID (G used consistently)
//   super     2 MiB pages, and 4 KiB pages inside them (overlapping levels)
//   giant     1 GiB pages
struct Page {
  Vpn vpn;
  Asid asid;
  uint8_t level;
  bool global;
};

Page random_page(Random& r, unsigned entries, unsigned ways) {
  const unsigned sets = entries / ways;
  const Asid asid = r.below(16) == 0 ? Asid(0xfff0 + r.below(16)) : Asid(r.below(4));
  const unsigned pool = unsigned(r.below(100));
  if (pool < 45) {  // conflict
    const Vpn set = r.below(3) % sets;
    return {0x10000 + (r.below(2 * ways + 2) * sets) + set, asid, 0, false};
  }
  if (pool < 70) return {0x20000 + r.below(4 * entries), asid, 0, false};  // wide
  if (pool < 80) return {0x7000000 + r.below(ways + 2), asid, 0, true};   // global
  if (pool < 97) {                                                        // super
    const Vpn v = 0x100000 + (r.below(6) << 9) + r.below(512);
    return {v, asid, uint8_t(r.below(3) == 0 ? 0 : 1), false};
  }
  return {(Vpn{5 + r.below(3)} << 18) + r.below(Vpn{1} << 18), asid, 2, false};  // giant
}

TlbEntry walked(Random& r, const Page& p) {
  uint8_t flags = uint8_t((r.next() & 0xdf) | 0x01);  // V set, G only for global pages
  if (p.global) flags |= kGlobal;
  return entry(p.vpn, r.next() & ((Ppn{1} << 44) - 1), p.asid, flags, p.level);
}

// Drives `ops` operations through the pair the way an MMU and a kernel would:
// look up, fill on a miss (sometimes not), refill a page with new flags (in
// place), invalidate pages, ASIDs and everything now and then.
// Stops soon after a divergence: at once inline, within the worker's lag
// (checker_capacity() operations) on a thread.
StreamCounts drive(LockstepTlb& pair, unsigned entries, unsigned ways, uint64_t ops, uint64_t seed) {
  Random r{seed};
  StreamCounts n;
  while (n.ops() < ops && !pair.divergence_seen()) {
    const Page p = random_page(r, entries, ways);
    const unsigned what = unsigned(r.below(1000));
    if (what < 900) {
      ++n.lookups;
      // For superpages and giant pages, look up another VPN inside the page.
      const Vpn span = Vpn{1} << (9 * p.level);
      const Vpn v = (p.vpn & ~(span - 1)) + r.below(span);
      if (pair.lookup(v, p.asid)) {
        ++n.hits;
      } else if (r.below(10) != 0) {
        ++n.fills;
        pair.fill(walked(r, p));
      }
    } else if (what < 960) {
      ++n.fills;
      pair.fill(walked(r, p));
    } else if (what < 985) {
      ++n.invalidations;
      pair.invalidate_page_asid(p.vpn, p.asid);
    } else if (what < 993) {
      ++n.invalidations;
      pair.invalidate_page(p.vpn);
    } else if (what < 999) {
      ++n.invalidations;
      pair.invalidate_asid(p.asid);
    } else {
      ++n.invalidations;
      pair.invalidate_all();
    }
  }
  return n;
}

}  // namespace

#ifdef MMUSIM_HAVE_RTL

namespace {

std::unique_ptr<LockstepTlb> rtl_pair(unsigned entries, unsigned ways, ReplacementPolicy policy,
                                      LockstepCheck mode = LockstepCheck::Inline) {
  RtlTlbParams p;
  p.entries = entries;
  p.ways = ways;
  p.policy = policy;
  return std::make_unique<LockstepTlb>(std::make_unique<Tlb>(tlb_params(entries, ways, policy, 1)),
                                       make_rtl_tlb(p), mode);
}

void random_stream(unsigned entries, unsigned ways, ReplacementPolicy policy, uint64_t ops, uint64_t seed,
                   LockstepCheck mode) {
  auto pair = rtl_pair(entries, ways, policy, mode);
  auto& ref = dynamic_cast<Tlb&>(pair->ref());
  const StreamCounts n = drive(*pair, entries, ways, ops, seed);
  INFO(pair->report());
  CHECK(pair->divergences() == 0);
  CHECK(n.ops() >= ops);
  CHECK(pair->lookups() == n.lookups);
  CHECK(pair->operations() == n.ops());
  // The stream did exercise what it is meant to.
  CHECK(n.hits > n.lookups / 25);
  CHECK(n.hits < n.lookups - n.lookups / 10);
  CHECK(ref.stats().evictions > n.fills / 10);
  CHECK(ref.stats().flush_page > 0);
  CHECK(ref.stats().flush_asid > 0);
  CHECK(ref.stats().flush_all > 0);
}

}  // namespace


TEST_CASE("rtl: lockstep random stream: a million operations, C++ TLB vs RTL TLB, 64x4 lru") {
  random_stream(64, 4, ReplacementPolicy::Lru, 1'000'000 / kScale, 1, LockstepCheck::Inline);
}

TEST_CASE("rtl: lockstep random stream: a million operations, C++ TLB vs RTL TLB, 64x4 lru, checked on a thread") {
  random_stream(64, 4, ReplacementPolicy::Lru, 1'000'000 / kScale, 1, LockstepCheck::Thread);
}

TEST_CASE("rtl: lockstep random stream: a million operations, C++ TLB vs RTL TLB, 64x4 plru") {
  random_stream(64, 4, ReplacementPolicy::Plru, 1'000'000 / kScale, 2, LockstepCheck::Thread);
}

TEST_CASE("rtl: lockstep random stream: a million operations, C++ TLB vs RTL TLB, 64x4 fifo") {
  random_stream(64, 4, ReplacementPolicy::Fifo, 1'000'000 / kScale, 3, LockstepCheck::Inline);
}

TEST_CASE("rtl: lockstep random stream: fully associative and non-power-of-two variants") {
  for (auto [entries, ways, policy] : std::vector<std::tuple<unsigned, unsigned, ReplacementPolicy>>{
           {32, 32, ReplacementPolicy::Lru},
           {32, 32, ReplacementPolicy::Plru},
           {16, 16, ReplacementPolicy::Fifo},
           {36, 3, ReplacementPolicy::Lru},
           {36, 3, ReplacementPolicy::Fifo}}) {
    INFO(entries << "x" << ways);
    random_stream(entries, ways, policy, 250'000 / kScale, entries * 100 + ways, LockstepCheck::Thread);
  }
}

std::unique_ptr<LockstepTlb> faulty_pair(FaultyTlb::Fault fault, uint64_t at, LockstepCheck mode) {
  RtlTlbParams p;
  auto ref = std::make_unique<Tlb>(tlb_params(64, 4, ReplacementPolicy::Lru, 1));
  return std::make_unique<LockstepTlb>(std::move(ref), std::make_unique<FaultyTlb>(make_rtl_tlb(p), fault, at),
                                       mode);
}

const char* mode_name(LockstepCheck mode) { return mode == LockstepCheck::Inline ? "inline" : "on a thread"; }

TEST_CASE("rtl: in lockstep, a TLB answering one lookup wrongly is caught") {
  using Fault = FaultyTlb::Fault;
  const LockstepCheck mode = GENERATE(LockstepCheck::Inline, LockstepCheck::Thread);
  INFO("checked " << mode_name(mode));
  auto faulty_pair = [mode](Fault fault, uint64_t at) { return test::faulty_pair(fault, at, mode); };
  GIVEN("an RTL TLB whose 100th lookup hit comes back with a wrong PPN") {
    auto pair = faulty_pair(Fault::WrongPpn, 100);
    std::string seen;
    unsigned calls = 0;
    pair->set_on_divergence([&](const std::string& r) {
      seen = r;
      ++calls;
    });
    pair->set_cycle_source([] { return uint64_t{4242}; });
    WHEN("a random stream runs through the pair") {
      drive(*pair, 64, 4, 100'000, 7);
      THEN("the first divergence stops the comparison, with a full report") {
        REQUIRE(pair->diverged());
        CHECK(pair->divergences() == 1);
        CHECK(calls == 1);
        CHECK(seen == pair->report());
        const std::string& r = pair->report();
        CHECK(r.find("lockstep divergence at cycle 4242") != std::string::npos);
        CHECK(r.find("operation: lookup vpn 0x") != std::string::npos);
        CHECK(r.find("C++ TLB:   hit vpn") != std::string::npos);
        CHECK(r.find("RTL TLB:   hit vpn") != std::string::npos);
        CHECK(r.find("ppn") != std::string::npos);
      }
    }
  }
  GIVEN("an RTL TLB that misses once where it should hit") {
    auto pair = faulty_pair(Fault::MissInsteadOfHit, 50);
    drive(*pair, 64, 4, 100'000, 8);
    THEN("hit against miss is reported") {
      REQUIRE(pair->diverged());
      CHECK(pair->report().find("RTL TLB:   miss") != std::string::npos);
    }
  }
  GIVEN("an RTL TLB reporting a wrong victim for its 20th eviction") {
    auto pair = faulty_pair(Fault::WrongVictim, 20);
    drive(*pair, 64, 4, 100'000, 9);
    THEN("the fill is reported with both ways") {
      REQUIRE(pair->diverged());
      CHECK(pair->report().find("operation: fill vpn") != std::string::npos);
      CHECK(pair->report().find("written to set") != std::string::npos);
    }
  }
  GIVEN("an RTL TLB that loses one invalidation") {
    auto pair = faulty_pair(Fault::LostInvalidation, 0);
    drive(*pair, 64, 4, 100'000, 10);
    THEN("the slot left valid is reported right after the invalidation") {
      REQUIRE(pair->diverged());
      CHECK(pair->report().find("operation: invalidate page vpn") != std::string::npos);
      CHECK(pair->report().find("afterwards set") != std::string::npos);
    }
  }
}

TEST_CASE("rtl: lockstep on a thread reports what inline reports, and stops within its lag") {
  using Fault = FaultyTlb::Fault;
  for (auto [fault, at, seed] : std::vector<std::tuple<Fault, uint64_t, uint64_t>>{{Fault::WrongPpn, 3000, 7},
                                                                                   {Fault::MissInsteadOfHit, 50, 8},
                                                                                   {Fault::WrongVictim, 900, 9},
                                                                                   {Fault::LostInvalidation, 0, 10}}) {
    std::string reports[2];
    for (const LockstepCheck mode : {LockstepCheck::Inline, LockstepCheck::Thread}) {
      INFO("fault " << int(fault) << ", checked " << mode_name(mode));
      auto pair = faulty_pair(fault, at, mode);
      // A cycle that moves with every operation: the report must give the
      // diverging operation's own, not the one at which a worker found it.
      LockstepTlb* raw = pair.get();
      pair->set_cycle_source([raw] { return 1000 + 3 * raw->operations(); });
      unsigned calls = 0;
      pair->set_on_divergence([&](const std::string&) { ++calls; });
      const StreamCounts n = drive(*pair, 64, 4, 200'000, seed);
      const uint64_t driven = n.ops();
      REQUIRE(pair->diverged());
      CHECK(calls == 1);
      const std::string& r = pair->report();
      unsigned long long op = 0, cycle = 0;
      REQUIRE(std::sscanf(r.c_str(), "lockstep divergence at cycle %llu (TLB operation %llu", &cycle, &op) == 2);
      CHECK(cycle == 1000 + 3 * op);
      if (mode == LockstepCheck::Inline) {
        CHECK(driven == op);  // the stream stopped at the operation itself
      } else {
        CHECK(pair->checker_capacity() > 0);
        CHECK(driven >= op);
        CHECK(driven <= op + pair->checker_capacity());
      }
      reports[mode == LockstepCheck::Thread] = r;
    }
    CHECK(reports[0] == reports[1]);
  }
}

TEST_CASE("rtl: in lockstep, a failed RTL assertion is a divergence") {
  const LockstepCheck mode = GENERATE(LockstepCheck::Inline, LockstepCheck::Thread);
  INFO("checked " << mode_name(mode));
  auto pair = rtl_pair(64, 4, ReplacementPolicy::Lru, mode);
  // The same page non-global in ASID 1 and global under ASID 2: two ways hit
  // (software breaking the RISC-V rule that a global page is global everywhere).
  pair->fill(entry(0x30, 0x1, 1));
  pair->fill(entry(0x30, 0x2, 2, kUserRw | kGlobal));
  CHECK_FALSE(pair->diverged());
  pair->lookup(0x30, 1);
  REQUIRE(pair->diverged());
  CHECK(pair->report().find("assertion") != std::string::npos);
}

namespace {

constexpr int kDivergingPages = 40;

// A trace of `rounds` passes over kDivergingPages pages (they fit in the L1, so every pass
// after the first hits), run in lockstep with an RTL TLB whose 30th hit has a
// wrong PPN.
RunResult diverging_run(int rounds, const char* check, FaultyTlb::Fired* fired) {
  std::string trace = "1 mmap 0x10000000 1M rw\n";
  for (int round = 0; round < rounds; ++round)
    for (int page = 0; page < kDivergingPages; ++page)
      trace += fmt::format("1 {} {:#x}{}\n", round == 0 ? "store" : "load", 0x10000000 + page * 4096,
                           round == 0 ? " 5" : " expect=5");
  bool swapped = false;
  return simulate(trace, {"tlb.impl=lockstep", fmt::format("tlb.lockstep_check={}", check)},
                  [&](Top& top, const TraceRecord&) {
                    if (swapped) return;
                    swapped = true;
                    REQUIRE(top.locksteps.size() == 1);
                    auto old = top.locksteps[0]->exchange_dut(nullptr);
                    std::unique_ptr<RtlTlb> rtl(dynamic_cast<RtlTlb*>(old.release()));
                    REQUIRE(rtl != nullptr);
                    top.locksteps[0]->exchange_dut(
                        std::make_unique<FaultyTlb>(std::move(rtl), FaultyTlb::Fault::WrongPpn, 30, fired));
                  });
}

// What a diverging run of `rounds` shows in either mode: exit 1 before the
// end of the trace, one divergence, and the report naming the lookup that
// answered wrongly by its own number and VPN (not those of a later operation
// at which a worker's finding was seen).
void check_stopped_by_divergence(const RunResult& r, const FaultyTlb::Fired& fired, int rounds) {
  const uint64_t lines = 1 + uint64_t(rounds) * kDivergingPages;  // the mmap, then a line a page a round
  CHECK(r.exit_code == 1);
  REQUIRE(fired.lookup > 0);
  CHECK(r.error.find("lockstep divergence at cycle") != std::string::npos);
  CHECK(r.error.find(fmt::format(", lookup {}):\n  operation: lookup vpn {:#x} ", fired.lookup, fired.vpn)) !=
        std::string::npos);
  REQUIRE(r.stats.contains("lockstep.divergences"));
  CHECK(r.stats["lockstep.divergences"] == 1);
  CHECK(r.stats["trace.records"].get<uint64_t>() < lines);
  CHECK(r.stats["verify.mismatches"] == 0);
}

}  // namespace

TEST_CASE("rtl: a lockstep divergence stops the simulation with exit 1, the report and the statistics") {
  FaultyTlb::Fired fired;
  const RunResult r = diverging_run(20, "inline", &fired);
  check_stopped_by_divergence(r, fired, 20);
  // It stopped at the end of the trace line of the divergence: that lookup
  // was the last (a load is one lookup), not at the end of the trace.
  CHECK(r.stats["lockstep.lookups"] == fired.lookup);
  CHECK(r.stats["sim.cycles"].get<uint64_t>() > 0);
}

TEST_CASE("rtl: a lockstep divergence found on a thread: the same report, and the run stops within the lag") {
  // Long enough that the worker's lag (a few thousand operations) ends well
  // before the trace does.
  FaultyTlb::Fired fired;
  const RunResult r = diverging_run(300, "thread", &fired);
  check_stopped_by_divergence(r, fired, 300);
  CHECK(r.error.find("C++ TLB:   hit vpn") != std::string::npos);
  // It stopped within the worker's lag of the diverging lookup.
  const uint64_t stopped = r.stats["lockstep.lookups"].get<uint64_t>();
  CHECK(stopped >= fired.lookup);
  CHECK(stopped <= fired.lookup + CheckerThread<int>::capacity());
}

TEST_CASE("rtl: tlb.lockstep_check names") {
  CHECK(parse_lockstep_check("inline") == LockstepCheck::Inline);
  CHECK(parse_lockstep_check("thread") == LockstepCheck::Thread);
  CHECK_THROWS_AS(parse_lockstep_check("threads"), std::invalid_argument);
}

namespace {
void lockstep_without_divergence(const char* check) {
  std::string trace = "1 mmap 0x10000000 2M rw\n";
  for (int page = 0; page < 512; ++page) trace += fmt::format("1 store {:#x} {}\n", 0x10000000 + page * 4096, page);
  trace += "1 fork 2\n";
  for (int page = 0; page < 512; page += 3) trace += fmt::format("2 store {:#x} 7\n", 0x10000000 + page * 4096);
  for (int page = 0; page < 512; page += 2) {
    trace += fmt::format("1 load {:#x} expect={}\n", 0x10000000 + page * 4096, page);
    trace += fmt::format("1 load {:#x} expect={}\n", 0x10000000 + page * 4096, page);  // an L1 hit
  }
  trace += "2 exit\n1 exit\n";
  const RunResult lock = simulate(trace, {"tlb.impl=lockstep", fmt::format("tlb.lockstep_check={}", check)});
  INFO(lock.error);
  REQUIRE(lock.exit_code == 0);
  CHECK(lock.stats["lockstep.divergences"] == 0);
  CHECK(lock.stats["lockstep.lookups"] == lock.stats["tlb.l1.hits"].get<uint64_t>() +
                                              lock.stats["tlb.l1.misses"].get<uint64_t>());
  // What the trace fixes, checked or not: one demand-zero fault per page
  // written, one COW copy per page the child writes (every third of 512),
  // and the second of each pair of loads an L1 hit.
  CHECK(lock.stats["faults.demand_zero"] == 512);
  CHECK(lock.stats["faults.cow_copy"] == 171);
  CHECK(lock.stats["tlb.l1.hits"] == 256);
  CHECK(lock.stats["verify.mismatches"] == 0);
}
}  // namespace

TEST_CASE("rtl: a whole simulation in lockstep has no divergence and the model's statistics") {
  lockstep_without_divergence("thread");
}

TEST_CASE("rtl: a whole simulation in lockstep checked inline has no divergence and the model's statistics") {
  lockstep_without_divergence("inline");
}

#endif  // MMUSIM_HAVE_RTL

TEST_CASE("rtl: lockstep of two C++ TLBs: one wrong answer is caught (no RTL involved)") {
  auto ref = std::make_unique<Tlb>(tlb_params(64, 4, ReplacementPolicy::Plru, 1));
  auto dut =
      std::make_unique<WrongPpnTlb>(std::make_unique<Tlb>(tlb_params(64, 4, ReplacementPolicy::Plru, 1)), 500);
  LockstepTlb pair(std::move(ref), std::move(dut));
  drive(pair, 64, 4, 200'000, 11);
  REQUIRE(pair.diverged());
  CHECK(pair.divergences() == 1);
  CHECK(pair.report().find("lockstep divergence at an unknown cycle") != std::string::npos);
  CHECK(pair.report().find("lookup") != std::string::npos);
}

// An independent model of the C++ TLB's documented behaviour with exact LRU
// (models/mmu/tlb.cc's header): each set a list of entries, most recently used
// last; a fill of a full set drops the front. Nothing of Tlb's code (ways,
// stamps, level counts) is reused, so a lockstep with it can diverge.
class ListLruTlb final : public TlbModel {
 public:
  ListLruTlb(unsigned entries, unsigned ways) : ways_(ways), sets_(entries / ways) {}
  const TlbEntry* lookup(Vpn vpn, Asid asid) override {
    for (unsigned level = 0; level <= 3; ++level) {
      auto& set = sets_[index(vpn, level)];
      for (size_t i = 0; i < set.size(); ++i) {
        if (set[i].level == level && covers(set[i], vpn) && (set[i].asid == asid || set[i].global())) {
          std::rotate(set.begin() + long(i), set.begin() + long(i) + 1, set.end());  // now most recent
          hit_ = set.back();
          return &hit_;
        }
      }
    }
    return nullptr;
  }
  bool fill(const TlbEntry& e) override {
    auto& set = sets_[index(e.vpn, e.level)];
    for (size_t i = 0; i < set.size(); ++i) {
      const TlbEntry& s = set[i];
      if (s.level == e.level && covers(s, e.vpn) && (s.asid == e.asid || (s.global() && e.global()))) {
        set.erase(set.begin() + long(i));
        set.push_back(e);
        return false;
      }
    }
    const bool evict = set.size() == ways_;
    if (evict) set.erase(set.begin());
    set.push_back(e);
    return evict;
  }
  void invalidate_all() override {
    for (auto& set : sets_) set.clear();
  }
  void invalidate_asid(Asid a) override {
    drop_if([&](const TlbEntry& e) { return e.asid == a && !e.global(); });
  }
  void invalidate_page(Vpn v) override {
    drop_if([&](const TlbEntry& e) { return covers(e, v); });
  }
  void invalidate_page_asid(Vpn v, Asid a) override {
    drop_if([&](const TlbEntry& e) { return covers(e, v) && (e.asid == a || e.global()); });
  }
  Cycles latency() const override { return 1; }
  unsigned entries() const override { return unsigned(ways_ * sets_.size()); }

 private:
  static bool covers(const TlbEntry& e, Vpn v) { return (e.vpn >> (9 * e.level)) == (v >> (9 * e.level)); }
  size_t index(Vpn v, unsigned level) const { return size_t((v >> (9 * level)) % sets_.size()); }
  template <class F>
  void drop_if(F f) {
    for (auto& set : sets_) set.erase(std::remove_if(set.begin(), set.end(), f), set.end());
  }
  size_t ways_;
  std::vector<std::vector<TlbEntry>> sets_;
  TlbEntry hit_;
};

TEST_CASE("rtl: lockstep of the C++ TLB and an independent LRU model never diverges") {
  // Power-of-two sets (masked) and 12 sets (modulo), as the L1 and L2 defaults.
  for (auto [entries, ways] : {std::pair<unsigned, unsigned>{64, 4}, {60, 5}}) {
    INFO(entries << " entries, " << ways << " ways");
    LockstepTlb pair(std::make_unique<Tlb>(tlb_params(entries, ways, ReplacementPolicy::Lru, 1)),
                     std::make_unique<ListLruTlb>(entries, ways));
    const StreamCounts n = drive(pair, entries, ways, 200'000 / kScale, 12);
    INFO(pair.report());
    CHECK_FALSE(pair.diverged());
    CHECK(pair.lookups() == n.lookups);
    // The stream exercises what can go wrong: hits and invalidations.
    CHECK(n.hits > n.lookups / 10);
    CHECK(n.invalidations > 1000 / kScale);
  }
  // The model is strict enough to notice one TLB that is not LRU.
  LockstepTlb fifo(std::make_unique<Tlb>(tlb_params(64, 4, ReplacementPolicy::Fifo, 1)),
                   std::make_unique<ListLruTlb>(64, 4));
  drive(fifo, 64, 4, 200'000 / kScale, 12);
  CHECK(fifo.diverged());
}

}  // namespace mmusim::test
