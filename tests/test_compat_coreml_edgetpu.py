"""Core ML and Edge TPU rule tables: one small model per rule, and the real models.

Neither delegate runs on this machine, so each rule is checked on a model built for
it, with the exact verdict of every op and the reason's wording and source. For the
Edge TPU, Coral's compiled models give ground truth: the ops the compiler left
outside `edgetpu-custom-op` are the ones it did not map.
"""

from __future__ import annotations

import numpy as np
import pytest

from tflite_inspector.core.delegates import engine
from tflite_inspector.core.errors import ModelError
from tflite_inspector.core.reading.model import Model
from tflite_inspector.core.reading.reader import read_model

from .compat_helpers import reason_with, taken, verdict
from .conftest import model_id, needs_shared, real_model_paths, shared_model
from .graph_builder import GraphBuilder

COREML_SOURCE = "tflite/delegates/coreml/coreml_delegate.mm"
CORAL_DOCS = "https://coral.ai/docs/edgetpu/models-intro/"


# ------------------------------------------------------------------- builders


def conv(b: GraphBuilder, x: int, shape: list[int], cout: int, *, version: int = 1, name: str = "conv",
         activation: str = "NONE", weights: int | None = None) -> int:
    """A float 1x1 CONV_2D from `x` (NHWC `shape`) to `cout` channels; returns its output."""
    w = weights if weights is not None else b.constant(f"{name}_w", np.full((cout, 1, 1, shape[-1]), 0.5, np.float32))
    bias = b.constant(f"{name}_b", np.zeros(cout, np.float32))
    y = b.tensor(f"{name}_y", [*shape[:-1], cout])
    b.op("CONV_2D", [x, w, bias], [y], version=version, options=(
        "Conv2DOptions", {"padding": "SAME", "strideW": 1, "strideH": 1, "fusedActivationFunction": activation}))
    return y


def unary(b: GraphBuilder, opcode: str, x: int, shape: list[int], name: str, dtype: str = "FLOAT32",
          version: int = 1, **quant) -> int:
    y = b.tensor(name, shape, dtype, **quant)
    b.op(opcode, [x], [y], version=version)
    return y


U8 = {"scale": 0.05, "zero_point": 128}


def qtensor(b: GraphBuilder, name: str, shape: list[int]) -> int:
    return b.tensor(name, shape, "UINT8", **U8)


def qconv(b: GraphBuilder, x: int, shape: list[int], cout: int, name: str = "conv") -> int:
    """A uint8 1x1 CONV_2D as the TF1 quantization tools wrote them (version 1)."""
    w = b.constant(f"{name}_w", np.full((cout, 1, 1, shape[-1]), 130, np.uint8), "UINT8", scale=0.01, zero_point=128)
    bias = b.constant(f"{name}_b", np.zeros(cout, np.int32), "INT32", scale=0.0005)
    y = qtensor(b, f"{name}_y", [*shape[:-1], cout])
    b.op("CONV_2D", [x, w, bias], [y], options=("Conv2DOptions", {"padding": "SAME", "strideW": 1, "strideH": 1}))
    return y


# ====================================================================== Core ML


def test_coreml_float_conv_chain_is_taken_in_one_partition():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    y = conv(b, x, [1, 8, 8, 3], 8, name="c1", activation="RELU")
    y = conv(b, y, [1, 8, 8, 8], 8, name="c2")
    unary(b, "RELU6", y, [1, 8, 8, 8], "out")
    report = engine.analyze(b.model(), "coreml")
    assert [v.supported for v in report.ops] == [True, True, True]
    assert report.partitions == 1 and report.title == "Core ML"


