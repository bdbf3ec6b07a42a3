# One scenario trace under the C++ model, the RTL and lockstep of one unit
# (ctest: scenario.<name>.lockstep for UNIT=tlb, scenario.<name>.ptw for UNIT=ptw).
#   cmake -DUNIT=tlb|ptw -DMMUSIM=build/mmusim -DTRACE=t.trace -DEXPECTED=t.expected.json
#         -DARGS="--set|k=v" -DWORK=dir -DNAME=name -P rtl/check_scenario.cmake
# Every run must exit 0 (for lockstep: no divergence) and the lockstep run
# must produce exactly the model run's statistics and its expected ones, the
# host's timing (wall seconds, accesses per second) and the lockstep counters
# aside; the lockstep counters must count every lookup (walk) and no divergence.
#   tlb: the RTL's lookup latency, 1 cycle, is the default tlb.l1.latency, so
#        the rtl run must match the model run exactly too, sim.cycles included.
#   ptw: the rtl run charges the RTL walker's own cycles (one more per memory
#        access, two more per walk), so it must match the model run except the
#        timing keys: every key counting cycles (*cycles, *_cycles) and the
#        fault latency distribution (faults.latency.*).
if(UNIT STREQUAL "tlb")
  set(rtl_checks_expected TRUE)
  set(timing_keys "^$")  # none
elseif(UNIT STREQUAL "ptw")
  set(rtl_checks_expected FALSE)
  set(timing_keys "((^|\\.|_)cycles$)|(^faults\\.latency\\.)")
else()
  message(FATAL_ERROR "UNIT must be tlb or ptw, not '${UNIT}'")
endif()

string(REPLACE "|" ";" args "${ARGS}")
foreach(impl model rtl lockstep)
  set(out "${WORK}/${NAME}.${UNIT}-${impl}.stats.json")
  file(REMOVE "${out}")
  set(check --check-stats "${EXPECTED}")
  if(impl STREQUAL "rtl" AND NOT rtl_checks_expected)
    set(check "")
  endif()
  execute_process(COMMAND "${MMUSIM}" -q ${args} --${UNIT} ${impl} --stats "${out}" ${check} "${TRACE}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NAME}: mmusim --${UNIT} ${impl} exited with ${rc}:\n${output}")
  endif()
  file(READ "${out}" stats_${impl})
  file(REMOVE "${out}")
endforeach()

set(bad "")
set(timing 0)
string(JSON n LENGTH "${stats_model}")
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON key MEMBER "${stats_model}" ${i})
  # Host speed, not the model: the host's time, and the Mmu's hit cache,
  # which an RTL or lockstep L1 never uses.
  if(key MATCHES "^(sim\\.wall_seconds|sim\\.accesses_per_second|mmu\\.hit_cache_hits|lockstep\\..*)$")
    continue()
  endif()
  string(JSON want GET "${stats_model}" "${key}")
  set(impls lockstep)
  if(key MATCHES "${timing_keys}")
    math(EXPR timing "${timing} + 1")
  else()
    list(APPEND impls rtl)
  endif()
  foreach(impl ${impls})
    string(JSON got ERROR_VARIABLE missing GET "${stats_${impl}}" "${key}")
    if(missing OR NOT got STREQUAL want)
      string(APPEND bad "  ${key}: model ${want}, ${impl} ${got}\n")
    endif()
  endforeach()
endforeach()

# The lockstep counters: what was compared, and that nothing diverged.
if(UNIT STREQUAL "tlb")
  string(JSON compared GET "${stats_lockstep}" lockstep.lookups)
  string(JSON hits GET "${stats_lockstep}" tlb.l1.hits)
  string(JSON misses GET "${stats_lockstep}" tlb.l1.misses)
  math(EXPR want "${hits} + ${misses}")
  set(what "L1 lookups")
  set(want_text "tlb.l1.hits + tlb.l1.misses = ${want}")
  set(divergence_key lockstep.divergences)
else()
  string(JSON compared GET "${stats_lockstep}" lockstep.walks)
  string(JSON want GET "${stats_lockstep}" ptw.walks)
  set(what "walks")
  set(want_text "ptw.walks ${want}")
  set(divergence_key lockstep.walk_divergences)
endif()
if(NOT compared EQUAL want)
  string(APPEND bad "  lockstep.${what}: ${compared} compared, not ${want_text}\n")
endif()
string(JSON divergences GET "${stats_lockstep}" ${divergence_key})
if(NOT divergences EQUAL 0)
  string(APPEND bad "  ${divergence_key} ${divergences}\n")
endif()

if(bad)
  message(FATAL_ERROR "${NAME}: the --${UNIT} rtl / lockstep runs differ from the model run:\n${bad}")
endif()
message(STATUS "${NAME}: --${UNIT} model, rtl and lockstep agree (${compared} ${what} compared; "
               "${timing} timing keys not compared for rtl)")
