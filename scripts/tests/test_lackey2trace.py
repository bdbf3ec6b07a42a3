#!/usr/bin/python3
"""Tests of scripts/lackey2trace (valgrind lackey logs -> mmusim traces).

  /usr/bin/python3 scripts/tests/test_lackey2trace.py [path/to/mmusim]

Converts the checked-in lackey snippet and process tree and compares the
output with the exact expected traces, then runs mmusim on them (exit 0, no
verification mismatch, the expected faults). mmusim defaults to build/mmusim.
Standard library only; no valgrind needed."""

import gzip
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.realpath(__file__))
SCRIPTS = os.path.dirname(HERE)
REPO = os.path.dirname(SCRIPTS)
DATA = os.path.join(HERE, "data")
L2T = os.path.join(SCRIPTS, "lackey2trace")
SNIPPET = os.path.join(DATA, "lackey-snippet.txt")
TREE = os.path.join(DATA, "lackey-tree")
sys.path.insert(0, SCRIPTS)
import mmusim_tools as tools  # noqa: E402

MMUSIM = tools.DEFAULT_BINARY


def load(path, name):
    loader = importlib.machinery.SourceFileLoader(name, path)
    spec = importlib.util.spec_from_loader(name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


l2t = load(L2T, "lackey2trace")


def convert(*args, stdin=None):
    return subprocess.run([sys.executable, L2T, *args], input=stdin, capture_output=True, check=False)


def read(path):
    with open(path, "rb") as f:
        return f.read()


class TempDir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test-lackey2trace-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def mmusim(self, trace, *extra):
        s = tools.run_mmusim(MMUSIM, trace, extra)  # raises if mmusim fails, with its output
        self.assertEqual(s["verify.mismatches"], 0)
        self.assertEqual(s["faults.segv"], 0)
        self.assertEqual(s["trace.skipped_lines"], 0)
        return s


class SplitSizes(unittest.TestCase):
    def test_legal_pieces(self):
        self.assertEqual(l2t.split_sizes(8), [8])
        self.assertEqual(l2t.split_sizes(16), [8, 8])
        self.assertEqual(l2t.split_sizes(32), [8, 8, 8, 8])
        self.assertEqual(l2t.split_sizes(3), [2, 1])
        self.assertEqual(l2t.split_sizes(6), [4, 2])
        self.assertEqual(l2t.split_sizes(13), [8, 4, 1])
        for n in range(1, 70):
            pieces = l2t.split_sizes(n)
            self.assertEqual(sum(pieces), n)
            self.assertTrue(all(p in (1, 2, 4, 8) for p in pieces))

    def test_parse_access(self):
        self.assertEqual(l2t.parse_access(b"I  0401ab70,3\n"), (b"I", 0x401ab70, 3))
        self.assertEqual(l2t.parse_access(b" L 1ffefffe80,8\n"), (b"L", 0x1ffefffe80, 8))
        self.assertEqual(l2t.parse_access(b" M 04a28ff8,16\n"), (b"M", 0x4a28ff8, 16))
        self.assertIsNone(l2t.parse_access(b"==4242== Command: ./hello\n"))
        self.assertIsNone(l2t.parse_access(b" --> [pre-success] Success(0x0)\n"))
        self.assertIsNone(l2t.parse_access(b"SYSCALL[1,1](231) exit_group( 0 )\n"))


class Snippet(TempDir):
    def test_exact_output(self):
        proc = convert("-q", SNIPPET)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode(), read(os.path.join(DATA, "lackey-snippet.expected.trace")).decode())
        self.assertIn(b"1 access(es) at or beyond 2^38", proc.stderr)

    def test_runs_in_mmusim(self):
        out = self.path("snippet.trace")
        self.assertEqual(convert("-q", "-o", out, SNIPPET).returncode, 0)
        s = self.mmusim(out, "--check-invariants")
        # 11 loads + 11 stores after splitting; a page-crossing access counts once
        self.assertEqual(s["sim.accesses"], 22)
        self.assertEqual(s["faults.demand_zero"], 6)  # every mapped page is touched
        self.assertEqual(s["verify.loads_checked"], 11)

    def test_fetches(self):
        proc = convert("-q", "--fetches", SNIPPET)
        self.assertEqual(proc.returncode, 0)
        text = proc.stdout.decode()
        self.assertIn("1 mmap 0x401a000 12K rx\n", text)  # the last fetch crosses into 0x401c000
        self.assertIn("1 load 0x401ab70 size=2\n1 load 0x401ab72 size=1\n", text)  # I 0401ab70,3
        out = self.path("fetches.trace")
        with open(out, "wb") as f:
            f.write(proc.stdout)
        s = self.mmusim(out)
        self.assertEqual(s["sim.accesses"], 22 + sum(len(l2t.split_sizes(n)) for n in (3, 5, 1, 7, 4, 5, 3, 6, 2, 7, 6)))

    def test_pid(self):
        text = convert("-q", "--pid", "7", SNIPPET).stdout.decode()
        body = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
        self.assertTrue(all(ln.startswith("7 ") for ln in body))
        self.assertEqual(body[-1], "7 exit")

    def test_inputs_and_outputs(self):
        expected = read(os.path.join(DATA, "lackey-snippet.expected.trace"))
        gz = self.path("snippet.txt.gz")
        with open(SNIPPET, "rb") as f, gzip.open(gz, "wb") as g:
            g.write(f.read())
        # gzip input (by magic bytes), standard input: the same trace but for the header's name
        def body(b):
            return b.split(b"\n", 1)[1]
        self.assertEqual(body(convert("-q", gz).stdout), body(expected))
        self.assertEqual(body(convert("-q", "-", stdin=read(SNIPPET)).stdout), body(expected))
        # compressed outputs
        out = self.path("out.trace.gz")
        self.assertEqual(convert("-q", "-o", out, SNIPPET).returncode, 0)
        with gzip.open(out, "rb") as g:
            self.assertEqual(g.read(), expected)
        if shutil.which("zstd"):
            out = self.path("out.trace.zst")
            self.assertEqual(convert("-q", "-o", out, SNIPPET).returncode, 0)
            self.assertEqual(subprocess.run(["zstd", "-dcq", out], capture_output=True).stdout, expected)
            self.mmusim(out)

    def test_bad_usage(self):
        self.assertEqual(convert(self.path("missing.txt")).returncode, 2)
        self.assertEqual(convert().returncode, 2)
        empty = self.path("empty.txt")
        with open(empty, "w") as f:
            f.write("==1== Lackey, an example Valgrind tool\n")
        self.assertEqual(convert("-q", empty).returncode, 1)


