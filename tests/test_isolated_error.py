"""Each layer's own error (core/comparison/isolation.py), checked against TensorFlow's
QuantizationDebugger on a Keras model converted to full-integer int8, and against the runtime
on corpus models.

The debugger runs in its own Python (tests/quantization_debugger_case.py imports TensorFlow);
the same Keras file is converted here in the conversion worker with the same calibration inputs,
and the test first shows the two quantized models carry the same quantization, tensor by tensor.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tflite_inspector.core.comparison.inputs import Sample, SampleSet, prepare_samples
from tflite_inspector.core.comparison.isolation import build_isolated_model, static_tensors
from tflite_inspector.core.comparison.matching import match_tensors
from tflite_inspector.core.comparison.output import comparison_dict
from tflite_inspector.core.comparison.run import compare_models
from tflite_inspector.core.reading.reader import read_model, read_model_bytes
from tflite_inspector.core.runtime.conversion import ConversionWorker
from tflite_inspector.core.runtime.interpreter import RuntimeWorker

from .conftest import IMAGES, needs_shared, shared_model

CASE = Path(__file__).with_name("quantization_debugger_case.py")
VWW_FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
VWW_INT8 = "gh-mlcommons-tiny/vww_96_int8.tflite"

# The debugger and we run the same op with the same weights and output quantization on inputs
# that differ only by upstream error (it feeds the quantized model's own activations, we feed
# the reference's, rounded the same way), so the two MSEs are estimates of one quantity over
# slightly different input distributions. Measured here: within 2.2% on layers of 1,936 and
# more elements, 10% on the 10-element dense layer. The bounds leave room for that sampling
# and no more: a wrong input rounding or scale moves the MSE by a factor of 2 to 5 (see the
# second test), far outside them.
RELATIVE_TOLERANCE_LARGE = 0.10  # layers with at least 1,000 elements per input
RELATIVE_TOLERANCE_SMALL = 0.25  # fewer elements: fewer samples of the error


@pytest.fixture(scope="module")
def debugged(tmp_path_factory):
    """The debugger's statistics, and our comparison of the float and int8 conversions of the same
    Keras model, on the same inputs."""
    folder = tmp_path_factory.mktemp("quantization_debugger")
    env_home = tmp_path_factory.mktemp("keras_home")
    result = subprocess.run([sys.executable, str(CASE), str(folder)], capture_output=True, text=True, timeout=600,
                            env={**__import__("os").environ, "KERAS_HOME": str(env_home)})
    assert result.returncode == 0, result.stderr[-2000:]
    inputs = np.load(folder / "inputs.npy")
    calibration = [(image[None],) for image in inputs]
    with ConversionWorker(timeout_s=600) as converter:
        converter.produce(str(folder / "model.keras"), "keras", "float32", str(folder / "float.tflite"))
        converter.produce(str(folder / "model.keras"), "keras", "int8", str(folder / "int8.tflite"),
                          calibration=calibration, int8_io="float")
    samples = SampleSet(tuple(Sample(f"input {k}", "", values) for k, values in enumerate(calibration)), (),
                        "the debugger's inputs")
    with RuntimeWorker(timeout_s=120) as worker:
        comparison = compare_models(str(folder / "float.tflite"), [str(folder / "int8.tflite")], samples, worker)
    statistics = json.loads((folder / "layer_statistics.json").read_text())
    return folder, comparison.candidates[0], statistics


def _quantization(path: Path) -> list[tuple]:
    with read_model(str(path)) as model:
        return [(t.dtype, t.shape, None if t.quantization is None else
                 (tuple(t.quantization.scale.tolist()), tuple(t.quantization.zero_point.tolist())))
                for t in model.main_subgraph.tensors]


def test_the_debugger_and_the_conversion_worker_make_the_same_quantized_model(debugged):
    folder, _, _ = debugged
    assert _quantization(folder / "int8.tflite") == _quantization(folder / "debugger.tflite")


def test_isolated_error_agrees_with_the_quantization_debugger_layer_by_layer(debugged):
    _, candidate, statistics = debugged
    assert candidate.isolated and candidate.isolated_note is None
    # The debugger verifies every op with a quantized output, in execution order; its keys are
    # the debug model's renamed tensors, so layers are paired by order, checked by element count.
    verified = [layer for layer in candidate.layers if layer.candidate_dtype == "INT8" and layer.candidate_op_index >= 0
                and layer.candidate_op not in ("QUANTIZE", "DEQUANTIZE")]
    stats = list(statistics.values())
    assert len(verified) == len(stats) == 9
    with read_model(candidate.path) as model:
        sg = model.main_subgraph
        for layer, stat in zip(verified, stats):
            tensor = sg.tensors[layer.candidate_tensor]
            assert tensor.num_elements == stat["num_elements"], layer.candidate_name
            theirs = stat["mean_squared_error"]
            ours = layer.isolated_own.mean_squared_error
            scale = float(tensor.quantization.scale[0])
            op = sg.operators[layer.candidate_op_index]
            reads_model_input = sg.producers.get(op.inputs[0]) is not None and \
                sg.operators[sg.producers[op.inputs[0]]].opcode == "QUANTIZE"
            if theirs < 1e-15:
                # Ops that keep their input's scale (AVERAGE_POOL_2D, RESHAPE here): the debugger
                # reports no error at all (7.8e-19). Ours is the rounding of the op's output, which
                # round-to-nearest bounds by (scale / 2)² per element.
                assert layer.candidate_op in ("AVERAGE_POOL_2D", "RESHAPE", "MAX_POOL_2D"), layer.candidate_op
                assert ours <= scale * scale / 4, (layer.candidate_op, ours, scale)
                continue
            if reads_model_input:
                # The first op reads the QUANTIZE of the float input: there the debugger's float op
                # reads the float input itself, so its figure includes the input's rounding, which
                # is our `isolated` figure.
                ours = layer.isolated.mean_squared_error
            tolerance = RELATIVE_TOLERANCE_LARGE if stat["num_elements"] >= 1000 else RELATIVE_TOLERANCE_SMALL
            assert ours == pytest.approx(theirs, rel=tolerance), (layer.candidate_op, ours, theirs)


def test_input_rounding_is_what_separates_isolated_from_own(debugged):
    """`isolated` includes the rounding of the op's inputs, `own` leaves it out: for ops fed by
    another quantized op, isolated ≥ own, and end to end (everything upstream) ≥ isolated."""
    _, candidate, _ = debugged
    compute = [layer for layer in candidate.layers
               if layer.candidate_op in ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "FULLY_CONNECTED")]
    assert len(compute) == 6
    for layer in compute:
        assert layer.isolated_own.mean_squared_error <= layer.isolated.mean_squared_error * 1.05, layer.candidate_op
        assert layer.isolated.mean_squared_error <= layer.metrics.mean_squared_error * 1.05, layer.candidate_op
    # The depthwise convolution's inputs are rounded to 0.0046 steps and the rounding crosses its
    # 3×3 window: isolated is 2.5 times its own error; upstream error makes end to end 5 times.
    depthwise = next(layer for layer in compute if layer.candidate_op == "DEPTHWISE_CONV_2D")
    assert depthwise.isolated.mean_squared_error > 2 * depthwise.isolated_own.mean_squared_error


def test_isolated_model_keeps_weights_with_their_ops_and_feeds_every_activation():
    """The rewritten model (read back by our reader): every op reads a fresh input or a weight,
    never another op's output; weights unpacked by DEQUANTIZE keep their producer."""
    with read_model(str(shared_model("gh-google-lyra/lyragan.tflite"))) as cand:
        pairs = match_tensors(cand, cand).pairs
        built = build_isolated_model(cand, pairs)
        static = static_tensors(cand.main_subgraph)
    isolated = read_model_bytes(built.data, "isolated.tflite")
    sg = isolated.main_subgraph
    produced = {o for op in sg.operators for o in op.outputs}
    for op in sg.operators:
        for i in op.inputs:
            if i >= 0 and i in produced:
                assert i in static, (op.opcode, sg.tensors[i].name)  # only a weight's unpacking feeds an op
    assert len(sg.inputs) == len(built.feeds) and all(sg.tensors[i].name.endswith("/isolated_input") for i in sg.inputs)
    assert built.left_out  # CALL_ONCE and the variable ops stay out, each with its reason
    assert all("CALL_ONCE" in why or "VARIABLE" in why or "VAR_HANDLE" in why or "no reference value" in why
               for why in built.left_out.values())


