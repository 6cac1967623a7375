"""The GPU delegate's rule table (resources/delegates/gpu.toml), rule by rule.

No GPU runs here, so each rule gets the smallest model that exercises it, built
with GraphBuilder, and the test asserts the exact verdict, the reason's words
(the runtime's own message where it has one) and where the rule comes from.
The corpus test then checks that the table runs on every real model and pins a
few verdicts that follow from the rules.
"""

from __future__ import annotations

import numpy as np
import pytest

from tflite_inspector.core.delegates import context, engine, tables
from tflite_inspector.core.reading.reader import read_model

from .conftest import model_id, needs_shared, real_model_paths, shared_model
from .graph_builder import GraphBuilder

MODEL_BUILDER = "tflite/delegates/gpu/common/model_builder.cc"
GPU_COMPATIBILITY = "tflite/tools/versioning/gpu_compatibility.cc"
CONV = ("Conv2DOptions", {"strideW": 1, "strideH": 1, "padding": "SAME"})


def _gpu(b: GraphBuilder) -> engine.DelegateReport:
    return engine.analyze(b.model(), "gpu")


def _verdicts(report: engine.DelegateReport) -> list[tuple[str, bool]]:
    return [(v.opcode, v.supported) for v in report.ops]


def _only_reason(report: engine.DelegateReport, index: int) -> tables.Reason:
    verdict = report.verdict(0, index)
    assert verdict is not None and not verdict.supported
    assert len(verdict.reasons) == 1, verdict.reasons
    return verdict.reasons[0]


def _conv(b: GraphBuilder, x: int, channels_in: int, channels_out: int, name: str, **options) -> int:
    w = b.constant(f"{name}_w", np.ones((channels_out, 3, 3, channels_in), np.float32))
    bias = b.constant(f"{name}_b", np.zeros(channels_out, np.float32))
    y = b.tensor(name, [1, 8, 8, channels_out])
    b.op(
        "CONV_2D",
        [x, w, bias],
        [y],
        version=options.pop("version", 1),
        options=("Conv2DOptions", {**CONV[1], **options}),
    )
    return y


# ------------------------------------------------------------------ the table


def test_table_is_the_gpu_delegate():
    meta = tables.load_rules("gpu")["delegate"]
    assert (meta["key"], meta["title"], meta["max_partitions"], meta["dynamic_tensors"]) == ("gpu", "GPU", 1, False)
    assert meta["unknown_op_reason"] == "Not supported op {opcode}"
    for entry in tables.load_rules("gpu")["op"]:
        for check in entry.get("checks", []):
            assert check["check"] in context.CHECKS
            if check["check"] == "special":
                assert check["name"] in context.SPECIAL_CHECKS


# ------------------------------------------------------------------ whole-op rules


def test_conv3d_on_5d_tensors_is_not_a_gpu_op():
    # TensorFlow's Analyzer calls this model GPU-compatible; the delegate has no CONV_3D parser.
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 8, 8, 3])
    w = b.constant("w", np.ones((3, 3, 3, 3, 4), np.float32))
    y = b.tensor("y", [1, 4, 8, 8, 4])
    b.op("CONV_3D", [x, w], [y], options=("Conv3DOptions", {"strideD": 1, "strideW": 1, "strideH": 1}))
    report = _gpu(b)
    reason = _only_reason(report, 0)
    assert reason.text == "Not supported op CONV_3D"
    assert reason.source.startswith(MODEL_BUILDER) and "NewOperationParser" in reason.source
    assert report.ops_supported == 0 and report.partitions == 0


def test_supported_op_on_a_5d_tensor_is_refused_by_the_rank_rule():
    b = GraphBuilder()
    x = b.tensor("x", [1, 2, 4, 4, 3])
    y = b.tensor("y", [1, 2, 4, 4, 3])
    b.op("LOGISTIC", [x], [y])
    reason = _only_reason(_gpu(b), 0)
    assert "tensor type/shape isn't compatible" in reason.text
    assert "input 0 has rank 5 [1,2,4,4,3]" in reason.text
    assert reason.source == f"{MODEL_BUILDER} (GetOpsToReplace, IsAllAllowedTensors)"


