"""Speed and memory of `inspect --json`, in-process, with TensorFlow's Analyzer as the reference.

Prints, for every model in ../shared/models, the time to read it and produce its
JSON (median of repeated runs), then the targets:
  - dp_net (2,338 ops) and a >= 50 MB model (built here with the TF converter)
    each under 0.5 s;
  - cost grows with op count, not file size: a synthetic 20,000-op model
    (built here with the schema's object API) against the 50 MB one;
  - tf.lite.experimental.Analyzer.analyze on the same models, same run, as a ratio;
  - resident memory added by opening the 50 MB model, against its file size.

Usage: .venv/bin/python benchmarks/bench_inspect.py [--repeat N] [--no-analyzer]
Generated models are cached in benchmarks/.cache/.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tflite_inspector.core.errors import ModelError  # noqa: E402
from tflite_inspector.core.inspection.stats import model_stats  # noqa: E402
from tflite_inspector.core.inspection.summary import model_dict  # noqa: E402
from tflite_inspector.core.reading.reader import read_model  # noqa: E402

SHARED_MODELS = ROOT.parent / "shared" / "models"
CACHE = ROOT / "benchmarks" / ".cache"


def inspect_json(path: Path) -> str:
    """Exactly what `tflite-inspector inspect --json` does for one file."""
    with read_model(path) as model:
        return json.dumps(model_dict(model, model_stats(model)), ensure_ascii=False, allow_nan=False)


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@contextlib.contextmanager
def quiet_stdout():
    """The Analyzer prints its report to fd 1 from C++; send it to /dev/null."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def build_large_model(path: Path) -> Path:
    """A float32 MLP whose weights make the file >= 50 MB, through the TF converter."""
    if path.exists():
        return path
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((2048,))
    x = inputs
    for _ in range(4):
        x = tf.keras.layers.Dense(2048, activation="relu")(x)
    outputs = tf.keras.layers.Dense(1000)(x)
    model = tf.keras.Model(inputs, outputs)
    data = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def build_many_ops_model(path: Path, n_ops: int) -> Path:
    """A chain of n_ops ADD ops (x + c), written with the schema's object API."""
    if path.exists():
        return path
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT()
    model.version = 3
    model.description = f"synthetic chain of {n_ops} ADD ops"
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.ADD
    code.version = 1
    model.operatorCodes = [code]
    empty = s.BufferT()
    const = s.BufferT()
    const.data = np.frombuffer(np.float32(1.0).tobytes(), dtype=np.uint8)
    model.buffers = [empty, const]
    sg = s.SubGraphT()
    tensors = []
    for i in range(n_ops + 1):
        t = s.TensorT()
        t.name = f"x{i}"
        t.shape = np.array([1, 16], dtype=np.int32)
        t.type = s.TensorType.FLOAT32
        t.buffer = 0
        tensors.append(t)
    c = s.TensorT()
    c.name = "one"
    c.shape = np.array([1], dtype=np.int32)
    c.type = s.TensorType.FLOAT32
    c.buffer = 1
    tensors.append(c)
    ops = []
    for i in range(n_ops):
        op = s.OperatorT()
        op.opcodeIndex = 0
        op.inputs = np.array([i, n_ops + 1], dtype=np.int32)
        op.outputs = np.array([i + 1], dtype=np.int32)
        op.builtinOptionsType = s.BuiltinOptions.AddOptions
        op.builtinOptions = s.AddOptionsT()
        ops.append(op)
    sg.tensors, sg.operators = tensors, ops
    sg.inputs = np.array([0], dtype=np.int32)
    sg.outputs = np.array([n_ops], dtype=np.int32)
    sg.name = "main"
    model.subgraphs = [sg]
    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(builder.Output()))
    return path


