// The binary trace reader; see binary_trace_reader.h and
// docs/binary-trace-format.md.
#include "cpu/binary_trace_reader.h"

#include <cstring>
#include <string>

#include "common/error.h"
#include "cpu/binary_trace_format.h"

namespace mmusim {

using namespace binary_trace;

namespace {

constexpr uint64_t kMaxPid = 2147483647;  // 2^31 - 1, as in text traces
constexpr uint64_t kMaxCpu = 1u << 20;       // as in text traces; the kernel checks the range

}  // namespace

#define MMUSIM_COLD __attribute__((cold, noinline))

bool BinaryTraceReader::has_magic(const char* data, size_t n) {
  return n >= kMagicSize && std::memcmp(data, kMagic, kMagicSize) == 0;
}

BinaryTraceReader::BinaryTraceReader(std::string name, ByteSource& src, const char* prefix, size_t n)
    : name_(std::move(name)), src_(src), buf_(new uint8_t[kBufSize + kMaxRecord]) {
  std::memcpy(buf_.get(), prefix, n);
  p_ = buf_.get();
  end_ = p_ + n;
  refill();
  if (static_cast<size_t>(end_ - p_) < kHeaderSize) fail("truncated header");
  const uint8_t major = p_[kMagicSize], minor = p_[kMagicSize + 1];
  if (major != kVersionMajor || minor > kVersionMinor)
    fail("binary trace version " + std::to_string(major) + "." + std::to_string(minor) +
         " is not supported (this mmusim reads " + std::to_string(kVersionMajor) + ".0 to " +
         std::to_string(kVersionMajor) + "." + std::to_string(kVersionMinor) + ")");
  if (p_[kMagicSize + 2] != 0 || p_[kMagicSize + 3] != 0) fail("reserved header bytes are not zero");
  p_ += kHeaderSize;
}

std::string BinaryTraceReader::where(uint64_t line) const {
  if (line == line_ && record_ > 0)
    return name_ + ": record " + std::to_string(record_) + " (line " + std::to_string(line) + ")";
  return name_ + ": line " + std::to_string(line);
}

MMUSIM_COLD void BinaryTraceReader::fail(const std::string& msg) const {
  throw UserError(name_ + ": record " + std::to_string(record_) + " (byte " + std::to_string(bytes_consumed()) +
                  "): " + msg);
}

MMUSIM_COLD void BinaryTraceReader::truncated() const { fail("truncated record (the input ends inside it)"); }

void BinaryTraceReader::refill() {
  uint8_t* b = buf_.get();
  const size_t left = static_cast<size_t>(end_ - p_);
  std::memmove(b, p_, left);
  offset_ += static_cast<uint64_t>(p_ - b);
  p_ = b;
  uint8_t* e = b + left;
  while (!eof_ && static_cast<size_t>(e - p_) < kMaxRecord) {
    const size_t k = src_.read(reinterpret_cast<char*>(e), kBufSize - static_cast<size_t>(e - b));
    if (k == 0) {
      eof_ = true;
      std::memset(e, 0, kMaxRecord);  // a record cut short reads zeros, then fails the end check
    }
    e += k;
  }
  end_ = e;
  set_fast_end();
}

void BinaryTraceReader::set_fast_end() {
  const uint8_t* b = buf_.get();
  fast_end_ = task_ != 0 && static_cast<size_t>(end_ - b) >= kMaxRecord ? end_ - kMaxRecord + 1 : b;
}

// Unsigned LEB128, at most 10 bytes. Reads past end_ only into the zeros after it.
// One to three bytes decode inline (short_varint, as next() does).
[[gnu::always_inline]] inline uint64_t BinaryTraceReader::varint(const uint8_t*& p) {
  uint64_t v;
  return short_varint(p, v) ? v : varint_long(p);
}

uint64_t BinaryTraceReader::varint_long(const uint8_t*& p) {
  uint64_t b = *p++;
  uint64_t v = b & 0x7f;
  for (unsigned shift = 7;; shift += 7) {
    b = *p++;
    if (shift == 63) {
      if (b > 1) fail("number does not fit in 64 bits");
      return v | (b << 63);
    }
    v |= (b & 0x7f) << shift;
    if (b < 0x80) return v;
  }
}

bool BinaryTraceReader::next_record(TraceRecord& rec) {
  if (done_) return false;
  for (;;) {
    if (static_cast<size_t>(end_ - p_) < kMaxRecord && !eof_) refill();
    ++record_;
    if (p_ >= end_) fail("the trace ends without an END record (truncated?)");
    const uint8_t* p = p_;
    const uint8_t op = *p++;
    // Each record is decoded whole, then checked against the end of the input
    // (a record cut short has read zeros), then its values are checked.
    if (op >= kLoad && op < kTask) {  // a load or store (next() decodes most inline)
      const uint64_t delta = varint(p);
      const uint64_t v = op >= kLoadExpect ? varint(p) : 0;
      if (p > end_) truncated();
      if (task_ == 0) fail("an access before the first TASK record");
      if (!expect_fits(op, v)) {
        const unsigned size = 1u << (op & 3);
        fail("expect value " + std::to_string(v) + " does not fit in " + std::to_string(size) +
             (size == 1 ? " byte" : " bytes"));
      }
      set_access(rec, op, delta, v);
      p_ = p;
      return true;
    }
    uint64_t a = 0, b = 0;  // the record's numbers
    uint8_t f = 0;          // flags
    switch (op) {
      case kTask: case kGap: case kEnd: case kMigrate: case kCompute:
        a = varint(p);
        break;
      case kMunmap: case kFork: case kThread:
        a = varint(p);
        b = varint(p);
        break;
      case kMmap: case kMprotect:
        a = varint(p);
        b = varint(p);
        f = *p++;
        break;
      case kExec: case kExit:
        break;
      default: {
        static const char hex[] = "0123456789abcdef";
        fail(std::string("unknown opcode 0x") + hex[op >> 4] + hex[op & 15]);
      }
    }
    if (p > end_) truncated();
    switch (op) {
      case kTask:
        if (a < 1 || a > kMaxPid) fail("task id must be 1 to 2147483647 (got " + std::to_string(a) + ")");
        task_ = static_cast<Pid>(a);
        set_fast_end();
        p_ = p;
        continue;
      case kGap:
        if (a == 0) fail("GAP record of no lines");
        line_ += a;
        p_ = p;
        continue;
      case kEnd:
        return finish(p, a);
      default:
        break;
    }
    if (task_ == 0) fail("a record before the first TASK record");
    rec = TraceRecord{};
    rec.pid = task_;
    switch (op) {
      case kMmap:
      case kMprotect: {
        rec.op = op == kMmap ? TraceOp::Mmap : TraceOp::Mprotect;
        rec.va = a;
        rec.len = b;
        const uint8_t allowed = op == kMmap ? (kFlagRead | kFlagWrite | kFlagExec | kFlagShared | kFlagHuge)
                                            : (kFlagRead | kFlagWrite | kFlagExec);
        if (f & ~allowed) fail("unknown flags " + std::to_string(f & ~allowed) + " for " + to_string(rec.op));
        if (!(f & kFlagRead)) fail("permissions without r (expected r, rw, rx or rwx)");
        // Without huge-page mappings in TraceRecord, rejected as the text reader rejects `huge`.
        if ((f & kFlagHuge) && !has_huge(&rec)) fail("mmap flag 'huge' is not supported by this mmusim");
        rec.perms = Perms{true, (f & kFlagWrite) != 0, (f & kFlagExec) != 0};
        rec.shared = (f & kFlagShared) != 0;
        set_huge(rec, (f & kFlagHuge) != 0);
        break;
      }
      case kMunmap:
        rec.op = TraceOp::Munmap;
        rec.va = a;
        rec.len = b;
        break;
      case kFork:
      case kThread:
        rec.op = op == kFork ? TraceOp::Fork : TraceOp::Thread;
        if (a < 1 || a > kMaxPid)
          fail(std::string(op == kFork ? "child pid" : "task id") + " must be 1 to 2147483647 (got " +
               std::to_string(a) + ")");
        if (b > kMaxCpu + 1) fail("CPU number too large (got " + std::to_string(b - 1) + ")");
        rec.child = static_cast<Pid>(a);
        rec.cpu = static_cast<int32_t>(b) - 1;
        break;
      case kMigrate:
        rec.op = TraceOp::Migrate;
        if (a > kMaxCpu) fail("CPU number too large (got " + std::to_string(a) + ")");
        rec.cpu = static_cast<int32_t>(a);
        break;
      case kExec: rec.op = TraceOp::Exec; break;
      case kExit: rec.op = TraceOp::Exit; break;
      default:  // kCompute
        rec.op = TraceOp::Compute;
        rec.cycles = a;
        break;
    }
    p_ = p;
    rec.line = ++line_;
    return true;
  }
}

bool BinaryTraceReader::finish(const uint8_t* p, uint64_t count) {
  if (count != record_ - 1)
    fail("the END record counts " + std::to_string(count) + " records before it, the trace has " +
         std::to_string(record_ - 1));
  p_ = p;
  if (p_ == end_ && !eof_) refill();
  if (p_ != end_) {
    ++record_;
    fail("data after the END record");
  }
  done_ = true;
  return false;
}

}  // namespace mmusim
