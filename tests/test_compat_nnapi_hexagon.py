"""NNAPI and Hexagon rule tables: one small model per rule, and the real models.

Neither delegate runs on this machine, so each rule is checked on a model built for
it: the exact verdict of every op, the reason's wording (NNAPI's own log messages
where Validate has one) and its source in the LiteRT tree.
"""

from __future__ import annotations

import numpy as np
import pytest

from tflite_inspector.core.delegates import context, engine, tables
from tflite_inspector.core.delegates.settings import DEFAULT_NNAPI_API_LEVEL, DelegateSettings
from tflite_inspector.core.errors import ModelError
from tflite_inspector.core.reading.model import Model
from tflite_inspector.core.reading.reader import read_model

from .compat_helpers import reason_with, taken, verdict
from .conftest import model_id, needs_shared, real_model_paths
from .graph_builder import GraphBuilder

NNAPI_SOURCE = "tflite/delegates/nnapi/nnapi_delegate.cc"
NNAPI_VALIDATE = NNAPI_SOURCE + " (Validate: "
HEXAGON_UTILS = "tflite/delegates/hexagon/utils.cc"
HEXAGON_DELEGATE = "tflite/delegates/hexagon/hexagon_delegate.cc"


# ------------------------------------------------------------------- builders

U8 = {"scale": 0.05, "zero_point": 128}
I8 = {"scale": 0.05, "zero_point": 0}


def act(b: GraphBuilder, name: str, shape: list[int], dtype: str = "UINT8", **quant) -> int:
    """An activation tensor: uint8 and int8 ones get default quantization parameters."""
    if not quant and dtype in ("UINT8", "INT8"):
        quant = U8 if dtype == "UINT8" else I8
    return b.tensor(name, shape, dtype, **quant)


def conv(
    b: GraphBuilder,
    x: int,
    shape: list[int],
    cout: int,
    *,
    dtype: str = "FLOAT32",
    filter_dtype: str | None = None,
    name: str = "conv",
    version: int = 1,
    stride: int = 1,
    dilation: int = 1,
    per_channel: bool = False,
    filter_scale: float = 0.01,
    out_scale: float = 0.05,
    bias: bool | None = True,
    activation: str = "NONE",
) -> int:
    """A 1x1 CONV_2D from `x` (NHWC `shape`) to `cout` channels; returns its output.

    `bias`: True = a constant bias, None = an absent bias written as -1, False = no bias slot."""
    filter_dtype = filter_dtype or dtype
    cin = shape[-1]
    if filter_dtype == "FLOAT32":
        w = b.constant(f"{name}_w", np.full((cout, 1, 1, cin), 0.5, np.float32))
    else:
        zp = 128 if filter_dtype == "UINT8" else 0
        scale = [filter_scale * (i + 1) for i in range(cout)] if per_channel else filter_scale
        zero_point = [zp] * cout if per_channel else zp
        values = np.full((cout, 1, 1, cin), zp + 2, np.uint8 if filter_dtype == "UINT8" else np.int8)
        w = b.constant(f"{name}_w", values, filter_dtype, scale=scale, zero_point=zero_point, axis=0)
    inputs = [x, w]
    if bias is True:
        if dtype == "FLOAT32":
            inputs.append(b.constant(f"{name}_b", np.zeros(cout, np.float32)))
        else:
            inputs.append(b.constant(f"{name}_b", np.zeros(cout, np.int32), "INT32", scale=0.0005))
    elif bias is None:
        inputs.append(-1)
    out_shape = [shape[0], -(-shape[1] // stride), -(-shape[2] // stride), cout]
    y = act(b, f"{name}_y", out_shape, dtype, **({"scale": out_scale, "zero_point": 128} if dtype == "UINT8" else {}))
    b.op("CONV_2D", inputs, [y], version=version, options=("Conv2DOptions", {
        "padding": "SAME", "strideW": stride, "strideH": stride, "dilationWFactor": dilation,
        "dilationHFactor": dilation, "fusedActivationFunction": activation}))
    return y


def depthwise(b: GraphBuilder, x: int, shape: list[int], *, multiplier: int = 1, stride: int = 1,
              dilation: int = 1, kernel: int = 3, dtype: str = "UINT8", name: str = "dw") -> int:
    cin = shape[-1]
    cout = cin * multiplier
    w = b.constant(f"{name}_w", np.full((1, kernel, kernel, cout), 130, np.uint8), "UINT8", scale=0.01, zero_point=128)
    bias = b.constant(f"{name}_b", np.zeros(cout, np.int32), "INT32", scale=0.0005)
    y = act(b, f"{name}_y", [shape[0], -(-shape[1] // stride), -(-shape[2] // stride), cout], dtype)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], options=("DepthwiseConv2DOptions", {
        "padding": "SAME", "strideW": stride, "strideH": stride, "depthMultiplier": multiplier,
        "dilationWFactor": dilation, "dilationHFactor": dilation}))
    return y


def unary(b: GraphBuilder, opcode: str, x: int, shape: list[int], name: str, dtype: str = "FLOAT32",
          version: int = 1) -> int:
    y = act(b, name, shape, dtype)
    b.op(opcode, [x], [y], version=version)
    return y


def binary(b: GraphBuilder, opcode: str, x: int, other: int, shape: list[int], name: str, dtype: str = "FLOAT32",
           version: int = 1, activation: str = "NONE") -> int:
    y = act(b, name, shape, dtype)
    kind = {"ADD": "AddOptions", "MUL": "MulOptions", "SUB": "SubOptions"}.get(opcode)
    options = (kind, {"fusedActivationFunction": activation}) if kind else None
    b.op(opcode, [x, other], [y], version=version, options=options)
    return y


def custom(b: GraphBuilder, x: int, shape: list[int], name: str, dtype: str = "FLOAT32") -> int:
    """An op no delegate knows, to cut a graph into partitions."""
    y = act(b, name, shape, dtype)
    b.op("MyCustomOp", [x], [y])
    return y


# ====================================================================== NNAPI


def test_nnapi_float_conv_chain_is_taken_in_one_partition():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    y = conv(b, x, [1, 8, 8, 3], 8, name="c1", activation="RELU6")
    y = conv(b, y, [1, 8, 8, 8], 8, name="c2")
    unary(b, "LOGISTIC", y, [1, 8, 8, 8], "out")
    report = engine.analyze(b.model(), "nnapi")
    assert [v.supported for v in report.ops] == [True, True, True]
    assert report.partitions == 1 and report.title == "NNAPI"
    assert report.settings == DelegateSettings(DEFAULT_NNAPI_API_LEVEL)


def _int8_conv_model() -> Model:
    b = GraphBuilder()
    x = act(b, "x", [1, 8, 8, 4], "INT8")
    conv(b, x, [1, 8, 8, 4], 4, dtype="INT8", version=3, per_channel=True)
    return b.model()


def _resize_nearest_model() -> Model:
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 3])
    size = b.constant("size", np.array([8, 8], np.int32))
    y = b.tensor("y", [1, 8, 8, 3])
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, size], [y], options=("ResizeNearestNeighborOptions", {}))
    return b.model()


