// On-Demand-Fork (kernel.fork_policy = odf, mmu.nonleaf_wp): fork shares the
// leaf tables, a fault copies one, teardown and munmap let go of them; exact
// counts, and the kernel's invariants after every trace line (simulate).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sim_harness.h"

namespace mmusim::test {

namespace {

const std::string kSource = MMUSIM_SOURCE_DIR;
const std::vector<std::string> kOdf = {"kernel.fork_policy=odf", "mmu.nonleaf_wp=true", "mem.size=64M"};

uint64_t u(const RunResult& r, const char* key) { return r.stats.at(key).get<uint64_t>(); }

std::string read_all_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The level-1 PTE above va in p's tables (Sv39: root -> level 1), read from memory.
Pte level1_pte(Top& top, const Process& p, VAddr va) {
  const Vpn vpn = vpn_of(va);
  const Pte root_entry{top.mem.read64(pte_slot(p.mm.root, vpn, 2))};
  if (!root_entry.valid()) return Pte{};
  return Pte{top.mem.read64(pte_slot(root_entry.ppn(), vpn, 1))};
}

// Three leaf tables' worth of memory (6 MiB at a 2 MiB boundary), 8 pages of
// each written by the parent (one every 64 pages).
constexpr VAddr kBase = 0x40000000;
VAddr page(unsigned table, unsigned i) { return kBase + table * 0x200000 + i * 64 * 4096; }

std::string parent_writes() {
  std::string t = fmt::format("1 mmap {:#x} 6M rw\n", kBase);
  for (unsigned tb = 0; tb < 3; ++tb)
    for (unsigned i = 0; i < 8; ++i) t += fmt::format("1 store {:#x} {}\n", page(tb, i), 100 * tb + i + 1);
  return t;  // 25 lines
}

}  // namespace

TEST_CASE("odf: fork shares the leaf tables, reads copy nothing, a write copies one table then the page",
          "[odf][kernel]") {
  std::string trace = parent_writes();
  trace += "1 fork 2\n";  // line 26
  for (const char* who : {"2", "1"})  // lines 27-74: every page read in child and parent
    for (unsigned tb = 0; tb < 3; ++tb)
      for (unsigned i = 0; i < 8; ++i)
        trace += fmt::format("{} load {:#x} expect={}\n", who, page(tb, i), 100 * tb + i + 1);
  trace += fmt::format("2 store {:#x} 99\n", page(0, 0));          // line 75: table copy, then COW copy
  trace += fmt::format("2 load {:#x} expect=99\n", page(0, 0));    // line 76
  trace += fmt::format("1 load {:#x} expect=1\n", page(0, 0));     // line 77
  trace += fmt::format("1 store {:#x} 5\n", page(0, 0));           // line 78: parent alone: reuse table and page
  trace += fmt::format("1 store {:#x} 6\n", page(0, 1));           // line 79: COW copy (the child's table shares it)
  trace += fmt::format("2 load {:#x} expect=2\n", page(0, 1));     // line 80
  trace += fmt::format("1 load {:#x} expect=5\n", page(0, 0));     // line 81
  std::vector<Ppn> frames;
  Ppn shared0 = 0;
  unsigned checked = 0;
  const RunResult r = simulate(trace, kOdf, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    if (rec.line == 25) {
      for (unsigned tb = 0; tb < 3; ++tb)
        for (unsigned i = 0; i < 8; ++i) frames.push_back(k.pte_of(*k.process(1), page(tb, i)).ppn());
    }
    if (rec.line == 26) {  // after the fork
      const Process &parent = *k.process(1), &child = *k.process(2);
      for (unsigned tb = 0; tb < 3; ++tb) {
        const Pte pl = level1_pte(top, parent, page(tb, 0)), cl = level1_pte(top, child, page(tb, 0));
        CHECK(pl.ppn() == cl.ppn());  // one table for both
        CHECK(pl.write_protected());
        CHECK(cl.write_protected());
        CHECK(k.frames().refcount(pl.ppn()) == 2);
      }
      shared0 = level1_pte(top, parent, page(0, 0)).ppn();
      // Data frames untouched: one reference each (the shared table's), PTEs still writable.
      for (unsigned n = 0; n < frames.size(); ++n) {
        CHECK(k.frames().refcount(frames[n]) == 1);
        CHECK(k.pte_of(child, page(n / 8, n % 8)).writable());
      }
      ++checked;
    }
    if (rec.line == 27) {  // the child's load: cached without W though the leaf PTE has it
      const TlbEntry* e = top.mmus[k.process(2)->tasks[0]->cpu]->l1().lookup(vpn_of(page(0, 0)), k.process(2)->asid);
      REQUIRE(e != nullptr);
      CHECK((e->flags & Pte::W) == 0);
      CHECK(k.pte_of(*k.process(2), page(0, 0)).writable());
      ++checked;
    }
    if (rec.line == 74) {  // 48 loads: no fault, no table copied
      CHECK(k.stats().faults[size_t(FaultKind::TableCopy)] == 0);
      CHECK(k.stats().faults[size_t(FaultKind::DemandZero)] == 24);
      ++checked;
    }
    if (rec.line == 75) {
      const Process &parent = *k.process(1), &child = *k.process(2);
      const Pte cl = level1_pte(top, child, page(0, 0)), pl = level1_pte(top, parent, page(0, 0));
      CHECK(cl.ppn() != shared0);  // the child has its own copy now, without WP
      CHECK_FALSE(cl.write_protected());
      CHECK(pl.ppn() == shared0);
      CHECK(pl.write_protected());  // lifted at the parent's next fault
      CHECK(k.frames().refcount(shared0) == 1);
      CHECK(k.pte_of(child, page(0, 0)).ppn() != frames[0]);  // the COW copy
      CHECK(k.frames().refcount(frames[0]) == 1);
      for (unsigned i = 1; i < 8; ++i) {
        CHECK(k.frames().refcount(frames[i]) == 2);  // the parent's table and the child's copy
        CHECK_FALSE(k.pte_of(parent, page(0, i)).writable());
        CHECK_FALSE(k.pte_of(child, page(0, i)).writable());
      }
      for (unsigned n = 8; n < frames.size(); ++n) CHECK(k.frames().refcount(frames[n]) == 1);  // other tables
      CHECK(k.frames().refcount(level1_pte(top, child, page(1, 0)).ppn()) == 2);
      CHECK(k.stats().faults[size_t(FaultKind::TableCopy)] == 1);
      CHECK(k.stats().faults[size_t(FaultKind::CowCopy)] == 1);
      CHECK(k.stats().bytes_copied == 4096);
      ++checked;
    }
    if (rec.line == 78) {
      CHECK_FALSE(level1_pte(top, *k.process(1), page(0, 0)).write_protected());
      CHECK(k.pte_of(*k.process(1), page(0, 0)).ppn() == frames[0]);  // reused in place
      ++checked;
    }
  });
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(checked == 5);
  CHECK(u(r, "fork.tables_shared") == 3);
  CHECK(u(r, "fork.ptes_copied") == 0);
  CHECK(u(r, "faults.table_copy") == 1);
  CHECK(u(r, "faults.latency.table_copy.count") == 1);
  CHECK(u(r, "odf.tables_reused") == 1);
  CHECK(u(r, "faults.cow_copy") == 2);  // the child's store, the parent's second store
  CHECK(u(r, "faults.cow_reuse") == 1);
  CHECK(u(r, "faults.demand_zero") == 24);
  CHECK(u(r, "faults.spurious") == 0);
  CHECK(u(r, "memory.bytes_copied") == 2 * 4096);
  CHECK(u(r, "verify.mismatches") == 0);
  CHECK(u(r, "verify.loads_checked") == 48 + 4);
}

