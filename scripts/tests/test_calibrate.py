#!/usr/bin/python3
"""Tests of scripts/calibrate's fit, on recorded measurements (no live timing).

  /usr/bin/python3 scripts/tests/test_calibrate.py [path/to/mmusim]

scripts/tests/data/host-measurements.json was recorded on the machine the
checked-in preset testbench/configs/host.toml was fitted on
(scripts/calibrate --record scripts/tests/data/host-measurements.json). The
fit of it must give exactly the parameters below and exactly that preset;
mmusim run with the preset on the calibration scenarios must be within 25%
of every measured quantity and count the same faults as Linux did. A check
that fails (the measurements altered as a host without a shared zero page
would give them) ends with one line naming each failing quantity and what to
do about it.
After a recalibration, update EXPECTED (the test prints the new values)."""

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import tomllib
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
SCRIPTS = os.path.dirname(HERE)
REPO = os.path.dirname(SCRIPTS)
MEASUREMENTS = os.path.join(HERE, "data", "host-measurements.json")
PRESET = os.path.join(REPO, "testbench", "configs", "host.toml")
MMUSIM = os.path.join(REPO, "build", "mmusim")


def load(path, name):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


cal = load(os.path.join(SCRIPTS, "calibrate"), "calibrate")

EXPECTED = {
    "cpu.freq_mhz": 2977,
    "mem.copy_bytes_per_cycle": 3,
    "kernel.trap_entry": 122,
    "kernel.trap_exit": 122,
    "kernel.fault_base": 815,
    "kernel.pte_update": 20,
    "kernel.tlb_flush": 1387,
    "kernel.frame_alloc": 2460,
    "kernel.fork_base": 66073,
    "kernel.fork_per_pte": 72,
}


def measurements():
    with open(MEASUREMENTS) as f:
        return json.load(f)