@pytest.mark.parametrize(("build", "words", "source"), [
    # int8 convolutions (and per-channel filters) arrived with NNAPI 1.2.
    (_int8_conv_model, "Input should be Float or UINT8 (input 0 is INT8", "kTfLiteBuiltinConv2d)"),
    (_resize_nearest_model, "Android sdk version less than 29", "kTfLiteBuiltinResizeNearestNeighbor)"),
])
def test_nnapi_api_level_changes_the_verdict(build, words, source):
    model = build()
    assert taken(model, "nnapi", api_level=30) == [True]
    assert taken(model, "nnapi", api_level=28) == [False]
    r = reason_with(verdict(model, "nnapi", 0, api_level=28), words)
    assert r.source == NNAPI_VALIDATE + source


def test_nnapi_below_sdk_27_delegates_nothing():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    y = conv(b, x, [1, 8, 8, 3], 4)
    unary(b, "RELU", y, [1, 8, 8, 4], "out")
    model = b.model()
    assert taken(model, "nnapi", api_level=27) == [True, True]
    report = engine.analyze(model, "nnapi", DelegateSettings(26))
    assert [v.supported for v in report.ops] == [False, False]
    assert report.partitions == 0
    for v in report.ops:
        assert len(v.reasons) == 1
        assert v.reasons[0].text.startswith("Android sdk version less than 27: NNAPI exists from Android 8.1 (SDK 27)")
        assert v.reasons[0].source == NNAPI_SOURCE
    assert any("less than 27" in note.text for note in report.graph_notes)


@pytest.mark.parametrize(("version", "ok"), [(5, True), (6, False)])
def test_nnapi_conv_version_cap(version, ok):
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    conv(b, x, [1, 8, 8, 4], 4, version=version)
    model = b.model()
    assert taken(model, "nnapi") == [ok]
    if not ok:
        v = verdict(model, "nnapi", 0)
        assert [r.text for r in v.reasons] == ["OP Version higher than 5 (CONV_2D version 6)"]
        assert v.reasons[0].source == NNAPI_VALIDATE + "kTfLiteBuiltinConv2d)"


def test_nnapi_expect_op_version_has_its_own_message():
    """ExpectOpVersion refuses versions above N but says "OP Version different from N"."""
    b = GraphBuilder()
    x = b.tensor("x", [1, 8])
    y = binary(b, "DIV", x, b.constant("k", np.full((1, 8), 2.0, np.float32)), [1, 8], "d", version=1)
    binary(b, "DIV", y, b.constant("k2", np.full((1, 8), 2.0, np.float32)), [1, 8], "out", version=2)
    model = b.model()
    assert taken(model, "nnapi") == [True, False]
    r = reason_with(verdict(model, "nnapi", 1), "OP Version different from 1")
    assert r.source == NNAPI_VALIDATE + "kTfLiteBuiltinDiv)"
    assert taken(model, "nnapi", api_level=27) == [False, False]  # DIV arrived with NNAPI 1.1
    reason_with(verdict(model, "nnapi", 0, api_level=27), "Android sdk version less than 28")


