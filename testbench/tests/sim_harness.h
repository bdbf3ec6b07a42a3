// Helpers for tests that run the whole model in-process (one simulation per
// test process: SystemC elaborates once, so each TEST_CASE is its own CTest
// test) or the mmusim binary as a user would.
#pragma once
#include <sys/wait.h>
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

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // standard output and standard error
};

// Runs the mmusim binary with a shell command line tail.
inline ProcessResult run_mmusim(const std::string& args) {
  const std::string cmd = std::string(MMUSIM_BINARY) + " " + args + " 2>&1";
  ProcessResult r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace mmusim::test
