"""Cost of a float-vs-quantized comparison, against the interpreter runs it cannot avoid.

The pair is vww_96_float / vww_96_int8 (MLCommons Tiny) on 10 photos from ../shared/images.
Three timings of the same work, each the median of --repeat runs:

- bare: in this process, both models in the LiteRT interpreter with all tensors preserved and
  delegates off, each input set, invoked, and every tensor of subgraph 0 read back
  (`get_tensor`), for the 10 inputs. This is the floor: what any per-layer tool must do.
- ours: `compare_models` on the models as read for preprocessing (the app has them open),
  with a warm worker process (the app keeps one), which matches the
  tensors, runs the same invocations in the worker, computes the seven metrics per matched
  tensor there, sends back the numbers, and averages them. The same samples as bare; decoding
  the images is timed separately. Ours cold adds starting the worker process.
- compare_model: ai-edge-quantizer's `model_validator.compare_model` on the same pair and
  inputs (copies with a signature added, which it needs), with XNNPACK off as ours and with
  its defaults; it computes MSE only.

Target (issue 5): ours/bare − 1 < 50 %, and ours faster than compare_model.

Usage: .venv/bin/python benchmarks/bench_compare.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_inspect import SHARED_MODELS, timed  # noqa: E402
from tests.graph_builder import with_signature  # noqa: E402
from tflite_inspector.core.comparison.inputs import prepare_samples  # noqa: E402
from tflite_inspector.core.comparison.run import compare_models  # noqa: E402
from tflite_inspector.core.reading.reader import read_model  # noqa: E402
from tflite_inspector.core.reading.tensor_data import quantize_array  # noqa: E402
from tflite_inspector.core.runtime.interpreter import RuntimeWorker  # noqa: E402

IMAGES = SHARED_MODELS.parent / "images"
FLOAT = SHARED_MODELS / "gh-mlcommons-tiny/vww_96_float.tflite"
INT8 = SHARED_MODELS / "gh-mlcommons-tiny/vww_96_int8.tflite"


def bare_runs(paths, samples) -> None:
    from ai_edge_litert import interpreter as litert

    for path in paths:
        interpreter = litert.Interpreter(
            model_path=str(path),
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            experimental_preserve_all_tensors=True,
        )
        interpreter.allocate_tensors()
        (detail,) = interpreter.get_input_details()
        scales = detail["quantization_parameters"]["scales"]
        zero_points = detail["quantization_parameters"]["zero_points"]
        scale = float(scales[0]) if len(scales) else None
        zero_point = int(zero_points[0]) if len(zero_points) else 0
        tensors = [t["index"] for t in interpreter.get_tensor_details()]
        for sample in samples.samples:
            value = quantize_array(sample.values[0], detail["dtype"], scale, zero_point)
            interpreter.set_tensor(detail["index"], value)
            interpreter.invoke()
            for index in tensors:
                interpreter.get_tensor(index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported")
    args = parser.parse_args()
    if not FLOAT.exists():
        sys.exit(f"{FLOAT} is missing")
    import warnings

    warnings.filterwarnings("ignore", message=".*preserve_all_tensors.*")
    models = [read_model(FLOAT), read_model(INT8)]
    images = sorted(str(p) for p in IMAGES.iterdir() if p.suffix.lower() in (".bmp", ".jpg"))[:10]
    decode_s = timed(lambda: prepare_samples(models, images), args.repeat)
    _, samples = prepare_samples(models, images)
    assert len(samples.samples) == 10, samples.errors

    bare_runs([FLOAT, INT8], samples)  # load the interpreter library before timing
    bare_s = timed(lambda: bare_runs([FLOAT, INT8], samples), args.repeat)

    with RuntimeWorker() as worker:
        compare_models(models[0], [models[1]], samples, worker)  # start the worker, load both models
        # End to end only: the work the bare floor does. Isolated mode (each op alone, the
        # default) runs both models once more per input; its cost is reported beside.
        ours_s = timed(lambda: compare_models(models[0], [models[1]], samples, worker, isolated=False), args.repeat)
        compare_models(models[0], [models[1]], samples, worker)  # load the isolated models once
        isolated_s = timed(lambda: compare_models(models[0], [models[1]], samples, worker), args.repeat)

    def cold() -> None:
        with RuntimeWorker() as fresh:
            compare_models(models[0], [models[1]], samples, fresh, isolated=False)

    cold_s = timed(cold, max(1, args.repeat // 2))

    from ai_edge_quantizer import model_validator

    with tempfile.TemporaryDirectory() as folder:
        ref_bytes = with_signature(FLOAT.read_bytes())
        cand_bytes = with_signature(INT8.read_bytes())
        Path(folder, "r.tflite").write_bytes(ref_bytes)
        data = {"serving_default": [{"x": s.values[0]} for s in samples.samples]}
        quantizer_times = {}
        for label, xnnpack in (("compare_model, XNNPACK off", False), ("compare_model, defaults", True)):
            start = time.perf_counter()
            with open(os.devnull, "w") as devnull:
                saved = os.dup(2)
                os.dup2(devnull.fileno(), 2)  # its interpreter logs a line per model load
                try:
                    model_validator.compare_model(ref_bytes, cand_bytes, data, use_xnnpack=xnnpack)
                finally:
                    os.dup2(saved, 2)
                    os.close(saved)
            quantizer_times[label] = time.perf_counter() - start

    print(f"pair: {FLOAT.name} vs {INT8.name}, {len(samples.samples)} images, median of {args.repeat}")
    print(f"  decode + preprocess 10 images     {decode_s * 1e3:8.1f} ms")
    print(f"  bare interpreter runs             {bare_s * 1e3:8.1f} ms   (reference)")
    print(f"  compare_models, warm worker       {ours_s * 1e3:8.1f} ms   overhead {ours_s / bare_s - 1:+.0%}")
    print(f"  ... with isolated mode (default)  {isolated_s * 1e3:8.1f} ms   {isolated_s / ours_s:.2f}x end to end only")
    print(f"  compare_models, new worker        {cold_s * 1e3:8.1f} ms   {cold_s / bare_s:.2f}x bare")
    for label, seconds in quantizer_times.items():
        print(f"  {label:<33} {seconds * 1e3:8.1f} ms   {seconds / ours_s:.1f}x ours (one run)")


if __name__ == "__main__":
    main()
