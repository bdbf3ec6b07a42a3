// Output files written whole or not at all (common/output_file.h): the data
// reaches the final path only on commit; anything else leaves nothing behind.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "common/error.h"
#include "common/output_file.h"

namespace mmusim::test {
namespace {

namespace fs = std::filesystem;

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory for one test, removed with what is left in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mmusim-test-out-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // The names in the directory, sorted, each followed by a space.
  std::string listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.insert(e.path().filename().string());
    std::string out;
    for (const auto& n : names) out += n + " ";
    return out;
  }

 private:
  std::string path_;
};

}  // namespace

TEST_CASE("output: a committed file appears whole under its name, with no temporary file left", "[output]") {
  TempDir dir;
  const std::string path = dir.file("stats.json");
  {
    OutputFile f(path);
    f.out() << "partial";
    CHECK_FALSE(exists(path));  // nothing under the final name before commit
    f.out() << " and the rest\n";
    f.commit();
  }
  CHECK(read_all(path) == "partial and the rest\n");
  CHECK(dir.listing() == "stats.json ");
}

TEST_CASE("output: abandoned or never committed, a file leaves nothing and the old file as it was", "[output]") {
  TempDir dir;
  const std::string path = dir.file("faults.csv");
  std::ofstream(path) << "old\n";
  {
    OutputFile f(path);
    f.out() << "new\n";
    f.abandon();
  }
  CHECK(read_all(path) == "old\n");
  {
    OutputFile f(path);
    f.out() << "new\n";
  }  // destroyed without commit: a run that failed on bad input
  CHECK(read_all(path) == "old\n");
  CHECK(dir.listing() == "faults.csv ");
}

TEST_CASE("output: a path that cannot be written is an error naming it, before any data", "[output]") {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/x.vcd");
  CHECK_THROWS_WITH(OutputFile(path), path + ": cannot write: No such file or directory");
  CHECK_THROWS_WITH(write_file_atomically(path, "x"), path + ": cannot write: No such file or directory");
  CHECK(dir.listing().empty());
}

TEST_CASE("output: a failed rename is an error naming the path, and the temporary file goes", "[output]") {
  TempDir dir;
  const std::string path = dir.file("taken");
  REQUIRE(::mkdir(path.c_str(), 0755) == 0);
  ::close(::open((path + "/inside").c_str(), O_CREAT | O_WRONLY, 0644));  // a non-empty directory
  OutputFile f(path);
  f.out() << "data";
  CHECK_THROWS_WITH(f.commit(), path + ": cannot write: Is a directory");
  CHECK(dir.listing() == "taken ");
}

TEST_CASE("output: a full disk is an error naming the path, and no file is left", "[output]") {
  // /dev/full: every write fails with ENOSPC. A device is written in place
  // (a rename over it would replace the device node with a file).
  struct stat st {};
  REQUIRE(::stat("/dev/full", &st) == 0);
  REQUIRE(S_ISCHR(st.st_mode));
  CHECK_THROWS_WITH(write_file_atomically("/dev/full", std::string(1 << 16, 'x')),
                    "/dev/full: cannot write: No space left on device");
  REQUIRE(::stat("/dev/full", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));  // still the device
  CHECK(::access("/dev/full.tmp", F_OK) != 0);
}

TEST_CASE("output: a device such as /dev/null is written in place, not replaced", "[output]") {
  write_file_atomically("/dev/null", "data\n");
  struct stat st {};
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(::access("/dev/null.tmp", F_OK) != 0);
}

TEST_CASE("output: write_file_atomically replaces a file's contents whole", "[output]") {
  TempDir dir;
  const std::string path = dir.file("a.json");
  std::ofstream(path) << "a much longer old content\n";
  write_file_atomically(path, "{}\n");
  CHECK(read_all(path) == "{}\n");
  CHECK(dir.listing() == "a.json ");
}

}  // namespace mmusim::test
