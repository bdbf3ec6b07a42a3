// mmusim: the command line (spec/interface.md).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <systemc>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "common/interrupt.h"
#include "common/output_file.h"
#include "common/stats_registry.h"
#include "check_stats.h"
#include "compare.h"
#include "convert.h"
#include "rtl_ptw.h"
#include "rtl_tlb.h"
#include "run.h"

using namespace mmusim;

namespace {

constexpr int kExitBadInput = 2;

// --check-stats FILE: exit status 1 if the run's statistics differ from FILE's.
int check_stats(const std::string& path, const StatsJson& stats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(fmt::format("{}: cannot read", path));
  std::ostringstream text;
  text << in.rdbuf();
  return check_expected_stats(text.str(), path, stats, std::cerr) ? 1 : 0;
}

// The allowed values of an enumerated configuration key, as the schema declares them.
const std::vector<std::string>& choices_of(const char* key) {
  const ParamDecl* d = find_param(key);
  if (d == nullptr || d->choices.empty())
    throw std::logic_error(fmt::format("configuration key '{}' is not an enumeration", key));
  return d->choices;
}

// The RTL TLB's waveform beside the model's: FILE.vcd -> FILE.rtl.vcd.
std::string rtl_vcd_path(const std::string& vcd, const std::string& suffix) {
  const std::string ext = ".vcd";
  if (vcd.size() > ext.size() && vcd.compare(vcd.size() - ext.size(), ext.size(), ext) == 0)
    return vcd.substr(0, vcd.size() - ext.size()) + suffix;
  return vcd + suffix;
}

}  // namespace

