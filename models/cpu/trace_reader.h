// Streaming reader of trace v1: the line parser over the input layer
// (trace_input.h: plain, gzip or zstd by magic bytes; "-" is stdin). A binary
// trace (docs/binary-trace-format.md), recognised by its magic bytes after
// decompression, is handed to a BinaryTraceReader.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cpu/binary_trace_reader.h"
#include "cpu/trace_input.h"
#include "cpu/trace_record.h"

namespace mmusim {

class TraceReader {
 public:
  // Opens `path` ("-" = standard input). Throws UserError("PATH: reason") if it cannot.
  explicit TraceReader(const std::string& path);
  // For tests: reads a trace held in memory, named `name` in messages.
  static TraceReader from_string(std::string text, std::string name = "<string>");
  ~TraceReader();
  TraceReader(TraceReader&&) noexcept;

  // Decodes the next record; false at end of trace. Throws UserError with
  // "FILE:LINE: message" on a malformed line. Never allocates per line.
  // Inline, so that the player's loop holds a binary trace's common case.
  bool next(TraceRecord& rec) { return binary_ ? binary_->next(rec) : next_text(rec); }

  const std::string& name() const { return name_; }
  // Every line, blank and comment too (of a binary trace: of its text form).
  uint64_t lines_read() const;
  uint64_t bytes_consumed() const;  // of the decompressed stream
  bool binary() const { return binary_ != nullptr; }
  // Size of the input file as stored (the compressed size for gzip/zstd) if it is a
  // regular file (also for "-" redirected from a file); 0 if unknown (pipe, terminal).
  uint64_t input_size() const { return input_size_; }
  // Bytes of the input file as stored that have been used so far: the compressed bytes
  // fed to the decompressor for gzip/zstd, bytes_consumed() for plain text. Progress is
  // input_bytes_consumed() / input_size() (when input_size() != 0).
  uint64_t input_bytes_consumed() const;
  // "FILE:LINE" (no trailing colon or space) for `line` of this trace, to prefix the
  // message of a semantic error found later: where(rec.line) + ": misaligned mmap".
  // FILE is name(): the path as given, "<stdin>" for "-", or from_string's name.
  // A binary trace says "FILE: record R (line L)" (binary_trace_reader.h).
  std::string where(uint64_t line) const;

  // A line longer than this (without its newline) is an error ("line too long").
  static constexpr size_t kMaxLine = 64 * 1024;

 private:
  explicit TraceReader(TraceInput in);
  static constexpr size_t kBufSize = 1024 * 1024;  // line buffer, fixed (>= 2 * kMaxLine),
  // then 1 byte for a sentinel and kSlack bytes that the parser may read
  // past the sentinel, 8 bytes at a time (always initialised, never used)
  static constexpr size_t kSlack = 32;

  bool next_text(TraceRecord& rec);
  bool fill();
  // Decodes one line (newline and CR removed; text.data()[text.size()] must be a '\n'
  // sentinel). Returns false for a blank or comment-only line. Throws
  // UserError("FILE:LINE: ...") on a malformed one.
  bool parse_line(std::string_view text, TraceRecord& rec);

  std::string name_;
  std::unique_ptr<ByteSource> src_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
  size_t scanned_ = 0;  // bytes from begin_ already searched for a newline
  bool eof_ = false;
  bool plain_ = true;   // input is not compressed: raw bytes == decompressed bytes
  uint64_t line_ = 0;
  uint64_t consumed_ = 0;
  uint64_t input_size_ = 0;
  std::unique_ptr<BinaryTraceReader> binary_;  // set when the input is a binary trace
};

}  // namespace mmusim
