#!/usr/bin/python3
"""Tests of the binary trace format (docs/binary-trace-format.md) end to end.

  /usr/bin/python3 scripts/tests/test_binary_trace.py [path/to/mmusim]

Every trace under traces/ (and traces/real/) goes text -> binary -> text ->
binary through `mmusim convert`: the binary forms are equal byte for byte,
the canonical text converts to itself, the Python writer
(mmusim_traces.BinaryEncoder) writes the same bytes as mmusim, and mmusim
reports the same statistics for the binary form as for the text (all but
the host's time). gen-trace, lackey2trace and make-scenarios write the same
binary as converting their text. Bad binary traces stop mmusim and
`mmusim convert` with exit status 2, a message naming the file and the
record, and no output file. mmusim defaults to build/mmusim. Standard
library only."""

import glob
import gzip
import json
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
TRACES = os.path.join(REPO, "traces")
sys.path.insert(0, SCRIPTS)
import mmusim_traces as mt  # noqa: E402
import mmusim_tools as tools  # noqa: E402

MMUSIM = tools.DEFAULT_BINARY
HOST_KEYS = ("sim.wall_seconds", "sim.accesses_per_second")  # the host's time: differs run to run


def read(path):
    with open(path, "rb") as f:
        return f.read()


def text_of(path):
    """A trace file's bytes, decompressed."""
    data = read(path)
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dcq", path], capture_output=True, check=True).stdout
    return data


def python_binary(text):
    return b"".join(mt.binary_chunks([text]))


def scenarios():
    """Every trace under traces/ with the arguments of each expected file naming it
    (a trace no expected file names runs with none)."""
    out = {}
    for spec in sorted(glob.glob(os.path.join(TRACES, "*.expected.json"))):
        with open(spec) as f:
            d = json.load(f)
        out.setdefault(os.path.join(TRACES, d["trace"]), []).append(d.get("args", []))
    for path in sorted(glob.glob(os.path.join(TRACES, "*.trace*")) + glob.glob(os.path.join(TRACES, "real", "*.trace*"))):
        out.setdefault(path, [[]])
    return out


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test-binary-trace-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def convert(self, src, dst, *args, rc=0):
        p = subprocess.run([MMUSIM, "convert", *args, src, dst], capture_output=True, text=True)
        self.assertEqual(p.returncode, rc, f"mmusim convert {src} {dst}: {p.stderr}")
        return p

    def stats(self, trace, args):
        out = self.path("stats.json")
        p = subprocess.run([MMUSIM, "-q", "--stats", out, *args, trace], capture_output=True, text=True)
        self.assertIn(p.returncode, (0, 1), f"mmusim {trace}: {p.stderr}")
        with open(out) as f:
            s = json.load(f)
        os.remove(out)
        for k in HOST_KEYS:
            s.pop(k, None)
        return p.returncode, s


