#include "cpu/cpu.h"

#include <fmt/format.h>

#include <cstring>
#include <iostream>

#include "common/access_copy.h"
#include "common/config.h"
#include "common/error.h"
#include "common/stats_registry.h"
#include "cpu/trace_reader.h"
#include "mmu/mmu.h"
#include "verify/reference_model.h"

namespace mmusim {

Cpu::Cpu(sc_core::sc_module_name name, unsigned index, const Config& cfg, const Clock& clock,
         const TraceReader& trace, Kernel& kernel, ReferenceModel* reference, VerifyStats& verify)
    : sc_core::sc_module(name),
      socket("socket"),
      index_(index),
      clock_hz_(clock),
      trace_(trace),
      kernel_(kernel),
      ref_(reference),
      verify_(verify),
      max_reports_(cfg.u64("verify.max_reports")) {
  trans_.set_extension(&ext_);
  trans_.set_streaming_width(8);
  trans_.set_byte_enable_ptr(nullptr);
  trans_.set_dmi_allowed(false);
}

Cpu::~Cpu() { trans_.clear_extension(&ext_); }

void Cpu::execute(const TraceRecord& rec, Task& t) {
  if (Cycles owed = kernel_.take_interrupt_cycles(index_)) advance(owed);
  if (kernel_.cpu(index_).current != &t) {
    Cycles cost = 0;
    kernel_.switch_to(t, cost);
    advance(cost);
  }
  if (rec.op == TraceOp::Load || rec.op == TraceOp::Store) access(rec, t);
  else operation(rec, t);
}

void Cpu::operation(const TraceRecord& rec, Task& t) {
  Process& p = *t.proc;
  const Pid ref_pid = p.uid;  // the reference model knows processes, not tasks
  switch (rec.op) {
    case TraceOp::Load:
    case TraceOp::Store:
      access(rec, t);
      break;
    case TraceOp::Compute:
      stats_.compute_cycles += rec.cycles;
      advance(rec.cycles);
      break;
    case TraceOp::Mmap:
      advance(kernel_.mmap(t, rec.va, rec.len, rec.perms, rec.shared, rec.huge));
      if (ref_) ref_->mmap(ref_pid, rec.va, rec.len, rec.perms, rec.shared);
      break;
    case TraceOp::Munmap:
      advance(kernel_.munmap(t, rec.va, rec.len));
      if (ref_) ref_->munmap(ref_pid, rec.va, rec.len);
      break;
    case TraceOp::Mprotect:
      advance(kernel_.mprotect(t, rec.va, rec.len, rec.perms));
      if (ref_) ref_->mprotect(ref_pid, rec.va, rec.len, rec.perms);
      break;
    case TraceOp::Fork: {
      const unsigned cpu = kernel_.place(rec.cpu >= 0 ? std::optional<unsigned>(rec.cpu) : std::nullopt, index_);
      const auto r = kernel_.fork(t, rec.child, cpu);
      advance(r.cycles);
      if (ref_ && r.ok) ref_->fork(ref_pid, kernel_.task(rec.child)->proc->uid);
      break;
    }
    case TraceOp::Thread: {
      const unsigned cpu = kernel_.place(rec.cpu >= 0 ? std::optional<unsigned>(rec.cpu) : std::nullopt, index_);
      advance(kernel_.thread(t, rec.child, cpu));
      break;
    }
    case TraceOp::Migrate:
      advance(kernel_.migrate(t, unsigned(rec.cpu)));
      break;
    case TraceOp::Exec:
      advance(kernel_.exec(t));
      if (ref_) ref_->exec(ref_pid);
      break;
    case TraceOp::Exit: {
      const bool last = p.tasks.size() == 1;
      advance(kernel_.exit(t));  // t (and with its last task, p) is gone
      if (ref_ && last) ref_->remove(ref_pid);
      break;
    }
  }
}

void Cpu::access(const TraceRecord& rec, Task& t) {
  const bool store = rec.op == TraceOp::Store;
  const AccessType type = store ? AccessType::Store : AccessType::Load;
  const unsigned size = rec.size;
  const bool legal = ref_ ? ref_->permits(t.proc->uid, rec.va, size, type) : true;

  // The trace's values are little-endian, as the host's are (checked below).
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "mmusim assumes a little-endian host");
  uint8_t data[8];
  if (store) std::memcpy(data, &rec.value, sizeof data);
  // The common case, served by the MMU's hit cache without a transaction;
  // the rest (a miss, a fault, a page crossing) out of this path's way.
  if (mmu_ && page_offset(rec.va) + size <= kPageSize && mmu_->direct_access(rec.va, t.proc->asid, type, size, data, time_))
    completed(rec, t.proc->uid, data, legal, false);
  else
    access_pages(rec, t, data, legal);
}

