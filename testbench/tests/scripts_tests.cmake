# Tests of the exploration scripts: scripts/mmusim_tools.py (find mmusim, read
# its configuration, run it and load its statistics, as every script does),
# scripts/sweep (run, merge, resume, failed points, Slurm scripts run through a
# stand-in sbatch, output directories with spaces and shell metacharacters),
# scripts/plot (every subcommand writes a PNG and an SVG, or the one file -o
# NAME.png or NAME.svg names), scripts/study-write-fraction (at 4 MiB: cow
# copies f x N bytes, eager N) and scripts/study-snapshot with its generator
# (at 256 KiB on 1, 2 and 4 CPUs: exact COW, IPI and deferred-flush counts
# under both shootdown policies), scripts/study-copy-engine (at 1 MiB: each
# engine's copy time and energy, FPM for every copy placed near). Each takes a few seconds and none depends
# on timing beyond which policy is slower.
# Included from testbench/tests/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/scripts_tests.cmake)
# Debian's Python (3.11: tomllib; python3-matplotlib), as the scripts' #! lines.
add_test(NAME scripts.tools
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_mmusim_tools.py $<TARGET_FILE:mmusim>)
add_test(NAME scripts.sweep
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_sweep.py $<TARGET_FILE:mmusim>)
add_test(NAME scripts.plot
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_plot.py $<TARGET_FILE:mmusim>)
add_test(NAME scripts.study_write_fraction
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_study_write_fraction.py
                 $<TARGET_FILE:mmusim>)
add_test(NAME scripts.study_snapshot
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_study_snapshot.py
                 $<TARGET_FILE:mmusim>)
add_test(NAME scripts.study_copy_engine
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_study_copy_engine.py
                 $<TARGET_FILE:mmusim>)
add_test(NAME scripts.study_fork
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_study_fork.py $<TARGET_FILE:mmusim>)
set_tests_properties(scripts.tools scripts.sweep scripts.plot scripts.study_write_fraction scripts.study_snapshot
                     scripts.study_copy_engine scripts.study_fork PROPERTIES LABELS "scripts;no-sanitizer" TIMEOUT 300)
# The binary trace format end to end: every trace under traces/ text -> binary
# -> text, the same statistics from both forms, the Python writer equal to
# `mmusim convert`, the scripts' --binary, bad binaries named by record.
add_test(NAME scripts.binary_trace
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_binary_trace.py $<TARGET_FILE:mmusim>)
# Runs the gigabyte scenario four times: Release only.
set_tests_properties(scripts.binary_trace PROPERTIES LABELS "scripts;no-sanitizer" TIMEOUT 900)
