// Copies the bytes of one load or store (1 to 8; fewer where an access is
// split at a page boundary). std::memcpy with a length known only at run time
// is a library call, which cost more than the rest of a TLB-hit access's data
// movement; one fixed-size copy per access size compiles to a single move.
#pragma once
#include <cstddef>
#include <cstring>

namespace mmusim {

// Always inlined: a call would cost as much again as the copy.
[[gnu::always_inline]] inline void copy_access_bytes(void* dst, const void* src, size_t len) {
  if (len == 8) {  // most accesses: tested first, no jump table
    std::memcpy(dst, src, 8);
    return;
  }
  switch (len) {
    case 4: std::memcpy(dst, src, 4); return;
    case 2: std::memcpy(dst, src, 2); return;
    case 1: std::memcpy(dst, src, 1); return;
    default: std::memcpy(dst, src, len); return;
  }
}

}  // namespace mmusim
