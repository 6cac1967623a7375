"""Desktop app speed: process start to a displayed model, and sorting/filtering dp_net's op table.

Start-up: launches `python -m tflite_inspector MODEL` (offscreen Qt) with
TFLITE_INSPECTOR_EXIT_AFTER_SHOWN set, and times from just before the process is
started to the arrival of the "shown" line the app prints once the model's view
is painted. Median of N runs, for the bundled sample, dp_net (2,338 ops) and a
75 MB model (benchmarks/.cache, built by bench_inspect.py). Reference in the
same run: a bare `python -c "import PySide6.QtWidgets"` process. Each is started once untimed
first, and with bytecode caching allowed (PYTHONDONTWRITEBYTECODE removed, as some sandboxes
set it): the figures are a user's second start, not Python compiling our sources every time.

Table: in-process, on dp_net's operator table, the time to sort by each column
and to apply filters, against Python's sorted() over the same keys (the floor). Timed once the
analyses the app starts after showing a model (the delegates' rules, in a background thread)
are done: while they run they share the interpreter's lock, and sorting dp_net then takes up to
about ten times as long. How long that lasts is printed first.

Usage: .venv/bin/python benchmarks/bench_gui.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_MODELS = ROOT.parent / "shared" / "models"
DP_NET = SHARED_MODELS / "gh-tensorflow-tflite-micro" / "dp_net.tflite"
SAMPLE = ROOT / "resources" / "samples" / "shapes_int8.tflite"
LARGE = ROOT / "benchmarks" / ".cache" / "mlp_2048x4_float32.tflite"


def _user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def time_to_shown(path: Path) -> float:
    env = _user_env(QT_QPA_PLATFORM="offscreen", TFLITE_INSPECTOR_EXIT_AFTER_SHOWN="1")
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "tflite_inspector", str(path)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("shown "):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError(f"the app never showed {path}")
    process.wait(timeout=30)
    return elapsed


def time_bare_qt() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], check=True, env=_user_env())
    return time.perf_counter() - start


def table_timings(repeat: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from tflite_inspector.gui.jobs import background_pool
    from tflite_inspector.gui.model_page.loading import load_for_display
    from tflite_inspector.gui.model_page.view import ModelView

    app = QApplication.instance() or QApplication([])
    view = ModelView(load_for_display(str(DP_NET)))
    view.resize(1400, 800)
    view.show()
    app.processEvents()
    start = time.perf_counter()
    # The rule tables are read first; then each delegate's analysis is queued on the pool.
    while view.page.delegates is None and not view.page.delegates_error:
        app.processEvents()
        time.sleep(0.005)
    while True:
        app.processEvents()
        if background_pool().waitForDone(10):
            app.processEvents()  # deliver the last result, which may queue nothing more
            if background_pool().waitForDone(0):
                break
    print(f"\ndp_net: the background analyses end {time.perf_counter() - start:.2f} s after the view is shown")
    model = view.op_model
    print(f"dp_net operator table ({model.rowCount()} rows), in-process, after them, median of {repeat}")
    print(f"{'action':36s} {'ours ms':>9s} {'sorted() ms':>12s} {'ratio':>7s}")
    for column, name in enumerate(model.columns):
        def ours(c=column):
            view.op_table.sortByColumn(c, Qt.SortOrder.DescendingOrder)
            app.processEvents()

        def floor(c=column):
            sorted(model.rows, key=lambda r: (0, r.sort_keys[c]) if isinstance(r.sort_keys[c], (int, float))
                   else (1, str(r.sort_keys[c])), reverse=True)

        t_ours = _median(ours, repeat)
        t_floor = _median(floor, repeat)
        print(f"{'sort by ' + name:36s} {t_ours * 1e3:9.1f} {t_floor * 1e3:12.2f} {t_ours / t_floor:7.1f}")
    for text in ("conv", "^fully_connected", "float32", r"t1\d\d\b", ""):
        def apply(t=text):
            view.filter_edit.setText(t)
            app.processEvents()

        t_filter = _median(lambda: (view.filter_edit.setText("x"), apply()), repeat)
        print(f"{'filter ' + repr(text):36s} {t_filter * 1e3:9.1f} {'':>12s} "
              f"  -> {view.op_proxy.rowCount()} rows")


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    print(f"process start -> model shown (offscreen), median of {args.repeat} runs; target < 1.0 s")
    time_bare_qt()  # untimed: caches bytecode
    bare = statistics.median(time_bare_qt() for _ in range(args.repeat))
    print(f"{'reference: python -c import PySide6.QtWidgets':52s} {bare:6.3f} s")
    for path in (SAMPLE, DP_NET, LARGE):
        if not path.exists():
            print(f"{path.name:52s} (missing; run bench_inspect.py to build it)")
            continue
        time_to_shown(path)  # untimed: caches bytecode, warms the file cache
        times = [time_to_shown(path) for _ in range(args.repeat)]
        print(f"{path.name + f' ({path.stat().st_size / 1e6:.1f} MB)':52s} {statistics.median(times):6.3f} s "
              f"(min {min(times):.3f}, max {max(times):.3f}; {statistics.median(times) / bare:.1f} x bare Qt import)")
    table_timings(args.repeat)


if __name__ == "__main__":
    main()