def test_nnapi_mul_version_3_needs_a_targeted_accelerator():
    """The default options target accelerators from SDK 29 only; MUL is capped at 2 without one."""
    b = GraphBuilder()
    x = act(b, "x", [1, 8], "INT8")
    binary(b, "MUL", x, act(b, "y", [1, 8], "INT8"), [1, 8], "out", "INT8", version=3)
    model = b.model()
    assert taken(model, "nnapi", api_level=29) == [True]
    assert taken(model, "nnapi", api_level=28) == [False]
    r = reason_with(verdict(model, "nnapi", 0, api_level=28), "OP Version higher than 2")
    assert r.source == NNAPI_VALIDATE + "kTfLiteBuiltinMul)"


def test_nnapi_keeps_the_3_largest_partitions():
    # Runs of 4, 1, 3 and 2 taken ops between custom ops: the run of 1 is dropped.
    b = GraphBuilder()
    shape = [1, 8]
    t = b.tensor("x", shape)
    for run, length in enumerate((4, 1, 3, 2)):
        for i in range(length):
            t = unary(b, "RELU", t, shape, f"r{run}_{i}")
        if run < 3:
            t = custom(b, t, shape, f"cut{run}")
    report = engine.analyze(b.model(), "nnapi")
    assert [v.supported for v in report.ops] == [
        True, True, True, True, False, False, False, True, True, True, False, True, True]
    assert report.partitions == 3
    dropped = report.ops[5]
    assert dropped.opcode == "RELU" and len(dropped.reasons) == 1
    r = dropped.reasons[0]
    assert r.text.startswith("only the 3 largest partitions are delegated (max_number_delegated_partitions = 3")
    assert "this one has 1 op(s), and there are 4" in r.text and r.source == NNAPI_SOURCE
    assert report.ops[4].reasons[0].text.startswith("Unsupported operation type. (custom op MyCustomOp")


def _uint8_conv(**kwargs) -> Model:
    b = GraphBuilder()
    x = act(b, "x", [1, 8, 8, 4], "UINT8")
    conv(b, x, [1, 8, 8, 4], 4, dtype="UINT8", **kwargs)
    return b.model()


def test_nnapi_no_per_channel_convolution_before_sdk_29():
    model = _uint8_conv(per_channel=True)
    assert taken(model, "nnapi", api_level=29) == [True]
    assert taken(model, "nnapi", api_level=28) == [False]
    v = verdict(model, "nnapi", 0, api_level=28)
    assert [r.text for r in v.reasons] == [
        "Per-channel quantized convolution not supported before NNAPI 1.2. (input 1 has 4 scales)"]
    assert v.reasons[0].source == NNAPI_VALIDATE + "kTfLiteBuiltinConv2d)"


def test_nnapi_restricted_scales_before_sdk_29():
    """NNAPI 1.0/1.1: input_scale * filter_scale < output_scale for uint8 convolutions."""
    assert taken(_uint8_conv(filter_scale=0.01, out_scale=0.05), "nnapi", api_level=28) == [True]
    model = _uint8_conv(filter_scale=2.0, out_scale=0.05)  # 0.05 * 2.0 = 0.1 >= 0.05
    assert taken(model, "nnapi", api_level=28) == [False]
    assert taken(model, "nnapi", api_level=29) == [True]
    reason_with(verdict(model, "nnapi", 0, api_level=28), "input_scale * filter_scale < output_scale. (ratio 2)")


def test_nnapi_no_hybrid_or_dilated_convolution_before_sdk_29():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    y = conv(b, x, [1, 8, 8, 4], 4, filter_dtype="INT8", name="hybrid")
    conv(b, y, [1, 8, 8, 4], 4, dilation=2, name="dilated")
    model = b.model()
    assert taken(model, "nnapi", api_level=29) == [True, True]
    assert taken(model, "nnapi", api_level=28) == [False, False]
    hybrid = verdict(model, "nnapi", 0, api_level=28)
    assert [r.text for r in hybrid.reasons] == [
        "Hybrid operators not supported before NNAPI 1.2 (float input, INT8 filter)"]
    dilated = verdict(model, "nnapi", 1, api_level=28)
    assert [r.text for r in dilated.reasons] == [
        "NNAPI supports dilated Conv2D since NNAPI 1.2. (dilation_w_factor = 2)",
        "NNAPI supports dilated Conv2D since NNAPI 1.2. (dilation_h_factor = 2)",
    ]


@pytest.mark.parametrize(("bias", "ok"), [(True, True), (None, True), (False, False)])
def test_nnapi_conv_needs_a_bias_slot(bias, ok):
    """Validate tests node->inputs->size == 3: a bias written as -1 passes, a missing slot does not."""
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    conv(b, x, [1, 8, 8, 4], 4, bias=bias)
    model = b.model()
    assert taken(model, "nnapi") == [ok]
    if not ok:
        assert [r.text for r in verdict(model, "nnapi", 0).reasons] == [
            "Conv2D with omitted bias not supported (2 input slots)"]


