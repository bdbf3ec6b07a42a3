# Python tests of the real-program traces and the host calibration (issue 5):
# scripts/lackey2trace (lackey logs -> traces, traces/real/ run cleanly) and
# scripts/calibrate's fit on recorded measurements and the advice that ends a
# failed check; shootbench built and run small (what it reports, not how
# fast). Standard library only; none depends on live timing.
add_test(NAME scripts.lackey2trace
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_lackey2trace.py $<TARGET_FILE:mmusim>)
add_test(NAME scripts.calibrate.fit
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_calibrate.py $<TARGET_FILE:mmusim>
                 Fit MinimaxLine WhatToDo ShootdownFit PvmHost Shootbench)
# Runs mmusim on the calibration scenarios (up to 256 MiB forks): Release only.
add_test(NAME scripts.calibrate.end_to_end
         COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/tests/test_calibrate.py $<TARGET_FILE:mmusim>
                 EndToEnd ShootdownEndToEnd)
set_tests_properties(scripts.calibrate.end_to_end PROPERTIES LABELS no-sanitizer)
set_tests_properties(scripts.lackey2trace scripts.calibrate.fit scripts.calibrate.end_to_end PROPERTIES TIMEOUT 300)
