#!/usr/bin/python3
"""Tests of the snapshotting-server scenario (scripts/mmusim_traces.py
snapshot_server(), `scripts/gen-trace snapshot`) and of scripts/study-snapshot
at a tiny size: 256 KiB, 1, 2 and 4 CPUs.

  test_study_snapshot.py MMUSIM     (ctest passes $<TARGET_FILE:mmusim>)

The generator's trace is read line by line (who creates which thread on
which CPU, who forks, what the child reads and every thread writes) and its
expected counts are checked by hand for small cases. The study's CSV must
show exactly one COW copy per page written, N-1 IPIs per COW fault under
kernel.shootdown = all, fewer under running (thread 2..N's copies skip CPU 0
while it runs the snapshot child: one deferred flush per round instead), and
`all` costing the snapshot child's CPU one IPI per such copy.
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
sys.path.insert(0, os.path.join(REPO, "scripts"))
import mmusim_traces as mt  # noqa: E402

STUDY = os.path.join(REPO, "scripts", "study-snapshot")
GEN = os.path.join(REPO, "scripts", "gen-trace")
MMUSIM = None


def trace_lines(wl):
    return [ln for ln in b"".join(wl.chunks()).decode().splitlines() if not ln.startswith("#")]


class GeneratorTest(unittest.TestCase):
    def test_structure(self):
        # 16 pages, 4 threads (4 pages each), each writes half of its share
        wl = mt.snapshot_server(64 << 10, 4, 0.5)
        lines = trace_lines(wl)
        base = mt.FAULTS_BASE
        self.assertEqual(lines[0], f"1 mmap {base:#x} 64K rw")
        self.assertEqual(lines[1:4], ["1 thread 2 cpu=1", "1 thread 3 cpu=2", "1 thread 4 cpu=3"])
        # populate: every page stored once by its owner (thread k owns pages 4(k-1)..4k-1)
        pop = lines[4:20]
        self.assertEqual(len({ln.split()[2] for ln in pop}), 16)
        for ln in pop:
            task, op, va = ln.split()[:3]
            self.assertEqual(op, "store")
            self.assertEqual((int(va, 16) - base) // mt.PAGE // 4, int(task) - 1, ln)
        self.assertEqual(lines[20], f"1 fork {mt.SNAPSHOT_CHILD} cpu=0")
        child = [ln for ln in lines if ln.startswith(f"{mt.SNAPSHOT_CHILD} ")]
        loads = [ln for ln in child if " load " in ln]
        self.assertEqual(len(loads), 16)  # the child reads every page once, in order, with its old value
        self.assertEqual([(int(ln.split()[2], 16) - base) // mt.PAGE for ln in loads], list(range(16)))
        self.assertTrue(all(f"expect={(int(ln.split()[2], 16) - base) // mt.PAGE + 1}" in ln for ln in loads))
        self.assertEqual(child[-1], f"{mt.SNAPSHOT_CHILD} exit")
        # snapshot phase: a round is a chunk of the child's reads, then threads 2..4 store, then thread 1
        i_exit = lines.index(f"{mt.SNAPSHOT_CHILD} exit")
        phase = lines[21:i_exit]
        writes = [ln for ln in phase if " store " in ln]
        self.assertEqual(len(writes), 8)
        self.assertEqual([ln.split()[0] for ln in writes], ["2", "3", "4", "1"] * 2)
        self.assertEqual(phase[0].split()[:2], [str(mt.SNAPSHOT_CHILD), "load"])
        self.assertEqual(lines[-4:], ["4 exit", "3 exit", "2 exit", "1 exit"])

        self.assertEqual(wl.per_thread, [2, 2, 2, 2])
        self.assertEqual(wl.pages_written, 8)
        self.assertEqual(wl.faults, {"demand_zero": 16, "cow_zero": 0, "cow_copy": 8, "cow_reuse": 0, "spurious": 0})
        # populate 16 + child 16 + writes 8 + read-back every 16th page of each 4-page share: 4
        self.assertEqual(wl.accesses, 44)
        self.assertEqual(wl.accesses, sum(1 for ln in lines if " load " in ln or " store " in ln))
        # fork: 3 IPIs; thread 1's 2 copies: 3 each; threads 2..4's 6 copies: 2 (running) or 3 (all) each
        self.assertEqual(wl.shootdown, {"running": {"count": 9, "ipis": 3 + 6 + 12, "deferred": 2},
                                        "all": {"count": 9, "ipis": 3 + 24, "deferred": 0}})

    def test_uneven_shares_and_one_cpu(self):
        wl = mt.snapshot_server(5 * mt.PAGE, 2, 1.0)  # 3 + 2 pages
        self.assertEqual(wl.per_thread, [3, 2])
        self.assertEqual(wl.shootdown["running"], {"count": 6, "ipis": 1 + 3 + 0, "deferred": 2})
        self.assertEqual(wl.shootdown["all"], {"count": 6, "ipis": 1 + 5, "deferred": 0})
        one = mt.snapshot_server(16 * mt.PAGE, 1, 0.25)
        self.assertEqual(one.pages_written, 4)
        self.assertEqual(one.shootdown["running"], {"count": 0, "ipis": 0, "deferred": 0})
        few = mt.snapshot_server(16 * mt.PAGE, 8, 0.5, threads=2)  # 2 threads on 8 CPUs
        self.assertEqual(few.threads, 2)
        self.assertEqual(few.shootdown["all"]["ipis"], 1 + 8)

    def test_bad_arguments(self):
        for args, kw in (((100, 2), {}), ((64 << 10, 0), {}), ((64 << 10, 2), {"threads": 3}),
                         ((4 * mt.PAGE, 8), {}), ((64 << 10, 2, 1.5), {})):
            with self.assertRaises(ValueError, msg=(args, kw)):
                mt.snapshot_server(*args, **kw)

    def test_gen_trace(self):
        p = subprocess.run([sys.executable, GEN, "snapshot", "--size", "64K", "--cpus", "4", "--info"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.encode(), b"".join(mt.snapshot_server(64 << 10, 4, 0.5).chunks()))
        info = json.loads(p.stderr)
        self.assertEqual((info["faults.cow_copy"], info["cpu.count"]), (8, 4))
        self.assertEqual(info["shootdown"]["all"]["ipis"], 27)
        p = subprocess.run([sys.executable, GEN, "snapshot", "--cpus", "2", "--threads", "3"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("threads 3", p.stderr)

    def test_mmusim_counts(self):
        """The trace gives exactly its expected counts under both policies."""
        wl = mt.snapshot_server(24 * mt.PAGE, 3, 0.5)
        with tempfile.TemporaryDirectory(prefix="mmusim-test-snapshot-") as d:
            trace = os.path.join(d, "s.trace")
            wl.write(trace)
            for policy in ("running", "all"):
                stats = os.path.join(d, f"{policy}.json")
                p = subprocess.run([MMUSIM, "-q", "--stats", stats, "--set", "cpu.count=3",
                                    "--set", f"kernel.shootdown={policy}", trace],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                with open(stats) as f:
                    s = json.load(f)
                self.assertEqual(s["verify.mismatches"], 0)
                self.assertEqual(s["sim.accesses"], wl.accesses)
                for k, v in wl.faults.items():
                    self.assertEqual(s[f"faults.{k}"], v, (policy, k))
                for k, v in wl.shootdown[policy].items():
                    self.assertEqual(s[f"shootdown.{k}"], v, (policy, k))


class StudyTest(unittest.TestCase):
    def test_tiny_study(self):
        with tempfile.TemporaryDirectory(prefix="mmusim-test-study-snapshot-") as d:
            p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, "--size", "256K", "--cpus", "4,1,2",
                                "--jobs", "2", "--out", d], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            with open(os.path.join(d, "snapshot.csv"), newline="") as f:
                rows = {(int(r["cpus"]), r["policy"]): r for r in csv.DictReader(f)}
            self.assertEqual(set(rows), {(n, p_) for n in (1, 2, 4) for p_ in ("running", "all")})
            for (n, pol), r in rows.items():
                self.assertEqual(int(r["pages"]), 64)
                self.assertEqual(int(r["threads"]), n)
                self.assertEqual(int(r["verify.mismatches"]), 0)
                self.assertEqual(int(r["faults.demand_zero"]), 64)
                self.assertEqual(int(r["faults.cow_copy"]), 32)  # half of every thread's share
                self.assertEqual(int(r["shootdown.count"]), 33 if n > 1 else 0)
                if pol == "all" or n == 1:
                    # every COW copy interrupts every other CPU: N-1 IPIs per COW fault
                    self.assertEqual(float(r["ipis_per_cow"]), n - 1, r)
                    self.assertEqual(int(r["shootdown.deferred"]), 0)
                # CPU 0 runs the snapshot child: `all` interrupts it for each copy of threads 2..N
                self.assertEqual(int(r["cpu.0.ipis_received"]), 32 - 32 // n if pol == "all" else 0, r)
            # running: thread 1's copies interrupt N-1 CPUs, threads 2..N's N-2 (CPU 0 is deferred,
            # one deferred flush per round: thread 1 writes 32/N pages, one a round)
            self.assertEqual(float(rows[(2, "running")]["ipis_per_cow"]), 0.5)
            self.assertEqual(float(rows[(4, "running")]["ipis_per_cow"]), (8 * 3 + 24 * 2) / 32)
            self.assertEqual(int(rows[(2, "running")]["shootdown.deferred"]), 16)
            self.assertEqual(int(rows[(4, "running")]["shootdown.deferred"]), 8)
            # one CPU: nothing to shoot down, both policies the same run
            lat = {k: float(r["faults.latency.cow_copy.mean"]) for k, r in rows.items()}
            cyc = {k: int(r["sim.cycles"]) for k, r in rows.items()}
            self.assertEqual(lat[(1, "running")], lat[(1, "all")])
            self.assertEqual(cyc[(1, "running")], cyc[(1, "all")])
            self.assertEqual(float(rows[(1, "running")]["cow_shootdown_mean"]), 0.0)
            for n in (2, 4):
                self.assertGreater(lat[(n, "all")], lat[(n, "running")])
                self.assertGreater(cyc[(n, "all")], cyc[(n, "running")])
                self.assertGreater(float(rows[(n, "all")]["cow_shootdown_mean"]), 0.0)
                for pol in ("running", "all"):
                    self.assertGreater(lat[(n, pol)], lat[(1, pol)])
            self.assertGreater(lat[(4, "all")], lat[(2, "all")])
            for ext in ("png", "svg"):
                self.assertGreater(os.path.getsize(os.path.join(d, f"snapshot.{ext}")), 5000)
            self.assertIn("running vs all", p.stdout)
            self.assertIn("shootdown wait exceeds", p.stdout)
            self.assertTrue(os.path.exists(os.path.join(d, "summary.txt")))
            self.assertEqual(len([e for e in os.listdir(os.path.join(d, "runs")) if e.endswith(".json")]), 6)
            self.assertEqual([e for e in os.listdir(os.path.join(d, "runs")) if e.endswith(".csv")], [])
            self.assertEqual([e for e in os.listdir(d) if e.startswith("traces")], [])  # traces removed

    def test_bad_usage(self):
        for args, word in ((["--cpus", "1,300"], "300"), (["--set", "kernel.shootdown=all"], "kernel.shootdown"),
                           (["--write-fraction", "0"], "0"), (["--size", "8K", "--cpus", "4"], "fewer")):
            p = subprocess.run([sys.executable, STUDY, "--mmusim", MMUSIM, *args],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(word, p.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_study_snapshot.py MMUSIM")
    MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
