// SIGINT and SIGTERM during a run; see interrupt.h.
#include "common/interrupt.h"

#include <csignal>
#include <string>

namespace mmusim {

namespace detail {
std::atomic<int> pending_interrupt{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free atomic");
}  // namespace detail

namespace {

extern "C" void on_interrupt(int sig) {
  // The first signal wins; a second one changes nothing.
  int none = 0;
  detail::pending_interrupt.compare_exchange_strong(none, sig, std::memory_order_relaxed);
}

}  // namespace

void install_interrupt_handlers() {
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: see interrupt.h
    sigaction(sig, &sa, nullptr);
  }
}

const char* interrupt_signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

Interrupted::Interrupted(int sig)
    : std::runtime_error(std::string("interrupted by ") + interrupt_signal_name(sig)), signal_(sig) {}

void clear_interrupt() { detail::pending_interrupt.store(0, std::memory_order_relaxed); }

}  // namespace mmusim
