// What watches a run as it goes: the per-fault CSV (--faults), the timeline
// (--timeline), the model's waveform (--vcd) and the progress line on a
// terminal. run.cc creates the ones asked for and calls them; each output is
// written whole or not at all (OutputFile): commit() when the run has
// finished, nothing if it stopped on bad input.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/output_file.h"
#include "common/types.h"
#include "kernel/fault.h"
#include "vcd_writer.h"

namespace mmusim {

class Top;
class TraceReader;
struct TraceRecord;

// --faults: one CSV row per page fault with its latency breakdown
// (spec/interface.md, "Per-fault CSV").
class FaultCsv {
 public:
  static constexpr const char* kHeader =
      "cycle,pid,va,kind,total,trap_entry,walk,handler,alloc,copy,pte_update,tlb_flush,trap_exit,cpu,shootdown";
  // Throws UserError if `path` cannot be written.
  explicit FaultCsv(const std::string& path);
  void fault(const FaultRecord& r);
  void commit() { file_.commit(); }

 private:
  OutputFile file_;
};

// --timeline: frames in use and cumulative faults, sampled every `interval`
// simulated cycles.
class Timeline {
 public:
  // cycle,frames_in_use,data_frames,pt_frames,shared_frames,processes,faults,
  // then one column per fault kind (kFaultKindNames), then bytes_copied.
  static std::string header();
  // Throws UserError if `path` cannot be written. interval >= 1.
  Timeline(const std::string& path, Cycles interval);
  // After each trace record: a row if an interval boundary has passed.
  void maybe_sample(const Top& top);
  // A row for time `now` (the end of the run).
  void sample(const Top& top, Cycles now);
  void commit() { file_.commit(); }

 private:
  OutputFile file_;
  Cycles interval_;
  Cycles next_ = 0;
  std::string last_row_;
};

// --vcd: the model's main signals as a waveform: the running process, each
// fault (kind and address, for the length of its handling), and memory in use.
class ModelWaves {
 public:
  // Throws UserError if `path` cannot be written. Times are in `clock`'s cycles.
  ModelWaves(const std::string& path, const Clock& clock, size_t cpus);
  // fault_kind is the kind's number + 1 while the handler runs, 0 otherwise.
  void fault(const FaultRecord& r);
  // After each trace record.
  void record(const Top& top, const TraceRecord& rec);
  void commit(Cycles end) { vcd_.commit(end); }

 private:
  VcdWriter vcd_;
  std::vector<size_t> cpu_pids_, cpu_misses_;
  size_t pid_, records_, fault_, fault_va_, faults_, processes_, frames_, data_, shared_, copied_, l1_misses_, walks_;
  uint64_t faults_seen_ = 0;
};

// Lines done, records per second and the ETA on standard error, for runs
// longer than 1.5 s; the line is ended when the object goes.
class Progress {
 public:
  explicit Progress(const TraceReader& trace);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(uint64_t records);

 private:
  const TraceReader& trace_;
  std::chrono::steady_clock::time_point start_;
  bool shown_ = false;
};

}  // namespace mmusim