class Fit(unittest.TestCase):
    def test_exact_parameters(self):
        params = cal.fit(measurements(), mem_latency=100, syscall=650)["params"]
        if params != EXPECTED:
            print("\nfitted parameters:", json.dumps(params, indent=4), file=sys.stderr)
        self.assertEqual(params, EXPECTED)

    def test_model_balance(self):
        """The fitted fault latencies, computed with mmusim's formulas, are off
        by one relative error: reuse and demand-zero up, read and copy down."""
        m = measurements()
        r = cal.fit(m, mem_latency=100, syscall=650)
        p, d = r["params"], r["derived"]
        lat = 100
        a = p["kernel.trap_entry"] + p["kernel.trap_exit"] + p["kernel.fault_base"] + p["kernel.pte_update"] + 5 * lat
        z = lat + -(-4096 // p["mem.copy_bytes_per_cycle"])
        model = {"read_zero": a, "cow_reuse": a + p["kernel.tlb_flush"],
                 "demand_zero": a + p["kernel.frame_alloc"] + z,
                 "cow_copy": a + p["kernel.tlb_flush"] + p["kernel.frame_alloc"] + z}
        e = d["balanced_error"]
        cyc = lambda ns: ns * p["cpu.freq_mhz"] / 1000  # noqa: E731
        for kind, sign in (("read_zero", -1), ("cow_reuse", 1), ("demand_zero", 1), ("cow_copy", -1)):
            want = cyc(m["faults"][kind]["ns_per_page"]) * (1 + sign * e)
            self.assertAlmostEqual(model[kind], want, delta=3, msg=kind)
        self.assertLess(abs(e), cal.TOLERANCE)

    def test_preset_matches_checked_in(self):
        m = measurements()
        text = cal.preset_text(m, cal.fit(m, mem_latency=100, syscall=650))
        with open(PRESET) as f:
            self.assertEqual(text, f.read(), "testbench/configs/host.toml is not the fit of the recorded measurements")
        cfg = tomllib.loads(text)
        flat = {f"{sec}.{k}": v for sec, kv in cfg.items() for k, v in kv.items()}
        self.assertEqual(flat, EXPECTED)

    def test_clock_and_bandwidth(self):
        m = dict(measurements())
        m["clock_mhz"] = 2000.4
        m["memcpy_4k_ns"] = m["memset_4k_ns"] = 1074.0 / 2  # 1074 cycles: lat 100 + 4096/4 (rounded)
        p = cal.fit(m, mem_latency=100, syscall=650)["params"]
        self.assertEqual(p["cpu.freq_mhz"], 2000)
        self.assertEqual(p["mem.copy_bytes_per_cycle"], 4)


class MinimaxLine(unittest.TestCase):
    def test_exact_line(self):
        pts = [(x, 1000 + 3 * x + 50, 50) for x in (0, 100, 1000, 5000)]
        a, b = cal.minimax_line(pts)
        self.assertAlmostEqual(a, 1000, places=6)
        self.assertAlmostEqual(b, 3, places=9)

    def test_equioscillates(self):
        pts = [(0, 100.0, 0), (10, 130.0, 0), (20, 200.0, 0), (30, 250.0, 0)]
        a, b = cal.minimax_line(pts)
        errs = [(a + b * x + k) / y - 1 for x, y, k in pts]
        worst = max(abs(e) for e in errs)
        at_worst = [e for e in errs if abs(abs(e) - worst) < 1e-9]
        self.assertGreaterEqual(len(at_worst), 3)
        # no other line through two of the points does better
        for i in range(4):
            for j in range(i + 1, 4):
                (x1, y1, _), (x2, y2, _) = pts[i], pts[j]
                bb = (y2 - y1) / (x2 - x1)
                aa = y1 - bb * x1
                self.assertGreaterEqual(max(abs((aa + bb * x) / y - 1) for x, y, _ in pts), worst - 1e-12)

    def test_needs_two_sizes(self):
        with self.assertRaises(cal.CalibrationError):
            cal.minimax_line([(0, 10.0, 0)])


def without_zero_page(m):
    """The recorded measurements as a host whose kernel allocates a page on a
    read fault would give them (a microVM's was seen doing so): the read
    costs a demand-zero fault, the write after it does not fault at all."""
    f = m["faults"]
    f["read_zero"]["ns_per_page"] = f["demand_zero"]["ns_per_page"]
    f["cow_zero"]["ns_per_page"] = 40.0
    f["cow_zero"]["minflt_net"] = 0
    return m


class WhatToDo(unittest.TestCase):
    """The last line of a failed check: each failing quantity, grouped by
    cause, with what to do about it."""

    def advice(self, m, failed):
        return cal.what_to_do(m, cal.fit(m, mem_latency=100, syscall=650), failed)

    def test_no_zero_page(self):
        m = without_zero_page(measurements())
        line = self.advice(m, [("read_zero", "zero-page read fault -28%"),
                               ("count:cow_zero", "write after read (cow_zero) count 0 (mmusim 16384)")])
        self.assertTrue(line.startswith("zero-page read fault -28%, write after read (cow_zero) count 0 "
                                        "(mmusim 16384): this host's kernel does not map the shared zero page"),
                        line)
        self.assertIn("kernel.zero_page = false", line)

    def test_faults_below_the_model(self):
        m = measurements()
        for f in m["faults"].values():
            f["ns_per_page"] *= 0.15  # the read fault: 283 cycles, below 5 accesses of 100
        line = self.advice(m, [("read_zero", "zero-page read fault +78%")])
        self.assertIn("zero-page read fault +78%: faults here cost less than the model's least (500 cycles", line)
        self.assertIn("--freq-mhz", line)

    def test_causes_are_grouped(self):
        line = self.advice(measurements(), [("fork", "fork, 0 touched +30%"), ("fork", "fork, 16M touched -27%"),
                                            ("count:demand_zero", "demand-zero fault count 16390 (mmusim 16384)")])
        fork, count = line.split("; ")
        self.assertTrue(fork.startswith("fork, 0 touched +30%, fork, 16M touched -27%: fork's cost"), fork)
        self.assertTrue(count.startswith("demand-zero fault count 16390 (mmusim 16384): Linux counted faults "
                                         "other than the benchmark's own"), count)


class EndToEnd(unittest.TestCase):
    def calibrate(self, measurements_file, *args):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "host.toml")
            proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "calibrate"), "--from", measurements_file,
                                   "--binary", MMUSIM, "--out", out, *args], capture_output=True, text=True)
            with open(out) as f:
                return proc, f.read()

    def test_recorded_measurements_pass(self):
        proc, preset = self.calibrate(MEASUREMENTS)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout.splitlines()[-1], "calibration: PASS (tolerance 25%)")
        with open(PRESET) as g:
            self.assertEqual(preset, g.read())

    def test_failed_check_ends_with_what_to_do(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "no-zero-page.json")
            with open(path, "w") as f:
                json.dump(without_zero_page(measurements()), f)
            proc, _ = self.calibrate(path)
            self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
            last = proc.stdout.splitlines()[-1]
            self.assertTrue(last.startswith("calibration: FAIL (tolerance 25%): "), last)
            # every failing row of the table is named in the last line
            failing = [line[:30].strip() for line in proc.stdout.splitlines() if line.endswith("  FAIL")]
            self.assertIn("write after read (cow_zero)", failing)
            for name in failing:
                self.assertIn(name, last)
            self.assertIn("count 0 (mmusim 16384)", last)
            self.assertIn("does not map the shared zero page", last)
            proc, _ = self.calibrate(path, "--no-check")
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertIn("calibration: FAIL", proc.stdout.splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