def test_coreml_refuses_a_fully_int8_model():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4], "INT8", scale=0.1, zero_point=0)
    w = b.constant("w", np.ones((4, 1, 1, 4), np.int8), "INT8", scale=0.01)
    bias = b.constant("bias", np.zeros(4, np.int32), "INT32", scale=0.001)
    y = b.tensor("y", [1, 8, 8, 4], "INT8", scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w, bias], [y], version=3, options=("Conv2DOptions", {"strideW": 1, "strideH": 1}))
    # Version 1 of RELU on int8 tensors: only the first-input type rule refuses it.
    unary(b, "RELU", y, [1, 8, 8, 4], "out", "INT8", scale=0.1, zero_point=0)
    report = engine.analyze(b.model(), "coreml")
    assert [v.supported for v in report.ops] == [False, False]
    conv_v, relu_v = report.ops
    assert "version 3 of CONV_2D" in conv_v.reasons[0].text  # the delegate tests the version first
    for v in (conv_v, relu_v):
        r = reason_with(v, "input 0 is INT8: the Core ML delegate runs float models only")
        assert r.source == COREML_SOURCE + " (IsNodeSupportedByDelegate)"
    assert len(relu_v.reasons) == 1


def test_coreml_leaves_a_single_op_partition_to_the_cpu():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    y = conv(b, x, [1, 8, 8, 4], 4, name="c1")
    z = b.tensor("z", [1, 8, 8, 4])
    b.op("SUB", [y, b.constant("k", np.ones((1, 1, 1, 4), np.float32))], [z])  # not a Core ML op
    y = conv(b, z, [1, 8, 8, 4], 4, name="c2")
    unary(b, "RELU", y, [1, 8, 8, 4], "out")
    report = engine.analyze(b.model(), "coreml")
    assert [v.supported for v in report.ops] == [False, False, True, True]
    assert report.partitions == 1
    r = reason_with(report.ops[0], "fewer than min_nodes_per_partition = 2")
    assert "1 op(s)" in r.text and r.source == COREML_SOURCE
    assert "SUB is not an op the Core ML delegate converts" in report.ops[1].reasons[0].text


@pytest.mark.parametrize(("beta", "expected"), [(1.0, [True, True]), (0.5, [False, False])])
def test_coreml_softmax_needs_beta_1(beta, expected):
    b = GraphBuilder()
    x = b.tensor("x", [1, 10])
    y = unary(b, "TANH", x, [1, 10], "t")
    out = b.tensor("out", [1, 10])
    b.op("SOFTMAX", [y], [out], options=("SoftmaxOptions", {"beta": beta}))
    model = b.model()
    assert taken(model, "coreml") == expected
    if beta != 1.0:
        r = reason_with(verdict(model, "coreml", 1), "beta = 0.5")
        assert "beta 1.0 only" in r.text and r.source == COREML_SOURCE + " (IsNodeSupportedByDelegate)"
        reason_with(verdict(model, "coreml", 0), "min_nodes_per_partition")


@pytest.mark.parametrize(("version", "expected"), [(1, True), (2, True), (3, False)])
def test_coreml_depthwise_versions(version, expected):
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    w = b.constant("w", np.ones((1, 3, 3, 4), np.float32))
    bias = b.constant("bias", np.zeros(4, np.float32))
    y = b.tensor("y", [1, 8, 8, 4])
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], version=version, options=(
        "DepthwiseConv2DOptions", {"padding": "SAME", "strideW": 1, "strideH": 1, "depthMultiplier": 1}))
    unary(b, "RELU", y, [1, 8, 8, 4], "out")
    model = b.model()
    assert taken(model, "coreml") == [expected, expected]
    if not expected:
        r = reason_with(verdict(model, "coreml", 0), "version 3 of DEPTHWISE_CONV_2D is not supported")
        assert "version 2 at most" in r.text
        assert r.source.startswith(COREML_SOURCE) and "DepthwiseConv2d version > 2" in r.source


def _fully_connected(version: int = 1, batch: int = 1) -> Model:
    b = GraphBuilder()
    x = b.tensor("x", [batch, 16])
    w = b.constant("w", np.ones((8, 16), np.float32))
    bias = b.constant("bias", np.zeros(8, np.float32))
    y = b.tensor("y", [batch, 8])
    b.op("FULLY_CONNECTED", [x, w, bias], [y], version=version, options=("FullyConnectedOptions", {}))
    unary(b, "LOGISTIC", y, [batch, 8], "out")
    return b.model()


