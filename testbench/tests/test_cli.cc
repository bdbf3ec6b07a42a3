// The command line as a user meets it: exit statuses, error messages naming
// the file and line or the key, outputs written whole or not at all.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/config.h"
#include "kernel/fault.h"
#include "run.h"
#include "sim_harness.h"

namespace mmusim::test {

namespace {

const std::string kSource = MMUSIM_SOURCE_DIR;

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A trace error must give exit 2, the message, and write no output file.
void expect_trace_error(const std::string& trace, const std::string& message) {
  TempFile t(trace);
  TempFile stats("", ".json");
  std::remove(stats.path().c_str());
  const ProcessResult r = run_mmusim({"-q", "--stats", stats.path(), t.path()});
  INFO(r.command << "\n" << r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(t.path() + ":" + message) != std::string::npos);
  CHECK_FALSE(file_exists(stats.path()));
}
}  // namespace

TEST_CASE("cli: the tutorial trace runs with a summary and exit status 0", "[cli]") {
  const ProcessResult r = run_mmusim({kSource + "/traces/tutorial-int-x.trace"});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  // The summary prints a row for every fault kind: the counts must be the
  // tutorial's (one demand-zero fault, the child's one COW copy), not just the names.
  // (No std::regex: libstdc++'s regex compiler warns under the sanitizer build.)
  auto row = [&](const std::string& kind, const std::string& count) {
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream fields(line);
      std::string name, value;
      if (line.rfind("  ", 0) == 0 && fields >> name >> value && name == kind) return value == count;
    }
    return false;
  };
  CHECK(row("demand_zero", "1"));
  CHECK(row("cow_copy", "1"));
  CHECK(row("cow_zero", "0"));
  CHECK(row("cow_reuse", "0"));
  CHECK(row("spurious", "0"));
  CHECK(r.out.find("\n  bytes copied        4096\n") != std::string::npos);
  CHECK(r.out.find("3 loads checked, 0 mismatches") != std::string::npos);
  CHECK(r.output.find("SystemC") == std::string::npos);  // no banner noise
}

TEST_CASE("cli: semantic trace errors stop the run with exit 2 and the file and line", "[cli][errors]") {
  expect_trace_error("1 mmap 0x1000 4K rw\n1 mmap 0x1000 4K rw\n", "2: mmap: 0x1000+0x1000 overlaps");
  expect_trace_error("1 mmap 0x1001 4K rw\n", "1: mmap: address 0x1001 is not page-aligned");
  expect_trace_error("1 mmap 0x1000 100 rw\n", "1: mmap: length 0x64 is not page-aligned");
  expect_trace_error("1 mmap 0x4000000000 4K rw\n", "1: mmap: range 0x4000000000+0x1000 is beyond the user address space");
  expect_trace_error("# c\n1 mmap 0x1000 4K rw\n1 fork 2\n1 fork 2\n", "4: fork: child pid 2 is alive");
  expect_trace_error("1 mmap 0x1000 4K rw\n1 mprotect 0x1000 8K r\n", "2: mprotect: 0x1000+0x2000 is not fully mapped");
  expect_trace_error("1 munmap 0x1000 0\n", "1: munmap: length must not be zero");
}

TEST_CASE("cli: syntax errors of every class give exit 2 with the line number", "[cli][errors]") {
  expect_trace_error("1 mmap 0x1000 4K rw\n1 stor 0x1000 1\n",
                     "2: unknown operation 'stor' (expected one of: mmap munmap mprotect load store fork thread migrate exec exit compute)");
  expect_trace_error("1 load 0x1000 size=3\n", "1: size must be 1, 2, 4 or 8 (got 3)");
  expect_trace_error("\n\n1 load 0x1ffffffffffffffffff\n", "3: number '0x1ffffffffffffffffff' does not fit in 64 bits");
  expect_trace_error("0 exit\n", "1: pid must be 1 to 2147483647 (got 0)");
  expect_trace_error("1 mmap 0x1000\n", "1: missing <len> for mmap");
  expect_trace_error("1 mmap 0x1000 4K rw x\n", "1: unexpected argument 'x'");
  expect_trace_error("1 load 0x1000 sz=4\n", "1: unknown option 'sz' for load");
  expect_trace_error("1 mmap 0x1000 4K w\n", "1: bad permissions 'w' for <perms> (expected r, rw, rx or rwx)");
}

