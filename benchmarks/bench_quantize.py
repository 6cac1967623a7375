"""Cost of the quantization lab, against the notebook it replaces.

vww_96_float (MLCommons Tiny) with every default mode, calibrated on the photos in
../shared/images, latency over 50 runs with 1 thread. Two timings of the same variants, each
the median of --repeat runs:

- notebook: in this process, what a user's notebook does per mode: ai-edge-quantizer's
  recipe (calibrated on the same preprocessed photos for int8 and int16x8), the file written,
  and 3 + 50 invocations in the LiteRT interpreter with XNNPACK. Nothing else: no error,
  no agreement, no delegate coverage.
- lab: `run_lab` with warm workers (the app keeps them), which does the same and also
  compares every variant with the float model on the photos (every tensor), analyses three
  delegates per variant, checks for unchanged models and saves the settings.
  Lab cold adds starting both worker processes.

Target (issue 6): the whole table in the time of the notebook plus the comparisons — reported
as lab/notebook; there is no numeric target in the issue, so the figure is recorded to catch
regressions.

Usage: .venv/bin/python benchmarks/bench_quantize.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_inspect import SHARED_MODELS  # noqa: E402
from tflite_inspector.core.comparison.inputs import prepare_samples  # noqa: E402
from tflite_inspector.core.lab.modes import DEFAULT_MODES  # noqa: E402
from tflite_inspector.core.lab.run import run_lab  # noqa: E402
from tflite_inspector.core.lab.settings import LabSettings  # noqa: E402
from tflite_inspector.core.reading.reader import read_model  # noqa: E402
from tflite_inspector.core.reading.tensor_data import quantize_array  # noqa: E402
from tflite_inspector.core.runtime.conversion import ConversionWorker  # noqa: E402
from tflite_inspector.core.runtime.conversion_child import (  # noqa: E402
    _recipe,
    _signature_inputs,
    prepare_for_quantizer,
)
from tflite_inspector.core.runtime.interpreter import RuntimeWorker  # noqa: E402

IMAGES = SHARED_MODELS.parent / "images"
SOURCE = SHARED_MODELS / "gh-mlcommons-tiny/vww_96_float.tflite"
RUNS = 50


def notebook(samples, out_dir: str) -> None:
    from ai_edge_litert import interpreter as litert
    from ai_edge_quantizer import quantizer

    data, _ = prepare_for_quantizer(SOURCE.read_bytes())  # vww has no signature; calibration needs one
    key, names = _signature_inputs(data)
    for mode in DEFAULT_MODES:
        q = quantizer.Quantizer(bytearray(data), _recipe(mode))
        calibration = None
        if q.need_calibration:
            calibration = q.calibrate({key: [{names[0]: s.values[0]} for s in samples]})
        model = q.quantize(calibration, enable_progress_report=False).quantized_model
        path = os.path.join(out_dir, f"{mode}.tflite")
        with open(path, "wb") as f:
            f.write(model)
        interpreter = litert.Interpreter(model_path=path, num_threads=1)
        interpreter.allocate_tensors()
        (detail,) = interpreter.get_input_details()
        qp = detail["quantization_parameters"]
        scale = float(qp["scales"][0]) if len(qp["scales"]) else None
        zero_point = int(qp["zero_points"][0]) if len(qp["zero_points"]) else 0
        value = quantize_array(samples[0].values[0], detail["dtype"], scale, zero_point)
        interpreter.set_tensor(detail["index"], value)
        for _ in range(3 + RUNS):
            interpreter.invoke()


def lab(runtime, converter, out_dir: str):
    settings = LabSettings(str(SOURCE), out_dir, DEFAULT_MODES, calibration=(str(IMAGES),), runs=RUNS)
    return run_lab(settings, runtime, converter, overwrite=True)


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not SOURCE.is_file():
        sys.exit(f"{SOURCE} is not available")
    with read_model(str(SOURCE)) as model:
        _, sample_set = prepare_samples([model], [str(IMAGES)])
    samples = sample_set.samples
    work = tempfile.mkdtemp(prefix="bench-quantize-")
    try:
        started = time.perf_counter()
        with RuntimeWorker() as runtime, ConversionWorker() as converter:
            result = lab(runtime, converter, work)
            cold = time.perf_counter() - started
            warm = median_time(lambda: lab(runtime, converter, work), args.repeat)
        bare = median_time(lambda: notebook(samples, work), args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"source: {SOURCE.name}, modes {','.join(DEFAULT_MODES)}, {len(samples)} photos, {RUNS} timed runs")
    print(f"notebook (quantize + write + {RUNS} runs per mode): {bare:.2f} s")
    print(f"lab, warm workers:  {warm:.2f} s  = {warm / bare:.2f}x the notebook")
    print(f"lab, cold workers:  {cold:.2f} s  (includes starting both worker processes)")
    usable = [v for v in result.variants if v.usable and not v.is_reference]
    print(f"variants in the table: {len(usable)} and the reference; each with latency, agreement on {result.evaluation_count} "
          "inputs, worst layer and 3 delegates")


if __name__ == "__main__":
    main()
