#!/usr/bin/python3
"""Tests of scripts/soak: a seed whose run fails is reported with the commands
that reproduce it (which, run again, fail the same way) and exit status 1;
passing seeds leave nothing behind; every configuration family and both
shootdown policies are in the rotation; bad usage exits 2.

  test_soak.py MMUSIM GENERATOR     (ctest passes the two built binaries)
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SOAK = os.path.join(REPO, "scripts", "soak")
MMUSIM = GENERATOR = None


def run(*cmd):
    p = subprocess.run(list(cmd), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    return p.returncode, p.stdout, p.stderr


class SoakTest(unittest.TestCase):
    def test_real_seeds_pass(self):
        rc, so, se = run(SOAK, "--seeds", "6", "--first", "100", "-j", "2", "--ops", "150",
                         "--mmusim", MMUSIM, "--generator", GENERATOR)
        self.assertEqual(rc, 0, so + se)
        self.assertRegex(so, r"soak: seeds 100\.\.105: 6 passed, 0 failed \(18 mmusim runs")

    def test_failure_names_the_reproducing_commands(self):
        with tempfile.TemporaryDirectory(prefix="mmusim-test-soak-") as d:
            # An mmusim that breaks on seed 3's trace only, as a bug would.
            fake = os.path.join(d, "mmusim")
            with open(fake, "w") as f:
                f.write(f'#!/bin/sh\ncase "$*" in *soak-3.trace*) echo "verification mismatch" >&2; exit 1;; esac\n'
                        f'exec {shlex.quote(MMUSIM)} "$@"\n')
            os.chmod(fake, 0o755)
            keep = os.path.join(d, "kept")
            rc, so, se = run(SOAK, "--seeds", "4", "-j", "2", "--ops", "100", "--mmusim", fake,
                             "--generator", GENERATOR, "--keep", keep)
            self.assertEqual(rc, 1, so + se)
            self.assertIn("soak: seeds 1..4: 3 passed, 1 failed", so)
            fails = re.findall(r"^FAIL seed (\d+): .*?, (\w+): mmusim exit status 1$", so, re.M)
            self.assertEqual(sorted(fails), [("3", "cow"), ("3", "eager"), ("3", "odf")])
            self.assertIn("verification mismatch", so)
            cmds = re.findall(r"  reproduce:\n    (.*)\n    (.*)", so)
            self.assertEqual(len(cmds), 3)
            for gen, sim in cmds:
                self.assertIn("--seed 3", gen)
                self.assertEqual(run(*shlex.split(gen))[0], 0)
                self.assertEqual(run(*shlex.split(sim))[0], 1)  # the same failure, again
            self.assertEqual(sorted(f for f in os.listdir(keep) if f.endswith(".trace")), ["soak-3.trace"])

    def test_rotation(self):
        rc, so, se = run(SOAK, "--list")
        self.assertEqual(rc, 0, se)
        for family in ("default", "host", "asid0", "asid2", "nozero", "plru-small", "fifo-small", "random-small",
                       "nol2", "sv48", "nopwc", "minimal", "oom", "oom-sv48", "lockstep"):
            self.assertRegex(so, rf"(?m)^{family} cpus=1$")
        self.assertRegex(so, r"(?m)^default cpus=4 reuse_flush=all shootdown=running$")
        self.assertRegex(so, r"(?m)^default cpus=2 reuse_flush=local shootdown=all$")

    def test_bad_usage(self):
        self.assertEqual(run(SOAK)[0], 2)
        self.assertEqual(run(SOAK, "--seeds", "0")[0], 2)
        rc, so, se = run(SOAK, "--seeds", "1", "--mmusim", "/nonexistent/mmusim", "--generator", GENERATOR)
        self.assertEqual(rc, 2)
        self.assertIn("/nonexistent/mmusim", se)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: test_soak.py MMUSIM GENERATOR")
    GENERATOR = os.path.abspath(sys.argv.pop(2))
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
