# One scenario trace under --ptw model, rtl and lockstep (ctest: scenario.<name>.ptw).
#   cmake -DMMUSIM=build/mmusim -DTRACE=t.trace -DEXPECTED=t.expected.json
#         -DARGS="--set|k=v" -DWORK=dir -DNAME=name -P rtl/check_scenario_ptw.cmake
# Every run must exit 0 (for lockstep: no divergence). The lockstep run must
# produce exactly the model run's statistics and its expected ones (it charges
# the C++ walker's cycles), host timing and the lockstep counters aside, with
# lockstep.walks = ptw.walks. The rtl run charges the RTL walker's own cycles
# (one more per memory access, two more per walk), so it must produce the
# model run's statistics except the timing keys: every key counting cycles
# (*cycles, *_cycles), the fault latency distribution (faults.latency.*) and
# the host's timing.
string(REPLACE "|" ";" args "${ARGS}")
foreach(impl model rtl lockstep)
  set(out "${WORK}/${NAME}.ptw-${impl}.stats.json")
  file(REMOVE "${out}")
  set(check "")
  if(NOT impl STREQUAL "rtl")
    set(check --check-stats "${EXPECTED}")
  endif()
  execute_process(COMMAND "${MMUSIM}" -q ${args} --ptw ${impl} --stats "${out}" ${check} "${TRACE}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NAME}: mmusim --ptw ${impl} exited with ${rc}:\n${output}")
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
  if(key MATCHES "^(sim\\.wall_seconds|sim\\.accesses_per_second|lockstep\\..*)$")
    continue()
  endif()
  string(JSON want GET "${stats_model}" "${key}")
  set(impls lockstep)
  if(key MATCHES "(^|\\.|_)cycles$" OR key MATCHES "^faults\\.latency\\.")
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

string(JSON walks GET "${stats_lockstep}" lockstep.walks)
string(JSON ptw_walks GET "${stats_lockstep}" ptw.walks)
if(NOT walks EQUAL ptw_walks)
  string(APPEND bad "  lockstep.walks ${walks} is not ptw.walks ${ptw_walks}\n")
endif()
string(JSON divergences GET "${stats_lockstep}" lockstep.walk_divergences)
if(NOT divergences EQUAL 0)
  string(APPEND bad "  lockstep.walk_divergences ${divergences}\n")
endif()

if(bad)
  message(FATAL_ERROR "${NAME}: the --ptw rtl / lockstep runs differ from the model run:\n${bad}")
endif()
message(STATUS "${NAME}: --ptw model, rtl and lockstep agree (${walks} walks compared; ${timing} timing keys not compared for rtl)")