def test_rank_rule_applies_to_constants_too():
    # IsAllAllowedTensors looks at every input's dims before asking whether it is a constant.
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 3])
    c = b.constant("c", np.ones((1, 1, 1, 1, 3), np.float32))
    y = b.tensor("y", [1, 4, 4, 3])
    b.op("SUB", [x, c], [y], options=("SubOptions", {}))
    assert "input 1 has rank 5" in _only_reason(_gpu(b), 0).text


def test_conv2d_version_cap():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    y = _conv(b, x, 3, 4, "y", version=6)
    _conv(b, y, 4, 4, "z", version=7)
    report = _gpu(b)
    assert _verdicts(report) == [("CONV_2D", True), ("CONV_2D", False)]
    reason = _only_reason(report, 1)
    assert reason.text == "Max version supported: 6. Requested version 7."
    assert reason.source == f"{MODEL_BUILDER} (Conv2DOperationParser)"


def test_sign_bit_activation_is_refused():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    _conv(b, x, 3, 4, "y", fusedActivationFunction="SIGN_BIT")
    reason = _only_reason(_gpu(b), 0)
    assert reason.text == "TfLiteFusedActivation.kTfLiteActSignBit"
    assert reason.source == f"{GPU_COMPATIBILITY} (IsActivationSupported)"


@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH"])
def test_other_fused_activations_pass(activation):
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    _conv(b, x, 3, 4, "y", fusedActivationFunction=activation)
    assert _verdicts(_gpu(b)) == [("CONV_2D", True)]


def test_unknown_custom_op():
    b = GraphBuilder()
    x = b.tensor("x", [1, 4])
    y = b.tensor("y", [1, 4])
    b.op("MyCustomOp", [x], [y])
    assert _only_reason(_gpu(b), 0).text == "Not supported custom op MyCustomOp"


def test_known_custom_op_max_unpooling():
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 3])
    indices = b.tensor("indices", [1, 4, 4, 3])
    y = b.tensor("y", [1, 8, 8, 3])
    b.op("MaxUnpooling2D", [x, indices], [y])
    assert _verdicts(_gpu(b)) == [("MaxUnpooling2D", True)]


def test_resampler_needs_two_warp_channels():
    b = GraphBuilder()
    src = b.tensor("src", [1, 8, 8, 3])
    warp = b.tensor("warp", [1, 8, 8, 1])
    y = b.tensor("y", [1, 8, 8, 3])
    b.op("Resampler", [src, warp], [y])
    assert _only_reason(_gpu(b), 0).text == "warp.c < 2"


# ------------------------------------------------------------------ tensor types


def test_runtime_int32_tensor_is_refused_but_int8_is_taken():
    b = GraphBuilder()
    a = b.tensor("a", [1, 4, 4, 3], "INT32")
    c = b.tensor("c", [1, 4, 4, 3], "INT32")
    y = b.tensor("y", [1, 4, 4, 3], "INT32")
    b.op("ADD", [a, c], [y], options=("AddOptions", {}))
    q = b.tensor("q", [1, 4, 4, 3], "INT8", scale=0.1)
    r = b.tensor("r", [1, 4, 4, 3], "INT8", scale=0.1)
    z = b.tensor("z", [1, 4, 4, 3], "INT8", scale=0.2)
    b.op("ADD", [q, r], [z], options=("AddOptions", {}))
    report = _gpu(b)
    assert _verdicts(report) == [("ADD", False), ("ADD", True)]
    texts = [r.text for r in report.verdict(0, 0).reasons]
    assert texts[0].startswith("OP is supported, but tensor type/shape isn't compatible: input 0 is INT32")
    assert any("output 0 is INT32" in t for t in texts)


def test_gather_takes_int32_runtime_indices():
    b = GraphBuilder()
    params = b.tensor("params", [1, 8, 4])
    indices = b.tensor("indices", [3], "INT32")
    y = b.tensor("y", [1, 3, 4])
    b.op("GATHER", [params, indices], [y], options=("GatherOptions", {"axis": 1}))
    assert _verdicts(_gpu(b)) == [("GATHER", True)]


