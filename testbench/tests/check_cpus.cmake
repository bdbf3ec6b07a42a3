# One scenario trace with its own arguments, then again with --set cpu.count=4
# (ctest: scenario.<name>.cpus4). The tasks spread over four CPUs (round-robin
# placement), but the trace order is the memory order: every fault count, the
# load hash and the verification must come out the same.
#   cmake -DMMUSIM=build/mmusim -DTRACE=t.trace -DARGS="--set|k=v" -DWORK=dir -DNAME=name -P check_cpus.cmake
string(REPLACE "|" ";" args "${ARGS}")
foreach(cpus 1 4)
  set(out "${WORK}/${NAME}.cpus${cpus}.stats.json")
  file(REMOVE "${out}")
  set(extra "")
  if(cpus EQUAL 4)
    set(extra --set cpu.count=4)
  endif()
  execute_process(COMMAND "${MMUSIM}" -q ${args} ${extra} --stats "${out}" "${TRACE}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NAME}: mmusim with ${cpus} CPU(s) exited with ${rc}:\n${output}")
  endif()
  file(READ "${out}" stats_${cpus})
  file(REMOVE "${out}")
endforeach()

set(bad "")
foreach(key faults.demand_zero faults.cow_zero faults.cow_copy faults.cow_reuse faults.shared_map faults.segv
            faults.thp_zero faults.thp_copy faults.thp_split faults.thp_reuse memory.thp_splits
            faults.spurious verify.load_hash verify.loads_checked verify.mismatches sim.accesses fork.count
            fork.failed memory.bytes_copied kernel.oom_kills trace.skipped_lines memory.frames_in_use)
  string(JSON one GET "${stats_1}" "${key}")
  string(JSON four GET "${stats_4}" "${key}")
  if(NOT one STREQUAL four)
    string(APPEND bad "  ${key}: ${one} with the scenario's CPUs, ${four} with 4\n")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "${NAME}: four CPUs change what must not change:\n${bad}")
endif()
message(STATUS "${NAME}: the same faults, loads and load hash on four CPUs")
