// The run orchestration: one simulation from a configuration and a trace,
// with its observers (observers.h), checks and statistics.
#include "run.h"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "common/config.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/stats_registry.h"
#include "cpu/trace_reader.h"
#include "lockstep_tlb.h"
#include "rtl_ptw.h"
#include "observers.h"
#include "rtl_tlb.h"
#include "simulate.h"
#include "top.h"

namespace mmusim {

const StatsRegistry& stats_registry() {
  static const StatsRegistry registry = [] {
    StatsRegistry r;
    r.add({
        {"mmusim.version", "text", "the simulator's version"},
        {"config.fork_policy", "text", "kernel.fork_policy of the run: cow or eager"},
    });
    Top::declare_stats(r);
    r.add({
        {"sim.wall_seconds", "seconds", "host time of the run"},
        {"sim.accesses_per_second", "accesses/s", "host speed: sim.accesses / sim.wall_seconds"},
        {"lockstep.lookups", "lookups", "L1 lookups compared between the C++ and the RTL TLB (--tlb lockstep)"},
        {"lockstep.divergences", "operations", "compared operations where the RTL TLB differed (--tlb lockstep)"},
        {"lockstep.walks", "walks", "page walks compared between the C++ and the RTL walker (--ptw lockstep)"},
        {"lockstep.walk_divergences", "walks",
         "compared walks where the RTL walker differed (--ptw lockstep; 0 or 1: the run stops at the first)"},
        {"verify.invariant_failures", "checks", "1 if a kernel invariant check failed, else 0"},
    });
    return r;
  }();
  return registry;
}

RunResult run_simulation(const Config& cfg, const RunOptions& opts) {
  RunResult result;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    if (const std::string why = rtl_tlb_unavailable(cfg); !why.empty()) throw UserError(why);
    if (const std::string why = rtl_ptw_unavailable(cfg); !why.empty()) throw UserError(why);
    TraceReader trace(opts.trace);
    // The outputs are opened before the run, so that a path that cannot be
    // written is an error (exit 2) before any simulation.
    std::unique_ptr<FaultCsv> faults_csv;
    if (!opts.faults_csv.empty()) faults_csv = std::make_unique<FaultCsv>(opts.faults_csv);
    std::unique_ptr<Timeline> timeline;
    if (!opts.timeline_csv.empty()) {
      if (opts.timeline_interval == 0) throw UserError("--timeline-interval must be at least 1 cycle");
      timeline = std::make_unique<Timeline>(opts.timeline_csv, opts.timeline_interval);
    }
    Top top("top", cfg, trace, opts.rtl_vcd, opts.ptw_vcd);
    std::unique_ptr<ModelWaves> waves;
    if (!opts.vcd.empty()) waves = std::make_unique<ModelWaves>(opts.vcd, top.clock, top.cpus.size());
    if (faults_csv || waves)
      top.kernel.set_fault_observer([&](const FaultRecord& r) {
        if (faults_csv) faults_csv->fault(r);
        if (waves) waves->fault(r);
      });
    std::unique_ptr<Progress> progress;
    if (opts.progress) {
      progress = std::make_unique<Progress>(trace);
      top.player->on_progress = [&](uint64_t n) { progress->update(n); };
    }
    std::string invariant_error;
    // A lockstep divergence or a failed RTL assertion stops the run at the end
    // of the trace line it happened in (exit 1, the report on standard error).
    // With tlb.lockstep_check = thread the divergence is seen a few thousand
    // TLB operations later (the worker's lag), and the run stops there.
    const bool watch_tlb = !top.rtl_tlbs.empty() || !top.rtl_ptws.empty();
    if (opts.after_record || opts.check_each_step || timeline || waves || watch_tlb) {
      top.player->after_record = [&](const TraceRecord& rec) {
        if (timeline) timeline->maybe_sample(top);
        if (waves) waves->record(top, rec);
        if (opts.check_each_step && invariant_error.empty()) {
          try {
            top.kernel.check_invariants();
          } catch (const std::logic_error& e) {
            invariant_error = fmt::format("{}: {}", trace.where(rec.line), e.what());
          }
        }
        if (opts.after_record) opts.after_record(top, rec);
        if (watch_tlb && top.tlb_failed()) top.halt();
      };
    }
    simulate();
    top.drain_locksteps();  // the run's time includes the checking still queued
    progress.reset();
    // Stopped by SIGINT or SIGTERM (during the run, or before it began):
    // unwinding abandons every output file, so nothing is left behind. Ahead
    // of the trace error: a read cut short by the signal may look like one.
    if (const int sig = interrupt_signal()) throw Interrupted(sig);
    if (!top.player->error().empty()) throw UserError(top.player->error());

    if (invariant_error.empty()) {
      try {
        top.kernel.check_invariants();
        if (top.kernel.live_processes() == 0 && top.kernel.frames().stats().in_use != 0)
          throw std::logic_error(fmt::format("all processes exited but {} frames are in use",
                                             top.kernel.frames().stats().in_use));
      } catch (const std::logic_error& e) {
        invariant_error = e.what();
      }
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    StatsJson& s = result.stats;
    s["mmusim.version"] = MMUSIM_VERSION;
    s["config.fork_policy"] = cfg.str("kernel.fork_policy");
    top.report(s);
    s["sim.wall_seconds"] = wall;
    s["sim.accesses_per_second"] = wall > 0 ? s["sim.accesses"].get<double>() / wall : 0.0;
    s["lockstep.lookups"] = top.lockstep_lookups();
    s["lockstep.divergences"] = top.lockstep_divergences();
    s["lockstep.walks"] = top.lockstep_walks();
    s["lockstep.walk_divergences"] = top.lockstep_walk_divergences();
    const std::string tlb_failure = top.tlb_failure();
    if (!top.player->finished()) s["sim.cycles"] = top.now();  // halted by the TLB check
    s["verify.invariant_failures"] = invariant_error.empty() ? 0 : 1;
    if (!invariant_error.empty()) {
      result.error = invariant_error;
      std::cerr << "mmusim: " << invariant_error << "\n";
    }
    if (!tlb_failure.empty()) {
      if (result.error.empty()) result.error = tlb_failure;
      std::cerr << "mmusim: " << tlb_failure;
    }
    if (top.verify.mismatches > 0 || !invariant_error.empty() || !tlb_failure.empty()) result.exit_code = 1;
    if (timeline) timeline->sample(top, top.now());
    if (const int sig = interrupt_signal()) throw Interrupted(sig);
    if (faults_csv) faults_csv->commit();
    if (timeline) timeline->commit();
    if (waves) waves->commit(top.now());
    top.finish_rtl_vcd(true);
  } catch (const Interrupted& e) {  // exit status 130 or 143, no statistics
    result.exit_code = interrupt_exit_status(e.signal());
    result.error = e.what();
    result.stats = StatsJson();
  } catch (const UserError& e) {
    result.exit_code = 2;
    result.error = e.what();
    result.stats = StatsJson();
  }
  return result;
}

namespace {

// Runs shorter than this say nothing about the simulator's speed: their host
// time is mostly start-up and wind-down (elaboration, opening the trace,
// checks at the end), so they get no rate. 10 ms is well above the timer's
// resolution, and 1000 accesses take about 0.1 ms at full speed.
constexpr double kRateMinSeconds = 0.01;
constexpr uint64_t kRateMinAccesses = 1000;

// "0.048 s", or "2.512 s, 3.98 M accesses/s": the rate in accesses/s, k/s or
// M/s, whichever keeps it between 1 and 1000 (below 1 k/s, as a whole number).
std::string host_time(const StatsView& s) {
  const double wall = s.real("sim.wall_seconds");
  std::string out = fmt::format("{:.3f} s", wall);
  if (wall < kRateMinSeconds || s.u64("sim.accesses") < kRateMinAccesses) return out;
  const double rate = s.real("sim.accesses_per_second");
  if (rate >= 1e6) return out + fmt::format(", {:.2f} M accesses/s", rate / 1e6);
  if (rate >= 1e3) return out + fmt::format(", {:.1f} k accesses/s", rate / 1e3);
  return out + fmt::format(", {:.0f} accesses/s", rate);
}

}  // namespace

std::string format_summary(const StatsJson& stats) {
  const StatsView s(stats, stats_registry());
  auto u = [&](const std::string& k) { return s.u64(k); };
  auto rate = [&](const std::string& hits, const std::string& misses) {
    const double h = double(u(hits)), m = double(u(misses));
    return h + m > 0 ? fmt::format("{:.2f}%", 100.0 * h / (h + m)) : std::string("-");
  };
  std::string out;
  out += fmt::format("mmusim {}: {} policy\n", s.text("mmusim.version"), s.text("config.fork_policy"));
  out += fmt::format("  cycles              {}\n", u("sim.cycles"));
  out += fmt::format("  accesses            {} ({} loads, {} stores)\n", u("sim.accesses"), u("sim.loads"),
                     u("sim.stores"));
  out += fmt::format("  trace lines         {} ({} skipped)\n", u("trace.lines"), u("trace.skipped_lines"));
  for (const char* level : {"l1", "l2"}) {
    const std::string k = fmt::format("tlb.{}.", level);
    out += fmt::format("  TLB {} hit rate     {} ({} hits, {} misses)\n", level == std::string("l1") ? "L1" : "L2",
                       rate(k + "hits", k + "misses"), u(k + "hits"), u(k + "misses"));
  }
  out += fmt::format("  page walks          {} ({} PTE reads, {} cycles)\n", u("ptw.walks"), u("ptw.mem_reads"),
                     u("ptw.cycles"));
  out += "  faults              count      mean cycles   p99 cycles\n";
  for (const auto& kind : kFaultKindNames) {
    const std::string p = fmt::format("faults.latency.{}.", kind.name);
    out += fmt::format("    {:<16}  {:>9}  {:>12.1f}  {:>11}\n", kind.name, u(p + "count"), s.real(p + "mean"),
                       u(p + "p99"));
  }
  out += fmt::format("    {:<16}  {:>9}\n", "segv", u("faults.segv"));
  out += fmt::format("    {:<16}  {:>9}\n", "spurious", u("faults.spurious"));
  if (s.has("cpu.1.cycles")) {  // several CPUs: one line each, and the shootdowns
    for (unsigned k = 0; s.has(fmt::format("cpu.{}.cycles", k)); ++k) {
      const std::string c = fmt::format("cpu.{}.", k);
      out += fmt::format("  cpu {:<3}             {} cycles, {} accesses, TLB L1 {} hits {} misses, {} IPIs received\n", k,
                         u(c + "cycles"), u(c + "accesses"), u(c + "tlb.l1.hits"), u(c + "tlb.l1.misses"),
                         u(c + "ipis_received"));
    }
    out += fmt::format("  shootdowns          {} ({} IPIs, {} deferred, {} initiator cycles, {} target cycles)\n",
                       u("shootdown.count"), u("shootdown.ipis"), u("shootdown.deferred"),
                       u("shootdown.initiator_cycles"), u("shootdown.target_cycles"));
  }
  out += fmt::format("  forks               {} ({} failed, {} cycles, {} PTEs copied)\n", u("fork.count"),
                     u("fork.failed"), u("fork.cycles"), u("fork.ptes_copied"));
  out += fmt::format("  frames              {} in use at the end, {} at the peak ({} data, {} page tables)\n",
                     u("memory.frames_in_use"), u("memory.frames_peak"), u("memory.data_frames_peak"),
                     u("memory.pt_frames_peak"));
  out += fmt::format("  bytes copied        {}\n", u("memory.bytes_copied"));
  out += fmt::format("  OOM kills           {}\n", u("kernel.oom_kills"));
  out += fmt::format("  verification        {} loads checked, {} mismatches\n", u("verify.loads_checked"),
                     u("verify.mismatches"));
  out += fmt::format("  host                {}\n", host_time(s));
  return out;
}

}  // namespace mmusim
