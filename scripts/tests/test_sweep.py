#!/usr/bin/python3
"""Tests of scripts/sweep: run, merge, resume, failed points, Slurm scripts,
output directories with spaces and shell metacharacters.

  test_sweep.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)

A tiny sweep: two small scenario traces x kernel.fork_policy = cow, eager.
Nothing here depends on timing: what ran is read from the sweep's output
and its ran.txt, and untouched results are recognised by their unchanged
modification times.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SWEEP = os.path.join(REPO, "scripts", "sweep")
TRACES = os.path.join(REPO, "traces")
MMUSIM = None  # set from the command line

GOOD = """
name = "tiny"
traces = ["{traces}/tutorial-int-x.trace", "{traces}/fork-chain.trace"]
[grid]
"kernel.fork_policy" = ["cow", "eager"]
[set]
"mmu.pwc_entries" = 8
"""

FAILING = """
name = "tiny-failing"
traces = ["{traces}/tutorial-int-x.trace", "{traces}/fork-chain.trace"]
[grid]
"kernel.fork_policy" = ["cow", "bogus"]
"""


def sweep(*args):
    p = subprocess.run([sys.executable, SWEEP, "--mmusim", MMUSIM, "--jobs", "2", *args],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    return p.returncode, p.stdout, p.stderr


def read_csv(path):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        return r.fieldnames, list(r)


def ran_ids(stdout):
    return sorted(line.split(None, 1)[1] for line in stdout.splitlines() if line.startswith("  run "))


def expected(name):
    with open(os.path.join(TRACES, name)) as f:
        return json.load(f)["stats"]


class SweepTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mmusim-test-sweep-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write_desc(self, text, name="desc.toml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text.format(traces=TRACES))
        return path

    def check_csv(self, csv_path, nrows):
        header, rows = read_csv(csv_path)
        for col in ("point", "trace", "kernel.fork_policy", "sim.cycles", "sim.accesses", "faults.demand_zero",
                    "faults.cow_copy", "faults.cow_reuse", "faults.latency.cow_copy.mean",
                    "faults.latency.cow_copy.p99", "fork.cycles", "memory.frames_peak",
                    "memory.data_frames_peak", "memory.bytes_copied", "tlb.l1.hit_rate", "tlb.l2.hit_rate",
                    "verify.mismatches"):
            self.assertIn(col, header)
        # the swept keys come between 'trace' and the statistics (scripts/plot relies on it)
        self.assertEqual(header[:4], ["point", "trace", "kernel.fork_policy", "sim.cycles"])
        self.assertEqual(len(rows), nrows)
        for r in rows:
            self.assertEqual(r["verify.mismatches"], "0", r["point"])
            self.assertGreater(int(r["sim.cycles"]), 0)
            if r["kernel.fork_policy"] == "eager":
                self.assertEqual(r["faults.cow_copy"], "0", r["point"])
                self.assertEqual(r["faults.cow_reuse"], "0", r["point"])
                self.assertEqual(r["faults.latency.cow_copy.mean"], "", r["point"])  # no such faults: no mean
        return rows

    def test_run_merge_resume_slurm(self):
        desc = self.write_desc(GOOD)
        out = os.path.join(self.dir, "out")
        csv_path = os.path.join(out, "results.csv")

        # --- first run: all four points
        rc, so, se = sweep(desc, "--out", out)
        self.assertEqual(rc, 0, so + se)
        rows = self.check_csv(csv_path, 4)
        self.assertEqual(len(ran_ids(so)), 4, so)
        by = {(os.path.basename(r["trace"]), r["kernel.fork_policy"]): r for r in rows}
        self.assertEqual(set(by), {(t, p) for t in ("tutorial-int-x.trace", "fork-chain.trace")
                                   for p in ("cow", "eager")})
        # values: the scenario's expected statistics, per policy
        for policy, exp in (("cow", expected("tutorial-int-x.expected.json")),
                            ("eager", expected("tutorial-int-x.eager.expected.json"))):
            r = by[("tutorial-int-x.trace", policy)]
            for k, v in exp.items():
                if k in r:
                    self.assertEqual(float(r[k]), float(v), f"{policy} {k}")
        exp = expected("fork-chain.expected.json")
        r = by[("fork-chain.trace", "cow")]
        self.assertEqual(int(r["faults.cow_copy"]), exp["faults.cow_copy"])
        self.assertEqual(int(r["faults.cow_reuse"]), exp["faults.cow_reuse"])
        self.assertGreater(int(by[("fork-chain.trace", "eager")]["memory.bytes_copied"]), 0)
        # the job list: one line per point, id TAB command
        with open(os.path.join(out, "jobs.txt")) as f:
            jobs = [line.rstrip("\n").split("\t") for line in f]
        self.assertEqual(len(jobs), 4)
        ids = [j[0] for j in jobs]
        self.assertEqual(sorted(ids), sorted(r["point"] for r in rows))
        for pid, cmd in jobs:
            self.assertIn("--set kernel.fork_policy=", cmd)
            self.assertIn("--set mmu.pwc_entries=8", cmd)

        # --- ids are stable: a dry run lists the same ones
        rc, so, se = sweep(desc, "--out", out, "--dry-run")
        self.assertEqual(rc, 0, se)
        with open(os.path.join(out, "jobs.txt")) as f:
            self.assertEqual([line.split("\t")[0] for line in f], ids)

        # --- resume: delete one result, corrupt another; exactly those two rerun
        pts = os.path.join(out, "points")
        deleted, corrupted, *kept = ids
        mtimes = {i: os.stat(os.path.join(pts, i + ".json")).st_mtime_ns for i in kept}
        os.unlink(os.path.join(pts, deleted + ".json"))
        with open(os.path.join(pts, corrupted + ".json"), "w") as f:
            f.write('{"sim.cycles": 12,')  # truncated
        rc, so, se = sweep(desc, "--out", out)
        self.assertEqual(rc, 0, so + se)
        self.assertEqual(ran_ids(so), sorted([deleted, corrupted]), so)
        with open(os.path.join(out, "ran.txt")) as f:
            self.assertEqual(sorted(f.read().split()), sorted([deleted, corrupted]))
        self.assertIn("2 point(s) have results already", so)
        for i in kept:
            self.assertEqual(os.stat(os.path.join(pts, i + ".json")).st_mtime_ns, mtimes[i], i)
        rows2 = self.check_csv(csv_path, 4)
        self.assertEqual({r["point"]: r["sim.cycles"] for r in rows2}, {r["point"]: r["sim.cycles"] for r in rows})

        # --- nothing left to do
        rc, so, se = sweep(desc, "--out", out)
        self.assertEqual(rc, 0, se)
        self.assertEqual(ran_ids(so), [])
        self.assertIn("nothing to run", so)

        # --- merge only
        rc, so, se = sweep(desc, "--out", out, "--merge-only")
        self.assertEqual(rc, 0, se)
        self.assertIn("4 of 4 points merged", so)

        # --- Slurm: scripts written, nothing run; run-point.sh runs one line of the job list
        mtimes = {i: os.stat(os.path.join(pts, i + ".json")).st_mtime_ns for i in ids}
        rc, so, se = sweep(desc, "--out", out, "--slurm")
        self.assertEqual(rc, 0, se)
        with open(os.path.join(out, "slurm", "array.sbatch")) as f:
            array = f.read()
        self.assertIn("#SBATCH --array=0-3\n", array)
        self.assertIn("SLURM_ARRAY_TASK_ID + 1", array)
        with open(os.path.join(out, "slurm", "merge.sbatch")) as f:
            self.assertIn("--merge-only", f.read())
        with open(os.path.join(out, "slurm", "submit.sh")) as f:
            self.assertIn("--dependency=afterok:", f.read())
        self.assertEqual({i: os.stat(os.path.join(pts, i + ".json")).st_mtime_ns for i in ids}, mtimes)
        os.unlink(os.path.join(pts, ids[2] + ".json"))
        runner = os.path.join(out, "run-point.sh")
        p = subprocess.run([runner, "--skip-done", "3"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(pts, ids[2] + ".json")) as f:
            self.assertIn("sim.cycles", json.load(f))
        p = subprocess.run([runner, "--skip-done", "1"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("skipped", p.stdout)
        self.assertEqual(os.stat(os.path.join(pts, ids[0] + ".json")).st_mtime_ns, mtimes[ids[0]])

    def test_odd_output_directory(self):
        """An output directory whose name a shell or sbatch would split or
        expand: local runs (GNU parallel) and the Slurm scripts work in it."""
        desc = self.write_desc(GOOD)
        odd = "my sweeps/it's \"odd\" $HOME;&|<x>*?#%A"
        out = os.path.join(self.dir, odd + "\\back")  # a backslash too: fine locally
        rc, so, se = sweep(desc, "--out", out)
        self.assertEqual(rc, 0, so + se)
        self.check_csv(os.path.join(out, "results.csv"), 4)

        # Slurm: submit.sh run by sh, with a stand-in sbatch that reads #SBATCH
        # lines and --output patterns as Slurm does and runs each job at once
        out = os.path.join(self.dir, odd)
        rc, so, se = sweep(desc, "--out", out, "--slurm")
        self.assertEqual(rc, 0, so + se)
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.join(HERE, "fake-sbatch"), os.path.join(bindir, "sbatch"))
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"],
                   FAKE_SBATCH_STATE=os.path.join(self.dir, "jobid"))
        p = subprocess.run([os.path.join(out, "slurm", "submit.sh")], env=env, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(sorted(os.listdir(os.path.join(out, "slurm", "logs"))),
                         ["100_0.out", "100_1.out", "100_2.out", "100_3.out", "merge_101.out"])
        with open(os.path.join(out, "slurm", "logs", "merge_101.out")) as f:
            self.assertIn("4 of 4 points merged", f.read())
        self.check_csv(os.path.join(out, "results.csv"), 4)

        # a backslash cannot be put in an --output pattern: refused, nothing written
        out = os.path.join(self.dir, "back\\slash")
        rc, so, se = sweep(desc, "--out", out, "--slurm")
        self.assertEqual(rc, 2, so + se)
        self.assertIn("backslash", se)
        self.assertFalse(os.path.exists(out))

    def test_failed_points(self):
        desc = self.write_desc(FAILING)
        out = os.path.join(self.dir, "out")
        csv_path = os.path.join(out, "results.csv")
        rc, so, se = sweep(desc, "--out", out)
        self.assertEqual(rc, 1, so + se)
        bad = [i for i in ran_ids(so) if "fork_policy=bogus" in i]
        good = [i for i in ran_ids(so) if "fork_policy=cow" in i]
        self.assertEqual((len(bad), len(good)), (2, 2), so)
        for i in bad:
            self.assertIn(f"point FAILED: {i} (exit status 2)", se)
        self.assertIn("--set kernel.fork_policy=bogus", se)   # its command
        self.assertIn("mmusim: --set kernel.fork_policy=bogus", se)  # its error output
        self.assertIn("2 point(s) missing or failed", so)
        # the others' results survive, and the CSV holds them
        header, rows = read_csv(csv_path)
        self.assertEqual(sorted(r["point"] for r in rows), sorted(good))
        for i in bad:
            self.assertFalse(os.path.exists(os.path.join(out, "points", i + ".json")))
            self.assertTrue(os.path.exists(os.path.join(out, "points", i + ".failed")))
        # rerun: the failed points run again, the good ones are kept
        rc, so, se = sweep(desc, "--out", out)
        self.assertEqual(rc, 1)
        self.assertEqual(ran_ids(so), sorted(bad), so)
        rc, so, se = sweep(desc, "--out", out, "--merge-only")
        self.assertEqual(rc, 1)
        self.assertIn("2 of 4 points merged", so)
        for i in bad:
            self.assertIn(f"{i}: exit status 2", so)

    def test_bad_descriptions(self):
        cases = {
            'name = "x"\ntraces = ["{traces}/tutorial-int-x.trace"]\n[grid]\n"tlb.l2.entriez" = [0]\n':
                'grid."tlb.l2.entriez": unknown configuration key',
            'name = "x"\ntraces = ["{traces}/no-such.trace"]\n': "traces[0]: trace",
            'name = "x"\ntraces = ["{traces}/tutorial-int-x.trace"]\n[grid]\n"tlb.l1.entries" = 32\n':
                'grid."tlb.l1.entries": expected a list',
            'name = "x"\ntraces = ["{traces}/tutorial-int-x.trace"]\nbogus = 1\n': "unknown key 'bogus'",
            'name = "x\n': "not valid TOML",
        }
        for text, msg in cases.items():
            desc = self.write_desc(text, "bad.toml")
            rc, so, se = sweep(desc, "--out", os.path.join(self.dir, "bad"))
            self.assertEqual(rc, 2, text)
            self.assertIn("bad.toml", se)
            self.assertIn(msg, se)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_sweep.py MMUSIM")
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
