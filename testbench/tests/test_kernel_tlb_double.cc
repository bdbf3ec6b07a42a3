// The kernel against a test double of the TLB-maintenance interface: no Mmu,
// no Cpu, no simulation run. What each fault and system call asks of each
// CPU's TLB, exactly.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "common/config.h"
#include "kernel/kernel.h"
#include "memory/phys_mem.h"
#include "mmu/tlb_maintenance.h"

namespace mmusim::test {

namespace {

// Records every request as text.
struct RecordingTlb final : TlbMaintenance {
  std::vector<std::string> log;
  void invalidate_page(Vpn vpn, Asid asid) override { log.push_back(fmt::format("page {:#x} asid {}", vpn, asid)); }
  void invalidate_asid(Asid asid) override { log.push_back(fmt::format("asid {}", asid)); }
  void invalidate_all() override { log.push_back("all"); }
  void flush_walk_cache() override {}
  void visit_entries(const std::function<void(const TlbEntry&)>&) const override {}
};

struct TwoCpus {
  Config cfg;
  std::unique_ptr<Clock> clock;
  std::unique_ptr<PhysMem> mem;
  RecordingTlb tlb0, tlb1;
  std::unique_ptr<Kernel> kernel;
  explicit TwoCpus(std::vector<std::string> sets = {}) {
    cfg.set("cpu.count=2");
    cfg.set("mem.size=16M");
    for (const auto& s : sets) cfg.set(s);
    cfg.validate();
    clock = std::make_unique<Clock>(cfg.u64("cpu.freq_mhz"));
    mem = std::make_unique<PhysMem>("mem", cfg, *clock);
    kernel = std::make_unique<Kernel>(cfg, *mem, std::vector<TlbMaintenance*>{&tlb0, &tlb1});
  }
  Task& run(Task& t) {
    Cycles c = 0;
    kernel->switch_to(t, c);
    return t;
  }
  void clear() {
    tlb0.log.clear();
    tlb1.log.clear();
  }
};

constexpr Perms kRw{true, true, false};

}  // namespace

TEST_CASE("kernel: TLB maintenance requested by faults and system calls on two CPUs", "[kernel][shootdown]") {
  GIVEN("process 1 with a written page, task 1 on CPU 0 and its thread 11 running on CPU 1") {
    TwoCpus m;
    Kernel& k = *m.kernel;
    Cycles cost = 0;
    Task& main = m.run(*k.spawn(1, 0, cost));
    k.mmap(main, 0x10000, 4096, kRw, false);
    REQUIRE(k.handle_fault(main, 0x10000, AccessType::Store, 0, 0).outcome == FaultOutcome::Retry);
    k.thread(main, 11, 1);
    m.run(*k.task(11));
    const Asid asid = main.proc->asid;
    m.clear();

    WHEN("task 1 forks") {
      REQUIRE(k.fork(main, 2, 0).ok);
      THEN("the parent's whole address space is flushed on CPU 0 and, by IPI, on CPU 1") {
        CHECK(m.tlb0.log == std::vector<std::string>{fmt::format("asid {}", asid)});
        CHECK(m.tlb1.log == std::vector<std::string>{fmt::format("asid {}", asid)});
        CHECK(k.stats().ipis == 1);
        CHECK(k.cpu(1).ipis_received == 1);
      }
      AND_WHEN("task 1 then writes the shared page") {
        m.clear();
        REQUIRE(k.handle_fault(main, 0x10000, AccessType::Store, 0, 0).outcome == FaultOutcome::Retry);
        THEN("the COW copy flushes that page on both CPUs") {
          CHECK(k.stats().faults[size_t(FaultKind::CowCopy)] == 1);
          CHECK(m.tlb0.log == std::vector<std::string>{fmt::format("page 0x10 asid {}", asid)});
          CHECK(m.tlb1.log == std::vector<std::string>{fmt::format("page 0x10 asid {}", asid)});
          CHECK(k.stats().ipis == 2);
        }
      }
    }
    WHEN("the thread on CPU 1 moves to CPU 0 and task 1 unmaps the page") {
      k.migrate(*k.task(11), 0);
      k.munmap(main, 0x10000, 4096);
      THEN("CPU 1 gets no IPI but owes a flush at its next switch to process 1") {
        CHECK(m.tlb1.log.empty());
        CHECK(k.stats().deferred_flushes == 1);
        CHECK(m.tlb0.log == std::vector<std::string>{fmt::format("page 0x10 asid {}", asid)});
        k.migrate(*k.task(11), 1);
        m.run(*k.task(11));
        CHECK(m.tlb1.log == std::vector<std::string>{fmt::format("asid {}", asid)});
      }
    }
  }
}

}  // namespace mmusim::test
