#!/usr/bin/python3
"""Test of scripts/study-write-fraction at a tiny size: 4 MiB, f = 0, 0.5, 1.

  test_study_write_fraction.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)

Checks the CSV: cow copies exactly f x N bytes, eager copies N at every f;
at f = 0 cow peaks at N/4K data frames and eager at twice that; the figure
and the summary are written.
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
STUDY = os.path.join(REPO, "scripts", "study-write-fraction")
MMUSIM = None
N = 4 << 20


class StudyTest(unittest.TestCase):
    def test_tiny_study(self):
        with tempfile.TemporaryDirectory(prefix="mmusim-test-study-") as d:
            p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, "--size", "4M", "--fractions", "0,0.5,1",
                                "--jobs", "2", "--out", d], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            with open(os.path.join(d, "write-fraction.csv"), newline="") as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), 6)
            seen = set()
            for r in rows:
                f_ = float(r["fraction"])
                seen.add((f_, r["policy"]))
                self.assertEqual(int(r["size_bytes"]), N)
                self.assertEqual(int(r["verify.mismatches"]), 0)
                copied = int(r["memory.bytes_copied"])
                if r["policy"] == "cow":
                    self.assertEqual(copied, int(f_ * N), r)
                    self.assertEqual(int(r["faults.cow_copy"]), int(f_ * N) // 4096, r)
                else:
                    self.assertEqual(copied, N, r)
                    self.assertEqual(int(r["faults.cow_copy"]), 0, r)
            self.assertEqual(seen, {(f_, p_) for f_ in (0.0, 0.5, 1.0) for p_ in ("cow", "eager")})
            at0 = {r["policy"]: int(r["memory.data_frames_peak"]) for r in rows if float(r["fraction"]) == 0}
            self.assertEqual(at0, {"cow": N // 4096, "eager": 2 * N // 4096})
            for ext in ("png", "svg"):
                self.assertGreater(os.path.getsize(os.path.join(d, f"write-fraction.{ext}")), 5000)
            self.assertIn("memory at f=0", p.stdout)
            self.assertIn("crossover", p.stdout)
            self.assertTrue(os.path.exists(os.path.join(d, "summary.txt")))
            self.assertEqual([e for e in os.listdir(d) if e.startswith("traces")], [])  # traces removed

    def test_bad_usage(self):
        p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, "--fractions", "0,1.5"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("1.5", p.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_study_write_fraction.py MMUSIM")
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
