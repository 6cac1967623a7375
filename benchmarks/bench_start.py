"""The README's start command, second time: `bash scripts/start.sh` with the venv already
installed (its stamp matches pyproject.toml, so pip is not run) and the network cut off
(`unshare -n` when this user may, else proxies pointed at nothing), until the bundled sample
model is on screen. Qt's offscreen platform stands in for a screen.

Prints each run's wall time and the median, against starting `python -c pass` in the same venv
(the floor any start pays) in alternation.

Usage: .venv/bin/python benchmarks/bench_start.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXIT_AFTER_SHOWN = "TFLITE_INSPECTOR_EXIT_AFTER_SHOWN"


def offline_prefix() -> tuple[list[str], dict[str, str]]:
    """A command prefix and environment that keep the run off the network."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **{EXIT_AFTER_SHOWN: "1"})
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"], env
    env.update(http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", PIP_NO_INDEX="1")
    return [], env


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prefix, env = offline_prefix()
    start = [*prefix, "bash", "scripts/start.sh"]
    floor = [*prefix, str(ROOT / ".venv" / "bin" / "python"), "-c", "pass"]
    timed(start, env)  # the first start may install; this benchmark is about the next ones
    starts, floors = [], []
    for _ in range(args.repeat):
        starts.append(timed(start, env))
        floors.append(timed(floor, env))
    print(f"offline: {'unshare -n' if prefix else 'proxies to nowhere, pip without index'}")
    print("scripts/start.sh until the sample is shown: " + ", ".join(f"{t:.2f}" for t in starts)
          + f" s; median {statistics.median(starts):.2f} s")
    print("python -c pass in the venv:                 " + ", ".join(f"{t:.3f}" for t in floors)
          + f" s; median {statistics.median(floors):.3f} s")


if __name__ == "__main__":
    sys.exit(main())
