"""Special checks that one delegate's source has and no other: XNNPACK's type combinations and
requantization, Core ML's broadcasting and constants, the float16-weight rule of the delegates
that use FP16GraphPartitionHelper, Hexagon's depthwise convolution, NNAPI's DEQUANTIZE.
"""

from __future__ import annotations

from typing import Any

from ..reading.model import Operator, Subgraph, Tensor
from .context import (
    CheckResult,
    OpContext,
    dims,
    is_fp16_dequantized_constant,
    reason,
    scale_zero_point,
    special,
)

@special("xnnpack_mixed_types")
def _xnnpack_mixed_types(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Input, filter and output types of a convolution or FULLY_CONNECTED must match,
    except the dynamically quantized (float input, integer filter) forms XNNPACK has."""
    i, w, o = ctx.select("input:0"), ctx.select("input:1"), ctx.select("output:0")
    if not i or not w or not o:
        return None
    t_in, t_w, t_out = i[0][1].dtype, w[0][1].dtype, o[0][1].dtype
    opcode = ctx.op.opcode
    if opcode == "CONV_2D":
        hybrid = t_in == "FLOAT32" and t_w == "INT8"
    elif opcode == "FULLY_CONNECTED":
        hybrid = (t_in in ("FLOAT32", "FLOAT16") or t_in == "INT8") and t_w in ("INT2", "INT4", "INT8")
    else:
        hybrid = False
    if t_in != t_out or (t_in != t_w and not hybrid):
        return f"unsupported mixed types in {opcode} (input {t_in}, filter {t_w}, output {t_out})"
    return None


@special("xnnpack_quantize")
def _xnnpack_quantize(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Float to 8-bit, or 8-bit requantization of one type with scale ratio in [1/256, 128]."""
    i, o = ctx.select("input:0"), ctx.select("output:0")
    if not i or not o:
        return None
    t_in, t_out = i[0][1], o[0][1]
    if t_in.dtype in ("FLOAT32", "FLOAT16"):
        return None
    if t_in.dtype == t_out.dtype and t_in.dtype in ("INT8", "UINT8"):
        qi, qo = t_in.quantization, t_out.quantization
        if qi is not None and qo is not None and len(qi.scale) == 1 and len(qo.scale) == 1:
            ratio = float(qi.scale[0]) / float(qo.scale[0])
            if ratio < 1 / 256 or ratio > 128:
                return f"unsupported input-to-output scale {ratio:.3g} in QUANTIZE (must be in [1/256, 128])"
        return None
    return f"unsupported combination of input type ({t_in.dtype}) and output type ({t_out.dtype}) in QUANTIZE"


@special("pool_stride_within_filter")
def _pool_stride_within_filter(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    o = ctx.op.options
    sw, sh = o.get("stride_w", 1), o.get("stride_h", 1)
    fw, fh = o.get("filter_width", 1), o.get("filter_height", 1)
    if min(sw, sh, fw, fh) <= 0:
        return f"invalid stride {sw}x{sh} or filter {fw}x{fh}"
    if sw > fw or sh > fh:
        return f"unsupported stride {sw}x{sh} exceeding filter {fw}x{fh}"
    if fw == 1 and fh == 1 and max(sw, sh) > 1:
        return f"unsupported pooling with 1x1 filter and {sw}x{sh} stride"
    return None


@special("constant_or_fp16_dequantize")
def _constant_or_fp16_dequantize(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Core ML's IsConstantTensor, after FP16GraphPartitionHelper has pointed the output of a
    DEQUANTIZE of a float16 constant back at that constant: stored values, or such an output.
    (A DEQUANTIZE of int8 weights is not remapped, so its output is not constant.)"""
    for label, t in ctx.each(rule["tensors"]):
        if not t.is_constant and not is_fp16_dequantized_constant(ctx, t):
            return reason(ctx, rule, "{label} ({name}) must be a constant", label=label, name=t.name)
    return None


@special("coreml_binary")
def _coreml_binary(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Core ML ADD / MUL (IsBinaryOpSupported): each input float32 or a float16 constant, and the
    shapes broadcastable in Core ML's layout (IsBroadcastable, shapes padded to 4-D [B, H, W, C]):
    rank <= 4; B differs only against a constant of one element; (H, W) differ only against
    (1, 1); C differs only against 1."""
    inputs = ctx.select("inputs")
    if len(inputs) != 2:
        return None
    for label, t in inputs:
        fp16_constant = t.dtype == "FLOAT16" and t.is_constant
        if t.dtype != "FLOAT32" and not fp16_constant:
            return reason(
                ctx, rule, "{label} is {dtype} (needs float32, or a float16 constant)", label=label, dtype=t.dtype
            )
    (_, a), (_, b) = inputs
    if len(a.shape) > 4 or len(b.shape) > 4:
        why = "rank above 4"
    else:
        sa = (1,) * (4 - len(a.shape)) + tuple(a.shape)
        sb = (1,) * (4 - len(b.shape)) + tuple(b.shape)

        def scalar_constant(t: Tensor) -> bool:
            return (t.is_constant or is_fp16_dequantized_constant(ctx, t)) and t.num_elements == 1

        why = None
        if sa[0] != sb[0] and not (scalar_constant(a) or scalar_constant(b)):
            why = "batch sizes differ"
        elif sa[1:3] != sb[1:3] and (1, 1) not in (sa[1:3], sb[1:3]):
            why = "height/width differ and neither is 1x1"
        elif sa[3] != sb[3] and 1 not in (sa[3], sb[3]):
            why = "channels differ and neither is 1"
    if why is None:
        return None
    return reason(ctx, rule, "inputs {a} and {b} do not broadcast in Core ML: {why}", a=dims(a), b=dims(b), why=why)


def _is_fp16_constant_dequantize(sg: Subgraph, op: Operator) -> bool:
    if op.opcode != "DEQUANTIZE" or not op.inputs or op.inputs[0] < 0:
        return False
    source = sg.tensors[op.inputs[0]]
    return source.dtype == "FLOAT16" and source.is_constant


@special("fp16_dequantize_whole_graph")
def _fp16_dequantize_whole_graph(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """FP16GraphPartitionHelper (tflite/delegates/utils.cc; GPU, NNAPI, Core ML): a DEQUANTIZE of a
    float16 constant is never a delegate node by itself (the ops reading it get the float16 constant
    instead). It is delegated with the rest when every other op of the subgraph is (full delegation);
    otherwise it stays on the CPU."""
    sg = ctx.subgraph
    if not _is_fp16_constant_dequantize(sg, ctx.op):
        return None
    key = ("fp16_dequantize_blocker", ctx.rules["delegate"]["key"])
    if key not in ctx.subgraph_facts:  # the first op of the subgraph that the delegate refuses
        ctx.subgraph_facts[key] = next(
            (op for op in sg.operators if not _is_fp16_constant_dequantize(sg, op) and ctx.refused(op)), None)
    blocker = ctx.subgraph_facts[key]
    if blocker is None:
        return None
    return reason(
        ctx,
        rule,
        "a DEQUANTIZE of a float16 constant is taken only with the whole graph, and op #{index} {other} is not",
        index=blocker.index,
        other=blocker.opcode,
    )


@special("hexagon_depthwise")
def _hexagon_depthwise(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Hexagon DEPTHWISE_CONV_2D (IsNodeSupportedByHexagon): dilation only with stride 1;
    depth_multiplier > 1 only without dilation on a 4-D input of 1 channel; filter height >= 2."""
    o = ctx.op.options
    dilation = o.get("dilation_w_factor", 1) != 1 or o.get("dilation_h_factor", 1) != 1
    sw, sh = o.get("stride_w", 1), o.get("stride_h", 1)
    if dilation and (sw != 1 or sh != 1):
        return f"dilation needs stride 1 on Hexagon (stride {sw}x{sh})"
    multiplier = o.get("depth_multiplier", 1)
    i = ctx.select("input:0")
    if multiplier != 1 and not (not dilation and i and len(i[0][1].shape) == 4 and i[0][1].shape[3] == 1):
        return f"depth_multiplier {multiplier} is supported only without dilation on a 1-channel input"
    w = ctx.select("input:1")
    if w and len(w[0][1].shape) >= 2 and w[0][1].shape[1] < 2:
        return f"filter height {w[0][1].shape[1]}: Hexagon needs a filter at least 2 high (filter {dims(w[0][1])})"
    return None


@special("nnapi_dequantize")
def _nnapi_dequantize(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """NNAPI DEQUANTIZE (Validate): a float16 runtime tensor is taken from SDK 30, before
    any other check; otherwise version 1 or 2 and a uint8 input (int8 from SDK 29, symmetric
    only at SDK 29). A float16 constant (a float16 weight) is left to the table's
    `fp16_dequantize_whole_graph` check: it makes DoPrepare use FP16GraphPartitionHelper."""
    level = ctx.settings.api_level
    sel = ctx.select("input:0")
    if not sel:
        return None
    t = sel[0][1]
    if t.dtype == "FLOAT16" and (t.is_constant or level >= 30):
        return None
    problems = []
    if ctx.op.version > 2:
        problems.append("Supported op versions are 1 and 2 only")
    if level < 29 and t.dtype != "UINT8":
        problems.append(
            f"Input type not in expected list kTfLiteUInt8 (input 0 is {t.dtype}; int8 from Android SDK 29)"
        )
    elif t.dtype not in ("UINT8", "INT8"):
        problems.append(f"Input type not in expected list kTfLiteUInt8, kTfLiteInt8 (input 0 is {t.dtype})")
    elif level == 29 and t.dtype == "INT8" and (zp := scale_zero_point(t)) is not None and zp[1] != 0:
        problems.append("NN API supports int8 type since version 1.2 but only for symmetric quantization.")
    return "; ".join(problems) or None
