"""Generators of mmusim's standard workloads (trace format version 1).

Shared by scripts/gen-trace (the command-line front end) and scripts/bench.
Standard library only. Every generator returns a Workload: an iterator of
byte chunks (large, so that writing 10 million lines takes about a second)
plus the counts the trace is built to produce, so a caller can check the
simulator's statistics against them.

Workloads:
  hits            one process, a small working set (default 64 KiB, all L1 TLB
                  hits after the first touch), sequential and strided 8-byte
                  accesses, a store every K accesses, expect= on some loads.
  faults          a parent maps SIZE and stores once to every page (demand-zero
                  faults); optionally forks a child that stores to a fraction
                  of the pages (COW copies) or execs; both exit.
  write-fraction  faults with a fork: the tutorial's write-heavy study.
  snapshot        a snapshotting server (trace format 1.1): T threads on T CPUs
                  populate a region, the main thread forks a child that streams
                  it (as Redis BGSAVE does) while the threads write a fraction
                  of their pages (COW copies, each one a TLB shootdown).

Every writer can write the binary trace format (docs/binary-trace-format.md)
instead of text: BinaryEncoder turns text lines into binary records exactly as
`mmusim convert` does, byte for byte; write_chunks(..., binary=True) and a
path ending in .btrace (.btrace.gz, .btrace.zst) use it.
"""

import gzip
import os
import re
import shutil
import subprocess
import sys

PAGE = 4096
WORD = 8

# Where the workloads map their memory (page-aligned, far below 2^38).
HITS_BASE = 0x10000000
FAULTS_BASE = 0x40000000
EXEC_IMAGE_BASE = 0x10000000

CHUNK_BYTES = 4 << 20  # write in chunks of about this size

_SIZE_RE = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*([KMGT]?)(i?B)?\s*$", re.IGNORECASE)
_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text):
    """'64K' -> 65536, '1G' -> 2**30, '4096' -> 4096, '2MiB' -> 2097152."""
    m = _SIZE_RE.match(str(text))
    if not m:
        raise ValueError(f"bad size {text!r} (expected a number with an optional K, M, G or T suffix)")
    return int(m.group(1), 0) * _SUFFIX[m.group(2).upper()]


_COUNT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?|\d+e\d+)\s*([KMG]?)\s*$", re.IGNORECASE)
_COUNT_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9}


def parse_count(text):
    """A count, with an optional decimal suffix: '10M' -> 10000000, '1.5K' -> 1500, '1e6'."""
    m = _COUNT_RE.match(str(text))
    if not m:
        raise ValueError(f"bad count {text!r} (expected a number with an optional K, M or G suffix)")
    value = float(m.group(1)) * _COUNT_SUFFIX[m.group(2).upper()]
    if value != int(value):
        raise ValueError(f"count {text!r} is not a whole number")
    return int(value)


def format_size(n):
    for suffix, mult in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= mult and n % mult == 0:
            return f"{n // mult}{suffix}"
    return str(n)


