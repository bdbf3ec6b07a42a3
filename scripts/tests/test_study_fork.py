#!/usr/bin/python3
"""Tests of scripts/study-fork at small sizes (4 MiB and 8 MiB).

  test_study_fork.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)

The CSV must show, for each size and page size, eager copying the whole size
at fork and cow and odf nothing; odf copying no PTE of a 4 KiB mapping and
sharing one leaf table per 2 MiB; with huge pages one thp_zero per 2 MiB and
fork copying one PTE per huge page under cow; odf's fork of 4 KiB pages
faster than cow's and both far faster than eager's; and the first write to a
shared huge page copying 4 KiB under split and 2 MiB under copy, copy the
slower.
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
STUDY = os.path.join(REPO, "scripts", "study-fork")
MMUSIM = None
MiB = 1 << 20


class StudyTest(unittest.TestCase):
    def test_small_study(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "fork")
            p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, "--sizes", "4M,8M", "--out", out,
                                "-j", "2"], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            with open(os.path.join(out, "fork.csv"), newline="") as fh:
                rows = {(int(r["size_bytes"]), r["pages"], r["policy"]): r for r in csv.DictReader(fh)}
            self.assertEqual(len(rows), 2 * 2 * 3)
            for size in (4 * MiB, 8 * MiB):
                for pages in ("4k", "huge"):
                    e, c, o = (rows[(size, pages, x)] for x in ("eager", "cow", "odf"))
                    self.assertEqual(int(e["memory.bytes_copied_eager"]), size)
                    self.assertEqual(int(c["memory.bytes_copied_eager"]), 0)
                    self.assertEqual(int(o["memory.bytes_copied_eager"]), 0)
                    self.assertGreater(float(e["fork.cycles"]), 3 * float(c["fork.cycles"]))
                r4 = {x: rows[(size, "4k", x)] for x in ("cow", "odf")}
                self.assertEqual(int(r4["cow"]["fork.ptes_copied"]), size // 4096)
                self.assertEqual(int(r4["odf"]["fork.ptes_copied"]), 0)
                self.assertEqual(int(r4["odf"]["fork.tables_shared"]), size // (2 * MiB))
                self.assertLess(float(r4["odf"]["fork.cycles"]), float(r4["cow"]["fork.cycles"]))
                hc = rows[(size, "huge", "cow")]
                self.assertEqual(int(hc["faults.thp_zero"]), size // (2 * MiB))
                self.assertEqual(int(hc["fork.ptes_copied"]), size // (2 * MiB))  # one PTE per huge page
            with open(os.path.join(out, "first-write.csv"), newline="") as fh:
                first = {r["thp_cow"]: r for r in csv.DictReader(fh)}
            self.assertEqual(first["split"]["bytes_copied_per_fault"], "4096")
            self.assertEqual(first["copy"]["bytes_copied_per_fault"], str(2 * MiB))
            self.assertEqual(first["split"]["faults"], "4")  # 8 MiB: the first size of 64 MiB or more, else the largest
            self.assertGreater(float(first["copy"]["mean_cycles"]), 10 * float(first["split"]["mean_cycles"]))
            with open(os.path.join(out, "fork.svg")) as fh:
                svg = fh.read()
            for text in ("Fork latency", "odf, 4 KiB pages", "eager, huge pages", "kernel.thp_cow", "KiB copied"):
                self.assertIn(text, svg)

    def test_bad_usage(self):
        for args in (["--sizes", "3M"], ["--set", "kernel.fork_policy=cow"], ["--jobs", "0"]):
            p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, *args], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2, (args, p.stderr))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_study_fork.py MMUSIM")
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