def test_gather_needs_1d_indices():
    b = GraphBuilder()
    params = b.tensor("params", [8, 4])
    indices = b.constant("indices", np.zeros((2, 3), np.int32))
    y = b.tensor("y", [2, 3, 4])
    b.op("GATHER", [params, indices], [y], options=("GatherOptions", {"axis": 0}))
    reason = _only_reason(_gpu(b), 0)
    assert reason.text == "Only support 1D indices"
    assert reason.source == f"{GPU_COMPATIBILITY} (kTfLiteBuiltinGather)"


# ------------------------------------------------------------------ per-op rules


def test_softmax_beta():
    b = GraphBuilder()
    x = b.tensor("x", [1, 10])
    y = b.tensor("y", [1, 10])
    b.op("SOFTMAX", [x], [y], options=("SoftmaxOptions", {"beta": 1.0}))
    z = b.tensor("z", [1, 10])
    b.op("SOFTMAX", [y], [z], options=("SoftmaxOptions", {"beta": 2.0}))
    report = _gpu(b)
    assert _verdicts(report) == [("SOFTMAX", True), ("SOFTMAX", False)]
    reason = _only_reason(report, 1)
    assert reason.text == "Softmax.beta != 1 is not supported."
    assert reason.source == f"{GPU_COMPATIBILITY} (kTfLiteBuiltinSoftmax)"


@pytest.mark.parametrize("mode, taken", [("REFLECT", True), ("SYMMETRIC", False)])
def test_mirror_pad_reflect_only(mode, taken):
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    paddings = b.constant("paddings", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))
    y = b.tensor("y", [1, 10, 10, 3])
    b.op("MIRROR_PAD", [x, paddings], [y], options=("MirrorPadOptions", {"mode": mode}))
    report = _gpu(b)
    assert _verdicts(report) == [("MIRROR_PAD", taken)]
    if not taken:
        reason = _only_reason(report, 0)
        assert reason.text == "Only Reflective padding is supported for Mirror Pad operation. But node has SYMMETRIC"
        assert reason.source == f"{GPU_COMPATIBILITY} (kTfLiteBuiltinMirrorPad)"


def test_pad_needs_4x2_or_3x2_paddings():
    b = GraphBuilder()
    x = b.tensor("x", [8, 3])
    paddings = b.constant("paddings", np.array([[1, 1], [0, 0]], np.int32))
    y = b.tensor("y", [10, 3])
    b.op("PAD", [x, paddings], [y])
    assert _only_reason(_gpu(b), 0).text == "Invalid paddings tensor shape: expected 4x2 or 3x2, got 2x2"


@pytest.mark.parametrize(
    "align_corners, half_pixel_centers, taken",
    [(False, False, True), (True, False, True), (False, True, True), (True, True, False)],
)
def test_resize_bilinear_align_corners_with_half_pixel_centers(align_corners, half_pixel_centers, taken):
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    size = b.constant("size", np.array([16, 16], np.int32))
    y = b.tensor("y", [1, 16, 16, 3])
    options = {"alignCorners": align_corners, "halfPixelCenters": half_pixel_centers}
    b.op("RESIZE_BILINEAR", [x, size], [y], options=("ResizeBilinearOptions", options))
    report = _gpu(b)
    assert _verdicts(report) == [("RESIZE_BILINEAR", taken)]
    if not taken:
        reason = _only_reason(report, 0)
        assert reason.text == "If half_pixel_centers is True, align_corners must be False."
        assert reason.source == f"{GPU_COMPATIBILITY} (kTfLiteBuiltinResizeBilinear)"


def _depthwise(channels_in: int, channels_out: int, multiplier: int) -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, channels_in])
    w = b.constant("w", np.ones((1, 3, 3, channels_out), np.float32))
    bias = b.constant("bias", np.zeros(channels_out, np.float32))
    y = b.tensor("y", [1, 8, 8, channels_out])
    options = {"strideW": 1, "strideH": 1, "padding": "SAME", "depthMultiplier": multiplier}
    b.op("DEPTHWISE_CONV_2D", [x, w, bias], [y], options=("DepthwiseConv2DOptions", options))
    return b


