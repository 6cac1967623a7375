"""Which ops each delegate takes, and why it refuses the others.

The rules are data: one TOML table per delegate in `resources/delegates/`, written from the
delegate's own source (or, for the Edge TPU, Coral's documentation), each rule naming where it
comes from. This is the small engine that evaluates them on a `Model`:

1. per op, the op's table entry, version caps and checks (rules.py);
2. whole-graph rules: models compiled for an accelerator, Flex ops, data-dependent (dynamic)
   tensor sizes, several subgraphs;
3. how the delegate partitions the graph (partitions.py): caps on the number or size of
   partitions, and the Edge TPU's single segment, send more ops back to the CPU.

What the runtime really did is compared with the prediction in runtime_check.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..inspection.stats import operator_macs
from ..reading.model import Model, Operator, Subgraph, Tensor
from .context import OpContext
from .partitions import apply_partitioning, apply_static_unpack
from .rules import checked_rules, evaluate_op
from .settings import DelegateSettings
from .tables import GRAPH_RULES, Reason, fmt_template, op_index

DELEGATES = ("gpu", "xnnpack", "nnapi", "edgetpu", "hexagon", "coreml")


@dataclass(frozen=True)
class OpVerdict:
    subgraph: int
    index: int
    opcode: str
    version: int
    supported: bool
    reasons: tuple[Reason, ...]
    macs: int


@dataclass(frozen=True)
class DelegateReport:
    delegate: str
    title: str
    ops: tuple[OpVerdict, ...]
    partitions: int  # in all subgraphs
    graph_notes: tuple[Reason, ...]  # whole-graph findings, whether or not they refuse ops
    settings: DelegateSettings | None = None  # None: the delegate has no setting (only NNAPI has)
    # The delegated partitions as the runtime's partitioner makes them: (subgraph, op indices).
    partition_ops: tuple[tuple[int, tuple[int, ...]], ...] = ()

    @property
    def ops_total(self) -> int:
        return len(self.ops)

    @property
    def ops_supported(self) -> int:
        return sum(v.supported for v in self.ops)

    @property
    def macs_total(self) -> int:
        return sum(v.macs for v in self.ops)

    @property
    def macs_supported_fraction(self) -> float | None:
        total = self.macs_total
        return None if total == 0 else sum(v.macs for v in self.ops if v.supported) / total

    def macs_fraction_at(self, op_macs: Callable[[OpVerdict], int], which: Callable[[OpVerdict], bool]) -> float | None:
        """The share of MACs in the ops `which` picks, each op's MACs given by `op_macs`: the
        figures at shapes the interpreter resolved, where the verdicts' own are at static shapes."""
        total = sum(op_macs(v) for v in self.ops)
        return None if total == 0 else sum(op_macs(v) for v in self.ops if which(v)) / total

    def fallbacks(self) -> list[OpVerdict]:
        return [v for v in self.ops if not v.supported]

    def fallbacks_by_reason(self) -> dict[str, list[OpVerdict]]:
        """CPU-fallback ops grouped by the rule behind their first reason (the one a user fixes
        first), largest group first. A group whose messages differ (the same rank rule on
        different tensors) is labelled with its first message and "and N similar"."""
        groups: dict[str, list[OpVerdict]] = {}
        for v in self.fallbacks():
            first = v.reasons[0]
            groups.setdefault(first.rule or first.text, []).append(v)
        labelled: dict[str, list[OpVerdict]] = {}
        for ops in sorted(groups.values(), key=len, reverse=True):
            texts = {v.reasons[0].text for v in ops}
            label = ops[0].reasons[0].text
            if len(texts) > 1:
                label += f" (and {len(texts) - 1} similar)"
            labelled[label] = ops
        return labelled

    def verdict(self, subgraph: int, index: int) -> OpVerdict | None:
        return self._verdicts_by_op.get((subgraph, index))

    # A frozen dataclass still allows cached_property, which writes the instance dict.
    @functools.cached_property
    def _verdicts_by_op(self) -> dict[tuple[int, int], OpVerdict]:
        return {(v.subgraph, v.index): v for v in self.ops}

    def subgraph_verdicts(self, subgraph: int) -> list[OpVerdict]:
        return [v for v in self.ops if v.subgraph == subgraph]

    def subgraph_partitions(self, subgraph: int) -> list[tuple[int, ...]]:
        """The predicted partitions of one subgraph (op indices), in the runtime's order."""
        return [ops for sg, ops in self.partition_ops if sg == subgraph]


def _graph_rules() -> dict[str, Any]:
    """Graph-level rules shared by all delegates (resources/delegates/graph.toml)."""
    return checked_rules(GRAPH_RULES)


def _compiled_op_reasons(op: Operator, delegate_key: str) -> list[Reason] | None:
    """For a custom op that is a model compiled for an accelerator: no reasons when this
    delegate runs it, else why not. None for every other op."""
    for compiled in _graph_rules().get("compiled", []):
        if op.opcode in compiled["custom_codes"]:
            if delegate_key in compiled.get("runs_on", []):
                return []
            return [Reason(fmt_template(compiled["reason"], opcode=op.opcode), compiled["source"])]
    return None


