"""Inputs for comparisons: preprocessing derived from real models, real image files of every
kind Pillow writes, array files, and one clear message per file that cannot be used."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tflite_inspector.core.comparison.inputs import (
    Preprocessing,
    custom_normalization,
    input_specs,
    load_samples,
    prepare_samples,
    preset,
    random_samples,
    suggest_normalization,
)
from tflite_inspector.core.errors import InputError
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.core.reading.tensor_data import quantize_array

from .conftest import IMAGES, needs_shared, shared_model

pytestmark = needs_shared

VWW_FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
VWW_INT8 = "gh-mlcommons-tiny/vww_96_int8.tflite"


def _models(*relative: str):
    return [read_model(shared_model(r)) for r in relative]


def test_image_input_spec_of_a_real_model():
    (spec,) = input_specs(read_model(shared_model(VWW_INT8)))
    assert (spec.layout, spec.height, spec.width, spec.channels, spec.dtype) == ("NHWC", 96, 96, 3, "INT8")
    assert spec.scale == pytest.approx(1 / 255) and spec.zero_point == -128
    assert "NHWC image 96×96 RGB" in spec.describe() and "quantized" in spec.describe()


def test_normalization_from_the_int8_candidates_input_range():
    # The float model says nothing; its int8 twin's input covers [0, 1].
    norm = suggest_normalization(_models(VWW_FLOAT, VWW_INT8))
    assert norm.name == "unit" and "vww_96_int8" in norm.source


def test_normalization_from_a_uint8_models_range_is_signed():
    # Coral's quantized DeepLab: uint8 with scale 1/128 and zero point 128 means [−1, 1].
    norm = suggest_normalization(_models("gh-google-coral-test_data/deeplabv3_mnv2_pascal_quant.tflite"))
    assert norm.name == "signed" and "real range [-1, 0.9922]" in norm.source


def test_normalization_from_tflite_metadata_comes_first():
    norm = suggest_normalization(_models("gh-google-coral-test_data/mobilenet_v2_1.0_224_quant.tflite"))
    assert (norm.name, norm.mean, norm.std) == ("metadata", (127.5,), (127.5,))
    assert "TFLite metadata" in norm.source and norm.real_range() == (-1.0, 1.0)


def test_default_normalization_says_it_is_a_default():
    norm = suggest_normalization(_models(VWW_FLOAT))
    assert norm.name == "unit" and "default" in norm.source


def _write(tmp_path, name, image):
    path = tmp_path / name
    image.save(path)
    return str(path)


def test_images_of_every_kind_become_the_same_layout(tmp_path):
    spec = input_specs(read_model(shared_model(VWW_FLOAT)))[0]
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)
    files = [
        _write(tmp_path, "photo.jpg", Image.fromarray(rgb)),
        _write(tmp_path, "grey.png", Image.fromarray(rgb[:, :, 0])),
        _write(tmp_path, "alpha.png", Image.fromarray(np.dstack([rgb, rgb[:, :, :1]]), "RGBA")),
        _write(tmp_path, "deep.png", Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257)),
        _write(tmp_path, "palette.bmp", Image.fromarray(rgb).convert("P")),
        _write(tmp_path, "tiny.bmp", Image.fromarray(rgb[:2, :3])),
    ]
    result = load_samples(files, [spec], Preprocessing(preset("unit")))
    assert result.errors == ()
    assert len(result.samples) == len(files)
    for sample in result.samples:
        (values,) = sample.values
        assert values.shape == (1, 96, 96, 3) and values.dtype == np.float32
        assert 0.0 <= values.min() and values.max() <= 1.0
        assert sample.thumbnail is not None and max(sample.thumbnail.shape[:2]) <= 96
    # 16-bit values are scaled to the 8-bit range, not clipped: the grey and 16-bit images agree.
    by_name = {s.name: s.values[0] for s in result.samples}
    np.testing.assert_allclose(by_name["deep.png"], by_name["grey.png"], atol=1 / 255)


def test_signed_normalization_and_center_crop(tmp_path):
    spec = input_specs(read_model(shared_model(VWW_FLOAT)))[0]
    # Left half black, right half white, wide image: a centre crop keeps both halves.
    pixels = np.zeros((100, 400, 3), np.uint8)
    pixels[:, 200:] = 255
    path = _write(tmp_path, "halves.png", Image.fromarray(pixels))
    (sample,) = load_samples([path], [spec], Preprocessing(preset("signed"), "center-crop")).samples
    values = sample.values[0][0]
    assert values[:, 0].max() == pytest.approx(-1.0) and values[:, -1].min() == pytest.approx(1.0)


def test_nchw_and_grayscale_inputs(tmp_path):
    from .graph_builder import GraphBuilder

    b = GraphBuilder()
    x = b.tensor("x", [1, 3, 32, 32])
    y = b.tensor("y", [1, 3, 32, 32])
    b.op("RELU", [x], [y])
    (spec,) = input_specs(b.model())
    assert (spec.layout, spec.channels, spec.height, spec.width) == ("NCHW", 3, 32, 32)
    image = np.zeros((40, 40, 3), np.uint8)
    image[..., 0] = 255  # red
    (sample,) = load_samples([_write(tmp_path, "red.png", Image.fromarray(image))], [spec],
                             Preprocessing(preset("unit"))).samples
    assert sample.values[0].shape == (1, 3, 32, 32)
    assert sample.values[0][0, 0].min() == 1.0 and sample.values[0][0, 1:].max() == 0.0
    grey = input_specs(read_model(shared_model("gh-mlcommons-tiny/kws_ref_model.tflite")))[0]
    assert grey.channels == 1


def test_unreadable_and_unfitting_files_get_one_message_each(tmp_path):
    spec = input_specs(read_model(shared_model(VWW_FLOAT)))[0]
    (tmp_path / "notes.jpg").write_text("not an image")
    np.save(tmp_path / "wrong.npy", np.zeros((1, 10, 10, 3), np.float32))
    np.save(tmp_path / "objects.npy", np.array([1, 2, 3], dtype=np.int64)[:, None])
    good = str(IMAGES / "cat.bmp")
    result = load_samples([str(tmp_path), good, str(tmp_path / "absent.png")], [spec],
                          Preprocessing(preset("unit")))
    assert [s.name for s in result.samples] == ["cat.bmp"]
    messages = "\n".join(result.errors)
    assert len(result.errors) == 4
    assert "notes.jpg: not a readable image" in messages
    assert "wrong.npy: shape [1, 10, 10, 3] does not fit input 'input_1' [1, 96, 96, 3]" in messages
    assert "absent.png: no such file" in messages


def test_a_model_that_takes_no_image_asks_for_arrays(tmp_path):
    specs = input_specs(read_model(shared_model("gh-breizhn-DTLN/model_1.tflite")))
    result = load_samples([str(IMAGES / "cat.bmp")], specs, Preprocessing(preset("unit")))
    assert not result.samples
    assert "does not take an image" in result.errors[0] and ".npz" in result.errors[0]


def test_arrays_one_sample_a_batch_or_named_in_an_npz(tmp_path):
    model = read_model(shared_model("gh-breizhn-DTLN/model_1.tflite"))
    specs = input_specs(model)
    shapes = [s.shape for s in specs]
    rng = np.random.default_rng(1)
    batch = {s.name: rng.standard_normal((4, *shape[1:])).astype(np.float32) for s, shape in zip(specs, shapes)}
    np.savez(tmp_path / "frames.npz", **batch)
    np.savez(tmp_path / "positional.npz", *[rng.standard_normal(shape).astype(np.float32) for shape in shapes])
    result = load_samples([str(tmp_path)], specs, Preprocessing(preset("unit")))
    assert result.errors == ()
    assert [s.name for s in result.samples] == [f"frames.npz[{i}]" for i in range(4)] + ["positional.npz"]
    np.testing.assert_array_equal(result.samples[2].values[1], batch[specs[1].name][2:3])

    single = input_specs(read_model(shared_model("gh-mlcommons-tiny/ad01_fp32.tflite")))
    np.save(tmp_path / "one.npy", np.ones(640, np.float32))  # without the batch dimension
    (sample,) = load_samples([str(tmp_path / "one.npy")], single, Preprocessing(preset("unit"))).samples
    assert sample.values[0].shape == (1, 640)


def test_integer_inputs_are_fed_quantized_with_their_own_parameters():
    real = np.array([0.0, 0.6, 1.0, 2.0, -1.0], np.float32)
    np.testing.assert_array_equal(quantize_array(real, np.int8, 1 / 255, -128), [-128, 25, 127, 127, -128])
    np.testing.assert_array_equal(quantize_array(real, np.uint8, 1 / 128, 128), [128, 205, 255, 255, 0])
    assert quantize_array(real, np.float32, None, None).dtype == np.float32


def test_random_inputs_are_marked_and_cover_the_quantized_range():
    models = _models("gh-mlcommons-tiny/ad01_fp32.tflite", "gh-mlcommons-tiny/ad01_int8.tflite")
    preprocessing, samples = prepare_samples(models, [], random_count=3, seed=7)
    assert samples.random and "random" in samples.description and len(samples.samples) == 3
    (spec,) = input_specs(models[1])
    lo, hi = spec.scale * (-128 - spec.zero_point), spec.scale * (127 - spec.zero_point)
    values = samples.samples[0].values[0]
    assert lo <= values.min() and values.max() <= hi and values.std() > 0
    again = random_samples(input_specs(models[0]), 3, preprocessing, 7, models)
    np.testing.assert_array_equal(again.samples[2].values[0], samples.samples[2].values[0])


def test_bad_resize_mode_and_normalization_are_input_errors():
    models = _models(VWW_FLOAT)
    with pytest.raises(InputError, match="resize mode"):
        prepare_samples(models, [], resize="squash")
    with pytest.raises(InputError, match="non-zero std"):
        custom_normalization([0.0], [0.0])
