// The binary trace format (docs/binary-trace-format.md): round trips through
// the writers, the reader's records and line numbers, and every kind of bad
// input named by its record number. Whole files through `mmusim convert` and
// the Python writer: scripts/tests/test_binary_trace.py.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <zlib.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "cpu/binary_trace_format.h"
#include "cpu/trace_reader.h"
#include "cpu/trace_writer.h"

namespace mmusim::test {

using namespace std::string_literals;

namespace {

struct Read {
  std::vector<TraceRecord> recs;
  uint64_t lines = 0;
  bool binary = false;
};

Read read_all(const std::string& data, const std::string& name = "t.btrace") {
  auto r = TraceReader::from_string(data, name);
  Read out;
  TraceRecord rec;
  while (r.next(rec)) out.recs.push_back(rec);
  out.lines = r.lines_read();
  out.binary = r.binary();
  return out;
}

// The trace in `data` (text or binary) written by `w`, as `mmusim convert` does.
template <class Writer>
std::string convert(const std::string& data) {
  auto r = TraceReader::from_string(data, "in");
  std::ostringstream os;
  Writer w(os);
  TraceRecord rec;
  uint64_t last = 0;
  while (r.next(rec)) {
    if (rec.line > last + 1) w.gap(rec.line - last - 1);
    w.record(rec);
    last = rec.line;
  }
  if (r.lines_read() > last) w.gap(r.lines_read() - last);
  w.finish();
  return os.str();
}
std::string to_binary(const std::string& data) { return convert<BinaryTraceWriter>(data); }
std::string to_text(const std::string& data) { return convert<TextTraceWriter>(data); }

bool same(const TraceRecord& a, const TraceRecord& b) {
  return a.line == b.line && a.pid == b.pid && a.op == b.op && a.va == b.va && a.len == b.len &&
         a.value == b.value && a.cycles == b.cycles && a.child == b.child && a.cpu == b.cpu && a.size == b.size &&
         a.perms == b.perms && a.shared == b.shared && a.has_expect == b.has_expect && a.expect == b.expect;
}

std::string error_of(const std::string& data) {
  try {
    read_all(data);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

// Every operation and option of format 1.1 (but `huge`), comments and blank
// lines, addresses going down as well as up, the largest numbers.
const char* kEveryOp =
    "# every operation\n"
    "1 mmap 0x10000 64K rw\n"
    "1 mmap 0x7f0000000 0x3000 rwx shared   # shared\n"
    "1 mmap 0x200000 2M rx\n"
    "\n"
    "1 mmap 0x40000000 1G r\n"
    "1 store 0x10008 0xffffffffffffffff\n"
    "1 store 0x10000 5 size=1\n"
    "1 load 0x10000 size=1 expect=5\n"
    "1 load 0x10002 size=2\n"
    "1 load 0x10004 size=4 expect=0\n"
    "1 load 0x10008 expect=18446744073709551615\n"
    "1 load 0x200000\n"
    "1 load 0x10ffe\n"
    "1 store 0xffffffffffffffff 1 size=1\n"
    "1 load 0x0\n"
    "1 mprotect 0x10000 4K r\n"
    "1 munmap 0x7f0000000 12K\n"
    "1 fork 2 cpu=1\n"
    "1 fork 3\n"
    "2 thread 4\n"
    "2 thread 2147483647 cpu=0\n"
    "4 migrate 1\n"
    "4 compute 18446744073709551615\n"
    "3 exec\n"
    "3 exit\n"
    "\t\n"
    "# the end\n";

std::string header() {
  std::string h(binary_trace::kMagic, binary_trace::kMagicSize);
  h += '\x01';
  h += '\x00';
  h.append(2, '\0');
  return h;
}

}  // namespace

TEST_CASE("binary trace: text -> binary -> text keeps every record at its line", "[binary_trace]") {
  const Read text = read_all(kEveryOp, "t.trace");
  REQUIRE_FALSE(text.binary);
  REQUIRE(text.recs.size() == 24);
  REQUIRE(text.lines == 28);

  const std::string bin = to_binary(kEveryOp);
  REQUIRE(bin.compare(0, 8, "\x89MMUT\r\n\x1a") == 0);
  const Read b = read_all(bin);
  REQUIRE(b.binary);
  REQUIRE(b.lines == text.lines);
  REQUIRE(b.recs.size() == text.recs.size());
  for (size_t i = 0; i < b.recs.size(); ++i) {
    INFO("record " << i << ", line " << text.recs[i].line);
    CHECK(same(b.recs[i], text.recs[i]));
  }

  // The canonical text: every record at its line, comments and blanks as empty lines.
  const std::string back = to_text(bin);
  CHECK(back ==
        "\n"
        "1 mmap 0x10000 64K rw\n"
        "1 mmap 0x7f0000000 12K rwx shared\n"
        "1 mmap 0x200000 2M rx\n"
        "\n"
        "1 mmap 0x40000000 1G r\n"
        "1 store 0x10008 18446744073709551615\n"
        "1 store 0x10000 5 size=1\n"
        "1 load 0x10000 size=1 expect=5\n"
        "1 load 0x10002 size=2\n"
        "1 load 0x10004 size=4 expect=0\n"
        "1 load 0x10008 expect=18446744073709551615\n"
        "1 load 0x200000\n"
        "1 load 0x10ffe\n"
        "1 store 0xffffffffffffffff 1 size=1\n"
        "1 load 0x0\n"
        "1 mprotect 0x10000 4K r\n"
        "1 munmap 0x7f0000000 12K\n"
        "1 fork 2 cpu=1\n"
        "1 fork 3\n"
        "2 thread 4\n"
        "2 thread 2147483647 cpu=0\n"
        "4 migrate 1\n"
        "4 compute 18446744073709551615\n"
        "3 exec\n"
        "3 exit\n"
        "\n"
        "\n");
  // Binary is canonical: the text written back converts to the same bytes.
  CHECK(to_binary(back) == bin);
  CHECK(to_text(back) == back);
  // binary -> binary copies.
  CHECK(to_binary(bin) == bin);
}

// The reader decodes most accesses inline (an address delta of up to three
// bytes, the whole record in its buffer) and the rest, and every record near
// the end of its 256 KiB buffer, in full: over a trace of several buffers,
// with deltas and values of every length, both must give the text's records.
TEST_CASE("binary trace: a long trace of every access form reads back as its text", "[binary_trace]") {
  std::string text = "1 mmap 0x10000 64K rw\n";
  uint64_t x = 88172645463325252ull;  // xorshift64
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 120000; ++i) {
    const uint64_t r = next();
    const unsigned size = 1u << (r & 3);
    // Address deltas of one to nine bytes, values of one to ten.
    const uint64_t span = uint64_t{1} << (4 * ((r >> 2) % 16));
    const uint64_t va = 0x10000 + (next() % span);
    const uint64_t value = next() >> (8 * ((r >> 6) % 8));
    const std::string sz = size == 8 ? "" : " size=" + std::to_string(size);
    const uint64_t fits = size == 8 ? value : value & ((uint64_t{1} << (8 * size)) - 1);
    switch ((r >> 9) % 3) {
      case 0: text += fmt::format("1 load {:#x}{}\n", va, sz); break;
      case 1: text += fmt::format("1 load {:#x}{} expect={}\n", va, sz, fits); break;
      default: text += fmt::format("1 store {:#x} {}{}\n", va, fits, sz); break;
    }
  }
  const Read t = read_all(text, "t.trace");
  const std::string bin = to_binary(text);
  REQUIRE(bin.size() > 3 * 256 * 1024);  // several buffers
  const Read b = read_all(bin);
  REQUIRE(b.binary);
  REQUIRE(b.recs.size() == t.recs.size());
  size_t differ = 0;
  for (size_t i = 0; i < b.recs.size(); ++i) differ += !same(b.recs[i], t.recs[i]);
  CHECK(differ == 0);
  CHECK(to_text(bin) == to_text(text));
}

TEST_CASE("binary trace: the encoding of a small trace, byte by byte", "[binary_trace]") {
  const std::string bin = to_binary("1 mmap 0x10000 4K rw\n# x\n1 store 0x10008 5\n1 load 0x10000 expect=5\n"
                                    "2 load 0x10000 size=4\n");
  const std::string want = header() +
                           "\x10\x01"                  // TASK 1
                           "\x11\x80\x80\x04\x80\x20\x03"  // mmap 0x10000 4096 rw
                           "\x1e\x01"                  // GAP 1
                           "\x0f\x90\x80\x08\x05"      // store size 8: zigzag(0x10008) = 0x20010; 5
                           "\x0b\x0f\x05"              // load+expect size 8: zigzag(-8) = 15; 5
                           "\x10\x02"                  // TASK 2
                           "\x06\x00"                  // load size 4: delta 0
                           "\x1f\x07"s;                // END: 7 records before it
  CHECK(bin == want);
}

TEST_CASE("binary trace: an empty trace, comments only, and gzip around binary", "[binary_trace]") {
  const std::string empty = to_binary("");
  CHECK(empty == header() + "\x1f\x00"s);
  CHECK(read_all(empty).recs.empty());
  CHECK(read_all(empty).lines == 0);
  const std::string comments = to_binary("# a\n\n# b\n");
  CHECK(comments == header() + std::string("\x1e\x03\x1f\x01", 4));
  CHECK(read_all(comments).lines == 3);

  // The magic is looked for after decompression.
  const std::string bin = to_binary(kEveryOp);
  uLongf cap = compressBound(bin.size()) + 32;
  std::string gz(cap, '\0');
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bin.data()));
  zs.avail_in = static_cast<uInt>(bin.size());
  zs.next_out = reinterpret_cast<Bytef*>(gz.data());
  zs.avail_out = static_cast<uInt>(cap);
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  const Read r = read_all(gz);
  CHECK(r.binary);
  CHECK(r.recs.size() == 24);
  CHECK(r.lines == 28);
}

