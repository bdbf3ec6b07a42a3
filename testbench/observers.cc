#include "observers.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cstdio>
#include <iterator>
#include <string_view>

#include "cpu/trace_reader.h"
#include "top.h"

namespace mmusim {

FaultCsv::FaultCsv(const std::string& path) : file_(path) { file_.out() << kHeader << "\n"; }

void FaultCsv::fault(const FaultRecord& r) {
  const FaultBreakdown& b = r.cost;
  fmt::print(file_.out(), "{},{},{:#x},{},{},{},{},{},{},{},{},{},{},{},{}\n", r.cycle, r.pid, r.va,
             to_string(r.kind), b.total(), b.trap_entry, b.walk, b.handler, b.alloc, b.copy, b.pte_update, b.tlb_flush,
             b.trap_exit, r.cpu, b.shootdown);
}

std::string Timeline::header() {
  std::string h = "cycle,frames_in_use,data_frames,pt_frames,shared_frames,processes,faults";
  for (const auto& kind : kFaultKindNames) h += std::string(",") + kind.name;
  return h + ",bytes_copied";
}

Timeline::Timeline(const std::string& path, Cycles interval) : file_(path), interval_(interval) {
  file_.out() << header() << "\n";
}

void Timeline::maybe_sample(const Top& top) {
  const Cycles now = top.now();
  if (now < next_) return;
  sample(top, now);
  next_ = (now / interval_ + 1) * interval_;
}

void Timeline::sample(const Top& top, Cycles now) {
  const FrameStats& f = top.kernel.frames().stats();
  const KernelStats& k = top.kernel.stats();
  uint64_t faults = 0;
  for (uint64_t n : k.faults) faults += n;
  fmt::memory_buffer row;
  fmt::format_to(std::back_inserter(row), "{},{},{},{},{},{},{}", now, f.in_use, f.data_in_use, f.pt_in_use, f.shared,
                 top.kernel.live_processes(), faults);
  for (uint64_t n : k.faults) fmt::format_to(std::back_inserter(row), ",{}", n);
  fmt::format_to(std::back_inserter(row), ",{}\n", k.bytes_copied);
  // The end-of-run row repeats the last record's when that ended the run.
  const std::string_view text(row.data(), row.size());
  if (text == last_row_) return;
  last_row_.assign(text);
  file_.out().write(row.data(), std::streamsize(row.size()));
}

ModelWaves::ModelWaves(const std::string& path, const Clock& clock, size_t cpus)
    : vcd_(path, clock.to_time(1).value()) {
  // CPU 0 keeps the one-CPU names (cpu.pid, mmu.tlb_l1_misses: the sum);
  // CPU k > 0 adds cpuK.pid and cpuK.tlb_l1_misses.
  cpu_pids_.resize(cpus);
  cpu_misses_.resize(cpus);
  for (size_t k = 1; k < cpus; ++k) {
    cpu_pids_[k] = vcd_.add(fmt::format("cpu{}", k), "pid", 32);
    cpu_misses_[k] = vcd_.add(fmt::format("cpu{}", k), "tlb_l1_misses", 64);
  }
  pid_ = vcd_.add("cpu", "pid", 32);
  records_ = vcd_.add("cpu", "trace_records", 64);
  // fault_kind: 0, or the kind's number + 1 (kFaultKindNames' order).
  static_assert(kFaultKinds + 1 <= 16, "fault_kind is 4 bits wide");
  fault_ = vcd_.add("kernel", "fault_kind", 4);
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

void ModelWaves::fault(const FaultRecord& r) {
  vcd_.change(fault_, r.cycle, uint64_t(r.kind) + 1);
  vcd_.change(fault_va_, r.cycle, r.va);
  vcd_.change(faults_, r.cycle, ++faults_seen_);
  vcd_.change(fault_, r.cycle + r.cost.total(), 0);
}

void ModelWaves::record(const Top& top, const TraceRecord& rec) {
  const Cycles now = top.now();
  const FrameStats& f = top.kernel.frames().stats();
  const unsigned cpu = top.player->last_cpu();
  vcd_.change(cpu == 0 ? pid_ : cpu_pids_[cpu], now, rec.pid);
  vcd_.change(records_, now, top.player->records());
  vcd_.change(processes_, now, top.kernel.live_processes());
  vcd_.change(frames_, now, f.in_use);
  vcd_.change(data_, now, f.data_in_use);
  vcd_.change(shared_, now, f.shared);
  vcd_.change(copied_, now, top.kernel.stats().bytes_copied);
  uint64_t misses = 0, walks = 0;
  for (size_t k = 0; k < top.mmus.size(); ++k) {
    misses += top.mmus[k]->stats().l1_misses;
    walks += top.mmus[k]->walker().stats().walks;
    if (k > 0) vcd_.change(cpu_misses_[k], now, top.mmus[k]->stats().l1_misses);
  }
  vcd_.change(l1_misses_, now, misses);
  vcd_.change(walks_, now, walks);
}

Progress::Progress(const TraceReader& trace) : trace_(trace), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (shown_) fmt::print(stderr, "\n");
}

void Progress::update(uint64_t records) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (t < 1.5) return;
  std::string eta;
  if (trace_.input_size() > 0 && trace_.input_bytes_consumed() > 0) {
    const double frac = double(trace_.input_bytes_consumed()) / double(trace_.input_size());
    if (frac > 0 && frac <= 1) eta = fmt::format(", ETA {:.0f} s", t / frac - t);
  }
  fmt::print(stderr, "\r{} lines, {:.2f} M records/s{}   ", records, double(records) / t / 1e6, eta);
  shown_ = true;
}

}  // namespace mmusim