TEST_CASE("odf: exit of the child drops its table references, the parent then writes without a copy",
          "[odf][kernel]") {
  std::string trace = parent_writes();
  trace += "1 fork 2\n";  // line 26
  trace += fmt::format("2 load {:#x} expect=1\n", page(0, 0));
  trace += "2 exit\n";  // line 28
  trace += fmt::format("1 store {:#x} 7\n", page(0, 0));  // line 29: table alone again, PTE still writable
  trace += fmt::format("1 load {:#x} expect=7\n", page(0, 0));
  trace += fmt::format("1 store {:#x} 8\n", page(2, 3));
  trace += "1 exit\n";
  unsigned checked = 0;
  const RunResult r = simulate(trace, kOdf, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    if (rec.line == 28) {
      for (unsigned tb = 0; tb < 3; ++tb) {
        const Pte pl = level1_pte(top, *k.process(1), page(tb, 0));
        CHECK(k.frames().refcount(pl.ppn()) == 1);
        CHECK(pl.write_protected());  // lifted lazily, at the next fault
      }
      for (unsigned tb = 0; tb < 3; ++tb)
        for (unsigned i = 0; i < 8; ++i) CHECK(k.frames().refcount(k.pte_of(*k.process(1), page(tb, i)).ppn()) == 1);
      ++checked;
    }
  });
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(checked == 1);
  CHECK(u(r, "fork.tables_shared") == 3);
  CHECK(u(r, "odf.tables_detached") == 3);
  CHECK(u(r, "odf.tables_reused") == 2);  // the two tables the parent wrote to
  CHECK(u(r, "faults.spurious") == 2);    // the leaf allowed the store once the WP was lifted
  CHECK(u(r, "faults.table_copy") == 0);
  CHECK(u(r, "faults.cow_copy") == 0);
  CHECK(u(r, "faults.cow_reuse") == 0);
  CHECK(u(r, "memory.bytes_copied") == 0);
  CHECK(u(r, "memory.frames_in_use") == 0);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("odf: munmap lets go of a whole shared table and copies a partly unmapped one", "[odf][kernel]") {
  std::string trace = parent_writes();
  trace += "1 fork 2\n";                                       // line 26
  trace += fmt::format("2 munmap {:#x} 1M\n", page(1, 0));     // line 27: half of table 1: copied
  trace += fmt::format("2 munmap {:#x} 2M\n", page(2, 0));     // line 28: all of table 2: let go
  trace += fmt::format("2 load {:#x} expect=105\n", page(1, 4));
  trace += fmt::format("1 load {:#x} expect=101\n", page(1, 0));
  trace += fmt::format("1 load {:#x} expect=201\n", page(2, 0));
  trace += fmt::format("1 munmap {:#x} 4K\n", page(0, 3));     // line 32: the parent's own munmap in table 0
  trace += fmt::format("2 load {:#x} expect=4\n", page(0, 3)); // the child keeps the page
  trace += "2 exit\n";
  trace += "1 exit\n";
  unsigned checked = 0;
  Ppn t1 = 0, t2 = 0;
  const RunResult r = simulate(trace, kOdf, [&](Top& top, const TraceRecord& rec) {
    Kernel& k = top.kernel;
    if (rec.line == 26) {
      t1 = level1_pte(top, *k.process(1), page(1, 0)).ppn();
      t2 = level1_pte(top, *k.process(1), page(2, 0)).ppn();
    }
    if (rec.line == 28) {
      CHECK(k.frames().refcount(t1) == 1);
      CHECK(k.frames().refcount(t2) == 1);
      CHECK_FALSE(level1_pte(top, *k.process(2), page(2, 0)).valid());
      const Pte c1 = level1_pte(top, *k.process(2), page(1, 0));
      CHECK(c1.ppn() != t1);
      CHECK(k.frames().table_entries(c1.ppn()) == 4);  // the 4 pages left of 8
      for (unsigned i = 0; i < 8; ++i)
        CHECK(k.frames().refcount(k.pte_of(*k.process(1), page(1, i)).ppn()) == (i < 4 ? 1u : 2u));
      for (unsigned i = 0; i < 8; ++i) CHECK(k.frames().refcount(k.pte_of(*k.process(1), page(2, i)).ppn()) == 1);
      ++checked;
    }
    if (rec.line == 32) {  // the parent's table 0 was still shared: copied, then the page unmapped
      CHECK(k.frames().refcount(level1_pte(top, *k.process(2), page(0, 0)).ppn()) == 1);
      CHECK(k.frames().refcount(k.pte_of(*k.process(2), page(0, 3)).ppn()) == 1);
      ++checked;
    }
  });
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(checked == 2);
  CHECK(u(r, "odf.syscall_table_copies") == 2);
  CHECK(u(r, "odf.tables_detached") == 1);
  CHECK(u(r, "faults.table_copy") == 0);
  CHECK(u(r, "memory.frames_in_use") == 0);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("odf: a demand fault in a shared table copies the table first", "[odf][kernel]") {
  const RunResult r = simulate(
      "1 mmap 0x40000000 2M rw\n"
      "1 store 0x40000000 1\n"
      "1 fork 2\n"
      "2 load 0x40001000 expect=0\n"  // absent page: table copy, then demand zero (zero frame)
      "1 load 0x40001000 expect=0\n"  // the parent's table is its own again: reused, demand zero
      "2 load 0x40000000 expect=1\n",
      kOdf);
  INFO(r.error);
  REQUIRE(r.exit_code == 0);
  CHECK(u(r, "faults.table_copy") == 1);
  CHECK(u(r, "odf.tables_reused") == 1);
  CHECK(u(r, "faults.demand_zero") == 3);
  CHECK(u(r, "verify.mismatches") == 0);
}

TEST_CASE("odf: the table-copy fault has its own CSV kind and breakdown", "[odf][faults]") {
  TempFile csv("", ".csv");
  const RunResult r = simulate(
      "1 mmap 0x40000000 4K rw\n"
      "1 store 0x40000000 1\n"
      "1 fork 2\n"
      "2 store 0x40000000 2\n",
      {"kernel.fork_policy=odf", "mmu.nonleaf_wp=true", "mem.size=16M", "mem.latency=10",
       "mem.copy_bytes_per_cycle=8", "kernel.frame_alloc=200", "kernel.fork_per_pte=10", "kernel.pte_update=5",
       "kernel.tlb_flush=7"},
      nullptr, csv.path());
  REQUIRE(r.exit_code == 0);
  std::ifstream in(csv.path());
  std::string line, table_copy_row;
  unsigned rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    if (line.find(",table_copy,") != std::string::npos) table_copy_row = line;
  }
  CHECK(rows == 1 + 3);  // demand zero, table copy, COW copy
  REQUIRE_FALSE(table_copy_row.empty());
  std::vector<std::string> cols;
  std::stringstream ss(table_copy_row);
  for (std::string x; std::getline(ss, x, ',');) cols.push_back(x);
  REQUIRE(cols.size() == 15);  // the spec's 13, then cpu and shootdown
  // alloc: one table frame (not zeroed); copy: the 4 KiB table at 8 bytes a cycle plus one access;
  // pte_update: one present PTE (fork_per_pte), the level-1 PTE, two write-protected copies.
  CHECK(cols[8] == "200");
  CHECK(cols[9] == std::to_string(10 + 4096 / 8));
  CHECK(cols[10] == std::to_string(10 + 5 + 10 + 2));
}