class RoundTrip(Base):
    def test_every_trace(self):
        for trace, arg_sets in scenarios().items():
            name = os.path.relpath(trace, TRACES)
            with self.subTest(trace=name):
                b1, t2, b2, t3 = (self.path(n) for n in ("1.btrace", "2.trace", "2.btrace", "3.trace"))
                self.convert(trace, b1)
                self.convert(b1, t2)
                self.convert(t2, b2)
                self.convert(t2, t3, "--to", "text")
                bin1 = read(b1)
                self.assertEqual(bin1[:8], mt.BINARY_MAGIC)
                self.assertEqual(read(b2), bin1, "text -> binary -> text -> binary changed the binary")
                self.assertEqual(read(t3), read(t2), "the canonical text is not its own canonical form")
                original = text_of(trace)
                # Every record at its line: as many lines, the same non-empty ones where
                # the original had a record.
                self.assertEqual(read(t2).count(b"\n"), original.count(b"\n") + (not original.endswith(b"\n")))
                self.assertEqual(python_binary(original), bin1, "the Python writer differs from mmusim convert")
                self.assertLess(len(bin1), len(original) + 64)
                for args in arg_sets:
                    rc_text, s_text = self.stats(trace, args)
                    rc_bin, s_bin = self.stats(b1, args)
                    self.assertEqual(rc_bin, rc_text)
                    diff = {k: (s_text.get(k), s_bin.get(k)) for k in set(s_text) | set(s_bin)
                            if s_text.get(k) != s_bin.get(k)}
                    self.assertEqual(diff, {}, f"statistics differ with {args}")

    def test_compressed_binary(self):
        trace = os.path.join(TRACES, "tutorial-int-x.trace")
        b = self.path("t.btrace")
        self.convert(trace, b)
        with open(b + ".gz", "wb") as f:
            f.write(gzip.compress(read(b)))
        _, s_plain = self.stats(b, [])
        _, s_gz = self.stats(b + ".gz", [])
        self.assertEqual(s_gz, s_plain)
        if shutil.which("zstd"):
            subprocess.run(["zstd", "-q", b, "-o", b + ".zst"], check=True)
            self.assertEqual(self.stats(b + ".zst", [])[1], s_plain)
        # Standard input, and converting to standard output.
        p = subprocess.run([MMUSIM, "convert", "-", "-"], input=read(b), capture_output=True)
        self.assertEqual(p.returncode, 0)
        self.convert(b, self.path("t.trace"))
        self.assertEqual(p.stdout, read(self.path("t.trace")))
        self.assertEqual(p.stdout.count(b"\n"), text_of(trace).count(b"\n"))


