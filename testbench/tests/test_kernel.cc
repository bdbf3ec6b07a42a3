// The kernel's mechanisms end to end through the whole model: demand paging,
// the COW fault handler's six steps, fork's write protection and TLB
// invalidation, reference counts, frame reuse, and the cycle accounting.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <sstream>

#include "sim_harness.h"

namespace mmusim::test {

namespace {

// Small, distinct costs so that every term of a breakdown can be checked.
const std::vector<std::string> kTimedConfig = {
    "mem.latency=10",        "mem.copy_bytes_per_cycle=8", "kernel.trap_entry=100", "kernel.trap_exit=50",
    "kernel.fault_base=1000", "kernel.frame_alloc=200",     "kernel.pte_update=5",   "kernel.tlb_flush=7",
    "kernel.fork_base=1000", "kernel.fork_per_pte=10",     "kernel.syscall=0",      "mmu.pwc_entries=0",
    "kernel.frame_free=3",   "mem.size=16M",                "mem.zero_bytes_per_cycle=32",
    "kernel.cow_fault=400",  "kernel.cow_new_frame=2000"};

// Under kTimedConfig: copying a page is one access plus 4096 bytes at 8 bytes
// a cycle, zeroing one the same at 32 bytes a cycle; a new page-table frame is
// an allocation and a zeroing.
constexpr uint64_t kBulk = 10 + 4096 / 8;
constexpr uint64_t kZero = 10 + 4096 / 32;
constexpr uint64_t kTableFrame = 200 + kZero;
// A demand-zero store into an empty address space: trap, a walk that stops at
// the root, the handler reading 2 levels and the leaf, two table frames and a
// data frame, the zeroing, 3 PTE writes, trap exit.
constexpr uint64_t kFirstTouchFault =
    100 + 10 + (1000 + 3 * 10) + (2 * kTableFrame + 200) + kZero + 3 * (5 + 10) + 50;

std::vector<std::string> with(std::vector<std::string> base, std::initializer_list<std::string> more) {
  base.insert(base.end(), more);
  return base;
}

uint64_t u(const RunResult& r, const char* key) { return r.stats.at(key).get<uint64_t>(); }

}  // namespace

TEST_CASE("kernel: demand paging, storing once to each page of 256 MiB, takes exactly 65536 demand-zero faults",
          "[kernel][demand]") {
  std::string trace = "1 mmap 0x10000000 256M rw\n";
  for (uint64_t i = 0; i < 65536; ++i) trace += fmt::format("1 store {:#x} {}\n", 0x10000000 + i * 4096, i);
  Config cfg;
  cfg.validate();
  TempFile file(trace);
  RunOptions opts;
  opts.trace = file.path();
  const RunResult r = run_simulation(cfg, opts);
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "faults.demand_zero") == 65536);
  CHECK(u(r, "faults.cow_zero") == 0);
  CHECK(u(r, "faults.latency.demand_zero.count") == 65536);
  CHECK(u(r, "memory.data_frames_peak") == 65536);
  // 256 MiB under one 1 GiB entry: one level-1 table and 128 leaf tables, plus the root.
  CHECK(u(r, "memory.pt_frames_peak") == 1 + 1 + 128);
  CHECK(u(r, "memory.frames_in_use") == 65536 + 130);
  CHECK(u(r, "sim.accesses") == 65536);
}