def test_depthwise_any_multiplier_that_matches_the_channels():
    # A multiplier above 1 with several input channels: no rule in the GPU source refuses it.
    assert _verdicts(_gpu(_depthwise(4, 8, 2))) == [("DEPTHWISE_CONV_2D", True)]
    assert _verdicts(_gpu(_depthwise(4, 4, 1))) == [("DEPTHWISE_CONV_2D", True)]


def test_depthwise_multiplier_must_match_the_channels():
    reason = _only_reason(_gpu(_depthwise(4, 8, 1)), 0)
    assert reason.text == "output.c != input.c * depth_multiplier (8 != 4 * 1)"
    assert reason.source == f"{GPU_COMPATIBILITY} (CheckDepthwiseConvGpuDelegateCompatibility)"


def test_add_broadcast_as_the_runtime_checks_it():
    # kStandard broadcast: 3-D into 4-D of batch 1 works; 2-D [h, c] into 4-D does not (only [1, 1] or [b, c]).
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    c3 = b.tensor("c3", [8, 8, 3])
    y = b.tensor("y", [1, 8, 8, 3])
    b.op("ADD", [x, c3], [y], options=("AddOptions", {}))
    c2 = b.tensor("c2", [8, 3])
    z = b.tensor("z", [1, 8, 8, 3])
    b.op("ADD", [y, c2], [z], options=("AddOptions", {}))
    report = _gpu(b)
    assert [v.supported for v in report.ops] == [True, False]
    assert _only_reason(report, 1).text == "Doesn't support broadcasting - input0: [1,8,8,3], input1: [8,3]"


def test_pooling_needs_one_runtime_input():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    y = b.tensor("y", [1, 4, 4, 3])
    pool = {"strideW": 2, "strideH": 2, "filterWidth": 2, "filterHeight": 2, "padding": "VALID"}
    b.op("MAX_POOL_2D", [x], [y], options=("Pool2DOptions", pool))
    c = b.constant("c", np.ones((1, 8, 8, 3), np.float32))
    z = b.tensor("z", [1, 4, 4, 3])
    b.op("AVERAGE_POOL_2D", [c], [z], options=("Pool2DOptions", pool))
    report = _gpu(b)
    assert [v.supported for v in report.ops] == [True, False]
    assert _only_reason(report, 1).text == "Expected 1 runtime input tensor(s), but node has 0 runtime input(s)."


def test_fully_connected_rules():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8])
    w = b.constant("w", np.ones((4, 8), np.float32))
    y = b.tensor("y", [1, 4])
    b.op("FULLY_CONNECTED", [x, w, -1], [y], options=("FullyConnectedOptions", {}))
    c = b.constant("c", np.ones((1, 8), np.float32))
    z = b.tensor("z", [1, 4])
    b.op("FULLY_CONNECTED", [c, w, -1], [z], options=("FullyConnectedOptions", {}))
    x3 = b.tensor("x3", [2, 3, 8])
    k = b.tensor("k", [6, 4])
    b.op("FULLY_CONNECTED", [x3, w, -1], [k], options=("FullyConnectedOptions", {"keepNumDims": True}))
    s = b.tensor("s", [1, 4])
    b.op("FULLY_CONNECTED", [x, w, -1], [s], options=("FullyConnectedOptions", {"weightsFormat": "SHUFFLED4x16INT8"}))
    report = _gpu(b)
    assert [v.supported for v in report.ops] == [True, False, False, False]
    assert _only_reason(report, 1).text == "FullyConnected doesn't support constant input."
    assert _only_reason(report, 2).text == (
        "Input and output dimensions different and FullyConnected doesn't support keep_num_dims."
    )
    assert _only_reason(report, 3).text == "Unsupported FullyConnected weights format: SHUFFLED4x16INT8"