TEST_CASE("cli: a missing trace file is exit 2 naming it", "[cli][errors]") {
  const ProcessResult r = run_mmusim({"-q", "/nonexistent/x.trace"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("/nonexistent/x.trace") != std::string::npos);
}

TEST_CASE("cli: configuration errors give exit 2 naming the key", "[cli][errors][config]") {
  const std::string trace = kSource + "/traces/tutorial-int-x.trace";
  auto check = [&](std::vector<std::string> args, const std::string& key) {
    args.insert(args.end(), {"-q", trace});
    const ProcessResult r = run_mmusim(args);
    INFO(r.command << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(key) != std::string::npos);
  };
  check({"--set", "tlb.l1.entrys=32"}, "tlb.l1.entrys");
  check({"--set", "tlb.l1.entries=abc"}, "tlb.l1.entries");
  check({"--set", "tlb.l1.entries=0"}, "tlb.l1.entries");
  check({"--set", "tlb.l1.entries=10", "--set", "tlb.l1.ways=4"}, "tlb.l1.entries");
  check({"--set", "mmu.mode=sv57"}, "mmu.mode");
  check({"--set", "mmu.asid_bits=17"}, "mmu.asid_bits");
  check({"--fork-policy", "lazy"}, "--fork-policy");
  TempFile toml("[tlb.l1]\nentries = 32\npolicy = \"lfu\"\n", ".toml");
  check({"-c", toml.path()}, "tlb.l1.policy");
  TempFile broken("[tlb.l1\n", ".toml");
  check({"-c", broken.path()}, broken.path() + ":1");
}

TEST_CASE("cli: a TOML file and --set combine, --set last", "[cli][config]") {
  TempFile toml("[tlb.l1]\nentries = 32\nways = 8\n[kernel]\nfork_policy = \"eager\"\n", ".toml");
  TempFile stats("", ".json");
  const ProcessResult r = run_mmusim({"-q", "-c", toml.path(), "--set", "tlb.l1.entries=16", "--stats", stats.path(),
                                      kSource + "/traces/tutorial-int-x.trace"});
  REQUIRE(r.exit_code == 0);
  const auto s = nlohmann::json::parse(read_all(stats.path()));
  CHECK(s["config.fork_policy"] == "eager");
  CHECK(s["faults.cow_copy"] == 0);
  const ProcessResult p = run_mmusim({"--print-config", "-c", toml.path(), "--set", "tlb.l1.entries=16"});
  CHECK(p.exit_code == 0);
  CHECK(p.out.find("entries = 16") != std::string::npos);
  CHECK(p.out.find("ways = 8") != std::string::npos);
  CHECK(p.out.find("fork_policy = \"eager\"") != std::string::npos);
}

TEST_CASE("cli: every statistic of the contract is present in every run", "[cli][stats]") {
  TempFile stats("", ".json");
  REQUIRE(run_mmusim({"-q", "--stats", stats.path(), kSource + "/traces/zero-page.trace"}).exit_code == 0);
  const auto s = nlohmann::json::parse(read_all(stats.path()));
  for (const char* k :
       {"sim.cycles", "sim.accesses", "sim.wall_seconds", "sim.accesses_per_second", "trace.lines",
        "trace.skipped_lines", "tlb.l1.hits", "tlb.l1.misses", "tlb.l2.hits", "tlb.l2.misses", "ptw.walks",
        "ptw.mem_reads", "ptw.cycles", "faults.demand_zero", "faults.cow_zero", "faults.cow_copy",
        "faults.cow_reuse", "faults.segv", "memory.frames_in_use", "memory.frames_peak", "memory.data_frames_peak",
        "memory.pt_frames_peak", "memory.bytes_copied", "fork.count", "fork.failed", "fork.cycles",
        "fork.ptes_copied", "kernel.oom_kills", "verify.loads_checked", "verify.mismatches", "lockstep.lookups",
        "lockstep.divergences", "lockstep.walks", "lockstep.walk_divergences"}) {
    INFO(k);
    CHECK(s.contains(k));
  }
  for (const char* kind : {"demand_zero", "cow_zero", "cow_copy", "cow_reuse"})
    for (const char* f : {"count", "mean", "p50", "p99", "max"}) {
      const std::string k = std::string("faults.latency.") + kind + "." + f;
      INFO(k);
      CHECK(s.contains(k));
    }
}

TEST_CASE("cli: an expect= mismatch gives exit 1 with the line", "[cli][verify]") {
  TempFile t("1 mmap 0x1000 4K rw\n1 store 0x1000 5\n1 load 0x1000 expect=6\n");
  const ProcessResult r = run_mmusim({"-q", t.path()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(t.path() + ":3: verification mismatch") != std::string::npos);
}

TEST_CASE("cli: gzip, zstd and standard input give the same statistics", "[cli][input]") {
  const std::string trace = kSource + "/traces/fork-chain.trace";
  TempFile a("", ".json"), b("", ".json"), c("", ".json"), gz("", ".gz"), zst("", ".zst");
  REQUIRE(std::system(("gzip -c " + trace + " > " + gz.path()).c_str()) == 0);
  REQUIRE(std::system(("zstd -q -f -c " + trace + " > " + zst.path()).c_str()) == 0);
  REQUIRE(run_mmusim({"-q", "--stats", a.path(), gz.path()}).exit_code == 0);
  REQUIRE(run_mmusim({"-q", "--stats", b.path(), zst.path()}).exit_code == 0);
  REQUIRE(run_mmusim({"-q", "--stats", c.path(), "-"}, trace).exit_code == 0);
  auto strip = [](nlohmann::json s) {
    s.erase("sim.wall_seconds");
    s.erase("sim.accesses_per_second");
    return s;
  };
  const auto sa = strip(nlohmann::json::parse(read_all(a.path())));
  CHECK(sa == strip(nlohmann::json::parse(read_all(b.path()))));
  CHECK(sa == strip(nlohmann::json::parse(read_all(c.path()))));
  CHECK(sa["faults.cow_copy"] == 3);
}

TEST_CASE("cli: --compare prints the tutorial's table with both runs' numbers", "[cli][compare]") {
  TempFile stats("", ".json");
  const ProcessResult r =
      run_mmusim({"--compare", "--stats", stats.path(), kSource + "/traces/write-heavy-child.trace.gz"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Copy-on-Write vs Normal Copying") != std::string::npos);
  CHECK(r.out.find("16.0 MiB at fork") != std::string::npos);
  CHECK(r.out.find("16.0 MiB on first write") != std::string::npos);
  const auto s = nlohmann::json::parse(read_all(stats.path()));
  CHECK(s["eager"]["memory.bytes_copied_eager"] == 16777216);
  CHECK(s["cow"]["faults.cow_copy"] == 4096);
  // Tutorial 21.3: for a child that writes everything, COW ends up slower.
  CHECK(s["cow"]["sim.cycles"].get<uint64_t>() > s["eager"]["sim.cycles"].get<uint64_t>());
  CHECK(s["cow"]["fork.cycles"].get<uint64_t>() < s["eager"]["fork.cycles"].get<uint64_t>());
}

TEST_CASE("cli: --faults writes one row per fault, and nothing on bad input", "[cli][faults]") {
  TempFile csv("", ".csv");
  REQUIRE(run_mmusim({"-q", "--faults", csv.path(), kSource + "/traces/fork-chain.trace"}).exit_code == 0);
  const std::string text = read_all(csv.path());
  CHECK(std::count(text.begin(), text.end(), '\n') == 1 + 9);
  std::remove(csv.path().c_str());
  TempFile bad("1 bogus\n");
  CHECK(run_mmusim({"-q", "--faults", csv.path(), bad.path()}).exit_code == 2);
  CHECK_FALSE(file_exists(csv.path()));
  CHECK_FALSE(file_exists(csv.path() + ".tmp"));
}

TEST_CASE("cli: --help and --version", "[cli]") {
  const ProcessResult h = run_mmusim({"--help"});
  CHECK(h.exit_code == 0);
  for (const char* opt : {"--config", "--set", "--fork-policy", "--tlb", "--ptw", "--stats", "--faults", "--vcd",
                          "--compare", "--quiet"})
    CHECK(h.out.find(opt) != std::string::npos);
  const ProcessResult v = run_mmusim({"--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out.find("mmusim") != std::string::npos);
  CHECK(run_mmusim({"--no-such-option", "x"}).exit_code == 2);
}

TEST_CASE("cli: --help names what each argument takes and the configuration schema's choices", "[cli]") {
  const ProcessResult h = run_mmusim({"--help"});
  REQUIRE(h.exit_code == 0);
  INFO(h.out);
  // CLI11's generic type names say nothing about what to give.
  CHECK(h.out.find("TEXT") == std::string::npos);
  CHECK(h.out.find("UINT") == std::string::npos);
  for (const char* opt : {"-c,--config FILE", "--stats FILE", "--faults FILE", "--timeline FILE", "--vcd FILE",
                          "--check-stats FILE", "--set KEY=VALUE", "--timeline-interval CYCLES", "TRACE"})
    CHECK(h.out.find(opt) != std::string::npos);
  // --fork-policy, --tlb and --ptw accept exactly the values the schema declares.
  for (const auto& [opt, key] : {std::pair<std::string, std::string>{"--fork-policy", "kernel.fork_policy"},
                                 {"--tlb", "tlb.impl"}, {"--ptw", "ptw.impl"}}) {
    const ParamDecl* d = find_param(key);
    REQUIRE(d != nullptr);
    std::string choices;
    for (const auto& c : d->choices) choices += (choices.empty() ? "" : ",") + c;
    const size_t at = h.out.find(opt + " ");
    REQUIRE(at != std::string::npos);
    CHECK(h.out.substr(at, h.out.find('\n', at) - at).find("{" + choices + "}") != std::string::npos);
  }
}

TEST_CASE("cli: --vcd writes a waveform of the model's main signals", "[cli][vcd]") {
  TempFile vcd("", ".vcd");
  REQUIRE(run_mmusim({"-q", "--vcd", vcd.path(), kSource + "/traces/tutorial-int-x.trace"}).exit_code == 0);
  const std::string text = read_all(vcd.path());
  CHECK(text.rfind("$date", 0) == 0);
  CHECK(text.find("$timescale 1ps $end") != std::string::npos);
  for (const char* sig : {" pid $end", " fault_kind $end", " fault_va $end", " frames_in_use $end", " shared_frames $end"})
    CHECK(text.find(sig) != std::string::npos);
  CHECK(text.find("$enddefinitions $end") != std::string::npos);
  // fault_kind is the kind + 1 while handled: demand_zero (1) then cow_copy (3).
  const size_t id_pos = text.find(" fault_kind $end");
  const std::string line = text.substr(text.rfind("$var", id_pos), id_pos - text.rfind("$var", id_pos));
  const std::string id = line.substr(line.rfind(' ') + 1);
  const size_t dz = text.find("b1 " + id + "\n"), cow = text.find("b11 " + id + "\n");
  CHECK(dz != std::string::npos);
  CHECK(cow != std::string::npos);
  CHECK(dz < cow);
}

TEST_CASE("cli: --timeline samples frames and faults at every interval of simulated time", "[cli][timeline]") {
  TempFile csv("", ".csv"), stats("", ".json");
  REQUIRE(run_mmusim({"-q", "--timeline", csv.path(), "--timeline-interval", "1000000", "--stats", stats.path(),
                      kSource + "/traces/write-heavy-child.trace.gz"})
              .exit_code == 0);
  const auto s = nlohmann::json::parse(read_all(stats.path()));
  std::ifstream in(csv.path());
  std::string line;
  std::getline(in, line);
  CHECK(line ==
        "cycle,frames_in_use,data_frames,pt_frames,shared_frames,processes,faults,demand_zero,cow_zero,cow_copy,"
        "cow_reuse,shared_map,thp_zero,thp_copy,thp_split,thp_reuse,table_copy,bytes_copied");
  std::vector<std::vector<uint64_t>> rows;
  while (std::getline(in, line)) {
    std::vector<uint64_t> r;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, ',')) r.push_back(std::stoull(x));
    REQUIRE(r.size() == 18);
    rows.push_back(r);
  }
  REQUIRE(rows.size() > 10);
  uint64_t max_shared = 0, max_data = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    CHECK(rows[i][0] > rows[i - 1][0]);           // time moves forward
    CHECK(rows[i][6] >= rows[i - 1][6]);          // faults are cumulative
    if (i + 1 < rows.size()) CHECK(rows[i][0] / 1000000 > rows[i - 1][0] / 1000000);  // one sample per interval
    CHECK(rows[i][1] == rows[i][2] + rows[i][3]);  // data + page tables
    max_shared = std::max(max_shared, rows[i][4]);
    max_data = std::max(max_data, rows[i][2]);
  }
  CHECK(max_shared == 4096);  // right after fork every page is shared
  CHECK(max_data <= s["memory.data_frames_peak"].get<uint64_t>());
  const auto& last = rows.back();
  CHECK(last[0] == s["sim.cycles"].get<uint64_t>());  // the last sample is the end of the run
  CHECK(last[1] == 0);
  CHECK(last[9] == 4096);
  CHECK(last[17] == 16777216);
}

TEST_CASE("cli: --timeline and --compare work with several CPUs", "[cli][timeline][compare][cpus]") {
  const std::string trace = kSource + "/traces/mc-cow-sibling.trace";
  TempFile csv("", ".csv"), stats("", ".json");
  REQUIRE(run_mmusim({"-q", "--set", "cpu.count=2", "--timeline", csv.path(), "--timeline-interval", "1000",
                      "--stats", stats.path(), trace})
              .exit_code == 0);
  const auto s = nlohmann::json::parse(read_all(stats.path()));
  REQUIRE(s["cpu.1.accesses"] == 2);
  std::ifstream in(csv.path());
  std::string line, last;
  std::getline(in, line);
  std::vector<std::string> names;  // cycle, frames..., faults, one column per fault kind, bytes_copied
  std::stringstream hs(line);
  for (std::string x; std::getline(hs, x, ',');) names.push_back(x);
  REQUIRE(names.size() == 8 + mmusim::kFaultKinds);
  REQUIRE(names[6] == "faults");
  REQUIRE(names[9] == "cow_copy");
  uint64_t prev = 0, rows = 0;
  while (std::getline(in, line)) {
    const uint64_t cycle = std::stoull(line.substr(0, line.find(',')));
    CHECK(cycle > prev);
    prev = cycle;
    last = line;
    ++rows;
  }
  CHECK(rows > 2);
  // The last sample is the end of the run: the latest of the CPUs' clocks,
  // with both faults counted (one demand-zero, one COW copy).
  CHECK(prev == s["sim.cycles"].get<uint64_t>());
  CHECK(prev == std::max(s["cpu.0.cycles"].get<uint64_t>(), s["cpu.1.cycles"].get<uint64_t>()));
  std::vector<std::string> cols;
  std::stringstream ss(last);
  for (std::string x; std::getline(ss, x, ',');) cols.push_back(x);
  REQUIRE(cols.size() == names.size());  // the fault kinds' columns, thp_* and table_copy included
  CHECK(cols[6] == "2");
  CHECK(cols[9] == "1");

  TempFile both("", ".json");
  const ProcessResult r = run_mmusim({"--compare", "--set", "cpu.count=2", "--stats", both.path(), trace});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("Copy-on-Write vs Normal Copying") != std::string::npos);
  const auto c = nlohmann::json::parse(read_all(both.path()));
  CHECK(c["cow"]["faults.cow_copy"] == 1);
  CHECK(c["cow"]["shootdown.ipis"] == 1);
  CHECK(c["eager"]["faults.cow_copy"] == 0);
  for (const char* policy : {"cow", "eager"}) {
    CHECK(c[policy]["cpu.1.accesses"] == 2);
    CHECK(c[policy]["verify.mismatches"] == 0);
  }
}

TEST_CASE("cli: --compare writes each run's per-fault CSV with the policy in its name", "[cli][compare]") {
  TempFile base("", ".csv");
  const std::string stem = base.path().substr(0, base.path().size() - 4);
  const ProcessResult r =
      run_mmusim({"-q", "--compare", "--faults", base.path(), kSource + "/traces/tutorial-int-x.trace"});
  REQUIRE(r.exit_code == 0);
  const std::string eager = read_all(stem + ".eager.csv"), cow = read_all(stem + ".cow.csv");
  std::remove((stem + ".eager.csv").c_str());
  std::remove((stem + ".cow.csv").c_str());
  CHECK(std::count(eager.begin(), eager.end(), '\n') == 2);  // header, the demand-zero fault
  CHECK(std::count(cow.begin(), cow.end(), '\n') == 3);      // and the COW copy
  CHECK(cow.find(",cow_copy,") != std::string::npos);
  CHECK(eager.find(",cow_copy,") == std::string::npos);
  CHECK(read_all(base.path()).empty());  // nothing under the plain name
}

TEST_CASE("cli: the summary gives the host's speed in accesses/s, k/s or M/s, and none for a short run", "[cli]") {
  auto host_line = [](double wall, uint64_t accesses) {
    const StatsJson s{{"sim.wall_seconds", wall},
                              {"sim.accesses", accesses},
                              {"sim.accesses_per_second", wall > 0 ? double(accesses) / wall : 0.0}};
    const std::string text = format_summary(s);
    const size_t at = text.find("  host ");
    REQUIRE(at != std::string::npos);
    return text.substr(at);
  };
  CHECK(host_line(0.048, 3) == "  host                0.048 s\n");           // too few accesses
  CHECK(host_line(0.009, 90000) == "  host                0.009 s\n");       // too short
  CHECK(host_line(0.0, 0) == "  host                0.000 s\n");
  CHECK(host_line(0.010, 1000) == "  host                0.010 s, 100.0 k accesses/s\n");
  CHECK(host_line(20.0, 5000) == "  host                20.000 s, 250 accesses/s\n");
  CHECK(host_line(2.0, 500000) == "  host                2.000 s, 250.0 k accesses/s\n");
  CHECK(host_line(1.0, 10200000) == "  host                1.000 s, 10.20 M accesses/s\n");
}

}  // namespace mmusim::test
