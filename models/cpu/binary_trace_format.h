// The binary trace format, version 1.0 (docs/binary-trace-format.md): the
// constants shared by its reader (binary_trace_reader.h), its writer
// (trace_writer.h) and, in Python, scripts/mmusim_traces.py.
//
// A header (magic, version), then records: one opcode byte and its arguments,
// unsigned LEB128 varints. Loads and stores carry the difference of their
// address to the previous access's (zigzag), and the task of every record
// that needs one is the last TASK record's, so a TLB-hit trace costs two to
// seven bytes an access. An END record closes the trace.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

namespace mmusim::binary_trace {

// 0x89 (not text, not a pid), "MMUT", CR LF, Ctrl-Z: a transfer that mangles
// line ends or stops at Ctrl-Z breaks the magic, as in PNG's.
constexpr char kMagic[8] = {'\x89', 'M', 'M', 'U', 'T', '\r', '\n', '\x1a'};
constexpr size_t kMagicSize = sizeof kMagic;
constexpr size_t kHeaderSize = 12;  // magic, major, minor, 2 reserved bytes (0)
constexpr uint8_t kVersionMajor = 1;
constexpr uint8_t kVersionMinor = 0;

// Opcodes. Accesses: 0x04 to 0x0f, kind in bits 3-2, log2(size) in bits 1-0.
enum : uint8_t {
  kLoad = 0x04,        // + log2(size); va delta
  kLoadExpect = 0x08,  // + log2(size); va delta, expected value
  kStore = 0x0c,       // + log2(size); va delta, value
  kTask = 0x10,        // task id: the task of the records that follow
  kMmap = 0x11,        // va, len, flags
  kMunmap = 0x12,      // va, len
  kMprotect = 0x13,    // va, len, flags (permissions only)
  kFork = 0x14,        // child, cpu + 1 (0: no cpu=)
  kThread = 0x15,      // new task, cpu + 1 (0: no cpu=)
  kMigrate = 0x16,     // cpu
  kExec = 0x17,
  kExit = 0x18,
  kCompute = 0x19,     // cycles
  kGap = 0x1e,         // n >= 1: n blank or comment-only lines of the text form
  kEnd = 0x1f,         // number of records before it (the header not counted)
};

// Flags byte of mmap and mprotect.
enum : uint8_t {
  kFlagRead = 0x01,  // required
  kFlagWrite = 0x02,
  kFlagExec = 0x04,
  kFlagShared = 0x08,  // mmap only
  kFlagHuge = 0x10,    // mmap only (trace format 1.1 huge pages)
};

// The longest record: an opcode and two varints of at most 10 bytes each, and
// a flags byte. The reader keeps this many bytes ahead (or zeros past the end).
constexpr size_t kMaxRecord = 32;

// mmap's `huge` flag (trace format 1.1) lives in TraceRecord::huge once the
// kernel has huge-page mappings; until then a record has no such member and
// the binary reader rejects the flag, as the text reader rejects `huge`.
template <class R>
constexpr auto has_huge(const R*) -> decltype(std::declval<R&>().huge, true) { return true; }
constexpr bool has_huge(const void*) { return false; }
template <class R>
bool get_huge(const R& r) {
  if constexpr (has_huge(static_cast<const R*>(nullptr))) return r.huge;
  else return false;
}
template <class R>
void set_huge(R& r, bool huge) {
  if constexpr (has_huge(static_cast<const R*>(nullptr))) r.huge = huge;
  else (void)r, (void)huge;
}

inline uint64_t zigzag(uint64_t delta) { return (delta << 1) ^ (0 - (delta >> 63)); }
inline uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

}  // namespace mmusim::binary_trace
