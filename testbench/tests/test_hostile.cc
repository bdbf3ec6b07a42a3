// Hostile runs (issue 12 item 5): a truncated compressed trace, an output on a
// full disk or in a directory that does not exist, a configuration that cannot
// be read, SIGINT and SIGTERM during a run. Each gives a clear message and its
// exit status, and never leaves an output file or a temporary one behind.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sim_harness.h"

namespace mmusim::test {

namespace {

const std::string kSource = MMUSIM_SOURCE_DIR;

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// An output path in a fresh directory: neither it nor its temporary file exists.
struct OutputPath {
  std::string dir, path;
  explicit OutputPath(const std::string& name) {
    char tmpl[] = "/tmp/mmusim-hostile-XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir + "/" + name;
  }
  ~OutputPath() { std::system(("rm -rf '" + dir + "'").c_str()); }
  // Everything in the directory, "a b " (the test checks it is empty).
  std::string listing() const {
    std::string out;
    FILE* p = ::popen(("ls -A '" + dir + "'").c_str(), "r");
    char buf[256];
    while (p && std::fgets(buf, sizeof buf, p)) {
      std::string line(buf);
      if (!line.empty() && line.back() == '\n') line.pop_back();
      out += line + " ";
    }
    if (p) ::pclose(p);
    return out;
  }
};

// mmusim started in the background with its standard input a pipe the test
// writes: the run lasts as long as the test keeps the pipe open, so a signal
// always lands in the middle of it.
class Background {
 public:
  explicit Background(const std::vector<std::string>& args) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    char tmpl[] = "/tmp/mmusim-hostile-err-XXXXXX";
    const int err = ::mkstemp(tmpl);
    REQUIRE(err >= 0);
    err_path_ = tmpl;
    std::vector<std::string> words = {MMUSIM_BINARY};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      // As a user's shell starts it: the signals at their defaults.
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGPIPE, SIG_DFL);
      ::dup2(fds[0], 0);
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(err, 2);
      ::close(fds[0]);
      ::close(fds[1]);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[0]);
    ::close(err);
    in_ = fds[1];
  }
  ~Background() {
    stop_writer();
    if (in_ >= 0) ::close(in_);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::remove(err_path_.c_str());
  }

  void write(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t k = ::write(in_, text.data() + done, text.size() - done);
      if (k <= 0) return;  // the run has ended (EPIPE)
      done += static_cast<size_t>(k);
    }
  }
  // Keeps writing `text` over and over until the run ends: a busy run of any length.
  void write_forever(const std::string& text) {
    writer_ = std::thread([this, text] {
      while (!stop_.load()) {
        const ssize_t k = ::write(in_, text.data(), text.size());
        if (k <= 0) return;
      }
    });
  }

  // Waits (at most 60 s) until `path` exists; false if it never does or the run ended.
  bool wait_for_file(const std::string& path) {
    for (int i = 0; i < 6000; ++i) {
      if (exists(path)) return true;
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        reaped_ = true;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // The run still going after `ms` milliseconds.
  bool still_running_after(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
    return !reaped_;
  }

  void signal(int sig) { ::kill(pid_, sig); }

  // Waits (at most 60 s) for the end; the exit status, or -1 if killed or still running.
  int wait() {
    for (int i = 0; i < 6000 && !reaped_; ++i) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
      else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop_writer();
    if (!reaped_) return -1;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }
  std::string err() const { return read_all(err_path_); }

 private:
  void stop_writer() {
    stop_.store(true);
    if (in_ >= 0) {
      ::close(in_);  // unblocks a writer stuck on a full pipe
      in_ = -1;
    }
    if (writer_.joinable()) writer_.join();
  }

  pid_t pid_ = -1;
  int in_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string err_path_;
  std::thread writer_;
  std::atomic<bool> stop_{false};
};

// A trace that keeps one process busy: stores and loads to one page.
const std::string kTraceStart = "1 mmap 0x10000 4K rw\n";
std::string busy_block() {
  std::string block;
  for (int i = 0; i < 2000; ++i) block += "1 store 0x10000 5\n1 load 0x10000 expect=5\n";
  return block;
}

// SIGINT or SIGTERM in the middle of a busy run: the exit status, the
// message, and no output file nor temporary file.
void expect_interrupted_busy(int sig, int status, const std::string& name) {
  ::signal(SIGPIPE, SIG_IGN);  // the writer sees EPIPE when the run has ended
  OutputPath stats("s.json"), faults("f.csv");
  Background run({"-q", "--stats", stats.path, "--faults", faults.path, "-"});
  run.write(kTraceStart);
  run.write_forever(busy_block());
  // The outputs' temporary files exist from before the run's first record.
  REQUIRE(run.wait_for_file(faults.path + ".tmp"));
  REQUIRE(run.still_running_after(300));  // well into the records
  run.signal(sig);
  const int rc = run.wait();
  INFO(run.err());
  CHECK(rc == status);
  CHECK(run.err() == "mmusim: interrupted by " + name + "\n");
  CHECK(stats.listing().empty());
  CHECK(faults.listing().empty());
}

}  // namespace

TEST_CASE("cli: SIGINT in the middle of a run stops it with exit 130 and leaves no output file", "[cli][hostile]") {
  expect_interrupted_busy(SIGINT, 130, "SIGINT");
}

TEST_CASE("cli: SIGTERM in the middle of a run stops it with exit 143 and leaves no output file", "[cli][hostile]") {
  expect_interrupted_busy(SIGTERM, 143, "SIGTERM");
}