TEST_CASE("kernel: fork then one write is exactly one COW copy, done in the handler's six steps", "[kernel][cow]") {
  const std::string trace =
      "1 mmap 0x10000 4K rw\n"
      "1 store 0x10000 5\n"
      "1 store 0x10008 0xabcdef\n"
      "1 fork 2\n"
      "2 store 0x10000 10\n"  // line 5: the COW fault
      "2 load 0x10008 expect=0xabcdef\n"
      "1 load 0x10000 expect=5\n"
      "2 exit\n"
      "1 exit\n";
  Ppn parent_frame = 0;
  bool checked_fork = false, checked_copy = false;
  const RunResult r = simulate(trace, {}, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    if (rec.line == 4) {
      // After fork: both map the same frame, both read-only, two references,
      // and the parent's TLB no longer holds its writable translation.
      const Pte pp = k.pte_of(*k.process(1), 0x10000), cp = k.pte_of(*k.process(2), 0x10000);
      parent_frame = pp.ppn();
      CHECK(pp.ppn() == cp.ppn());
      CHECK_FALSE(pp.writable());
      CHECK_FALSE(cp.writable());
      CHECK(k.frames().refcount(parent_frame) == 2);
      CHECK(top.mmus[0]->l1().lookup(0x10, k.process(1)->asid) == nullptr);
      checked_fork = true;
    }
    if (rec.line == 5) {
      const Pte pp = k.pte_of(*k.process(1), 0x10000), cp = k.pte_of(*k.process(2), 0x10000);
      CHECK(pp.ppn() == parent_frame);       // the parent keeps the original
      CHECK(cp.ppn() != parent_frame);       // step 2: a new frame
      CHECK(cp.writable());                  // steps 4 and 5
      CHECK(k.frames().refcount(parent_frame) == 1);
      CHECK(k.frames().refcount(cp.ppn()) == 1);
      // Step 3: the bytes were copied (the word the child did not write).
      CHECK(top.mem.read64(frame_addr(cp.ppn()) + 8) == 0xabcdef);
      CHECK(top.mem.read64(frame_addr(cp.ppn())) == 10);
      CHECK(top.mem.read64(frame_addr(parent_frame)) == 5);
      // Step 6: the restarted store went through a fresh, writable translation.
      const TlbEntry* e = top.mmus[0]->l1().lookup(0x10, k.process(2)->asid);
      REQUIRE(e != nullptr);
      CHECK(e->ppn == cp.ppn());
      CHECK((e->flags & Pte::W) != 0);
      checked_copy = true;
    }
  });
  REQUIRE(r.exit_code == 0);
  CHECK(checked_fork);
  CHECK(checked_copy);
  CHECK(u(r, "faults.cow_copy") == 1);
  CHECK(u(r, "faults.cow_reuse") == 0);
  CHECK(u(r, "memory.bytes_copied") == 4096);
  CHECK(u(r, "verify.mismatches") == 0);
  CHECK(u(r, "verify.loads_checked") == 2);
}

TEST_CASE("kernel: fork invalidates the parent's writable TLB entries: its next store faults", "[kernel][cow][tlb]") {
  // Without the invalidation the parent's warm, writable TLB entry would let it
  // write the frame it now shares with the child, and the child would see it.
  const RunResult r = simulate(
      "1 mmap 0x20000 4K rw\n"
      "1 store 0x20000 1\n"
      "1 load 0x20000 expect=1\n"
      "1 fork 2\n"
      "1 store 0x20000 2\n"
      "2 load 0x20000 expect=1\n"
      "1 load 0x20000 expect=2\n");
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "faults.cow_copy") == 1);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("kernel: a frame freed by exit is handed out again at once, with no stale translation", "[kernel][tlb]") {
  Ppn freed = 0, reused = 0;
  const RunResult r = simulate(
      "1 mmap 0x30000 4K rw\n"
      "1 store 0x30000 77\n"
      "1 exit\n"
      "2 mmap 0x30000 4K rw\n"
      "2 store 0x30000 88\n"
      "2 load 0x30000 expect=88\n"
      "2 exit\n",
      {}, [&](Top& top, const TraceRecord& rec) {
        if (rec.line == 2) freed = top.kernel.pte_of(*top.kernel.process(1), 0x30000).ppn();
        if (rec.line == 5) reused = top.kernel.pte_of(*top.kernel.process(2), 0x30000).ppn();
      });
  REQUIRE(r.exit_code == 0);
  CHECK(freed != 0);
  CHECK(reused == freed);
  CHECK(u(r, "memory.frames_in_use") == 0);
}

