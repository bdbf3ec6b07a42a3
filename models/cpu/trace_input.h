// The input layer of the trace reader (spec/trace-format.md): the bytes of a
// trace as text, from a file, standard input or memory, plain or compressed.
//
// A RawInput (file descriptor or memory) gives the bytes as stored; a
// ByteSource turns them into text: a copy for plain text, zlib inflate for
// gzip, ZSTD_decompressStream for zstd, chosen by the first bytes (read, never
// seeked: standard input may be a pipe), never by the name. TraceReader
// (trace_reader.h) cuts the text into lines and parses them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mmusim {

// A source of decompressed bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into buf; returns 0 at end of input. Throws UserError on I/O or
  // decompression errors.
  virtual size_t read(char* buf, size_t n) = 0;
  // Bytes of the underlying input (the compressed file for gzip/zstd) that have been
  // consumed so far, for progress against TraceInput::size. 0 if unknown.
  virtual uint64_t raw_consumed() const { return 0; }
};

// An opened trace: its text, and what is known of the input as stored.
struct TraceInput {
  std::unique_ptr<ByteSource> text;
  std::string name;   // for messages: the path as given, "<stdin>" for "-"
  uint64_t size = 0;  // of the input as stored (compressed for gzip/zstd) if it is a
                      // regular file (also "-" redirected from one); 0 if unknown
  bool plain = true;  // not compressed: the text's bytes are the input's bytes
};

// Opens `path` ("-" = standard input) and recognises its format. Throws
// UserError("PATH: reason") if it cannot be read or is compressed in a format
// other than gzip and zstd.
TraceInput open_trace_input(const std::string& path);
// A trace held in memory (for tests), named `name` in messages.
TraceInput trace_input_from_string(std::string data, std::string name);

}  // namespace mmusim
