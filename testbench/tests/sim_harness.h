// Helpers for tests that run the whole model in-process (one simulation per
// test process: SystemC elaborates once, so each TEST_CASE is its own CTest
// test) or the mmusim binary as a user would (run_mmusim: the one way tests
// start a process).
#pragma once
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/config.h"
#include "run.h"
#include "top.h"

namespace mmusim::test {

// A temporary file holding `text`, removed when the object goes.
class TempFile {
 public:
  explicit TempFile(const std::string& text, const std::string& suffix = ".trace") {
    char tmpl[] = "/tmp/mmusim-test-XXXXXX";
    const int fd = mkstemp(tmpl);
    close(fd);
    std::remove(tmpl);
    path_ = std::string(tmpl) + suffix;
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `trace` through the model with `sets` ("key=value") applied.
inline RunResult simulate(const std::string& trace, const std::vector<std::string>& sets = {},
                          std::function<void(Top&, const TraceRecord&)> after = nullptr,
                          const std::string& faults_csv = "") {
  TempFile file(trace);
  Config cfg;
  for (const auto& s : sets) cfg.set(s);
  cfg.validate();
  RunOptions opts;
  opts.trace = file.path();
  opts.check_each_step = true;
  opts.after_record = std::move(after);
  opts.faults_csv = faults_csv;
  return run_simulation(cfg, opts);
}

// A finished process: how it ended and what it printed.
struct ProcessResult {
  int exit_code = -1;   // exit status; -1 if the process did not exit normally
  std::string how;      // "exit status 0", "killed by signal 6", ...
  std::string out;      // its standard output
  std::string err;      // its standard error
  std::string output;   // both (standard output first), to look for a message in either
  std::string command;  // the command line, quoted for a shell, to reproduce a run
};

// Runs argv[0] (a path) with the arguments argv[1...], no shell involved;
// standard input is `stdin_path` if given, else empty (/dev/null).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_path = "");

// Runs the mmusim binary as a user would: mmusim args...
ProcessResult run_mmusim(const std::vector<std::string>& args, const std::string& stdin_path = "");

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace mmusim::test
