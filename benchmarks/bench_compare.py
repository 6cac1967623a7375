"""Cost of a float-vs-quantized comparison, against the interpreter runs it cannot avoid.

Two pairs, each on 10 photos from ../shared/images, reported side by side:
- vww_96: vww_96_float / vww_96_int8 (MLCommons Tiny), 96×96, 31 ops;
- mobilenet_v1_0.25_224: the float MobileNet v1 0.25 224 of tflite-support and its full-integer
  int8 variant, made once by the project's own `tflite-inspector quantize --modes int8`
  (calibrated on ../shared/images) into a temporary folder and reused from there.

Timings of the same work, each the median of --repeat runs:

- bare: in this process, both models in the LiteRT interpreter with all tensors preserved and
  delegates off, each input set, invoked, and every tensor of subgraph 0 read back
  (`get_tensor`), for the 10 inputs. This is the floor: what any per-layer tool must do.
- ours, end to end only: `compare_models(..., isolated=False)` on the models as read for
  preprocessing (the app has them open), with a warm worker process (the app keeps one),
  which matches the tensors, runs the same invocations in the worker, computes the seven
  metrics per matched tensor there, sends back the numbers, and averages them. The same
  samples as bare; decoding the images is timed separately. Cold adds starting the worker.
- ours with isolated mode (the default): besides, each op alone on the reference's
  activations (two more invocations per input), timed twice: a repeated comparison of the
  same pair in the same process (the app re-running), and a first one (the isolated models'
  per-process cache emptied before each run, when there is one).
- compare_model (`--quantizer`): ai-edge-quantizer's `model_validator.compare_model` on the
  same pair and inputs (copies with a signature added, which it needs), with XNNPACK off as
  ours and with its defaults; it computes MSE only.

Bare and ours are timed interleaved, one of each per round, and the overhead is the median of
the rounds' own ratios ours/bare − 1: on a shared machine, a change of load then hits both alike.
Beside the wall clock, the CPU time and the time spent waiting for a CPU (run queue) of this
process and the worker's main threads, from Linux's /proc/PID/schedstat: a comparison hands work
between two processes, which a single-process bare run never waits for.

Target (issues 5 and 16): ours end to end only / bare − 1 < 50 % on both pairs, and ours
faster than compare_model.

`--profile PAIR` instead runs the worker's loop in this process under cProfile (the same
CompareRequest the app sends, isolated runs included unless --no-isolated) and prints where
the time goes.

Usage: .venv/bin/python benchmarks/bench_compare.py [--repeat N] [--pairs vww_96,mobilenet_v1_0.25_224]
       [--quantizer] [--profile PAIR [--no-isolated]]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
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
MOBILENET = SHARED_MODELS / "gh-tensorflow-tflite-support/mobilenet_v1_0.25_224_1_metadata_1.tflite"
MADE = Path(tempfile.gettempdir()) / "tflite-inspector-bench-compare"
MOBILENET_INT8 = MADE / "mobilenet_v1_0.25_224_1_metadata_1_int8.tflite"
PAIRS = {"vww_96": (FLOAT, INT8), "mobilenet_v1_0.25_224": (MOBILENET, MOBILENET_INT8)}


def make_mobilenet_int8() -> None:
    """The int8 variant of the float MobileNet, by the project's own quantization lab, once."""
    if MOBILENET_INT8.exists():
        return
    MADE.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", "from tflite_inspector.main import cli_main; cli_main()", "quantize",
                    str(MOBILENET), "--modes", "int8", "-o", str(MADE), "--calibration", str(IMAGES),
                    "--runs", "3", "--overwrite"], check=True, stdout=subprocess.DEVNULL)
    if not MOBILENET_INT8.exists():
        sys.exit(f"quantize did not write {MOBILENET_INT8}")
    inline_buffers(MOBILENET_INT8)