def test_coreml_fully_connected_versions_and_single_batch():
    assert taken(_fully_connected(version=6), "coreml") == [True, True]
    assert taken(_fully_connected(version=7), "coreml") == [False, False]
    model = _fully_connected(batch=2)
    assert taken(model, "coreml") == [False, False]
    r = reason_with(verdict(model, "coreml", 0), "input 0 [2,16]: every dimension but the last must be 1")
    assert r.source.endswith("fully_connected_op_builder.cc (IsFullyConnectedOpSupported)")


@pytest.mark.parametrize(("shape_b", "const", "ok", "why"), [
    ([1, 1, 1, 4], False, True, None),            # [B, C, 1, 1] in Core ML's layout
    ([1, 8, 8, 1], False, True, None),            # [B, 1, H, W]
    ([1, 8, 1, 4], False, False, "height/width differ and neither is 1x1"),
    ([2, 8, 8, 4], False, False, "batch sizes differ"),
    ([1], True, True, None),                      # a constant scalar broadcasts along the batch too
    ([1, 1, 8, 8, 4], False, False, "rank above 4"),
])
def test_coreml_add_broadcasts_only_core_ml_shapes(shape_b, const, ok, why):
    b = GraphBuilder()
    a = b.tensor("a", [1, 8, 8, 4])
    other = b.constant("k", np.ones(shape_b, np.float32)) if const else b.tensor("o", shape_b)
    out_shape = list(np.broadcast_shapes((1, 8, 8, 4), tuple(shape_b)))
    s = b.tensor("s", out_shape)
    b.op("ADD", [a, other], [s], options=("AddOptions", {}))
    unary(b, "RELU", s, out_shape, "out")
    model = b.model()
    assert taken(model, "coreml") == [ok, ok]
    if why:
        r = reason_with(verdict(model, "coreml", 0), why)
        assert "do not broadcast in Core ML" in r.text
        assert r.source.endswith("util.cc (IsBinaryOpSupported, IsBroadcastable)")


@pytest.mark.parametrize(("axis", "ok"), [(3, True), (-1, True), (1, False)])
def test_coreml_concatenation_by_channel_only(axis, ok):
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 2])
    y = unary(b, "RELU", x, [1, 4, 4, 2], "r")
    out_shape = [1, 4, 4, 4] if axis in (3, -1) else [1, 8, 4, 2]
    out = b.tensor("out", out_shape)
    b.op("CONCATENATION", [x, y], [out], options=("ConcatenationOptions", {"axis": axis}))
    model = b.model()
    assert taken(model, "coreml") == [ok, ok]
    if not ok:
        assert "only concatenation by channel" in verdict(model, "coreml", 1).reasons[0].text


@pytest.mark.parametrize(("axes", "keep_dims", "why"), [
    ([1, 2], True, None),
    ([-3, -2], True, None),
    ([3], True, "Mean op should reduce for H and W dimensions"),
    ([1, 2], False, "keep_dims should be true for Mean op."),
])
def test_coreml_mean_is_a_global_pool_over_height_and_width(axes, keep_dims, why):
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    y = unary(b, "RELU", x, [1, 8, 8, 4], "r")
    shape = [1, 8, 8, 4]
    for a in axes:
        shape[a] = 1
    if not keep_dims:
        shape = [d for i, d in enumerate(shape) if i not in [a % 4 for a in axes]]
    out = b.tensor("out", shape)
    b.op("MEAN", [y, b.constant("axes", np.array(axes, np.int32))], [out],
         options=("ReducerOptions", {"keepDims": keep_dims}))
    model = b.model()
    assert taken(model, "coreml") == [why is None] * 2
    if why:
        r = reason_with(verdict(model, "coreml", 1), why)
        assert r.source.endswith("pooling_layer_builder.cc (IsMeanOpSupported)")