void Cpu::access_pages(const TraceRecord& rec, Task& t, uint8_t* data, bool legal) {
  const bool store = rec.op == TraceOp::Store;
  const AccessType type = store ? AccessType::Store : AccessType::Load;
  const unsigned size = rec.size;
  const Pid ref_pid = t.proc->uid;
  // The transactions' address space, as it is now (a switch or an ASID
  // rollover may have given it a new ASID since the last access).
  ext_.pid = t.tid;
  ext_.asid = t.proc->asid;
  ext_.root = t.proc->mm.root;
  // An access that crosses a page is two accesses, one per page.
  const unsigned first = unsigned(std::min<uint64_t>(size, kPageSize - page_offset(rec.va)));
  FaultOutcome done = FaultOutcome::Retry;
  // A store is all or nothing: the second page must be writable (its faults
  // taken) before any byte lands in the first.
  if (store && first < size) done = access_page(t, rec.va + first, size - first, data + first, type, true);
  if (done == FaultOutcome::Retry) done = access_page(t, rec.va, first, data, type);
  if (done == FaultOutcome::Retry && first < size)
    done = access_page(t, rec.va + first, size - first, data + first, type);
  if (done != FaultOutcome::Retry) {  // the process was killed, t with it
    if (ref_) {
      if (done == FaultOutcome::Segv && legal)
        mismatch(rec, "the simulation raised a segmentation fault on an access the reference model allows");
      ref_->remove(ref_pid);
    }
    return;
  }
  completed(rec, ref_pid, data, legal, first < size);
}

void Cpu::completed(const TraceRecord& rec, Pid ref_pid, const uint8_t* data, bool legal, bool crossed) {
  const unsigned size = rec.size;
  ++stats_.accesses;
  if (crossed) ++stats_.page_crossings;
  if (ref_ && !legal) mismatch(rec, "the access completed but the reference model says it must segfault");
  if (rec.op == TraceOp::Store) {
    ++stats_.stores;
    if (ref_) ref_->store(ref_pid, rec.va, size, rec.value);
    return;
  }
  ++stats_.loads;
  uint64_t value = 0;
  copy_access_bytes(&value, data, size);
  verify_.load_hash = ((verify_.load_hash ^ rec.line) * 1099511628211ull ^ value) * 1099511628211ull;
  bool checked = false;
  if (ref_ && legal) {
    checked = true;
    const uint64_t want = ref_->load(ref_pid, rec.va, size);
    if (value != want) load_mismatch(rec, value, want, "the reference model has");
  }
  if (rec.has_expect) {
    checked = true;
    if (value != rec.expect) load_mismatch(rec, value, rec.expect, "expected");
  }
  if (checked) ++verify_.loads_checked;
}

FaultOutcome Cpu::access_page(Task& t, VAddr va, unsigned len, uint8_t* data, AccessType type, bool probe) {
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
    socket->b_transport(trans_, time_);  // the Mmu and PhysMem annotate the delay
    if (ext_.fault == WalkFault::None) {
      if (trans_.is_response_error())
        SC_REPORT_FATAL("/mmusim/cpu", fmt::format("physical access failed: {}", trans_.get_response_string()).c_str());
      return FaultOutcome::Retry;
    }
    const auto r = kernel_.handle_fault(t, va, type, ext_.walk_cycles, now());
    advance(r.cycles);
    if (r.outcome != FaultOutcome::Retry) return r.outcome;
    if (attempt == 3)
      SC_REPORT_FATAL("/mmusim/cpu", fmt::format("access {:#x} still faults after the kernel handled it", va).c_str());
  }
}

void Cpu::load_mismatch(const TraceRecord& rec, uint64_t value, uint64_t want, const char* source) {
  mismatch(rec, fmt::format("load {:#x} returned {:#x}, {} {:#x}", rec.va, value, source, want));
}

void Cpu::mismatch(const TraceRecord& rec, const std::string& what) {
  if (verify_.mismatches++ < max_reports_)
    std::cerr << fmt::format("{}: verification mismatch (pid {}): {}\n", trace_.where(rec.line), rec.pid, what);
}

void Cpu::report(StatsJson& out) const {
  const std::string k = fmt::format("cpu.{}.", index_);
  out[k + "cycles"] = now();
  out[k + "accesses"] = stats_.accesses;
}

void Cpu::declare_stats(StatsRegistry& r) {
  r.add({
      {"cpu.<k>.cycles", "cycles", "this CPU's clock at the end"},
      {"cpu.<k>.accesses", "accesses", "loads and stores this CPU completed"},
  });
}

}  // namespace mmusim