class Errors(Base):
    def bad_binary(self):
        """A trace whose record 5 (line 3) has an unknown opcode."""
        good = python_binary(b"1 mmap 0x10000 4K rw\n1 store 0x10000 5\n1 load 0x10000 expect=5\n1 exit\n")
        # header 12; TASK (2 bytes), mmap (7), store (5), then record 4: the load's opcode
        at = 12 + 2 + 7 + 5
        self.assertEqual(good[at], mt.OP_LOAD_EXPECT | 3)
        return good[:at] + b"\x42" + good[at + 1:], at

    def test_run_names_the_record(self):
        data, at = self.bad_binary()
        trace = self.path("bad.btrace")
        with open(trace, "wb") as f:
            f.write(data)
        stats = self.path("s.json")
        p = subprocess.run([MMUSIM, "-q", "--stats", stats, trace], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"{trace}: record 4 (byte {at}): unknown opcode 0x42", p.stderr)
        self.assertFalse(os.path.exists(stats))
        # Truncated: every cut is an error naming a record.
        whole = python_binary(b"1 mmap 0x10000 4K rw\n1 store 0x10000 300\n1 exit\n")
        for n in (13, 20, len(whole) - 1):
            with open(trace, "wb") as f:
                f.write(whole[:n])
            p = subprocess.run([MMUSIM, "-q", trace], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
            self.assertRegex(p.stderr, rf"{trace}: record \d+ \(byte \d+\): (truncated record|the trace ends without)")

    def test_semantic_error_names_record_and_line(self):
        trace = self.path("mis.btrace")
        with open(trace, "wb") as f:
            f.write(python_binary(b"# c\n1 mmap 0x10000 4K rw\n1 mmap 0x10001 4K rw\n"))
        p = subprocess.run([MMUSIM, "-q", trace], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(f"{trace}: record 4 (line 3): ", p.stderr)

    def test_convert_leaves_no_output(self):
        data, at = self.bad_binary()
        src, dst = self.path("bad.btrace"), self.path("out.trace")
        with open(src, "wb") as f:
            f.write(data)
        p = self.convert(src, dst, rc=2)
        self.assertIn(f"{src}: record 4 (byte {at}): unknown opcode 0x42", p.stderr)
        self.assertEqual(os.listdir(self.tmp), ["bad.btrace"])
        bad_text = self.path("bad.trace")
        with open(bad_text, "w") as f:
            f.write("1 mmap 0x10000 4K rw\n1 stor 0x10000 5\n")
        p = self.convert(bad_text, dst, rc=2)
        self.assertIn(f"{bad_text}:2: unknown operation 'stor'", p.stderr)
        self.assertFalse(os.path.exists(dst))
        p = self.convert(bad_text, self.path("x.btrace.gz"), rc=2)
        self.assertIn("convert writes uncompressed traces", p.stderr)
        p = self.convert(bad_text, dst, "--to", "xml", rc=2)

    def test_python_writer_rejects_bad_lines(self):
        with self.assertRaisesRegex(ValueError, r"line 2: unknown operation 'stor'"):
            python_binary(b"1 mmap 0x10000 4K rw\n1 stor 0x10000 5\n")


class Scripts(Base):
    def run_script(self, *args):
        p = subprocess.run([sys.executable, *args], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return p

    def test_gen_trace(self):
        gen = os.path.join(SCRIPTS, "gen-trace")
        cases = [["hits", "--accesses", "300K"], ["faults", "--size", "4M", "--fork", "--child-writes", "0.5"],
                 ["snapshot", "--size", "1M", "--cpus", "4"], ["write-fraction", "--size", "1M", "--fraction", "0.25"]]
        for args in cases:
            with self.subTest(args=args):
                text, b_ext, b_flag, b_gz = (self.path(n) for n in ("t.trace", "t.btrace", "t.bin", "t.btrace.gz"))
                self.run_script(gen, *args, "-o", text)
                self.run_script(gen, *args, "-o", b_ext)
                self.run_script(gen, *args, "--binary", "-o", b_flag)
                self.run_script(gen, *args, "-o", b_gz)
                stdout = self.run_script(gen, *args, "--binary").stdout
                self.convert(text, self.path("c.btrace"))
                want = read(self.path("c.btrace"))
                self.assertEqual(read(b_ext), want)
                self.assertEqual(read(b_flag), want)
                self.assertEqual(gzip.decompress(read(b_gz)), want)
                self.assertEqual(stdout, want)
        # The hit trace's binary form is a few bytes an access.
        self.run_script(gen, "hits", "--accesses", "300K", "-o", self.path("h.btrace"))
        self.assertLess(os.path.getsize(self.path("h.btrace")), 300_000 * 5)

    def test_lackey2trace(self):
        l2t = os.path.join(SCRIPTS, "lackey2trace")
        snippet = os.path.join(HERE, "data", "lackey-snippet.txt")
        self.run_script(l2t, "-q", snippet, "-o", self.path("l.trace"))
        self.run_script(l2t, "-q", "--binary", snippet, "-o", self.path("l.bin"))
        self.run_script(l2t, "-q", snippet, "-o", self.path("l.btrace"))
        self.convert(self.path("l.trace"), self.path("c.btrace"))
        self.assertEqual(read(self.path("l.bin")), read(self.path("c.btrace")))
        self.assertEqual(read(self.path("l.btrace")), read(self.path("c.btrace")))

    def test_make_scenarios(self):
        out = self.path("scenarios")
        self.run_script(os.path.join(SCRIPTS, "make-scenarios"), "--binary", "--out-dir", out)
        names = sorted(n[:-len(".btrace.gz")] for n in os.listdir(out) if n.endswith(".btrace.gz"))
        self.assertEqual(names, ["kv-snapshot", "prefork-refcount", "prefork-workers", "shell-fork-exec"])
        for name in names:
            with self.subTest(scenario=name):
                self.convert(os.path.join(TRACES, name + ".trace.gz"), self.path("c.btrace"))
                self.assertEqual(gzip.decompress(read(os.path.join(out, name + ".btrace.gz"))),
                                 read(self.path("c.btrace")))
                with open(os.path.join(out, name + ".expected.json")) as f:
                    spec = json.load(f)
                self.assertEqual(spec["trace"], name + ".btrace.gz")
                p = subprocess.run([MMUSIM, "-q", *spec["args"], "--check-stats",
                                    os.path.join(out, name + ".expected.json"), os.path.join(out, spec["trace"])],
                                   capture_output=True, text=True)
                self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        MMUSIM = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
