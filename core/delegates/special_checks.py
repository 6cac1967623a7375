"""Special checks that relate an op's tensors or options to each other, shared by several
delegates' tables: channel counts, broadcasting, quantization that must match, axes and
paddings in a range, shape limits. Each is named by `check = "special"`, `name = "..."`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ModelError, RuleError
from .context import CheckResult, OpContext, dims, reason, scale_zero_point, special
from ..reading.tensor_data import tensor_array

@special("depthwise_channels")
def _depthwise_channels(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    io = ctx.select("input:0"), ctx.select("output:0")
    if not io[0] or not io[1]:
        return None
    t_in, t_out = io[0][0][1], io[1][0][1]
    if len(t_in.shape) != 4 or len(t_out.shape) != 4:
        return None
    in_c, out_c = t_in.shape[3], t_out.shape[3]
    multiplier = ctx.op.options.get("depth_multiplier", 1) or 1
    if out_c != in_c * multiplier and rule.get("strict_multiplier", True):
        return reason(
            ctx,
            rule,
            "output channels {out_c} != input channels {in_c} x depth_multiplier {m}",
            out_c=out_c,
            in_c=in_c,
            m=multiplier,
        )
    if multiplier != 1 and in_c != 1 and rule.get("multiplier_needs_single_channel", True):
        return reason(ctx, rule, "depth_multiplier {m} with {in_c} input channels", m=multiplier, in_c=in_c)
    return None


@special("broadcast_ranks")
def _broadcast_ranks(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Two inputs of different ranks (both > 1) need the smaller one to broadcast along trailing axes."""
    inputs = ctx.select("inputs")
    if len(inputs) != 2:
        return None
    (_, a), (_, b) = inputs
    ra, rb = len(a.shape), len(b.shape)
    if ra > 1 and rb > 1 and ra != rb:
        small, big = (a, b) if ra < rb else (b, a)
        if tuple(small.shape) != tuple(big.shape[-len(small.shape) :]) and any(d != 1 for d in small.shape[:-1]):
            return reason(ctx, rule, "inputs of rank {ra} and {rb} do not broadcast", ra=ra, rb=rb)
    return None