class Tree(TempDir):
    """A parent forks a child (which fails one exec, then execs /bin/child) and
    a second child; see scripts/tests/data/lackey-tree."""

    def test_exact_output(self):
        proc = convert("-q", "--logs-dir", TREE)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode(), read(os.path.join(DATA, "lackey-tree.expected.trace")).decode())

    def test_runs_in_mmusim(self):
        out = self.path("tree.trace")
        self.assertEqual(convert("-q", "--logs-dir", TREE, "-o", out).returncode, 0)
        s = self.mmusim(out, "--check-invariants")
        self.assertEqual(s["fork.count"], 2)
        self.assertEqual(s["kernel.execs"], 1)
        self.assertEqual(s["faults.cow_copy"], 2)
        self.assertEqual(s["faults.cow_reuse"], 2)
        self.assertEqual(s["faults.demand_zero"], 7)

    def test_mappings(self):
        lines = read(os.path.join(DATA, "lackey-tree.expected.trace")).decode().splitlines()
        body = [ln for ln in lines if ln and not ln.startswith("#")]
        # the child maps only what its parent had not mapped at the fork...
        i = body.index("1 fork 2")
        self.assertIn("2 mmap 0x4a2a000 8K rw", body)
        self.assertNotIn("2 mmap 0x4a28000 8K rw", body)
        # ...and after its exec maps afresh
        j = body.index("2 exec")
        self.assertEqual(body[j + 1], "2 mmap 0x4a28000 4K rw")
        self.assertLess(i, j)
        # order: parent until its second fork, child 2 (until exit), parent until its
        # wait, child 3 (forked before the wait returned), parent
        events = [ln for ln in body if ln.split()[1] in ("fork", "exec", "exit")]
        self.assertEqual(events, ["1 fork 2", "1 fork 3", "2 exec", "2 exit", "3 exit", "1 exit"])

    def test_without_strace(self):
        d = self.path("tree")
        shutil.copytree(TREE, d)
        os.unlink(os.path.join(d, "strace.log"))
        out = self.path("tree.trace")
        proc = convert("-q", "--logs-dir", d, "-o", out)
        self.assertEqual(proc.returncode, 0)
        self.assertIn(b"no strace.log", proc.stderr)
        self.mmusim(out, "--check-invariants")


class RealTraces(TempDir):
    """The traces in traces/real/ (made by scripts/capture, see its README)
    run cleanly and give the faults the README reports."""

    EXPECTED = {
        "gzip.trace.zst": {"sim.accesses": 169838, "faults.demand_zero": 108, "faults.cow_zero": 14,
                           "faults.cow_copy": 0, "faults.cow_reuse": 0, "fork.count": 0, "kernel.execs": 0},
        "sh-pipeline.trace.zst": {"sim.accesses": 427311, "faults.demand_zero": 340, "faults.cow_zero": 36,
                                  "faults.cow_copy": 18, "faults.cow_reuse": 11, "fork.count": 2, "kernel.execs": 2},
        "forkworkers.trace.zst": {"sim.accesses": 45271, "faults.demand_zero": 148, "faults.cow_zero": 10,
                                  "faults.cow_copy": 78, "faults.cow_reuse": 78, "fork.count": 2, "kernel.execs": 0},
    }

    def test_real_traces(self):
        for name, want in self.EXPECTED.items():
            with self.subTest(trace=name):
                s = self.mmusim(os.path.join(REPO, "traces", "real", name))
                self.assertEqual({k: s[k] for k in want}, want)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
