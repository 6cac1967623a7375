"""One op as a delegate's checks see it (`OpContext`), the registries the check modules fill, and
the helpers every check uses to word its refusal.

Each check takes an `OpContext` and its TOML table and returns None (the op passes) or the
message explaining the refusal. Generic checks are named by `check = "..."` in a table
(checks.py); the few rules that relate several tensors or options to each other are
`check = "special"` with a `name` (special_checks.py, delegate_checks.py, gpu_checks.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError, RuleError
from ..reading.model import Model, Operator, Subgraph, Tensor
from ..reading.tensor_data import tensor_array
from .partitions import unpack_candidates
from .settings import DelegateSettings
from .tables import fmt_template

@dataclass
class OpContext:
    """One op as the checks see it, with the delegate's settings."""

    model: Model
    subgraph: Subgraph
    op: Operator
    settings: DelegateSettings
    # Input positions that are parameters (shape, axes, paddings), which the
    # op's own checks look at; the `runtime` selectors leave them out.
    param_inputs: tuple[int, ...] = ()
    # One dict per subgraph and analysis, shared by its ops' contexts: for
    # facts about the whole subgraph that several ops' checks need.
    subgraph_facts: dict[Any, Any] = field(default_factory=dict)
    # The delegate's table and its ops by code, and the evaluation of one op (rules.evaluate_op),
    # for the rules that ask what the delegate does with the other ops of the subgraph.
    rules: dict[str, Any] = field(default_factory=dict)
    ops_by_code: dict[str, dict[str, Any]] = field(default_factory=dict)
    evaluate: Callable[[OpContext], list[Any]] | None = None

    def sibling(self, op: Operator) -> OpContext:
        """The context of another op of the same subgraph, for the same delegate and analysis."""
        return OpContext(self.model, self.subgraph, op, self.settings, subgraph_facts=self.subgraph_facts,
                         rules=self.rules, ops_by_code=self.ops_by_code, evaluate=self.evaluate)

    def refused(self, op: Operator) -> bool:
        """Whether the delegate refuses another op of the subgraph (its own checks, not the graph's)."""
        if self.evaluate is None:
            raise RuleError("this rule needs the evaluation of other ops, which the context was not given")
        return bool(self.evaluate(self.sibling(op)))

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
        runtime_inputs = [(n, t) for n, t in data if not self.is_static(t)]
        return present, runtime_inputs, outputs

    def select(self, selector: str) -> list[tuple[str, Tensor]]:
        """Tensors named by a selector, each with a label for messages.

        Selectors: inputs, outputs, all, runtime_inputs, constant_inputs,
        runtime (runtime inputs and outputs), input:N, output:N.
        """
        present_inputs, runtime_inputs, outputs = self._tensor_lists
        if selector == "inputs":
            return present_inputs
        if selector == "outputs":
            return outputs
        if selector == "all":
            return present_inputs + outputs
        if selector == "runtime_inputs":
            return runtime_inputs
        if selector == "constant_inputs":
            return [(n, t) for n, t in present_inputs if t.is_constant]
        if selector == "runtime":
            return runtime_inputs + outputs
        kind, _, position = selector.partition(":")
        op = self.op
        if kind in ("input", "output") and position.lstrip("-").isdigit():
            indices = op.inputs if kind == "input" else op.outputs
            i = int(position)
            if -len(indices) <= i < len(indices) and (t := self.tensor(indices[i])) is not None:
                return [(f"{kind} {i % len(indices)}", t)]
            return []
        raise RuleError(f"unknown tensor selector {selector!r}")

    def each(self, selector: str) -> list[tuple[str, Tensor]]:
        """`select`, each tensor once (with the label of its first place), for checks of a
        tensor's own properties: an op may read one tensor many times (a crafted one reads a
        tensor of rank 10,000 through 10,000 inputs), and checking it again says nothing new."""
        seen: set[int] = set()
        distinct = []
        for label, t in self.select(selector):
            if id(t) not in seen:
                seen.add(id(t))
                distinct.append((label, t))
        return distinct

    def is_static(self, t: Tensor) -> bool:
        """Stored in the file, or (for a delegate that unpacks stored weights while preparing,
        XNNPACK) the output of such an unpacking: the delegate checks those as weights, never as
        activations, so a sparse int8 weight's per-channel scales are no activation's."""
        return t.is_constant or t.index in self._unpacked_weights

    @functools.cached_property
    def _unpacked_weights(self) -> frozenset[int]:
        delegate = self.rules.get("delegate", {})
        if not delegate.get("static_unpack"):
            return frozenset()
        unpacked = self.subgraph_facts.get("unpacked_weights")
        if unpacked is None:  # once per subgraph and analysis
            unpacked = self.subgraph_facts["unpacked_weights"] = frozenset(
                unpack_candidates(delegate, self.subgraph).values())
        return unpacked

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


def dims(t: Tensor) -> str:
    return "[" + ",".join(str(d) for d in (t.shape_signature or t.shape)) + "]"


# Each check returns None when the op passes, else the message; `rule` is the
# TOML table of the check. Message fields are filled from the rule's
# `reason` template when it has one, else a default in the delegate-neutral
# wording below.
CheckResult = str | None


CHECKS: dict[str, Callable[[OpContext, dict[str, Any]], CheckResult]] = {}


def registrar(registry: dict[str, Callable[..., CheckResult]]) -> Callable[[str], Callable[..., Any]]:
    def by_name(name: str) -> Callable[[Callable[..., CheckResult]], Callable[..., CheckResult]]:
        def register(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
            registry[name] = fn
            return fn

        return register

    return by_name


check = registrar(CHECKS)


def reason(ctx: OpContext, rule: dict[str, Any], default: str, **values: Any) -> str:
    return fmt_template(rule.get("reason", default), opcode=ctx.op.opcode, **values)


# Rules that compare several tensors' shapes or options with each other: too
# particular to be table columns, each named from its table entry.
SPECIAL_CHECKS: dict[str, Callable[[OpContext, dict[str, Any]], CheckResult]] = {}


special = registrar(SPECIAL_CHECKS)


def scale_zero_point(t: Tensor) -> tuple[float, int] | None:
    q = t.quantization
    if q is None or len(q.scale) != 1:
        return None
    return float(q.scale[0]), int(q.zero_point[0]) if len(q.zero_point) else 0


def is_fp16_dequantized_constant(ctx: OpContext, t: Tensor) -> bool:
    producer = ctx.subgraph.producers.get(t.index)
    if producer is None:
        return False
    op = ctx.subgraph.operators[producer]
    if op.opcode != "DEQUANTIZE" or not op.inputs or op.inputs[0] < 0:
        return False
    source = ctx.subgraph.tensors[op.inputs[0]]
    return source.dtype == "FLOAT16" and source.is_constant
