"""Float against quantized, layer by layer: tensor matching, metrics, real pairs from the corpus
run in the real interpreter, agreement with ai-edge-quantizer's compare_model, and the CLI."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from tflite_inspector.core.comparison.inputs import input_specs, prepare_samples
from tflite_inspector.core.comparison.matching import SkippedWeights, match_tensors
from tflite_inspector.core.comparison.output import comparison_dict, format_comparison_text
from tflite_inspector.core.comparison.run import compare_models
from tflite_inspector.core.errors import InputError
from tflite_inspector.core.metrics import (
    HEALTHY_RMSE_OVER_SCALE,
    ErrorKernel,
    ErrorMetrics,
    mean_over_inputs,
    tensor_error,
)
from tflite_inspector.core.reading.tensor_data import dequantize_array
from tflite_inspector.core.reading.labels import parse_labels
from tflite_inspector.core.reading.reader import read_model, read_model_bytes
from tflite_inspector.core.runtime.interpreter import RuntimeWorker
from tflite_inspector.main import main

from .conftest import IMAGES, SAMPLES, needs_shared, shared_model
from .graph_builder import GraphBuilder, pack, unpack, with_signature

TINY = "gh-mlcommons-tiny/"
VWW_FLOAT, VWW_INT8 = TINY + "vww_96_float.tflite", TINY + "vww_96_int8.tflite"


@pytest.fixture(scope="module")
def worker():
    with RuntimeWorker(timeout_s=120) as w:
        yield w


# --- metrics -------------------------------------------------------------------------------------


def test_metrics_are_the_quantization_debuggers_definitions():
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((4, 50)).astype(np.float32)
    cand = ref + rng.normal(0.1, 0.05, ref.shape).astype(np.float32)
    m = tensor_error(ref, cand)
    diffs = cand.astype(np.float64) - ref
    assert m.mean_squared_error == pytest.approx(np.average(diffs**2), rel=1e-6)
    assert m.max_abs_error == pytest.approx(np.max(np.abs(diffs)), rel=1e-6)
    assert m.mean_error == pytest.approx(np.average(diffs), rel=1e-6)
    assert m.stddev == pytest.approx(np.std(diffs), rel=1e-6)
    assert m.sqnr_db == pytest.approx(10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum(diffs**2)))
    flat_r, flat_c = ref.ravel().astype(np.float64), cand.ravel().astype(np.float64)
    assert m.cosine == pytest.approx(flat_r @ flat_c / np.linalg.norm(flat_r) / np.linalg.norm(flat_c))
    assert m.rmse_over_scale is None


def test_rounding_alone_gives_rmse_over_scale_of_one_over_root_twelve():
    rng = np.random.default_rng(1)
    ref = rng.uniform(-1, 1, 200_000).astype(np.float32)
    scale = 2 / 255
    cand = np.round(ref / scale) * scale
    m = tensor_error(ref, cand, np.array([scale]))
    assert m.rmse_over_scale == pytest.approx(HEALTHY_RMSE_OVER_SCALE, rel=0.01)


def test_per_channel_rmse_over_scale_divides_each_channel_by_its_scale():
    ref = np.zeros((2, 3), np.float32)
    cand = np.array([[0.1, 1.0, 10.0], [-0.1, -1.0, -10.0]], np.float32)
    m = tensor_error(ref, cand, np.array([0.1, 1.0, 10.0]), axis=1)
    assert m.rmse_over_scale == pytest.approx(1.0)


def test_equal_tensors_zero_reference_and_averages():
    same = tensor_error(np.ones(5), np.ones(5))
    assert same.sqnr_db == math.inf and same.mean_squared_error == 0 and same.cosine == 1.0
    silent = tensor_error(np.zeros(5), np.ones(5))
    assert math.isnan(silent.sqnr_db) and silent.cosine == 0.0
    both_zero = tensor_error(np.zeros(5), np.zeros(5))
    assert both_zero.cosine == 1.0
    mean = mean_over_inputs([ErrorMetrics(1, 2, 3, 4, 10, 1, None), ErrorMetrics(3, 4, 5, 6, math.inf, 0.5, None)])
    assert (mean.mean_squared_error, mean.max_abs_error, mean.cosine) == (2, 3, 0.75)
    assert mean.sqnr_db == 10  # the exact input does not make the mean infinite
    assert mean_over_inputs([same, same]).sqnr_db == math.inf
    with pytest.raises(ValueError, match="5 candidate values against 4"):
        tensor_error(np.zeros(4), np.zeros(5))


def _same_metrics(a: ErrorMetrics, b: ErrorMetrics) -> bool:
    """Equal field by field, bit for bit (NaN equal to NaN)."""
    return all(x == y or (x is not None and y is not None and math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


def _kernel_cases():
    """(reference, stored, scale, zero point) as the worker meets them: int8/uint8/int16/int32
    activations with one scale, float32 and float16 ones without; sizes around the kernel's
    batch limit and numpy's 8,192-element cast buffer; empty; and values whose float32 sums
    overflow (the float64 path)."""
    rng = np.random.default_rng(7)
    cases = []
    for n, dtype, scale, zero_point in [
        (1, np.int8, 0.02, -128), (2, np.int8, 0.5, 3), (255, np.uint8, 0.01, 128), (4608, np.int8, 0.03, -5),
        (8192, np.int8, 0.04, 0), (8193, np.int16, 1e-4, 0), (36_864, np.int8, 0.05, -128),
        (1001, np.int32, 1e-3, 7), (300, np.float32, None, None), (20_000, np.float16, None, None), (0, np.int8, 0.1, 0),
    ]:
        ref = (rng.standard_normal(n) * 3).astype(np.float32).reshape(1, -1)
        if scale is None:
            stored = (ref + rng.normal(0.01, 0.05, ref.shape)).astype(dtype)
        else:
            info = np.iinfo(dtype)
            stored = np.clip(np.rint(ref / scale + rng.normal(zero_point, 2, ref.shape)), info.min, info.max).astype(dtype)
        cases.append((ref, stored, scale, zero_point))
    cases.append((np.full((1, 10), 1e30, np.float32), np.full((1, 10), -1e30, np.float32), None, None))
    return cases


def _kernel_arguments(stored, scale, zero_point):
    if scale is None:
        return None, None, None
    return np.asarray(np.float32(scale)).reshape(()), np.asarray(np.float32(zero_point)).reshape(()), float(np.float32(scale))


def test_error_kernel_gives_tensor_errors_numbers_bit_for_bit():
    """The worker's kernel (the difference from the stored integers into a reused buffer, small
    tensors' maxima by one reduceat) against tensor_error on the dequantized copy, as the worker
    computed them before: every field equal, bit for bit, one tensor at a time and in batches."""
    kernel = ErrorKernel()
    cases = _kernel_cases()
    expected = []
    arguments = []
    with np.errstate(all="ignore"):  # the last case overflows float32, as the worker allows
        for ref, stored, scale, zero_point in cases:
            args = _kernel_arguments(stored, scale, zero_point)
            arguments.append((ref, stored, *args))
            if scale is None:
                expected.append(tensor_error(ref, stored))
            else:
                scales = np.array([scale], np.float32)
                expected.append(tensor_error(ref, dequantize_array(stored, scales, np.array([zero_point]), 0), scales))
        single = [kernel.error(*a) for a in arguments]
        batched = kernel.errors(arguments)
        reversed_batch = kernel.errors(arguments[::-1])[::-1]
    for want, one, many, other in zip(expected, single, batched, reversed_batch):
        assert _same_metrics(want, one) and _same_metrics(want, many) and _same_metrics(want, other), (want, one, many)
    assert math.isnan(single[-2].mean_squared_error)  # the empty tensor
    # float32 squares overflow there: the sums are redone in float64, as tensor_error does.
    assert single[-1].mean_squared_error == pytest.approx(4e60, rel=1e-6) and single[-1].cosine == -1.0
    with pytest.raises(ValueError, match="5 candidate values against 4"):
        kernel.error(np.zeros(4, np.float32), np.zeros(5, np.float32))


def test_error_kernel_against_float64_definitions():
    """The same kernel against a straightforward float64 computation of each definition."""
    kernel = ErrorKernel()
    cases = [c for c in _kernel_cases() if 0 < c[0].size and abs(c[0]).max() < 1e6]
    with np.errstate(all="ignore"):
        found = kernel.errors([(ref, stored, *_kernel_arguments(stored, scale, zp)) for ref, stored, scale, zp in cases])
    for (ref, stored, scale, zero_point), m in zip(cases, found):
        # The dequantized values are float32, as the interpreter's float tensors are; from them
        # on, everything in float64.
        r = ref.astype(np.float64).ravel()
        real = stored.astype(np.float32).ravel()
        if scale is not None:
            real = (real - np.float32(zero_point)) * np.float32(scale)
        real = real.astype(np.float64)
        d = real - r
        assert m.mean_squared_error == pytest.approx(np.mean(d**2), rel=1e-6)
        assert m.max_abs_error == pytest.approx(np.max(np.abs(d)), rel=1e-6)
        assert m.mean_error == pytest.approx(np.mean(d), rel=1e-5, abs=1e-7 * np.mean(np.abs(d)))
        # stddev is sqrt(mean(d²) − mean(d)²), as tensor_error takes it: where it is far below
        # the RMS (one element), float32's 6e-8 in mean(d²) leaves up to sqrt(6e-8) of the RMS.
        assert m.stddev == pytest.approx(np.std(d), rel=1e-5, abs=1e-3 * np.sqrt(np.mean(d**2)))
        assert m.sqnr_db == pytest.approx(10 * np.log10(np.sum(r**2) / np.sum(d**2)), rel=1e-6, abs=1e-6)
        assert m.cosine == pytest.approx(r @ real / np.linalg.norm(r) / np.linalg.norm(real), rel=1e-6)
        if scale is None:
            assert m.rmse_over_scale is None
        else:
            assert m.rmse_over_scale == pytest.approx(np.sqrt(np.mean(d**2)) / float(np.float32(scale)), rel=1e-6)


# --- matching ------------------------------------------------------------------------------------


PAIRS = [
    (VWW_FLOAT, VWW_INT8),
    (TINY + "pretrainedResnet.tflite", TINY + "pretrainedResnet_quant.tflite"),
    (TINY + "ad01_fp32.tflite", TINY + "ad01_int8.tflite"),
    (TINY + "kws_ref_model_float32.tflite", TINY + "kws_ref_model.tflite"),
    ("gh-breizhn-DTLN/model_1.tflite", "gh-breizhn-DTLN/model_quant_1.tflite"),
    ("gh-tulasiram58827-TTS_TFLite/hifigan_float16.tflite", "gh-tulasiram58827-TTS_TFLite/hifigan_dr.tflite"),
]


@needs_shared
@pytest.mark.parametrize(("reference", "candidate"), PAIRS, ids=[p[1].split("/")[1] for p in PAIRS])
def test_real_pairs_match_every_activation(reference, candidate):
    ref, cand = read_model(shared_model(reference)), read_model(shared_model(candidate))
    matching = match_tensors(ref, cand)
    assert matching.unmatched == ()
    interface = len(ref.main_subgraph.inputs) + len(ref.main_subgraph.outputs)
    assert sum(p.how in ("input", "output") for p in matching.pairs) == interface
    # Every op output of the reference is matched exactly once (requantized extras aside).
    primary = [p.reference for p in matching.pairs if p.how != "requantized"]
    assert len(primary) == len(set(primary))


@needs_shared
def test_float16_weights_behind_dequantize_are_not_layers():
    ref = read_model(shared_model("gh-tulasiram58827-TTS_TFLite/hifigan_float16.tflite"))
    cand = read_model(shared_model("gh-tulasiram58827-TTS_TFLite/hifigan_dr.tflite"))
    matching = match_tensors(ref, cand)
    dequantize_ops = sum(op.opcode == "DEQUANTIZE" for op in ref.main_subgraph.operators)
    assert matching.weights_skipped == SkippedWeights(reference=dequantize_ops, candidate=0) and dequantize_ops == 52
    assert all(ref.main_subgraph.operators[p.reference_op].opcode != "DEQUANTIZE"
               for p in matching.pairs if p.reference_op >= 0)


def _renamed(data: bytes, prefix: str) -> bytes:
    model = unpack(data)
    for k, tensor in enumerate(model.subgraphs[0].tensors):
        tensor.name = f"{prefix}{k}"
    return pack(model)


@needs_shared
def test_graph_position_matches_what_names_match():
    ref = read_model(shared_model(VWW_FLOAT))
    path = shared_model(VWW_INT8)
    by_name = match_tensors(ref, read_model(path))
    anonymous = read_model_bytes(_renamed(path.read_bytes(), "t"))
    by_position = match_tensors(ref, anonymous)
    assert by_position.unmatched == ()
    assert {p.how for p in by_position.pairs} == {"input", "output", "position"}
    assert [(p.reference, p.candidate) for p in by_position.pairs] == [
        (p.reference, p.candidate) for p in by_name.pairs
    ]


def _float_relu() -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 4])
    y = b.tensor("y", [1, 4])
    b.op("RELU", [x], [y])
    return b


def _int8_relu_in_float_interface() -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 4])
    xq = b.tensor("x_int8", [1, 4], "INT8", scale=0.05, zero_point=0)
    yq = b.tensor("relu_int8", [1, 4], "INT8", scale=0.05, zero_point=0)
    extra = b.tensor("extra", [1, 2])
    y = b.tensor("y", [1, 4])
    b.op("QUANTIZE", [x], [xq])
    b.op("RELU", [xq], [yq])
    b.op("DEQUANTIZE", [yq], [y])
    b.op("SLICE", [y, b.constant("begin", np.array([0, 0], np.int32)), b.constant("size", np.array([1, 2], np.int32))],
         [extra])
    return b


def test_requantizing_ops_match_the_tensors_they_re_express_and_leftovers_are_listed():
    ref = _float_relu().model()
    cand_builder = _int8_relu_in_float_interface()
    tensors = {t.name: t.index for t in cand_builder.model().main_subgraph.tensors}
    cand = read_model_bytes(cand_builder.build(outputs=[tensors["y"], tensors["extra"]]))
    matching = match_tensors(ref, cand)
    named = {(ref.main_subgraph.tensors[p.reference].name, cand.main_subgraph.tensors[p.candidate].name): p.how
             for p in matching.pairs}
    assert named == {
        ("x", "x"): "input",
        ("x", "x_int8"): "requantized",
        ("y", "y"): "output",
        ("y", "relu_int8"): "requantized",
    }
    assert [(u.model, u.name, u.opcode, u.reason) for u in matching.unmatched] == [
        ("candidate", "extra", "SLICE", "no counterpart found")
    ]


# --- real pairs in the interpreter ---------------------------------------------------------------


def _samples(models, *, images: int = 0, random: int = 0):
    paths = sorted(str(p) for p in IMAGES.glob("*.bmp"))[:images] if images else []
    return prepare_samples(models, paths, random_count=random)


@needs_shared
def test_vww_float_against_int8_on_real_photos(worker):
    ref_path, cand_path = shared_model(VWW_FLOAT), shared_model(VWW_INT8)
    preprocessing, samples = _samples([read_model(ref_path), read_model(cand_path)], images=8)
    assert len(samples.samples) == 8 and not samples.random
    from tflite_inspector.core.comparison import run

    run._batch_sizes.clear()  # a comparison run before starts with its last batch size (below)
    progress = []
    result = compare_models(str(ref_path), [str(cand_path)], samples, worker,
                            preprocessing=preprocessing.describe(),
                            progress=lambda d, t, message: progress.append((d, t, message)))
    # Each batch is announced, then counted when it is done. Batches grow as the worker answers
    # fast (the first is one input); progress only moves forward and ends complete.
    assert progress[0] == (0, 8, "input 1 of 8")
    finished = [(d, t) for d, t, message in progress if not message]
    assert finished[0] == (1, 8) and finished[-1] == (8, 8)
    assert [d for d, _ in finished] == sorted({d for d, _ in finished})
    assert [d for d, _, _ in progress] == sorted(d for d, _, _ in progress)
    (cand,) = result.candidates
    assert cand.error is None and len(cand.layers) == 32 and cand.unmatched == ()
    assert [layer.op_index for layer in cand.layers] == list(range(-1, 31))
    for layer in cand.layers[1:]:
        m = layer.metrics
        assert len(layer.per_input) == 8
        assert m.mean_squared_error >= 0 and 0.9 < m.cosine <= 1.0 + 1e-9 and 10 < m.sqnr_db < 60
        assert m.rmse_over_scale is not None and m.rmse_over_scale > 0  # every activation is int8
    (out,) = cand.outputs
    assert out.kind == "classifier" and out.k == 2 and len(out.top) == 8
    assert out.top1_agreement >= 0.75  # a healthy int8 model agrees with its float twin on most photos
    # The input itself: quantizing [0, 1] pixels with scale 1/255 is exact up to rounding.
    assert cand.layers[0].op == "input" and cand.layers[0].metrics.max_abs_error <= 0.5 / 255 + 1e-6
    text = format_comparison_text(result)
    assert "top-1 agreement" in text and "worst 10 of 32 matched tensors" in text
    # Run again, the same comparison starts with the batch size the first one ended with.
    progress.clear()
    again = compare_models(str(ref_path), [str(cand_path)], samples, worker,
                           progress=lambda d, t, message: progress.append((d, t, message)))
    assert [(d, t) for d, t, message in progress if not message][0] > (1, 8)
    assert [layer.per_input for layer in again.candidates[0].layers] == [layer.per_input for layer in cand.layers]


@needs_shared
def test_the_workers_numbers_are_tensor_error_on_the_dequantized_tensors(worker):
    """The worker's loop (ErrorKernel on the stored int8 values, batched) gives, bit for bit, what
    tensor_error gives on the candidate's tensors dequantized: here recomputed in this process
    from the interpreter's own tensors, end to end."""
    from ai_edge_litert import interpreter as litert

    from tflite_inspector.core.reading.tensor_data import quantize_array

    ref_path, cand_path = shared_model(VWW_FLOAT), shared_model(VWW_INT8)
    models = [read_model(ref_path), read_model(cand_path)]
    _, samples = _samples(models, images=3)
    (cand,) = compare_models(str(ref_path), [str(cand_path)], samples, worker).candidates
    assert cand.isolated and len(cand.layers) == 32

    def run(path, values):
        interpreter = litert.Interpreter(
            model_path=str(path), experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interpreter.allocate_tensors()
        (detail,) = interpreter.get_input_details()
        scales, zero_points = (detail["quantization_parameters"][k] for k in ("scales", "zero_points"))
        interpreter.set_tensor(detail["index"], quantize_array(
            values[0], detail["dtype"], float(scales[0]) if len(scales) else None,
            int(zero_points[0]) if len(zero_points) else 0))
        interpreter.invoke()
        return interpreter, {t["index"]: t["quantization_parameters"] for t in interpreter.get_tensor_details()}

    for k, sample in enumerate(samples.samples):
        ref, _ = run(ref_path, sample.values)
        interpreter, quantization = run(cand_path, sample.values)
        for layer in cand.layers:
            stored = interpreter.get_tensor(layer.candidate_tensor)
            qp = quantization[layer.candidate_tensor]
            real = dequantize_array(stored, qp["scales"], qp["zero_points"], qp["quantized_dimension"])
            with np.errstate(all="ignore"):
                expected = tensor_error(ref.get_tensor(layer.reference_tensor), real, qp["scales"])
            assert _same_metrics(layer.per_input[k], expected), (layer.candidate_name, layer.per_input[k], expected)


@needs_shared
def test_isolated_models_are_built_once_per_pair_and_file_version(worker, tmp_path, monkeypatch):
    """Repeated comparisons of the same files reuse the isolated models (same files, no rebuild,
    the same numbers); an edited file gets new ones; clear_isolated_cache deletes them."""
    from tflite_inspector.core.comparison import run

    ref_path, cand_path = tmp_path / "float.tflite", tmp_path / "int8.tflite"
    ref_path.write_bytes(shared_model(VWW_FLOAT).read_bytes())
    cand_path.write_bytes(shared_model(VWW_INT8).read_bytes())
    _, samples = _samples([read_model(ref_path), read_model(cand_path)], images=2)
    builds = []
    real_build = run._isolated_runs
    monkeypatch.setattr(run, "_isolated_runs", lambda *args: builds.append(args[3]) or real_build(*args))

    def compare():
        (cand,) = compare_models(str(ref_path), [str(cand_path)], samples, worker).candidates
        assert cand.isolated
        return [(layer.isolated, layer.isolated_own, layer.metrics) for layer in cand.layers]

    first = compare()
    assert compare() == first and len(builds) == 1
    files = sorted(Path(builds[0]).parent.glob(Path(builds[0]).name + "-*.tflite"))
    assert [f.name.split("-", 1)[1] for f in files] == ["candidate.tflite", "reference.tflite"]
    stat = cand_path.stat()
    os.utime(cand_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # edited (same bytes)
    assert compare() == first and len(builds) == 2
    run.clear_isolated_cache()
    assert not any(f.exists() for f in files) and not any(Path(builds[1]).parent.glob(Path(builds[1]).name + "-*"))
    assert compare() == first and len(builds) == 3


@needs_shared
def test_a_model_against_itself_is_exact_everywhere(worker):
    path = shared_model(TINY + "kws_ref_model.tflite")
    _, samples = _samples([read_model(path)], random=2)
    (cand,) = compare_models(str(path), [str(path)], samples, worker).candidates
    assert cand.layers and all(layer.metrics.mean_squared_error == 0 for layer in cand.layers)
    assert all(layer.metrics.sqnr_db == math.inf for layer in cand.layers if layer.metrics.cosine == 1.0)


@needs_shared
@pytest.mark.parametrize(
    ("reference", "candidate", "minimum_output_sqnr"),
    # Random inputs over an int8 input's whole range are far hotter than the features the
    # int8 models were calibrated on, so their outputs drift more than on real data.
    [(*PAIRS[1], 15), (*PAIRS[2], 10), (*PAIRS[3], -10), (*PAIRS[4], 20), (*PAIRS[5], 15)],
    ids=[p[1].split("/")[1] for p in PAIRS[1:]],
)
def test_real_pairs_give_finite_errors_for_every_layer(worker, reference, candidate, minimum_output_sqnr):
    ref_path, cand_path = shared_model(reference), shared_model(candidate)
    models = [read_model(ref_path), read_model(cand_path)]
    images = 4 if "Resnet" in reference else 0
    _, samples = _samples(models, images=images, random=0 if images else 3)
    (cand,) = compare_models(str(ref_path), [str(cand_path)], samples, worker).candidates
    assert cand.error is None and cand.unmatched == ()
    assert len(cand.layers) == len(match_tensors(*models).pairs)
    for layer in cand.layers:
        m = layer.metrics
        assert math.isfinite(m.mean_squared_error) and m.max_abs_error >= 0
        assert -1.0 - 1e-9 <= m.cosine <= 1.0 + 1e-9
    output_sqnr = [o.metrics.sqnr_db for o in cand.outputs]
    assert all(s > minimum_output_sqnr for s in output_sqnr), output_sqnr


@needs_shared
def test_a_candidate_that_cannot_run_is_reported_and_the_others_go_on(worker, tmp_path):
    ref_path = shared_model(VWW_FLOAT)
    broken = tmp_path / "broken.tflite"
    broken.write_text("not a model")
    other_inputs = shared_model(TINY + "ad01_int8.tflite")
    _, samples = _samples([read_model(ref_path)], images=2)
    result = compare_models(str(ref_path), [str(broken), str(other_inputs), str(shared_model(VWW_INT8))],
                            samples, worker)
    errors = [c.error for c in result.candidates]
    assert "broken.tflite" in errors[0]
    assert "ad01_int8.tflite has 1 inputs" not in errors[1] and "input 'input_1' is [1,640]" in errors[1]
    assert errors[2] is None and result.candidates[2].layers
    with pytest.raises(InputError, match="no usable input"):
        compare_models(str(ref_path), [str(broken)], _samples([read_model(ref_path)])[1], worker)


@needs_shared
def test_mse_equals_ai_edge_quantizers_compare_model(worker, tmp_path):
    model_validator = pytest.importorskip("ai_edge_quantizer.model_validator")
    ref_path, cand_path = tmp_path / "vww_float.tflite", tmp_path / "vww_int8.tflite"
    # compare_model needs a signature and equal interface names; the copies differ only in those.
    ref_path.write_bytes(with_signature(shared_model(VWW_FLOAT).read_bytes()))
    cand_path.write_bytes(with_signature(shared_model(VWW_INT8).read_bytes()))
    _, samples = _samples([read_model(ref_path), read_model(cand_path)], images=6)
    (cand,) = compare_models(str(ref_path), [str(cand_path)], samples, worker).candidates
    theirs = model_validator.compare_model(
        ref_path.read_bytes(), cand_path.read_bytes(),
        {"serving_default": [{"x": s.values[0]} for s in samples.samples]},
        use_xnnpack=False,  # as our runs: a delegate would hide the intermediate tensors
    ).get_all_tensor_results()
    compared = 0
    for layer in cand.layers:
        if layer.reference_name == layer.candidate_name:
            expected = theirs[layer.reference_name]["mse"]
            assert layer.metrics.mean_squared_error == pytest.approx(expected, rel=1e-6, abs=1e-12)
            compared += 1
    assert compared == len(cand.layers) == 32


# --- labels, JSON, CLI ---------------------------------------------------------------------------


def test_label_files_plain_or_numbered():
    assert parse_labels("cat\ndog\n\n") == ["cat", "dog"]
    assert parse_labels("0  background\n1 cat\n2: dog\n") == {0: "background", 1: "cat", 2: "dog"}


@needs_shared
def test_labels_from_the_models_metadata_name_the_top_classes(worker):
    path = shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite")
    _, samples = prepare_samples([read_model(path)], [str(IMAGES / "cat.bmp"), str(IMAGES / "grace_hopper.bmp")])
    result = compare_models(str(path), [str(path)], samples, worker)
    (out,) = result.candidates[0].outputs
    assert out.kind == "classifier" and out.top1_agreement == 1.0 and out.k == 5
    assert out.labels_source and "mobilenet_v1_0.25_128_quant.tflite" in out.labels_source
    labels = [c.label for c in out.top[0].reference]
    assert any("cat" in label.lower() for label in labels), labels
    document = comparison_dict(result)
    json.dumps(document, allow_nan=False)  # identical tensors (SQNR +inf) must still be valid JSON
    assert document["candidates"][0]["layers"][0]["sqnr_db"] is None
    assert document["candidates"][0]["layers"][0]["identical"] is True


@needs_shared
def test_cli_compare_json_has_the_documented_shape(capfd):
    status = main(["compare", str(shared_model(VWW_FLOAT)), str(shared_model(VWW_INT8)),
                   "--inputs", str(IMAGES / "cat.bmp"), str(IMAGES / "bird.bmp"), "--json"])
    assert status == 0
    document = json.loads(capfd.readouterr().out)
    assert {"reference", "candidates", "inputs", "random_inputs"} <= set(document)
    (cand,) = document["candidates"]
    assert {"path", "layers", "outputs", "unmatched"} <= set(cand)
    assert set(cand["layers"][0]) >= {
        "reference_tensor", "candidate_tensor", "op", "mean_squared_error", "max_abs_error", "mean_error",
        "stddev", "sqnr_db", "cosine", "rmse_over_scale",
    }
    assert cand["outputs"][0]["name"] == "Identity" and "top1_agreement" in cand["outputs"][0]
    assert document["inputs"] == ["cat.bmp", "bird.bmp"] and document["random_inputs"] is False


@needs_shared
def test_cli_compare_text_random_and_errors(capsys, tmp_path):
    ad01, ad01_int8 = str(shared_model(TINY + "ad01_fp32.tflite")), str(shared_model(TINY + "ad01_int8.tflite"))
    assert main(["compare", ad01, ad01_int8, "--random", "2"]) == 0
    out = capsys.readouterr().out
    assert "[RANDOM DATA]" in out and "2 random inputs (seed 0)" in out
    assert main(["compare", ad01, ad01_int8]) == 2
    assert "--random N" in capsys.readouterr().err
    (tmp_path / "junk.npy").write_text("junk")
    assert main(["compare", ad01, ad01_int8, "--inputs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "junk.npy: not a readable .npy/.npz file" in err and "Traceback" not in err
    assert main(["compare", str(tmp_path / "absent.tflite"), ad01_int8, "--random", "1"]) == 2
    assert "absent.tflite" in capsys.readouterr().err


def test_bundled_sample_pair_takes_labels_from_the_attached_zip(worker):
    ref, cand = read_model(SAMPLES / "shapes_float.tflite"), read_model(SAMPLES / "shapes_int8.tflite")
    preprocessing, samples = prepare_samples([ref, cand], [str(SAMPLES)])
    assert preprocessing.normalization.name == "raw"  # the int8 input covers 0-255: the model rescales itself
    assert [s.name for s in samples.samples] == ["circle.png", "square.png", "triangle.png"]
    assert input_specs(ref)[0].layout == "NHWC"
    (out,) = compare_models(ref, [cand], samples, worker).candidates[0].outputs
    assert out.labels_source == "labels.txt in shapes_float.tflite"
    assert [t.reference[0].label for t in out.top[:2]] == ["circle", "square"]
    assert {c.label for c in out.top[0].candidate} == {"circle", "square", "triangle"}


@needs_shared
def test_a_stop_with_nothing_running_does_not_mark_the_next_request():
    path = str(shared_model(VWW_INT8))
    with RuntimeWorker(timeout_s=60) as fresh:
        assert fresh.interpreter_details(path).op_names
        fresh.stop()  # idle: the process goes, nothing was asked
        assert fresh.interpreter_details(path).op_names  # a new process answers
        assert not fresh._stopping
