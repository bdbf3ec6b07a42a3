#include "cpu/cpu.h"

#include <fmt/format.h>

#include <cstring>
#include <iostream>

#include "common/config.h"
#include "common/error.h"
#include "kernel/kernel.h"
#include "verify/reference_model.h"

namespace mmusim {

Cpu::Cpu(sc_core::sc_module_name name, const Config& cfg, const Clock& clock, TraceReader& trace,
         Kernel& kernel, ReferenceModel* reference)
    : sc_core::sc_module(name),
      socket("socket"),
      clock_(clock),
      trace_(trace),
      kernel_(kernel),
      ref_(reference),
      max_reports_(cfg.u64("verify.max_reports")) {
  trans_.set_extension(&ext_);
  trans_.set_streaming_width(8);
  trans_.set_byte_enable_ptr(nullptr);
  trans_.set_dmi_allowed(false);
  SC_THREAD(run);
}

Cpu::~Cpu() { trans_.clear_extension(&ext_); }

void Cpu::advance(Cycles c) {
  qk_.inc(clock_.to_time(c));
  if (qk_.need_sync()) qk_.sync();
}

void Cpu::run() {
  qk_.reset();
  TraceRecord rec;
  try {
    while (trace_.next(rec)) {
      ++stats_.records;
      try {
        execute(rec);
      } catch (const UserError& e) {
        throw UserError(fmt::format("{}: {}", trace_.where(rec.line), e.what()));
      }
      if (after_record) after_record(rec);
      if (on_progress && (stats_.records & 0x3fff) == 0) on_progress(stats_.records);
    }
  } catch (const UserError& e) {
    error_ = e.what();
  }
  qk_.sync();
  cycles_ = clock_.to_cycles(sc_core::sc_time_stamp());
  finished_ = true;  // the thread ends; with nothing left to do, sc_start returns
}

void Cpu::execute(const TraceRecord& rec) {
  if (rec.pid != cur_pid_ || !cur_) {
    if (kernel_.state(rec.pid) == ProcState::Dead) {
      ++stats_.skipped_lines;
      return;
    }
    const bool spawned = kernel_.state(rec.pid) == ProcState::Unseen;
    Cycles cost = 0;
    cur_ = kernel_.switch_to(rec.pid, cost);
    cur_pid_ = rec.pid;
    advance(cost);
    if (!cur_) {  // no memory for a new process: it never runs
      ++stats_.skipped_lines;
      return;
    }
    if (spawned && ref_) ref_->spawn(rec.pid);
  }
  // The address space may have a new ASID after a switch or a rollover.
  ext_.pid = cur_->pid;
  ext_.asid = cur_->asid;
  ext_.root = cur_->mm.root;

  switch (rec.op) {
    case TraceOp::Load:
    case TraceOp::Store:
      access(rec);
      break;
    case TraceOp::Compute:
      stats_.compute_cycles += rec.cycles;
      advance(rec.cycles);
      break;
    case TraceOp::Mmap:
      advance(kernel_.mmap(*cur_, rec.va, rec.len, rec.perms, rec.shared));
      if (ref_) ref_->mmap(rec.pid, rec.va, rec.len, rec.perms, rec.shared);
      break;
    case TraceOp::Munmap:
      advance(kernel_.munmap(*cur_, rec.va, rec.len));
      if (ref_) ref_->munmap(rec.pid, rec.va, rec.len);
      break;
    case TraceOp::Mprotect:
      advance(kernel_.mprotect(*cur_, rec.va, rec.len, rec.perms));
      if (ref_) ref_->mprotect(rec.pid, rec.va, rec.len, rec.perms);
      break;
    case TraceOp::Fork: {
      const auto r = kernel_.fork(*cur_, rec.child);
      advance(r.cycles);
      if (ref_) {
        if (r.ok) ref_->fork(rec.pid, rec.child);
        else ref_->remove(rec.child);
      }
      break;
    }
    case TraceOp::Exec:
      advance(kernel_.exec(*cur_));
      if (ref_) ref_->exec(rec.pid);
      break;
    case TraceOp::Exit:
      advance(kernel_.exit(*cur_));
      cur_ = nullptr;
      if (ref_) ref_->remove(rec.pid);
      break;
  }
}

void Cpu::access(const TraceRecord& rec) {
  const bool store = rec.op == TraceOp::Store;
  const AccessType type = store ? AccessType::Store : AccessType::Load;
  const unsigned size = rec.size;
  const bool legal = ref_ ? ref_->permits(rec.pid, rec.va, size, type) : true;

  // The trace's values are little-endian, as the host's are (checked below).
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mmusim assumes a little-endian host");
  uint8_t data[8];
  if (store) std::memcpy(data, &rec.value, sizeof data);
  // An access that crosses a page is two accesses, one per page.
  const unsigned first = unsigned(std::min<uint64_t>(size, kPageSize - page_offset(rec.va)));
  FaultOutcome done = FaultOutcome::Retry;
  // A store is all or nothing: the second page must be writable (its faults
  // taken) before any byte lands in the first.
  if (store && first < size) done = access_page(rec.va + first, size - first, data + first, type, true);
  if (done == FaultOutcome::Retry) done = access_page(rec.va, first, data, type);
  if (done == FaultOutcome::Retry && first < size) done = access_page(rec.va + first, size - first, data + first, type);
  if (done != FaultOutcome::Retry) {
    cur_ = nullptr;
    if (ref_) {
      if (done == FaultOutcome::Segv && legal)
        mismatch(rec, "the simulation raised a segmentation fault on an access the reference model allows");
      ref_->remove(rec.pid);
    }
    return;
  }
  ++stats_.accesses;
  if (first < size) ++stats_.page_crossings;
  if (ref_ && !legal) mismatch(rec, "the access completed but the reference model says it must segfault");
  if (store) {
    ++stats_.stores;
    if (ref_) ref_->store(rec.pid, rec.va, size, rec.value);
    return;
  }
  ++stats_.loads;
  uint64_t value = 0;
  std::memcpy(&value, data, size);
  stats_.load_hash = ((stats_.load_hash ^ rec.line) * 1099511628211ull ^ value) * 1099511628211ull;
  bool checked = false;
  if (ref_ && legal) {
    checked = true;
    const uint64_t want = ref_->load(rec.pid, rec.va, size);
    if (value != want)
      mismatch(rec, fmt::format("load {:#x} returned {:#x}, the reference model has {:#x}", rec.va, value, want));
  }
  if (rec.has_expect) {
    checked = true;
    if (value != rec.expect)
      mismatch(rec, fmt::format("load {:#x} returned {:#x}, expected {:#x}", rec.va, value, rec.expect));
  }
  if (checked) ++stats_.loads_checked;
}

FaultOutcome Cpu::access_page(VAddr va, unsigned len, uint8_t* data, AccessType type, bool probe) {
  ext_.access = type;
  trans_.set_command(probe                         ? tlm::TLM_IGNORE_COMMAND
                     : type == AccessType::Store ? tlm::TLM_WRITE_COMMAND
                                                 : tlm::TLM_READ_COMMAND);
  trans_.set_data_ptr(data);
  trans_.set_data_length(len);
  trans_.set_streaming_width(len);
  // A fault is handled and the access restarted; the kernel resolves any fault
  // in one go, so a second fault on the same access means a broken handler.
  for (unsigned attempt = 0;; ++attempt) {
    trans_.set_address(va);
    trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = qk_.get_local_time();
    socket->b_transport(trans_, delay);
    qk_.set(delay);
    if (ext_.fault == WalkFault::None) {
      if (trans_.is_response_error())
        SC_REPORT_FATAL("/mmusim/cpu", fmt::format("physical access failed: {}", trans_.get_response_string()).c_str());
      if (qk_.need_sync()) qk_.sync();
      return FaultOutcome::Retry;
    }
    const auto r = kernel_.handle_fault(*cur_, va, type, ext_.walk_cycles, now());
    advance(r.cycles);
    if (r.outcome != FaultOutcome::Retry) return r.outcome;
    if (attempt == 3)
      SC_REPORT_FATAL("/mmusim/cpu", fmt::format("access {:#x} still faults after the kernel handled it", va).c_str());
  }
}

void Cpu::mismatch(const TraceRecord& rec, const std::string& what) {
  if (stats_.mismatches++ < max_reports_)
    std::cerr << fmt::format("{}: verification mismatch (pid {}): {}\n", trace_.where(rec.line), rec.pid, what);
}

void Cpu::report(StatsJson& out) const {
  out["sim.cycles"] = cycles_;
  out["sim.accesses"] = stats_.accesses;
  out["sim.loads"] = stats_.loads;
  out["sim.stores"] = stats_.stores;
  out["sim.page_crossings"] = stats_.page_crossings;
  out["sim.compute_cycles"] = stats_.compute_cycles;
  out["trace.lines"] = trace_.lines_read();
  out["trace.records"] = stats_.records;
  out["trace.skipped_lines"] = stats_.skipped_lines;
  out["verify.loads_checked"] = stats_.loads_checked;
  out["verify.mismatches"] = stats_.mismatches;
  out["verify.load_hash"] = fmt::format("{:016x}", stats_.load_hash);
}

}  // namespace mmusim
