#include "run.h"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common/config.h"
#include "common/error.h"
#include "common/output_file.h"
#include "cpu/trace_reader.h"
#include "lockstep_tlb.h"
#include "rtl_tlb.h"
#include "simulate.h"
#include "top.h"
#include "vcd_writer.h"

namespace mmusim {

namespace {

// A CSV output streamed during the run and moved into place only when the run
// did not fail on bad input: written whole or not at all.
std::unique_ptr<OutputFile> open_csv(const std::string& path, const char* header) {
  auto csv = std::make_unique<OutputFile>(path);
  csv->out() << header << "\n";
  return csv;
}

void write_fault(std::ostream& out, const FaultRecord& r) {
  const FaultBreakdown& b = r.cost;
  fmt::print(out, "{},{},{:#x},{},{},{},{},{},{},{},{},{},{}\n", r.cycle, r.pid, r.va, to_string(r.kind), b.total(),
             b.trap_entry, b.walk, b.handler, b.alloc, b.copy, b.pte_update, b.tlb_flush, b.trap_exit);
}

// Samples frames in use and cumulative faults every `interval` simulated cycles.
class Timeline {
 public:
  static constexpr const char* kHeader =
      "cycle,frames_in_use,data_frames,pt_frames,shared_frames,processes,faults,demand_zero,cow_zero,cow_copy,"
      "cow_reuse,shared_map,bytes_copied";
  Timeline(OutputFile& csv, Cycles interval) : csv_(csv), interval_(interval) {}
  void maybe_sample(const Top& top) {
    const Cycles now = top.cpu.now();
    if (now < next_) return;
    sample(top, now);
    next_ = (now / interval_ + 1) * interval_;
  }
  void sample(const Top& top, Cycles now) {
    const FrameStats& f = top.kernel.frames().stats();
    const KernelStats& k = top.kernel.stats();
    uint64_t faults = 0;
    for (uint64_t n : k.faults) faults += n;
    fmt::print(csv_.out(), "{},{},{},{},{},{},{},{},{},{},{},{},{}\n", now, f.in_use, f.data_in_use, f.pt_in_use,
               f.shared, top.kernel.live_processes(), faults, k.faults[0], k.faults[1], k.faults[2], k.faults[3],
               k.faults[4], k.bytes_copied);
  }

 private:
  OutputFile& csv_;
  Cycles interval_;
  Cycles next_ = 0;
};

// The model's main signals as a waveform: the running process, each fault
// (kind and address, for the length of its handling), and memory in use.
class ModelWaves {
 public:
  ModelWaves(const std::string& path, const Clock& clock) : vcd_(path, clock.to_time(1).value()) {
    pid_ = vcd_.add("cpu", "pid", 32);
    records_ = vcd_.add("cpu", "trace_records", 64);
    fault_ = vcd_.add("kernel", "fault_kind", 3);
    fault_va_ = vcd_.add("kernel", "fault_va", 64);
    faults_ = vcd_.add("kernel", "faults", 64);
    processes_ = vcd_.add("kernel", "processes", 32);
    frames_ = vcd_.add("memory", "frames_in_use", 32);
    data_ = vcd_.add("memory", "data_frames", 32);
    shared_ = vcd_.add("memory", "shared_frames", 32);
    copied_ = vcd_.add("memory", "bytes_copied", 64);
    l1_misses_ = vcd_.add("mmu", "tlb_l1_misses", 64);
    walks_ = vcd_.add("mmu", "page_walks", 64);
  }
  // fault_kind is the kind's number + 1 while the handler runs, 0 otherwise.
  void fault(const FaultRecord& r) {
    vcd_.change(fault_, r.cycle, uint64_t(r.kind) + 1);
    vcd_.change(fault_va_, r.cycle, r.va);
    vcd_.change(faults_, r.cycle, ++faults_seen_);
    vcd_.change(fault_, r.cycle + r.cost.total(), 0);
  }
  void record(const Top& top, const TraceRecord& rec) {
    const Cycles now = top.cpu.now();
    const FrameStats& f = top.kernel.frames().stats();
    vcd_.change(pid_, now, rec.pid);
    vcd_.change(records_, now, top.cpu.stats().records);
    vcd_.change(processes_, now, top.kernel.live_processes());
    vcd_.change(frames_, now, f.in_use);
    vcd_.change(data_, now, f.data_in_use);
    vcd_.change(shared_, now, f.shared);
    vcd_.change(copied_, now, top.kernel.stats().bytes_copied);
    vcd_.change(l1_misses_, now, top.mmu.stats().l1_misses);
    vcd_.change(walks_, now, top.mmu.walker().stats().walks);
  }
  void commit(Cycles end) { vcd_.commit(end); }