def test_mean_needs_constant_int32_axes():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    axes = b.constant("axes", np.array([1, 2], np.int32))
    y = b.tensor("y", [1, 3])
    b.op("MEAN", [x, axes], [y], options=("ReducerOptions", {}))
    axes64 = b.constant("axes64", np.array([1, 2], np.int64))
    z = b.tensor("z", [1, 3])
    b.op("MEAN", [x, axes64], [z], options=("ReducerOptions", {}))
    runtime_axes = b.tensor("runtime_axes", [2], "INT32")
    w = b.tensor("w", [1, 3])
    b.op("MEAN", [x, runtime_axes], [w], options=("ReducerOptions", {}))
    report = _gpu(b)
    assert [v.supported for v in report.ops] == [True, False, False]
    assert _only_reason(report, 1).text == "MEAN supports int32 tensor for axes. But node has INT64"
    # The count is what the runtime checks first; the int32 runtime tensor also fails the type rule.
    texts = [r.text for r in report.verdict(0, 2).reasons]
    assert "Expected 1 const input tensor(s), but node has 0 const input(s)." in texts


def test_strided_slice_masks_and_rank():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    begin = b.constant("begin", np.zeros(4, np.int32))
    end = b.constant("end", np.array([1, 4, 4, 3], np.int32))
    strides = b.constant("strides", np.ones(4, np.int32))
    y = b.tensor("y", [1, 4, 4, 3])
    b.op("STRIDED_SLICE", [x, begin, end, strides], [y], options=("StridedSliceOptions", {}))
    z = b.tensor("z", [4, 4, 3])
    b.op("STRIDED_SLICE", [x, begin, end, strides], [z], options=("StridedSliceOptions", {"shrinkAxisMask": 1}))
    report = _gpu(b)
    assert [v.supported for v in report.ops] == [True, False]
    reason = _only_reason(report, 1)
    assert reason.text == "StridedSlice does not support shrink_axis_mask."
    assert reason.source == f"{GPU_COMPATIBILITY} (kTfLiteBuiltinStridedSlice)"


def test_slice_rank_3_or_4():
    b = GraphBuilder()
    x = b.tensor("x", [8, 3])
    begin = b.constant("begin", np.zeros(2, np.int32))
    size = b.constant("size", np.array([4, 3], np.int32))
    y = b.tensor("y", [4, 3])
    b.op("SLICE", [x, begin, size], [y])
    assert _only_reason(_gpu(b), 0).text == (
        "SLICE supports for 3 or 4 dimensional tensors only, but node has 2 dimensional tensors."
    )


def test_comparison_only_feeding_a_cast_to_float():
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 4, 3])
    c = b.constant("c", np.zeros((1, 1, 1, 3), np.float32))
    mask = b.tensor("mask", [1, 4, 4, 3], "BOOL")
    b.op("GREATER", [x, c], [mask])
    y = b.tensor("y", [1, 4, 4, 3])
    b.op("CAST", [mask], [y])
    z = b.tensor("z", [1, 4, 4, 3])
    b.op("RELU", [y], [z])
    # The same comparison whose bool result is a graph output stays on the CPU.
    mask2 = b.tensor("mask2", [1, 4, 4, 3], "BOOL")
    b.op("LESS", [z, c], [mask2])
    report = _gpu(b)
    assert [v.supported for v in report.ops] == [True, True, True, False]
    assert _only_reason(report, 3).text == "Not supported logical op case"


def test_cast_types():
    b = GraphBuilder()
    i = b.tensor("i", [1, 4], "INT32")
    f = b.tensor("f", [1, 4])
    b.op("CAST", [i], [f])
    u = b.tensor("u", [1, 4], "UINT8")
    g = b.tensor("g", [1, 4])
    b.op("CAST", [u], [g])
    report = _gpu(b)
    assert [v.supported for v in report.ops] == [True, False]
    assert _only_reason(report, 1).text == "Not supported Cast case. Input type: UINT8 and output type: FLOAT32"


def test_unary_op_with_a_constant_input_is_refused():
    b = GraphBuilder()
    c = b.constant("c", np.ones((1, 4), np.float32))
    y = b.tensor("y", [1, 4])
    b.op("EXP", [c], [y])
    assert _only_reason(_gpu(b), 0).text == "Expected 0 const input tensor(s), but node has 1 const input(s)."


def test_ops_without_a_runtime_parser_are_refused():
    # The offline checker accepts CEIL; NewOperationParser has no parser for it.
    b = GraphBuilder()
    x = b.tensor("x", [1, 4])
    y = b.tensor("y", [1, 4])
    b.op("CEIL", [x], [y])
    assert _only_reason(_gpu(b), 0).text == "Not supported op CEIL"


