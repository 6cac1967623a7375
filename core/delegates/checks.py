"""The generic checks a rule table names with `check = "..."`: counts, constness, ranks, dtypes,
quantization granularity, options, versions and API levels. docs/delegate_rules.md lists them
with their keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RuleError
from ..reading.model import Tensor
from .context import SPECIAL_CHECKS, CheckResult, OpContext, check, dims, reason

@check("fused_activation")
def _check_fused_activation(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    activation = ctx.op.fused_activation
    if activation is None or activation in rule["allowed"]:
        return None
    return reason(ctx, rule, "fused activation {activation} is not supported", activation=activation)


@check("count")
def _check_count(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    n = len(ctx.select(rule["of"]))
    lo, hi = rule.get("min", 0), rule.get("max", 1 << 30)
    if lo <= n <= hi:
        return None
    expected = f"{lo}" if lo == hi else f"{lo}..{hi}" if hi < 1 << 30 else f"at least {lo}"
    return reason(
        ctx, rule, "{n} {what}, expected {expected}", n=n, what=rule["of"].replace("_", " "), expected=expected
    )


@check("constant")
def _check_constant(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Selected tensors must hold stored values; with `quasi_static`, an unpacked
    (DEQUANTIZE or DENSIFY of a stored) tensor counts too, as XNNPACK folds those."""
    for label, t in ctx.each(rule["tensors"]):
        if not t.is_constant and not (rule.get("quasi_static") and ctx.is_unpacked_constant(t)):
            return reason(ctx, rule, "{label} ({name}) must be a constant", label=label, name=t.name)
    return None