def inline_buffers(path: Path) -> None:
    """ai-edge-quantizer stores the buffers after the flatbuffer (offset and size); isolated mode
    needs them inside it, as a converter writes them. The same bytes, moved."""
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema

    data = path.read_bytes()
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for buffer in model.buffers or []:
        if buffer.offset > 1:
            buffer.data = np.frombuffer(data, np.uint8, buffer.size, buffer.offset)
            buffer.offset = buffer.size = 0
    builder = flatbuffers.Builder(len(data) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.write_bytes(bytes(builder.Output()))


def images() -> list[str]:
    return sorted(str(p) for p in IMAGES.iterdir() if p.suffix.lower() in (".bmp", ".jpg"))[:10]


def bare_runs(paths, samples, parts: dict[str, float] | None = None) -> None:
    """The floor. With `parts`, adds the seconds spent loading the two interpreters, invoking
    them and reading the tensors back."""
    from ai_edge_litert import interpreter as litert

    clock = time.perf_counter
    for path in paths:
        started = clock()
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
        if parts is not None:
            parts["load"] = parts.get("load", 0.0) + clock() - started
        for sample in samples.samples:
            value = quantize_array(sample.values[0], detail["dtype"], scale, zero_point)
            interpreter.set_tensor(detail["index"], value)
            started = clock()
            interpreter.invoke()
            invoked = clock()
            for index in tensors:
                interpreter.get_tensor(index)
            if parts is not None:
                parts["invoke"] = parts.get("invoke", 0.0) + invoked - started
                parts["read"] = parts.get("read", 0.0) + clock() - invoked


def schedstat(pids) -> tuple[int, int]:
    """(ns on a CPU, ns waiting for one) of the main threads of `pids` ("self" for this process),
    from Linux's /proc/PID/schedstat; (0, 0) where it cannot be read."""
    run = wait = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                fields = f.read().split()
            run, wait = run + int(fields[0]), wait + int(fields[1])
        except (OSError, ValueError, IndexError):
            return 0, 0
    return run, wait


def interleaved(runs: dict, repeat: int, pids=("self",)) -> list[dict[str, float]]:
    """`repeat` rounds, each timing every run once, in order: [{name: seconds, name + " cpu":
    seconds on a CPU, name + " wait": seconds waiting for one}], both of this process and of the
    others in `pids` (the worker), so that a shared machine's load can be told from the work."""
    rounds = []
    for _ in range(repeat):
        times = {}
        for name, fn in runs.items():
            gc.collect()
            run0, wait0 = schedstat(pids)
            start = time.perf_counter()
            fn()
            times[name] = time.perf_counter() - start
            run1, wait1 = schedstat(pids)
            times[name + " cpu"], times[name + " wait"] = (run1 - run0) / 1e9, (wait1 - wait0) / 1e9
        rounds.append(times)
    return rounds


def clear_isolated_cache() -> None:
    """Empty the per-process cache of isolated models, where the tree has one."""
    from tflite_inspector.core.comparison import run

    clear = getattr(run, "clear_isolated_cache", None)
    if clear is not None:
        clear()


def measure(name: str, paths: tuple[Path, Path], repeat: int, quantizer: bool) -> dict[str, float]:
    models = [read_model(paths[0]), read_model(paths[1])]
    found = images()
    decode_s = timed(lambda: prepare_samples(models, found), repeat)
    _, samples = prepare_samples(models, found)
    assert len(samples.samples) == 10, samples.errors

    bare_runs(paths, samples)  # load the interpreter library before timing

    with RuntimeWorker() as worker:
        compare_models(models[0], [models[1]], samples, worker, isolated=False)  # start the worker, load both
        compare_models(models[0], [models[1]], samples, worker)  # build and load the isolated models once

        def first() -> None:
            clear_isolated_cache()
            compare_models(models[0], [models[1]], samples, worker)

        # Interleaved, one of each per round, so that a change of load on the (shared) machine
        # hits all of them alike; the overhead is the median of the rounds' own ratios.
        # End to end only is the work the bare floor does. Isolated mode (each op alone, the
        # default) runs both models once more per input; its cost is reported beside.
        rounds = interleaved({
            "bare": lambda: bare_runs(paths, samples),
            "ours": lambda: compare_models(models[0], [models[1]], samples, worker, isolated=False),
            "isolated": lambda: compare_models(models[0], [models[1]], samples, worker),
            "isolated_first": first,
        }, repeat, ("self", worker._process.pid))
    result = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    result["overhead"] = statistics.median(r["ours"] / r["bare"] - 1 for r in rounds)
    result["overheads"] = sorted(r["ours"] / r["bare"] - 1 for r in rounds)
    if result["bare cpu"] > 0:
        result["cpu_overhead"] = statistics.median(r["ours cpu"] / r["bare cpu"] - 1 for r in rounds)
    result["decode"] = decode_s
    split = []
    for _ in range(repeat):
        parts: dict[str, float] = {}
        bare_runs(paths, samples, parts)
        split.append(parts)
    for key in ("load", "invoke", "read"):
        result["bare_" + key] = statistics.median(parts[key] for parts in split)

    def cold() -> None:
        with RuntimeWorker() as fresh:
            compare_models(models[0], [models[1]], samples, fresh, isolated=False)

    result["cold"] = timed(cold, max(1, repeat // 2))
    if quantizer:
        result.update(quantizer_runs(paths, samples))
    for model in models:
        model.close()
    return result


def quantizer_runs(paths: tuple[Path, Path], samples) -> dict[str, float]:
    from ai_edge_quantizer import model_validator

    ref_bytes = with_signature(paths[0].read_bytes())
    cand_bytes = with_signature(paths[1].read_bytes())
    data = {"serving_default": [{"x": s.values[0]} for s in samples.samples]}
    times = {}
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
        times[label] = time.perf_counter() - start
    return times


def profile(name: str, isolated: bool, repeat: int) -> None:
    """The worker's loop in this process under cProfile: the request compare_models sends."""
    import cProfile
    import pstats

    from ai_edge_litert import interpreter as litert

    from tflite_inspector.core.comparison import run
    from tflite_inspector.core.comparison.matching import match_tensors
    from tflite_inspector.core.runtime.interpreter_child import _PreservingInterpreters
    from tflite_inspector.core.runtime.protocol import CandidateRun, CompareRequest, TensorIndexPair

    paths = PAIRS[name]
    models = [read_model(paths[0]), read_model(paths[1])]
    _, samples = prepare_samples(models, images())
    matching = match_tensors(models[0], models[1])
    pairs = tuple(TensorIndexPair(p.reference, p.candidate) for p in matching.pairs)
    with tempfile.TemporaryDirectory() as folder:
        runs = (None, None)
        if isolated:
            started = time.perf_counter()
            runs, _ = run._isolated_runs(models[0], models[1], matching, os.path.join(folder, "0"))
            print(f"building and writing the isolated models: {(time.perf_counter() - started) * 1e3:.1f} ms")
        request = CompareRequest(str(paths[0]), (CandidateRun(str(paths[1]), pairs, *runs),),
                                 tuple(s.values for s in samples.samples))
        worker = _PreservingInterpreters(litert)
        worker.compare(request)  # load the interpreters
        per_run = timed(lambda: worker.compare(request), repeat)
        print(f"{name}: {len(pairs)} pairs, {len(request.samples)} inputs, compare() {per_run * 1e3:.1f} ms "
              f"(median of {repeat})")
        import pickle

        answer = worker.compare(request)
        blob = pickle.dumps(("ok", answer), protocol=pickle.HIGHEST_PROTOCOL)
        pickling = timed(lambda: pickle.loads(pickle.dumps(("ok", answer), protocol=pickle.HIGHEST_PROTOCOL)),
                         repeat)
        print(f"answer: {len(blob):,} bytes pickled, dumps + loads {pickling * 1e3:.2f} ms")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            worker.compare(request)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    for model in models:
        model.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--pairs", default=",".join(PAIRS), help="comma-separated pairs to measure")
    parser.add_argument("--quantizer", action="store_true", help="also time ai-edge-quantizer's compare_model")
    parser.add_argument("--profile", metavar="PAIR", choices=list(PAIRS), help="profile the worker's loop instead")
    parser.add_argument("--no-isolated", action="store_true", help="with --profile: end to end only")
    args = parser.parse_args()
    if not FLOAT.exists() or not MOBILENET.exists():
        sys.exit(f"{FLOAT} or {MOBILENET} is missing")
    import warnings

    warnings.filterwarnings("ignore", message=".*preserve_all_tensors.*")
    make_mobilenet_int8()
    if args.profile:
        profile(args.profile, not args.no_isolated, args.repeat)
        return
    names = [n for n in args.pairs.split(",") if n]
    results = {name: measure(name, PAIRS[name], args.repeat, args.quantizer) for name in names}
    width = 22
    print(f"10 images per pair, median of {args.repeat} (ms)")
    print(f"{'':<44}" + "".join(f"{n[:width]:>{width + 2}}" for n in names))

    def row(label: str, key: str, note=None) -> None:
        cells = []
        for n in names:
            r = results[n]
            if key not in r:
                cells.append(f"{'-':>{width + 2}}")
                continue
            text = f"{r[key] * 1e3:.1f}" + (f" ({note(r)})" if note else "")
            cells.append(f"{text:>{width + 2}}")
        print(f"  {label:<42}" + "".join(cells))

    row("decode + preprocess 10 images", "decode")
    row("bare interpreter runs (reference)", "bare")
    row("  of which: loading both interpreters", "bare_load")
    row("            invocations", "bare_invoke")
    row("            reading every tensor back", "bare_read")
    row("compare_models, end to end only, warm", "ours", lambda r: f"{r['overhead']:+.0%}")
    row("... with isolated mode, repeated", "isolated", lambda r: f"{r['isolated'] / r['ours']:.2f}x")
    row("... with isolated mode, first of the pair", "isolated_first",
        lambda r: f"{r['isolated_first'] / r['ours']:.2f}x")
    row("compare_models, new worker", "cold", lambda r: f"{r['cold'] / r['bare']:.1f}x bare")
    row("CPU time: bare (this process)", "bare cpu")
    row("  end to end only (this process + worker)", "ours cpu", lambda r: f"{r['cpu_overhead']:+.0%}")
    row("waiting for a CPU: bare", "bare wait")
    row("  end to end only", "ours wait")
    for label in ("compare_model, XNNPACK off", "compare_model, defaults"):
        row(label + " (one run)", label, lambda r, label=label: f"{r[label] / r['ours']:.1f}x ours")
    print("overhead: the median over rounds of (ours / bare of the same round) − 1, wall clock; the CPU time")
    print("and the time spent waiting for a CPU (run queue) from /proc/PID/schedstat. Wall overhead, all rounds:")
    for n in names:
        print(f"  {n}: " + " ".join(f"{o:+.0%}" for o in results[n]["overheads"]))


if __name__ == "__main__":
    main()