# ------------------------------------------------------------------ float16 weights


def _fp16_conv(then_unsupported: bool) -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    w16 = b.constant("w16", np.ones((4, 3, 3, 3), np.float16))
    w = b.tensor("w", [4, 3, 3, 3])
    b.op("DEQUANTIZE", [w16], [w])
    bias16 = b.constant("bias16", np.zeros(4, np.float16))
    bias = b.tensor("bias", [4])
    b.op("DEQUANTIZE", [bias16], [bias])
    y = b.tensor("y", [1, 8, 8, 4])
    b.op("CONV_2D", [x, w, bias], [y], options=CONV)
    if then_unsupported:
        z = b.tensor("z", [1, 8, 8, 4])
        b.op("CEIL", [y], [z])
    return b


def test_fp16_weights_full_delegation():
    # The DEQUANTIZE outputs count as constants: CONV_2D has one runtime input, not three.
    report = _gpu(_fp16_conv(then_unsupported=False))
    assert _verdicts(report) == [("DEQUANTIZE", True), ("DEQUANTIZE", True), ("CONV_2D", True)]
    assert report.partitions == 1


def test_fp16_dequantize_stays_on_the_cpu_in_partial_delegation():
    report = _gpu(_fp16_conv(then_unsupported=True))
    assert _verdicts(report) == [("DEQUANTIZE", False), ("DEQUANTIZE", False), ("CONV_2D", True), ("CEIL", False)]
    reason = _only_reason(report, 0)
    assert reason.text == (
        "float16 constant DEQUANTIZE is delegated only when the whole graph is;"
        " op #3 (CEIL) is not, so it runs on the CPU"
    )
    assert reason.source == "tflite/delegates/utils.cc (FP16GraphPartitionHelper)"


# ------------------------------------------------------------------ partitions and graphs


def test_float_conv_chain_is_one_partition():
    b = GraphBuilder()
    y = b.tensor("x", [1, 8, 8, 3])
    channels = 3
    for k in range(4):
        y = _conv(b, y, channels, 8, f"c{k}", fusedActivationFunction="RELU6")
        channels = 8
    report = _gpu(b)
    assert (report.ops_supported, report.ops_total, report.partitions) == (4, 4, 1)


def test_only_the_largest_partition_is_delegated():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    a = _conv(b, x, 3, 4, "a")
    c = b.tensor("c", [1, 8, 8, 4])
    b.op("CEIL", [a], [c])  # no GPU parser: splits the graph
    y = c
    for k in range(3):
        y = _conv(b, y, 4, 4, f"d{k}")
    report = _gpu(b)
    assert _verdicts(report) == [("CONV_2D", False), ("CEIL", False)] + [("CONV_2D", True)] * 3
    assert report.partitions == 1
    reason = _only_reason(report, 0)
    assert reason.text == (
        "only the largest partition runs on the GPU (max_delegated_partitions = 1 by default, delegate_options.cc); "
        "this partition of 1 op(s) is one of 2 and stays on the CPU"
    )
    assert reason.source == MODEL_BUILDER


def test_data_dependent_reshape_refuses_the_whole_graph():
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    a = _conv(b, x, 3, 4, "a")
    shape = b.tensor("shape", [2], "INT32")  # a graph input: the new shape is known only at run time
    r = b.tensor("r", [64, 4])
    b.op("RESHAPE", [a, shape], [r])
    report = _gpu(b)
    assert report.ops_supported == 0
    graph = tables.load_rules(tables.GRAPH_RULES)["dynamic"]
    for v in report.ops:
        assert v.reasons[0].source == graph["source"]
        assert v.reasons[0].text.startswith(
            "GPU only supports static-sized tensors, and tensor r gets its size at run time"
        )
    assert any(
        "Attempting to use a delegate that only supports static-sized tensors" in n.text for n in report.graph_notes
    )


# ------------------------------------------------------------------ real models


