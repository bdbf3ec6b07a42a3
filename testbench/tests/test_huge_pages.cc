// Transparent huge pages end to end (models/kernel/huge_pages.cc): 2 MiB
// leaves written by the kernel, walked and cached as one TLB entry; the huge
// zero page; fork sharing a huge page as one entry; COW by split or copy;
// reuse in place; fallback to 4 KiB pages when no 2 MiB block is free;
// partial munmap/mprotect splitting. The harness checks the kernel's
// invariants and every load against the reference model after each line.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "sim_harness.h"

namespace mmusim::test {

namespace {

uint64_t u(const RunResult& r, const char* key) { return r.stats.at(key).get<uint64_t>(); }
uint64_t u(const nlohmann::json& s, const char* key) { return s.at(key).get<uint64_t>(); }

// A run of the mmusim binary (SystemC elaborates once per process: a test
// case that needs several runs starts processes), the kernel's invariants
// checked after every line; its statistics.
nlohmann::json run_stats(const std::string& trace, const std::vector<std::string>& sets = {}) {
  TempFile file(trace), stats("", ".json");
  std::vector<std::string> args{"-q", "--check-invariants", "--stats", stats.path()};
  for (const auto& set : sets) args.insert(args.end(), {"--set", set});
  args.push_back(file.path());
  const ProcessResult r = run_mmusim(args);
  INFO(r.command << "\n" << r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(stats.path());
  return nlohmann::json::parse(in);
}

constexpr uint64_t kHuge = 2 << 20;
constexpr VAddr kBase = 0x40000000;  // 2 MiB-aligned

// One store to each of the 512 4 KiB pages of the huge page at kBase (value: the page's index + 1).
std::string store_every_page(Pid pid, VAddr base = kBase) {
  std::string t;
  for (unsigned i = 0; i < 512; ++i) t += fmt::format("{} store {:#x} {}\n", pid, base + i * 4096, i + 1);
  return t;
}

uint64_t total_faults(const nlohmann::json& s) {
  uint64_t n = 0;
  for (const auto& k : kFaultKindNames) n += u(s, (std::string("faults.") + k.name).c_str());
  return n;
}
uint64_t total_faults(const RunResult& r) { return total_faults(r.stats); }

}  // namespace

TEST_CASE("thp: storing to every page of a huge mapping takes one thp_zero fault and one 2 MiB TLB entry",
          "[thp]") {
  const std::string trace = "1 mmap 0x40000000 2M rw huge\n" + store_every_page(1) +
                            "1 load 0x40000000 expect=1\n1 load 0x401ff000 expect=512\n";
  bool checked = false;
  const RunResult r = simulate(trace, {}, [&](Top& top, const TraceRecord& rec) {
    if (rec.line != 2) return;
    Kernel& k = top.kernel;
    const Process& p = *k.process(1);
    REQUIRE(k.huge_mapped(p, kBase));
    REQUIRE(k.huge_mapped(p, kBase + kHuge - 1));
    // One leaf for 2 MiB: the frame of page i is the head + i, the head 2 MiB-aligned.
    const Pte first = k.pte_of(p, kBase), last = k.pte_of(p, kBase + kHuge - 4096);
    CHECK(first.ppn() % 512 == 0);
    CHECK(last.ppn() == first.ppn() + 511);
    CHECK(first.writable());
    CHECK(k.frames().refcount(first.ppn()) == 1);
    checked = true;
  });
  REQUIRE(r.exit_code == 0);
  CHECK(checked);
  CHECK(u(r, "faults.thp_zero") == 1);
  CHECK(total_faults(r) == 1);
  CHECK(u(r, "faults.latency.thp_zero.count") == 1);
  // The first store misses, walks, faults, walks again and fills one 2 MiB
  // entry; the other 511 stores and both loads hit it.
  CHECK(u(r, "ptw.walks") == 2);
  CHECK(u(r, "tlb.l1.misses") == 2);
  CHECK(u(r, "tlb.l1.hits") == 511 + 2);
  CHECK(u(r, "tlb.l2.fills") == 1);
  CHECK(u(r, "memory.huge_pages_peak") == 1);
  CHECK(u(r, "memory.huge_allocs") == 1);
  CHECK(u(r, "memory.data_frames_peak") == 512);
  // Root, one level-1 table (the leaf lives in it) and the table deposited for a split.
  CHECK(u(r, "memory.pt_frames_peak") == 3);
  CHECK(u(r, "memory.thp_fallbacks") == 0);
  CHECK(u(r, "verify.loads_checked") == 2);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("thp: the same trace with kernel.thp = never is exactly the 4 KiB behaviour", "[thp]") {
  const std::string body = store_every_page(1) + "1 fork 2\n2 store 0x40001000 7\n1 load 0x40001000 expect=2\n"
                                                 "2 exit\n1 munmap 0x40000000 2M\n1 exit\n";
  const nlohmann::json huge_never = run_stats("1 mmap 0x40000000 2M rw huge\n" + body, {"kernel.thp=never"});
  const nlohmann::json plain = run_stats("1 mmap 0x40000000 2M rw\n" + body);
  CHECK(u(plain, "faults.demand_zero") == 512);
  CHECK(u(plain, "faults.cow_copy") == 1);
  CHECK(u(plain, "faults.thp_zero") == 0);
  // Every statistic, cycles included, is the same (the host's timing aside).
  for (auto it = plain.begin(); it != plain.end(); ++it) {
    if (it.key() == "sim.wall_seconds" || it.key() == "sim.accesses_per_second") continue;
    INFO(it.key());
    REQUIRE(huge_never.contains(it.key()));
    CHECK(huge_never.at(it.key()) == it.value());
  }
}

TEST_CASE("thp: kernel.thp = always makes an unmarked private mapping huge, never a shared one", "[thp]") {
  const std::string trace = "1 mmap 0x40000000 2M rw\n1 mmap 0x80000000 2M rw shared\n1 store 0x40000000 1\n"
                            "1 store 0x80000000 2\n";
  const nlohmann::json always = run_stats(trace, {"kernel.thp=always"});
  CHECK(u(always, "faults.thp_zero") == 1);
  CHECK(u(always, "faults.demand_zero") == 1);  // the shared page
  const nlohmann::json madvise = run_stats(trace);
  CHECK(u(madvise, "faults.thp_zero") == 0);
  CHECK(u(madvise, "faults.demand_zero") == 2);
  // A mapping that holds no whole aligned 2 MiB block gets 4 KiB pages.
  const nlohmann::json small = run_stats("1 mmap 0x40001000 2M rw huge\n1 store 0x40001000 1\n1 store 0x401ff000 1\n");
  CHECK(u(small, "faults.thp_zero") == 0);
  CHECK(u(small, "faults.demand_zero") == 2);
}

TEST_CASE("thp: a load maps the huge zero page and a store then splits it and allocates one 4 KiB page", "[thp]") {
  const std::string trace =
      "1 mmap 0x40000000 2M rw huge\n"
      "1 load 0x40000000 expect=0\n"
      "1 load 0x40100000 expect=0\n"
      "1 store 0x40001000 9\n"  // line 4
      "1 load 0x40001000 expect=9\n"
      "1 load 0x40002000 expect=0\n";
  bool checked = false;
  const RunResult r = simulate(trace, {}, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    const Process& p = *k.process(1);
    if (rec.line == 2) {
      REQUIRE(k.huge_zero_frame() != 0);
      CHECK(k.huge_mapped(p, kBase));
      CHECK(k.pte_of(p, kBase + 0x5000).ppn() == k.huge_zero_frame() + 5);
      CHECK(!k.pte_of(p, kBase).writable());
      CHECK(k.frames().stats().data_in_use == 0);
    }
    if (rec.line == 4) {
      // Linux: the huge zero PMD becomes 512 PTEs of the 4 KiB zero frame; the written one a new page.
      CHECK(!k.huge_mapped(p, kBase));
      CHECK(k.pte_of(p, kBase).ppn() == k.zero_frame());
      CHECK(k.pte_of(p, kBase + 0x1000).ppn() != k.zero_frame());
      CHECK(k.pte_of(p, kBase + 0x1000).writable());
      CHECK(k.frames().stats().data_in_use == 1);
      checked = true;
    }
  });
  REQUIRE(r.exit_code == 0);
  CHECK(checked);
  CHECK(u(r, "faults.thp_zero") == 1);
  CHECK(u(r, "faults.cow_zero") == 1);
  CHECK(u(r, "faults.thp_split") == 0);
  CHECK(total_faults(r) == 2);
  CHECK(u(r, "memory.thp_splits") == 1);
  CHECK(u(r, "memory.huge_zero_page") == 1);
  CHECK(u(r, "memory.huge_allocs") == 0);  // the huge zero page is the kernel's
  CHECK(u(r, "memory.data_frames_peak") == 1);
  CHECK(u(r, "memory.bytes_copied") == 0);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("thp: fork shares a huge page as one PTE and a write splits it and copies 4 KiB (kernel.thp_cow = split)",
          "[thp][cow]") {
  const std::string trace = "1 mmap 0x40000000 2M rw huge\n" + store_every_page(1) +  // lines 2-513
                            "1 fork 2\n"                                             // 514
                            "2 store 0x40003000 100\n"                               // 515: split + copy
                            "2 store 0x40004000 200\n"                               // 516: a 4 KiB COW copy
                            "1 load 0x40003000 expect=4\n"
                            "1 load 0x40004000 expect=5\n"
                            "2 load 0x40003000 expect=100\n"
                            "2 load 0x40005000 expect=6\n"
                            "1 store 0x40003000 300\n"  // 521: the parent's huge leaf, split under it: page 3 is its own
                            "1 store 0x40006000 400\n"  // 522: now a 4 KiB COW copy
                            "1 load 0x40003000 expect=300\n"
                            "2 load 0x40006000 expect=7\n";
  bool at_fork = false, at_split = false, at_parent = false;
  const RunResult r = simulate(trace, {}, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    if (rec.line == 514) {
      const Process &p = *k.process(1), &c = *k.process(2);
      CHECK(k.huge_mapped(p, kBase));
      CHECK(k.huge_mapped(c, kBase));
      const Pte pp = k.pte_of(p, kBase), cp = k.pte_of(c, kBase);
      CHECK(pp.ppn() == cp.ppn());
      CHECK(!pp.writable());
      CHECK(!cp.writable());
      CHECK(k.frames().refcount(pp.ppn()) == 2);  // one per mapping of the huge page
      at_fork = true;
    }
    if (rec.line == 515) {
      const Process &p = *k.process(1), &c = *k.process(2);
      CHECK(k.huge_mapped(p, kBase));
      CHECK(!k.huge_mapped(c, kBase));
      const Ppn head = k.pte_of(p, kBase).ppn();
      CHECK(!k.frames().huge(head));  // split: each frame counts its own references
      CHECK(k.frames().refcount(head + 5) == 2);
      CHECK(k.frames().refcount(head + 3) == 1);  // the child copied page 3 away
      CHECK(k.pte_of(c, kBase + 0x5000).ppn() == head + 5);
      CHECK(k.pte_of(c, kBase + 0x3000).ppn() != head + 3);
      at_split = true;
    }
    if (rec.line == 521) {
      CHECK(!k.huge_mapped(*k.process(1), kBase));
      at_parent = true;
    }
  });
  REQUIRE(r.exit_code == 0);
  CHECK((at_fork && at_split && at_parent));
  CHECK(u(r, "fork.ptes_copied") == 1);
  CHECK(u(r, "faults.thp_zero") == 1);
  // Child: one split that copies 4 KiB, then one 4 KiB copy. Parent: one
  // split whose written page no one else maps any more (reused), then one copy.
  CHECK(u(r, "faults.thp_split") == 2);
  CHECK(u(r, "faults.cow_copy") == 2);
  CHECK(u(r, "faults.cow_reuse") == 0);
  CHECK(u(r, "faults.thp_copy") == 0);
  CHECK(u(r, "faults.thp_reuse") == 0);
  CHECK(total_faults(r) == 5);
  CHECK(u(r, "memory.thp_splits") == 2);
  CHECK(u(r, "memory.bytes_copied") == 3 * 4096);
  CHECK(u(r, "memory.bytes_copied_cow") == 3 * 4096);
  CHECK(u(r, "memory.huge_pages_peak") == 1);
  CHECK(u(r, "memory.data_frames_peak") == 512 + 3);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("thp: one write after fork, exactly: split, one 4 KiB copy, 4096 bytes and a second page, one COW copy more",
          "[thp][cow]") {
  const std::string base = "1 mmap 0x40000000 2M rw huge\n1 store 0x40000000 1\n1 fork 2\n2 store 0x40010000 5\n";
  const nlohmann::json one = run_stats(base);
  CHECK(u(one, "faults.thp_split") == 1);
  CHECK(u(one, "faults.cow_copy") == 0);
  CHECK(u(one, "memory.thp_splits") == 1);
  CHECK(u(one, "memory.bytes_copied") == 4096);
  const nlohmann::json two = run_stats(base + "2 store 0x40020000 6\n");
  CHECK(u(two, "faults.thp_split") == 1);
  CHECK(u(two, "faults.cow_copy") == 1);
  CHECK(u(two, "memory.thp_splits") == 1);
  CHECK(u(two, "memory.bytes_copied") == 8192);
}

TEST_CASE("thp: kernel.thp_cow = copy copies the whole 2 MiB into a new huge page", "[thp][cow]") {
  const std::string trace = "1 mmap 0x40000000 2M rw huge\n" + store_every_page(1) +
                            "1 fork 2\n"
                            "2 store 0x40003000 100\n"  // line 515
                            "2 store 0x40004000 200\n"  // the child's own huge page now: no fault
                            "2 load 0x40005000 expect=6\n"
                            "1 load 0x40003000 expect=4\n"
                            "1 store 0x40003000 7\n";  // the parent is the only mapper left: reuse
  bool checked = false;
  const RunResult r = simulate(trace, {"kernel.thp_cow=copy"}, [&](Top& top, const TraceRecord& rec) {
    if (rec.line != 515) return;
    Kernel& k = top.kernel;
    const Pte pp = k.pte_of(*k.process(1), kBase), cp = k.pte_of(*k.process(2), kBase);
    CHECK(k.huge_mapped(*k.process(2), kBase));
    CHECK(pp.ppn() != cp.ppn());
    CHECK(cp.writable());
    CHECK(k.frames().refcount(pp.ppn()) == 1);
    checked = true;
  });
  REQUIRE(r.exit_code == 0);
  CHECK(checked);
  CHECK(u(r, "faults.thp_copy") == 1);
  CHECK(u(r, "faults.thp_reuse") == 1);
  CHECK(u(r, "faults.thp_split") == 0);
  CHECK(u(r, "faults.cow_copy") == 0);
  CHECK(u(r, "memory.thp_splits") == 0);
  CHECK(u(r, "memory.bytes_copied") == kHuge);
  CHECK(u(r, "memory.bytes_copied_cow") == kHuge);
  CHECK(u(r, "memory.huge_pages_peak") == 2);
  CHECK(u(r, "memory.data_frames_peak") == 1024);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("thp: after the child exits the parent's write reuses the huge page in place", "[thp][cow]") {
  const std::string trace =
      "1 mmap 0x40000000 2M rw huge\n1 store 0x40000000 1\n1 fork 2\n2 load 0x40000000 expect=1\n2 exit\n"
      "1 store 0x40000008 2\n1 load 0x40000000 expect=1\n";
  const RunResult r = simulate(trace);
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "faults.thp_zero") == 1);
  CHECK(u(r, "faults.thp_reuse") == 1);
  CHECK(total_faults(r) == 2);
  CHECK(u(r, "memory.bytes_copied") == 0);
  CHECK(u(r, "memory.thp_splits") == 0);
  CHECK(u(r, "memory.huge_pages_peak") == 1);
}

TEST_CASE("thp: eager fork copies a huge page into a new one, or into 512 small frames when none is free",
          "[thp][eager]") {
  const std::string trace = "1 mmap 0x40000000 2M rw huge\n1 store 0x40000000 1\n1 fork 2\n"
                            "2 store 0x40000000 2\n1 load 0x40000000 expect=1\n2 load 0x40000000 expect=2\n";
  const nlohmann::json r = run_stats(trace, {"kernel.fork_policy=eager"});
  CHECK(u(r, "memory.bytes_copied_eager") == kHuge);
  CHECK(u(r, "fork.ptes_copied") == 1);
  CHECK(u(r, "memory.huge_pages_peak") == 2);
  CHECK(total_faults(r) == 1);
  // 5 MiB: block 0 holds the kernel's frames and the tables, block 1 the
  // parent's huge page, and the last 1 MiB is no whole block: the child's
  // copy is 512 small frames (from block 0 and the last megabyte).
  const nlohmann::json small = run_stats(trace, {"kernel.fork_policy=eager", "mem.size=5M"});
  CHECK(u(small, "memory.bytes_copied_eager") == kHuge);
  CHECK(u(small, "fork.ptes_copied") == 512);
  CHECK(u(small, "memory.huge_pages_peak") == 1);
  CHECK(u(small, "memory.thp_fallbacks") == 1);
  CHECK(u(small, "fork.failed") == 0);
}

TEST_CASE("thp: with no free 2 MiB block a huge fault falls back to 4 KiB pages", "[thp][fallback]") {
  // 4 MiB of memory, two 2 MiB blocks. 600 small pages take block 0 (after
  // the kernel's two frames and three tables) and 93 frames of block 1.
  std::string trace = "1 mmap 0x10000000 2400K rw\n";
  for (unsigned i = 0; i < 600; ++i) trace += fmt::format("1 store {:#x} 1\n", 0x10000000 + i * 4096);
  trace += "1 mmap 0x40000000 2M rw huge\n"
           "1 store 0x40000000 1\n"
           "1 store 0x40001000 2\n"
           "1 munmap 0x10000000 2400K\n"
           "1 store 0x40002000 3\n"  // 0x40000000's block holds 4 KiB PTEs now: no new huge attempt
           "1 load 0x40001000 expect=2\n";
  const RunResult r = simulate(trace, {"mem.size=4M"});
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "memory.thp_fallbacks") == 1);
  CHECK(u(r, "memory.huge_alloc_failures") == 1);
  CHECK(u(r, "faults.thp_zero") == 0);
  CHECK(u(r, "faults.demand_zero") == 600 + 3);
  CHECK(u(r, "memory.huge_pages_peak") == 0);
  CHECK(u(r, "memory.huge_blocks_free") == 0);  // block 1 holds the huge mapping's tables and 4 KiB pages
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("thp: munmap of part of a huge page splits it and of a whole one, frees it as one entry", "[thp][munmap]") {
  const std::string trace = "1 mmap 0x40000000 4M rw huge\n" + store_every_page(1) + store_every_page(1, kBase + kHuge) +
                            "1 munmap 0x40010000 8K\n"  // line 1026: part of the first huge page
                            "1 load 0x4000f000 expect=16\n"
                            "1 load 0x40012000 expect=19\n"
                            "1 munmap 0x40200000 2M\n"  // line 1029: the whole second one
                            "1 load 0x40000000 expect=1\n";
  bool split = false, whole = false;
  const RunResult r = simulate(trace, {}, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    if (rec.line == 1026) {
      const Process& p = *k.process(1);
      CHECK(!k.huge_mapped(p, kBase));
      CHECK(k.huge_mapped(p, kBase + kHuge));
      CHECK(!k.pte_of(p, 0x40010000).valid());
      CHECK(!k.pte_of(p, 0x40011000).valid());
      CHECK(k.pte_of(p, 0x40012000).valid());
      CHECK(k.frames().stats().data_in_use == 1024 - 2);
      split = true;
    }
    if (rec.line == 1029) {
      CHECK(k.frames().stats().data_in_use == 512 - 2);
      CHECK(k.frames().stats().huge_in_use == 0);
      whole = true;
    }
  });
  REQUIRE(r.exit_code == 0);
  CHECK((split && whole));
  CHECK(u(r, "faults.thp_zero") == 2);
  CHECK(u(r, "memory.thp_splits") == 1);
  CHECK(u(r, "memory.huge_pages_peak") == 2);
  CHECK(u(r, "verify.mismatches") == 0);
  // A load of an unmapped page of the split one is a segmentation fault.
  const nlohmann::json segv = run_stats("1 mmap 0x40000000 2M rw huge\n1 store 0x40000000 1\n1 munmap 0x40001000 4K\n"
                                        "1 load 0x40001000\n");
  CHECK(u(segv, "faults.segv") == 1);
  CHECK(u(segv, "memory.thp_splits") == 1);
}