@special("weights_quantization")
def _weights_quantization(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Weights (input 1) quantized per channel need the output-channel axis; blockwise needs a block multiple."""
    sel = ctx.select("input:1")
    if not sel:
        return None
    label, w = sel[0]
    q = w.quantization
    if q is None or not q.is_quantized:
        return None
    if q.details is not None:
        block = getattr(q.details, "block_size", None)
        multiple = rule.get("block_multiple", 32)
        if block is None or block % multiple:
            return reason(
                ctx,
                rule,
                "weights use blockwise quantization with block size {block} (needs a multiple of {m})",
                block=block,
                m=multiple,
            )
        return None
    if q.per_channel:
        axis = rule.get("axis_by_opcode", {}).get(ctx.op.opcode, 0)
        axis = len(w.shape) - 1 if axis == "last" else axis
        if q.quantized_dimension != axis:
            return reason(
                ctx,
                rule,
                "weights are quantized per channel along axis {got}, expected {want}",
                got=q.quantized_dimension,
                want=axis,
            )
    return None


@special("concat_same_quantization")
def _concat_same_quantization(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """8-bit CONCATENATION needs every input quantized like the output."""
    o = ctx.select("output:0")
    if not o or o[0][1].dtype not in ("INT8", "UINT8"):
        return None
    want = scale_zero_point(o[0][1])
    for label, t in ctx.each("inputs"):
        if t.dtype == o[0][1].dtype and scale_zero_point(t) != want:
            return f"mismatching quantization between {label} and the output"
    return None


@special("same_quantization_in_out")
def _same_quantization_in_out(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    i, o = ctx.select("input:0"), ctx.select("output:0")
    if not i or not o or i[0][1].dtype not in ("INT8", "UINT8") or i[0][1].dtype != o[0][1].dtype:
        return None
    if scale_zero_point(i[0][1]) != scale_zero_point(o[0][1]):
        return f"mismatching quantization scale or zero point across the input and the output of {ctx.op.opcode}"
    return None


@special("static_new_shape")
def _static_new_shape(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """RESHAPE: a shape input must be a constant int32 vector; without one, the option's new_shape is used."""
    message = _same_quantization_in_out(ctx, rule)
    if message:
        return message
    if len(ctx.op.inputs) >= 2 and ctx.op.inputs[1] >= 0:
        label, t = ctx.select("input:1")[0]
        if t.dtype != "INT32":
            return f"the new shape (input 1) is {t.dtype}, not INT32"
        if not t.is_constant:
            return "the new shape (input 1) must be static"
    return None


# Axes named the way the Edge TPU and Core ML rules name them: tensors are NHWC,
# counted from the innermost (channel, then x = width, then y = height); what
# lies before the 3 innermost dimensions is batch.
_AXES_WITHIN = {
    "xy": "the x/y (width/height) dimensions",
    "inner3": "the 3 innermost dimensions (not the batch)",
    "last": "the last (channel) dimension",
}


def _allowed_axes(rank: int, within: str) -> set[int]:
    if within == "xy":
        return {a for a in (rank - 3, rank - 2) if a >= 0}
    if within == "inner3":
        return set(range(max(rank - 3, 0), rank))
    if within == "last":
        return {rank - 1}
    raise RuleError(f"unknown axes range {within!r} (expected one of {', '.join(_AXES_WITHIN)})")


@special("axes_within")
def _axes_within(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Axes, from a constant input (`input`) or an option (`option`), must lie in `within`
    ("xy", "inner3", "last") of the tensor `rank_of` (default input 0). Unknown axes pass."""
    if "option" in rule:
        value = ctx.op.options.get(rule["option"])
        if value is None:
            return None
        axes = [int(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    else:
        axes = ctx.constant_ints(rule["input"])
        if axes is None:
            return None
    sel = ctx.select(rule.get("rank_of", "input:0"))
    if not sel or not sel[0][1].shape:  # has_rank is often unset in real files: go by the shape
        return None
    label, t = sel[0]
    rank = len(t.shape)
    allowed = _allowed_axes(rank, rule["within"])
    bad = [a for a in axes if (a + rank if a < 0 else a) not in allowed]
    if not bad:
        return None
    return reason(
        ctx,
        rule,
        "axis {axes} of {label} {dims}: only {allowed} supported",
        axes=bad if len(bad) > 1 else bad[0],
        label=label,
        dims=dims(t),
        rank=rank,
        allowed=_AXES_WITHIN[rule["within"]],
    )


@special("paddings_within")
def _paddings_within(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Constant paddings (input 1, shape [rank, 2]) may be non-zero only along `within` ("xy", "inner3")."""
    values = ctx.constant_ints(rule.get("input", 1))
    if values is None or len(values) % 2:
        return None
    rank = len(values) // 2
    allowed = _allowed_axes(rank, rule["within"])
    bad = [axis for axis in range(rank) if axis not in allowed and (values[2 * axis] or values[2 * axis + 1])]
    if not bad:
        return None
    return reason(
        ctx,
        rule,
        "padding along axis {axes} (paddings {paddings}): only along {allowed}",
        axes=bad if len(bad) > 1 else bad[0],
        paddings=[values[i : i + 2] for i in range(0, len(values), 2)],
        allowed=_AXES_WITHIN[rule["within"]],
    )


@special("innermost_dims")
def _innermost_dims(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Only the `inner` innermost dimensions of the selected tensors may be larger than 1
    (the Edge TPU's rank rule with 3; a tensor that is "one-dimensional" in effect with 1)."""
    inner = rule.get("inner", 3)
    for label, t in ctx.each(rule.get("tensors", "runtime")):
        if any(d > 1 for d in t.shape[:-inner]):
            return reason(
                ctx,
                rule,
                "{label} {dims}: only the {inner} innermost dimension(s) may be larger than 1",
                label=label,
                dims=dims(t),
                inner=inner,
                rank=len(t.shape),
                name=t.name,
            )
    return None


@special("max_elements")
def _max_elements(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.each(rule["tensors"]):
        if t.num_elements > rule["max"]:
            return reason(
                ctx,
                rule,
                "{label} has {n} elements, more than {max}",
                label=label,
                n=t.num_elements,
                max=rule["max"],
                dims=dims(t),
            )
    return None


@special("dims_at_most")
def _dims_at_most(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """The selected tensors' dimensions `axes` must be at most `max` (e.g. a kernel size limit)."""
    for label, t in ctx.each(rule["tensors"]):
        for axis in rule["axes"]:
            if axis < len(t.shape) and t.shape[axis] > rule["max"]:
                return reason(
                    ctx,
                    rule,
                    "{label} {dims}: dimension {axis} is larger than {max}",
                    label=label,
                    dims=dims(t),
                    axis=axis,
                    size=t.shape[axis],
                    max=rule["max"],
                )
    return None


@special("squeeze_leading_ones")
def _squeeze_leading_ones(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """SQUEEZE without a relayout: every dimension before the last squeezed one is 1
    ([1,5,10] -> [5,10] is fine, [5,1,10] -> [5,10] is not)."""
    sel = ctx.select("input:0")
    if not sel:
        return None
    _, t = sel[0]
    rank = len(t.shape)
    squeezed = ctx.op.options.get("squeeze_dims") or [i for i, d in enumerate(t.shape) if d == 1]
    axes = [d + rank if d < 0 else d for d in squeezed]
    if not axes or all(d == 1 for d in t.shape[: max(axes)]):
        return None
    return reason(
        ctx,
        rule,
        "squeezing axes {axes} of {dims} moves data (only leading 1s can be squeezed)",
        axes=axes,
        dims=dims(t),
    )


@special("concat_constant_zero")
def _concat_constant_zero(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A constant CONCATENATION input is only allowed as one of exactly 2 inputs, all zeroes (a zero-padding)."""
    constants = ctx.select("constant_inputs")
    if not constants:
        return None
    n = len(ctx.select("inputs"))
    label, t = constants[0]
    if n != 2:
        return reason(
            ctx,
            rule,
            "{label} is a constant among {n} inputs (a constant input needs exactly 2 inputs)",
            label=label,
            n=n,
        )
    try:
        values = np.asarray(tensor_array(ctx.model, t)).astype(np.float64)
    except ModelError:
        return None
    # A quantized zero is stored as the zero point (one per channel, or one for all).
    q = t.quantization
    per_tensor = q is not None and q.is_quantized and len(q.zero_point) == 1
    zero_point = np.asarray(q.zero_point, np.float64) if per_tensor else 0.0
    zero = bool(np.all(values == zero_point))
    if zero:
        return None
    return reason(ctx, rule, "{label} is a constant that is not all zeroes", label=label, n=n)


@special("version_at_most")
def _version_at_most(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A version cap that needs its own message or a condition (`api_below`): NNAPI's
    ExpectOpVersion refuses versions above N but says "OP Version different from N"."""
    if ctx.op.version <= rule["max"]:
        return None
    return reason(
        ctx,
        rule,
        "version {version} of {opcode} is not supported (at most {max})",
        version=ctx.op.version,
        max=rule["max"],
    )


@special("input_slots")
def _input_slots(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """The number of input slots, absent optional ones (-1) included: delegates that test
    `node->inputs->size` take a bias written as -1 but not a shorter input list, which
    the `count` check (present tensors only) cannot tell apart."""
    n = len(ctx.op.inputs)
    allowed = rule.get("allowed")
    lo, hi = rule.get("min", 0), rule.get("max", 1 << 30)
    if (allowed is None or n in allowed) and lo <= n <= hi:
        return None
    if allowed is not None:
        expected = "/".join(map(str, allowed))
    else:
        expected = f"{lo}" if lo == hi else f"{lo}..{hi}" if hi < 1 << 30 else f"at least {lo}"
    return reason(ctx, rule, "{n} input slots, expected {expected}", n=n, expected=expected)


@special("pool_filter_area")
def _pool_filter_area(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """filter_width * filter_height of a pooling op at most `max`."""
    w, h = ctx.op.options.get("filter_width", 1), ctx.op.options.get("filter_height", 1)
    if w * h <= rule["max"]:
        return None
    return reason(
        ctx, rule, "filter {w}x{h} covers {area} elements, more than {max}", w=w, h=h, area=w * h, max=rule["max"]
    )


@special("square_output")
def _square_output(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A 4-D NHWC output must be as wide as it is high."""
    sel = ctx.select("output:0")
    if not sel or len(sel[0][1].shape) != 4:
        return None
    t = sel[0][1]
    if t.shape[1] == t.shape[2]:
        return None
    return reason(ctx, rule, "output {dims} is not square", dims=dims(t), height=t.shape[1], width=t.shape[2])


@special("same_quantization_inputs")
def _same_quantization_inputs(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Every input quantized with the scale and zero point of input 0."""
    inputs = ctx.select("inputs")
    if not inputs:
        return None
    first = scale_zero_point(inputs[0][1])
    for label, t in inputs[1:]:
        if scale_zero_point(t) != first:
            return reason(ctx, rule, "{label} is quantized differently from input 0", label=label)
    return None


@special("option_nonempty")
def _option_nonempty(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """The list option `option` must be given and not empty (an absent option counts as empty)."""
    if ctx.op.options.get(rule["option"]):
        return None
    return reason(ctx, rule, "{option} is empty", option=rule["option"])


@special("axis_not_last")
def _axis_not_last(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """The `axis` option must not be -1 nor the last axis of the tensor `of` (PACK: its output,
    UNPACK: its input)."""
    axis = ctx.op.options.get("axis")
    sel = ctx.select(rule["of"])
    if axis is None or not sel:
        return None
    rank = len(sel[0][1].shape)
    if axis != -1 and axis != rank - 1:
        return None
    return reason(ctx, rule, "axis {axis} is the last dimension", axis=axis, rank=rank)


@special("same_shape")
def _same_shape(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    tensors = ctx.select(rule["tensors"])
    shapes = {tuple(t.shape) for _, t in tensors}
    if len(shapes) <= 1:
        return None
    return reason(ctx, rule, "shapes differ: {dims}", dims=", ".join(dims(t) for _, t in tensors))


@special("same_padding_filter_below")
def _same_padding_filter_below(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """With SAME padding, filter height and width must stay below `limit`."""
    o = ctx.op.options
    w, h = o.get("filter_width", 1), o.get("filter_height", 1)
    if o.get("padding") != "SAME" or (w < rule["limit"] and h < rule["limit"]):
        return None
    return reason(ctx, rule, "SAME padding with a {w}x{h} filter (needs < {limit})", w=w, h=h, limit=rule["limit"])
