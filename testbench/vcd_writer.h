// A minimal value-change-dump writer for the model's main signals. Changes are
// recorded at the CPU's exact simulated time (loosely-timed code runs ahead of
// SystemC's clock, so sc_trace would only see values at quantum boundaries).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/output_file.h"

namespace mmusim {

class VcdWriter {
 public:
  // Throws UserError if the file cannot be written. Times are given in
  // cycles of `period_ps` picoseconds and written in picoseconds.
  VcdWriter(const std::string& path, uint64_t period_ps);
  // Declares a signal (before the first change); returns its handle.
  size_t add(const std::string& scope, const std::string& name, unsigned width);
  // Records a value at `cycle` (non-decreasing); nothing is written if unchanged.
  void change(size_t signal, uint64_t cycle, uint64_t value);
  // Writes the tail and moves the file into place (written whole or not at all).
  void commit(uint64_t end_cycle);

 private:
  struct Signal {
    std::string scope, name, id;
    unsigned width;
    uint64_t value;
    bool known;
  };
  void header();
  void emit(const Signal& s);

  OutputFile file_;
  std::ostream& out_;  // file_.out()
  uint64_t timescale_ps_;
  std::vector<Signal> signals_;
  bool started_ = false;
  uint64_t time_ = 0;
};

}  // namespace mmusim
