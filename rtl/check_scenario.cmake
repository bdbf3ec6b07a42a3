# One scenario trace under --tlb model, rtl and lockstep (ctest: scenario.<name>.lockstep).
#   cmake -DMMUSIM=build/mmusim -DTRACE=t.trace -DEXPECTED=t.expected.json
#         -DARGS="--set|k=v" -DWORK=dir -DNAME=name -P rtl/check_scenario.cmake
# Every run must exit 0 (for lockstep: no divergence) with the expected
# statistics, and the rtl and lockstep runs must produce exactly the model
# run's statistics, the host's timing (wall seconds, accesses per second) and
# lockstep.lookups aside. (The RTL's lookup latency, 1 cycle, is the default
# tlb.l1.latency, and a lockstep run takes the C++ TLB's timing, so even
# sim.cycles agree.)
string(REPLACE "|" ";" args "${ARGS}")
foreach(impl model rtl lockstep)
  set(out "${WORK}/${NAME}.${impl}.stats.json")
  file(REMOVE "${out}")
  execute_process(COMMAND "${MMUSIM}" -q ${args} --tlb ${impl} --stats "${out}" --check-stats "${EXPECTED}" "${TRACE}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NAME}: mmusim --tlb ${impl} exited with ${rc}:\n${output}")
  endif()
  file(READ "${out}" stats_${impl})
  file(REMOVE "${out}")
endforeach()

set(bad "")
string(JSON n LENGTH "${stats_model}")
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON key MEMBER "${stats_model}" ${i})
  if(key MATCHES "^(sim\\.wall_seconds|sim\\.accesses_per_second|lockstep\\.lookups)$")
    continue()
  endif()
  string(JSON want GET "${stats_model}" "${key}")
  foreach(impl rtl lockstep)
    string(JSON got ERROR_VARIABLE missing GET "${stats_${impl}}" "${key}")
    if(missing OR NOT got STREQUAL want)
      string(APPEND bad "  ${key}: model ${want}, ${impl} ${got}\n")
    endif()
  endforeach()
endforeach()

string(JSON lookups GET "${stats_lockstep}" lockstep.lookups)
string(JSON hits GET "${stats_lockstep}" tlb.l1.hits)
string(JSON misses GET "${stats_lockstep}" tlb.l1.misses)
math(EXPR l1 "${hits} + ${misses}")
if(NOT lookups EQUAL l1)
  string(APPEND bad "  lockstep.lookups ${lookups} is not tlb.l1.hits + tlb.l1.misses = ${l1}\n")
endif()
string(JSON divergences GET "${stats_lockstep}" lockstep.divergences)
if(NOT divergences EQUAL 0)
  string(APPEND bad "  lockstep.divergences ${divergences}\n")
endif()

if(bad)
  message(FATAL_ERROR "${NAME}: the RTL / lockstep runs differ from the model run:\n${bad}")
endif()
message(STATUS "${NAME}: model, rtl and lockstep agree (${lookups} L1 lookups compared)")