def test_coreml_conv_weights_must_be_constant_float16_dequantize_counts():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    w16 = b.constant("w16", np.full((4, 1, 1, 4), 0.5, np.float16))
    w_fp16 = b.tensor("w_fp16", [4, 1, 1, 4])
    b.op("DEQUANTIZE", [w16], [w_fp16])
    w8 = b.constant("w8", np.ones((4, 1, 1, 4), np.int8), "INT8", scale=0.01)
    w_int8 = b.tensor("w_int8", [4, 1, 1, 4])
    b.op("DEQUANTIZE", [w8], [w_int8])
    w_runtime = b.tensor("w_runtime", [4, 1, 1, 4])  # a graph input
    y = conv(b, x, [1, 8, 8, 4], 4, name="a", weights=w_fp16)
    y = unary(b, "RELU", y, [1, 8, 8, 4], "a_relu")
    y = conv(b, y, [1, 8, 8, 4], 4, name="b", weights=w_int8)
    y = conv(b, y, [1, 8, 8, 4], 4, name="c", weights=w_runtime)
    model = b.model()
    # DEQUANTIZE is no Core ML op; FP16GraphPartitionHelper points the conv at the
    # float16 constant, so only the int8 and the runtime weights are refused.
    assert taken(model, "coreml") == [False, False, True, True, False, False]
    reason_with(verdict(model, "coreml", 4), "the weights (input 1) must be constant")
    reason_with(verdict(model, "coreml", 5), "the weights (input 1) must be constant")


@pytest.mark.parametrize("whole", [True, False])
def test_coreml_float16_weights_dequantize_goes_with_the_whole_graph_only(whole):
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    w16 = b.constant("w16", np.full((4, 1, 1, 4), 0.5, np.float16))
    w = b.tensor("w", [4, 1, 1, 4])
    b.op("DEQUANTIZE", [w16], [w], version=3)  # version 3 = float16: not version-checked
    y = conv(b, x, [1, 8, 8, 4], 4, weights=w)
    y = unary(b, "RELU", y, [1, 8, 8, 4], "r")
    if not whole:
        unary(b, "FLOOR", y, [1, 8, 8, 4], "f")  # no Core ML op
    model = b.model()
    expected = [True, True, True] if whole else [False, True, True, False]
    assert taken(model, "coreml") == expected
    if not whole:
        r = reason_with(verdict(model, "coreml", 0), "taken only with the whole graph, and op #3 FLOOR is not")
        assert r.source == "tflite/delegates/utils.cc (FP16GraphPartitionHelper)"


def test_coreml_reshape_is_refused_when_targeting_core_ml_3():
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 2])
    y = unary(b, "RELU", x, [1, 4, 4, 2], "r")
    out = b.tensor("out", [1, 32])
    b.op("RESHAPE", [y, b.constant("shape", np.array([1, 32], np.int32))], [out])
    model = b.model()
    assert taken(model, "coreml") == [False, False]
    r = reason_with(verdict(model, "coreml", 1), "only when targeting Core ML 2")
    assert r.source.endswith("reshape_op_builder.cc (IsReshapeOpSupported)")


@pytest.mark.parametrize(("paddings", "why"), [
    ([[0, 0], [1, 1], [2, 2], [0, 0]], None),
    ([[0, 0], [1, 1], [1, 1], [0, 1]], "padding along axis 3"),
    ([[1, 0], [0, 0], [0, 0], [0, 0]], "padding along axis 0"),
])
def test_coreml_pad_only_along_height_and_width(paddings, why):
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 2])
    y = unary(b, "RELU", x, [1, 4, 4, 2], "r")
    p = np.array(paddings, np.int32)
    out = b.tensor("out", [int(d + p[i].sum()) for i, d in enumerate([1, 4, 4, 2])])
    b.op("PAD", [y, b.constant("paddings", p)], [out])
    model = b.model()
    assert taken(model, "coreml") == [why is None] * 2
    if why:
        r = reason_with(verdict(model, "coreml", 1), why)
        assert "not supported in PAD" in r.text and r.source.endswith("pad_op_builder.cc (IsPadOpSupported)")


