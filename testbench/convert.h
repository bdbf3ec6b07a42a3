// `mmusim convert IN OUT`: a trace from text to binary or back
// (docs/binary-trace-format.md).
#pragma once

namespace mmusim {

// argv[0] is "convert". Returns the exit status: 0, 2 on bad usage or input
// (no output file left), 128 + signal when SIGINT or SIGTERM stopped it.
int run_convert(int argc, char* argv[]);

}  // namespace mmusim
