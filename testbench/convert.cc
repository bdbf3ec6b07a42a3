// `mmusim convert`; see convert.h.
#include "convert.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/interrupt.h"
#include "common/output_file.h"
#include "cpu/trace_reader.h"
#include "cpu/trace_writer.h"

namespace mmusim {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Copies every record of `in` to `w`, each at its line.
void copy_trace(TraceReader& in, TraceWriter& w) {
  TraceRecord rec;
  uint64_t last = 0;  // line of the last record written
  while (in.next(rec)) {
    if (rec.line > last + 1) w.gap(rec.line - last - 1);
    w.record(rec);
    last = rec.line;
    if ((last & 0xffff) == 0 && interrupt_signal() != 0) throw Interrupted(interrupt_signal());
  }
  if (const int sig = interrupt_signal()) throw Interrupted(sig);  // a read cut short by the signal
  if (in.lines_read() > last) w.gap(in.lines_read() - last);
  w.finish();
}

}  // namespace

int run_convert(int argc, char* argv[]) {
  CLI::App app{"mmusim convert: a trace from text to binary or from binary to text, each record at its line "
               "(docs/binary-trace-format.md)", "mmusim convert"};
  std::string in_path, out_path, to;
  app.add_option("--to", to, "the output's form (default: the other one than the input's)")
      ->type_name("FORM")
      ->check(CLI::IsMember({"text", "binary"}));
  app.add_option("IN", in_path, "trace to read (text or binary; plain, .gz or .zst; - for standard input)")
      ->type_name("")
      ->required();
  app.add_option("OUT", out_path, "file to write, whole or not at all (- for standard output)")
      ->type_name("")
      ->required();
  app.footer("Exit status: 0 ok, 2 bad usage or a bad trace (no output file written), 130/143 stopped by "
             "SIGINT/SIGTERM.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  install_interrupt_handlers();
  try {
    if (ends_with(out_path, ".gz") || ends_with(out_path, ".zst"))
      throw UserError(out_path + ": convert writes uncompressed traces (compress the output with gzip or zstd; "
                                 "mmusim reads both)");
    TraceReader in(in_path);
    const bool binary = to.empty() ? !in.binary() : to == "binary";
    std::unique_ptr<OutputFile> file;
    if (out_path != "-") file = std::make_unique<OutputFile>(out_path);
    std::ostream& out = file ? file->out() : std::cout;
    std::unique_ptr<TraceWriter> w;
    if (binary) w = std::make_unique<BinaryTraceWriter>(out);
    else w = std::make_unique<TextTraceWriter>(out);
    copy_trace(in, *w);
    if (file) file->commit();
    else if (!std::cout) throw UserError("<stdout>: cannot write");
    return 0;
  } catch (const Interrupted& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return interrupt_exit_status(e.signal());
  } catch (const UserError& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace mmusim