def test_nnapi_elementwise_rank_at_most_4():
    b = GraphBuilder()
    x = b.tensor("x", [1, 2, 2, 2, 2])
    y = binary(b, "ADD", x, b.constant("k", np.ones((1, 2, 2, 2, 2), np.float32)), [1, 2, 2, 2, 2], "a")
    r = unary(b, "RESHAPE", y, [1, 16], "r")  # no shape input: the shape is the option's
    binary(b, "MUL", r, b.constant("m", np.ones((1, 16), np.float32)), [1, 16], "out")
    model = b.model()
    assert taken(model, "nnapi") == [False, False, True]
    r_add = reason_with(verdict(model, "nnapi", 0), "Input rank must be <= 4 (input 0 has rank 5)")
    assert r_add.source == NNAPI_VALIDATE + "kTfLiteBuiltinAdd)"
    reason_with(verdict(model, "nnapi", 1), "Input rank should be <= 4 (input 0 has rank 5)")


@pytest.mark.parametrize(
    ("rank", "at28", "at29"), [(2, True, True), (3, False, True), (4, True, True), (5, False, False)]
)
def test_nnapi_softmax_ranks(rank, at28, at29):
    b = GraphBuilder()
    shape = [1] * (rank - 1) + [10]
    x = b.tensor("x", shape)
    y = b.tensor("y", shape)
    b.op("SOFTMAX", [x], [y], options=("SoftmaxOptions", {"beta": 1.0}))
    model = b.model()
    assert taken(model, "nnapi", api_level=28) == [at28]
    assert taken(model, "nnapi", api_level=29) == [at29]
    if rank == 3:
        v = verdict(model, "nnapi", 0, api_level=28)
        reason_with(v, "Before API level 29 only 2D and 4D input tensors were supported.")
    if rank == 5:
        reason_with(verdict(model, "nnapi", 0), "Input rank should be <= 4 (input 0 has rank 5)")


def test_nnapi_reshape_needs_a_constant_shape():
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4])
    s = b.tensor("s", [2], "INT32")
    y = b.tensor("y", [1, 16])
    b.op("RESHAPE", [x, s], [y], options=("ReshapeOptions", {}))
    unary(b, "RELU", y, [1, 16], "out")
    model = b.model()
    report = engine.analyze(model, "nnapi")
    # A runtime shape makes the output dynamic: the whole graph is refused, and
    # Validate would refuse the RESHAPE itself.
    assert [v.supported for v in report.ops] == [False, False]
    reshape = report.ops[0]
    assert "only supports static-sized tensors" in reshape.reasons[0].text
    r = reason_with(reshape, "The shape input tensor must be constant.")
    assert r.source == NNAPI_VALIDATE + "kTfLiteBuiltinReshape)"
    assert report.graph_notes


def test_nnapi_reshape_to_rank_5_is_refused():
    b = GraphBuilder()
    x = b.tensor("x", [1, 16])
    y = b.tensor("y", [1, 2, 2, 2, 2])
    b.op("RESHAPE", [x, b.constant("s", np.array([1, 2, 2, 2, 2], np.int32))], [y], options=("ReshapeOptions", {}))
    model = b.model()
    assert taken(model, "nnapi") == [False]
    assert [r.text for r in verdict(model, "nnapi", 0).reasons] == ["Output rank should be <= 4 (output 0 has rank 5)"]


def test_nnapi_concatenation_without_activation():
    b = GraphBuilder()
    x1, x2 = b.tensor("x1", [1, 4]), b.tensor("x2", [1, 4])
    y = b.tensor("y", [1, 8])
    b.op("CONCATENATION", [x1, x2], [y],
         options=("ConcatenationOptions", {"axis": 1, "fusedActivationFunction": "RELU"}))
    z = b.tensor("z", [1, 16])
    b.op("CONCATENATION", [y, y], [z], options=("ConcatenationOptions", {"axis": 1}))
    model = b.model()
    assert taken(model, "nnapi") == [False, True]
    assert [r.text for r in verdict(model, "nnapi", 0).reasons] == ["No activation function supported (RELU)"]


def _resize_bilinear(out_hw: tuple[int, int], **options) -> Model:
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 3])
    y = b.tensor("y", [1, *out_hw, 3])
    b.op("RESIZE_BILINEAR", [x, b.constant("size", np.array(out_hw, np.int32))], [y],
         options=("ResizeBilinearOptions", options))
    return b.model()


def test_nnapi_resize_bilinear_rules_by_sdk():
    square = _resize_bilinear((8, 8))
    assert [taken(square, "nnapi", api_level=level) for level in (27, 28, 29, 30)] == [[True]] * 4
    wide = _resize_bilinear((8, 16))
    assert taken(wide, "nnapi", api_level=28) == [False] and taken(wide, "nnapi", api_level=29) == [True]
    v = verdict(wide, "nnapi", 0, api_level=28)
    reason_with(v, "Require width == height due to driver differences in NNAPI < 1.2")
    aligned = _resize_bilinear((8, 8), alignCorners=True)
    assert taken(aligned, "nnapi", api_level=29) == [False] and taken(aligned, "nnapi", api_level=30) == [True]
    r = reason_with(verdict(aligned, "nnapi", 0, api_level=29), "NNAPI does not support align_corners == true.")
    assert r.source == NNAPI_VALIDATE + "kTfLiteBuiltinResizeBilinear)"