int sc_main(int argc, char* argv[]) {
  // `mmusim convert IN OUT`: a command of its own, recognised only as the first
  // argument, so that every `mmusim [options] TRACE` means what it meant (a
  // trace named "convert" is ./convert there).
  if (argc >= 2 && std::string(argv[1]) == "convert") return run_convert(argc - 1, argv + 1);
  CLI::App app{"mmusim: a cycle-approximate model of an MMU and the kernel code behind copy-on-write fork"};
  app.set_version_flag("--version", std::string("mmusim ") + MMUSIM_VERSION);
  std::string config_file, stats_file, faults_file, vcd_file, check_file, trace;
  std::vector<std::string> sets;
  std::string fork_policy, tlb_impl, ptw_impl;
  bool compare = false, quiet = false, print_config = false, list_stats = false, check_each_step = false;
  // Every argument is named for what it takes (CLI11 says TEXT or UINT otherwise).
  app.add_option("-c,--config", config_file, "TOML configuration file")->type_name("FILE");
  app.add_option("--set", sets, "override one configuration key (repeatable, after --config)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  // The allowed values come from the configuration schema, so that a value the
  // schema adds is accepted here too.
  app.add_option("--fork-policy", fork_policy, "same as --set kernel.fork_policy=...")
      ->type_name("POLICY")
      ->check(CLI::IsMember(choices_of("kernel.fork_policy")));
  app.add_option("--tlb", tlb_impl, "same as --set tlb.impl=...")
      ->type_name("IMPL")
      ->check(CLI::IsMember(choices_of("tlb.impl")));
  app.add_option("--ptw", ptw_impl, "same as --set ptw.impl=...")
      ->type_name("IMPL")
      ->check(CLI::IsMember(choices_of("ptw.impl")));
  app.add_option("--stats", stats_file, "write all statistics as JSON to FILE")->type_name("FILE");
  app.add_option("--faults", faults_file, "write one CSV row per page fault with its latency breakdown to FILE")
      ->type_name("FILE");
  std::string timeline_file;
  uint64_t timeline_interval = 100000;
  app.add_option("--timeline", timeline_file,
                 "write a CSV of frames in use, shared frames and cumulative faults over simulated time to FILE")
      ->type_name("FILE");
  app.add_option("--timeline-interval", timeline_interval, "cycles between --timeline samples (default 100000)")
      ->type_name("CYCLES");
  app.add_option("--vcd", vcd_file,
                 "write a waveform (VCD) of the model's main signals to FILE; with --tlb rtl or lockstep also one "
                 "of the RTL TLB's signals to FILE with .vcd replaced by .rtl.vcd, and with --ptw rtl or lockstep one of "
                 "the RTL walker's to FILE with .vcd replaced by .ptw.vcd (not with --compare)")
      ->type_name("FILE");
  app.add_flag("--compare", compare,
               "run the trace under eager copy, copy-on-write and On-Demand-Fork and compare them");
  app.add_flag("-q,--quiet", quiet, "no summary and no progress on the terminal");
  app.add_flag("--print-config", print_config, "print the effective configuration with descriptions and exit");
  app.add_flag("--list-stats", list_stats,
               "print every statistic --stats writes, with its unit and description, and exit");
  app.add_option("--check-stats", check_file,
                 "compare the statistics with an expected JSON FILE (exit 1 on a difference)")
      ->type_name("FILE");
  app.add_flag("--check-invariants", check_each_step, "check the kernel's invariants after every trace line (slow)");
  // The name TRACE says it all: no type after it.
  app.add_option("TRACE", trace, "trace file (plain, .gz or .zst; - for standard input)")->type_name("");
  app.footer("Exit status: 0 ok, 1 a verification failed, 2 bad usage, configuration, trace or output file,\n"
             "130 stopped by SIGINT, 143 stopped by SIGTERM (no output file written).\n"
             "Configuration keys: mmusim --print-config\n"
             "Text to binary trace and back: mmusim convert IN OUT (mmusim convert --help)\n"
             "Statistics: mmusim --list-stats");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitBadInput;
  }

  if (list_stats) {
    std::cout << stats_registry().list();
    return 0;
  }

  // From here on SIGINT and SIGTERM stop the run cleanly (exit 130, 143).
  install_interrupt_handlers();
  try {
    Config cfg;
    if (!config_file.empty()) cfg.load_file(config_file);
    for (const auto& s : sets) cfg.set(s);
    if (!fork_policy.empty()) cfg.set("kernel.fork_policy", fork_policy);
    if (!tlb_impl.empty()) cfg.set("tlb.impl", tlb_impl);
    if (!ptw_impl.empty()) cfg.set("ptw.impl", ptw_impl);
    cfg.validate();
    if (const std::string why = rtl_tlb_unavailable(cfg); !why.empty()) throw UserError(why);
    if (const std::string why = rtl_ptw_unavailable(cfg); !why.empty()) throw UserError(why);
    if (print_config) {
      std::cout << cfg.to_toml(true);
      return 0;
    }
    if (trace.empty()) throw UserError("no trace given (mmusim [options] TRACE; see --help)");

    RunOptions opts;
    opts.trace = trace;
    opts.faults_csv = faults_file;
    opts.timeline_csv = timeline_file;
    opts.vcd = vcd_file;
    if (!vcd_file.empty() && cfg.str("tlb.impl") != "model" && !compare)
      opts.rtl_vcd = rtl_vcd_path(vcd_file, ".rtl.vcd");
    if (!vcd_file.empty() && cfg.str("ptw.impl") != "model" && !compare)
      opts.ptw_vcd = rtl_vcd_path(vcd_file, ".ptw.vcd");
    opts.timeline_interval = timeline_interval;
    opts.progress = !quiet && isatty(STDERR_FILENO);
    opts.check_each_step = check_each_step;

    if (compare) return run_compare(cfg, opts, stats_file, quiet);

    // Opened before the run, like the other outputs, so that a path that
    // cannot be written is an error (exit 2) before the simulation, not after it.
    std::unique_ptr<OutputFile> stats_out;
    if (!stats_file.empty()) stats_out = std::make_unique<OutputFile>(stats_file);
    RunResult r = run_simulation(cfg, opts);
    if (r.exit_code == kExitBadInput || r.exit_code >= 128) {  // bad input, or SIGINT/SIGTERM (130, 143)
      std::cerr << "mmusim: " << r.error << "\n";
      return r.exit_code;
    }
    int rc = r.exit_code;
    if (const int sig = interrupt_signal()) throw Interrupted(sig);  // arrived since the run
    if (stats_out) {
      stats_out->out() << r.stats.dump(2) << "\n";
      try {
        stats_out->commit();
      } catch (const UserError&) {
        // The run has committed its other outputs already: take them back, so
        // that exit status 2 leaves no output file (a device stays a device).
        for (const std::string* out : {&faults_file, &timeline_file, &vcd_file, &opts.rtl_vcd, &opts.ptw_vcd}) {
          struct stat st {};
          if (!out->empty() && ::stat(out->c_str(), &st) == 0 && S_ISREG(st.st_mode)) std::remove(out->c_str());
        }
        throw;
      }
    }
    if (!quiet) std::cout << format_summary(r.stats);
    if (!check_file.empty()) rc = std::max(rc, check_stats(check_file, r.stats));
    return rc;
  } catch (const Interrupted& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return interrupt_exit_status(e.signal());
  } catch (const UserError& e) {
    std::cerr << "mmusim: " << e.what() << "\n";
    return kExitBadInput;
  }
}

// Our own main, ahead of libsystemc's: SystemC reads SC_COPYRIGHT_MESSAGE before
// sc_main runs, and its banner on every run would only be noise.
int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