 private:
  VcdWriter vcd_;
  size_t pid_, records_, fault_, fault_va_, faults_, processes_, frames_, data_, shared_, copied_, l1_misses_, walks_;
  uint64_t faults_seen_ = 0;
};

class Progress {
 public:
  explicit Progress(const TraceReader& trace) : trace_(trace), start_(Clock::now()) {}
  void update(uint64_t records) {
    const double t = std::chrono::duration<double>(Clock::now() - start_).count();
    if (t < 1.5) return;
    std::string eta;
    if (trace_.input_size() > 0 && trace_.input_bytes_consumed() > 0) {
      const double frac = double(trace_.input_bytes_consumed()) / double(trace_.input_size());
      if (frac > 0 && frac <= 1) eta = fmt::format(", ETA {:.0f} s", t / frac - t);
    }
    fmt::print(stderr, "\r{} lines, {:.2f} M records/s{}   ", records, double(records) / t / 1e6, eta);
    shown_ = true;
  }
  ~Progress() {
    if (shown_) fmt::print(stderr, "\n");
  }

 private:
  using Clock = std::chrono::steady_clock;
  const TraceReader& trace_;
  Clock::time_point start_;
  bool shown_ = false;
};

}  // namespace

RunResult run_simulation(const Config& cfg, const RunOptions& opts) {
  RunResult result;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    if (const std::string why = rtl_tlb_unavailable(cfg); !why.empty()) throw UserError(why);
    TraceReader trace(opts.trace);
    std::unique_ptr<OutputFile> faults_csv, timeline_csv;
    if (!opts.faults_csv.empty())
      faults_csv = open_csv(
          opts.faults_csv, "cycle,pid,va,kind,total,trap_entry,walk,handler,alloc,copy,pte_update,tlb_flush,trap_exit");
    if (!opts.timeline_csv.empty()) {
      if (opts.timeline_interval == 0) throw UserError("--timeline-interval must be at least 1 cycle");
      timeline_csv = open_csv(opts.timeline_csv, Timeline::kHeader);
    }
    Top top("top", cfg, trace, opts.rtl_vcd);
    std::unique_ptr<ModelWaves> waves;
    if (!opts.vcd.empty()) waves = std::make_unique<ModelWaves>(opts.vcd, top.clock);
    if (faults_csv || waves)
      top.kernel.set_fault_observer([&](const FaultRecord& r) {
        if (faults_csv) write_fault(faults_csv->out(), r);
        if (waves) waves->fault(r);
      });
    std::unique_ptr<Timeline> timeline;
    if (timeline_csv) timeline = std::make_unique<Timeline>(*timeline_csv, opts.timeline_interval);
    std::unique_ptr<Progress> progress;
    if (opts.progress) {
      progress = std::make_unique<Progress>(trace);
      top.cpu.on_progress = [&](uint64_t n) { progress->update(n); };
    }
    std::string invariant_error;
    // A lockstep divergence or a failed RTL assertion stops the run at the end
    // of the trace line it happened in (exit 1, the report on standard error).
    const bool watch_tlb = top.rtl_tlb != nullptr;
    if (opts.after_record || opts.check_each_step || timeline || waves || watch_tlb) {
      top.cpu.after_record = [&](const TraceRecord& rec) {
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
    progress.reset();
    if (!top.cpu.error().empty()) throw UserError(top.cpu.error());

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
    s["sim.accesses_per_second"] = wall > 0 ? double(top.cpu.stats().accesses) / wall : 0.0;
    s["lockstep.lookups"] = top.lockstep ? top.lockstep->lookups() : 0;
    s["lockstep.divergences"] = top.lockstep ? top.lockstep->divergences() : 0;
    const std::string tlb_failure = top.tlb_failure();
    if (!top.cpu.finished()) s["sim.cycles"] = top.cpu.now();  // halted by the TLB check
    s["verify.invariant_failures"] = invariant_error.empty() ? 0 : 1;
    if (!invariant_error.empty()) {
      result.error = invariant_error;
      std::cerr << "mmusim: " << invariant_error << "\n";
    }
    if (!tlb_failure.empty()) {
      if (result.error.empty()) result.error = tlb_failure;
      std::cerr << "mmusim: " << tlb_failure;
    }
    if (top.cpu.stats().mismatches > 0 || !invariant_error.empty() || !tlb_failure.empty()) result.exit_code = 1;
    if (timeline) timeline->sample(top, top.cpu.cycles());
    if (faults_csv) faults_csv->commit();
    if (timeline_csv) timeline_csv->commit();
    if (waves) waves->commit(top.cpu.cycles());
    top.finish_rtl_vcd(true);
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
std::string host_time(const StatsJson& s) {
  const double wall = s.value("sim.wall_seconds", 0.0);
  std::string out = fmt::format("{:.3f} s", wall);
  if (wall < kRateMinSeconds || s.value("sim.accesses", uint64_t{0}) < kRateMinAccesses) return out;
  const double rate = s.value("sim.accesses_per_second", 0.0);
  if (rate >= 1e6) return out + fmt::format(", {:.2f} M accesses/s", rate / 1e6);
  if (rate >= 1e3) return out + fmt::format(", {:.1f} k accesses/s", rate / 1e3);
  return out + fmt::format(", {:.0f} accesses/s", rate);
}

}  // namespace

std::string format_summary(const StatsJson& s) {
  auto u = [&](const char* k) { return s.value(k, uint64_t{0}); };
  auto rate = [&](const char* hits, const char* misses) {
    const double h = double(u(hits)), m = double(u(misses));
    return h + m > 0 ? fmt::format("{:.2f}%", 100.0 * h / (h + m)) : std::string("-");
  };
  std::string out;
  out += fmt::format("mmusim {}: {} policy\n", s.value("mmusim.version", ""), s.value("config.fork_policy", ""));
  out += fmt::format("  cycles              {}\n", u("sim.cycles"));
  out += fmt::format("  accesses            {} ({} loads, {} stores)\n", u("sim.accesses"), u("sim.loads"), u("sim.stores"));
  out += fmt::format("  trace lines         {} ({} skipped)\n", u("trace.lines"), u("trace.skipped_lines"));
  out += fmt::format("  TLB L1 hit rate     {} ({} hits, {} misses)\n", rate("tlb.l1.hits", "tlb.l1.misses"),
                     u("tlb.l1.hits"), u("tlb.l1.misses"));
  out += fmt::format("  TLB L2 hit rate     {} ({} hits, {} misses)\n", rate("tlb.l2.hits", "tlb.l2.misses"),
                     u("tlb.l2.hits"), u("tlb.l2.misses"));
  out += fmt::format("  page walks          {} ({} PTE reads, {} cycles)\n", u("ptw.walks"), u("ptw.mem_reads"),
                     u("ptw.cycles"));
  out += "  faults              count      mean cycles   p99 cycles\n";
  for (const char* k : {"demand_zero", "cow_zero", "cow_copy", "cow_reuse", "shared_map"}) {
    const std::string p = fmt::format("faults.latency.{}", k);
    out += fmt::format("    {:<16}  {:>9}  {:>12.1f}  {:>11}\n", k, s.value(p + ".count", uint64_t{0}),
                       s.value(p + ".mean", 0.0), s.value(p + ".p99", uint64_t{0}));
  }
  out += fmt::format("    {:<16}  {:>9}\n", "segv", u("faults.segv"));
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
