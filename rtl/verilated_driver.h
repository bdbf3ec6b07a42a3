// What the adapters of the verilated RTL (rtl_tlb.cc, rtl_ptw.cc) share: one
// model with its own Verilator context, its optional VCD, and its clock.
// Included only where the build has the RTL (MMUSIM_HAVE_RTL).
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "common/error.h"
#include "common/output_file.h"
#include "verilated.h"
#if VM_TRACE
#include "verilated_vcd_c.h"
#endif

namespace mmusim {

// Bit i of a verilated signal: an integer, or a VlWide of 32-bit words.
template <class T>
bool vl_bit(const T& v, unsigned i) {
  if constexpr (std::is_integral_v<T>) {
    return (v >> i) & 1;
  } else {
    return (v[i / 32] >> (i % 32)) & 1;
  }
}

// Owns a verilated model V (with an input clk_i) and clocks it. The VCD, if
// asked for, is written by Verilator under an OutputFile's temporary name and
// moved into place by finish_vcd(true); its time follows the simulation's
// cycles (set_cycle_source) and advances half a period per evaluation.
template <class V>
class VerilatedDriver {
 public:
  // `what` names the design in errors ("the RTL TLB").
  VerilatedDriver(const char* instance, const std::string& vcd_path, uint64_t period_ps, const char* what)
      : ctx_(std::make_unique<VerilatedContext>()), period_ps_(std::max<uint64_t>(2, period_ps)) {
    // An assertion failure is reported through failed() rather than abort().
    ctx_->fatalOnError(false);
    ctx_->errorLimit(1);
#if VM_TRACE
    (void)what;  // named only when the build cannot trace
    if (!vcd_path.empty()) ctx_->traceEverOn(true);
#endif
    m_ = std::make_unique<V>(ctx_.get(), instance);
#if VM_TRACE
    if (!vcd_path.empty()) {
      vcd_file_ = std::make_unique<OutputFile>(vcd_path);
      vcd_ = std::make_unique<VerilatedVcdC>();
      m_->trace(vcd_.get(), 99);
      vcd_->set_time_unit("1ps");
      vcd_->set_time_resolution("1ps");
      vcd_->open(vcd_file_->temp_path().c_str());
      if (!vcd_->isOpen()) throw UserError(fmt::format("{}: cannot write", vcd_path));
    }
#else
    if (!vcd_path.empty()) throw UserError(fmt::format("--vcd: {} was verilated without --trace", what));
#endif
  }

  ~VerilatedDriver() {
    // Verilator erases a model's scopes through the thread's current context,
    // which is whichever model ran last: with one model per CPU that may be a
    // context already destroyed (a hang in its mutex). Make it this one's.
    make_current();
    finish_vcd(false);
    m_->final();
  }

  VerilatedDriver(const VerilatedDriver&) = delete;
  VerilatedDriver& operator=(const VerilatedDriver&) = delete;

  V& model() { return *m_; }
  const V& model() const { return *m_; }

  // Assertion failures are counted in the current thread's context: make it
  // this model's before evaluating. Only when it is not: setting it also
  // writes a global (Verilated::s_lastContextp), and a write per operation
  // from a lockstep worker thread stalled the simulation's thread, which reads
  // a variable in the same cache line at every access.
  void make_current() {
    if (Verilated::threadContextp() != ctx_.get()) Verilated::threadContextp(ctx_.get());
  }
  bool failed() const { return ctx_->gotError(); }

  void eval() {
    m_->eval();
#if VM_TRACE
    if (vcd_) {
      vcd_->dump(time_);
      time_ += period_ps_ / 2;
    }
#endif
  }
  void falling() {
    m_->clk_i = 0;
    eval();
  }
  void rising() {
    m_->clk_i = 1;
    eval();
    ++cycles_;
  }
  void cycle() {
    falling();
    rising();
  }
  // Edges during which the model's inputs and state stay as they are: counted,
  // not evaluated.
  void skip_cycles(uint64_t n) { cycles_ += n; }
  uint64_t cycles() const { return cycles_; }

  bool vcd_on() const {
#if VM_TRACE
    return vcd_ != nullptr;
#else
    return false;
#endif
  }
  void set_cycle_source(std::function<uint64_t()> now) { now_ = std::move(now); }
  // Moves the VCD's time up to the simulation's present (time never goes back).
  void sync_vcd_time() {
    if (now_ && vcd_on()) time_ = std::max(time_, now_() * period_ps_);
  }
  void finish_vcd(bool keep) {
#if VM_TRACE
    if (!vcd_) return;
    vcd_->close();
    vcd_.reset();
    std::unique_ptr<OutputFile> file = std::move(vcd_file_);
    if (keep) file->commit();
    else file->abandon();
#else
    (void)keep;
#endif
  }

 private:
  // Declared first, destroyed last: the model and its trace belong to it.
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> m_;
#if VM_TRACE
  std::unique_ptr<OutputFile> vcd_file_;
  std::unique_ptr<VerilatedVcdC> vcd_;
#endif
  uint64_t period_ps_;
  std::function<uint64_t()> now_;
  uint64_t time_ = 0;  // VCD time, ps
  uint64_t cycles_ = 0;
};

}  // namespace mmusim
