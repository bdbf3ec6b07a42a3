#!/usr/bin/python3
"""scripts/sweep --slurm --submit on a real Slurm cluster.

  test_sweep_slurm.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)

scripts/slurm-cluster starts a throw-away single-node cluster (Debian's
slurmctld, slurmd and munged, all state in a temporary directory, stopped
afterwards whatever happens); the sweep of test_sweep.py runs through it,
and its merged CSV must equal the one GNU parallel produces for the same
description, column for column (the host's wall time aside). A sweep with a
failing point must leave the merge job unrun and exit 1. Needs root and the
packages scripts/setup installs; without root it is skipped (exit 77).
"""

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SWEEP = os.path.join(REPO, "scripts", "sweep")
CLUSTER = os.path.join(REPO, "scripts", "slurm-cluster")
TRACES = os.path.join(REPO, "traces")
MMUSIM = None  # set from the command line
SKIP = 77      # ctest's SKIP_RETURN_CODE for this test

sys.path.insert(0, HERE)
from test_sweep import GOOD  # noqa: E402  (the same tiny sweep as test_sweep.py)

FAILING = """
name = "tiny-failing"
traces = ["{traces}/tutorial-int-x.trace"]
[grid]
"kernel.fork_policy" = ["cow", "bogus"]
"""

HOST_TIME = {"sim.wall_seconds"}  # the only column that depends on the host, not the simulation


def rows_of(path):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        rows = [{k: v for k, v in row.items() if k not in HOST_TIME} for row in r]
        return r.fieldnames, sorted(rows, key=lambda row: row["point"])


class SweepOnSlurm(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mmusim-test-slurm-")
        self.dir = self.tmp.name
        os.chmod(self.dir, 0o755)  # the jobs run as the submitting user, from here

    def tearDown(self):
        self.tmp.cleanup()

    def desc(self, text, name):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text.format(traces=TRACES))
        return path

    def on_cluster(self, *sweep_args):
        """Runs one sweep command inside a fresh cluster; (status, output)."""
        cmd = [CLUSTER, "run", "--cpus", "2", "--", sys.executable, SWEEP, *sweep_args,
               "--mmusim", MMUSIM, "--slurm", "--submit", "--poll", "0.5", "--wait-timeout", "300"]
        p = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=600)
        return p.returncode, p.stdout + p.stderr

    def test_merged_csv_equals_gnu_parallel(self):
        desc = self.desc(GOOD, "good.toml")
        slurm_out, local_out = os.path.join(self.dir, "slurm"), os.path.join(self.dir, "local")
        rc, out = self.on_cluster(desc, "--out", slurm_out)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"submitted: array job \d+, merge job \d+")
        self.assertRegex(out, r"array job \d+: 4 completed; merge job \d+: COMPLETED")
        p = subprocess.run([sys.executable, SWEEP, desc, "--out", local_out, "--mmusim", MMUSIM, "--jobs", "2"],
                           cwd=self.dir, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        head_s, rows_s = rows_of(os.path.join(slurm_out, "results.csv"))
        head_l, rows_l = rows_of(os.path.join(local_out, "results.csv"))
        self.assertEqual(head_s, head_l)
        self.assertEqual(len(rows_s), 4)
        # the output directory is not part of a point: same ids, same statistics
        self.assertEqual(rows_s, rows_l)
        # the jobs' logs are where the scripts said
        logs = os.listdir(os.path.join(slurm_out, "slurm", "logs"))
        self.assertEqual(len([f for f in logs if f.startswith("merge_")]), 1, logs)
        self.assertEqual(len([f for f in logs if not f.startswith("merge_")]), 4, logs)

    def test_failed_point_leaves_the_merge_unrun(self):
        desc = self.desc(FAILING, "failing.toml")
        out_dir = os.path.join(self.dir, "failing")
        rc, out = self.on_cluster(desc, "--out", out_dir)
        self.assertEqual(rc, 1, out)
        self.assertRegex(out, r"array job \d+: 1 completed, 1 failed; merge job \d+: never ran "
                              r"\(DependencyNeverSatisfied: a task of the array failed\), cancelled")
        self.assertIn("failed tasks (line of jobs.txt = task + 1): 1;", out)
        self.assertFalse(os.path.exists(os.path.join(out_dir, "results.csv")))


def main():
    global MMUSIM
    if len(sys.argv) < 2:
        print("usage: test_sweep_slurm.py MMUSIM", file=sys.stderr)
        return 2
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    if os.geteuid() != 0:
        print("skipped: a Slurm cluster needs root (munged runs as the munge user, slurmd as root)")
        return SKIP
    missing = [t for t in ("slurmctld", "slurmd", "munged", "sbatch") if not shutil.which(t)
               and not os.path.exists(f"/usr/sbin/{t}")]
    if missing:  # scripts/setup installs them: their absence is a broken setup, not a skip
        print(f"missing {', '.join(missing)}: run scripts/setup", file=sys.stderr)
        return 1
    result = unittest.main(verbosity=2, exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
