"""Hostile files (issue 18): wall time and peak memory of `inspect`, `compat` and `report` on the
shared-table family (a flatbuffer DAG: n operator entries pointing at one ADD with n inputs,
about 8·n bytes that decode to n² entries) as n doubles, beside the honest tree of the same size
(n ADD ops, each table written once); "wide" an honest file whose one op reads a tensor of
rank n through n inputs (n² dimensions for whatever walks inputs × shape). Each command runs as its own process, as a user runs it;
its peak RSS comes from the kernel (wait4). The curve must be linear or refused early.

Usage: .venv/bin/python benchmarks/bench_hostile.py [--sizes 1000,2000,...] [--timeout S]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile_files import honest_wide_model, shared_table_model, wide_rank_model  # noqa: E402

CLI = str(Path(sys.executable).with_name("tflite-inspector"))


def run(cli: list[str], args: list[str], timeout: float) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB and the outcome ("ok", "refused" or "timeout") of one CLI run."""
    start = time.perf_counter()
    proc = subprocess.Popen([*cli, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return time.perf_counter() - start, usage.ru_maxrss // 1024, "timeout"
        time.sleep(0.01)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    proc.stderr.close()
    return wall, usage.ru_maxrss // 1024, "ok" if code == 0 else ("refused" if code == 2 else f"exit {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,2000,4000,8000,16000,32000")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a run is stopped")
    parser.add_argument("--cli", default=CLI, help="the command to measure (e.g. an older checkout's: "
                        "'python /tmp/before/run.py'); split on spaces")
    parser.add_argument("--families", default="shared,honest,wide")
    args = parser.parse_args()
    cli = args.cli.split()
    families = args.families.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        print(f"{'family':8} {'n':>6} {'bytes':>8}  " + "  ".join(f"{c:>24}" for c in ("inspect --json", "compat", "report")))
        for family, build in (("shared", shared_table_model), ("honest", honest_wide_model),
                              ("wide", wide_rank_model)):
            if family not in families:
                continue
            for n in sizes:
                path = tmp_dir / f"{family}_{n}.tflite"
                path.write_bytes(build(n))
                cells = []
                for command in (["inspect", "--json"], ["compat"], ["report", "--overwrite", "-o", str(tmp_dir / "r.html")]):
                    wall, rss, outcome = run(cli, [*command, str(path)], args.timeout)
                    cells.append(f"{wall:6.2f} s {rss:5d} MB {outcome:>7}")
                print(f"{family:8} {n:6d} {path.stat().st_size:8d}  " + "  ".join(f"{c:>24}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
