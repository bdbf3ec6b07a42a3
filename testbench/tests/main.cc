// Catch2 runner, inside sc_main so that SystemC's startup runs first.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <systemc>

int sc_main(int argc, char* argv[]) {
  return Catch::Session().run(argc, argv);
}

// Our own main, ahead of libsystemc's: SystemC reads SC_COPYRIGHT_MESSAGE before
// sc_main runs, and its banner on every run would only be noise.
int main(int argc, char* argv[]) {
  setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