def _dequantize(dtype: str, zero_point: int = 0) -> Model:
    b = GraphBuilder()
    x = b.tensor("x", [1, 8], dtype, scale=0.1, zero_point=zero_point)
    y = b.tensor("y", [1, 8])
    b.op("DEQUANTIZE", [x], [y], version=1 if dtype == "UINT8" else 2)
    return b.model()


def test_nnapi_dequantize_types_by_sdk():
    assert taken(_dequantize("UINT8", 128), "nnapi", api_level=27) == [True]
    int8 = _dequantize("INT8")
    assert taken(int8, "nnapi", api_level=28) == [False] and taken(int8, "nnapi", api_level=29) == [True]
    v = verdict(int8, "nnapi", 0, api_level=28)
    reason_with(v, "Input type not in expected list kTfLiteUInt8 (input 0 is INT8")
    asymmetric = _dequantize("INT8", zero_point=5)
    assert taken(asymmetric, "nnapi", api_level=29) == [False] and taken(asymmetric, "nnapi", api_level=30) == [True]
    r = reason_with(verdict(asymmetric, "nnapi", 0, api_level=29), "only for symmetric quantization")
    assert r.source.startswith(NNAPI_VALIDATE + "kTfLiteBuiltinDequantize")


def _fp16_weights(with_cpu_op: bool) -> Model:
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    w16 = b.constant("w16", np.full((4, 1, 1, 4), 0.5, np.float16))
    w = b.tensor("w", [4, 1, 1, 4])
    b.op("DEQUANTIZE", [w16], [w], version=2)
    y = conv(b, x, [1, 8, 8, 4], 4, name="c", filter_dtype="FLOAT32")
    # Re-point the convolution at the dequantized weights.
    y2 = b.tensor("y2", [1, 8, 8, 4])
    b.op("CONV_2D", [y, w, b.constant("b2", np.zeros(4, np.float32))], [y2],
         options=("Conv2DOptions", {"padding": "SAME", "strideW": 1, "strideH": 1}))
    if with_cpu_op:
        custom(b, y2, [1, 8, 8, 4], "post")
    return b.model()


def test_nnapi_float16_weights_are_taken_only_with_the_whole_graph():
    assert taken(_fp16_weights(with_cpu_op=False), "nnapi") == [True, True, True]
    model = _fp16_weights(with_cpu_op=True)
    assert taken(model, "nnapi") == [False, True, True, False]
    v = verdict(model, "nnapi", 0)
    r = reason_with(v, "DEQUANTIZE of a float16 weight is delegated only when the whole graph is")
    assert "op #3 (MyCustomOp) is not" in r.text
    assert "FP16GraphPartitionHelper" in r.source


def test_nnapi_quantize_to_int8_from_sdk_30():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8])
    y = act(b, "y", [1, 8], "INT8")
    b.op("QUANTIZE", [x], [y], version=2)
    model = b.model()
    assert taken(model, "nnapi", api_level=29) == [False] and taken(model, "nnapi", api_level=30) == [True]
    v = verdict(model, "nnapi", 0, api_level=29)
    assert [r.text for r in v.reasons] == [
        "Output should be kTfLiteUInt8. (output 0 is INT8; int8 from Android SDK 30)"]
    assert taken(model, "nnapi", api_level=28) == [False]
    reason_with(verdict(model, "nnapi", 0, api_level=28), "Android sdk version less than 29")


def test_nnapi_unmapped_ops():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8])
    y = unary(b, "GELU", x, [1, 8], "g")
    custom(b, y, [1, 8], "c")
    model = b.model()
    assert taken(model, "nnapi") == [False, False]
    r = verdict(model, "nnapi", 0).reasons[0]
    assert r.text == "Unsupported operation type. (GELU has no NNAPI mapping)"
    assert r.source == NNAPI_SOURCE + " (NNAPIDelegateKernel::Validate)"


def test_nnapi_unpack_along_the_last_axis_is_refused():
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 2])
    outs = [b.tensor(f"o{i}", [1, 4]) for i in range(2)]
    b.op("UNPACK", [x], outs, options=("UnpackOptions", {"num": 2, "axis": -1}))
    x2 = b.tensor("x2", [2, 4])
    outs2 = [b.tensor(f"p{i}", [4]) for i in range(2)]
    b.op("UNPACK", [x2], outs2, options=("UnpackOptions", {"num": 2, "axis": 0}))
    model = b.model()
    assert taken(model, "nnapi") == [False, True]
    assert [r.text for r in verdict(model, "nnapi", 0).reasons] == [
        "NNAPI does not support axis being the last dimension (axis -1)"]
    assert taken(model, "nnapi", api_level=29) == [False, False]


# ====================================================================== Hexagon


