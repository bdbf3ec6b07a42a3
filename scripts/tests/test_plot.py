#!/usr/bin/python3
"""Smoke tests of scripts/plot: every subcommand writes a non-empty PNG and SVG
from a small run's --faults and --timeline CSVs (cow and eager) and from a
tiny sweep's results CSV, or only the file that -o names when it ends in .png
or .svg; bad input exits 2 naming the file and column.

  test_plot.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)
"""

import contextlib
import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PLOT = os.path.join(REPO, "scripts", "plot")
SWEEP = os.path.join(REPO, "scripts", "sweep")
TRACE = os.path.join(REPO, "traces", "tutorial-int-x.trace")
MMUSIM = None


def load_plot_module():
    loader = importlib.machinery.SourceFileLoader("mmusim_plot_script", PLOT)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


PLOT_MODULE = load_plot_module()


def run(*cmd):
    p = subprocess.run(list(cmd), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stdout, p.stderr


class PlotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="mmusim-test-plot-")
        d = cls.d = cls.tmp.name
        for policy in ("cow", "eager"):
            rc, so, se = run(MMUSIM, "-q", "--fork-policy", policy, "--faults", f"{d}/{policy}.faults.csv",
                             "--timeline", f"{d}/{policy}.timeline.csv", "--timeline-interval", "1000", TRACE)
            assert rc == 0, se
        with open(f"{d}/sweep.toml", "w") as f:
            f.write(f'name = "plot-test"\ntraces = ["{TRACE}"]\n[grid]\n'
                    '"mem.copy_bytes_per_cycle" = [4, 64]\n"kernel.fork_policy" = ["cow", "eager"]\n')
        rc, so, se = run(sys.executable, SWEEP, "--mmusim", MMUSIM, "--jobs", "2", f"{d}/sweep.toml",
                         "--out", f"{d}/sweep")
        assert rc == 0, so + se

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def plot(self, *args):
        """scripts/plot's main() in this process (matplotlib is imported once, not per plot)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = PLOT_MODULE.main(list(args))
            except SystemExit as e:
                rc = e.code
        return rc, out.getvalue(), err.getvalue()

    def test_command_line(self):
        """The script itself, as a command."""
        d = self.d
        rc, so, se = run(PLOT, "timeline", f"{d}/cow.timeline.csv", "-o", f"{d}/cli")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/cli")
        rc, so, se = run(PLOT, "--help")
        self.assertEqual(rc, 0)
        for sub in ("breakdown", "cdf", "timeline", "sweep"):
            self.assertIn(sub, so)

    def check_figure(self, prefix):
        with open(prefix + ".png", "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"), prefix)
        self.assertGreater(len(png), 5000, prefix)
        with open(prefix + ".svg") as f:
            svg = f.read()
        self.assertIn("<svg", svg)
        self.assertGreater(len(svg), 5000, prefix)

    def test_breakdown(self):
        d = self.d
        rc, so, se = self.plot("breakdown", f"{d}/cow.faults.csv", f"{d}/eager.faults.csv", "--labels", "cow,eager",
                               "-o", f"{d}/breakdown")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/breakdown")
        self.assertIn("cow_copy", so)  # the table of means
        rc, so, se = self.plot("breakdown", f"{d}/cow.faults.csv")  # default output name
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/cow.faults.breakdown")

    def test_cdf(self):
        d = self.d
        rc, so, se = self.plot("cdf", f"{d}/cow.faults.csv", f"{d}/eager.faults.csv", "--labels", "cow,eager",
                               "-o", f"{d}/cdf")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/cdf")

    def test_timeline(self):
        d = self.d
        rc, so, se = self.plot("timeline", f"{d}/cow.timeline.csv", f"{d}/eager.timeline.csv",
                               "--labels", "cow,eager", "-o", f"{d}/timeline")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/timeline")

    def test_sweep(self):
        d = self.d
        rc, so, se = self.plot("sweep", f"{d}/sweep/results.csv", "--x", "mem.copy_bytes_per_cycle",
                               "--y", "sim.cycles", "--by", "kernel.fork_policy", "--where", "trace=tutorial-int-x",
                               "-o", f"{d}/sweep-plot")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/sweep-plot")
        rc, so, se = self.plot("sweep", f"{d}/sweep/results.csv", "--x", "kernel.fork_policy",
                               "--y", "memory.bytes_copied", "--by", "mem.copy_bytes_per_cycle", "-o", f"{d}/cat")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/cat")

    def test_output_names(self):
        """-o NAME.png or NAME.svg writes exactly that file, in every subcommand."""
        d = self.d
        inputs = {"breakdown": [f"{d}/cow.faults.csv"], "cdf": [f"{d}/cow.faults.csv"],
                  "timeline": [f"{d}/cow.timeline.csv"],
                  "sweep": [f"{d}/sweep/results.csv", "--x", "mem.copy_bytes_per_cycle", "--y", "sim.cycles",
                            "--by", "kernel.fork_policy"]}
        for sub, args in inputs.items():
            for ext in ("png", "svg"):
                with self.subTest(sub=sub, ext=ext):
                    out = os.path.join(d, f"named-{sub}", f"figure.{ext}")
                    rc, so, se = self.plot(sub, *args, "-o", out)
                    self.assertEqual(rc, 0, se)
                    self.assertEqual(os.listdir(os.path.dirname(out)), [f"figure.{ext}"])
                    self.assertIn(f"wrote {out}\n", so)
                    os.unlink(out)
        # the extension's case does not matter
        rc, so, se = self.plot("breakdown", f"{d}/cow.faults.csv", "-o", f"{d}/named-breakdown/upper.PNG")
        self.assertEqual(rc, 0, se)
        with open(f"{d}/named-breakdown/upper.PNG", "rb") as f:
            self.assertTrue(f.read().startswith(b"\x89PNG"))
        self.assertEqual(os.listdir(f"{d}/named-breakdown"), ["upper.PNG"])

    def test_bad_input(self):
        d = self.d
        rc, so, se = self.plot("sweep", f"{d}/sweep/results.csv", "--x", "mem.copy_bytes_per_cycle",
                               "--y", "no.such.stat")
        self.assertEqual(rc, 2)
        self.assertIn("results.csv", se)
        self.assertIn("no.such.stat", se)
        # two rows per x without --by: ambiguous, named
        rc, so, se = self.plot("sweep", f"{d}/sweep/results.csv", "--x", "mem.copy_bytes_per_cycle",
                               "--y", "sim.cycles")
        self.assertEqual(rc, 2)
        self.assertIn("kernel.fork_policy", se)
        rc, so, se = self.plot("breakdown", f"{d}/cow.timeline.csv")
        self.assertEqual(rc, 2)
        self.assertIn("cow.timeline.csv", se)
        self.assertIn("not a --faults CSV", se)
        rc, so, se = self.plot("timeline", f"{d}/missing.csv")
        self.assertEqual(rc, 2)
        self.assertIn("missing.csv", se)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_plot.py MMUSIM")
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