TEST_CASE("odf: the policy without mmu.nonleaf_wp is a configuration error naming the key", "[odf][cli]") {
  const std::string trace = kSource + "/traces/tutorial-int-x.trace";
  const ProcessResult r = run_mmusim({"-q", "--fork-policy", "odf", trace});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("mmu.nonleaf_wp") != std::string::npos);
  CHECK(r.err.find("kernel.fork_policy") != std::string::npos);
  CHECK(run_mmusim({"-q", "--fork-policy", "odf", "--set", "mmu.nonleaf_wp=true", trace}).exit_code == 0);
}

TEST_CASE("odf: --compare prints eager, cow and odf side by side", "[odf][cli][compare]") {
  TempFile stats("", ".json");
  const ProcessResult r = run_mmusim({"--compare", "--stats", stats.path(), kSource + "/traces/tutorial-int-x.trace"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("| Normal Copy (eager)") != std::string::npos);
  CHECK(r.out.find("| Copy-on-Write") != std::string::npos);
  CHECK(r.out.find("| On-Demand-Fork (odf)") != std::string::npos);
  CHECK(r.out.find("0 PTEs copied, 1 tables shared") != std::string::npos);
  CHECK(r.out.find("ODF / COW: fork time") != std::string::npos);
  const auto s = nlohmann::json::parse(read_all_text(stats.path()));
  CHECK(s["eager"]["fork.ptes_copied"] == 1);
  CHECK(s["cow"]["fork.ptes_copied"] == 1);
  CHECK(s["odf"]["fork.ptes_copied"] == 0);
  CHECK(s["odf"]["fork.tables_shared"] == 1);
  CHECK(s["odf"]["faults.table_copy"] == 1);
  CHECK(s["odf"]["faults.cow_copy"] == 1);
  CHECK(s["odf"]["verify.mismatches"] == 0);
}

}  // namespace mmusim::test
