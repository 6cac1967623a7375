"""Run as a script in its own process (it imports TensorFlow): build a small Keras model, and run
TensorFlow's QuantizationDebugger on it with full-integer int8 conversion.

    python quantization_debugger_case.py OUT_DIR

writes OUT_DIR/model.keras, OUT_DIR/inputs.npy (the calibration and debug inputs: the same
arrays for both), OUT_DIR/debugger.tflite (the debugger's own quantized model, without its
verification ops) and OUT_DIR/layer_statistics.json (the debugger's per-layer statistics, keyed
by the quantized tensor's name). tests/test_isolated_error.py converts the same Keras file in
the conversion worker and checks our isolated per-layer error against these statistics.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def build(out_dir: str) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input((24, 24, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    y = keras.layers.Conv2D(8, 1)(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = keras.layers.AveragePooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(10)(x)
    outputs = keras.layers.Softmax()(x)
    model = keras.Model(inputs, outputs)
    model.save(os.path.join(out_dir, "model.keras"))

    # Smooth images (sums of a few random waves), not white noise: activations then have the
    # structure real inputs have, and calibration ranges fit them.
    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 24), np.linspace(0, 1, 24), indexing="ij"), -1)
    images = []
    for _ in range(16):
        image = np.zeros((24, 24, 3), np.float32)
        for channel in range(3):
            for _wave in range(3):
                k = rng.normal(0, 6, 2)
                image[..., channel] += np.sin(grid @ k + rng.uniform(0, 6.3)).astype(np.float32)
        images.append(image[None] / 3)
    inputs_array = np.concatenate(images).astype(np.float32)
    np.save(os.path.join(out_dir, "inputs.npy"), inputs_array)

    def dataset():
        for image in inputs_array:
            yield [image[None]]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=dataset)
    debugger.run()
    with open(os.path.join(out_dir, "debugger.tflite"), "wb") as f:
        f.write(debugger.get_nondebug_quantized_model())
    statistics = {name: {metric: float(value) for metric, value in stats.items()}
                  for name, stats in debugger.layer_statistics.items()}
    with open(os.path.join(out_dir, "layer_statistics.json"), "w") as f:
        json.dump(statistics, f, indent=1)


if __name__ == "__main__":
    build(sys.argv[1])
