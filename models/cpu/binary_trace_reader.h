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
  bool next(TraceRecord& rec);

  uint64_t records_read() const { return record_; }  // records decoded, any kind
  uint64_t lines_read() const { return line_; }      // lines of the text form so far
  uint64_t bytes_consumed() const { return offset_ + static_cast<uint64_t>(p_ - buf_.get()); }
  // "FILE: record R (line L)" for the current record's line, "FILE: line L" for another.
  std::string where(uint64_t line) const;

 private:
  static constexpr size_t kBufSize = 256 * 1024;

  void refill();  // keeps kMaxRecord bytes from p_ in the buffer, zeros past the end
  // The END record (its count read, p after it): checks the count and that nothing follows.
  bool finish(const uint8_t* p, uint64_t count);
  uint64_t varint(const uint8_t*& p);       // one- and two-byte numbers inline
  uint64_t varint_long(const uint8_t*& p);  // the rest, and the overflow check
  [[noreturn]] void fail(const std::string& msg) const;
  [[noreturn]] void truncated() const;

  std::string name_;
  ByteSource& src_;
  std::unique_ptr<uint8_t[]> buf_;
  const uint8_t* p_ = nullptr;    // next record
  const uint8_t* end_ = nullptr;  // end of the bytes read
  uint64_t offset_ = 0;           // stream offset of buf_[0]
  bool eof_ = false, done_ = false;
  uint64_t record_ = 0;           // number of the record being (or last) decoded
  uint64_t line_ = 0;
  Pid task_ = 0;                  // 0: no TASK record yet
  uint64_t prev_va_ = 0;
};

}  // namespace mmusim