TEST_CASE("binary trace: messages name the record and its line", "[binary_trace]") {
  const std::string bin = to_binary("1 mmap 0x10000 4K rw\n\n1 load 0x10000\n");
  auto r = TraceReader::from_string(bin, "x.btrace");
  TraceRecord rec;
  REQUIRE(r.next(rec));
  CHECK(r.where(rec.line) == "x.btrace: record 2 (line 1)");  // TASK is record 1
  REQUIRE(r.next(rec));
  CHECK(rec.line == 3);
  CHECK(r.where(rec.line) == "x.btrace: record 4 (line 3)");  // GAP is record 3
  CHECK(r.where(1) == "x.btrace: line 1");
  CHECK_FALSE(r.next(rec));
}

TEST_CASE("binary trace: errors name the file and the record", "[binary_trace]") {
  const std::string h = header();
  const std::string end1 = std::string("\x1f\x01", 2);
  // Header: record 0.
  CHECK(error_of(h.substr(0, 10)) == "t.btrace: record 0 (byte 0): truncated header");
  std::string v2 = h;
  v2[8] = 2;
  CHECK(error_of(v2 + "\x1f\x00") ==
        "t.btrace: record 0 (byte 0): binary trace version 2.0 is not supported (this mmusim reads 1.0 to 1.0)");
  std::string v11 = h;
  v11[9] = 1;
  CHECK(error_of(v11).find("record 0 (byte 0): binary trace version 1.1 is not supported") != std::string::npos);
  std::string res = h;
  res[11] = 1;
  CHECK(error_of(res) == "t.btrace: record 0 (byte 0): reserved header bytes are not zero");

  // Records: TASK 1 is record 1 at byte 12.
  const std::string t1 = "\x10\x01";
  CHECK(error_of(h + t1 + "\x42" + end1) == "t.btrace: record 2 (byte 14): unknown opcode 0x42");
  CHECK(error_of(h + t1 + std::string("\x00", 1)) == "t.btrace: record 2 (byte 14): unknown opcode 0x00");
  CHECK(error_of(h + "\x07\x00" + end1) == "t.btrace: record 1 (byte 12): an access before the first TASK record");
  // The same with more than a whole record after it in the buffer (the case
  // next() would decode inline, were it not for the missing TASK).
  std::string loads;
  for (int i = 0; i < 64; ++i) loads += std::string("\x07\x00", 2);
  CHECK(error_of(h + loads + end1) == "t.btrace: record 1 (byte 12): an access before the first TASK record");
  CHECK(error_of(h + "\x18" + end1) == "t.btrace: record 1 (byte 12): a record before the first TASK record");
  CHECK(error_of(h + std::string("\x10\x00", 2)) ==
        "t.btrace: record 1 (byte 12): task id must be 1 to 2147483647 (got 0)");
  CHECK(error_of(h + "\x10\x80\x80\x80\x80\x08") ==
        "t.btrace: record 1 (byte 12): task id must be 1 to 2147483647 (got 2147483648)");
  CHECK(error_of(h + t1 + std::string("\x14\x00\x00", 3)) ==
        "t.btrace: record 2 (byte 14): child pid must be 1 to 2147483647 (got 0)");
  CHECK(error_of(h + t1 + "\x16\x81\x80\x40") ==
        "t.btrace: record 2 (byte 14): CPU number too large (got 1048577)");
  CHECK(error_of(h + t1 + "\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02") ==
        "t.btrace: record 2 (byte 14): number does not fit in 64 bits");
  CHECK(error_of(h + t1 + std::string("\x11\x00\x01\x02", 4)) ==
        "t.btrace: record 2 (byte 14): permissions without r (expected r, rw, rx or rwx)");
  CHECK(error_of(h + t1 + std::string("\x13\x00\x01\x09", 4)) ==
        "t.btrace: record 2 (byte 14): unknown flags 8 for mprotect");
  CHECK(error_of(h + t1 + std::string("\x11\x00\x01\x41", 4)) ==
        "t.btrace: record 2 (byte 14): unknown flags 64 for mmap");
  const std::string huge_mmap = h + t1 + std::string("\x11\x00\x01\x11\x1f\x02", 6);
  if (binary_trace::has_huge(static_cast<const TraceRecord*>(nullptr))) {
    // With huge-page mappings, the flag round-trips.
    CHECK(error_of(huge_mmap).empty());
    CHECK(to_text(huge_mmap) == "1 mmap 0x0 1 r huge\n");
    CHECK(to_binary(huge_mmap) == huge_mmap);
  } else {
    CHECK(error_of(huge_mmap) == "t.btrace: record 2 (byte 14): mmap flag 'huge' is not supported by this mmusim");
  }
  CHECK(error_of(h + t1 + std::string("\x08\x00\x80\x02", 4)) ==
        "t.btrace: record 2 (byte 14): expect value 256 does not fit in 1 byte");
  CHECK(error_of(h + t1 + std::string("\x1e\x00", 2)) == "t.btrace: record 2 (byte 14): GAP record of no lines");

  // The end: missing, miscounted, followed by more.
  CHECK(error_of(h + t1 + "\x18") ==
        "t.btrace: record 3 (byte 15): the trace ends without an END record (truncated?)");
  CHECK(error_of(h + t1 + "\x18\x1f\x01") ==
        "t.btrace: record 3 (byte 15): the END record counts 1 records before it, the trace has 2");
  CHECK(error_of(h + t1 + "\x18\x1f\x02\x18") == "t.btrace: record 4 (byte 17): data after the END record");
}

TEST_CASE("binary trace: a trace cut anywhere is an error naming a record, never a crash", "[binary_trace]") {
  const std::string bin = to_binary(kEveryOp);
  for (size_t n = 0; n < bin.size(); ++n) {
    INFO("cut at byte " << n);
    const std::string e = error_of(bin.substr(0, n));
    if (n < binary_trace::kMagicSize) continue;  // not binary: odd text
    REQUIRE(e.rfind("t.btrace: record ", 0) == 0);
    const bool cut_inside = e.find("truncated record (the input ends inside it)") != std::string::npos;
    const bool cut_between = e.find("ends without an END record") != std::string::npos;
    CHECK((cut_inside || cut_between || e.find("truncated header") != std::string::npos));
  }
  // A cut inside the store of record 7 (its opcode at byte 37, 2 varints after it).
  const std::string mid = to_binary("1 mmap 0x10000 4K rw\n1 store 0x10000 300\n");
  CHECK(error_of(mid.substr(0, mid.size() - 3)) ==
        "t.btrace: record 3 (byte 21): truncated record (the input ends inside it)");
}

}  // namespace mmusim::test