def test_hexagon_quantized_conv_chain_is_taken():
    b = GraphBuilder()
    x = act(b, "x", [1, 8, 8, 4])
    y = conv(b, x, [1, 8, 8, 4], 8, dtype="UINT8", name="c1", activation="RELU6")
    y = depthwise(b, y, [1, 8, 8, 8])
    y = binary(b, "ADD", y, act(b, "skip", [1, 8, 8, 8]), [1, 8, 8, 8], "add", "UINT8", activation="RELU")
    p = act(b, "pool", [1, 1, 1, 8])
    b.op("AVERAGE_POOL_2D", [y], [p], options=("Pool2DOptions", {"padding": "VALID", "strideW": 8, "strideH": 8,
                                                                 "filterWidth": 8, "filterHeight": 8}))
    r = act(b, "flat", [1, 8])
    b.op("RESHAPE", [p, b.constant("shape", np.array([1, 8], np.int32))], [r], options=("ReshapeOptions", {}))
    fc = act(b, "fc", [1, 4])
    b.op("FULLY_CONNECTED", [r, b.constant("fw", np.full((4, 8), 130, np.uint8), "UINT8", scale=0.01, zero_point=128),
                             -1], [fc], options=("FullyConnectedOptions", {}))
    unary(b, "SOFTMAX", fc, [1, 4], "out", "UINT8")
    report = engine.analyze(b.model(), "hexagon")
    assert [v.supported for v in report.ops] == [True] * 7
    assert report.partitions == 1 and report.title == "Hexagon"


def test_hexagon_refuses_float_ops():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 4])
    y = conv(b, x, [1, 8, 8, 4], 4)
    unary(b, "RELU6", y, [1, 8, 8, 4], "out")
    model = b.model()
    report = engine.analyze(model, "hexagon")
    assert [v.supported for v in report.ops] == [False, False]
    for v in report.ops:
        assert [r.text for r in v.reasons] == [
            "input 0 is FLOAT32: the Hexagon delegate runs quantized (uint8/int8) ops only"]
        assert v.reasons[0].source == HEXAGON_UTILS + " (IsNodeSupportedByHexagon, InputsWithCorrectTypes)"


def test_hexagon_refuses_rank_5_tensors():
    b = GraphBuilder()
    x = act(b, "x", [1, 2, 2, 2, 4])
    y = binary(b, "ADD", x, act(b, "x2", [1, 2, 2, 2, 4]), [1, 2, 2, 2, 4], "a", "UINT8")
    r = act(b, "r", [1, 8, 4])
    b.op("RESHAPE", [y, b.constant("shape", np.array([1, 8, 4], np.int32))], [r], options=("ReshapeOptions", {}))
    y = binary(b, "ADD", r, act(b, "x3", [1, 8, 4]), [1, 8, 4], "b", "UINT8")
    binary(b, "MUL", y, act(b, "x4", [1, 8, 4]), [1, 8, 4], "out", "UINT8")
    model = b.model()
    assert taken(model, "hexagon") == [False, False, True, True]
    v = verdict(model, "hexagon", 0)
    assert [r.text for r in v.reasons] == [
        "input 0 has rank 5 [1,2,2,2,4]; the Hexagon delegate takes tensors of at most 4 dimensions"]
    assert v.reasons[0].source == HEXAGON_UTILS + " (IsNodeSupportedByHexagon)"
    reason_with(verdict(model, "hexagon", 1), "has rank 5")


