// Runs the SystemC scheduler to the end of the simulation.
#pragma once

namespace mmusim {

// sc_start() until nothing is left to do (or sc_stop()), then, in a build
// with AddressSanitizer, tells it that this thread is back on its own stack
// (see simulate.cc for why SystemC leaves it believing otherwise).
void simulate();

}  // namespace mmusim
