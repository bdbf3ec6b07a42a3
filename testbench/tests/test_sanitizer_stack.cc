// After a simulation, AddressSanitizer must know this thread's real stack:
// SystemC leaves it pointing at a finished coroutine's unmapped stack, which
// LeakSanitizer then scans at exit and may fault in (testbench/simulate.cc).
// Only meaningful, and only built, with AddressSanitizer.
#include <catch2/catch.hpp>

#if defined(__SANITIZE_ADDRESS__)
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>

#include "sim_harness.h"

namespace mmusim::test {

TEST_CASE("run: after a simulation ASan's stack bounds are the thread's own stack", "[sanitizer]") {
  const RunResult r = simulate("1 mmap 0x10000 4K rw\n1 store 0x10000 5\n1 fork 2\n2 store 0x10000 6\n");
  REQUIRE(r.exit_code == 0);

  pthread_attr_t attr;
  REQUIRE(pthread_getattr_np(pthread_self(), &attr) == 0);
  void* bottom = nullptr;
  size_t size = 0;
  REQUIRE(pthread_attr_getstack(&attr, &bottom, &size) == 0);
  pthread_attr_destroy(&attr);
  // The only way to read the bounds ASan holds: announce a switch to the real
  // stack, and ASan hands back the bounds it had until then.
  const void* asan_bottom = nullptr;
  size_t asan_size = 0;
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, bottom, size);
  __sanitizer_finish_switch_fiber(fake_stack, &asan_bottom, &asan_size);

  int local = 0;
  const auto here = reinterpret_cast<uintptr_t>(&local), lo = reinterpret_cast<uintptr_t>(asan_bottom);
  INFO("ASan's stack " << asan_bottom << "+" << asan_size << ", a local at " << &local);
  CHECK(here >= lo);
  CHECK(here < lo + asan_size);
}

}  // namespace mmusim::test
#endif
