// One decoded trace line (spec/trace-format.md). Plain data, no allocation.
#pragma once
#include <cstdint>

#include "common/types.h"

namespace mmusim {

enum class TraceOp : uint8_t { Mmap, Munmap, Mprotect, Load, Store, Fork, Thread, Migrate, Exec, Exit, Compute };

const char* to_string(TraceOp op);

struct TraceRecord {
  uint64_t line = 0;      // 1-based line number in the trace file
  Pid pid = 0;
  TraceOp op = TraceOp::Compute;
  VAddr va = 0;           // mmap/munmap/mprotect/load/store
  uint64_t len = 0;       // mmap/munmap/mprotect length in bytes
  uint64_t value = 0;     // store value (full 64 bits as written)
  uint64_t cycles = 0;    // compute
  Pid child = 0;          // fork: the child; thread: the new task
  int32_t cpu = -1;       // fork/thread cpu=K, migrate <cpu>; -1: not given
  uint8_t size = 8;       // load/store access size: 1, 2, 4 or 8
  Perms perms;            // mmap/mprotect
  bool shared = false;    // mmap ... shared
  bool huge = false;      // mmap ... huge
  bool has_expect = false;
  uint64_t expect = 0;    // load expect=V
};

}  // namespace mmusim