def dynamic_tensors(model: Model, sg: Subgraph) -> list[tuple[Operator, Tensor]]:
    """Ops whose output size depends on values only known at run time.

    TFLite marks such outputs dynamic when it prepares the graph, and a delegate
    without dynamic-tensor support is then refused the whole graph
    (core/subgraph.cc, ModifyGraphWithDelegate). Inputs declared with -1 are
    not dynamic by themselves: the interpreter allocates them at the stored shape.
    """
    rules = {r["opcode"]: r for r in _graph_rules().get("data_dependent", [])}
    found = []
    for op in sg.operators:
        rule = rules.get(op.opcode)
        if rule is None:
            continue
        positions = rule.get("shape_inputs")
        if positions is None:
            dynamic = True  # the output size depends on input values (WHERE, UNIQUE, ...)
        else:
            dynamic = False
            for p in positions:
                if p < len(op.inputs) and op.inputs[p] >= 0:
                    t = sg.tensors[op.inputs[p]]
                    if not t.is_constant:
                        dynamic = True
        if dynamic and op.outputs and op.outputs[0] >= 0:
            found.append((op, sg.tensors[op.outputs[0]]))
    return found


def analyze(model: Model, delegate_key: str, settings: DelegateSettings = DelegateSettings()) -> DelegateReport:
    """Evaluate one delegate's rules on every op of every subgraph."""
    rules = checked_rules(delegate_key)
    delegate = rules["delegate"]
    ops_by_code = op_index(delegate_key)
    has_settings = bool(delegate.get("has_api_level"))
    graph_notes: list[Reason] = []

    flex = sorted({op.opcode for sg in model.subgraphs for op in sg.operators if op.is_flex})
    if flex:
        graph_notes.append(
            Reason(
                fmt_template(
                    _graph_rules()["flex"]["reason"], ops=", ".join(flex[:5]) + (" ..." if len(flex) > 5 else "")
                ),
                _graph_rules()["flex"]["source"],
            )
        )

    refuse_graph: Reason | None = None
    if has_settings and delegate.get("min_api_level") and settings.api_level < delegate["min_api_level"]:
        refuse_graph = Reason(
            fmt_template(delegate["min_api_level_reason"], level=delegate["min_api_level"]),
            delegate["source"],
            "min_api_level",
        )

    verdicts: list[OpVerdict] = []
    partition_ops: list[tuple[int, tuple[int, ...]]] = []
    for sg in model.subgraphs:
        dynamic = dynamic_tensors(model, sg) if not delegate.get("dynamic_tensors", False) else []
        sg_refusal = refuse_graph
        if dynamic and sg_refusal is None:
            op, t = dynamic[0]
            more = f" (and {len(dynamic) - 1} more)" if len(dynamic) > 1 else ""
            sg_refusal = Reason(
                fmt_template(
                    _graph_rules()["dynamic"]["reason"],
                    title=delegate["title"],
                    tensor=t.name,
                    opcode=op.opcode,
                    index=op.index,
                )
                + more,
                _graph_rules()["dynamic"]["source"],
                "dynamic",
            )
            graph_notes.append(Reason(f"subgraph {sg.index}: {sg_refusal.text}", sg_refusal.source))
        if sg.index > 0 and delegate.get("single_subgraph"):
            sg_refusal = sg_refusal or Reason(delegate["single_subgraph_reason"], delegate["source"])

        per_op: list[list[Reason]] = []
        subgraph_facts: dict[Any, Any] = {}
        for op in sg.operators:
            reasons = _compiled_op_reasons(op, delegate_key)
            if reasons is None:
                ctx = OpContext(model, sg, op, settings, subgraph_facts=subgraph_facts, rules=rules,
                                ops_by_code=ops_by_code, evaluate=evaluate_op)
                reasons = evaluate_op(ctx)
            per_op.append(reasons)

        if delegate.get("static_unpack"):
            per_op = apply_static_unpack(delegate, sg, per_op)
        if sg_refusal is not None:  # after the unpacking, which would otherwise clear it from unpack nodes
            per_op = [[sg_refusal, *reasons] for reasons in per_op]
        per_op, sg_partitions = apply_partitioning(delegate, sg, per_op)
        partition_ops += [(sg.index, ops) for ops in sg_partitions]
        for op, reasons in zip(sg.operators, per_op, strict=True):
            verdicts.append(
                OpVerdict(
                    subgraph=sg.index,
                    index=op.index,
                    opcode=op.opcode,
                    version=op.version,
                    supported=not reasons,
                    reasons=tuple(reasons),
                    macs=operator_macs(sg, op) or 0,
                )
            )
    if len(model.subgraphs) > 1 and delegate.get("single_subgraph"):
        graph_notes.append(Reason(delegate["single_subgraph_reason"], delegate["source"]))
    if refuse_graph is not None:
        graph_notes.append(refuse_graph)
    return DelegateReport(
        delegate=delegate_key,
        title=delegate["title"],
        ops=tuple(verdicts),
        partitions=len(partition_ops),
        graph_notes=tuple(graph_notes),
        settings=settings if has_settings else None,
        partition_ops=tuple(partition_ops),
    )


def analyze_all(model: Model, delegates: Iterable[str] = DELEGATES,
                settings: DelegateSettings = DelegateSettings()) -> dict[str, DelegateReport]:
    return {d: analyze(model, d, settings) for d in delegates}