def resident() -> tuple[int, int]:
    """(anonymous, file-backed) resident bytes of this process, from /proc (Linux)."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:")):
                key, value = line.split(":")
                fields[key] = int(value.split()[0]) * 1024
    return fields["RssAnon"], fields["RssFile"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs per model; the median is reported")
    parser.add_argument("--no-analyzer", action="store_true", help="skip TensorFlow's Analyzer reference")
    args = parser.parse_args()

    large = build_large_model(CACHE / "mlp_2048x4_float32.tflite")
    many = build_many_ops_model(CACHE / "chain_20000_add.tflite", 20_000)

    # Resident memory first, before other models warm the page cache of this process.
    inspect_json(SHARED_MODELS / "gh-mlcommons-tiny" / "vww_96_int8.tflite")  # imports, caches
    gc.collect()
    anon0, file0 = resident()
    model = read_model(large)
    text = json.dumps(model_dict(model, model_stats(model)))
    anon1, file1 = resident()
    size = large.stat().st_size
    print(f"resident memory added by opening {large.name} ({size / 1e6:.1f} MB) and producing its JSON:")
    print(f"  process memory (anonymous): {(anon1 - anon0) / 1e6:.2f} MB = {(anon1 - anon0) / size:.4f} x file size")
    print(f"  mapped file pages (page cache, shared, reclaimable): {(file1 - file0) / 1e6:.2f} MB "
          f"= {(file1 - file0) / size:.3f} x file size")
    model.close()
    del model, text

    print(f"\ninspect --json, in-process, median of {args.repeat} runs")
    print(f"{'model':70s} {'MB':>7s} {'ops':>6s} {'ours ms':>9s}")
    total = 0.0
    rows = []
    paths = sorted(SHARED_MODELS.rglob("*.tflite")) if SHARED_MODELS.is_dir() else []
    for path in paths + [large, many]:
        try:
            with read_model(path) as m:
                n_ops = sum(len(sg.operators) for sg in m.subgraphs)
        except ModelError:
            n_ops = -1
        def run(p=path):
            try:
                inspect_json(p)
            except ModelError:
                pass
        t = timed(run, args.repeat)
        total += t if path in paths else 0.0
        rows.append((path, n_ops, t))
        name = str(path.relative_to(SHARED_MODELS)) if path in paths else f"(generated) {path.name}"
        print(f"{name:70s} {path.stat().st_size / 1e6:7.2f} {n_ops:6d} {t * 1000:9.1f}")
    print(f"total over the {len(paths)} files of ../shared/models: {total:.3f} s")

    by_name = {p.name: (n, t) for p, n, t in rows}
    dp = by_name.get("dp_net.tflite")
    print("\ntargets")
    if dp:
        print(f"  dp_net ({dp[0]} ops): {dp[1] * 1000:.0f} ms  (target < 500 ms)")
    print(f"  {large.name} ({large.stat().st_size / 1e6:.1f} MB, {by_name[large.name][0]} ops): "
          f"{by_name[large.name][1] * 1000:.1f} ms  (target < 500 ms)")
    n_many, t_many = by_name[many.name]
    print(f"  {many.name} ({many.stat().st_size / 1e6:.1f} MB, {n_many} ops): {t_many * 1000:.0f} ms "
          f"= {t_many / n_many * 1e6:.1f} us per op")
    if dp:
        print(f"  per op: dp_net {dp[1] / dp[0] * 1e6:.1f} us, 20,000-op chain {t_many / n_many * 1e6:.1f} us; "
              f"per MB: {large.name} {by_name[large.name][1] / (large.stat().st_size / 1e6) * 1e3:.2f} ms/MB")

    if args.no_analyzer:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    print("\nreference: tf.lite.experimental.Analyzer.analyze (text report to /dev/null), same run")
    print(f"{'model':40s} {'Analyzer ms':>12s} {'ours ms':>9s} {'Analyzer/ours':>14s}")
    picks = [SHARED_MODELS / "gh-tensorflow-tflite-micro" / "dp_net.tflite",
             SHARED_MODELS / "gh-google-coral-test_data" / "mobilenet_v2_1.0_224_quant.tflite",
             SHARED_MODELS / "gh-tulasiram58827-TTS_TFLite" / "parallel_wavegan_float16.tflite",
             large, many]
    for path in picks:
        if not path.exists():
            continue
        def analyze(p=path):
            with quiet_stdout():
                tf.lite.experimental.Analyzer.analyze(model_path=str(p))
        t_ref = timed(analyze, max(1, args.repeat // 2))
        ours = next(t for p, _, t in rows if p == path)
        print(f"{path.name:40s} {t_ref * 1000:12.1f} {ours * 1000:9.1f} {t_ref / ours:14.2f}")


if __name__ == "__main__":
    main()
