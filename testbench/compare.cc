#include "compare.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "common/config.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/output_file.h"
#include "common/stats_registry.h"
#include "kernel/fault.h"
#include "run.h"

namespace mmusim {

namespace {

std::string temp_path(const char* what) {
  char buf[] = "/tmp/mmusim-XXXXXX";
  const int fd = mkstemp(buf);
  if (fd < 0) throw UserError(fmt::format("cannot create a temporary file for {}", what));
  close(fd);
  return buf;
}

// FILE.csv -> FILE.cow.csv: each run's outputs carry the policy in their name.
std::string with_policy(const std::string& path, const std::string& policy) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == slash + 1)
    return path + "." + policy;
  return path.substr(0, dot) + "." + policy + path.substr(dot);
}

// Runs one policy in a child process; its statistics come back through a file.
int run_child(Config cfg, RunOptions opts, const std::string& policy, StatsJson& stats, std::string& error) {
  cfg.set("kernel.fork_policy", policy);
  if (policy == "odf") cfg.set("mmu.nonleaf_wp", "true");  // odf needs the architecture extension
  opts.progress = false;
  for (std::string* out : {&opts.faults_csv, &opts.timeline_csv, &opts.vcd})
    if (!out->empty()) *out = with_policy(*out, policy);
  const std::string out = temp_path("statistics");
  std::cout.flush();
  const pid_t pid = ::fork();
  if (pid < 0) throw UserError("--compare: fork failed");
  if (pid == 0) {
    RunResult r = run_simulation(cfg, opts);
    StatsJson msg{{"exit_code", r.exit_code}, {"error", r.error}, {"stats", r.stats}};
    std::ofstream(out) << msg.dump();
    std::_Exit(r.exit_code);
  }
  int status = 0;
  // SIGINT or SIGTERM to this process alone (a terminal's ^C reaches both):
  // pass it on to the child, which stops as interrupted, and wait for it.
  bool forwarded = false;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) break;
    if (const int sig = interrupt_signal(); sig != 0 && !forwarded) {
      ::kill(pid, sig);
      forwarded = true;
    }
  }
  std::ifstream in(out);
  StatsJson msg;
  try {
    msg = StatsJson::parse(in);
  } catch (const nlohmann::json::exception&) {
    std::remove(out.c_str());
    throw UserError(fmt::format("--compare: the {} run died (status {})", policy, status));
  }
  std::remove(out.c_str());
  if (const int rc = msg["exit_code"].get<int>(); rc >= 128) throw Interrupted(rc - 128);
  stats = msg["stats"];
  error = msg["error"].get<std::string>();
  return msg["exit_code"].get<int>();
}

}  // namespace

int run_compare(const Config& cfg, const RunOptions& base, const std::string& stats_file, bool quiet) {
  // Opened before the runs, as a single run's --stats is: a path that cannot
  // be written is exit 2 before three simulations, not after them.
  std::unique_ptr<OutputFile> stats_out;
  if (!stats_file.empty()) stats_out = std::make_unique<OutputFile>(stats_file);
  RunOptions opts = base;
  std::string stdin_copy;
  if (opts.trace == "-") {  // standard input can be read once: keep a copy for both runs
    stdin_copy = temp_path("standard input");
    std::ofstream out(stdin_copy, std::ios::binary);
    out << std::cin.rdbuf();
    opts.trace = stdin_copy;
  }
  StatsJson eager, cow, odf;
  std::string eager_err, cow_err, odf_err;
  int rc_eager = 0, rc_cow = 0, rc_odf = 0;
  try {
    rc_eager = run_child(cfg, opts, "eager", eager, eager_err);
    rc_cow = rc_eager == 2 ? 2 : run_child(cfg, opts, "cow", cow, cow_err);
    rc_odf = rc_eager == 2 || rc_cow == 2 ? 2 : run_child(cfg, opts, "odf", odf, odf_err);
  } catch (...) {
    if (!stdin_copy.empty()) std::remove(stdin_copy.c_str());
    throw;
  }
  if (!stdin_copy.empty()) std::remove(stdin_copy.c_str());
  if (const int sig = interrupt_signal()) throw Interrupted(sig);
  if (rc_eager == 2 || rc_cow == 2 || rc_odf == 2)
    throw UserError(rc_eager == 2 ? eager_err : rc_cow == 2 ? cow_err : odf_err);
  if (!eager_err.empty()) std::cerr << "mmusim (eager): " << eager_err << "\n";
  if (!cow_err.empty()) std::cerr << "mmusim (cow): " << cow_err << "\n";
  if (!odf_err.empty()) std::cerr << "mmusim (odf): " << odf_err << "\n";
  if (stats_out) {
    stats_out->out() << StatsJson{{"eager", eager}, {"cow", cow}, {"odf", odf}}.dump(2) << "\n";
    stats_out->commit();
  }
  if (!quiet) std::cout << format_comparison(eager, cow, odf);
  return std::max({rc_eager, rc_cow, rc_odf});
}

