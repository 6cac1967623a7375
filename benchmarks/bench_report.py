"""Cost and size of the HTML report.

For each model: `build_report` (read, stats, the six delegates' rules, the jinja2 page) against
a reference in the same process, `inspect --json`'s work (read, stats, `model_dict`, JSON text),
which reads the same model and writes a document about as long. Both are the median of --repeat
runs. With the shared photos, vww_96_float is also reported with a comparison against its int8
version on 20 photos (the first run also starts the interpreter worker; the median leaves it out).

Target (issue 7): under 5 MB for dp_net (2,338 ops). Time has no target in the issue; the ratio
is recorded to catch regressions.

Usage: .venv/bin/python benchmarks/bench_report.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_inspect import SHARED_MODELS  # noqa: E402
from tflite_inspector.core.comparison.run import ComparisonRequest  # noqa: E402
from tflite_inspector.core.inspection.stats import model_stats  # noqa: E402
from tflite_inspector.core.inspection.summary import model_dict  # noqa: E402
from tflite_inspector.core.reading.reader import read_model  # noqa: E402
from tflite_inspector.core.report.build import ReportRequest, build_report  # noqa: E402
from tflite_inspector.core.runtime.interpreter import RuntimeWorker  # noqa: E402

IMAGES = SHARED_MODELS.parent / "images"
MODELS = ("gh-mlcommons-tiny/vww_96_float.tflite", "gh-mlcommons-tiny/vww_96_int8.tflite",
          "gh-tensorflow-tflite-micro/dp_net.tflite")
SIZE_LIMIT = 5_000_000


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def inspect_json(path: str) -> str:
    with read_model(path) as model:
        return json.dumps(model_dict(model, model_stats(model)), ensure_ascii=False, allow_nan=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"median of {args.repeat}; reference: inspect --json's work on the same model")
    print(f"{'model':<34} {'report s':>9} {'inspect s':>9} {'ratio':>6} {'report bytes':>13} {'json bytes':>11}")
    for relative in MODELS:
        path = SHARED_MODELS / relative
        if not path.exists():
            print(f"{relative:<34} missing")
            continue
        reference, text = timed(lambda p=str(path): inspect_json(p), args.repeat)
        seconds, page = timed(lambda p=str(path): build_report(ReportRequest(p)), args.repeat)
        size = len(page.encode("utf-8"))
        flag = "" if size < SIZE_LIMIT else "  OVER the 5 MB limit"
        print(f"{path.name:<34} {seconds:9.3f} {reference:9.3f} {seconds / reference:6.2f} {size:13,} "
              f"{len(text.encode('utf-8')):11,}{flag}")
    float_model, int8_model = (SHARED_MODELS / m for m in MODELS[:2])
    if IMAGES.is_dir() and float_model.exists() and int8_model.exists():
        request = ReportRequest(str(float_model), comparison=ComparisonRequest(
            str(float_model), (str(int8_model),), (str(IMAGES),)))
        with RuntimeWorker() as worker:
            seconds, page = timed(lambda: build_report(request, worker), args.repeat)
        print(f"{'vww_96_float + int8 on the photos':<34} {seconds:9.3f} {'':>9} {'':>6} "
              f"{len(page.encode('utf-8')):13,}")


if __name__ == "__main__":
    main()