@pytest.mark.parametrize(("stride", "ok"), [(3, True), (4, False)])
def test_hexagon_conv_stride_at_most_3(stride, ok):
    b = GraphBuilder()
    x = act(b, "x", [1, 16, 16, 4])
    y = conv(b, x, [1, 16, 16, 4], 4, dtype="UINT8", stride=stride)
    s = -(-16 // stride)
    unary(b, "RELU6", y, [1, s, s, 4], "out", "UINT8")
    model = b.model()
    assert taken(model, "hexagon") == [ok, ok]
    if not ok:
        v = verdict(model, "hexagon", 0)
        assert [r.text for r in v.reasons] == [
            "stride 4 along the width: Hexagon convolutions take strides up to 3",
            "stride 4 along the height: Hexagon convolutions take strides up to 3",
        ]
        assert v.reasons[0].source == HEXAGON_UTILS + " (IsNodeSupportedByHexagon: Conv2d)"
        # The RELU6 left alone is a one-op partition.
        reason_with(verdict(model, "hexagon", 1), "needs at least 2 ops per graph")


def test_hexagon_conv_without_dilation():
    b = GraphBuilder()
    x = act(b, "x", [1, 8, 8, 4])
    y = conv(b, x, [1, 8, 8, 4], 4, dtype="UINT8", dilation=2)
    unary(b, "RELU6", y, [1, 8, 8, 4], "out", "UINT8")
    model = b.model()
    assert taken(model, "hexagon") == [False, False]
    reason_with(verdict(model, "hexagon", 0), "dilation 2 along the width: the Hexagon CONV_2D has no dilation")


def test_hexagon_refuses_sum():
    b = GraphBuilder()
    x = act(b, "x", [1, 8, 8, 4])
    y = unary(b, "RELU6", x, [1, 8, 8, 4], "r", "UINT8")
    s = act(b, "s", [1, 4])
    b.op("SUM", [y, b.constant("axes", np.array([1, 2], np.int32))], [s], options=("ReducerOptions", {}))
    unary(b, "RELU6", s, [1, 4], "r2", "UINT8")
    model = b.model()
    assert taken(model, "hexagon") == [False, False, False]
    v = verdict(model, "hexagon", 1)
    assert [r.text for r in v.reasons] == [
        "SUM is disabled in the Hexagon delegate (it recomputes the output range instead of using the "
        "quantization parameters, b/139277813)"]
    assert v.reasons[0].source == HEXAGON_UTILS + " (IsNodeSupportedByHexagon: Sum)"


def test_hexagon_leaves_a_single_op_partition_to_the_cpu():
    b = GraphBuilder()
    x = act(b, "x", [1, 8, 8, 4])
    conv(b, x, [1, 8, 8, 4], 4, dtype="UINT8")
    report = engine.analyze(b.model(), "hexagon")
    assert [v.supported for v in report.ops] == [False]
    assert report.partitions == 0
    r = report.ops[0].reasons
    assert [x.text for x in r] == [
        "a partition of 1 op(s) stays on the CPU: the Hexagon delegate needs at least 2 ops per graph "
        "(kMinNodesPerHexagonGraph)"]
    assert r[0].source == HEXAGON_DELEGATE


def test_hexagon_keeps_the_4_largest_partitions():
    # Runs of 2, 5, 3, 4 and 6 taken uint8 ops between custom ops: the run of 2 is dropped.
    b = GraphBuilder()
    shape = [1, 8]
    t = act(b, "x", shape)
    lengths = (2, 5, 3, 4, 6)
    for run, length in enumerate(lengths):
        for i in range(length):
            t = unary(b, "RELU6", t, shape, f"r{run}_{i}", "UINT8")
        if run < len(lengths) - 1:
            t = custom(b, t, shape, f"cut{run}", "UINT8")
    report = engine.analyze(b.model(), "hexagon")
    assert [v.supported for v in report.ops] == [False, False, False] + [True] * 5 + [False] + [True] * 3 + [False] + \
        [True] * 4 + [False] + [True] * 6
    assert report.partitions == 4
    r = reason_with(report.ops[0], "only the 4 largest partitions become Hexagon graphs (kMaxHexagonGraphs = 4)")
    assert "this one has 2 op(s), and there are 5" in r.text and r.source == HEXAGON_DELEGATE


@pytest.mark.parametrize(("multiplier", "channels", "kernel", "stride", "dilation", "words"), [
    (1, 8, 3, 1, 1, None),
    (1, 8, 3, 3, 1, None),
    (2, 1, 3, 1, 1, None),   # depth_multiplier > 1 is fine on a 1-channel input
    (2, 8, 3, 1, 1, "depth_multiplier 2 is supported only without dilation on a 1-channel input"),
    (1, 8, 3, 2, 2, "dilation needs stride 1 on Hexagon (stride 2x2)"),
    (1, 8, 3, 1, 2, None),
    (1, 8, 1, 1, 1, "filter height 1: Hexagon needs a filter at least 2 high"),
    (1, 8, 3, 4, 1, "stride 4 along the width: Hexagon convolutions take strides up to 3"),
])
def test_hexagon_depthwise_rules(multiplier, channels, kernel, stride, dilation, words):
    b = GraphBuilder()
    x = act(b, "x", [1, 8, 8, channels])
    y = depthwise(b, x, [1, 8, 8, channels], multiplier=multiplier, stride=stride, dilation=dilation, kernel=kernel)
    s = -(-8 // stride)
    unary(b, "RELU6", y, [1, s, s, channels * multiplier], "out", "UINT8")
    model = b.model()
    ok = words is None
    assert taken(model, "hexagon") == [ok, ok]
    if not ok:
        r = reason_with(verdict(model, "hexagon", 0), words)
        assert r.source == HEXAGON_UTILS + " (IsNodeSupportedByHexagon: DepthwiseConv2d)"


def _hexagon_fc(*, per_channel: bool = False, runtime_bias: bool = False, keep_num_dims: bool = False) -> Model:
    b = GraphBuilder()
    x = act(b, "x", [1, 8])
    scale = [0.01, 0.02, 0.03, 0.04] if per_channel else 0.01
    zp = [128] * 4 if per_channel else 128
    w = b.constant("w", np.full((4, 8), 130, np.uint8), "UINT8", scale=scale, zero_point=zp, axis=0)
    bias = b.tensor("bias", [4], "INT32", scale=0.0005) if runtime_bias else b.constant(
        "bias", np.zeros(4, np.int32), "INT32", scale=0.0005)
    y = act(b, "y", [1, 4])
    b.op("FULLY_CONNECTED", [x, w, bias], [y], options=("FullyConnectedOptions", {"keepNumDims": keep_num_dims}))
    unary(b, "RELU6", y, [1, 4], "out", "UINT8")
    return b.model()


@pytest.mark.parametrize(("kwargs", "text"), [
    ({}, None),
    ({"per_channel": True}, "the weights (input 1) are quantized per channel (4 scales) or blockwise: "
                            "Hexagon's MatMul needs one scale"),
    ({"runtime_bias": True}, "the bias (input 2) must be a constant"),
    ({"keep_num_dims": True}, "keep_num_dims = true is not supported"),
])
def test_hexagon_fully_connected_rules(kwargs, text):
    model = _hexagon_fc(**kwargs)
    ok = text is None
    assert taken(model, "hexagon") == [ok, ok]
    if not ok:
        v = verdict(model, "hexagon", 0)
        assert [r.text for r in v.reasons] == [text]
        assert v.reasons[0].source == HEXAGON_UTILS + " (IsNodeSupportedByHexagon: FullyConnected)"


@pytest.mark.parametrize(("padding", "size", "ok"), [("SAME", 12, True), ("SAME", 13, False), ("VALID", 13, True)])
def test_hexagon_max_pool_same_padding_filter_below_13(padding, size, ok):
    b = GraphBuilder()
    x = act(b, "x", [1, 16, 16, 4])
    y = unary(b, "RELU6", x, [1, 16, 16, 4], "r", "UINT8")
    out = 16 if padding == "SAME" else 16 - size + 1
    p = act(b, "p", [1, out, out, 4])
    b.op("MAX_POOL_2D", [y], [p], options=("Pool2DOptions", {
        "padding": padding, "strideW": 1, "strideH": 1, "filterWidth": size, "filterHeight": size}))
    model = b.model()
    assert taken(model, "hexagon") == [ok, ok]
    if not ok:
        v = verdict(model, "hexagon", 1)
        assert [r.text for r in v.reasons] == [
            "SAME padding with a 13x13 filter: the Hexagon MAX_POOL_2D is disabled for SAME filters of 13 or more"]


@pytest.mark.parametrize(("version", "ok", "words", "source"), [
    (1, False, "version 1 of RELU is not supported by the Hexagon delegate (CheckOpVersion accepts only version 2)",
     HEXAGON_UTILS + " (IsNodeSupportedByHexagon: Relu)"),
    (2, True, None, None),
    (3, False, "version 3 of RELU is not supported by the Hexagon delegate (at most 2, CheckOpVersion)",
     HEXAGON_UTILS + " (CheckOpVersion)"),
])
def test_hexagon_relu_needs_version_2(version, ok, words, source):
    b = GraphBuilder()
    x = act(b, "x", [1, 8], "INT8")
    y = unary(b, "RELU", x, [1, 8], "r", "INT8", version=version)
    unary(b, "TANH", y, [1, 8], "out", "INT8", version=2)
    model = b.model()
    assert taken(model, "hexagon") == [ok, ok]
    if not ok:
        v = verdict(model, "hexagon", 0)
        assert [r.text for r in v.reasons] == [words]
        assert v.reasons[0].source == source


def test_hexagon_quantize_only_requantizes():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8])
    y = act(b, "y", [1, 8], "UINT8")
    b.op("QUANTIZE", [x], [y])
    z = act(b, "z", [1, 8], "UINT8", scale=0.1, zero_point=128)
    b.op("QUANTIZE", [y], [z])
    unary(b, "RELU6", z, [1, 8], "out", "UINT8")
    model = b.model()
    assert taken(model, "hexagon") == [False, True, True]
    reason_with(
        verdict(model, "hexagon", 0), "input 0 is FLOAT32: the Hexagon delegate runs quantized (uint8/int8) ops"
    )


