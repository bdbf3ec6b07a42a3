#include "simulate.h"

#include <systemc>

#if defined(__SANITIZE_ADDRESS__)
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace mmusim {

void simulate() {
  sc_core::sc_start();
#if defined(__SANITIZE_ADDRESS__)
  // SystemC 2.3.4 announces each coroutine switch to ASan
  // (__sanitizer_start_switch_fiber), except one: when an SC_THREAD's function
  // returns, the coroutine is aborted back to the main one unannounced, so
  // ASan keeps the dead coroutine's stack as this thread's stack. SystemC
  // unmaps that stack, yet LeakSanitizer scans the range at exit; once part
  // of it is mapped again (LeakSanitizer's own tracer stack, with its guard
  // page, can land there) the scan faults: "Tracer caught signal 11",
  // intermittently, depending on where mmap puts things. Announce the switch
  // back to the real stack that has already happened.
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* bottom = nullptr;
  size_t size = 0;
  if (pthread_attr_getstack(&attr, &bottom, &size) == 0) {
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, bottom, size);
    __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
  }
  pthread_attr_destroy(&attr);
#endif
}

}  // namespace mmusim
