#!/usr/bin/python3
"""scripts/bench --quick, end to end, and the JSON it writes with --json.

  test_bench.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)

The bench must run every case and print every figure issue 14 sets a target
for; its JSON must name the host (the CPU model as a string: a fork figure
once overwrote it with a number of seconds) and hold each target's figure.
The simulated figures are exact: every form of the hit trace (text, zstd,
gzip, binary) simulates the same cycles, with or without the reference model.
No figure is checked against a speed: timing is the bench's to report.
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BENCH = os.path.join(REPO, "scripts", "bench")
MMUSIM = None


class BenchTest(unittest.TestCase):
    def test_quick_run_and_json(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "bench.json")
            p = subprocess.run([sys.executable, BENCH, "--quick", "--binary", MMUSIM, "--json", out],
                               capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for figure in ("binary input", "the bare replay", "peak RSS", "eager fork", "cow fork",
                           "target: 1.0 s wall", "lockstep", "lockstep-inline"):
                self.assertIn(figure, p.stdout)
            with open(out) as fh:
                data = json.load(fh)

        host = data["host"]
        self.assertIsInstance(host["cpu"], str)
        self.assertTrue(host["cpu"])
        self.assertEqual(host["cpus"], os.cpu_count())

        ratios = data["ratios"]
        for key in ("hits.to_bare_replay_ratio", "hits.binary_accesses_per_second", "hits.binary_to_text_ratio",
                    "hits.long_to_short_rss_ratio", "faults.faults_per_second", "faults.max_rss_budget_mib",
                    "fork.eager_seconds", "fork.cow_seconds", "host.fresh_memory_seconds_per_gib"):
            self.assertIn(key, ratios)
            self.assertIsInstance(ratios[key], (int, float), key)
        self.assertGreater(ratios["hits.binary_accesses_per_second"], 0)

        cases = data["cases"]
        # Every form of the hit trace, with and without the reference model:
        # the same accesses and the same simulated cycles.
        hits = [c for c in cases if c.get("workload") == "hits" and not c.get("bare")]
        self.assertEqual({c["input"] for c in hits}, {"plain", "zst", "gz", "binary"})
        self.assertEqual({c["reference"] for c in hits}, {True, False})
        cycles = {c["name"]: {r["cycles"] for r in c["runs"]} for c in hits}
        self.assertEqual(len(set().union(*cycles.values())), 1, cycles)
        accesses = {r["accesses"] for c in hits for r in c["runs"]}
        self.assertEqual(accesses, {data["options"]["accesses"]})
        # The fault trace (with and without the reference model and the host
        # prefaulter): one demand-zero fault and one COW copy per page of the
        # parent's mapping, and the same cycles.
        faults = [c for c in cases if c.get("workload") == "faults"]
        self.assertEqual(len(faults), 3, [c["name"] for c in faults])
        pages = data["options"]["fault_size"] // 4096
        for c in faults:
            for r in c["runs"]:
                self.assertEqual(r["faults_by_kind"]["demand_zero"], pages, c["name"])
                self.assertEqual(r["faults_by_kind"]["cow_copy"], pages, c["name"])
                self.assertEqual(r["faults"], 2 * pages, c["name"])
        self.assertEqual(len({r["cycles"] for c in faults for r in c["runs"]}), 1)

if __name__ == "__main__":
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main()