@needs_shared
@pytest.mark.parametrize("path", real_model_paths(), ids=model_id)
def test_gpu_table_on_real_models(path):
    model = read_model(path)
    report = engine.analyze(model, "gpu")
    assert report.ops_total == sum(len(sg.operators) for sg in model.subgraphs)
    assert report.partitions <= len(model.subgraphs)  # max_delegated_partitions = 1, per subgraph
    for v in report.fallbacks():
        assert v.reasons, f"op {v.index} ({v.opcode}) refused without a reason"
        for reason in v.reasons:
            assert reason.text and reason.source, f"op {v.index} ({v.opcode}): {reason}"


@needs_shared
@pytest.mark.parametrize(
    "relative",
    [
        # uint8 CONV_2D / DEPTHWISE_CONV_2D / AVERAGE_POOL_2D / RESHAPE / SOFTMAX, all version 1: 8-bit
        # tensors are allowed (quantized ops on by default), every parser accepts them.
        "gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite",
        # The same network in float32, with a FULLY_CONNECTED head.
        "gh-mlcommons-tiny/vww_96_float.tflite",
    ],
)
def test_mobilenets_are_delegated_whole(relative):
    report = engine.analyze(read_model(shared_model(relative)), "gpu")
    assert (report.ops_supported, report.ops_total, report.partitions) == (31, 31, 1)


@needs_shared
def test_edgetpu_compiled_model_is_refused():
    report = engine.analyze(
        read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant_edgetpu.tflite")), "gpu"
    )
    assert _verdicts(report) == [("edgetpu-custom-op", False)]
    assert "already compiled by the Edge TPU compiler" in report.ops[0].reasons[0].text


@needs_shared
def test_conformer_rank5_ops():
    # The attention block reshapes to [1, 335, 10, 3, 80]: the three ops touching a 5-D tensor are refused
    # by the rank rule, which splits the graph. The partitioner groups by data flow: op #42 does not depend
    # on the 5-D ops, so it joins the 35 ops before them, and the partition after them, the one delegated,
    # has 100 ops (101 in execution order).
    report = engine.analyze(read_model(shared_model("gh-google-ai-edge-LiteRT/torchaudio_conformer.tflite")), "gpu")
    rank5 = [(v.index, v.opcode) for v in report.ops if v.reasons and "has rank 5" in v.reasons[0].text]
    assert rank5 == [(34, "RESHAPE"), (35, "TRANSPOSE"), (36, "RESHAPE")]
    assert (report.ops_supported, report.ops_total, report.partitions) == (100, 138, 1)
    assert report.verdict(0, 42).reasons[0].rule == "max_partitions"
    assert report.subgraph_partitions(0) == [tuple(i for i in range(37, 138) if i != 42)]


@needs_shared
def test_keyword_model_svdf_and_int16():
    # SVDF has no GPU parser; the int16 QUANTIZE/SOFTMAX fail the tensor-type rule.
    report = engine.analyze(read_model(shared_model("gh-tensorflow-tflite-micro/keyword_scrambled.tflite")), "gpu")
    first = {v.opcode: v.reasons[0].text for v in report.fallbacks() if v.opcode in ("SVDF", "SOFTMAX")}
    assert first["SVDF"] == "Not supported op SVDF"
    assert first["SOFTMAX"].startswith("OP is supported, but tensor type/shape isn't compatible: output 0 is INT16")
    assert (report.ops_supported, report.ops_total) == (1, 15)


@needs_shared
def test_dtln_shrink_axis_slices():
    report = engine.analyze(read_model(shared_model("gh-breizhn-DTLN/model_1.tflite")), "gpu")
    slices = [v for v in report.ops if v.opcode == "STRIDED_SLICE"]
    assert [v.reasons[0].text for v in slices] == ["StridedSlice does not support shrink_axis_mask."] * 4
    # The refused slices (#1, #2, #20, #30) cut the execution order into runs of 17 ops at most, but the
    # ops after #20 and #30 do not depend on them: by data flow, 37 ops form one partition, the one kept.
    assert (report.ops_supported, report.ops_total, report.partitions) == (37, 43, 1)
    assert [v.index for v in report.ops if v.reasons and v.reasons[0].rule == "max_partitions"] == [0, 3]