TEST_CASE("thp: mprotect of part of a huge page splits it and of a whole one, changes one entry", "[thp][mprotect]") {
  const std::string trace =
      "1 mmap 0x40000000 4M rw huge\n"
      "1 store 0x40000000 1\n"
      "1 store 0x40200000 2\n"
      "1 mprotect 0x40000000 4K r\n"    // line 4: part of the first
      "1 store 0x40001000 3\n"          // still writable, no fault
      "1 mprotect 0x40200000 2M r\n"    // line 6: the whole second, no split
      "1 load 0x40200000 expect=2\n"
      "1 mprotect 0x40200000 2M rw\n"   // exclusive: writable again at once
      "1 store 0x40200008 4\n"
      "1 store 0x40000000 5\n";         // a store to the read-only 4 KiB page: segv
  bool checked = false;
  const RunResult r = simulate(trace, {}, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    if (rec.line == 4) {
      const Process& p = *k.process(1);
      CHECK(!k.huge_mapped(p, kBase));
      CHECK(!k.pte_of(p, kBase).writable());
      CHECK(k.pte_of(p, kBase + 0x1000).writable());
    }
    if (rec.line == 6) {
      const Process& p = *k.process(1);
      CHECK(k.huge_mapped(p, kBase + kHuge));
      CHECK(!k.pte_of(p, kBase + kHuge).writable());
      checked = true;
    }
  });
  REQUIRE(r.exit_code == 0);
  CHECK(checked);
  CHECK(u(r, "faults.thp_zero") == 2);
  CHECK(u(r, "memory.thp_splits") == 1);
  CHECK(u(r, "faults.segv") == 1);
  CHECK(total_faults(r) == 2);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("thp: exec and exit free every frame and table of huge pages", "[thp]") {
  const std::string trace = "1 mmap 0x40000000 4M rw huge\n1 store 0x40000000 1\n1 load 0x40200000 expect=0\n"
                            "1 fork 2\n2 store 0x40000000 2\n2 exec\n1 exit\n";
  const RunResult r = simulate(trace);
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "memory.frames_in_use") == 1);  // the exec'd child's root
  CHECK(u(r, "memory.huge_pages_in_use") == 0);
  CHECK(u(r, "faults.thp_split") == 1);
}

