"""The delegate rule tables and the checks they name.

`resources/delegates/<delegate>.toml` lists, per op, the checks a delegate
applies (see docs/delegate_rules.md); this module loads the tables and holds
the check functions: generic ones (`CHECKS`, named by `check = "..."`) and
the few rules that relate several tensors or options to each other
(`SPECIALCHECKS`, named by `check = "special"`, `name = "..."`). Each check
takes an `OpContext` and its TOML table and returns None (passes) or the
message explaining the refusal. `compat.py` evaluates them.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tomllib

from tflite_inspector.core.model import Model, ModelError, Operator, Subgraph, Tensor
from tflite_inspector.core.tensor_data import tensor_array

DEFAULT_NNAPI_API_LEVEL = 30
GRAPH_RULES = "graph"


@dataclass(frozen=True)
class Reason:
    """Why an op stays on the CPU, in the delegate's terms, and where the rule comes from."""

    text: str
    source: str
    # Which rule gave it: reasons of one rule (rank 5 on different tensors, one
    # partition cap) group together in summaries. Empty = group by text.
    rule: str = field(default="", compare=False)


# ---------------------------------------------------------------- rule tables


class RuleError(Exception):
    """A rule table is malformed: a bug in the project, not in the user's model."""


@functools.cache
def load_rules(name: str) -> dict[str, Any]:
    resource = importlib.resources.files("tflite_inspector.resources").joinpath("delegates", f"{name}.toml")
    try:
        rules = tomllib.loads(resource.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RuleError(f"rule table {name}.toml: {e}") from e
    if name != GRAPH_RULES:
        _validate_table(name, rules)
    return rules


def _validate_table(name: str, rules: dict[str, Any]) -> None:
    if "delegate" not in rules:
        raise RuleError(f"{name}.toml has no [delegate] section")
    for entry in rules.get("op", []):
        if not entry.get("opcodes"):
            raise RuleError(f"{name}.toml: an [[op]] entry has no opcodes")
        for check in entry.get("checks", []):
            if check.get("check") not in CHECKS:
                raise RuleError(f"{name}.toml {entry['opcodes']}: unknown check {check.get('check')!r}")
    for check in rules.get("all_ops", []):
        if check.get("check") not in CHECKS:
            raise RuleError(f"{name}.toml all_ops: unknown check {check.get('check')!r}")


@functools.cache
def op_index(name: str) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for entry in load_rules(name).get("op", []):
        for opcode in entry["opcodes"]:
            if opcode in index:
                raise RuleError(f"{name}.toml lists {opcode} twice")
            index[opcode] = entry
    return index


def delegate_title(name: str) -> str:
    return load_rules(name)["delegate"]["title"]


# -------------------------------------------------------------- op context


@dataclass
class OpContext:
    """One op as the checks see it, with the delegate's settings."""

    model: Model
    subgraph: Subgraph
    op: Operator
    settings: dict[str, Any]
    # Input positions that are parameters (shape, axes, paddings), which the
    # op's own checks look at; the `runtime` selectors leave them out.
    param_inputs: tuple[int, ...] = ()
    # One dict per subgraph and analysis, shared by its ops' contexts: for
    # facts about the whole subgraph that several ops' checks need.
    subgraph_facts: dict[Any, Any] = field(default_factory=dict)

    def tensor(self, index: int) -> Tensor | None:
        if 0 <= index < len(self.subgraph.tensors):
            return self.subgraph.tensors[index]
        return None

    @functools.cached_property
    def _tensor_lists(self) -> tuple[list[tuple[str, Tensor]], ...]:
        # Built once per op: the checks select from these many times.
        tensors = self.subgraph.tensors
        present = [(f"input {i}", tensors[ti]) for i, ti in enumerate(self.op.inputs) if 0 <= ti < len(tensors)]
        data = [
            (f"input {i}", tensors[ti])
            for i, ti in enumerate(self.op.inputs)
            if 0 <= ti < len(tensors) and i not in self.param_inputs
        ]
        outputs = [(f"output {i}", tensors[ti]) for i, ti in enumerate(self.op.outputs) if 0 <= ti < len(tensors)]
        return present, data, outputs

    def select(self, selector: str) -> list[tuple[str, Tensor]]:
        """Tensors named by a selector, each with a label for messages.

        Selectors: inputs, outputs, all, runtime_inputs, constant_inputs,
        runtime (runtime inputs and outputs), input:N, output:N.
        """
        present_inputs, data_inputs, outputs = self._tensor_lists
        if selector == "inputs":
            return present_inputs
        if selector == "outputs":
            return outputs
        if selector == "all":
            return present_inputs + outputs
        if selector == "runtime_inputs":
            return [(n, t) for n, t in data_inputs if not t.is_constant]
        if selector == "constant_inputs":
            return [(n, t) for n, t in present_inputs if t.is_constant]
        if selector == "runtime":
            return [(n, t) for n, t in data_inputs if not t.is_constant] + outputs
        kind, _, position = selector.partition(":")
        op = self.op
        if kind in ("input", "output") and position.lstrip("-").isdigit():
            indices = op.inputs if kind == "input" else op.outputs
            i = int(position)
            if -len(indices) <= i < len(indices) and (t := self.tensor(indices[i])) is not None:
                return [(f"{kind} {i % len(indices)}", t)]
            return []
        raise RuleError(f"unknown tensor selector {selector!r}")

    def is_unpacked_constant(self, t: Tensor) -> bool:
        """True for the output of a DEQUANTIZE or DENSIFY of a stored tensor (or of such an output)."""
        for _ in range(4):  # DENSIFY -> DEQUANTIZE chains are at most two deep
            producer = self.subgraph.producers.get(t.index)
            if producer is None:
                return False
            op = self.subgraph.operators[producer]
            if op.opcode not in ("DEQUANTIZE", "DENSIFY") or not op.inputs or op.inputs[0] < 0:
                return False
            t = self.subgraph.tensors[op.inputs[0]]
            if t.is_constant:
                return True
        return False

    def constant_ints(self, position: int) -> list[int] | None:
        """The values of a constant integer input (axes, paddings, shapes), or None."""
        if position >= len(self.op.inputs):
            return None
        t = self.tensor(self.op.inputs[position])
        if t is None or not t.is_constant or t.dtype not in ("INT32", "INT64"):
            return None
        try:
            return [int(v) for v in np.asarray(tensor_array(self.model, t)).reshape(-1)]
        except ModelError:
            return None


def fmt_template(template: str, **values: Any) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as e:
        raise RuleError(f"reason template {template!r}: {e}") from e


def _dims(t: Tensor) -> str:
    return "[" + ",".join(str(d) for d in (t.shape_signature or t.shape)) + "]"


# Each check returns None when the op passes, else the message; `rule` is the
# TOML table of the check. Message fields are filled from the rule's
# `reason` template when it has one, else a default in the delegate-neutral
# wording below.
CheckResult = str | None
CHECKS: dict[str, Callable[[OpContext, dict[str, Any]], CheckResult]] = {}


def _registrar(registry: dict[str, Callable[..., CheckResult]]) -> Callable[[str], Callable[..., Any]]:
    def by_name(name: str) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
        def register(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
            registry[name] = fn
            return fn

        return register

    return by_name


_check = _registrar(CHECKS)


def _reason(ctx: OpContext, rule: dict[str, Any], default: str, **values: Any) -> str:
    return fmt_template(rule.get("reason", default), opcode=ctx.op.opcode, **values)


@_check("fused_activation")
def _check_fused_activation(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    activation = ctx.op.fused_activation
    if activation is None or activation in rule["allowed"]:
        return None
    return _reason(ctx, rule, "fused activation {activation} is not supported", activation=activation)


@_check("count")
def _check_count(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    n = len(ctx.select(rule["of"]))
    lo, hi = rule.get("min", 0), rule.get("max", 1 << 30)
    if lo <= n <= hi:
        return None
    expected = f"{lo}" if lo == hi else f"{lo}..{hi}" if hi < 1 << 30 else f"at least {lo}"
    return _reason(
        ctx, rule, "{n} {what}, expected {expected}", n=n, what=rule["of"].replace("_", " "), expected=expected
    )


@_check("constant")
def _check_constant(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Selected tensors must hold stored values; with `quasi_static`, an unpacked
    (DEQUANTIZE or DENSIFY of a stored) tensor counts too, as XNNPACK folds those."""
    for label, t in ctx.select(rule["tensors"]):
        if not t.is_constant and not (rule.get("quasi_static") and ctx.is_unpacked_constant(t)):
            return _reason(ctx, rule, "{label} ({name}) must be a constant", label=label, name=t.name)
    return None


@_check("not_constant")
def _check_not_constant(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.select(rule["tensors"]):
        if t.is_constant:
            return _reason(ctx, rule, "{label} ({name}) must not be a constant", label=label, name=t.name)
    return None


@_check("rank")
def _check_rank(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    lo, hi = rule.get("min", 0), rule.get("max", 1 << 30)
    allowed = rule.get("allowed")
    for label, t in ctx.select(rule["tensors"]):
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
            return _reason(
                ctx,
                rule,
                "{label} has rank {rank} {dims}, expected {expected}",
                label=label,
                rank=rank,
                dims=_dims(t),
                expected=expected,
                name=t.name,
            )
    return None


@_check("positive_dims")
def _check_positive_dims(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.select(rule["tensors"]):
        if any(d <= 0 for d in t.shape):
            return _reason(ctx, rule, "{label} has a dimension of size 0 {dims}", label=label, dims=_dims(t))
    return None


@_check("dtype")
def _check_dtype(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    allowed = rule["allowed"]
    for label, t in ctx.select(rule["tensors"]):
        if t.dtype not in allowed:
            return _reason(
                ctx,
                rule,
                "{label} is {dtype}; supported: {allowed}",
                label=label,
                dtype=t.dtype,
                allowed=", ".join(allowed),
                name=t.name,
            )
    return None


@_check("same_dtype")
def _check_same_dtype(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    tensors = ctx.select(rule["tensors"])
    dtypes = {t.dtype for _, t in tensors}
    if len(dtypes) <= 1:
        return None
    return _reason(ctx, rule, "mixed types {dtypes}", dtypes=", ".join(sorted(dtypes)))


def _is_quantized_int(t: Tensor) -> bool:
    return t.dtype in ("INT8", "UINT8", "INT16", "INT4", "INT2", "UINT4", "INT32")


@_check("quantized")
def _check_quantized(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Integer tensors among the selected ones must carry quantization parameters."""
    dtypes = rule.get("dtypes", ["INT8", "UINT8"])
    for label, t in ctx.select(rule["tensors"]):
        if t.dtype in dtypes and (t.quantization is None or not t.quantization.is_quantized):
            return _reason(ctx, rule, "{label} is {dtype} without quantization parameters", label=label, dtype=t.dtype)
    return None


@_check("per_tensor")
def _check_per_tensor(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    dtypes = rule.get("dtypes")
    for label, t in ctx.select(rule["tensors"]):
        q = t.quantization
        if dtypes is not None and t.dtype not in dtypes:
            continue
        if q is not None and q.is_quantized and (q.per_channel or q.details is not None):
            return _reason(
                ctx,
                rule,
                "{label} is quantized per channel ({n} scales, axis {axis}); only per-tensor is supported",
                label=label,
                n=q.num_channels,
                axis=q.quantized_dimension,
            )
    return None


@_check("per_channel_axis")
def _check_per_channel_axis(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Per-channel quantization only along the given axis ('last' = the innermost)."""
    for label, t in ctx.select(rule["tensors"]):
        q = t.quantization
        if q is None or not q.per_channel:
            continue
        want = rule["axis"]
        axis = len(t.shape) - 1 if want == "last" else int(want)
        if q.quantized_dimension != axis:
            return _reason(
                ctx,
                rule,
                "{label} is quantized per channel along axis {got}; supported: axis {want}",
                label=label,
                got=q.quantized_dimension,
                want=axis,
            )
    return None


@_check("blockwise")
def _check_blockwise(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.select(rule["tensors"]):
        q = t.quantization
        if q is None or q.details is None:
            continue
        block = getattr(q.details, "block_size", None)
        if block is None:
            return _reason(ctx, rule, "{label} has {kind} quantization", label=label, kind=type(q.details).__name__)
        multiple = rule.get("block_multiple")
        if multiple and block % multiple:
            return _reason(
                ctx,
                rule,
                "{label} has block size {block}, not a multiple of {multiple}",
                label=label,
                block=block,
                multiple=multiple,
            )
    return None


@_check("option")
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
    return _reason(ctx, rule, "{name} = {value} is not supported", name=name, value=value)


@_check("options_all_false")
def _check_options_all_false(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for name in rule["names"]:
        value = ctx.op.options.get(name)
        if value:
            return _reason(ctx, rule, "{name} = {value} is not supported", name=name, value=value)
    return None


@_check("never")
def _check_never(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """An op the delegate lists but refuses unconditionally in this release."""
    return _reason(ctx, rule, "{opcode} is refused unconditionally")


@_check("min_api_level")
def _check_min_api_level(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    level = ctx.settings.get("api_level", DEFAULT_NNAPI_API_LEVEL)
    if level >= rule["level"]:
        return None
    return _reason(ctx, rule, "Android sdk version less than {level}", level=rule["level"])


@_check("const_values")
def _check_const_values(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A constant integer input's values must all be in `allowed` (e.g. strides of 1)."""
    values = ctx.constant_ints(rule["input"])
    if values is None:
        return None
    if all(v in rule["allowed"] for v in values):
        return None
    return _reason(ctx, rule, "input {input} holds {values}", input=rule["input"], values=values)


@_check("scale_ratio")
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
    return _reason(
        ctx, rule, "scale ratio {ratio:.3g} outside [{min:g}, {max:g})", ratio=ratio, min=rule["min"], max=rule["max"]
    )


@_check("special")
def _check_special(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    fn = SPECIAL_CHECKS.get(rule["name"])
    if fn is None:
        raise RuleError(f"unknown special check {rule['name']!r}")
    return fn(ctx, rule)


# Rules that compare several tensors' shapes or options with each other: too
# particular to be table columns, each named from its table entry.
SPECIAL_CHECKS: dict[str, Callable[[OpContext, dict[str, Any]], CheckResult]] = {}


_special = _registrar(SPECIAL_CHECKS)


@_special("depthwise_channels")
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
        return _reason(
            ctx,
            rule,
            "output channels {out_c} != input channels {in_c} x depth_multiplier {m}",
            out_c=out_c,
            in_c=in_c,
            m=multiplier,
        )
    if multiplier != 1 and in_c != 1 and rule.get("multiplier_needs_single_channel", True):
        return _reason(ctx, rule, "depth_multiplier {m} with {in_c} input channels", m=multiplier, in_c=in_c)
    return None


@_special("broadcast_ranks")
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
            return _reason(ctx, rule, "inputs of rank {ra} and {rb} do not broadcast", ra=ra, rb=rb)
    return None


@_special("weights_quantization")
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
            return _reason(
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
            return _reason(
                ctx,
                rule,
                "weights are quantized per channel along axis {got}, expected {want}",
                got=q.quantized_dimension,
                want=axis,
            )
    return None


@_special("xnnpack_mixed_types")
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


@_special("xnnpack_quantize")
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


@_special("pool_stride_within_filter")
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


def _scale_zero_point(t: Tensor) -> tuple[float, int] | None:
    q = t.quantization
    if q is None or len(q.scale) != 1:
        return None
    return float(q.scale[0]), int(q.zero_point[0]) if len(q.zero_point) else 0


@_special("concat_same_quantization")
def _concat_same_quantization(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """8-bit CONCATENATION needs every input quantized like the output."""
    o = ctx.select("output:0")
    if not o or o[0][1].dtype not in ("INT8", "UINT8"):
        return None
    want = _scale_zero_point(o[0][1])
    for label, t in ctx.select("inputs"):
        if t.dtype == o[0][1].dtype and _scale_zero_point(t) != want:
            return f"mismatching quantization between {label} and the output"
    return None


@_special("same_quantization_in_out")
def _same_quantization_in_out(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    i, o = ctx.select("input:0"), ctx.select("output:0")
    if not i or not o or i[0][1].dtype not in ("INT8", "UINT8") or i[0][1].dtype != o[0][1].dtype:
        return None
    if _scale_zero_point(i[0][1]) != _scale_zero_point(o[0][1]):
        return f"mismatching quantization scale or zero point across the input and the output of {ctx.op.opcode}"
    return None


@_special("static_new_shape")
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


@_special("axes_within")
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
    return _reason(
        ctx,
        rule,
        "axis {axes} of {label} {dims}: only {allowed} supported",
        axes=bad if len(bad) > 1 else bad[0],
        label=label,
        dims=_dims(t),
        rank=rank,
        allowed=_AXES_WITHIN[rule["within"]],
    )


@_special("paddings_within")
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
    return _reason(
        ctx,
        rule,
        "padding along axis {axes} (paddings {paddings}): only along {allowed}",
        axes=bad if len(bad) > 1 else bad[0],
        paddings=[values[i : i + 2] for i in range(0, len(values), 2)],
        allowed=_AXES_WITHIN[rule["within"]],
    )


@_special("innermost_dims")
def _innermost_dims(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Only the `inner` innermost dimensions of the selected tensors may be larger than 1
    (the Edge TPU's rank rule with 3; a tensor that is "one-dimensional" in effect with 1)."""
    inner = rule.get("inner", 3)
    for label, t in ctx.select(rule.get("tensors", "runtime")):
        if any(d > 1 for d in t.shape[:-inner]):
            return _reason(
                ctx,
                rule,
                "{label} {dims}: only the {inner} innermost dimension(s) may be larger than 1",
                label=label,
                dims=_dims(t),
                inner=inner,
                rank=len(t.shape),
                name=t.name,
            )
    return None


@_special("max_elements")
def _max_elements(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    for label, t in ctx.select(rule["tensors"]):
        if t.num_elements > rule["max"]:
            return _reason(
                ctx,
                rule,
                "{label} has {n} elements, more than {max}",
                label=label,
                n=t.num_elements,
                max=rule["max"],
                dims=_dims(t),
            )
    return None


@_special("dims_at_most")
def _dims_at_most(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """The selected tensors' dimensions `axes` must be at most `max` (e.g. a kernel size limit)."""
    for label, t in ctx.select(rule["tensors"]):
        for axis in rule["axes"]:
            if axis < len(t.shape) and t.shape[axis] > rule["max"]:
                return _reason(
                    ctx,
                    rule,
                    "{label} {dims}: dimension {axis} is larger than {max}",
                    label=label,
                    dims=_dims(t),
                    axis=axis,
                    size=t.shape[axis],
                    max=rule["max"],
                )
    return None


@_special("squeeze_leading_ones")
def _squeeze_leading_ones(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """SQUEEZE without a relayout: every dimension before the last squeezed one is 1
    ([1,5,10] -> [5,10] is fine, [5,1,10] -> [5,10] is not)."""
    sel = ctx.select("input:0")
    if not sel:
        return None
    _, t = sel[0]
    rank = len(t.shape)
    dims = ctx.op.options.get("squeeze_dims") or [i for i, d in enumerate(t.shape) if d == 1]
    axes = [d + rank if d < 0 else d for d in dims]
    if not axes or all(d == 1 for d in t.shape[: max(axes)]):
        return None
    return _reason(
        ctx,
        rule,
        "squeezing axes {axes} of {dims} moves data (only leading 1s can be squeezed)",
        axes=axes,
        dims=_dims(t),
    )


@_special("concat_constant_zero")
def _concat_constant_zero(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A constant CONCATENATION input is only allowed as one of exactly 2 inputs, all zeroes (a zero-padding)."""
    constants = ctx.select("constant_inputs")
    if not constants:
        return None
    n = len(ctx.select("inputs"))
    label, t = constants[0]
    if n != 2:
        return _reason(
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
    return _reason(ctx, rule, "{label} is a constant that is not all zeroes", label=label, n=n)


def _is_fp16_dequantized_constant(ctx: OpContext, t: Tensor) -> bool:
    producer = ctx.subgraph.producers.get(t.index)
    if producer is None:
        return False
    op = ctx.subgraph.operators[producer]
    if op.opcode != "DEQUANTIZE" or not op.inputs or op.inputs[0] < 0:
        return False
    source = ctx.subgraph.tensors[op.inputs[0]]
    return source.dtype == "FLOAT16" and source.is_constant


@_special("constant_or_fp16_dequantize")
def _constant_or_fp16_dequantize(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Core ML's IsConstantTensor, after FP16GraphPartitionHelper has pointed the output of a
    DEQUANTIZE of a float16 constant back at that constant: stored values, or such an output.
    (A DEQUANTIZE of int8 weights is not remapped, so its output is not constant.)"""
    for label, t in ctx.select(rule["tensors"]):
        if not t.is_constant and not _is_fp16_dequantized_constant(ctx, t):
            return _reason(ctx, rule, "{label} ({name}) must be a constant", label=label, name=t.name)
    return None


@_special("coreml_binary")
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
            return _reason(
                ctx, rule, "{label} is {dtype} (needs float32, or a float16 constant)", label=label, dtype=t.dtype
            )
    (_, a), (_, b) = inputs
    if len(a.shape) > 4 or len(b.shape) > 4:
        why = "rank above 4"
    else:
        sa = (1,) * (4 - len(a.shape)) + tuple(a.shape)
        sb = (1,) * (4 - len(b.shape)) + tuple(b.shape)

        def scalar_constant(t: Tensor) -> bool:
            return (t.is_constant or _is_fp16_dequantized_constant(ctx, t)) and t.num_elements == 1

        why = None
        if sa[0] != sb[0] and not (scalar_constant(a) or scalar_constant(b)):
            why = "batch sizes differ"
        elif sa[1:3] != sb[1:3] and (1, 1) not in (sa[1:3], sb[1:3]):
            why = "height/width differ and neither is 1x1"
        elif sa[3] != sb[3] and 1 not in (sa[3], sb[3]):
            why = "channels differ and neither is 1"
    if why is None:
        return None
    return _reason(ctx, rule, "inputs {a} and {b} do not broadcast in Core ML: {why}", a=_dims(a), b=_dims(b), why=why)


def _is_fp16_constant_dequantize(sg: Subgraph, op: Operator) -> bool:
    if op.opcode != "DEQUANTIZE" or not op.inputs or op.inputs[0] < 0:
        return False
    source = sg.tensors[op.inputs[0]]
    return source.dtype == "FLOAT16" and source.is_constant


@_special("fp16_dequantize_whole_graph")
def _fp16_dequantize_whole_graph(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """FP16GraphPartitionHelper (tflite/delegates/utils.cc; GPU, NNAPI, Core ML): a DEQUANTIZE of a
    float16 constant is never a delegate node by itself (the ops reading it get the float16 constant
    instead). It is delegated with the rest when every other op of the subgraph is (full delegation);
    otherwise it stays on the CPU. Needs the table's `delegate` key."""
    sg = ctx.subgraph
    if not _is_fp16_constant_dequantize(sg, ctx.op):
        return None
    key = ("fp16_dequantize_blocker", rule["delegate"])
    if key not in ctx.subgraph_facts:
        rules, ops_by_code = load_rules(rule["delegate"]), op_index(rule["delegate"])
        ctx.subgraph_facts[key] = next(
            (
                op
                for op in sg.operators
                if not _is_fp16_constant_dequantize(sg, op)
                and evaluate_op(rules, ops_by_code, OpContext(ctx.model, sg, op, ctx.settings))
            ),
            None,
        )
    blocker = ctx.subgraph_facts[key]
    if blocker is None:
        return None
    return _reason(
        ctx,
        rule,
        "a DEQUANTIZE of a float16 constant is taken only with the whole graph, and op #{index} {other} is not",
        index=blocker.index,
        other=blocker.opcode,
    )


@_special("version_at_most")
def _version_at_most(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A version cap that needs its own message or a condition (`api_below`): NNAPI's
    ExpectOpVersion refuses versions above N but says "OP Version different from N"."""
    if ctx.op.version <= rule["max"]:
        return None
    return _reason(
        ctx,
        rule,
        "version {version} of {opcode} is not supported (at most {max})",
        version=ctx.op.version,
        max=rule["max"],
    )


@_special("input_slots")
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
    return _reason(ctx, rule, "{n} input slots, expected {expected}", n=n, expected=expected)


@_special("pool_filter_area")
def _pool_filter_area(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """filter_width * filter_height of a pooling op at most `max`."""
    w, h = ctx.op.options.get("filter_width", 1), ctx.op.options.get("filter_height", 1)
    if w * h <= rule["max"]:
        return None
    return _reason(
        ctx, rule, "filter {w}x{h} covers {area} elements, more than {max}", w=w, h=h, area=w * h, max=rule["max"]
    )


@_special("square_output")
def _square_output(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """A 4-D NHWC output must be as wide as it is high."""
    sel = ctx.select("output:0")
    if not sel or len(sel[0][1].shape) != 4:
        return None
    t = sel[0][1]
    if t.shape[1] == t.shape[2]:
        return None
    return _reason(ctx, rule, "output {dims} is not square", dims=_dims(t), height=t.shape[1], width=t.shape[2])


@_special("same_quantization_inputs")
def _same_quantization_inputs(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Every input quantized with the scale and zero point of input 0."""
    inputs = ctx.select("inputs")
    if not inputs:
        return None
    first = _scale_zero_point(inputs[0][1])
    for label, t in inputs[1:]:
        if _scale_zero_point(t) != first:
            return _reason(ctx, rule, "{label} is quantized differently from input 0", label=label)
    return None


@_special("option_nonempty")
def _option_nonempty(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """The list option `option` must be given and not empty (an absent option counts as empty)."""
    if ctx.op.options.get(rule["option"]):
        return None
    return _reason(ctx, rule, "{option} is empty", option=rule["option"])


@_special("axis_not_last")
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
    return _reason(ctx, rule, "axis {axis} is the last dimension", axis=axis, rank=rank)


@_special("same_shape")
def _same_shape(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    tensors = ctx.select(rule["tensors"])
    shapes = {tuple(t.shape) for _, t in tensors}
    if len(shapes) <= 1:
        return None
    return _reason(ctx, rule, "shapes differ: {dims}", dims=", ".join(_dims(t) for _, t in tensors))


@_special("same_padding_filter_below")
def _same_padding_filter_below(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """With SAME padding, filter height and width must stay below `limit`."""
    o = ctx.op.options
    w, h = o.get("filter_width", 1), o.get("filter_height", 1)
    if o.get("padding") != "SAME" or (w < rule["limit"] and h < rule["limit"]):
        return None
    return _reason(ctx, rule, "SAME padding with a {w}x{h} filter (needs < {limit})", w=w, h=h, limit=rule["limit"])


@_special("hexagon_depthwise")
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
        return f"filter height {w[0][1].shape[1]}: Hexagon needs a filter at least 2 high (filter {_dims(w[0][1])})"
    return None


@_special("nnapi_dequantize")
def _nnapi_dequantize(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """NNAPI DEQUANTIZE (Validate): a float16 runtime tensor is taken from SDK 30, before
    any other check; otherwise version 1 or 2 and a uint8 input (int8 from SDK 29, symmetric
    only at SDK 29). A float16 constant (a float16 weight) is left to the table's
    `fp16_dequantize_whole_graph` check: it makes DoPrepare use FP16GraphPartitionHelper."""
    level = ctx.settings.get("api_level", DEFAULT_NNAPI_API_LEVEL)
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
    elif level == 29 and t.dtype == "INT8" and (zp := _scale_zero_point(t)) is not None and zp[1] != 0:
        problems.append("NN API supports int8 type since version 1.2 but only for symmetric quantization.")
    return "; ".join(problems) or None


# GPU delegate (TfLiteGpuDelegateV2): the per-op checks of tflite/tools/versioning/gpu_compatibility.cc
# that compare tensors with each other, and the parsers' own rules in
# tflite/delegates/gpu/common/model_builder.cc. Messages are the runtime's.

_GPU_LOGICAL = ("EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL")


def _gpu_is_constant(ctx: OpContext, t: Tensor) -> bool:
    """`is_const` of the op signature the GPU checks see: stored values (kTfLiteMmapRo), or the output
    of a DEQUANTIZE of a float16 constant, which FP16GraphPartitionHelper points back at the constant
    before asking the parser."""
    return t.is_constant or _is_fp16_dequantized_constant(ctx, t)


@_special("gpu_inputs")
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
            return _reason(ctx, rule, "Op can only handle 1 or 2 operand(s).", n=n_runtime)
        return None
    if "const" in rule and n_const != rule["const"]:
        return f"Expected {rule['const']} const input tensor(s), but node has {n_const} const input(s)."
    runtime = rule.get("runtime")
    allowed = runtime if isinstance(runtime, list) else [runtime]
    if runtime is not None and n_runtime not in allowed:
        want = " or ".join(map(str, allowed))
        default = "Expected {want} runtime input tensor(s), but node has {n} runtime input(s)."
        return _reason(ctx, rule, default, want=want, n=n_runtime)
    if "outputs" in rule and n_outputs != rule["outputs"]:
        return f"Expected {rule['outputs']} output tensor(s), but node has {n_outputs} output(s)."
    return None


@_special("gpu_broadcast")
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
    return _reason(ctx, rule, "Doesn't support broadcasting - input0: [{a}], input1: [{b}]", **shapes)


@_special("gpu_cast")
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


@_special("gpu_logical_output")
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


@_special("gpu_select_v2")
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


@_special("gpu_one_hot")
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


@_special("gpu_depthwise")
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
        return _reason(ctx, rule, default, out_c=out_c, in_c=in_c, m=multiplier)
    if len(op.inputs) > 2:
        bias_elements = sg.tensors[op.inputs[2]].num_elements if op.inputs[2] >= 0 else 1
        if bias_elements != out_c:
            return "bias.size != output.c"
    return None


@_special("gpu_paddings")
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


@_special("gpu_options_not_both")
def _gpu_options_not_both(ctx: OpContext, rule: dict[str, Any]) -> CheckResult:
    """Refuses when the two boolean options `names` are both set (RESIZE_BILINEAR)."""
    first, second = rule["names"]
    if ctx.op.options.get(first) and ctx.op.options.get(second):
        return _reason(ctx, rule, "{first} and {second} are both set", first=first, second=second)
    return None


@_special("gpu_keep_num_dims")
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


@_special("gpu_lstm")
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


@_special("gpu_resampler")
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


# ------------------------------------------------------------------ one op


def _source(rule: dict[str, Any], entry: dict[str, Any] | None, delegate: dict[str, Any]) -> str:
    return rule.get("source") or (entry or {}).get("source") or delegate["source"]


def _applies(rule: dict[str, Any], ctx: OpContext) -> bool:
    """Conditional rules: `api_below`, `when_dtype` (selector and types), `opcodes`."""
    if "api_below" in rule and ctx.settings.get("api_level", DEFAULT_NNAPI_API_LEVEL) >= rule["api_below"]:
        return False
    if "opcodes" in rule and ctx.op.opcode not in rule["opcodes"]:
        return False
    if "skip_opcodes" in rule and ctx.op.opcode in rule["skip_opcodes"]:
        return False
    when = rule.get("when_dtype")
    if when is not None:
        tensors = ctx.select(when["tensors"])
        if not any(t.dtype in when["dtypes"] for _, t in tensors):
            return False
    when_q = rule.get("when_quantized")
    if when_q is not None:
        tensors = ctx.select(when_q)
        if not any(t.quantization is not None and t.quantization.is_quantized for _, t in tensors):
            return False
    return True


def evaluate_op(rules: dict[str, Any], ops_by_code: dict[str, dict[str, Any]], ctx: OpContext) -> list[Reason]:
    """Reasons the delegate refuses this op, ignoring graph-level effects; empty = taken."""
    delegate = rules["delegate"]
    op = ctx.op
    entry = ops_by_code.get(op.opcode)
    if entry is not None and entry.get("param_inputs"):
        ctx.param_inputs = tuple(entry["param_inputs"])
    if entry is None:
        template = delegate["custom_op_reason"] if op.is_custom else delegate["unknown_op_reason"]
        return [Reason(fmt_template(template, opcode=op.opcode), delegate.get("ops_source", delegate["source"]))]
    reasons: list[Reason] = []
    max_version = entry.get("max_version")
    if max_version is not None and op.version > max_version:
        reasons.append(
            Reason(
                fmt_template(delegate["max_version_reason"], max=max_version, version=op.version, opcode=op.opcode),
                entry.get("version_source") or entry.get("source") or delegate["source"],
            )
        )
    if op.version in entry.get("refused_versions", ()):
        reasons.append(
            Reason(
                fmt_template(
                    delegate.get("refused_version_reason", "unsupported version {version} of {opcode}"),
                    version=op.version,
                    opcode=op.opcode,
                ),
                entry.get("source") or delegate["source"],
            )
        )
    exact_version = entry.get("version")
    if exact_version is not None and op.version != exact_version:
        reasons.append(
            Reason(
                fmt_template(
                    delegate.get("exact_version_reason", "Version {version} is not supported (needs {exact})"),
                    exact=exact_version,
                    version=op.version,
                ),
                entry.get("source") or delegate["source"],
            )
        )
    if "min_api_level" in entry:
        level = ctx.settings.get("api_level", DEFAULT_NNAPI_API_LEVEL)
        if level < entry["min_api_level"]:
            reasons.append(
                Reason(
                    f"Android sdk version less than {entry['min_api_level']}", entry.get("source") or delegate["source"]
                )
            )
    for rule in [*rules.get("all_ops", []), *entry.get("checks", [])]:
        if not _applies(rule, ctx):
            continue
        message = CHECKS[rule["check"]](ctx, rule)
        if message is not None:
            source = _source(rule, entry, delegate)
            key = f"{rule['check']}|{rule.get('name', '')}|{rule.get('reason', '')}|{source}"
            reasons.append(Reason(message, source, key))
            if rule.get("final", False):
                break
    return reasons
