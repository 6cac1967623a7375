"""Dynamic (−1) dimensions: MACs and memory at the shapes the interpreter gives every tensor after
resizing the inputs, checked against the interpreter itself (run here in a separate process, by
its own API, not through our worker), and by hand on models whose MACs are easy to count."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tflite_inspector.core.errors import InputError, RuntimeFailure
from tflite_inspector.core.inspection.shapes import MAX_INPUT_ELEMENTS, dynamic_inputs, input_shapes
from tflite_inspector.core.inspection.stats import model_stats
from tflite_inspector.core.inspection.summary import format_model_text, lower_bound_warning, model_dict
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.core.runtime.interpreter import RuntimeWorker

from .conftest import needs_shared, shared_model
from .graph_builder import GraphBuilder

# The interpreter's own account of the shapes, by its public API only: resize, allocate, and (as
# the runtime does for tensors it sizes while running) one run on zeros when some are unsized.
_INTERPRETER_SHAPES = textwrap.dedent("""
    import json, sys
    import numpy as np
    from ai_edge_litert import interpreter as litert
    path, inputs = sys.argv[1], json.loads(sys.argv[2])
    it = litert.Interpreter(model_path=path,
                            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    for index, shape in inputs:
        it.resize_tensor_input(index, shape, strict=True)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    it.invoke()
    print(json.dumps({str(t["index"]): [t["name"], [int(v) for v in t["shape"]]] for t in it.get_tensor_details()}))
""")


def same_shapes(model, reference: dict[int, tuple[str, tuple[int, ...]]], resolved) -> None:
    """Every tensor of the file has the interpreter's shape (the interpreter adds scratch tensors
    of its own after the file's, which no figure counts)."""
    tensors = model.subgraphs[0].tensors
    assert all(reference[t.index][0] == t.name for t in tensors)
    assert {t.index: reference[t.index][1] for t in tensors} == {t.index: resolved.shapes[t.index] for t in tensors}


def interpreter_shapes(path: Path, inputs: dict[int, tuple[int, ...]]) -> dict[int, tuple[str, tuple[int, ...]]]:
    result = subprocess.run([sys.executable, "-c", _INTERPRETER_SHAPES, str(path),
                             json.dumps([[i, list(s)] for i, s in inputs.items()])],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return {int(k): (name, tuple(shape)) for k, (name, shape) in json.loads(result.stdout).items()}


@pytest.fixture(scope="module")
def worker():
    with RuntimeWorker(timeout_s=120) as w:
        yield w


def dynamic_conv_model(path: Path) -> Path:
    """x [1,-1,-1,3] → CONV_2D 3×3 VALID, 8 filters → MEAN over H, W → FULLY_CONNECTED 8→4.
    The file stores 1 for every −1, as converters do."""
    b = GraphBuilder()
    x = b.tensor("x", [1, 1, 1, 3], shape_signature=[1, -1, -1, 3])
    w = b.constant("w", np.ones((8, 3, 3, 3), np.float32))
    bias = b.constant("bias", np.zeros(8, np.float32))
    y = b.tensor("conv", [1, 1, 1, 8], shape_signature=[1, -1, -1, 8])
    b.op("CONV_2D", [x, w, bias], [y], options=("Conv2DOptions", {"strideW": 1, "strideH": 1, "padding": "VALID"}))
    axes = b.constant("axes", np.array([1, 2], np.int32))
    pooled = b.tensor("pooled", [1, 8])
    b.op("MEAN", [y, axes], [pooled], options=("ReducerOptions", {"keepDims": False}))
    fc_w = b.constant("fc_w", np.ones((4, 8), np.float32))
    out = b.tensor("logits", [1, 4])
    b.op("FULLY_CONNECTED", [pooled, fc_w, -1], [out])
    path.write_bytes(b.build(inputs=[x], outputs=[out]))
    return path


def test_conv_model_macs_by_hand_at_the_interpreters_shapes(tmp_path, worker):
    path = dynamic_conv_model(tmp_path / "conv.tflite")
    with read_model(str(path)) as model:
        static = model_stats(model)
        # Static: the conv's output counts as 1×1×1×8, so 8·27 + 4·8; marked as a lower bound.
        assert static.macs == 8 * 27 + 32 and static.macs_lower_bound
        assert static.subgraphs[0].peak_activation.lower_bound
        assert "x [1,-1,-1,3]" in lower_bound_warning(model, static)

        shapes = input_shapes(model, ["x=1,10,12,3"])
        resolved = worker.resolve_shapes(str(path), shapes)
        reference = interpreter_shapes(path, shapes)
        same_shapes(model, reference, resolved)
        assert resolved.shapes[model.subgraphs[0].inputs[0]] == (1, 10, 12, 3)

        stats = model_stats(model, resolved)
        # By hand: a 3×3 VALID conv on 10×12 gives 8×10 positions × 8 filters, each 3·3·3 MACs;
        # the fully connected layer 4 outputs × 8 inputs.
        assert stats.macs == 8 * 10 * 8 * 27 + 4 * 8 == 17312
        assert not stats.macs_lower_bound and not stats.peak_lower_bound and stats.dynamic_tensor_count == 0
        # Memory: input, conv output, pooled and logits all live together at the conv's step at most.
        assert stats.subgraphs[0].peak_activation.bytes == 4 * (10 * 12 * 3 + 8 * 10 * 8)
        d = model_dict(model, stats)["stats"]
        assert d["macs"] == 17312 and d["macs_lower_bound"] is False and d["dynamic_tensors"] == []
        assert d["shapes"]["source"] == "interpreter" and d["shapes"]["input_shapes"] == {"x": [1, 10, 12, 3]}


def test_keras_audio_model_with_a_none_length_input(tmp_path, worker):
    """A Keras classifier over a waveform of any length (Input(shape=(None,))), converted by
    TFLiteConverter in its own process: the interpreter sizes the reshape only while running."""
    path = tmp_path / "audio.tflite"
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import tensorflow as tf
        tf.keras.utils.set_random_seed(0)
        x = tf.keras.Input(shape=(None,), name="waveform")
        h = tf.keras.layers.Reshape((-1, 1))(x)
        h = tf.keras.layers.Conv1D(8, 400, strides=160, activation="relu")(h)
        h = tf.keras.layers.GlobalAveragePooling1D()(h)
        y = tf.keras.layers.Dense(10)(h)
        model = tf.keras.Model(x, y)
        open({str(path)!r}, "wb").write(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    with read_model(str(path)) as model:
        (waveform,) = dynamic_inputs(model)
        assert waveform.label == "waveform" and waveform.default == (1, None)  # batch 1; the length unknown
        with pytest.raises(InputError, match="needs a shape"):
            input_shapes(model, [])
        static = model_stats(model)
        assert static.macs_lower_bound
        shapes = input_shapes(model, ["waveform=1,144000"])
        resolved = worker.resolve_shapes(str(path), shapes)
        reference = interpreter_shapes(path, shapes)
        same_shapes(model, reference, resolved)
        assert resolved.run_shaped and not resolved.unresolved  # the reshape is sized while running
        stats = model_stats(model, resolved)
        # By hand: (144000 − 400) / 160 + 1 = 898 windows × 8 filters × 400 taps, and 10 × 8 for Dense.
        assert stats.macs == 898 * 8 * 400 + 10 * 8 == 2873680
        assert not stats.macs_lower_bound and stats.macs > 800 * static.macs
        assert "MACs 2.87M" in format_model_text(model, stats)


@needs_shared
def test_published_vocoder_resized_as_the_interpreter_does(worker):
    """HiFi-GAN ([1,80,-1] mel frames in): 503 tensors with −1; at 200 frames every tensor's shape
    equals the interpreter's, and the MACs of each conv follow from them by the formula."""
    path = shared_model("gh-tulasiram58827-TTS_TFLite/hifigan_float16.tflite")
    with read_model(str(path)) as model:
        static = model_stats(model)
        assert static.macs_lower_bound and static.dynamic_tensor_count > 250
        shapes = input_shapes(model, ["input=1,80,200"])
        resolved = worker.resolve_shapes(str(path), shapes)
        reference = interpreter_shapes(path, shapes)
        same_shapes(model, reference, resolved)
        assert not resolved.unresolved
        stats = model_stats(model, resolved)
        assert not stats.macs_lower_bound and stats.dynamic_tensor_count == 0
        sg = model.subgraphs[0]
        for op in sg.operators:
            if op.opcode == "CONV_2D":
                out = reference[op.outputs[0]][1]
                w = sg.tensors[op.inputs[1]].shape
                assert stats.subgraphs[0].macs_by_operator[op.index] == int(np.prod(out)) * w[1] * w[2] * w[3]
        # The output is 256 samples per frame.
        assert reference[sg.outputs[0]][1] == (1, 1, 200 * 256)
        assert stats.macs > 1000 * static.macs


def test_bad_input_shapes_are_refused_in_one_line_before_the_interpreter(tmp_path):
    path = dynamic_conv_model(tmp_path / "conv.tflite")
    with read_model(str(path)) as model:
        for spec, message in [
            ("x=1,10,3", "has 4 dimensions; the shape given, [1,10,3], has 3"),
            ("x=1,0,10,3", "dimension 1 must be at least 1, not 0"),
            ("x=2,10,10,3", "dimension 0 is fixed at 1"),
            ("x=1,100000,100000,3", f"more than the {MAX_INPUT_ELEMENTS:,} allowed"),
            ("x=1,a,3,3", "is not a shape"),
            ("y=1,10,10,3", "no input named 'y'"),
            ("1,10,10,3", None),  # the only dynamic input: no name needed
        ]:
            if message is None:
                assert input_shapes(model, [spec]) == {0: (1, 10, 10, 3)}
                continue
            with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")) as caught:
                input_shapes(model, [spec])
            assert "\n" not in str(caught.value)


def test_tensor_memory_over_the_limit_is_refused_by_the_worker(tmp_path, worker):
    path = dynamic_conv_model(tmp_path / "conv.tflite")
    with pytest.raises(RuntimeFailure, match="more than the 1,000 allowed"):
        worker.resolve_shapes(str(path), {0: (1, 100, 100, 3)}, max_bytes=1000)
    # The worker answers the next request.
    assert worker.resolve_shapes(str(path), {0: (1, 5, 5, 3)}).shapes[0] == (1, 5, 5, 3)


def test_cli_inspect_input_shape(tmp_path):
    path = dynamic_conv_model(tmp_path / "conv.tflite")
    run = [sys.executable, "-m", "tflite_inspector", "inspect", str(path)]
    static = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert static.returncode == 0
    assert "MACs ≥ 248" in static.stdout and "--input-shape x=1,N,N,3" in static.stdout
    resolved = subprocess.run(run + ["--input-shape", "x=1,10,12,3", "--json"], capture_output=True, text=True,
                              timeout=120)
    assert resolved.returncode == 0, resolved.stderr
    stats = json.loads(resolved.stdout)["stats"]
    assert stats["macs"] == 17312 and stats["macs_lower_bound"] is False
    bad = subprocess.run(run + ["--input-shape", "x=1,0,12,3"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "dimension 1 must be at least 1" in bad.stderr
    assert "MACs ≥ 248" in bad.stdout  # the static figures, as lower bounds


def test_report_marks_lower_bounds_and_shows_resolved_figures(tmp_path, worker):
    from tflite_inspector.core.report.build import ReportRequest, build_report

    path = dynamic_conv_model(tmp_path / "conv.tflite")
    static = build_report(ReportRequest(str(path), delegates=()))
    assert "≥ 248" in static and "x [1,-1,-1,3]" in static and "at static shapes" in static
    resolved = build_report(ReportRequest(str(path), delegates=(), input_shapes=("x=1,10,12,3",)), worker)
    assert "17,312" in resolved and "≥" not in resolved and "shapes for x=1,10,12,3" in resolved


def test_a_huge_declared_input_is_refused_before_the_interpreter():
    """A hostile model declares [-1,100000,100000,3]: its stated size (batch 1) is 3·10^10 elements,
    refused by the check, so no worker is ever asked to allocate it."""
    b = GraphBuilder()
    x = b.tensor("x", [1, 100000, 100000, 3], shape_signature=[-1, 100000, 100000, 3])
    y = b.tensor("y", [1, 100000, 100000, 3], shape_signature=[-1, 100000, 100000, 3])
    b.op("RELU", [x], [y])
    model = b.model()
    (x_input,) = dynamic_inputs(model)
    assert x_input.default == (1, 100000, 100000, 3)
    with pytest.raises(InputError, match="30,000,000,000 elements, more than"):
        input_shapes(model, [])