std::string format_comparison(const StatsJson& eager, const StatsJson& cow, const StatsJson& odf) {
  const StatsView e(eager, stats_registry()), c(cow, stats_registry()), o(odf, stats_registry());
  auto u = [](const StatsView& s, const std::string& k) { return s.u64(k); };
  // Cycles spent in write faults on pages that exist (the deferred copy work).
  auto write_faults = [&](const StatsView& s) {
    double cycles = 0;
    uint64_t n = 0;
    for (const auto& kind : kFaultKindNames) {
      if (!is_cow_write(kind.value)) continue;
      const std::string p = fmt::format("faults.latency.{}.", kind.name);
      cycles += s.real(p + "mean") * double(u(s, p + "count"));
      n += u(s, p + "count");
    }
    return std::make_pair(uint64_t(cycles + 0.5), n);
  };
  auto mib = [](uint64_t bytes) { return fmt::format("{:.1f} MiB", double(bytes) / (1 << 20)); };
  auto ratio = [](double a, double b) { return b > 0 ? fmt::format("{:.2f}x", a / b) : std::string("-"); };
  std::string out = "Copy-on-Write vs Normal Copying (tutorial section 24, measured), and On-Demand-Fork\n";
  auto row = [&](const std::string& name, const std::string& a, const std::string& b, const std::string& d) {
    out += fmt::format("| {:<20} | {:<40} | {:<40} | {:<40} |\n", name, a, b, d);
  };
  row("Feature", "Normal Copy (eager)", "Copy-on-Write", "On-Demand-Fork (odf)");
  out += fmt::format("|{:-<22}|{:-<42}|{:-<42}|{:-<42}|\n", "", "", "", "");
  auto copied = [&](const StatsView& s) {
    return fmt::format("{} on first write ({} copies)", mib(u(s, "memory.bytes_copied")), u(s, "faults.cow_copy"));
  };
  row("Memory copied", fmt::format("{} at fork", mib(u(e, "memory.bytes_copied"))), copied(c), copied(o));
  row("Page tables at fork", fmt::format("{} PTEs copied", u(e, "fork.ptes_copied")),
      fmt::format("{} PTEs copied", u(c, "fork.ptes_copied")),
      fmt::format("{} PTEs copied, {} tables shared", u(o, "fork.ptes_copied"), u(o, "fork.tables_shared")));
  row("Tables copied later", "-", "-", fmt::format("{} on a fault", u(o, "faults.table_copy")));
  auto forks = [&](const StatsView& s) {
    return fmt::format("{} cycles in {} fork(s)", u(s, "fork.cycles"), u(s, "fork.count"));
  };
  row("Process creation", forks(e), forks(c), forks(o));
  auto peak = [&](const StatsView& s) {
    return fmt::format("{} data frames ({})", u(s, "memory.data_frames_peak"),
                       mib(u(s, "memory.data_frames_peak") * 4096));
  };
  row("Memory usage (peak)", peak(e), peak(c), peak(o));
  auto tables = [&](const StatsView& s) { return fmt::format("{} table frames", u(s, "memory.pt_frames_peak")); };
  row("Page tables (peak)", tables(e), tables(c), tables(o));
  const auto [ew, en] = write_faults(e);
  const auto [cw, cn] = write_faults(c);
  const auto [ow, on] = write_faults(o);
  row("Overhead", fmt::format("{} cycles up front, in fork", u(e, "fork.cycles")) +
                      (en ? fmt::format(" (+{} in {} faults)", ew, en) : std::string()),
      fmt::format("{} cycles deferred, in {} write faults", cw, cn),
      fmt::format("{} cycles deferred, in {} write faults", ow, on));
  auto total = [&](const StatsView& s) { return fmt::format("{} cycles", u(s, "sim.cycles")); };
  row("Total time", total(e), total(c), total(o));
  out += fmt::format("COW / eager: fork time {}, peak data frames {}, bytes copied {}, total time {}\n",
                     ratio(double(u(c, "fork.cycles")), double(u(e, "fork.cycles"))),
                     ratio(double(u(c, "memory.data_frames_peak")), double(u(e, "memory.data_frames_peak"))),
                     ratio(double(u(c, "memory.bytes_copied")), double(u(e, "memory.bytes_copied"))),
                     ratio(double(u(c, "sim.cycles")), double(u(e, "sim.cycles"))));
  out += fmt::format("ODF / COW: fork time {}, peak page-table frames {}, total time {}\n",
                     ratio(double(u(o, "fork.cycles")), double(u(c, "fork.cycles"))),
                     ratio(double(u(o, "memory.pt_frames_peak")), double(u(c, "memory.pt_frames_peak"))),
                     ratio(double(u(o, "sim.cycles")), double(u(c, "sim.cycles"))));
  return out;
}

}  // namespace mmusim
