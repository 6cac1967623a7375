"""The GPU delegate's special checks (TfLiteGpuDelegateV2): the per-op checks of
tflite/tools/versioning/gpu_compatibility.cc that compare tensors with each other, and the
parsers' own rules in tflite/delegates/gpu/common/model_builder.cc. Messages are the runtime's.
"""

from __future__ import annotations

from typing import Any

from ..reading.model import Tensor
from .context import CheckResult, OpContext, is_fp16_dequantized_constant, reason, special

_GPU_LOGICAL = ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL")


def _gpu_is_constant(ctx: OpContext, t: Tensor) -> bool:
    """`is_const` of the op signature the GPU checks see: stored values (kTfLiteMmapRo), or the output
    of a DEQUANTIZE of a float16 constant, which FP16GraphPartitionHelper points back at the constant
    before asking the parser."""
    return t.is_constant or is_fp16_dequantized_constant(ctx, t)


@special("gpu_inputs")
def _gpu_inputs(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """CheckInputsOutputs / CheckInputsConstsOutputs: counts of runtime inputs (`runtime`, one number or
    a list), constant inputs (`const`) and outputs (`outputs`); or `forms`, accepted [runtime, const]
    pairs ("Op can only handle 1 or 2 operand(s)."). Absent optional inputs count as neither."""
    inputs = [t for _, t in ctx.select("inputs")]
    n_const = sum(_gpu_is_constant(ctx, t) for t in inputs)
    n_runtime = len(inputs) - n_const
    n_outputs = len(ctx.select("outputs"))
    if "forms" in rule:
        if [n_runtime, n_const] not in [list(f) for f in rule["forms"]] or n_outputs != rule.get("outputs", n_outputs):
            return reason(ctx, rule, "Op can only handle 1 or 2 operand(s).", n=n_runtime)
        return None
    if "const" in rule and n_const != rule["const"]:
        return f"Expected {rule['const']} const input tensor(s), but node has {n_const} const input(s)."
    runtime = rule.get("runtime")
    allowed = runtime if isinstance(runtime, list) else [runtime]
    if runtime is not None and n_runtime not in allowed:
        want = " or ".join(map(str, allowed))
        default = "Expected {want} runtime input tensor(s), but node has {n} runtime input(s)."
        return reason(ctx, rule, default, want=want, n=n_runtime)
    if "outputs" in rule and n_outputs != rule["outputs"]:
        return f"Expected {rule['outputs']} output tensor(s), but node has {n_outputs} output(s)."
    return None


@special("gpu_broadcast")
def _gpu_broadcast(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """ADD / MUL with inputs of different ranks, both above 1 (CheckAddMulBroadcastCompatibility). The
    runtime passes GpuCompatibilityFlags::kStandard (only the offline checker assumes enhanced
    broadcast): 3-D into 4-D of batch 1, 2-D [1, 1] into 4-D of batch 1, 2-D [b, c] into 4-D [b, h, w, c]."""
    inputs = ctx.select("inputs")
    if len(inputs) != 2:
        return None
    a, b = inputs[0][1].shape, inputs[1][1].shape
    if len(a) <= 1 or len(b) <= 1 or len(a) == len(b):
        return None
    long, short = (a, b) if len(a) >= len(b) else (b, a)
    if len(long) == 4 and (
        (len(short) == 3 and long[0] == 1)
        or (len(short) == 2 and long[0] == 1 and tuple(short) == (1, 1))
        or (len(short) == 2 and long[0] == short[0] and long[3] == short[1])
    ):
        return None
    shapes = {"a": ",".join(map(str, a)), "b": ",".join(map(str, b))}
    return reason(ctx, rule, "Doesn't support broadcasting - input0: [{a}], input1: [{b}]", **shapes)


@special("gpu_cast")
def _gpu_cast(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """CastOperationParser: bool to float only right after a comparison (whose bool tensor feeds only
    this CAST, and whose result is not a graph output); then CheckGpuDelegateCompatibility's type pairs."""
    sg = ctx.subgraph
    i, o = ctx.select("input:0"), ctx.select("output:0")
    if not i or not o:
        return None
    t_in, t_out = i[0][1], o[0][1]
    if t_in.dtype == "BOOL" and t_out.dtype in ("FLOAT16", "FLOAT32"):
        producer = sg.producers.get(t_in.index)
        if producer is None or len(sg.consumers.get(t_in.index, [])) != 1:
            return "Not supported cast case"
        if len(sg.consumers.get(t_out.index, [])) != 1:
            return "Cast from bool not supported for outputs"
        if sg.operators[producer].opcode in _GPU_LOGICAL:
            return None
    message = _gpu_inputs(ctx, {"runtime": 1, "outputs": 1})
    if message:
        return message
    floats = ("FLOAT16", "FLOAT32")
    if (
        (t_in.dtype == "BOOL" and t_out.dtype in floats)
        or (t_in.dtype in floats and t_out.dtype == "BOOL")
        or (t_in.dtype in ("FLOAT32", "INT32") and t_out.dtype in ("FLOAT32", "INT32"))
    ):
        return None
    return f"Not supported Cast case. Input type: {t_in.dtype} and output type: {t_out.dtype}"


@special("gpu_logical_output")
def _gpu_logical_output(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A comparison runs on the GPU only when its one consumer is a CAST, SELECT or SELECT_V2 with a
    float result (ElementwiseOperationParser::IsSupported); nothing else of the op is checked."""
    sg = ctx.subgraph
    if not ctx.op.outputs or ctx.op.outputs[0] < 0:
        return None
    consumers = sg.consumers.get(ctx.op.outputs[0], [])
    if len(consumers) != 1:
        return "Not supported logical op case"
    following = sg.operators[consumers[0]]
    out = following.outputs[0] if following.outputs else -1
    to_float = out >= 0 and sg.tensors[out].dtype in ("FLOAT16", "FLOAT32")
    if following.opcode in ("CAST", "SELECT", "SELECT_V2") and to_float:
        return None
    return "Not supported logical op case."


@special("gpu_select_v2")
def _gpu_select_v2(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """CheckSelectV2GpuDelegateCompatibility: float or bool condition broadcastable to the output; the
    two values each the output's shape or a scalar, and a 2-D value only as a constant."""
    op, sg = ctx.op, ctx.subgraph
    if len(op.inputs) != 3 or len(op.outputs) != 1 or min(*op.inputs, op.outputs[0]) < 0:
        return "Expected 3 inputs and 1 output"
    error = (
        "Cond must be float or bool type, if, else tensors must either be the same shape as output or constant, scalar."
    )
    cond = sg.tensors[op.inputs[0]]
    out = tuple(sg.tensors[op.outputs[0]].shape)
    if cond.dtype not in ("BOOL", "FLOAT16", "FLOAT32"):
        return error
    if cond.shape:
        offset = len(out) - len(cond.shape)
        if offset < 0 or any(d != out[offset + k] and d != 1 for k, d in enumerate(cond.shape)):
            return error
    for position, name in ((1, "if"), (2, "else")):
        t = sg.tensors[op.inputs[position]]
        dims = tuple(t.shape)
        if dims and dims != out and (len(dims) > 1 or dims[0] > 1):
            return error
        if not _gpu_is_constant(ctx, t) and len(dims) == 2:
            return f"2-D {name} tensor only supported if constant."
    return None


@special("gpu_one_hot")
def _gpu_one_hot(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """CheckOneHotGpuDelegateCompatibility: int32 indices, singleton dims except batch and the last, axis
    -1, constant float32 scalar on/off values."""
    op, sg = ctx.op, ctx.subgraph
    if len(op.inputs) != 4 or len(op.outputs) != 1 or min(op.inputs) < 0:
        return "Expects 4 inputs and 1 output"
    error = (
        "Indices must be int32 type, on/off tensors must be constant, scalar, float type, axis must be -1 or last dim"
    )
    indices, on, off = (sg.tensors[op.inputs[k]] for k in (0, 2, 3))
    if indices.dtype != "INT32":
        return error
    dims = indices.shape
    axis = op.options.get("axis", -1)
    if axis != -1 and (not dims or axis != dims[-1]):
        return error
    for k in range(len(dims) - 1):
        if not (len(dims) > 3 and k == 0) and dims[k] != 1:
            return f"Unsupported non-singleton dim at {k}"
    for t in (on, off):
        if t.dtype != "FLOAT32" or not _gpu_is_constant(ctx, t) or len(t.shape) > 1 or (t.shape and t.shape[0] > 1):
            return error
    return None


@special("gpu_depthwise")
def _gpu_depthwise(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """CheckDepthwiseConvGpuDelegateCompatibility: 4-D tensors, equal batches, filter and output channels
    equal, output channels = input channels x depth_multiplier (the option as stored, any multiplier),
    bias size = output channels. An absent bias counts as one element, as its empty signature does."""
    op, sg = ctx.op, ctx.subgraph
    if len(op.inputs) < 2 or not op.outputs or min(op.inputs[0], op.inputs[1], op.outputs[0]) < 0:
        return None
    t_in, t_filter, t_out = sg.tensors[op.inputs[0]], sg.tensors[op.inputs[1]], sg.tensors[op.outputs[0]]
    for name, t in (("input", t_in), ("filter", t_filter), ("output", t_out)):
        if len(t.shape) != 4:
            return f"{name}.dims.size != 4"
    if t_in.shape[0] != t_out.shape[0]:
        return "input.b != output.b"
    in_c, out_c = t_in.shape[3], t_out.shape[3]
    if t_filter.shape[3] != out_c:
        return "filter.i != output.c"
    multiplier = op.options.get("depth_multiplier", 0)
    if out_c != in_c * multiplier:
        default = "output.c != input.c * depth_multiplier ({out_c} != {in_c} * {m})"
        return reason(ctx, rule, default, out_c=out_c, in_c=in_c, m=multiplier)
    if len(op.inputs) > 2:
        bias_elements = sg.tensors[op.inputs[2]].num_elements if op.inputs[2] >= 0 else 1
        if bias_elements != out_c:
            return "bias.size != output.c"
    return None


@special("gpu_paddings")
def _gpu_paddings(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """PAD, PADV2, MIRROR_PAD: paddings (input 1) of shape 4x2 or 3x2."""
    n = len(ctx.op.inputs)
    if n < 2 or ctx.op.inputs[1] < 0:
        return f"Requested index goes beyond array size: 1 vs {n}"
    dims = ctx.subgraph.tensors[ctx.op.inputs[1]].shape
    if len(dims) != 2:
        return f"Invalid paddings tensor dimension: expected 2 dim, got {len(dims)} dim"
    if dims[0] not in (3, 4) or dims[1] != 2:
        return f"Invalid paddings tensor shape: expected 4x2 or 3x2, got {dims[0]}x{dims[1]}"
    return None


@special("gpu_options_not_both")
def _gpu_options_not_both(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Refuses when the two boolean options `names` are both set (RESIZE_BILINEAR)."""
    first, second = rule["names"]
    if ctx.op.options.get(first) and ctx.op.options.get(second):
        return reason(ctx, rule, "{first} and {second} are both set", first=first, second=second)
    return None


@special("gpu_keep_num_dims")
def _gpu_keep_num_dims(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """FULLY_CONNECTED with keep_num_dims needs input and output of the same rank."""
    if not ctx.op.options.get("keep_num_dims"):
        return None
    i, o = ctx.select("input:0"), ctx.select("output:0")
    if not o:
        return "Expected at least 1 output"
    if i and len(i[0][1].shape) != len(o[0][1].shape):
        return "Input and output dimensions different and FullyConnected doesn't support keep_num_dims."
    return None


@special("gpu_lstm")
def _gpu_lstm(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """LSTM: the full kernel with 20 or 24 inputs (absent ones included), one output and a tanh cell
    activation (sigmoid has no schema value); the basic kernel with 3 runtime and 2 constant inputs,
    4 outputs, an activation depth that is a multiple of 4, tanh and no clipping."""
    op, o = ctx.op, ctx.op.options
    activation = o.get("fused_activation_function", "NONE")
    if o.get("kernel_type", "FULL") == "FULL":
        if len(op.inputs) not in (20, 24):
            return f"Expected 20 or 24 input tensors, but node has {len(op.inputs)} input(s)."
        if len(op.outputs) != 1:
            return f"Expected 1 output tensor, but node has {len(op.outputs)} output(s)."
        if activation != "TANH":
            return f"Only sigmoid or tanh activation is supported, but node has {activation}"
        return None
    message = _gpu_inputs(ctx, {"runtime": 1 + 2, "const": 2, "outputs": 4})
    if message:
        return message
    last = ctx.subgraph.tensors[op.outputs[3]].shape if op.outputs[3] >= 0 else ()
    if last and last[-1] % 4:
        return "BasicLSTM activation depth must be a multiple of 4."
    if activation != "TANH":
        return f"Only TANH activation is supported. but node has {activation}"
    if o.get("cell_clip", 0.0):
        return "cell_clip is not supported."
    if o.get("proj_clip", 0.0):
        return "proj_clip is not supported."
    return None


@special("gpu_resampler")
def _gpu_resampler(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Custom Resampler: 4-D source and warp of the same batch, warp with at least 2 channels."""
    sg, op = ctx.subgraph, ctx.op
    if len(op.inputs) < 2 or min(op.inputs[0], op.inputs[1]) < 0:
        return None
    src, warp = sg.tensors[op.inputs[0]].shape, sg.tensors[op.inputs[1]].shape
    if len(src) != 4 or len(warp) != 4:
        return "src or warp dims size != 4"
    if src[0] != warp[0]:
        return "src.b != warp.b"
    if warp[3] < 2:
        return "warp.c < 2"
    return None
