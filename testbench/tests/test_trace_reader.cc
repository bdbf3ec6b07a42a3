// Trace reader: grammar of spec/trace-format.md, error messages, gzip/zstd/stdin input.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "cpu/trace_reader.h"
#include "cpu/trace_record.h"

namespace mmusim::test {

namespace {

// All records of a trace held in memory.
std::vector<TraceRecord> parse_all(const std::string& text, uint64_t* lines = nullptr) {
  auto r = TraceReader::from_string(text, "t.trace");
  std::vector<TraceRecord> out;
  TraceRecord rec;
  while (r.next(rec)) out.push_back(rec);
  if (lines) *lines = r.lines_read();
  return out;
}

// The one record of a one-line trace.
TraceRecord one(const std::string& line) {
  auto recs = parse_all(line + "\n");
  REQUIRE(recs.size() == 1);
  return recs[0];
}

// The message of the UserError that reading `text` (named t.trace) throws, "" if none.
std::string error_of(const std::string& text) {
  try {
    parse_all(text);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// The message for a trace whose third line is `bad`.
std::string error_at_line3(const std::string& bad) {
  return error_of("1 mmap 0x10000 4K rw\n# comment\n" + bad + "\n1 exit\n");
}

// A temporary file, removed at the end of the scope.
struct TempFile {
  std::string path;
  TempFile() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mmusim_trace_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    REQUIRE(fd >= 0);
    close(fd);
    path = buf.data();
  }
  ~TempFile() { std::remove(path.c_str()); }
  void write(const std::string& bytes, bool append = false) const {
    FILE* f = std::fopen(path.c_str(), append ? "ab" : "wb");
    REQUIRE(f);
    REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
  }
  // Writes `text` as one gzip member, appended as a new member if `append`.
  void write_gzip(const std::string& text, bool append = false) const {
    gzFile g = gzopen(path.c_str(), append ? "ab" : "wb");
    REQUIRE(g);
    REQUIRE(gzwrite(g, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
    REQUIRE(gzclose(g) == Z_OK);
  }
  std::string read() const {
    std::string s;
    FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f);
    char buf[4096];
    size_t k;
    while ((k = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, k);
    std::fclose(f);
    return s;
  }
};

std::string zstd_frame(const std::string& text, int level = 3) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  size_t k = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), level);
  REQUIRE_FALSE(ZSTD_isError(k));
  out.resize(k);
  return out;
}

// Reads a whole trace file; returns the records' lines, checks the reader's counters.
std::vector<TraceRecord> read_file(const std::string& path, uint64_t* lines = nullptr) {
  TraceReader r(path);
  std::vector<TraceRecord> out;
  TraceRecord rec;
  while (r.next(rec)) out.push_back(rec);
  if (lines) *lines = r.lines_read();
  if (r.input_size() != 0) CHECK(r.input_bytes_consumed() == r.input_size());
  return out;
}

const char* kSmall =
    "1 mmap 0x10000 4K rw\n"
    "1 store 0x10000 5          # int x = 5\n"
    "1 fork 2\n"
    "1 load 0x10000 expect=5\n"
    "\n"
    "2 store 0x10000 10\n"
    "2 exit\n";

}  // namespace

TEST_CASE("trace: op names", "[trace_reader]") {
  CHECK(std::string(to_string(TraceOp::Mmap)) == "mmap");
  CHECK(std::string(to_string(TraceOp::Munmap)) == "munmap");
  CHECK(std::string(to_string(TraceOp::Mprotect)) == "mprotect");
  CHECK(std::string(to_string(TraceOp::Load)) == "load");
  CHECK(std::string(to_string(TraceOp::Store)) == "store");
  CHECK(std::string(to_string(TraceOp::Fork)) == "fork");
  CHECK(std::string(to_string(TraceOp::Exec)) == "exec");
  CHECK(std::string(to_string(TraceOp::Exit)) == "exit");
  CHECK(std::string(to_string(TraceOp::Compute)) == "compute");
}

TEST_CASE("trace: the reader decodes every operation", "[trace_reader]") {
  SECTION("mmap") {
    auto r = one("7 mmap 0x10000 64K rw");
    CHECK(r.pid == 7);
    CHECK(r.op == TraceOp::Mmap);
    CHECK(r.va == 0x10000);
    CHECK(r.len == 65536);
    CHECK(r.perms == Perms{true, true, false});
    CHECK_FALSE(r.shared);
    CHECK(one("1 mmap 0 4096 r").perms == Perms{true, false, false});
    CHECK(one("1 mmap 0 4096 rx").perms == Perms{true, false, true});
    CHECK(one("1 mmap 0 4096 rwx").perms == Perms{true, true, true});
    auto s = one("1 mmap 0x20000 2M rwx shared");
    CHECK(s.shared);
    CHECK(s.len == 2 * 1024 * 1024);
    CHECK(s.perms == Perms{true, true, true});
  }
  SECTION("munmap") {
    auto r = one("3 munmap 0x3000 0x2000");
    CHECK(r.op == TraceOp::Munmap);
    CHECK(r.pid == 3);
    CHECK(r.va == 0x3000);
    CHECK(r.len == 0x2000);
  }
  SECTION("mprotect") {
    auto r = one("3 mprotect 0x3000 8K r");
    CHECK(r.op == TraceOp::Mprotect);
    CHECK(r.va == 0x3000);
    CHECK(r.len == 8192);
    CHECK(r.perms == Perms{true, false, false});
  }
  SECTION("load") {
    auto r = one("1 load 0x10008");
    CHECK(r.op == TraceOp::Load);
    CHECK(r.va == 0x10008);
    CHECK(r.size == 8);
    CHECK_FALSE(r.has_expect);
    r = one("1 load 0x10008 size=2 expect=0xbeef");
    CHECK(r.size == 2);
    CHECK(r.has_expect);
    CHECK(r.expect == 0xbeef);
    r = one("1 load 0x10008 expect=255 size=1");  // options in any order
    CHECK(r.size == 1);
    CHECK(r.expect == 255);
    CHECK(one("1 load 0 size=4").size == 4);
    CHECK(one("1 load 0 size=0x8 expect=0xffffffffffffffff").expect == ~uint64_t{0});
    CHECK(one("1 load 0 expect=0").has_expect);
  }
  SECTION("store") {
    auto r = one("2 store 0x10000 0x1122334455667788");
    CHECK(r.op == TraceOp::Store);
    CHECK(r.va == 0x10000);
    CHECK(r.value == 0x1122334455667788);
    CHECK(r.size == 8);
    r = one("2 store 0x10000 0x1ff size=1");  // value is kept whole; only the low byte is stored
    CHECK(r.value == 0x1ff);
    CHECK(r.size == 1);
  }
  SECTION("fork, exec, exit, compute") {
    auto f = one("1 fork 2147483647");
    CHECK(f.op == TraceOp::Fork);
    CHECK(f.pid == 1);
    CHECK(f.child == 2147483647u);
    CHECK(one("5 exec").op == TraceOp::Exec);
    CHECK(one("5 exit").op == TraceOp::Exit);
    auto c = one("5 compute 1000");
    CHECK(c.op == TraceOp::Compute);
    CHECK(c.cycles == 1000);
    CHECK(one("2147483647 exit").pid == 2147483647u);
  }
  SECTION("fields of a record do not leak into the next one") {
    auto recs = parse_all("1 mmap 0 4K rw shared\n1 load 0 size=1 expect=1\n1 load 8\n");
    REQUIRE(recs.size() == 3);
    CHECK_FALSE(recs[1].shared);
    CHECK(recs[2].size == 8);
    CHECK_FALSE(recs[2].has_expect);
  }
}

TEST_CASE("trace: numbers", "[trace_reader]") {
  CHECK(one("1 load 1234").va == 1234);
  CHECK(one("1 load 0").va == 0);
  CHECK(one("1 load 007").va == 7);  // decimal, leading zeros
  CHECK(one("1 load 0xABCdef").va == 0xabcdef);
  CHECK(one("1 load 0XFF").va == 0xff);
  CHECK(one("1 load 0x0000000000000000000000001").va == 1);
  CHECK(one("1 store 0 18446744073709551615").value == ~uint64_t{0});
  CHECK(one("1 store 0 0xffffffffffffffff").value == ~uint64_t{0});
  CHECK(one("1 compute 0x10").cycles == 16);
  SECTION("length suffixes") {
    CHECK(one("1 munmap 0 1K").len == 1024);
    CHECK(one("1 munmap 0 64M").len == 64ull << 20);
    CHECK(one("1 munmap 0 3G").len == 3ull << 30);
    CHECK(one("1 munmap 0 0x10K").len == 16ull << 10);
    CHECK(one("1 munmap 0 17179869183G").len == 17179869183ull << 30);  // 2^64 - 2^30
    CHECK(one("1 munmap 0 4096").len == 4096);
  }
}

TEST_CASE("trace: layout: comments, blanks, CRLF, tabs", "[trace_reader]") {
  uint64_t lines = 0;
  auto recs = parse_all(
      "# a trace\n"                      // 1
      "\n"                               // 2
      "   \t  \n"                        // 3
      "1\tmmap\t0x1000 \t 4K  rw\r\n"    // 4
      "  1 store 0x1000 5# glued\r\n"    // 5
      "\t# indented comment\n"           // 6
      "\r\n"                             // 7
      "1 load 0x1000 size=4 expect=5 #\n"  // 8
      "1 exit",                          // 9, no newline at the end
      &lines);
  CHECK(lines == 9);
  REQUIRE(recs.size() == 4);
  CHECK(recs[0].op == TraceOp::Mmap);
  CHECK(recs[0].line == 4);
  CHECK(recs[0].len == 4096);
  CHECK(recs[0].perms == Perms{true, true, false});
  CHECK(recs[1].op == TraceOp::Store);
  CHECK(recs[1].value == 5);
  CHECK(recs[1].line == 5);
  CHECK(recs[2].line == 8);
  CHECK(recs[2].expect == 5);
  CHECK(recs[3].op == TraceOp::Exit);
  CHECK(recs[3].line == 9);

  SECTION("counters") {
    auto r = TraceReader::from_string("# c\n\n1 exit\n# end\n", "t.trace");
    TraceRecord rec;
    REQUIRE(r.next(rec));
    CHECK(rec.line == 3);
    CHECK(r.lines_read() == 3);
    CHECK(r.bytes_consumed() == 12);
    CHECK_FALSE(r.next(rec));
    CHECK_FALSE(r.next(rec));  // stays at the end
    CHECK(r.lines_read() == 4);
    CHECK(r.bytes_consumed() == 18);
    CHECK(r.input_size() == 18);
    CHECK(r.input_bytes_consumed() == 18);
    CHECK(r.name() == "t.trace");
    CHECK(r.where(3) == "t.trace:3");
  }
  SECTION("empty traces") {
    CHECK(parse_all("", &lines).empty());
    CHECK(lines == 0);
    CHECK(parse_all("\n\n# x\n", &lines).empty());
    CHECK(lines == 3);
  }
  SECTION("a UTF-8 byte order mark is ignored") {
    CHECK(parse_all("\xEF\xBB\xBF" "1 exit\n").size() == 1);
  }
}

TEST_CASE("trace: syntax errors name file, line and token", "[trace_reader]") {
  CHECK(error_at_line3("1 stor 0x10") ==
        "t.trace:3: unknown operation 'stor' (expected one of: mmap munmap mprotect load store fork "
        "thread migrate exec exit compute)");
  CHECK(error_at_line3("1") == "t.trace:3: missing operation after pid 1");
  CHECK(error_at_line3("1 load zz") == "t.trace:3: bad number 'zz' for <va>");
  CHECK(error_at_line3("1 load 0x") == "t.trace:3: bad number '0x' for <va>");
  CHECK(error_at_line3("1 load 0xg1") == "t.trace:3: bad number '0xg1' for <va>");
  CHECK(error_at_line3("1 load -1") == "t.trace:3: bad number '-1' for <va>");
  CHECK(error_at_line3("1 store 0 12a") == "t.trace:3: bad number '12a' for <value>");
  CHECK(error_at_line3("1 compute x") == "t.trace:3: bad number 'x' for <cycles>");
  CHECK(error_at_line3("1 mmap 0 4k rw") == "t.trace:3: bad number '4k' for <len>");
  CHECK(error_at_line3("1 mmap 0 K rw") == "t.trace:3: bad number 'K' for <len>");
  CHECK(error_at_line3("1 load 0x1ffffffffffffffffff") ==
        "t.trace:3: number '0x1ffffffffffffffffff' does not fit in 64 bits");
  CHECK(error_at_line3("1 store 0 18446744073709551616") ==
        "t.trace:3: number '18446744073709551616' does not fit in 64 bits");
  CHECK(error_at_line3("1 munmap 0 17179869184G") ==
        "t.trace:3: number '17179869184G' does not fit in 64 bits");
  CHECK(error_at_line3("1 munmap 0 0x10000000000000000K") ==
        "t.trace:3: number '0x10000000000000000K' does not fit in 64 bits");
  CHECK(error_at_line3("1 load 0 size=3") == "t.trace:3: size must be 1, 2, 4 or 8 (got 3)");
  CHECK(error_at_line3("1 store 0 0 size=0") == "t.trace:3: size must be 1, 2, 4 or 8 (got 0)");
  CHECK(error_at_line3("1 load 0 size=99999999999999999999") ==
        "t.trace:3: size must be 1, 2, 4 or 8 (got 99999999999999999999)");
  CHECK(error_at_line3("1 load 0 size=four") == "t.trace:3: bad number 'four' for size");
  CHECK(error_at_line3("1 load 0 size=") == "t.trace:3: missing value for option 'size'");
  CHECK(error_at_line3("1 load 0 expect=") == "t.trace:3: missing value for option 'expect'");
  CHECK(error_at_line3("1 load 0 expect=x") == "t.trace:3: bad number 'x' for expect");
  CHECK(error_at_line3("1 load 0 expect=0x10000000000000000") ==
        "t.trace:3: number '0x10000000000000000' does not fit in 64 bits");
  CHECK(error_at_line3("1 load 0 size=1 expect=0x1ff") ==
        "t.trace:3: expect value '0x1ff' does not fit in 1 byte (size=1)");
  CHECK(error_at_line3("1 load 0 expect=65536 size=2") ==
        "t.trace:3: expect value '65536' does not fit in 2 bytes (size=2)");
  CHECK(error_at_line3("1 mmap 0x1000") == "t.trace:3: missing <len> for mmap");
  CHECK(error_at_line3("1 mmap") == "t.trace:3: missing <va> for mmap");
  CHECK(error_at_line3("1 mmap 0x1000 4K") == "t.trace:3: missing <perms> for mmap");
  CHECK(error_at_line3("1 mmap 0x1000 4K shared") == "t.trace:3: missing <perms> for mmap");
  CHECK(error_at_line3("1 mprotect 0 4K # no perms") == "t.trace:3: missing <perms> for mprotect");
  CHECK(error_at_line3("1 munmap 0") == "t.trace:3: missing <len> for munmap");
  CHECK(error_at_line3("1 load") == "t.trace:3: missing <va> for load");
  CHECK(error_at_line3("1 load size=4") == "t.trace:3: missing <va> for load");
  CHECK(error_at_line3("1 store 0x10") == "t.trace:3: missing <value> for store");
  CHECK(error_at_line3("1 fork") == "t.trace:3: missing <child-pid> for fork");
  CHECK(error_at_line3("1 compute") == "t.trace:3: missing <cycles> for compute");
  CHECK(error_at_line3("1 mmap 0 4K wx") ==
        "t.trace:3: bad permissions 'wx' for <perms> (expected r, rw, rx or rwx)");
  CHECK(error_at_line3("1 mmap 0 4K RW") ==
        "t.trace:3: bad permissions 'RW' for <perms> (expected r, rw, rx or rwx)");
  CHECK(error_at_line3("1 load 0 foo") == "t.trace:3: unexpected argument 'foo'");
  CHECK(error_at_line3("1 exit now") == "t.trace:3: unexpected argument 'now'");
  CHECK(error_at_line3("1 store 0 1 2") == "t.trace:3: unexpected argument '2'");
  CHECK(error_at_line3("1 munmap 0 4K shared") == "t.trace:3: unexpected argument 'shared'");
  CHECK(error_at_line3("1 load 0 sz=4") == "t.trace:3: unknown option 'sz' for load");
  CHECK(error_at_line3("1 store 0 0 expect=0") == "t.trace:3: unknown option 'expect' for store");
  CHECK(error_at_line3("1 exec size=8") == "t.trace:3: unknown option 'size' for exec");
  CHECK(error_at_line3("1 mmap 0 4K rw shared=1") == "t.trace:3: unknown option 'shared' for mmap");
  CHECK(error_at_line3("1 load 0 =4") == "t.trace:3: bad option '=4' (expected key=value)");
  CHECK(error_at_line3("1 load 0 size=4 size=4") == "t.trace:3: duplicate option 'size'");
  CHECK(error_at_line3("1 load 0 expect=1 expect=1") == "t.trace:3: duplicate option 'expect'");
  CHECK(error_at_line3("1 mmap 0 4K rw shared shared") == "t.trace:3: duplicate option 'shared'");
  CHECK(error_at_line3("0 exit") == "t.trace:3: pid must be 1 to 2147483647 (got 0)");
  CHECK(error_at_line3("2147483648 exit") ==
        "t.trace:3: pid must be 1 to 2147483647 (got 2147483648)");
  CHECK(error_at_line3("99999999999999999999999 exit") ==
        "t.trace:3: pid must be 1 to 2147483647 (got 99999999999999999999999)");
  CHECK(error_at_line3("0x1 exit") == "t.trace:3: bad number '0x1' for <pid> (pids are decimal)");
  CHECK(error_at_line3("p1 exit") == "t.trace:3: bad number 'p1' for <pid>");
  CHECK(error_at_line3("load 0x1000") == "t.trace:3: missing <pid> before 'load'");
  CHECK(error_at_line3("1 fork 0") == "t.trace:3: child pid must be 1 to 2147483647 (got 0)");
  CHECK(error_at_line3("1 fork 0x2") ==
        "t.trace:3: bad number '0x2' for <child-pid> (pids are decimal)");
  CHECK(error_at_line3("1 fork two") == "t.trace:3: bad number 'two' for <child-pid>");
  CHECK(error_at_line3("1 load 0\v") == "t.trace:3: bad number '0\\x0b' for <va>");  // not a blank
  CHECK(error_at_line3("1 load 0 " + std::string(100, 'y')) ==
        "t.trace:3: unexpected argument '" + std::string(64, 'y') + "...'");

  SECTION("line numbers count CRLF, blank and comment lines") {
    REQUIRE_THROWS_WITH(parse_all("\r\n# x\r\n1 exit\r\n\r\n1 lod 0\r\n"),
                        Catch::Matchers::StartsWith("t.trace:5: unknown operation 'lod'"));
  }
  SECTION("records before the bad line are delivered") {
    auto r = TraceReader::from_string("1 exit\n1 exit x\n", "t.trace");
    TraceRecord rec;
    REQUIRE(r.next(rec));
    REQUIRE_THROWS_WITH(r.next(rec), "t.trace:2: unexpected argument 'x'");
  }
}

TEST_CASE("trace: line length limit", "[trace_reader]") {
  const size_t max = TraceReader::kMaxLine;
  // A line of exactly the limit is fine (a comment padded to the limit).
  std::string ok = "1 exit #" + std::string(max - 8, 'c');
  REQUIRE(ok.size() == max);
  CHECK(parse_all(ok + "\n1 exit\n").size() == 2);
  CHECK(parse_all("1 exit\n" + ok).size() == 2);
  CHECK(error_of("1 exit\n1 exit #" + std::string(max, 'c') + "\n1 exit\n") ==
        "t.trace:2: line too long (more than 65536 bytes)");
  // Without a newline in sight (e.g. a binary file), the reader stops at the limit.
  CHECK(error_of("1 exit\n" + std::string(3 * max, 'c')) ==
        "t.trace:2: line too long (more than 65536 bytes)");
}

TEST_CASE("trace: the reader streams a long trace", "[trace_reader]") {
  // 200k records with comments and blank lines in between; several times the buffer size.
  const int n = 200000;
  std::string text;
  text.reserve(n * 40);
  char line[96];
  for (int i = 0; i < n; ++i) {
    int k;
    switch (i % 4) {
      case 0: k = std::snprintf(line, sizeof line, "%d store 0x%x %d\n", 1 + i % 7, i * 8, i); break;
      case 1: k = std::snprintf(line, sizeof line, "%d load 0x%x size=4 # c\r\n", 1 + i % 7, i * 8); break;
      case 2: k = std::snprintf(line, sizeof line, "%d compute %d\n\n", 1 + i % 7, i); break;
      default: k = std::snprintf(line, sizeof line, "# %d\n%d\tload\t%d\n", i, 1 + i % 7, i); break;
    }
    text.append(line, static_cast<size_t>(k));
  }
  auto r = TraceReader::from_string(text, "long.trace");
  TraceRecord rec;
  uint64_t count = 0;
  bool ok = true, lines_ok = true;
  while (r.next(rec)) {
    int i = static_cast<int>(count);
    ok = ok && rec.pid == static_cast<uint32_t>(1 + i % 7);
    switch (i % 4) {
      case 0: ok = ok && rec.op == TraceOp::Store && rec.va == uint64_t(i) * 8 && rec.value == uint64_t(i); break;
      case 1: ok = ok && rec.op == TraceOp::Load && rec.size == 4; break;
      case 2: ok = ok && rec.op == TraceOp::Compute && rec.cycles == uint64_t(i); break;
      default: ok = ok && rec.op == TraceOp::Load && rec.va == uint64_t(i); break;
    }
    // Each group of four records spans six lines: a blank line follows the
    // third, a comment line precedes the fourth.
    static constexpr uint64_t kLineInGroup[4] = {1, 2, 3, 6};
    lines_ok = lines_ok && rec.line == uint64_t(i / 4) * 6 + kLineInGroup[i % 4];
    ++count;
  }
  CHECK(ok);
  CHECK(count == uint64_t(n));
  CHECK(r.lines_read() == uint64_t(n) / 4 * 6);
  CHECK(r.bytes_consumed() == text.size());
  CHECK(lines_ok);  // every record knows its own line number
}

TEST_CASE("trace: the reader opens files", "[trace_reader]") {
  SECTION("plain") {
    TempFile f;
    f.write(kSmall);
    uint64_t lines = 0;
    auto recs = read_file(f.path, &lines);
    CHECK(recs.size() == 6);
    CHECK(lines == 7);
    TraceReader r(f.path);
    CHECK(r.name() == f.path);
    CHECK(r.input_size() == std::strlen(kSmall));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(TraceReader("/nonexistent/x.trace"),
                        "/nonexistent/x.trace: No such file or directory");
  }
  SECTION("directory") {
    REQUIRE_THROWS_WITH(TraceReader(std::filesystem::temp_directory_path().string()),
                        Catch::Matchers::EndsWith(": Is a directory"));
  }
  SECTION("errors name the path") {
    TempFile f;
    f.write("1 exit\n1 bogus\n");
    REQUIRE_THROWS_WITH(read_file(f.path),
                        f.path + ":2: unknown operation 'bogus' (expected one of: mmap munmap "
                                 "mprotect load store fork thread migrate exec exit compute)");
  }
  SECTION("xz is recognised and refused") {
    TempFile f;
    f.write(std::string("\xfd" "7zXZ\0\0\0junk", 12));
    REQUIRE_THROWS_WITH(TraceReader(f.path),
                        f.path + ": xz-compressed traces are not supported (use gzip or zstd)");
  }
}

TEST_CASE("trace: gzip input", "[trace_reader]") {
  SECTION("one member") {
    TempFile f;
    f.write_gzip(kSmall);
    uint64_t lines = 0;
    auto recs = read_file(f.path, &lines);
    REQUIRE(recs.size() == 6);
    CHECK(lines == 7);
    CHECK(recs[3].has_expect);
    CHECK(recs[5].line == 7);
    TraceReader r(f.path);
    CHECK(r.input_size() == f.read().size());
    CHECK(r.input_bytes_consumed() <= r.input_size());
  }
  SECTION("two concatenated members; a line may span them") {
    TempFile f;
    f.write_gzip("1 mmap 0x1000 4K rw\n1 sto");
    f.write_gzip("re 0x1000 7\n1 load 0x1000 expect=7\n", true);
    uint64_t lines = 0;
    auto recs = read_file(f.path, &lines);
    REQUIRE(recs.size() == 3);
    CHECK(lines == 3);
    CHECK(recs[1].op == TraceOp::Store);
    CHECK(recs[1].value == 7);
    CHECK(recs[2].expect == 7);
  }
  SECTION("large, several buffers of input and output") {
    std::string text;
    for (int i = 0; i < 60000; ++i) text += std::to_string(1 + i % 3) + " load " + std::to_string(i * 4099) + "\n";
    TempFile f;
    f.write_gzip(text.substr(0, text.size() / 2));
    f.write_gzip(text.substr(text.size() / 2), true);
    auto recs = read_file(f.path);
    REQUIRE(recs.size() == 60000);
    CHECK(recs[59999].va == 59999ull * 4099);
  }
  SECTION("corrupt and truncated data") {
    TempFile f;
    f.write_gzip(kSmall);
    std::string gz = f.read();
    TempFile bad;
    std::string corrupt = gz;
    for (size_t i = 10; i < corrupt.size() - 8; ++i) corrupt[i] = static_cast<char>(0xff);
    bad.write(corrupt);
    REQUIRE_THROWS_WITH(read_file(bad.path), Catch::Matchers::StartsWith(bad.path + ": corrupt gzip data"));
    bad.write(gz.substr(0, gz.size() - 4));
    REQUIRE_THROWS_WITH(read_file(bad.path), bad.path + ": corrupt gzip data (unexpected end of file)");
    bad.write(gz + "garbage after the member");
    REQUIRE_THROWS_WITH(read_file(bad.path), bad.path + ": corrupt gzip data (trailing garbage after the data)");
  }
}

TEST_CASE("trace: zstd input", "[trace_reader]") {
  SECTION("one frame") {
    TempFile f;
    f.write(zstd_frame(kSmall));
    uint64_t lines = 0;
    auto recs = read_file(f.path, &lines);
    REQUIRE(recs.size() == 6);
    CHECK(lines == 7);
    CHECK(recs[0].len == 4096);
  }
  SECTION("concatenated frames, large") {
    std::string a, b;
    for (int i = 0; i < 40000; ++i) a += "1 store " + std::to_string(i * 8) + " " + std::to_string(i) + "\n";
    for (int i = 0; i < 40000; ++i) b += "2 load " + std::to_string(i * 8) + " size=8\n";
    TempFile f;
    f.write(zstd_frame(a, 1) + zstd_frame(b, 1));
    uint64_t lines = 0;
    auto recs = read_file(f.path, &lines);
    REQUIRE(recs.size() == 80000);
    CHECK(lines == 80000);
    CHECK(recs[39999].value == 39999);
    CHECK(recs[40000].pid == 2);
  }
  SECTION("in memory too (recognised by magic, not by name)") {
    auto recs = parse_all(zstd_frame(kSmall));
    CHECK(recs.size() == 6);
  }
  SECTION("corrupt and truncated data") {
    std::string z = zstd_frame(kSmall);
    TempFile bad;
    bad.write(z.substr(0, z.size() - 3));
    REQUIRE_THROWS_WITH(read_file(bad.path), bad.path + ": corrupt zstd data (unexpected end of file)");
    std::string corrupt = z;
    corrupt[4] = static_cast<char>(0xff);  // frame header descriptor
    corrupt[5] = static_cast<char>(0xff);
    bad.write(corrupt);
    REQUIRE_THROWS_WITH(read_file(bad.path), Catch::Matchers::StartsWith(bad.path + ": corrupt zstd data ("));
  }
}

TEST_CASE("trace: standard input as '-'", "[trace_reader]") {
  // A pipe on fd 0: not seekable, size unknown; gzip is recognised from the bytes read.
  TempFile f;
  f.write_gzip(kSmall);
  std::string gz = f.read();
  int p[2];
  REQUIRE(pipe(p) == 0);
  REQUIRE(write(p[1], gz.data(), gz.size()) == static_cast<ssize_t>(gz.size()));
  close(p[1]);
  int saved = dup(0);
  REQUIRE(saved >= 0);
  REQUIRE(dup2(p[0], 0) == 0);
  close(p[0]);
  std::vector<TraceRecord> recs;
  uint64_t size = 1;
  std::string name;
  try {
    TraceReader r("-");
    TraceRecord rec;
    while (r.next(rec)) recs.push_back(rec);
    size = r.input_size();
    name = r.name();
  } catch (...) {
    dup2(saved, 0);
    close(saved);
    throw;
  }
  dup2(saved, 0);
  close(saved);
  CHECK(recs.size() == 6);
  CHECK(size == 0);
  CHECK(name == "<stdin>");
}

// Loads and stores take a one-pass fast path when a line starts with its pid
// (trace_reader.cc: parse_access_fast); a leading blank sends the same line
// through the general tokenizer. Both must give the same record, or the same
// error, for well-formed lines and for every kind of malformed one.
TEST_CASE("The load/store fast path parses exactly as the general parser does", "[trace]") {
  const char* lines[] = {
      "1 load 0x10", "1 load 0X1aBcDeF0", "7 store 0x10000008 29085064", "1 load 16", "1\tload\t0x10",
      "1 load 0x10#comment", "1 store 0x10 0x20 # c", "1 load 0x10 size=4", "1 load 0x10 expect=3",
      "1 store 0x10 5 size=1", "1 load 0x10   ", "2147483647 load 0x10", "1 load 0xffffffffffffffff",
      "1 load 0x0000000000000000001",  // 19 hex digits: more than the fast path takes, still a number
      "1 load 18446744073709551615", "1 load 00000000000000000000001",
      // malformed: each must fail the same way on both paths
      "0 load 0x10", "2147483648 load 0x10", "1x load 0x10", "1 load", "1 load#", "1 loadx 0x10", "1 stores 0x10 1",
      "1 store 0x10", "1 load 0x", "1 load 0xg", "1 load 12a", "1 load 0x1_0", "1 load 0x10000000000000000",
      "1 load 18446744073709551616", "1 store 0x10 0x", "1 load 0x10 size=3", "1 load 0x10 bogus",
      "1 store 0x10 1 expect=1",
      // expect= alone takes the fast path too; any other ending the general one
      "1 load 0x10 expect=0xffffffffffffffff", "1 load 0x10 expect=7 # c", "1 load 0x10\texpect=7\t",
      "1 load 0x10 expect=7 size=4", "1 load 0x10 expect=7 expect=7", "1 load 0x10 expect=", "1 load 0x10 expect=x",
      "1 load 0x10 expect=0x10000000000000000", "1 load 0x10 expect=18446744073709551616",
      "1 load 0x10 expect=00000000000000000000007", "1 load 0x10 expect=7x", "1 load 0x10 expect", "1 load 0x10 expec=7",
      "1 load 0x10 size=1 expect=256", "1 load 0x10 expect=256 size=1"};
  for (const char* line : lines) {
    INFO(line);
    const std::string fast = std::string(line) + "\n", general = " " + fast;
    const std::string fast_error = error_of(fast), general_error = error_of(general);
    CHECK(fast_error == general_error);
    if (!fast_error.empty()) continue;
    const TraceRecord a = one(line), b = one(" " + std::string(line));
    CHECK(a.pid == b.pid);
    CHECK(a.op == b.op);
    CHECK(a.va == b.va);
    CHECK(a.value == b.value);
    CHECK(a.size == b.size);
    CHECK(a.has_expect == b.has_expect);
    CHECK(a.expect == b.expect);
  }
  // The fast path's results, stated.
  CHECK(one("1 load 0X1aBcDeF0").va == 0x1abcdef0);
  CHECK(one("7 store 0x10000008 29085064").value == 29085064);
  CHECK(one("1 load 0x0000000000000000001").va == 1);
  CHECK(one("1 load 0x10#comment").va == 0x10);
  CHECK(one("1 load 0x10 expect=3").expect == 3);
  CHECK(one("1 load 0x10 expect=0xffffffffffffffff").expect == ~uint64_t{0});
  CHECK(one("1 load 0x10 expect=7 size=4").size == 4);
}

// The fast path reads a hexadecimal address 8 characters at a time
// (trace_reader.cc: hex_run8). Every length from 1 to 18 digits, both
// cases, and a character after the digits from each edge of the digit and
// letter ranges (and bytes with the high bit set, and control characters
// that look like digits once 0x20 is or-ed in) must parse as the general
// parser does, and well-formed numbers to their value.
TEST_CASE("The fast path's hexadecimal scanner agrees with the general parser", "[trace]") {
  const char digits[] = "0123456789abcdefABCDEF";
  const std::string enders[] = {"",   " ",  "\t", "#",    "/",    ":",    "@",    "G",    "`",   "g",   "_",
                                "x",  "\x10", "\x13", "\x19", "\x90", "\xb0", "\xb9", "\xc1", "\xe6", "\xff", "0"};
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  unsigned compared = 0;
  for (unsigned n = 1; n <= 18; ++n) {
    for (const std::string& ender : enders) {
      for (unsigned round = 0; round < 4; ++round) {
        std::string num;
        uint64_t want = 0;
        for (unsigned i = 0; i < n; ++i) {
          const char c = digits[next() % (sizeof digits - 1)];
          num += c;
          const unsigned d = c <= '9' ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
          want = want << 4 | d;
        }
        // An invalid character inside the digits, in some rounds.
        std::string bad_inside;
        if (round == 3 && n > 1) {
          bad_inside = num;
          bad_inside[next() % n] = "g/:@`G_"[next() % 7];
        }
        for (const std::string& body : {num, bad_inside}) {
          if (body.empty()) continue;
          const std::string line = "1 load 0x" + body + ender;
          INFO(line);
          const std::string fast = line + "\n", general = " " + fast;
          const std::string fast_error = error_of(fast), general_error = error_of(general);
          CHECK(fast_error == general_error);
          ++compared;
          if (!fast_error.empty()) continue;
          const TraceRecord a = one(line), b = one(" " + line);
          CHECK(a.va == b.va);
          if (&body == &num && n <= 16 && ender != "0") CHECK(a.va == want);
        }
      }
    }
  }
  CHECK(compared > 1500);
  // Stated: the edges of the two halves.
  CHECK(one("1 load 0x12345678").va == 0x12345678);
  CHECK(one("1 load 0x123456789").va == 0x123456789);
  CHECK(one("1 load 0xFEDCBA9876543210").va == 0xfedcba9876543210ull);
  CHECK(one("1 load 0x00000000000000001").va == 1);  // 17 digits: the general parser's
}

}  // namespace mmusim::test