TEST_CASE("kernel: munmap and mprotect remove or downgrade cached translations", "[kernel][tlb]") {
  const RunResult r = simulate(
      "1 mmap 0x40000 4K rw\n"
      "1 store 0x40000 5\n"
      "1 load 0x40000 expect=5\n"
      "1 munmap 0x40000 4K\n"
      "1 mmap 0x40000 4K rw\n"
      "1 load 0x40000 expect=0\n"  // a new zero page, not the freed frame
      "1 store 0x40000 6\n"
      "1 mprotect 0x40000 4K r\n"
      "1 store 0x40000 7\n"        // the warm writable entry must be gone: segv
      "1 load 0x40000\n");          // skipped
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "faults.segv") == 1);
  CHECK(u(r, "trace.skipped_lines") == 1);
  CHECK(u(r, "faults.cow_zero") == 1);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("kernel: each fault's latency breakdown follows the configuration and adds up", "[kernel][timing]") {
  TempFile csv("", ".csv");
  const RunResult r = simulate(
      "1 mmap 0x10000 4K rw\n"
      "1 store 0x10000 5\n"
      "1 fork 2\n"
      "2 store 0x10000 10\n"
      "2 exit\n"
      "1 store 0x10000 6\n"
      "1 exit\n",
      kTimedConfig, nullptr, csv.path());
  REQUIRE(r.exit_code == 0);
  std::ifstream in(csv.path());
  std::string header, line;
  std::getline(in, header);
  CHECK(header == "cycle,pid,va,kind,total,trap_entry,walk,handler,alloc,copy,pte_update,tlb_flush,trap_exit,cpu,shootdown");
  std::vector<std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    REQUIRE(f.size() == 15);
    uint64_t sum = std::stoull(f[14]);  // shootdown wait (one CPU: 0)
    for (int i = 5; i < 13; ++i) sum += std::stoull(f[i]);
    CHECK(std::stoull(f[4]) == sum);
    CHECK(f[13] == "0");
    CHECK(f[14] == "0");
    rows.push_back(f);
  }
  REQUIRE(rows.size() == 3);
  // Demand-zero fault into an empty address space: the walk stops at the root
  // (1 read); the handler reads 2 table levels and the leaf; it allocates two
  // tables (each zeroed) and the data frame; writes 2 table pointers and the leaf.
  CHECK(rows[0][3] == "demand_zero");
  CHECK(rows[0][1] == "1");
  CHECK(rows[0][2] == "0x10000");
  CHECK(std::stoull(rows[0][5]) == 100);
  CHECK(std::stoull(rows[0][6]) == 10);
  CHECK(std::stoull(rows[0][7]) == 1000 + 3 * 10);
  CHECK(std::stoull(rows[0][8]) == 2 * kTableFrame + 200);
  CHECK(std::stoull(rows[0][9]) == kZero);
  CHECK(std::stoull(rows[0][10]) == 3 * (5 + 10));
  CHECK(std::stoull(rows[0][11]) == 0);
  CHECK(std::stoull(rows[0][12]) == 50);
  CHECK(std::stoull(rows[0][4]) == kFirstTouchFault);
  // COW copy in the child (cold TLB): a full 3-level walk finds the read-only
  // leaf; the write-protect fault's and the copy's own work; one frame, one
  // 4 KiB copy, one PTE write, one TLB invalidation.
  CHECK(rows[1][3] == "cow_copy");
  CHECK(rows[1][1] == "2");
  CHECK(std::stoull(rows[1][6]) == 3 * 10);
  CHECK(std::stoull(rows[1][7]) == 1000 + 3 * 10 + 400 + 2000);
  CHECK(std::stoull(rows[1][8]) == 200);
  CHECK(std::stoull(rows[1][9]) == kBulk);
  CHECK(std::stoull(rows[1][10]) == 15);
  CHECK(std::stoull(rows[1][11]) == 7);
  // COW reuse in the parent after the child exited: no frame, no copy.
  CHECK(rows[2][3] == "cow_reuse");
  CHECK(std::stoull(rows[2][7]) == 1000 + 3 * 10 + 400);
  CHECK(std::stoull(rows[2][8]) == 0);
  CHECK(std::stoull(rows[2][9]) == 0);
  CHECK(std::stoull(rows[2][10]) == 15);
  CHECK(std::stoull(rows[2][11]) == 7);
  CHECK(u(r, "faults.latency.cow_copy.count") == 1);
  CHECK(u(r, "faults.latency.cow_copy.max") == std::stoull(rows[1][4]));
  CHECK(u(r, "faults.latency.demand_zero.p50") == std::stoull(rows[0][4]));
}

// Three written pages, then a fork: the fork-cost tests' trace.
const char* const kForkThreePages =
    "1 mmap 0x10000 12K rw\n"
    "1 store 0x10000 1\n"
    "1 store 0x11000 2\n"
    "1 store 0x12000 3\n"
    "1 fork 2\n"
    "2 exit\n"
    "1 exit\n";

TEST_CASE("kernel: fork costs fork_base + fork_per_pte per PTE plus table traffic", "[kernel][timing]") {
  const uint64_t tables = 3 * kTableFrame;  // the child's root, level-1 and leaf tables
  const RunResult r = simulate(kForkThreePages, kTimedConfig);
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "fork.ptes_copied") == 3);
  // 3 child PTEs + 3 write-protected parent PTEs, 8 bytes each at 8 B/cycle;
  // one TLB invalidation of the parent's ASID.
  CHECK(u(r, "fork.cycles") == 1000 + tables + 3 * 10 + 6 + 7);
  CHECK(u(r, "memory.bytes_copied") == 0);
}

TEST_CASE("kernel: fork pays fork_per_pte_uncached for each PTE past fork_cached_ptes", "[kernel][timing]") {
  const uint64_t tables = 3 * kTableFrame;
  // 3 PTEs, 1 within the cached ones: 2 pay the extra 100.
  const RunResult r =
      simulate(kForkThreePages, with(kTimedConfig, {"kernel.fork_cached_ptes=1", "kernel.fork_per_pte_uncached=100"}));
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "fork.cycles") == 1000 + tables + 3 * 10 + 2 * 100 + 6 + 7);  // the test above, plus 200
}