def spread(n, count):
    """`count` of the indices 0..n-1, evenly spread and deterministic (sorted)."""
    count = max(0, min(n, count))
    return [i * n // count for i in range(count)]


def page_va(base, i):
    """An address in page i above base, at a word-aligned offset that varies
    with i, so that not every access is at offset 0."""
    return base + i * PAGE + ((i * 24) % PAGE)


def fraction_count(n, fraction):
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction {fraction} is not between 0 and 1")
    return int(round(n * fraction))


class Workload:
    """A trace to be generated: chunks() yields bytes; the counts say what the
    simulator should report for it (with the default configuration)."""

    def __init__(self, name, chunks, accesses, faults, description):
        self.name = name
        self._chunks = chunks
        self.accesses = accesses    # expected sim.accesses
        self.faults = faults        # expected faults by kind: {"demand_zero": n, ...}
        self.description = description

    def chunks(self):
        return self._chunks()

    def write(self, path=None, binary=None):
        """Write to `path` (gzip if it ends in .gz, zstd if .zst, plain otherwise)
        or to standard output when path is None or '-'; in the binary format
        if `binary`, or if it is None and the path names a binary trace
        (is_binary_path). Returns bytes written (uncompressed)."""
        return write_chunks(self.chunks(), path, binary)


def _lines_to_chunks(lines):
    """Join an iterable of text lines (each ending in \\n) into big byte chunks."""
    buf = []
    size = 0
    for line in lines:
        buf.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(buf).encode()
            buf = []
            size = 0
    if buf:
        yield "".join(buf).encode()


# --------------------------------------------------------------------------
# hits: a TLB-hit-dominated workload

def _hits_value(va):
    """The value every store to `va` writes (so that loads can expect it)."""
    return (va * 2654435761) & 0xFFFFFFFF


def hits(accesses, working_set=64 << 10, store_every=8, expect_every=16, pid=1, base=HITS_BASE):
    """One process maps `working_set` bytes rw, stores to every 8-byte word of
    it once (warm-up: one demand-zero fault per page, then TLB hits), then
    repeats a block of one sequential pass and one strided pass (stride one
    page plus one word, so consecutive accesses hit different pages) over the
    working set. Every `store_every`-th access of the block is a store (0 =
    none), every `expect_every`-th access that is a load carries expect= (0 =
    none). Exactly `accesses` loads and stores in all, then exit.

    Each word's value never changes (stores write the same value again), so
    the block is periodic and is written out as one repeated string."""
    if working_set < PAGE or working_set % PAGE:
        raise ValueError(f"working set {working_set} is not a positive multiple of {PAGE}")
    if accesses < 0:
        raise ValueError("accesses must be >= 0")
    words = working_set // WORD
    pages = working_set // PAGE

    init = [f"{pid} store {base + w * WORD:#x} {_hits_value(base + w * WORD)}\n" for w in range(words)]

    # The stride must be coprime with the number of words to visit each once.
    stride = PAGE // WORD + 1
    while _gcd(stride, words) != 1:
        stride += 1
    offsets = list(range(words)) + [(i * stride) % words for i in range(words)]
    block = []
    for j, w in enumerate(offsets):
        va = base + w * WORD
        if store_every and j % store_every == store_every - 1:
            block.append(f"{pid} store {va:#x} {_hits_value(va)}\n")
        elif expect_every and j % expect_every == 0:
            block.append(f"{pid} load {va:#x} expect={_hits_value(va)}\n")
        else:
            block.append(f"{pid} load {va:#x}\n")

    n_init = min(accesses, len(init))
    rest = accesses - n_init
    n_blocks, tail = divmod(rest, len(block))

    def chunks():
        yield (f"# mmusim trace: hits, {accesses} accesses, working set {format_size(working_set)}"
               f" ({pages} pages), a store every {store_every}, expect= every {expect_every}\n"
               f"{pid} mmap {base:#x} {format_size(working_set)} rw\n").encode()
        yield from _lines_to_chunks(init[:n_init])
        if n_blocks:
            one = "".join(block).encode()
            reps = max(1, CHUNK_BYTES // len(one))
            big = one * reps
            full, left = divmod(n_blocks, reps)
            for _ in range(full):
                yield big
            if left:
                yield one * left
        if tail:
            yield "".join(block[:tail]).encode()
        yield f"{pid} exit\n".encode()

    # Only the warm-up stores fault (a trace shorter than the warm-up has no
    # block, so it never touches a page the warm-up did not).
    faults = {"demand_zero": -(-n_init // (PAGE // WORD)), "cow_zero": 0, "cow_copy": 0, "cow_reuse": 0}
    return Workload("hits", chunks, accesses, faults,
                    f"hits: {accesses} accesses over {format_size(working_set)}")


def threaded_hits(accesses, threads, working_set=64 << 10):
    """hits() played by `threads` threads of one process, thread k on CPU k
    (a trace for cpu.count = threads): task 1 maps and warms up the working
    set, creates tasks 2..threads, then the lines of the repeated block go to
    the threads in turn. Same accesses and faults as hits()."""
    if threads < 1:
        raise ValueError("threads must be >= 1")
    one = hits(accesses, working_set)

    def retag(line, k):
        return f"{1 + k % threads}{line[line.index(' '):]}"

    # The plain text of hits(), rewritten: the warm-up stays with task 1, the
    # rest rotates over the threads (held in memory: a benchmark-sized trace).
    def rotated():
        text = b"".join(one.chunks()).decode()
        lines = text.splitlines(keepends=True)
        warm = (working_set // WORD)
        out, n = [], 0
        for line in lines:
            if line.startswith("#") or " mmap " in line:
                out.append(line)
                continue
            if line.startswith("1 exit"):
                out.extend(f"{t} exit\n" for t in range(2, threads + 1))
                out.append(line)
                continue
            if n == warm:
                out.extend(f"1 thread {t} cpu={t - 1}\n" for t in range(2, threads + 1))
            out.append(line if n < warm else retag(line, n - warm))
            n += 1
        if n <= warm:  # no block: create the threads anyway
            out[-1:-1] = [f"1 thread {t} cpu={t - 1}\n" for t in range(2, threads + 1)]
        yield "".join(out).encode()

    return Workload(f"threads{threads}", rotated, accesses, one.faults,
                    f"hits by {threads} threads on {threads} CPUs: {accesses} accesses over {format_size(working_set)}")


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


# --------------------------------------------------------------------------
# faults: demand-zero and copy-on-write faults

def faults(size, fork=False, child_writes=1.0, exec_=False, parent_writes=0.0, check_every=16,
           parent=1, child=2, base=FAULTS_BASE):
    """The parent maps `size` bytes rw and stores once to every page (one
    demand-zero fault each).

    With fork: it forks `child`, which stores to a fraction `child_writes` of
    the pages (evenly spread; one COW copy each, since the parent still
    shares them), reads back every `check_every`-th of them (expect= its own
    value); then the parent reads every `check_every`-th page of its own
    (expect= its original value, whatever the child wrote); the child exits.

    With exec (implies fork): the child execs at once (its address space
    goes, the parent's pages stop being shared), maps a 64 KiB image, stores
    to and reads each of its 16 pages, and exits.

    Then, if `parent_writes` > 0, the parent stores new values to that
    fraction of its pages (COW reuse: nobody shares them any more) and reads
    every `check_every`-th one back. The parent exits."""
    if size < PAGE or size % PAGE:
        raise ValueError(f"size {size} is not a positive multiple of {PAGE}")
    fork = fork or exec_
    npages = size // PAGE
    child_pages = spread(npages, fraction_count(npages, child_writes)) if fork and not exec_ else []
    parent_pages = spread(npages, fraction_count(npages, parent_writes))
    ce = check_every

    def pva(i):
        return page_va(base, i)

    def v_parent(i):
        return i + 1

    def v_child(i):
        return 0x100000000 + i

    def v_parent2(i):
        return 0x200000000 + i

    P, C = parent, child
    accesses = npages
    counts = {"demand_zero": npages, "cow_zero": 0, "cow_copy": 0, "cow_reuse": 0}

    def lines():
        yield (f"# mmusim trace: faults, {format_size(size)} ({npages} pages)"
               f"{', fork' if fork else ''}{', child execs' if exec_ else ''}"
               f"{f', child writes {len(child_pages)} pages' if fork and not exec_ else ''}"
               f"{f', parent rewrites {len(parent_pages)} pages' if parent_pages else ''}\n")
        yield f"{P} mmap {base:#x} {format_size(size)} rw\n"
        for i in range(npages):
            yield f"{P} store {pva(i):#x} {v_parent(i)}\n"
        if fork:
            yield f"{P} fork {C}\n"
            if exec_:
                yield f"{C} exec\n"
                yield f"{C} mmap {EXEC_IMAGE_BASE:#x} 64K rw\n"
                for k in range(16):
                    yield f"{C} store {EXEC_IMAGE_BASE + k * PAGE:#x} {k + 7}\n"
                for k in range(16):
                    yield f"{C} load {EXEC_IMAGE_BASE + k * PAGE:#x} expect={k + 7}\n"
            else:
                for i in child_pages:
                    yield f"{C} store {pva(i):#x} {v_child(i)}\n"
                if ce:
                    for i in child_pages[::ce]:
                        yield f"{C} load {pva(i):#x} expect={v_child(i)}\n"
                    for i in range(0, npages, ce):
                        yield f"{P} load {pva(i):#x} expect={v_parent(i)}\n"
            yield f"{C} exit\n"
        for i in parent_pages:
            yield f"{P} store {pva(i):#x} {v_parent2(i)}\n"
        if ce:
            for i in parent_pages[::ce]:
                yield f"{P} load {pva(i):#x} expect={v_parent2(i)}\n"
        yield f"{P} exit\n"

    if fork:
        if exec_:
            accesses += 32
            counts["demand_zero"] += 16
        else:
            accesses += len(child_pages)
            counts["cow_copy"] += len(child_pages)
            if ce:
                accesses += len(child_pages[::ce]) + len(range(0, npages, ce))
    accesses += len(parent_pages) + (len(parent_pages[::ce]) if ce else 0)
    # After the child is gone, the parent's pages are COW-marked but unshared:
    # a write reuses the frame (without a fork they are plainly writable).
    if fork:
        counts["cow_reuse"] += len(parent_pages)

    desc = f"faults: {format_size(size)}" + (", exec" if exec_ else f", fork, child writes {child_writes:g}" if fork else "")
    return Workload("faults", lambda: _lines_to_chunks(lines()), accesses, counts, desc)


def write_fraction(size, fraction, check_every=16):
    """The tutorial's write-heavy study: the parent writes `size`, forks, the
    child writes `fraction` of the pages, the child exits, the parent exits."""
    w = faults(size, fork=True, child_writes=fraction, check_every=check_every)
    w.name = "write-fraction"
    return w


# --------------------------------------------------------------------------
# snapshot: a multithreaded server that forks a snapshot child (trace format 1.1)

SNAPSHOT_CHILD = 1000  # the snapshot child's pid (server threads are tasks 1..T)


def snapshot_server(size, cpus, write_fraction=0.5, threads=None, check_every=16, base=FAULTS_BASE):
    """A snapshotting server, as Redis BGSAVE: for cpu.count = `cpus`.

    Task 1 maps `size` bytes rw and creates threads 2..T (T = `threads`,
    default `cpus`), thread k on CPU k-1 (`cpu=K`). Each thread owns a
    contiguous share of the pages (the first size/4K mod T threads one page
    more) and stores once to each (a demand-zero fault each), the threads
    interleaved page by page. Task 1 then forks the snapshot child
    (SNAPSHOT_CHILD, on CPU 0 beside task 1), which loads every page once in
    order, expecting the value from before the fork, and exits. Meanwhile
    each thread stores a new value to a fraction `write_fraction` of its
    share (evenly spread): every such store is a COW copy, since the child
    still maps the page, and its TLB shootdown interrupts the other CPUs.

    The snapshot phase runs in rounds, one per page thread 1 writes: the
    child loads its next chunk of pages (the pages spread evenly over the
    rounds), threads 2..T store to their next page, then thread 1 does. So
    during threads 2..T's faults CPU 0 runs the child, not the server's
    address space: with kernel.shootdown = running it is not interrupted
    but flushed when it next switches back to thread 1 (one deferred flush
    per round); with `all` it gets an IPI like every other CPU.

    After the child exits every thread loads every `check_every`-th page of
    its share back (expect= its current value) and exits, thread 1 last.

    The Workload's `shootdown` maps each kernel.shootdown policy to the
    shootdown.* counts the trace is built for (fork's flush of the parent
    plus one shootdown per COW copy), `pages_written` is the number of COW
    copies and `per_thread` the pages each thread writes."""
    if size < PAGE or size % PAGE:
        raise ValueError(f"size {size} is not a positive multiple of {PAGE}")
    if cpus < 1:
        raise ValueError("cpus must be >= 1")
    T = cpus if threads is None else threads
    if not 1 <= T <= cpus:
        raise ValueError(f"threads {T} must be between 1 and cpus ({cpus})")
    npages = size // PAGE
    if npages < T:
        raise ValueError(f"size {format_size(size)} has {npages} pages, fewer than the {T} threads")
    if check_every < 0:
        raise ValueError("check_every must be >= 0")
    C = SNAPSHOT_CHILD
    # thread k (1-based) owns pages first[k-1] .. first[k-1] + share[k-1] - 1
    share = [npages // T + (1 if k < npages % T else 0) for k in range(T)]
    first = [sum(share[:k]) for k in range(T)]
    written = [[first[k] + i for i in spread(share[k], fraction_count(share[k], write_fraction))]
               for k in range(T)]
    rounds = len(written[0])  # thread 1 has the largest share, so writes the most pages

    def va(i):
        return page_va(base, i)

    def v_old(i):
        return i + 1

    def v_new(i):
        return 0x300000000 + i

    def lines():
        yield (f"# mmusim trace 1.1: snapshot server, {format_size(size)} ({npages} pages), {T} threads on "
               f"{cpus} CPUs, fork a snapshot child that reads every page while the threads write "
               f"{write_fraction:g} of theirs ({sum(map(len, written))} COW copies)\n")
        yield f"1 mmap {base:#x} {format_size(size)} rw\n"
        for t in range(2, T + 1):
            yield f"1 thread {t} cpu={t - 1}\n"
        for i in range(share[0]):
            for k in range(T):
                if i < share[k]:
                    p = first[k] + i
                    yield f"{k + 1} store {va(p):#x} {v_old(p)}\n"
        yield f"1 fork {C} cpu=0\n"
        for r in range(rounds):
            for p in range(npages * r // rounds, npages * (r + 1) // rounds):
                yield f"{C} load {va(p):#x} expect={v_old(p)}\n"
            for k in list(range(1, T)) + [0]:
                if r < len(written[k]):
                    p = written[k][r]
                    yield f"{k + 1} store {va(p):#x} {v_new(p)}\n"
        if not rounds:
            for p in range(npages):
                yield f"{C} load {va(p):#x} expect={v_old(p)}\n"
        yield f"{C} exit\n"
        if check_every:
            done = [set(w) for w in written]
            for k in range(T):
                for p in range(first[k], first[k] + share[k], check_every):
                    yield f"{k + 1} load {va(p):#x} expect={v_new(p) if p in done[k] else v_old(p)}\n"
        for t in range(T, 0, -1):
            yield f"{t} exit\n"

    cow = sum(map(len, written))
    accesses = 2 * npages + cow + (sum(len(range(0, s, check_every)) for s in share) if check_every else 0)
    counts = {"demand_zero": npages, "cow_zero": 0, "cow_copy": cow, "cow_reuse": 0, "spurious": 0}
    # fork write-protects the parent while every thread runs it: one
    # shootdown, T-1 IPIs. Thread 1's COW copies interrupt the T-1 others
    # under both policies; a COW copy by thread k > 1 finds CPU 0 running
    # the child: `running` interrupts T-2 CPUs and defers CPU 0's flush (one
    # deferred flush per round in which such a copy happened), `all` T-1.
    others = cow - len(written[0])
    deferred_rounds = max((len(w) for w in written[1:]), default=0)
    fork_ipis = T - 1
    if T == 1:
        shootdown = {p: {"count": 0, "ipis": 0, "deferred": 0} for p in ("running", "all")}
    else:
        shootdown = {
            "running": {"count": 1 + cow, "ipis": fork_ipis + len(written[0]) * (T - 1) + others * (T - 2),
                        "deferred": deferred_rounds},
            "all": {"count": 1 + cow, "ipis": fork_ipis + cow * (T - 1), "deferred": 0},
        }
    w = Workload("snapshot", lambda: _lines_to_chunks(lines()), accesses, counts,
                 f"snapshot: {format_size(size)}, {T} threads on {cpus} CPUs, writes {write_fraction:g}")
    w.cpus = cpus
    w.threads = T
    w.pages_written = cow
    w.per_thread = [len(x) for x in written]
    w.shootdown = shootdown
    return w


# --------------------------------------------------------------------------
# calibration scenarios (scripts/calibrate): the same phases that
# scripts/calibrate-src/cowbench.c times on the host

def fork_cost(size, parent=1, child=2, base=FAULTS_BASE):
    """The parent maps `size` bytes rw (size 0: nothing) and stores once to
    every page, forks `child`, which exits at once; the parent exits.
    fork.cycles is the cost of one fork with `size` bytes touched."""
    if size < 0 or size % PAGE:
        raise ValueError(f"size {size} is not a multiple of {PAGE}")
    npages = size // PAGE

    def lines():
        yield f"# mmusim trace: fork with {format_size(size) if size else 0} touched ({npages} pages)\n"
        if npages:
            yield f"{parent} mmap {base:#x} {format_size(size)} rw\n"
            for i in range(npages):
                yield f"{parent} store {base + i * PAGE:#x} {i + 1}\n"
        else:
            yield f"{parent} compute 1\n"  # the parent exists before it forks
        yield f"{parent} fork {child}\n"
        yield f"{child} exit\n"
        yield f"{parent} exit\n"

    counts = {"demand_zero": npages, "cow_zero": 0, "cow_copy": 0, "cow_reuse": 0}
    return Workload("fork-cost", lambda: _lines_to_chunks(lines()), npages, counts,
                    f"fork-cost: {format_size(size) if size else 0}")


HUGE = 2 << 20


def thp_fork(huge_pages, parent=1, child=2, base=FAULTS_BASE):
    """cowbench's THP phase: the parent maps `huge_pages` 2 MiB blocks with
    `huge` (at a 2 MiB-aligned `base`) and writes one byte of each (one
    thp_zero fault each under kernel.thp = madvise or always), forks `child`,
    which writes one byte of each huge page, at a different 4 KiB page of
    each, while the parent still maps them (thp_split or thp_copy, by
    kernel.thp_cow), and exits; the parent exits. Run with --faults: the
    latencies per kind, and fork.cycles for the fork."""
    if huge_pages < 1:
        raise ValueError("huge_pages must be positive")
    if base % HUGE:
        raise ValueError(f"base {base:#x} is not 2 MiB-aligned")

    def va(i):
        return base + i * HUGE + (i % 512) * PAGE + 8

    def lines():
        yield f"# mmusim trace: THP fork, {huge_pages} huge pages ({format_size(huge_pages * HUGE)})\n"
        yield f"{parent} mmap {base:#x} {format_size(huge_pages * HUGE)} rw huge\n"
        for i in range(huge_pages):
            yield f"{parent} store {va(i):#x} 1\n"
        yield f"{parent} fork {child}\n"
        for i in range(huge_pages):
            yield f"{child} store {va(i):#x} 2\n"
        yield f"{child} load {va(0):#x} expect=2\n"
        yield f"{parent} load {va(0):#x} expect=1\n"
        yield f"{child} exit\n"
        yield f"{parent} exit\n"

    counts = {"thp_zero": huge_pages, "first_write": huge_pages}
    return Workload("thp-fork", lambda: _lines_to_chunks(lines()), 2 * huge_pages + 2, counts,
                    f"thp-fork: {huge_pages} huge pages")


def read_then_write(size, check_every=16, pid=1, base=FAULTS_BASE):
    """One process maps `size` bytes rw, loads once from every page (a
    demand-zero fault each: the shared zero frame is mapped), then stores
    once to every page (a cow_zero fault each: a zeroed frame, no copy) and
    reads every `check_every`-th page back; it exits."""
    if size < PAGE or size % PAGE:
        raise ValueError(f"size {size} is not a positive multiple of {PAGE}")
    npages = size // PAGE

    def lines():
        yield f"# mmusim trace: read then write, {format_size(size)} ({npages} pages)\n"
        yield f"{pid} mmap {base:#x} {format_size(size)} rw\n"
        for i in range(npages):
            yield f"{pid} load {base + i * PAGE:#x} expect=0\n"
        for i in range(npages):
            yield f"{pid} store {base + i * PAGE:#x} {i + 1}\n"
        if check_every:
            for i in range(0, npages, check_every):
                yield f"{pid} load {base + i * PAGE:#x} expect={i + 1}\n"
        yield f"{pid} exit\n"

    accesses = 2 * npages + (len(range(0, npages, check_every)) if check_every else 0)
    counts = {"demand_zero": npages, "cow_zero": npages, "cow_copy": 0, "cow_reuse": 0}
    return Workload("read-then-write", lambda: _lines_to_chunks(lines()), accesses, counts,
                    f"read-then-write: {format_size(size)}")


# The phases of scripts/calibrate-src/shootbench.c. Run with cpu.count >= 2:
# the process's main task runs on CPU 0; with `sibling`, a second thread is
# created on CPU 1, touches the first page and stays there, current, so every
# PTE the main task removes or write-protects interrupts CPU 1.

def _page_count(size):
    if size < PAGE or size % PAGE:
        raise ValueError(f"size {size} is not a positive multiple of {PAGE}")
    return size // PAGE


def _populate(pid, base, size):
    """`pid` maps `size` bytes rw at `base` and stores i + 1 to page i."""
    yield f"{pid} mmap {base:#x} {format_size(size)} rw\n"
    for i in range(size // PAGE):
        yield f"{pid} store {base + i * PAGE:#x} {i + 1}\n"


def _sibling_lines(sibling, pid, tid, base):
    if sibling:
        yield f"{pid} thread {tid} cpu=1\n"
        yield f"{tid} load {base:#x}\n"


def shootdown_cow(size, sibling, parent=1, child=2, tid=3, base=FAULTS_BASE):
    """The parent maps `size` bytes rw and stores to every page (demand-zero),
    forks `child` (which does nothing until it exits at the end), [creates
    the sibling thread,] and stores to every page again: one COW copy fault
    each, which with the sibling also shoots down CPU 1."""
    npages = _page_count(size)

    def lines():
        yield (f"# mmusim trace: COW copy faults, {format_size(size)} ({npages} pages)"
               f"{', a sibling thread on CPU 1' if sibling else ''}\n")
        yield from _populate(parent, base, size)
        yield f"{parent} fork {child} cpu=0\n"
        yield from _sibling_lines(sibling, parent, tid, base)
        for i in range(npages):
            yield f"{parent} store {base + i * PAGE:#x} {i + 2}\n"
        if sibling:
            yield f"{tid} exit\n"
        yield f"{child} exit\n"
        yield f"{parent} exit\n"

    counts = {"demand_zero": npages, "cow_zero": 0, "cow_copy": npages, "cow_reuse": 0}
    return Workload("shootdown-cow", lambda: _lines_to_chunks(lines()), 2 * npages + bool(sibling), counts,
                    f"shootdown-cow: {format_size(size)}{', sibling' if sibling else ''}")


def shootdown_munmap(size, sibling, pid=1, tid=3, base=FAULTS_BASE):
    """A process maps `size` bytes rw, stores to every page, [creates the
    sibling thread,] then unmaps the pages one munmap each (with the
    sibling, each shoots down CPU 1)."""
    npages = _page_count(size)

    def lines():
        yield (f"# mmusim trace: munmap page by page, {format_size(size)} ({npages} pages)"
               f"{', a sibling thread on CPU 1' if sibling else ''}\n")
        yield from _populate(pid, base, size)
        yield from _sibling_lines(sibling, pid, tid, base)
        for i in range(npages):
            yield f"{pid} munmap {base + i * PAGE:#x} 4K\n"
        if sibling:
            yield f"{tid} exit\n"
        yield f"{pid} exit\n"

    counts = {"demand_zero": npages, "cow_zero": 0, "cow_copy": 0, "cow_reuse": 0}
    return Workload("shootdown-munmap", lambda: _lines_to_chunks(lines()), npages + bool(sibling), counts,
                    f"shootdown-munmap: {format_size(size)}{', sibling' if sibling else ''}")


# --------------------------------------------------------------------------
# the binary trace format (docs/binary-trace-format.md; the C++ side is
# models/cpu/binary_trace_format.h, trace_writer.cc and binary_trace_reader.cc)

BINARY_MAGIC = b"\x89MMUT\r\n\x1a"
BINARY_HEADER = BINARY_MAGIC + bytes([1, 0, 0, 0])  # version 1.0, two reserved bytes
BINARY_SUFFIX = ".btrace"

OP_LOAD, OP_LOAD_EXPECT, OP_STORE = 0x04, 0x08, 0x0C  # + log2(size)
OP_TASK, OP_MMAP, OP_MUNMAP, OP_MPROTECT = 0x10, 0x11, 0x12, 0x13
OP_FORK, OP_THREAD, OP_MIGRATE, OP_EXEC, OP_EXIT, OP_COMPUTE = 0x14, 0x15, 0x16, 0x17, 0x18, 0x19
OP_GAP, OP_END = 0x1E, 0x1F
FLAG_R, FLAG_W, FLAG_X, FLAG_SHARED, FLAG_HUGE = 0x01, 0x02, 0x04, 0x08, 0x10

_LOG2_SIZE = {1: 0, 2: 1, 4: 2, 8: 3}
_PERMS = {"r": FLAG_R, "rw": FLAG_R | FLAG_W, "rx": FLAG_R | FLAG_X, "rwx": FLAG_R | FLAG_W | FLAG_X}
_LEN_SHIFT = {"K": 10, "M": 20, "G": 30}
_M64 = (1 << 64) - 1


def is_binary_path(path):
    """True if `path` names a binary trace: NAME.btrace, .btrace.gz or .btrace.zst."""
    if not path or path == "-":
        return False
    for ext in (".gz", ".zst"):
        if path.endswith(ext):
            path = path[:-len(ext)]
    return path.endswith(BINARY_SUFFIX)


def varint(v):
    """Unsigned LEB128."""
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _num(tok):
    if tok[:2] in ("0x", "0X"):
        v = int(tok[2:], 16)
    elif tok.isdigit():
        v = int(tok)
    else:
        raise ValueError(f"bad number {tok!r}")
    if v > _M64:
        raise ValueError(f"number {tok!r} does not fit in 64 bits")
    return v


def _len(tok):
    shift = _LEN_SHIFT.get(tok[-1:], 0)
    return _num(tok[:-1] if shift else tok) << shift


class BinaryEncoder:
    """Text trace lines to binary records, the same bytes `mmusim convert`
    writes: header() first, encode(chunk) for each chunk of text (a line may
    run over chunks), finish() last (the END record). Every record keeps its
    line: blank and comment-only lines become GAP records."""

    def __init__(self):
        self.task = 0        # the last TASK record's task
        self.prev_va = 0     # the last access's address
        self.gap = 0         # blank/comment lines not yet written
        self.records = 0     # records written (END counts them)
        self.line = 0
        self._partial = b""
        self._memo = None    # (chunk, state before, bytes, state after): a repeated chunk

    @staticmethod
    def header():
        return BINARY_HEADER

    def _state(self):
        return (self.task, self.prev_va, self.gap)

    def encode(self, chunk):
        """The records of the complete lines in `chunk` (bytes)."""
        if not self._partial and chunk.endswith(b"\n"):
            # A generator that repeats a block (hits) yields the same chunk
            # object again: from the same state it encodes to the same bytes.
            m = self._memo
            if m is not None and m[0] is chunk and m[1] == self._state():
                _, _, data, after, nrec, nlines = m
                self.task, self.prev_va, self.gap = after
                self.records += nrec
                self.line += nlines
                return data
            before, rec0, line0 = self._state(), self.records, self.line
            data = self._encode_lines(chunk.decode().split("\n")[:-1])
            self._memo = (chunk, before, data, self._state(), self.records - rec0, self.line - line0)
            return data
        text = self._partial + chunk
        cut = text.rfind(b"\n") + 1
        self._partial = text[cut:]
        return self._encode_lines(text[:cut].decode().split("\n")[:-1])

    def finish(self):
        """The last line (if it had no newline), a pending GAP and the END record."""
        out = bytearray()
        if self._partial:
            out += self._encode_lines([self._partial.decode()])
            self._partial = b""
        if self.gap:
            out.append(OP_GAP)
            out += varint(self.gap)
            self.gap = 0
            self.records += 1
        out.append(OP_END)
        out += varint(self.records)
        return bytes(out)

    def _encode_lines(self, lines):
        out = bytearray()
        for text in lines:
            self.line += 1
            if "#" in text:
                text = text[:text.index("#")]
            f = text.split()
            if not f:
                self.gap += 1
                continue
            try:
                self._record(out, f)
            except (ValueError, IndexError, KeyError) as e:
                why = str(e) if isinstance(e, ValueError) else "malformed line"
                raise ValueError(f"line {self.line}: {why}: {text.strip()!r}") from None
        return bytes(out)

    def _start(self, out, op):
        if self.gap:
            out.append(OP_GAP)
            out += varint(self.gap)
            self.gap = 0
            self.records += 1
        out.append(op)
        self.records += 1

    def _record(self, out, f):
        if not f[0].isdigit() or not 1 <= int(f[0]) < 2 ** 31:
            raise ValueError(f"bad pid {f[0]!r}")
        pid = int(f[0])
        if pid != self.task:
            self._start(out, OP_TASK)
            out += varint(pid)
            self.task = pid
        op = f[1]
        opts = dict(o.split("=", 1) for o in f[2:] if "=" in o)
        words = [o for o in f[2:] if "=" not in o]
        if op == "load" or op == "store":
            size = int(opts.pop("size", 8))
            va = _num(words[0])
            if op == "store":
                self._start(out, OP_STORE | _LOG2_SIZE[size])
                out += varint(_zigzag(va - self.prev_va))
                out += varint(_num(words[1]))
                extra = words[2:]
            elif "expect" in opts:
                self._start(out, OP_LOAD_EXPECT | _LOG2_SIZE[size])
                out += varint(_zigzag(va - self.prev_va))
                out += varint(_num(opts.pop("expect")))
                extra = words[1:]
            else:
                self._start(out, OP_LOAD | _LOG2_SIZE[size])
                out += varint(_zigzag(va - self.prev_va))
                extra = words[1:]
            self.prev_va = va
        elif op in ("mmap", "mprotect"):
            flags = _PERMS[words[2]]
            extra = []
            for w in words[3:]:
                if op == "mmap" and w == "shared":
                    flags |= FLAG_SHARED
                elif op == "mmap" and w == "huge":
                    flags |= FLAG_HUGE
                else:
                    extra.append(w)
            self._start(out, OP_MMAP if op == "mmap" else OP_MPROTECT)
            out += varint(_num(words[0])) + varint(_len(words[1])) + bytes([flags])
        elif op == "munmap":
            self._start(out, OP_MUNMAP)
            out += varint(_num(words[0])) + varint(_len(words[1]))
            extra = words[2:]
        elif op in ("fork", "thread"):
            child = int(words[0])
            cpu = opts.pop("cpu", None)
            self._start(out, OP_FORK if op == "fork" else OP_THREAD)
            out += varint(child) + varint(0 if cpu is None else _num(cpu) + 1)
            extra = words[1:]
        elif op == "migrate":
            self._start(out, OP_MIGRATE)
            out += varint(_num(words[0]))
            extra = words[1:]
        elif op in ("exec", "exit"):
            self._start(out, OP_EXEC if op == "exec" else OP_EXIT)
            extra = words
        elif op == "compute":
            self._start(out, OP_COMPUTE)
            out += varint(_num(words[0]))
            extra = words[1:]
        else:
            raise ValueError(f"unknown operation {op!r}")
        if extra or opts:
            raise ValueError(f"unexpected argument {(extra or list(opts))[0]!r}")


def _zigzag(delta):
    """A signed difference (mod 2^64) as an unsigned number: 0, -1, 1, -2 -> 0, 1, 2, 3."""
    d = delta & _M64
    return ((d << 1) & _M64) ^ (_M64 if d >> 63 else 0)


def binary_chunks(chunks):
    """Text chunks (bytes) to the chunks of the binary trace."""
    enc = BinaryEncoder()
    yield enc.header()
    for c in chunks:
        data = enc.encode(c)
        if data:
            yield data
    yield enc.finish()


# --------------------------------------------------------------------------
# output

def write_chunks(chunks, path=None, binary=None):
    """Write byte chunks of a text trace to a file (compressed by its name:
    .gz gzip, .zst zstd via the zstd command) or to standard output, as text
    or, if `binary` (by default: if is_binary_path(path)), in the binary
    format. Returns bytes written before compression."""
    if binary is None:
        binary = is_binary_path(path)
    if binary:
        chunks = binary_chunks(chunks)
    total = 0
    if path is None or path == "-":
        out = sys.stdout.buffer
        for c in chunks:
            out.write(c)
            total += len(c)
        out.flush()
        return total
    if path.endswith(".gz"):
        with gzip.open(path, "wb", compresslevel=6) as f:
            for c in chunks:
                f.write(c)
                total += len(c)
        return total
    if path.endswith(".zst"):
        zstd = shutil.which("zstd")
        if not zstd:
            raise RuntimeError("writing a .zst file needs the zstd command (apt-get install zstd)")
        with open(path, "wb") as f:
            proc = subprocess.Popen([zstd, "-q", "-c", "-3", "-T0"], stdin=subprocess.PIPE, stdout=f)
            try:
                for c in chunks:
                    proc.stdin.write(c)
                    total += len(c)
            finally:
                proc.stdin.close()
                rc = proc.wait()
        if rc != 0:
            raise RuntimeError(f"zstd failed with exit status {rc}")
        return total
    with open(path, "wb", buffering=0) as f:
        for c in chunks:
            f.write(c)
            total += len(c)
    return total


def compress_file(src, dst):
    """Compress an existing trace file to dst (.gz or .zst)."""
    if dst.endswith(".zst"):
        zstd = shutil.which("zstd")
        if not zstd:
            raise RuntimeError("zstd command not found")
        subprocess.run([zstd, "-q", "-f", "-3", "-T0", src, "-o", dst], check=True)
    elif dst.endswith(".gz"):
        gz = shutil.which("gzip")
        if gz:
            with open(dst, "wb") as out:
                subprocess.run([gz, "-c", "-6", src], stdout=out, check=True)
        else:
            with open(src, "rb") as f, gzip.open(dst, "wb", compresslevel=6) as g:
                shutil.copyfileobj(f, g, CHUNK_BYTES)
    else:
        raise ValueError(f"unknown compression for {dst}")
    return os.path.getsize(dst)