@needs_shared
def test_a_model_against_itself_has_no_isolated_error_and_no_suspect_layer():
    path = str(shared_model(VWW_INT8))
    with read_model(path) as model:
        _, samples = prepare_samples([model], sorted(str(p) for p in IMAGES.glob("*.bmp"))[:2])
    with RuntimeWorker(timeout_s=120) as worker:
        (cand,) = compare_models(path, [path], samples, worker).candidates
    ops = [layer for layer in cand.layers if layer.op_index >= 0]
    assert ops and all(layer.isolated is not None and layer.isolated.mean_squared_error == 0 for layer in ops)
    assert not any(layer.suspect for layer in cand.layers)


@needs_shared
def test_vww_int8_suspect_flags_follow_the_ops_own_error():
    """End to end, most of vww_96's layers carry more than 0.7 steps of error although top-1
    agrees; judged on each op's own error, few are flagged, and the JSON carries all three."""
    with read_model(str(shared_model(VWW_FLOAT))) as ref, read_model(str(shared_model(VWW_INT8))) as cand:
        _, samples = prepare_samples([ref, cand], sorted(str(p) for p in IMAGES.glob("*.bmp"))[:4])
    with RuntimeWorker(timeout_s=120) as worker:
        comparison = compare_models(str(shared_model(VWW_FLOAT)), [str(shared_model(VWW_INT8))], samples, worker)
    (cand,) = comparison.candidates
    ops = [layer for layer in cand.layers if layer.op_index >= 0 and layer.metrics.rmse_over_scale is not None]
    end_to_end = sum(layer.metrics.rmse_over_scale > 0.7 for layer in ops)
    flagged = sum(layer.suspect for layer in ops)
    assert end_to_end > len(ops) / 2 and flagged < end_to_end / 2, (end_to_end, flagged, len(ops))
    entry = comparison_dict(comparison)["candidates"][0]
    assert entry["isolated"] is True
    first_op = next(layer for layer in entry["layers"] if layer["op_index"] >= 0)
    assert set(first_op["isolated"]) == set(first_op["isolated_own"]) >= {"mean_squared_error", "sqnr_db"}
    assert all(not math.isnan(layer["isolated"]["mean_squared_error"] or 0) for layer in entry["layers"]
               if layer["isolated"])


@needs_shared
def test_isolation_off_gives_end_to_end_numbers_only():
    path = str(shared_model(VWW_INT8))
    with read_model(path) as model:
        _, samples = prepare_samples([model], [], random_count=1)
    with RuntimeWorker(timeout_s=120) as worker:
        (cand,) = compare_models(str(shared_model(VWW_FLOAT)), [path], samples, worker, isolated=False).candidates
    assert not cand.isolated and all(layer.isolated is None and not layer.suspect for layer in cand.layers)