TEST_CASE("kernel: eager fork copies every private page at fork time, timed at the copy bandwidth", "[kernel][timing]") {
  const RunResult r = simulate(
      "1 mmap 0x10000 12K rw\n"
      "1 store 0x10000 1\n"
      "1 store 0x11000 2\n"
      "1 store 0x12000 3\n"
      "1 fork 2\n"
      "2 store 0x10000 9\n"
      "2 load 0x11000 expect=2\n"
      "1 load 0x10000 expect=1\n"
      "2 exit\n"
      "1 exit\n",
      with(kTimedConfig, {"kernel.fork_policy=eager"}));
  REQUIRE(r.exit_code == 0);
  const uint64_t tables = 3 * kTableFrame;
  CHECK(u(r, "fork.cycles") == 1000 + tables + 3 * 200 + 3 * kBulk + 3 * 10 + 3);
  CHECK(u(r, "memory.bytes_copied") == 3 * 4096);
  CHECK(u(r, "faults.cow_copy") == 0);
  CHECK(u(r, "faults.cow_reuse") == 0);
  CHECK(u(r, "memory.data_frames_peak") == 6);
}

TEST_CASE("mmu: a TLB hit costs the L1 latency and a data access, a miss adds the L2 and the walk", "[timing]") {
  const RunResult r = simulate(
      "1 mmap 0x10000 4K rw\n"
      "1 store 0x10000 1\n"
      "1 compute 1000\n",
      with(kTimedConfig, {"tlb.l1.latency=2", "tlb.l2.latency=9", "kernel.context_switch=0"}));
  REQUIRE(r.exit_code == 0);
  // The store: L1 miss (2) + L2 miss (9) + walk stopping at the root (10),
  // the fault, then the retry: L1 miss (2) + L2 miss (9) + 3-read walk (30) +
  // the data access (10). Then 1000 cycles of compute.
  // Spawning process 1 allocates and zeroes its root table.
  CHECK(u(r, "sim.cycles") == kTableFrame + (2 + 9 + 10) + kFirstTouchFault + (2 + 9 + 30 + 10) + 1000);
}

TEST_CASE("kernel: the invariant checker catches a wrong reference count and a mapped free frame", "[kernel][invariants]") {
  bool checked = false;
  const RunResult r = simulate(
      "1 mmap 0x10000 8K rw\n"
      "1 store 0x10000 1\n"
      "1 fork 2\n"
      "1 exit\n"
      "2 exit\n",
      {}, [&](Top& top, const TraceRecord& rec) {
        if (rec.line != 3) return;
        Kernel& k = top.kernel;
        const Ppn f = k.pte_of(*k.process(1), 0x10000).ppn();
        CHECK(k.frames().refcount(f) == 2);
        CHECK_NOTHROW(k.check_invariants());
        k.frames().get(f);  // one reference too many
        CHECK_THROWS_WITH(k.check_invariants(), Catch::Contains("reference count 3 but 2 mappings"));
        k.frames().put(f);
        k.frames().put(f);  // one too few
        CHECK_THROWS_WITH(k.check_invariants(), Catch::Contains("reference count 1 but 2 mappings"));
        k.frames().get(f);
        CHECK_NOTHROW(k.check_invariants());
        checked = true;
      });
  CHECK(checked);
  CHECK(r.exit_code == 0);
  CHECK(u(r, "memory.frames_in_use") == 0);
}

TEST_CASE("kernel: a new process that cannot get its page-table root is killed for lack of memory", "[kernel][oom]") {
  // mem.size = 1M: 254 frames after the kernel's own; pid 1 takes all of them
  // (its root, two tables and 251 data pages).
  std::string trace = "1 mmap 0x100000 2M rw\n";
  for (int i = 0; i < 251; ++i) trace += fmt::format("1 store {:#x} 1\n", 0x100000 + i * 4096);
  trace +=
      "2 mmap 0x1000 4K rw\n"  // no frame for pid 2's root: killed, its lines skipped
      "2 store 0x1000 1\n"
      "1 load 0x100000 expect=1\n"
      "1 exit\n"
      "3 mmap 0x1000 4K rw\n"  // memory is free again
      "3 store 0x1000 5\n"
      "3 load 0x1000 expect=5\n"
      "3 exit\n";
  const RunResult r = simulate(trace, {"mem.size=1M"});
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "kernel.oom_kills") == 1);
  CHECK(u(r, "trace.skipped_lines") == 2);
  CHECK(u(r, "memory.frames_peak") == 254);
  CHECK(u(r, "verify.mismatches") == 0);
  CHECK(u(r, "memory.frames_in_use") == 0);
}

}  // namespace mmusim::test