TEST_CASE("thp: bad kernel.thp or kernel.thp_cow values are exit 2 naming the key", "[thp][config]") {
  const std::string trace = std::string(MMUSIM_SOURCE_DIR) + "/traces/tutorial-int-x.trace";
  for (const auto& [set, key] : {std::pair<std::string, std::string>{"kernel.thp=sometimes", "kernel.thp"},
                                 {"kernel.thp_cow=share", "kernel.thp_cow"}}) {
    const ProcessResult r = run_mmusim({"--set", set, "-q", trace});
    INFO(r.command << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(key) != std::string::npos);
  }
  TempFile dup("1 mmap 0x40000000 2M rw huge huge\n");
  const ProcessResult d = run_mmusim({"-q", dup.path()});
  CHECK(d.exit_code == 2);
  CHECK(d.err.find(":1: duplicate option 'huge'") != std::string::npos);
}

}  // namespace mmusim::test

namespace mmusim::test {

namespace {

// A random trace over huge-page mappings: processes fork, exit, store, load,
// munmap and mprotect parts or wholes of 2 MiB pages. Whatever the generator
// gets wrong (a load after a munmap, a store to a read-only range) the
// simulator treats as a trace would be (a segfault kills the process, its
// later lines are skipped): every load is checked against the reference
// model and the kernel's invariants after every line.
std::string random_huge_trace(uint64_t seed, size_t ops) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  auto next = [&](uint64_t n) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return s % n;
  };
  std::string t = "1 mmap 0x40000000 8M rw huge\n1 mmap 0x40a00000 3M rw huge\n";
  std::vector<Pid> alive{1};
  Pid next_pid = 2;
  auto page = [&]() -> VAddr {
    return next(4) == 0 ? 0x40a00000 + next(768) * 4096 : kBase + next(2048) * 4096;
  };
  for (size_t i = 0; i < ops; ++i) {
    const Pid pid = alive[next(alive.size())];
    const uint64_t op = next(100);
    if (op < 40) {
      t += fmt::format("{} store {:#x} {}\n", pid, page() + next(512) * 8, next(1 << 20));
    } else if (op < 80) {
      t += fmt::format("{} load {:#x}\n", pid, page() + next(512) * 8);
    } else if (op < 86 && alive.size() < 4) {
      t += fmt::format("{} fork {}\n", pid, next_pid);
      alive.push_back(next_pid++);
    } else if (op < 89 && alive.size() > 1 && pid != 1) {
      t += fmt::format("{} exit\n", pid);
      alive.erase(std::find(alive.begin(), alive.end(), pid));
    } else if (op < 93) {
      // munmap (of the 3 MiB mapping only: mprotect needs the 8 MiB one
      // whole) of part of a huge page, or of the whole 2 MiB-aligned one.
      if (next(2)) t += fmt::format("{} munmap {:#x} {}K\n", pid, 0x40a00000 + next(768) * 4096, 4 * (1 + next(8)));
      else t += fmt::format("{} munmap 0x40a00000 2M\n", pid);
    } else if (op < 97) {
      const VAddr a = kBase + (next(2) ? next(2048) * 4096 : next(4) * kHuge);
      const uint64_t len = a % kHuge ? 4096 * (1 + next(4)) : kHuge;
      // By pid 1 only: it never execs, so its 8 MiB mapping is whole while it lives.
      t += fmt::format("1 mprotect {:#x} {} {}\n", a, len, next(3) ? "rw" : "r");
    } else if (pid != 1) {
      t += fmt::format("{0} exec\n{0} mmap 0x40000000 8M rw huge\n", pid);
    }
  }
  for (Pid p : alive) t += fmt::format("{} exit\n", p);
  return t;
}

}  // namespace

