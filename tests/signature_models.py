"""Run as a script in its own process (it imports TensorFlow): write models with two signatures of
different input shapes, converted by TensorFlow's own converter from one tf.Module.

    python signature_models.py OUT_DIR

writes OUT_DIR/two_float.tflite, OUT_DIR/two_dynamic.tflite (dynamic-range int8 weights) and
OUT_DIR/two_int8.tflite (full-integer int8, float inputs and outputs, calibrated per signature).
`encode` takes a 24×24 RGB image through six layers (deep enough that the interpreter's arena
reuses memory, so only preserved tensors keep their values), `decode` a 16-vector. The converter
orders signatures by key, so `decode` is subgraph 0 and `encode` subgraph 1: comparing `encode`
reads every tensor of a non-primary subgraph. tests/test_signatures.py uses them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

IMAGE_SHAPE = (1, 24, 24, 3)
VECTOR_SHAPE = (1, 16)


def build(out_dir: str) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)

    def weights(*shape: int) -> tf.Tensor:
        return tf.constant((rng.standard_normal(shape) / np.sqrt(np.prod(shape[:-1]))).astype(np.float32))

    class TwoSignatures(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1, self.c2, self.c3 = weights(3, 3, 3, 8), weights(3, 3, 8, 8), weights(3, 3, 8, 16)
            self.b1, self.b2 = tf.constant(rng.standard_normal(8).astype(np.float32) * 0.1), \
                tf.constant(rng.standard_normal(8).astype(np.float32) * 0.1)
            self.d1, self.e1, self.e2 = weights(16, 10), weights(16, 32), weights(32, 6)

        @tf.function(input_signature=[tf.TensorSpec(IMAGE_SHAPE, tf.float32, name="image")])
        def encode(self, image: tf.Tensor) -> dict[str, tf.Tensor]:
            x = tf.nn.relu(tf.nn.conv2d(image, self.c1, 1, "SAME") + self.b1)
            x = tf.nn.relu6(tf.nn.conv2d(x, self.c2, 1, "SAME") + self.b2)
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            x = tf.nn.relu(tf.nn.conv2d(x, self.c3, 2, "SAME"))
            x = tf.reduce_mean(x, axis=[1, 2])
            return {"classes": tf.nn.softmax(tf.matmul(x, self.d1))}

        @tf.function(input_signature=[tf.TensorSpec(VECTOR_SHAPE, tf.float32, name="vector")])
        def decode(self, vector: tf.Tensor) -> dict[str, tf.Tensor]:
            y = tf.nn.tanh(tf.matmul(vector, self.e1))
            return {"scores": tf.nn.softmax(tf.matmul(y, self.e2))}

    module = TwoSignatures()
    functions = [module.encode.get_concrete_function(), module.decode.get_concrete_function()]

    def converter() -> tf.lite.TFLiteConverter:
        return tf.lite.TFLiteConverter.from_concrete_functions(functions, module)

    def representative() -> object:
        # One multi-signature model is calibrated through each signature: (key, inputs by name).
        data = np.random.default_rng(1)
        for _ in range(32):
            yield "encode", {"image": data.uniform(0, 1, IMAGE_SHAPE).astype(np.float32)}
            yield "decode", {"vector": data.standard_normal(VECTOR_SHAPE).astype(np.float32)}

    variants = {"two_float.tflite": converter()}
    dynamic = converter()
    dynamic.optimizations = [tf.lite.Optimize.DEFAULT]
    variants["two_dynamic.tflite"] = dynamic
    full = converter()
    full.optimizations = [tf.lite.Optimize.DEFAULT]
    full.representative_dataset = representative
    full.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    variants["two_int8.tflite"] = full
    for name, conv in variants.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(conv.convert())


def build_in_subprocess(out_dir: Path) -> Path:
    """Run this script in its own process (TensorFlow stays out of the test process), with an .npz
    of inputs for each signature, named by the signature's input names; returns `out_dir`."""
    result = subprocess.run([sys.executable, __file__, str(out_dir)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rng = np.random.default_rng(5)
    np.savez(out_dir / "images.npz", image=rng.uniform(0, 1, (4, *IMAGE_SHAPE[1:])).astype(np.float32))
    np.savez(out_dir / "vectors.npz", vector=rng.standard_normal((4, *VECTOR_SHAPE[1:])).astype(np.float32))
    return out_dir


if __name__ == "__main__":
    build(sys.argv[1])
