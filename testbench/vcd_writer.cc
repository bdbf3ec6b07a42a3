#include "vcd_writer.h"

#include <fmt/format.h>

#include <map>

namespace mmusim {

VcdWriter::VcdWriter(const std::string& path, uint64_t timescale_ps)
    : file_(path), out_(file_.out()), timescale_ps_(timescale_ps) {}

size_t VcdWriter::add(const std::string& scope, const std::string& name, unsigned width) {
  // Identifiers are short strings of printable characters '!' .. '~'.
  std::string id;
  for (size_t n = signals_.size() + 1; n; n /= 94) id += char('!' + n % 94);
  signals_.push_back(Signal{scope, name, id, width, 0, false});
  return signals_.size() - 1;
}

void VcdWriter::header() {
  out_ << "$date mmusim $end\n$version mmusim " MMUSIM_VERSION " $end\n";
  out_ << "$timescale 1ps $end\n";  // times are cycles x the clock period in ps
  std::map<std::string, std::vector<const Signal*>> by_scope;
  for (const auto& s : signals_) by_scope[s.scope].push_back(&s);
  out_ << "$scope module top $end\n";
  for (const auto& [scope, sigs] : by_scope) {
    out_ << fmt::format("$scope module {} $end\n", scope);
    for (const Signal* s : sigs) out_ << fmt::format("$var wire {} {} {} $end\n", s->width, s->id, s->name);
    out_ << "$upscope $end\n";
  }
  out_ << "$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n";
  for (auto& s : signals_) {
    s.known = true;
    emit(s);
  }
  out_ << "$end\n";
  started_ = true;
}

void VcdWriter::emit(const Signal& s) {
  if (s.width == 1) {
    out_ << (s.value ? '1' : '0') << s.id << '\n';
    return;
  }
  std::string bits;
  for (unsigned i = s.width; i-- > 0;) bits += ((s.value >> i) & 1) ? '1' : '0';
  const size_t first = bits.find('1');
  out_ << 'b' << (first == std::string::npos ? "0" : bits.substr(first)) << ' ' << s.id << '\n';
}

void VcdWriter::change(size_t signal, uint64_t cycle, uint64_t value) {
  if (!started_) header();
  Signal& s = signals_[signal];
  if (s.width < 64) value &= (uint64_t{1} << s.width) - 1;
  if (s.value == value) return;
  const uint64_t t = cycle * timescale_ps_;
  if (t > time_) {
    time_ = t;
    out_ << '#' << t << '\n';
  }
  s.value = value;
  emit(s);
}

void VcdWriter::commit(uint64_t end_cycle) {
  if (!started_) header();
  if (end_cycle * timescale_ps_ > time_) out_ << '#' << end_cycle * timescale_ps_ << '\n';
  file_.commit();
}

}  // namespace mmusim
