#!/usr/bin/python3
"""Tests of scripts/study-copy-engine at a small size (1 MiB, 2 CPUs).

  test_study_copy_engine.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)

The CSV must show, for both workloads, one engine copy per COW fault, the
engines' per-copy time in the fault's copy column exactly as their formulas
give it at mmusim's defaults (cpu: 100 + 4096/3 cycles; dma: setup 1000 +
4096/8 + polled completion 800), the baseline's 3600 nJ a copy for cpu and
dma, and with copy-aware allocation every copy placed near (all of them at
1 MiB) done by FPM at 324 cycles and 48 nJ; the figure must show both panels and every engine.
"""

import csv
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STUDY = os.path.join(REPO, "scripts", "study-copy-engine")
MMUSIM = None
ENGINES = ["cpu", "dma", "rowclone", "rowclone+aware"]
WORKLOADS = ["write-heavy child", "snapshot server"]


class StudyTest(unittest.TestCase):
    def test_small_study(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "ce")
            p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, "--size", "1M", "--cpus", "2",
                                "--out", out, "-j", "2"], capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            with open(os.path.join(out, "copy-engine.csv"), newline="") as fh:
                rows = {(r["workload"], r["engine"]): r for r in csv.DictReader(fh)}
            self.assertEqual(sorted(rows), sorted((w, e) for w in WORKLOADS for e in ENGINES))
            for w, cows in (("write-heavy child", 256), ("snapshot server", 128)):
                for e in ENGINES:
                    r = rows[(w, e)]
                    self.assertEqual(int(r["cow_copies"]), cows, (w, e))
                    self.assertEqual(r["verify.mismatches"], "0")
                self.assertEqual(float(rows[(w, "cpu")]["copy_mean_cycles"]), 100 + 1366)
                self.assertEqual(float(rows[(w, "dma")]["copy_mean_cycles"]), 1000 + 512 + 800)
                self.assertEqual(float(rows[(w, "cpu")]["copy_energy_nj"]), 3600.0)
                self.assertEqual(float(rows[(w, "dma")]["copy_energy_nj"]), 3600.0)
                rc = rows[(w, "rowclone")]
                self.assertEqual(int(rc["fpm_copies"]) + int(rc["psm_copies"]), cows)
                self.assertEqual((rc["placed_near"], rc["placed_far"]), ("0", "0"))  # not copy-aware
                aw = rows[(w, "rowclone+aware")]
                self.assertEqual(int(aw["placed_near"]) + int(aw["placed_far"]), cows)
                self.assertEqual(aw["fpm_copies"], aw["placed_near"])
                self.assertEqual(aw["psm_copies"], aw["placed_far"])
                # 1 MiB leaves the sources' subarrays room: every copy is placed
                # near and is one FPM copy, 324 cycles and 48 nJ (the defaults)
                self.assertEqual(int(aw["placed_near"]), cows)
                self.assertEqual(float(aw["copy_mean_cycles"]), 324)
                self.assertEqual(float(aw["copy_energy_nj"]), 48.0)
                self.assertLess(float(aw["copy_mean_cycles"]), float(rc["copy_mean_cycles"]))
            with open(os.path.join(out, "copy-engine.svg")) as fh:
                svg = fh.read()
            for text in ("COW copy fault latency", "energy per 4 KiB copy (nJ)", *ENGINES, "3,600 nJ"):
                self.assertIn(text, svg)
            with open(os.path.join(out, "summary.txt")) as fh:
                summary = fh.read()
            self.assertIn("write-heavy child: against cpu", summary)

    def test_bad_usage(self):
        for args in (["--size", "3K"], ["--cpus", "0"], ["--set", "kernel.copy_engine=dma"], ["--set", "nokey"]):
            p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, *args], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, (args, p.stderr))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_study_copy_engine.py MMUSIM")
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
