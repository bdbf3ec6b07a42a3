"""Running mmusim from the scripts: find the binary, read its configuration,
run it on a trace and load the statistics it writes.

Shared by scripts/sweep, calibrate, bench, bench-tlb, study-write-fraction and
study-snapshot (trace generators are in mmusim_traces.py). Standard library
only; Python 3.11 or later (tomllib).

  find_binary(path=None)             the mmusim to run (default build/mmusim)
  load_config(binary, args=())       `mmusim ARGS --print-config` as {"mem.latency": 100, ...}
  run_mmusim(binary, trace, args=()) `mmusim -q --stats FILE ARGS TRACE`: its statistics
"""

import json
import os
import shlex
import subprocess
import tempfile
import time
import tomllib

REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
DEFAULT_BINARY = os.path.join(REPO, "build", "mmusim")
OUTPUT_LINES = 15  # of mmusim's output in an error message


class MmusimError(Exception):
    """mmusim is missing, failed, or wrote no statistics. The message names
    the command; `output` is what mmusim printed."""

    def __init__(self, message, output=""):
        super().__init__(message)
        self.output = output


class Statistics(dict):
    """mmusim's statistics (its --stats JSON), and how the run went:
    command (the argument list), output (standard output and error),
    wall_seconds (host time of the process), rusage (os.wait4's: ru_maxrss
    in KiB, ru_utime, ru_stime, ...)."""


def find_binary(path=None):
    """The mmusim to run, as an absolute path: `path` if given (an option's
    value), else build/mmusim of this repository."""
    binary = os.path.abspath(path or DEFAULT_BINARY)
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        hint = ("build it: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2, "
                "or give --binary PATH")
        raise MmusimError(f"mmusim not found or not executable: {binary} ({hint})")
    return binary


def flatten(table, prefix=""):
    """{"tlb": {"l1": {"entries": 64}}} -> {"tlb.l1.entries": 64} (TOML tables to dotted keys)."""
    out = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def load_config(binary, args=()):
    """mmusim's effective configuration with `args` (e.g. ["-c", FILE] or
    ["--set", "KEY=VALUE"]): `mmusim ARGS --print-config` read with tomllib,
    as {"section.key": value}."""
    cmd = [binary, *args, "--print-config"]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise MmusimError(f"{shlex.join(cmd)}: {e}")
    if proc.returncode != 0:
        raise _failed(cmd, proc.returncode, proc.stderr.strip())
    try:
        return flatten(tomllib.loads(proc.stdout))
    except tomllib.TOMLDecodeError as e:
        raise MmusimError(f"{shlex.join(cmd)}: the configuration it printed is not TOML: {e}")


def run_mmusim(binary, trace, args=(), stats=None):
    """Run `mmusim -q --stats STATS ARGS TRACE` and return its Statistics.

    STATS is the JSON file to leave the statistics in; by default a
    temporary file, removed. Raises MmusimError with the command and
    mmusim's output if it exits non-zero (or is killed) or writes no
    statistics."""
    keep = stats is not None
    if keep:
        if os.path.exists(stats):  # a stale file must not pass for this run's result
            os.unlink(stats)
    else:
        fd, stats = tempfile.mkstemp(prefix="mmusim-stats-", suffix=".json")
        os.close(fd)
    cmd = [binary, "-q", "--stats", stats, *args, trace]
    try:
        with tempfile.TemporaryFile() as log:
            start = time.perf_counter()
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            except OSError as e:
                raise MmusimError(f"{shlex.join(cmd)}: {e.strerror}")
            # os.wait4 rather than proc.wait(): it gives this child's own resource usage
            _, status, rusage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            log.seek(0)
            output = log.read().decode(errors="replace").strip()
        data, unreadable = _read_json(stats)
    finally:
        if not keep:
            os.unlink(stats)
    if proc.returncode != 0:
        mismatches = data.get("verify.mismatches") if data else None
        raise _failed(cmd, proc.returncode, output, f", verify.mismatches = {mismatches}" if mismatches else "")
    if data is None:
        raise MmusimError(f"mmusim wrote no statistics ({unreadable}): {shlex.join(cmd)}" + _tail(output), output)
    result = Statistics(data)
    result.command, result.output, result.wall_seconds, result.rusage = cmd, output, wall, rusage
    return result


def _read_json(path):
    """(the statistics, None) or (None, why not)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return None, str(e)
    if not isinstance(data, dict):
        return None, "not a JSON object"
    return data, None


def _failed(cmd, returncode, output, detail=""):
    why = f"exit status {returncode}" if returncode > 0 else f"killed by signal {-returncode}"
    return MmusimError(f"mmusim failed ({why}{detail}): {shlex.join(cmd)}" + _tail(output), output)


def _tail(output):
    lines = output.splitlines()[-OUTPUT_LINES:]
    return "".join(f"\n    {line}" for line in lines)