TEST_CASE("thp: random fork/COW/munmap/mprotect traces over huge pages agree with the reference model",
          "[thp][random]") {
  const std::vector<std::vector<std::string>> configs = {
      {},
      {"kernel.thp_cow=copy"},
      {"kernel.fork_policy=eager"},
      {"mem.size=12M"},  // few free 2 MiB blocks: fallbacks
      {"kernel.zero_page=false", "kernel.thp_cow=copy", "mem.size=16M"},
      {"cpu.count=2", "tlb.l1.entries=4", "tlb.l1.ways=4"},
  };
  uint64_t splits = 0, zero = 0, copies = 0, reuses = 0, fallbacks = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const std::string trace = random_huge_trace(seed, 300);
    for (const auto& cfg : configs) {
      std::string sets;
      for (const auto& c : cfg) sets += c + " ";
      INFO("seed " << seed << " config " << sets);
      const nlohmann::json r = run_stats(trace, cfg);
      CHECK(u(r, "verify.mismatches") == 0);
      CHECK(u(r, "verify.invariant_failures") == 0);
      CHECK(u(r, "memory.frames_in_use") == 0);
      splits += u(r, "faults.thp_split");
      zero += u(r, "faults.thp_zero");
      copies += u(r, "faults.thp_copy");
      reuses += u(r, "faults.thp_reuse");
      fallbacks += u(r, "memory.thp_fallbacks");
    }
  }
  // The traces reach every huge-page path.
  CHECK(splits > 0);
  CHECK(zero > 0);
  CHECK(copies > 0);
  CHECK(reuses > 0);
  CHECK(fallbacks > 0);
}

}  // namespace mmusim::test
