// Running a process from a test (sim_harness.h).
#include "sim_harness.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mmusim::test {

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A word as a POSIX shell reads it back: as is if it is plainly safe, else in single quotes.
std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// An empty temporary file, removed when the object goes.
struct CaptureFile {
  CaptureFile() {
    char tmpl[] = "/tmp/mmusim-test-out-XXXXXX";
    fd = ::mkstemp(tmpl);
    path = tmpl;
  }
  ~CaptureFile() {
    if (fd >= 0) ::close(fd);
    std::remove(path.c_str());
  }
  int fd;
  std::string path;
};

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_path) {
  ProcessResult r;
  for (const auto& w : argv) r.command += (r.command.empty() ? "" : " ") + shell_quote(w);
  if (!stdin_path.empty()) r.command += " < " + shell_quote(stdin_path);
  CaptureFile out, err;
  if (out.fd < 0 || err.fd < 0) {
    r.how = "cannot create a temporary file";
    return r;
  }
  std::vector<std::string> words = argv;
  std::vector<char*> args;
  for (auto& w : words) args.push_back(w.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.how = "fork failed";
    return r;
  }
  if (pid == 0) {
    // Standard input: the given file, else nothing (never the test runner's).
    const int in = ::open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    if (in < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out.fd, 1);
    ::dup2(err.fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(ws)) {
    r.exit_code = WEXITSTATUS(ws);
    r.how = "exit status " + std::to_string(r.exit_code);
  } else if (WIFSIGNALED(ws)) {
    r.how = "killed by signal " + std::to_string(WTERMSIG(ws));
  } else {
    r.how = "ended abnormally";
  }
  r.out = read_text(out.path);
  r.err = read_text(err.path);
  r.output = r.out + r.err;
  return r;
}

ProcessResult run_mmusim(const std::vector<std::string>& args, const std::string& stdin_path) {
  std::vector<std::string> argv = {MMUSIM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, stdin_path);
}

}  // namespace mmusim::test
