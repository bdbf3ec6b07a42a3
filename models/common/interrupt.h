// SIGINT and SIGTERM during a run (spec/interface.md, exit status 130 and
// 143): the handler only records the signal in a lock-free atomic
// (async-signal-safe); the trace player looks at it between records and stops
// the run, which then ends like a failed one: no output file is written and
// every temporary file is removed.
#pragma once
#include <atomic>
#include <stdexcept>

namespace mmusim {

namespace detail {
extern std::atomic<int> pending_interrupt;
}

// Installs the handler for SIGINT and SIGTERM (without SA_RESTART, so that a
// blocked wait or read returns and its caller can look at the flag). A signal
// the process inherited as ignored (a background job of a non-interactive
// shell, nohup) stays ignored, as the shell asked.
void install_interrupt_handlers();

// The signal that asked the run to stop (SIGINT or SIGTERM), or 0. One relaxed
// load: cheap enough to call once per trace record.
inline int interrupt_signal() { return detail::pending_interrupt.load(std::memory_order_relaxed); }

// "SIGINT", "SIGTERM".
const char* interrupt_signal_name(int sig);

// The conventional exit status of a run stopped by `sig`: 128 + sig, as
// shells report it (130 for SIGINT, 143 for SIGTERM).
inline int interrupt_exit_status(int sig) { return 128 + sig; }

// The run was stopped by SIGINT or SIGTERM: exit status 128 + signal, no
// output file written. Not a UserError: the input was not at fault.
class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int sig);  // "interrupted by SIGINT"
  int signal() const { return signal_; }

 private:
  int signal_;
};

// For tests: forget a recorded signal.
void clear_interrupt();

}  // namespace mmusim
