// Writers of a trace from its records: the text form (spec/trace-format.md,
// one canonical line per record) and the binary form
// (docs/binary-trace-format.md). `mmusim convert` uses them; each keeps every
// record at its line (blank and comment lines become empty lines in text, GAP
// records in binary), so that line numbers survive a round trip.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>

#include "common/types.h"
#include "cpu/trace_record.h"

namespace mmusim {

class TraceWriter {
 public:
  explicit TraceWriter(std::ostream& out);
  virtual ~TraceWriter() = default;
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // `lines` blank or comment-only lines before the next record (or the end).
  virtual void gap(uint64_t lines) = 0;
  virtual void record(const TraceRecord& rec) = 0;
  // Ends the trace and flushes it to the stream.
  virtual void finish() = 0;

 protected:
  void flush_if_full() {
    if (buf_.size() >= kFlushAt) flush();
  }
  void flush();

  static constexpr size_t kFlushAt = 64 * 1024;
  std::ostream& out_;
  std::string buf_;
};

// One line per record: "<pid> load 0x1000 size=4 expect=7"; addresses in
// hexadecimal, lengths with the largest exact K/M/G suffix, other numbers in
// decimal, size= only when not 8.
class TextTraceWriter final : public TraceWriter {
 public:
  using TraceWriter::TraceWriter;
  void gap(uint64_t lines) override;
  void record(const TraceRecord& rec) override;
  void finish() override;
};

// The binary form: the header first, END at finish().
class BinaryTraceWriter final : public TraceWriter {
 public:
  explicit BinaryTraceWriter(std::ostream& out);
  void gap(uint64_t lines) override;
  void record(const TraceRecord& rec) override;
  void finish() override;

 private:
  void put_varint(uint64_t v);
  void start_record(uint8_t op);  // pending GAP first; counts the record

  uint64_t pending_gap_ = 0;
  uint64_t records_ = 0;
  Pid task_ = 0;
  uint64_t prev_va_ = 0;
};

}  // namespace mmusim