@needs_shared
def test_coreml_on_a_float_mobilenet():
    """CONV/DEPTHWISE/AVERAGE_POOL v1 are taken; SQUEEZE is no Core ML op, which leaves
    SOFTMAX alone in a one-op partition."""
    with read_model(shared_model("gh-tensorflow-tflite-support/mobilenet_v1_0.25_224_1_metadata_1.tflite")) as model:
        report = engine.analyze(model, "coreml")
        assert [v.opcode for v in report.fallbacks()] == ["SQUEEZE", "SOFTMAX"]
        assert report.ops_supported == 29 and report.partitions == 1
        reason_with(report.fallbacks()[1], "min_nodes_per_partition")


# ===================================================================== Edge TPU


def test_edgetpu_refuses_a_float_op_as_unsupported_data_type():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    conv(b, x, [1, 8, 8, 3], 4)
    v = verdict(b.model(), "edgetpu", 0)
    assert not v.supported
    assert v.reasons[0].text.startswith("Operation is working on an unsupported data type: input 0 is FLOAT32")
    assert v.reasons[0].source == CORAL_DOCS + "#model-requirements"


@pytest.mark.parametrize(("batch", "ok"), [(1, True), (2, False)])
def test_edgetpu_maps_only_three_innermost_dimensions(batch, ok):
    b = GraphBuilder()
    x = qtensor(b, "x", [batch, 8, 8, 3])
    qconv(b, x, [batch, 8, 8, 3], 4)
    model = b.model()
    assert taken(model, "edgetpu") == [ok]
    if not ok:
        r = reason_with(
            verdict(model, "edgetpu", 0), "Tensor has unsupported rank (up to 3 innermost dimensions mapped)")
        assert "input 0 is [2,8,8,3]" in r.text and r.source == CORAL_DOCS + "#model-requirements"


def test_edgetpu_first_unmapped_op_sends_every_later_op_to_the_cpu():
    b = GraphBuilder()
    x = qtensor(b, "x", [1, 8, 8, 4])
    y = qconv(b, x, [1, 8, 8, 4], 4, name="c1")
    z = qtensor(b, "z", [1, 8, 8, 4])
    b.op("LEAKY_RELU", [y], [z], options=("LeakyReluOptions", {"alpha": 0.1}))
    y = qconv(b, z, [1, 8, 8, 4], 4, name="c2")
    unary(b, "RELU", y, [1, 8, 8, 4], "out", "UINT8", **U8)
    report = engine.analyze(b.model(), "edgetpu")
    assert [v.supported for v in report.ops] == [True, False, False, False]
    assert report.partitions == 1
    assert report.ops[1].reasons[0].text.startswith("Operation not supported: LEAKY_RELU")
    for v in report.ops[2:]:
        assert len(v.reasons) == 1  # supported in itself
        r = v.reasons[0]
        assert "after the first unmapped op (#1 LEAKY_RELU) the compiler leaves every later op to the CPU" in r.text
        assert r.text.startswith("More than one subgraph is not supported")
        assert r.source == CORAL_DOCS + "#compiling"


def test_edgetpu_maps_the_main_subgraph_only():
    b = GraphBuilder()
    x = qtensor(b, "x", [1, 8, 8, 4])
    qconv(b, x, [1, 8, 8, 4], 4)
    b.add_subgraph("second")
    p = qtensor(b, "p", [1, 8, 8, 4])
    q = qtensor(b, "q", [1, 8, 8, 4])
    s = qtensor(b, "s", [1, 8, 8, 4])
    b.op("ADD", [p, q], [s], options=("AddOptions", {}))
    report = engine.analyze(b.model(), "edgetpu")
    assert [(v.subgraph, v.supported) for v in report.ops] == [(0, True), (1, False)]
    assert report.ops[1].reasons[0].text.startswith("More than one subgraph is not supported")
    assert any(n.text.startswith("More than one subgraph is not supported") for n in report.graph_notes)


