// Several CPUs: the shootdown is a correctness obligation (a kernel that
// forgets it is caught by the verification, not only by the timing), exact
// IPI costs, and the trace errors of the version 1.1 operations.
#include <catch2/catch.hpp>

#include <fstream>
#include <vector>

#include "sim_harness.h"

namespace mmusim::test {

namespace {
const std::string kSource = MMUSIM_SOURCE_DIR;

std::string read_trace(const std::string& name) {
  std::ifstream in(kSource + "/traces/" + name);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A run of mc-cow-sibling.trace whose kernel skips the remote flush after a COW copy.
RunResult run_without_cow_shootdown(bool invariants) {
  TempFile file(read_trace("mc-cow-sibling.trace"));
  Config cfg;
  cfg.set("cpu.count=2");
  cfg.validate();
  RunOptions opts;
  opts.trace = file.path();
  opts.check_each_step = invariants;
  opts.after_record = [](Top& top, const TraceRecord&) { top.kernel.break_cow_shootdown_for_test(); };
  return run_simulation(cfg, opts);
}

void expect_trace_error(const std::string& trace, const std::string& message, std::vector<std::string> args = {}) {
  TempFile t(trace);
  TempFile stats("", ".json");
  std::remove(stats.path().c_str());
  args.insert(args.begin(), {"-q", "--set", "cpu.count=2"});
  args.insert(args.end(), {"--stats", stats.path(), t.path()});
  const ProcessResult r = run_mmusim(args);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find(t.path() + ":" + message) != std::string::npos);
  CHECK_FALSE(file_exists(stats.path()));
}
}  // namespace

TEST_CASE("shootdown: without the remote flush after a COW copy, the sibling's load is a mismatch",
          "[shootdown]") {
  const RunResult r = run_without_cow_shootdown(false);
  REQUIRE(r.exit_code == 1);
  // Line 7 reads the parent's old frame through CPU 1's stale entry: 5, where
  // the reference model and expect= both say 6 (one mismatch each).
  CHECK(r.stats["verify.mismatches"] == 2);
  CHECK(r.stats["shootdown.ipis"] == 0);
  CHECK(r.stats["faults.cow_copy"] == 1);
}

TEST_CASE("shootdown: the invariant check finds the stale translation the broken kernel leaves", "[shootdown]") {
  const RunResult r = run_without_cow_shootdown(true);
  REQUIRE(r.exit_code == 1);
  CHECK(r.error.find(":11: kernel invariant: CPU 1 caches a stale translation of pid 1 at 0x10000") !=
        std::string::npos);
}

TEST_CASE("shootdown: a COW copy with two remote CPUs running the process costs the configured IPIs",
          "[shootdown]") {
  // Threads on CPUs 1 and 2 hold the page read-only; CPU 0's COW copy sends
  // two IPIs and waits for the last acknowledgement.
  std::vector<FaultRecord> faults;
  const std::string trace =
      "1 mmap 0x10000 4K rw\n1 store 0x10000 5\n1 thread 11 cpu=1\n1 thread 12 cpu=2\n1 fork 2 cpu=3\n"
      "11 load 0x10000\n12 load 0x10000\n1 store 0x10000 6\n11 load 0x10000 expect=6\n12 load 0x10000 expect=6\n";
  TempFile file(trace);
  Config cfg;
  for (const char* s : {"cpu.count=4", "kernel.ipi_send=7", "kernel.ipi_latency=100", "kernel.ipi_handler=1000",
                        "kernel.tlb_flush=3"})
    cfg.set(s);
  cfg.validate();
  RunOptions opts;
  opts.trace = file.path();
  opts.check_each_step = true;
  opts.after_record = [&](Top& top, const TraceRecord& rec) {
    if (rec.line == 1) top.kernel.set_fault_observer([&](const FaultRecord& f) { faults.push_back(f); });
  };
  const RunResult r = run_simulation(cfg, opts);
  REQUIRE(r.exit_code == 0);
  const FaultRecord* copy = nullptr;
  for (const FaultRecord& f : faults)
    if (f.kind == FaultKind::CowCopy) copy = &f;
  REQUIRE(copy != nullptr);
  CHECK(copy->cpu == 0);
  CHECK(copy->cost.tlb_flush == 3);                         // the local invlpg
  CHECK(copy->cost.shootdown == 2 * 7 + 100 + 1000 + 3);    // two sends, then the last target's handler and flush
  CHECK(r.stats["shootdown.ipis"] == 2);
  CHECK(r.stats["shootdown.target_cycles"] == 2 * (1000 + 3));
  CHECK(r.stats["cpu.1.ipis_received"] == 1);
  CHECK(r.stats["cpu.2.ipis_received"] == 1);
  CHECK(r.stats["cpu.3.ipis_received"] == 0);
}

// Four pages mapped (0x10000, 0x11000, 0x12000, 0x1f000), a thread on CPU 1
// running, then one munmap of the range; exact IPI costs. (One simulation a
// test case: SystemC elaborates once a process.)
namespace {
RunResult run_munmap_four_pages(const char* ceiling) {
  TempFile file(
      "1 mmap 0x10000 64K rw\n1 thread 11 cpu=1\n11 store 0x10000 1\n11 store 0x1f000 1\n"
      "1 store 0x10000 2\n1 store 0x11000 2\n1 store 0x12000 2\n1 munmap 0x10000 64K\n");
  Config cfg;
  for (const char* s : {"cpu.count=2", "kernel.ipi_send=7", "kernel.ipi_latency=100", "kernel.ipi_handler=1000",
                        "kernel.tlb_flush=3", ceiling})
    cfg.set(s);
  cfg.validate();
  RunOptions opts;
  opts.trace = file.path();
  opts.check_each_step = true;
  return run_simulation(cfg, opts);
}
}  // namespace

TEST_CASE("shootdown: a range over kernel.flush_ceiling pages is one full flush", "[shootdown]") {
  // Four pages over a ceiling of 3: one full flush (one kernel.tlb_flush, not
  // four), sent to CPU 1 as one IPI; the initiator waits for the send, the
  // delivery and the target's handler and flush.
  const RunResult r = run_munmap_four_pages("kernel.flush_ceiling=3");
  REQUIRE(r.exit_code == 0);
  CHECK(r.stats["shootdown.full_flushes"] == 1);
  CHECK(r.stats["shootdown.ipis"] == 1);
  CHECK(r.stats["shootdown.target_cycles"] == 1000 + 3);
  CHECK(r.stats["shootdown.initiator_cycles"] == 7 + 100 + 1000 + 3);
}

TEST_CASE("shootdown: a range up to kernel.flush_ceiling pages is flushed page by page", "[shootdown]") {
  const RunResult r = run_munmap_four_pages("kernel.flush_ceiling=4");
  REQUIRE(r.exit_code == 0);
  CHECK(r.stats["shootdown.full_flushes"] == 0);
  CHECK(r.stats["shootdown.ipis"] == 1);
  CHECK(r.stats["shootdown.target_cycles"] == 1000 + 4 * 3);
  CHECK(r.stats["shootdown.initiator_cycles"] == 7 + 100 + 1000 + 4 * 3);
}

TEST_CASE("shootdown: trace errors of the 1.1 operations give exit 2 with the file and line", "[shootdown][errors]") {
  expect_trace_error("1 mmap 0x10000 4K rw\n1 thread 2\n1 thread 2\n", "3: thread: task 2 is alive");
  expect_trace_error("1 thread 1\n", "1: thread: task 1 is alive");
  expect_trace_error("1 mmap 0x10000 4K rw\n1 fork 2 cpu=2\n", "2: cpu=2 is out of range (cpu.count = 2)");
  expect_trace_error("1 thread 5 cpu=7\n", "1: cpu=7 is out of range (cpu.count = 2)");
  expect_trace_error("1 compute 5\n1 migrate 2\n", "2: migrate: CPU 2 is out of range (cpu.count = 2)");
  expect_trace_error("1 migrate\n", "1: missing <cpu>");
  expect_trace_error("1 thread 0\n", "1: task id must be 1 to 2147483647 (got 0)");
  expect_trace_error("1 thread 3 cpu=1 cpu=1\n", "1: duplicate option 'cpu'");
  expect_trace_error("1 load 0x10000 cpu=1\n", "1: unknown option 'cpu'");
}

TEST_CASE("shootdown: the summary has a line per CPU and the shootdowns when cpu.count > 1", "[shootdown][cli]") {
  const ProcessResult r = run_mmusim({"--set", "cpu.count=2", kSource + "/traces/mc-cow-sibling.trace"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("  cpu 0   ") != std::string::npos);
  CHECK(r.output.find(" 0 IPIs received\n  cpu 1   ") != std::string::npos);
  CHECK(r.output.find(", 1 IPIs received\n") != std::string::npos);
  CHECK(r.output.find("  shootdowns          1 (1 IPIs, 0 deferred, ") != std::string::npos);
  const ProcessResult one = run_mmusim({kSource + "/traces/tutorial-int-x.trace"});
  CHECK(one.output.find("shootdowns") == std::string::npos);
}

}  // namespace mmusim::test
