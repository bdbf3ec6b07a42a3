#!/usr/bin/python3
"""Tests of scripts/plot: every subcommand writes a PNG and an SVG from a small
run's --faults and --timeline CSVs (cow and eager) and from a tiny sweep's
results CSV, or only the file that -o names when it ends in .png or .svg; the
figure drawn holds what the CSVs say (axis labels, one series per input or
group, the plotted values read back from the figure and compared with the
CSV's); bad input exits 2 naming the file and column.

  test_plot.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)
"""

import contextlib
import csv
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
        """scripts/plot's main() in this process (matplotlib is imported once, not per plot).
        The figure it saves is kept in self.fig, to be read back."""
        out, err = io.StringIO(), io.StringIO()
        self.fig = None
        real_save = PLOT_MODULE.save

        def keep(fig, files):
            self.fig = fig
            real_save(fig, files)
        PLOT_MODULE.save = keep
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    rc = PLOT_MODULE.main(list(args))
                except SystemExit as e:
                    rc = e.code
        finally:
            PLOT_MODULE.save = real_save
        return rc, out.getvalue(), err.getvalue()

    @staticmethod
    def rows(path):
        with open(path, newline="") as f:
            return list(csv.DictReader(f))

    def axes(self):
        return [ax for ax in self.fig.get_axes() if ax.get_visible() and ax.get_label() != "<colorbar>"]

    def legend_texts(self, ax):
        leg = ax.get_legend()
        self.assertIsNotNone(leg)
        return [t.get_text() for t in leg.get_texts()]

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
        ax = self.axes()[0]
        self.assertEqual(ax.get_ylabel(), "mean latency per fault (cycles)")
        self.assertEqual(ax.get_xlabel(), "fault kind / input")
        self.assertEqual(self.legend_texts(ax), list(PLOT_MODULE.PHASE_LABELS.values()))
        # One stacked bar per (kind, input): its height is the CSV's mean total
        # latency of that kind; its phases are the mean of each phase column.
        tops = {}
        for bar in ax.patches:
            x = round(bar.get_x() + bar.get_width() / 2, 6)
            tops[x] = max(tops.get(x, 0.0), bar.get_y() + bar.get_height())
        want = []
        for path in (f"{d}/cow.faults.csv", f"{d}/eager.faults.csv"):
            by_kind = {}
            for r in self.rows(path):
                by_kind.setdefault(r["kind"], []).append(float(r["total"]))
            want.append(by_kind)
        got = sorted(tops.values())
        expected = sorted(sum(v) / len(v) for w in want for v in w.values())
        self.assertEqual(len(got), len(expected), (tops, want))
        for g, e in zip(got, expected):
            self.assertAlmostEqual(g, e, places=3)
        # the tutorial: cow has demand_zero and cow_copy, eager demand_zero only
        self.assertEqual(sorted(want[0]), ["cow_copy", "demand_zero"])
        self.assertEqual(sorted(want[1]), ["demand_zero"])
        self.assertEqual([t.get_text() for t in ax.get_xticklabels()], ["cow", "eager", "cow", "eager"])
        rc, so, se = self.plot("breakdown", f"{d}/cow.faults.csv")  # default output name
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/cow.faults.breakdown")

    def test_cdf(self):
        d = self.d
        rc, so, se = self.plot("cdf", f"{d}/cow.faults.csv", f"{d}/eager.faults.csv", "--labels", "cow,eager",
                               "-o", f"{d}/cdf")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/cdf")
        # One panel per fault kind, one step line per input that has the kind,
        # reaching 1 at the largest latency of the CSV.
        panels = {ax.get_title(): ax for ax in self.axes()}
        self.assertEqual(sorted(panels), ["cow_copy", "demand_zero"])
        for kind, ax in panels.items():
            self.assertEqual(ax.get_xlabel(), "fault latency (cycles)")
            series = {}
            for label, path in (("cow", f"{d}/cow.faults.csv"), ("eager", f"{d}/eager.faults.csv")):
                lat = sorted(float(r["total"]) for r in self.rows(path) if r["kind"] == kind)
                if lat:
                    series[label] = lat
            lines = ax.get_lines()
            self.assertEqual(len(lines), len(series), kind)
            for line, (label, lat) in zip(lines, series.items()):
                self.assertTrue(line.get_label().startswith(f"{label} (n={len(lat)}, "), line.get_label())
                xs, ys = list(line.get_xdata()), list(line.get_ydata())
                self.assertEqual(xs[1:-1], lat)
                self.assertEqual(ys[-1], 1.0)
                self.assertEqual(ys[1:-1], [(i + 1) / len(lat) for i in range(len(lat))])

    def test_timeline(self):
        d = self.d
        rc, so, se = self.plot("timeline", f"{d}/cow.timeline.csv", f"{d}/eager.timeline.csv",
                               "--labels", "cow,eager", "-o", f"{d}/timeline")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/timeline")
        ax = self.axes()[0]
        self.assertEqual(ax.get_ylabel(), "frames (4 KiB each)")
        self.assertTrue(ax.get_xlabel().startswith("simulated time ("), ax.get_xlabel())
        # Two series per input (frames in use, shared frames): the CSV's columns.
        lines = ax.get_lines()
        self.assertEqual(len(lines), 4)
        for i, label in enumerate(("cow", "eager")):
            rows = self.rows(f"{d}/{label}.timeline.csv")
            for line, col, name in ((lines[2 * i], "frames_in_use", "frames in use"),
                                    (lines[2 * i + 1], "shared_frames", "shared frames")):
                want = [float(r[col]) for r in rows]
                self.assertEqual(list(line.get_ydata()), want)
                self.assertEqual(line.get_label(), f"{label}: {name} (peak {max(want):,.0f})")
        # under cow the parent's page is shared with the child until the child writes it
        self.assertGreater(max(float(r["shared_frames"]) for r in self.rows(f"{d}/cow.timeline.csv")), 0)

    def test_sweep(self):
        d = self.d
        rc, so, se = self.plot("sweep", f"{d}/sweep/results.csv", "--x", "mem.copy_bytes_per_cycle",
                               "--y", "sim.cycles", "--by", "kernel.fork_policy", "--where", "trace=tutorial-int-x",
                               "-o", f"{d}/sweep-plot")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/sweep-plot")
        ax = self.axes()[0]
        self.assertEqual(ax.get_xlabel(), "mem.copy_bytes_per_cycle (bytes/cycle)")
        self.assertTrue(ax.get_ylabel().startswith("sim.cycles"), ax.get_ylabel())
        self.assertEqual(self.legend_texts(ax), ["cow", "eager"])
        rows = self.rows(f"{d}/sweep/results.csv")
        ylabel = ax.get_ylabel()
        scale = 1e6 if "million" in ylabel else 1.0
        for line, policy in zip(ax.get_lines(), ("cow", "eager")):
            pts = sorted((float(r["mem.copy_bytes_per_cycle"]), float(r["sim.cycles"]) / scale)
                         for r in rows if r["kernel.fork_policy"] == policy)
            self.assertEqual(list(line.get_xdata()), [p[0] for p in pts])
            for got, want in zip(line.get_ydata(), (p[1] for p in pts)):
                self.assertAlmostEqual(got, want, places=6)
        # more bytes per cycle copy faster: fewer cycles
        for line in ax.get_lines():
            ys = list(line.get_ydata())
            self.assertGreater(ys[0], ys[1])
        rc, so, se = self.plot("sweep", f"{d}/sweep/results.csv", "--x", "kernel.fork_policy",
                               "--y", "memory.bytes_copied", "--by", "mem.copy_bytes_per_cycle", "-o", f"{d}/cat")
        self.assertEqual(rc, 0, se)
        self.check_figure(f"{d}/cat")
        ax = self.axes()[0]
        self.assertEqual([t.get_text() for t in ax.get_xticklabels()], ["cow", "eager"])
        self.assertEqual(self.legend_texts(ax), ["4", "64"])
        for line in ax.get_lines():  # the tutorial copies one page under either policy
            self.assertEqual(list(line.get_ydata()), [4096.0, 4096.0])

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
