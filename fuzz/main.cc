// The libFuzzer entry point of one target, chosen at build time
// (MMUSIM_FUZZ_TARGET, see fuzz/CMakeLists.txt).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mmusim::fuzz::MMUSIM_FUZZ_TARGET(data, size);
  return 0;
}