@check("not_constant")
def _check_not_constant(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.each(rule["tensors"]):
        if t.is_constant:
            return reason(ctx, rule, "{label} ({name}) must not be a constant", label=label, name=t.name)
    return None


@check("rank")
def _check_rank(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    lo, hi = rule.get("min", 0), rule.get("max", 1 << 30)
    allowed = rule.get("allowed")
    for label, t in ctx.each(rule["tensors"]):
        rank = len(t.shape)
        if not t.has_rank and rule.get("unknown_rank_ok", False):
            continue
        if rank < lo or rank > hi or (allowed is not None and rank not in allowed):
            expected = (
                "/".join(map(str, allowed))
                if allowed is not None
                else (
                    f"{lo}"
                    if lo == hi
                    else f"at most {hi}"
                    if lo == 0
                    else f"{lo}..{hi}"
                    if hi < 1 << 30
                    else f"at least {lo}"
                )
            )
            return reason(
                ctx,
                rule,
                "{label} has rank {rank} {dims}, expected {expected}",
                label=label,
                rank=rank,
                dims=dims(t),
                expected=expected,
                name=t.name,
            )
    return None


@check("positive_dims")
def _check_positive_dims(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.each(rule["tensors"]):
        if any(d <= 0 for d in t.shape):
            return reason(ctx, rule, "{label} has a dimension of size 0 {dims}", label=label, dims=dims(t))
    return None


@check("dtype")
def _check_dtype(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    allowed = rule["allowed"]
    for label, t in ctx.each(rule["tensors"]):
        if t.dtype not in allowed:
            return reason(
                ctx,
                rule,
                "{label} is {dtype}; supported: {allowed}",
                label=label,
                dtype=t.dtype,
                allowed=", ".join(allowed),
                name=t.name,
            )
    return None


@check("same_dtype")
def _check_same_dtype(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    tensors = ctx.select(rule["tensors"])
    dtypes = {t.dtype for _, t in tensors}
    if len(dtypes) <= 1:
        return None
    return reason(ctx, rule, "mixed types {dtypes}", dtypes=", ".join(sorted(dtypes)))


def _is_quantized_int(t: Tensor) -> bool:
    return t.dtype in ("INT8", "UINT8", "INT16", "INT4", "INT2", "UINT4", "INT32")


@check("quantized")
def _check_quantized(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Integer tensors among the selected ones must carry quantization parameters."""
    dtypes = rule.get("dtypes", ["INT8", "UINT8"])
    for label, t in ctx.each(rule["tensors"]):
        if t.dtype in dtypes and (t.quantization is None or not t.quantization.is_quantized):
            return reason(ctx, rule, "{label} is {dtype} without quantization parameters", label=label, dtype=t.dtype)
    return None


@check("per_tensor")
def _check_per_tensor(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    dtypes = rule.get("dtypes")
    for label, t in ctx.each(rule["tensors"]):
        q = t.quantization
        if dtypes is not None and t.dtype not in dtypes:
            continue
        if q is not None and q.is_quantized and (q.per_channel or q.details is not None):
            return reason(
                ctx,
                rule,
                "{label} is quantized per channel ({n} scales, axis {axis}); only per-tensor is supported",
                label=label,
                n=q.num_channels,
                axis=q.quantized_dimension,
            )
    return None


@check("per_channel_axis")
def _check_per_channel_axis(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Per-channel quantization only along the given axis ('last' = the innermost)."""
    for label, t in ctx.each(rule["tensors"]):
        q = t.quantization
        if q is None or not q.per_channel:
            continue
        want = rule["axis"]
        axis = len(t.shape) - 1 if want == "last" else int(want)
        if q.quantized_dimension != axis:
            return reason(
                ctx,
                rule,
                "{label} is quantized per channel along axis {got}; supported: axis {want}",
                label=label,
                got=q.quantized_dimension,
                want=axis,
            )
    return None


@check("blockwise")
def _check_blockwise(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.each(rule["tensors"]):
        q = t.quantization
        if q is None or q.details is None:
            continue
        block = getattr(q.details, "block_size", None)
        if block is None:
            return reason(ctx, rule, "{label} has {kind} quantization", label=label, kind=type(q.details).__name__)
        multiple = rule.get("block_multiple")
        if multiple and block % multiple:
            return reason(
                ctx,
                rule,
                "{label} has block size {block}, not a multiple of {multiple}",
                label=label,
                block=block,
                multiple=multiple,
            )
    return None


@check("option")
def _check_option(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    name = rule["name"]
    value = ctx.op.options.get(name)
    if value is None:
        return None
    bad = (
        ("allowed" in rule and value not in rule["allowed"])
        or ("refused" in rule and value in rule["refused"])
        or ("min" in rule and value < rule["min"])
        or ("max" in rule and value > rule["max"])
    )
    if not bad:
        return None
    return reason(ctx, rule, "{name} = {value} is not supported", name=name, value=value)


@check("options_all_false")
def _check_options_all_false(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for name in rule["names"]:
        value = ctx.op.options.get(name)
        if value:
            return reason(ctx, rule, "{name} = {value} is not supported", name=name, value=value)
    return None


@check("never")
def _check_never(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """An op the delegate lists but refuses unconditionally in this release."""
    return reason(ctx, rule, "{opcode} is refused unconditionally")


@check("min_api_level")
def _check_min_api_level(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    level = ctx.settings.api_level
    if level >= rule["level"]:
        return None
    return reason(ctx, rule, "Android sdk version less than {level}", level=rule["level"])


@check("const_values")
def _check_const_values(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A constant integer input's values must all be in `allowed` (e.g. strides of 1)."""
    values = ctx.constant_ints(rule["input"])
    if values is None:
        return None
    if all(v in rule["allowed"] for v in values):
        return None
    return reason(ctx, rule, "input {input} holds {values}", input=rule["input"], values=values)


@check("scale_ratio")
def _check_scale_ratio(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Product of the numerator tensors' scales over the denominator's, for per-tensor 8-bit tensors."""
    nums = [t for sel in rule["numerators"] for _, t in ctx.select(sel)]
    dens = ctx.select(rule["denominator"])
    tensors = nums + [t for _, t in dens]
    if not dens or not nums or any(t.dtype not in ("INT8", "UINT8") for t in tensors):
        return None
    if len({t.dtype for t in tensors}) != 1 or any(
        t.quantization is None or len(t.quantization.scale) != 1 for t in tensors
    ):
        return None
    ratio = float(np.prod([float(t.quantization.scale[0]) for t in nums])) / float(dens[0][1].quantization.scale[0])
    if rule["min"] <= ratio < rule["max"]:
        return None
    return reason(
        ctx, rule, "scale ratio {ratio:.3g} outside [{min:g}, {max:g})", ratio=ratio, min=rule["min"], max=rule["max"]
    )


@check("special")
def _check_special(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    fn = SPECIAL_CHECKS.get(rule["name"])
    if fn is None:
        raise RuleError(f"unknown special check {rule['name']!r}")
    return fn(ctx, rule)
