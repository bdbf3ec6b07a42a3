#!/usr/bin/python3
"""Tests of scripts/mmusim_tools.py, the scripts' shared way of running mmusim:
find_binary, load_config (--print-config read with tomllib) and run_mmusim
(statistics loaded; a failure raises with the command and mmusim's output).

  test_mmusim_tools.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)
"""

import os
import sys
import tempfile
import tomllib
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import mmusim_tools as tools  # noqa: E402

TRACE = os.path.join(REPO, "traces", "tutorial-int-x.trace")
MMUSIM = None


class FindBinary(unittest.TestCase):
    def test_explicit_path(self):
        self.assertEqual(tools.find_binary(MMUSIM), MMUSIM)
        self.assertEqual(tools.find_binary(os.path.relpath(MMUSIM)), MMUSIM)  # made absolute

    def test_default(self):
        self.assertEqual(tools.DEFAULT_BINARY, os.path.join(REPO, "build", "mmusim"))

    def test_missing(self):
        with tempfile.TemporaryDirectory() as d:
            for path in (os.path.join(d, "no-such-mmusim"), d, TRACE):  # missing, a directory, not executable
                with self.assertRaises(tools.MmusimError) as cm:
                    tools.find_binary(path)
                self.assertIn(f"mmusim not found or not executable: {os.path.abspath(path)}", str(cm.exception))
                self.assertIn("--binary", str(cm.exception))


class LoadConfig(unittest.TestCase):
    def test_defaults(self):
        cfg = tools.load_config(MMUSIM)
        self.assertEqual(cfg["tlb.l1.entries"], 64)       # a nested table, an integer
        self.assertEqual(cfg["kernel.fork_policy"], "cow")  # a string, unquoted
        self.assertIs(cfg["verify.reference"], True)
        self.assertNotIn("tlb.l1", cfg)

    def test_arguments(self):
        cfg = tools.load_config(MMUSIM, ["--set", "mem.latency=7", "--fork-policy", "eager"])
        self.assertEqual((cfg["mem.latency"], cfg["kernel.fork_policy"]), (7, "eager"))
        preset = os.path.join(REPO, "testbench", "configs", "host.toml")
        with open(preset, "rb") as f:
            freq = tomllib.load(f)["cpu"]["freq_mhz"]
        self.assertEqual(tools.load_config(MMUSIM, ["-c", preset])["cpu.freq_mhz"], freq)

    def test_error(self):
        with self.assertRaises(tools.MmusimError) as cm:
            tools.load_config(MMUSIM, ["--set", "tlb.l1.entriez=1"])
        msg = str(cm.exception)
        self.assertIn("mmusim failed (exit status 2)", msg)
        self.assertIn("--set tlb.l1.entriez=1 --print-config", msg)  # the command
        self.assertIn("entriez", cm.exception.output)                 # mmusim's own message


class RunMmusim(unittest.TestCase):
    def test_statistics(self):
        s = tools.run_mmusim(MMUSIM, TRACE, ["--fork-policy", "eager"])
        self.assertIsInstance(s, dict)
        self.assertGreater(s["sim.cycles"], 0)
        self.assertEqual(s["faults.cow_copy"], 0)
        self.assertEqual(s.command[:3], [MMUSIM, "-q", "--stats"])
        self.assertEqual(s.command[-3:], ["--fork-policy", "eager", TRACE])
        self.assertGreater(s.wall_seconds, 0)
        self.assertGreater(s.rusage.ru_maxrss, 0)
        self.assertFalse(os.path.exists(s.command[3]))  # the temporary JSON is removed

    def test_kept_statistics(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "stats.json")
            with open(path, "w") as f:
                f.write('{"sim.cycles": 1}')  # stale: replaced
            s = tools.run_mmusim(MMUSIM, TRACE, stats=path)
            with open(path) as f:
                self.assertIn(f'"sim.cycles": {s["sim.cycles"]}', f.read())

    def test_failure(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad trace")
            with open(bad, "w") as f:
                f.write("1 frobnicate 0x1000\n")
            path = os.path.join(d, "stats.json")
            with self.assertRaises(tools.MmusimError) as cm:
                tools.run_mmusim(MMUSIM, bad, stats=path)
        msg = str(cm.exception)
        self.assertIn("mmusim failed (exit status 2)", msg)
        self.assertIn("'" + bad + "'", msg)          # the command, quoted for a shell
        self.assertIn("frobnicate", cm.exception.output)  # mmusim's error
        self.assertIn("frobnicate", msg)

    def test_missing_binary(self):
        with self.assertRaises(tools.MmusimError) as cm:
            tools.run_mmusim("/nonexistent/mmusim", TRACE)
        self.assertIn("/nonexistent/mmusim", str(cm.exception))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_mmusim_tools.py MMUSIM")
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
