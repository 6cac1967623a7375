"""Train and convert the bundled sample models (run once; outputs are committed).

A small CNN that tells circles, squares and triangles apart in 32x32 RGB
pictures drawn here with Pillow, so the sample needs no data set from anywhere.
Writes into resources/samples/:

  shapes_float.tflite   float32 model
  shapes_int8.tflite    full-integer int8 (int8 input and output), calibrated
                        on 200 drawn pictures
  labels.txt            the three class names
  circle.png, square.png, triangle.png   sample inputs

Both models carry labels.txt in a zip appended after the flatbuffer, the way
TFLite metadata attaches label files (the runtime ignores the trailing bytes).

Usage: .venv/bin/python scripts/make_samples.py [--out DIR]   (needs the [convert] extra)
Training is not bit-for-bit repeatable: give --out to try it without replacing the committed files.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "resources" / "samples"
LABELS = ["circle", "square", "triangle"]
SIZE = 32


def draw_shape(kind: int, rng: random.Random) -> np.ndarray:
    background = tuple(rng.randrange(0, 256) for _ in range(3))
    img = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(img)
    while True:
        color = tuple(rng.randrange(0, 256) for _ in range(3))
        if sum(abs(a - b) for a, b in zip(color, background)) > 150:
            break
    r = rng.uniform(6, 13)
    cx, cy = rng.uniform(r, SIZE - r), rng.uniform(r, SIZE - r)
    if kind == 0:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
    elif kind == 1:
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=color)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=color)
    pixels = np.asarray(img, dtype=np.float32)
    noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 8, pixels.shape)
    return np.clip(pixels + noise, 0, 255).astype(np.uint8)


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    labels = np.array([i % 3 for i in range(n)], dtype=np.int64)
    images = np.stack([draw_shape(int(k), rng) for k in labels])
    return images, labels


def with_labels_zip(model: bytes) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("labels.txt", "\n".join(LABELS) + "\n")
    return model + archive.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write into (default: {OUT})")
    out = parser.parse_args().out
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(7)
    x_train, y_train = make_data(3000, seed=1)
    x_test, y_test = make_data(300, seed=2)

    inputs = tf.keras.Input((SIZE, SIZE, 3), name="image")
    x = tf.keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = tf.keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = tf.keras.layers.MaxPooling2D()(x)
    x = tf.keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(16, 1, activation="relu")(x)
    x = tf.keras.layers.MaxPooling2D()(x)
    x = tf.keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    x = tf.keras.layers.Dense(16, activation="relu")(x)
    outputs = tf.keras.layers.Dense(len(LABELS), activation="softmax", name="probabilities")(x)
    model = tf.keras.Model(inputs, outputs, name="shapes")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.astype(np.float32), y_train, epochs=12, batch_size=64, verbose=2)
    _, accuracy = model.evaluate(x_test.astype(np.float32), y_test, verbose=0)
    print(f"float test accuracy: {accuracy:.3f}")

    out.mkdir(parents=True, exist_ok=True)
    float_model = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    (out / "shapes_float.tflite").write_bytes(with_labels_zip(float_model))

    def representative():
        for image in x_train[:200]:
            yield [image[None].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    (out / "shapes_int8.tflite").write_bytes(with_labels_zip(converter.convert()))

    (out / "labels.txt").write_text("\n".join(LABELS) + "\n")
    rng = random.Random(3)
    for kind, name in enumerate(LABELS):
        Image.fromarray(draw_shape(kind, rng)).resize((128, 128), Image.NEAREST).save(out / f"{name}.png")
    print(f"wrote {sorted(p.name for p in out.iterdir())}")


if __name__ == "__main__":
    main()
