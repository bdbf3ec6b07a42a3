// Streaming reader of the binary trace format (binary_trace_format.h,
// docs/binary-trace-format.md). TraceReader hands its input over to one when
// the decompressed bytes begin with the binary magic, so gzip- and
// zstd-compressed binary traces are read too.
//
// One fixed buffer, refilled so that a whole record is always in it (or zeros
// past the end of the input): a record is decoded without bounds checks and
// without allocating. An error names the file and the record number
// ("FILE: record N: message"; the header is record 0).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "cpu/binary_trace_format.h"
#include "cpu/trace_input.h"
#include "cpu/trace_record.h"

namespace mmusim {

class BinaryTraceReader {
 public:
  // True if `data` (n bytes) begins with the binary magic.
  static bool has_magic(const char* data, size_t n);

  // Reads the rest of the trace from `src`, after the `n` bytes at `prefix`
  // that were read from it already (they hold at least the magic, or the
  // whole input). Checks the header; throws UserError on a bad one.
  BinaryTraceReader(std::string name, ByteSource& src, const char* prefix, size_t n);

  // The next record that the player executes (a load, mmap, fork, ...); false
  // after the END record. rec.line is the record's line in the text form.
  // Throws UserError("FILE: record N: ...") on a malformed record.
  // Inline for the common record, a load or store whose address delta takes
  // at most three bytes and whose bytes are all in the buffer; every other
  // record, and any that fails a check, is decoded by next_record().
  bool next(TraceRecord& rec) {
    using namespace binary_trace;
    if (!(p_ < fast_end_)) return next_record(rec);
    const uint8_t* p = p_;
    const uint8_t op = *p++;
    if (op < kLoad || op >= kTask) return next_record(rec);
    uint64_t delta, v = 0;
    if (!short_varint(p, delta) || (op >= kLoadExpect && !inline_varint(p, v))) return next_record(rec);
    if (!expect_fits(op, v)) return next_record(rec);  // it says why
    ++record_;
    set_access(rec, op, delta, v);
    p_ = p;
    return true;
  }

  uint64_t records_read() const { return record_; }  // records decoded, any kind
  uint64_t lines_read() const { return line_; }      // lines of the text form so far
  uint64_t bytes_consumed() const { return offset_ + static_cast<uint64_t>(p_ - buf_.get()); }
  // "FILE: record R (line L)" for the current record's line, "FILE: line L" for another.
  std::string where(uint64_t line) const;

 private:
  static constexpr size_t kBufSize = 256 * 1024;

  bool next_record(TraceRecord& rec);  // any record, checked in full
  // A load with expect=: whether the value fits in the access size.
  static bool expect_fits(uint8_t op, uint64_t v) {
    using namespace binary_trace;
    const unsigned size = 1u << (op & 3);
    return op < kLoadExpect || op >= kStore || size == 8 || (v >> (8 * size)) == 0;
  }
  // The load or store `op` (checked) with its address delta and value (a
  // store's, or a load's expect=; 0 for a plain load), as the next line.
  void set_access(TraceRecord& rec, uint8_t op, uint64_t delta, uint64_t v) {
    using namespace binary_trace;
    rec = TraceRecord{};
    prev_va_ += unzigzag(delta);
    rec.va = prev_va_;
    rec.pid = task_;
    rec.size = static_cast<uint8_t>(1u << (op & 3));
    rec.op = op < kStore ? TraceOp::Load : TraceOp::Store;
    if (op < kStore && op >= kLoadExpect) {
      rec.has_expect = true;
      rec.expect = v;
    } else {
      rec.value = v;
    }
    rec.line = ++line_;
  }
  // An unsigned LEB128 of one to three bytes (a hit trace's address deltas,
  // small values): decoded, p moved past it; false if it is longer.
  [[gnu::always_inline]] static bool short_varint(const uint8_t*& p, uint64_t& v) {
    const uint64_t b0 = p[0];
    if (b0 < 0x80) {
      v = b0;
      p += 1;
      return true;
    }
    const uint64_t b1 = p[1];
    if (b1 < 0x80) {
      v = (b0 & 0x7f) | (b1 << 7);
      p += 2;
      return true;
    }
    const uint64_t b2 = p[2];
    if (b2 < 0x80) {
      v = (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
      p += 3;
      return true;
    }
    return false;
  }
  // Any unsigned LEB128 that fits in 64 bits (a store's value, an expect=):
  // decoded, p moved past it; false for one that does not fit.
  [[gnu::always_inline]] static bool inline_varint(const uint8_t*& p, uint64_t& v) {
    uint64_t r = 0;
    for (unsigned i = 0; i < 9; ++i) {
      const uint64_t b = p[i];
      r |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        v = r;
        p += i + 1;
        return true;
      }
    }
    if (p[9] > 1) return false;
    v = r | (uint64_t{p[9]} << 63);
    p += 10;
    return true;
  }
  void refill();  // keeps kMaxRecord bytes from p_ in the buffer, zeros past the end
  void set_fast_end();  // after end_ or task_ changed
  // The END record (its count read, p after it): checks the count and that nothing follows.
  bool finish(const uint8_t* p, uint64_t count);
  uint64_t varint(const uint8_t*& p);       // one- to three-byte numbers inline
  uint64_t varint_long(const uint8_t*& p);  // the rest, and the overflow check
  [[noreturn]] void fail(const std::string& msg) const;
  [[noreturn]] void truncated() const;

  std::string name_;
  ByteSource& src_;
  std::unique_ptr<uint8_t[]> buf_;
  const uint8_t* p_ = nullptr;    // next record
  const uint8_t* end_ = nullptr;  // end of the bytes read
  // next() decodes inline while p_ < fast_end_: a whole record is left before
  // end_ and a TASK record came (one comparison instead of three per record).
  const uint8_t* fast_end_ = nullptr;
  uint64_t offset_ = 0;           // stream offset of buf_[0]
  bool eof_ = false, done_ = false;
  uint64_t record_ = 0;           // number of the record being (or last) decoded
  uint64_t line_ = 0;
  Pid task_ = 0;                  // 0: no TASK record yet
  uint64_t prev_va_ = 0;
};

}  // namespace mmusim
