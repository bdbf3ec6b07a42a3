// Fuzz target: the trace reader (models/cpu/trace_input.*, trace_reader.*).
#include <string>

#include "common/error.h"
#include "cpu/trace_reader.h"
#include "targets.h"

namespace mmusim::fuzz {

void trace(const uint8_t* data, size_t size) {
  try {
    TraceReader r = TraceReader::from_string(std::string(reinterpret_cast<const char*>(data), size),
                                             "fuzz.trace");
    TraceRecord rec;
    // A few compressed bytes can stand for gigabytes of text: reading them all
    // is correct (the reader streams) but would only report a slow input.
    constexpr uint64_t kMaxText = 2 << 20;  // twice the reader's line buffer
    while (r.bytes_consumed() < kMaxText && r.next(rec)) {
    }
  } catch (const UserError&) {
  }
}

}  // namespace mmusim::fuzz