def _edgetpu_one_op(opcode: str, in_shape: list[int], out_shape: list[int], *, extra: list[int] | None = None,
                    options: tuple | None = None, builder: GraphBuilder | None = None) -> Model:
    b = builder or GraphBuilder()
    x = qtensor(b, "x", in_shape)
    out = qtensor(b, "out", out_shape)
    b.op(opcode, [x, *(extra or [])], [out], options=options)
    return b.model()


@pytest.mark.parametrize(("shape", "why"), [
    ([1, 1001], None),
    ([1, 1, 1, 1001], None),
    ([4, 10], "Supports only 1-D input tensor with a max of 16,000 elements (the input is [4,10])"),
    ([1, 20000], "Supports only 1-D input tensor with a max of 16,000 elements (the input has 20000)"),
])
def test_edgetpu_softmax_is_one_dimensional(shape, why):
    model = _edgetpu_one_op("SOFTMAX", shape, shape, options=("SoftmaxOptions", {"beta": 1.0}))
    assert taken(model, "edgetpu") == [why is None]
    if why:
        assert reason_with(verdict(model, "edgetpu", 0), why).source == CORAL_DOCS + "#supported-operations"


@pytest.mark.parametrize(("axes", "ok"), [([1, 2], True), ([2], True), ([3], False), ([0], False)])
def test_edgetpu_mean_over_x_and_y_only(axes, ok):
    b = GraphBuilder()
    shape = [1, 8, 8, 4]
    out = [1 if i in axes else d for i, d in enumerate(shape)]
    model = _edgetpu_one_op("MEAN", shape, out, extra=[b.constant("axes", np.array(axes, np.int32))],
                            options=("ReducerOptions", {"keepDims": True}), builder=b)
    assert taken(model, "edgetpu") == [ok]
    if not ok:
        reason_with(verdict(model, "edgetpu", 0), "Supports reduction along x- and/or y-dimensions only")


@pytest.mark.parametrize(("axis", "ok"), [(0, True), (-1, True)])
def test_edgetpu_pack_of_vectors(axis, ok):
    b = GraphBuilder()
    a, c = qtensor(b, "a", [4, 5]), qtensor(b, "c", [4, 5])
    out = qtensor(b, "out", [2, 4, 5] if axis == 0 else [4, 5, 2])
    b.op("PACK", [a, c], [out], options=("PackOptions", {"valuesCount": 2, "axis": axis}))
    assert taken(b.model(), "edgetpu") == [ok]


def test_edgetpu_pack_along_batch_is_refused():
    b = GraphBuilder()
    a, c = qtensor(b, "a", [4, 4, 5]), qtensor(b, "c", [4, 4, 5])
    out = qtensor(b, "out", [2, 4, 4, 5])
    b.op("PACK", [a, c], [out], options=("PackOptions", {"valuesCount": 2, "axis": 0}))
    v = verdict(b.model(), "edgetpu", 0)
    assert not v.supported
    # The 4-D output breaks the rank rule too, which the all-ops checks report first.
    reason_with(v, "Tensor has unsupported rank")
    reason_with(v, "No packing in batch dimension (this op packs along axis 0 of [2,4,4,5])")


@pytest.mark.parametrize(("shape", "squeeze", "ok"), [
    ([1, 5, 10], [0], True),
    ([1, 1, 10], [0, 1], True),
    ([5, 1, 10], [1], False),
])
def test_edgetpu_squeeze_of_leading_ones(shape, squeeze, ok):
    out = [d for i, d in enumerate(shape) if i not in squeeze]
    model = _edgetpu_one_op("SQUEEZE", shape, out, options=("SqueezeOptions", {"squeezeDims": squeeze}))
    assert taken(model, "edgetpu") == [ok]
    if not ok:
        reason_with(verdict(model, "edgetpu", 0), "squeezed dimensions are leading 1s")


