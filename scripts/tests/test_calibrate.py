#!/usr/bin/python3
"""Tests of scripts/calibrate's fit, on recorded measurements (no live timing).

  /usr/bin/python3 scripts/tests/test_calibrate.py [path/to/mmusim]

scripts/tests/data/host-measurements.json was recorded on the machine the
checked-in preset testbench/configs/host.toml was fitted on
(scripts/calibrate --record scripts/tests/data/host-measurements.json). The
fit of it must give exactly the parameters below and exactly that preset;
mmusim run with the preset on the calibration scenarios must be within 25%
of every measured quantity and count the same faults as Linux did.
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


class EndToEnd(unittest.TestCase):
    def test_recorded_measurements_pass(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "host.toml")
            proc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "calibrate"), "--from", MEASUREMENTS,
                                   "--binary", MMUSIM, "--out", out], capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertIn("calibration: PASS", proc.stdout)
            with open(out) as f, open(PRESET) as g:
                self.assertEqual(f.read(), g.read())


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
