#include "cpu/trace_record.h"

namespace mmusim {

const char* to_string(TraceOp op) {
  switch (op) {
    case TraceOp::Mmap: return "mmap";
    case TraceOp::Munmap: return "munmap";
    case TraceOp::Mprotect: return "mprotect";
    case TraceOp::Load: return "load";
    case TraceOp::Store: return "store";
    case TraceOp::Fork: return "fork";
    case TraceOp::Thread: return "thread";
    case TraceOp::Migrate: return "migrate";
    case TraceOp::Exec: return "exec";
    case TraceOp::Exit: return "exit";
    case TraceOp::Compute: return "compute";
  }
  return "?";
}

}  // namespace mmusim