def test_hexagon_refuses_graphs_with_dynamic_tensors():
    b = GraphBuilder()
    x = act(b, "x", [1, 8])
    y = unary(b, "RELU6", x, [1, 8], "r", "UINT8")
    s = b.tensor("s", [2], "INT32")
    z = act(b, "z", [2, 4])
    b.op("RESHAPE", [y, s], [z], options=("ReshapeOptions", {}))
    unary(b, "RELU6", z, [2, 4], "out", "UINT8")
    report = engine.analyze(b.model(), "hexagon")
    assert [v.supported for v in report.ops] == [False, False, False]
    assert "Hexagon only supports static-sized tensors" in report.ops[0].reasons[0].text
    assert tables.load_rules("hexagon")["delegate"]["dynamic_tensors"] is False


# ====================================================================== the tables, the real models


@pytest.mark.parametrize("delegate", ["nnapi", "hexagon"])
def test_every_rule_names_its_source_and_an_existing_special(delegate):
    rules = tables.load_rules(delegate)
    assert rules["delegate"]["key"] == delegate
    for entry in rules["op"]:
        assert entry["source"].startswith(f"tflite/delegates/{delegate}/"), entry["opcodes"]
        for check in entry.get("checks", []):
            if check["check"] == "special":
                assert check["name"] in context.SPECIAL_CHECKS, (entry["opcodes"], check["name"])
    for check in rules.get("all_ops", []):
        assert check["source"].startswith(f"tflite/delegates/{delegate}/")


@needs_shared
@pytest.mark.parametrize("path", real_model_paths(), ids=model_id)
def test_nnapi_and_hexagon_on_every_real_model(path):
    try:
        model = read_model(path)
    except ModelError as e:
        pytest.skip(f"unreadable: {e}")
    with model:
        n_ops = sum(len(sg.operators) for sg in model.subgraphs)
        for delegate, level in (("nnapi", 27), ("nnapi", 29), ("nnapi", 30), ("hexagon", 30)):
            report = engine.analyze(model, delegate, DelegateSettings(level))
            assert report.ops_total == n_ops
            for v in report.ops:
                assert v.supported == (not v.reasons)
                assert all(r.text and r.source for r in v.reasons), (delegate, level, v)