TEST_CASE("cli: SIGTERM while the run waits for trace input on a pipe stops it at once", "[cli][hostile]") {
  OutputPath stats("s.json"), faults("f.csv");
  Background run({"-q", "--stats", stats.path, "--faults", faults.path, "-"});
  run.write(kTraceStart + "1 store 0x10000 5\n");  // then nothing: the read blocks
  REQUIRE(run.wait_for_file(faults.path + ".tmp"));
  REQUIRE(run.still_running_after(200));
  run.signal(SIGTERM);
  const int rc = run.wait();
  INFO(run.err());
  CHECK(rc == 143);
  CHECK(run.err() == "mmusim: interrupted by SIGTERM\n");
  CHECK(stats.listing().empty());
  CHECK(faults.listing().empty());
}

TEST_CASE("cli: a truncated gzip or zstd trace is exit 2 naming the file, with no output", "[cli][hostile][input]") {
  // Big enough that a cut stream is missing records, not just its trailer.
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "1 mmap 0x10000 4K rw\n1 store 0x10000 5\n1 munmap 0x10000 4K\n";
  TempFile plain(text);
  for (const std::string& cmd : {std::string("gzip -c"), std::string("zstd -q -c")}) {
    const std::string ext = cmd.rfind("gzip", 0) == 0 ? ".gz" : ".zst";
    const std::string kind = ext == ".gz" ? "gzip" : "zstd";
    TempFile whole("", ext), cut("", ext);
    REQUIRE(std::system((cmd + " " + plain.path() + " > " + whole.path()).c_str()) == 0);
    const std::string bytes = read_all(whole.path());
    REQUIRE(bytes.size() > 64);
    std::ofstream(cut.path(), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    OutputPath stats("s.json");
    const ProcessResult r = run_mmusim({"-q", "--stats", stats.path, cut.path()});
    INFO(r.command << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.err == "mmusim: " + cut.path() + ": corrupt " + kind + " data (unexpected end of file)\n");
    CHECK(stats.listing().empty());
  }
}

TEST_CASE("cli: --stats or --faults on a full disk (/dev/full) is exit 2 naming it", "[cli][hostile][output]") {
  struct stat st {};
  REQUIRE(::stat("/dev/full", &st) == 0);
  REQUIRE(S_ISCHR(st.st_mode));
  const std::string trace = kSource + "/traces/tutorial-int-x.trace";
  for (const std::string opt : {"--stats", "--faults"}) {
    const ProcessResult r = run_mmusim({"-q", opt, "/dev/full", trace});
    INFO(r.command << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.err == "mmusim: /dev/full: cannot write: No space left on device\n");
    REQUIRE(::stat("/dev/full", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));  // still the device, not a file renamed over it
    CHECK_FALSE(exists("/dev/full.tmp"));
  }
}

TEST_CASE("cli: --stats on a full disk takes back the --faults file the run wrote", "[cli][hostile][output]") {
  const std::string trace = kSource + "/traces/tutorial-int-x.trace";
  OutputPath faults("f.csv");
  const ProcessResult r = run_mmusim({"-q", "--faults", faults.path, "--stats", "/dev/full", trace});
  INFO(r.command << "\n" << r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.err == "mmusim: /dev/full: cannot write: No space left on device\n");
  CHECK(faults.listing().empty());
}

TEST_CASE("cli: an output in a directory that does not exist is exit 2 before the run", "[cli][hostile][output]") {
  // Tests run as root, which a chmod 0500 directory does not stop: a parent
  // that does not exist, and a path under /proc, cannot be written by anyone.
  const std::string trace = kSource + "/traces/tutorial-int-x.trace";
  OutputPath faults("f.csv");
  for (const std::string path : {"/nonexistent-dir/x.json", "/proc/mmusim-x.json"}) {
    const ProcessResult r = run_mmusim({"-q", "--faults", faults.path, "--stats", path, trace});
    INFO(r.command << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("mmusim: " + path + ": cannot write: ", 0) == 0);
    CHECK(faults.listing().empty());  // nothing else written either
    CHECK_FALSE(exists(path + ".tmp"));
  }
}

TEST_CASE("cli: --compare opens its --stats before the runs", "[cli][hostile][output][compare]") {
  // The trace does not exist either: the runs would fail on it, so the error
  // names the statistics file only if that is opened first.
  const ProcessResult r =
      run_mmusim({"--compare", "--stats", "/nonexistent-dir/x.json", "/nonexistent-dir/no.trace"});
  INFO(r.command << "\n" << r.output);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("mmusim: /nonexistent-dir/x.json: cannot write: ", 0) == 0);
  CHECK(r.out.empty());
}

TEST_CASE("cli: a configuration that cannot be read is exit 2 naming it and why", "[cli][hostile][config]") {
  // Root reads a 0000 file: a directory and a missing file cannot be read by anyone.
  const std::string trace = kSource + "/traces/tutorial-int-x.trace";
  OutputPath stats("s.json");
  const struct {
    std::string path, reason;
  } cases[] = {
      {stats.dir, "cannot read configuration file: Is a directory"},
      {stats.dir + "/missing.toml", "cannot open configuration file: No such file or directory"},
  };
  for (const auto& c : cases) {
    const ProcessResult r = run_mmusim({"-q", "-c", c.path, "--stats", stats.path, trace});
    INFO(r.command << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK(r.err == "mmusim: " + c.path + ": " + c.reason + "\n");
    CHECK(stats.listing().empty());
  }
}

}  // namespace mmusim::test