@pytest.mark.parametrize(("strides", "ellipsis", "why"), [
    ([1, 1, 1, 1], 0, None),
    ([1, 2, 1, 1], 0, "Supported only when all strides are equal to 1 (strides [1, 2, 1, 1])"),
    ([1, 1, 1, 1], 1, "ellipsis_mask = 1"),
])
def test_edgetpu_strided_slice(strides, ellipsis, why):
    b = GraphBuilder()
    begin = b.constant("begin", np.zeros(4, np.int32))
    end = b.constant("end", np.array([1, 8, 8, 4], np.int32))
    st = b.constant("strides", np.array(strides, np.int32))
    out = [1, 8 // strides[1], 8, 4]
    model = _edgetpu_one_op("STRIDED_SLICE", [1, 8, 8, 4], out, extra=[begin, end, st], builder=b,
                            options=("StridedSliceOptions", {"ellipsisMask": ellipsis}))
    assert taken(model, "edgetpu") == [why is None]
    if why:
        reason_with(verdict(model, "edgetpu", 0), why)


@pytest.mark.parametrize(("constant", "activation", "why"), [
    (None, "NONE", None),
    (0, "NONE", None),         # a zero constant: a zero-padding, which the Edge TPU maps
    (7, "NONE", "this constant tensor must be all zeroes (input 1 breaks this)"),
    (None, "RELU", "No fused activation function (this op fuses RELU)"),
])
def test_edgetpu_concatenation(constant, activation, why):
    b = GraphBuilder()
    x = qtensor(b, "x", [1, 4, 4, 2])
    if constant is None:
        other = qtensor(b, "y", [1, 4, 4, 2])
    else:  # quantized zero is the zero point, 128
        other = b.constant("pad", np.full((1, 4, 4, 2), 128 + constant, np.uint8), "UINT8", **U8)
    out = qtensor(b, "out", [1, 4, 4, 4])
    b.op("CONCATENATION", [x, other], [out], options=(
        "ConcatenationOptions", {"axis": 3, "fusedActivationFunction": activation}))
    model = b.model()
    assert taken(model, "edgetpu") == [why is None]
    if why:
        reason_with(verdict(model, "edgetpu", 0), why)


@pytest.mark.parametrize(("alpha", "ok"), [([1, 1, 4], True), ([4], True), ([1, 2, 4], False)])
def test_edgetpu_prelu_alpha_is_one_dimensional(alpha, ok):
    b = GraphBuilder()
    a = b.constant("alpha", np.full(alpha, 130, np.uint8), "UINT8", scale=0.01, zero_point=128)
    model = _edgetpu_one_op("PRELU", [1, 2, 2, 4], [1, 2, 2, 4], extra=[a], builder=b)
    assert taken(model, "edgetpu") == [ok]
    if not ok:
        reason_with(verdict(model, "edgetpu", 0), "Alpha needs to be 1-dimensional (alpha is [1,2,4])")


@pytest.mark.parametrize(("batch", "ok"), [(1, True), (3, False)])
def test_edgetpu_fully_connected_output_is_one_dimensional(batch, ok):
    b = GraphBuilder()
    w = b.constant("w", np.full((8, 16), 130, np.uint8), "UINT8", scale=0.01, zero_point=128)
    bias = b.constant("bias", np.zeros(8, np.int32), "INT32", scale=0.0005)
    model = _edgetpu_one_op("FULLY_CONNECTED", [batch, 16], [batch, 8], extra=[w, bias], builder=b,
                            options=("FullyConnectedOptions", {}))
    assert taken(model, "edgetpu") == [ok]
    if not ok:
        reason_with(verdict(model, "edgetpu", 0), "the output [3,8] must be one-dimensional")


def test_edgetpu_pad_along_x_and_y_only():
    for paddings, ok in (([[0, 0], [1, 1], [1, 1], [0, 0]], True), ([[0, 0], [0, 0], [0, 0], [0, 4]], False)):
        b = GraphBuilder()
        p = np.array(paddings, np.int32)
        out = [int(d + p[i].sum()) for i, d in enumerate([1, 4, 4, 2])]
        model = _edgetpu_one_op("PAD", [1, 4, 4, 2], out, extra=[b.constant("paddings", p)], builder=b)
        assert taken(model, "edgetpu") == [ok]
        if not ok:
            reason_with(verdict(model, "edgetpu", 0), "Supports padding along x- and/or y-dimensions only")


@needs_shared
def test_edgetpu_compiled_model_runs_whole_on_the_edge_tpu():
    with read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant_edgetpu.tflite")) as model:
        report = engine.analyze(model, "edgetpu")
        assert [(v.opcode, v.supported) for v in report.ops] == [("edgetpu-custom-op", True)]
        assert report.partitions == 1


@needs_shared
def test_edgetpu_uint8_mobilenet_maps_entirely_as_the_compiler_did():
    """Every op is 8-bit, batch 1, and in Coral's table without a limitation it breaks
    (AVERAGE_POOL_2D without activation, a 1-D SOFTMAX of 1001 classes). Coral's
    compiled copy of this very model (mobilenet_v1_0.25_128_quant_edgetpu.tflite)
    holds the single `edgetpu-custom-op`: the compiler mapped all 31 ops too."""
    with read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite")) as model:
        report = engine.analyze(model, "edgetpu")
        assert report.ops_supported == report.ops_total == 31
        assert report.partitions == 1 and not report.graph_notes
    with read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant_edgetpu.tflite")) as compiled:
        assert [op.opcode for op in compiled.subgraphs[0].operators] == ["edgetpu-custom-op"]
    # The same uint8 model on Core ML: quantized versions and a non-float first input.
    with read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite")) as model:
        assert engine.analyze(model, "coreml").ops_supported == 0


@needs_shared
def test_edgetpu_quantized_lstm_maps_like_the_compiled_model():
    """keras_lstm_mnist_ptq: QUANTIZE, UNIDIRECTIONAL_SEQUENCE_LSTM (int16 cell state),
    RESHAPE, FULLY_CONNECTED, SOFTMAX, QUANTIZE; Coral's compiled copy is one custom op."""
    with read_model(shared_model("gh-google-coral-test_data/keras_lstm_mnist_ptq.tflite")) as model:
        assert taken(model, "edgetpu") == [True] * 6


# ====================================================================== corpus


@needs_shared
@pytest.mark.parametrize("path", real_model_paths(), ids=model_id)
def test_coreml_and_edgetpu_on_every_real_model(path):
    try:
        model = read_model(path)
    except ModelError as e:
        pytest.skip(f"unreadable: {e}")
    with model:
        for delegate in ("coreml", "edgetpu"):
            report = engine.analyze(model, delegate)
            assert report.ops_total == sum(len(sg.operators) for sg in model.subgraphs)
            for v in report.ops:
                assert v.supported == (not v.reasons)
                assert all(r.text and r.source for r in v.reasons), (delegate, v)
            if any(op.opcode == "edgetpu-custom-op" for sg in model.subgraphs for op in sg.operators):
                compiled = [v.supported for v in report.ops if v.opcode == "edgetpu-custom-op"]
                assert all(compiled) == (delegate == "edgetpu") and (any(compiled) or delegate != "edgetpu")


@needs_shared
def test_edgetpu_segment_starts_after_leading_unmappable_ops():
    """Coral's compiled movenet keeps the leading CAST and QUANTIZE on the CPU and maps the network after them."""
    model = read_model(shared_model("gh-google-coral-test_data/movenet_single_pose_lightning_ptq.tflite"))
    report = engine.analyze(model, "edgetpu")
    first = report.ops[:3]
    assert [(v.opcode, v.supported) for v in first] == [("CAST", False), ("QUANTIZE", False), (first[2].opcode, True)]
    assert not any("after the first unmapped op" in r.text for v in first for r in v.reasons)
    assert report.partitions == 1 and report.ops_supported > 80
