"""Asking the delegate rules about one model, for the per-delegate rule tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tflite_inspector.core.delegates.engine import OpVerdict, analyze
from tflite_inspector.core.delegates.settings import DEFAULT_NNAPI_API_LEVEL, DelegateSettings
from tflite_inspector.core.delegates.tables import Reason
from tflite_inspector.core.reading.model import Model

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def taken(model: Model, delegate: str, api_level: int = DEFAULT_NNAPI_API_LEVEL) -> list[bool]:
    """Each op's verdict, in order (all subgraphs)."""
    return [v.supported for v in analyze(model, delegate, DelegateSettings(api_level)).ops]


def verdict(
    model: Model,
    delegate: str,
    index: int,
    subgraph: int = 0,
    api_level: int = DEFAULT_NNAPI_API_LEVEL,
) -> OpVerdict:
    v = analyze(model, delegate, DelegateSettings(api_level)).verdict(subgraph, index)
    assert v is not None
    return v


def reason_with(v: OpVerdict, words: str) -> Reason:
    """The op's reason containing `words` (failing if none does)."""
    for r in v.reasons:
        if words in r.text:
            return r
    raise AssertionError(f"no reason of #{v.index} {v.opcode} mentions {words!r}: {[r.text for r in v.reasons]}")


# ------------------------------------------------------------------ sparse weights
# The kinds of sparse model write_sparse_models converts, by the optimisations given the converter:
# float32 weights (DENSIFY -> CONV_2D), float16 (DENSIFY -> DEQUANTIZE -> CONV_2D, as published
# face and pose detectors store them), dynamic-range and full-integer int8 (DENSIFY of int8 weights).
SPARSE_KINDS = ("float32", "float16", "dynamic_range", "int8")


def write_sparse_models(out_dir: str) -> None:
    """Convert a small pruned Keras model (80% of each kernel zero) with the converter's
    EXPERIMENTAL_SPARSITY option into OUT_DIR/sparse_<kind>.tflite for every kind of SPARSE_KINDS.
    Imports TensorFlow: run it in its own process (sparse_models does)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    inputs = tf.keras.Input((16, 16, 8), batch_size=1)
    x = tf.keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(32, 1, activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Dense(64, activation="relu")(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(10)(x))
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            # Pruned: the converter stores a kernel sparsely only when most of it is zero.
            kernel = np.where(rng.random(weights[0].shape) < 0.8, 0, weights[0])
            layer.set_weights([kernel] + [rng.standard_normal(w.shape).astype(np.float32) for w in weights[1:]])
    for kind in SPARSE_KINDS:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]
        if kind != "float32":
            converter.optimizations.append(tf.lite.Optimize.DEFAULT)
        if kind == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if kind == "int8":
            converter.representative_dataset = lambda: (
                [rng.standard_normal((1, 16, 16, 8)).astype(np.float32)] for _ in range(8)
            )
        with open(os.path.join(out_dir, f"sparse_{kind}.tflite"), "wb") as f:
            f.write(converter.convert())


def sparse_models(out_dir: Path) -> dict[str, Path]:
    """write_sparse_models in a child process (TensorFlow stays out of the test process);
    {kind: path}."""
    code = "import sys; from tests.compat_helpers import write_sparse_models; write_sparse_models(sys.argv[1])"
    result = subprocess.run([sys.executable, "-c", code, str(out_dir)], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"converting the sparse models failed:\n{result.stderr[-2000:]}")
    return {kind: out_dir / f"sparse_{kind}.tflite" for kind in SPARSE_KINDS}
