"""Which ops each delegate takes, and why it refuses the others.

The rules are data: one TOML table per delegate in `resources/delegates/`,
written from the delegate's own source (or, for the Edge TPU, Coral's
documentation), each rule naming where it comes from. This module is the small
engine that evaluates them on a `Model`:

1. per op, the op's table entry (or the delegate's "unknown op" rule), the
   version cap, and the checks every op of that delegate must pass;
2. whole-graph rules: models compiled for an accelerator, Flex ops,
   data-dependent (dynamic) tensor sizes, several subgraphs;
3. how the delegate partitions the graph: partitions are contiguous runs of
   taken ops in execution order; caps on their number or size, and the Edge
   TPU's single segment, send more ops back to the CPU.

For XNNPACK, `delegated_ops_from_nodes` reads what the runtime really did
(the DELEGATE nodes of a loaded interpreter) so the prediction can be checked.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tflite_inspector.core.analysis import operator_macs
from tflite_inspector.core.delegate_rules import (
    DEFAULT_NNAPI_API_LEVEL,
    GRAPH_RULES,
    OpContext,
    Reason,
    evaluate_op,
    fmt_template,
    load_rules,
    op_index,
)
from tflite_inspector.core.model import Model, Operator, Subgraph, Tensor
from tflite_inspector.core.runtime import RuntimeWorker

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
    partitions: int
    graph_notes: tuple[Reason, ...]  # whole-graph findings, whether or not they refuse ops
    settings: dict[str, Any] = field(default_factory=dict)

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


# ------------------------------------------------------------------ evaluation


# Graph-level rules shared by all delegates (resources/delegates/graph.toml).


def _graph_rules() -> dict[str, Any]:
    return load_rules(GRAPH_RULES)


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


def _runs(flags: Sequence[bool]) -> list[list[int]]:
    runs: list[list[int]] = []
    current: list[int] = []
    for i, ok in enumerate(flags):
        if ok:
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def analyze(model: Model, delegate_key: str, *, api_level: int = DEFAULT_NNAPI_API_LEVEL) -> DelegateReport:
    """Evaluate one delegate's rules on every op of every subgraph."""
    rules = load_rules(delegate_key)
    delegate = rules["delegate"]
    ops_by_code = op_index(delegate_key)
    settings: dict[str, Any] = {}
    if delegate.get("has_api_level"):
        settings["api_level"] = api_level
    graph_notes: list[Reason] = []
    graph_source = _graph_rules()["source"]

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
    if delegate.get("min_api_level") and settings.get("api_level", 1 << 30) < delegate["min_api_level"]:
        refuse_graph = Reason(
            fmt_template(delegate["min_api_level_reason"], level=delegate["min_api_level"]),
            delegate["source"],
            "min_api_level",
        )

    verdicts: list[OpVerdict] = []
    partitions = 0
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
                ctx = OpContext(model, sg, op, settings, subgraph_facts=subgraph_facts)
                reasons = evaluate_op(rules, ops_by_code, ctx)
            if sg_refusal is not None:
                reasons = [sg_refusal, *reasons]
            per_op.append(reasons)

        if delegate.get("static_unpack"):
            per_op = _apply_static_unpack(delegate, sg, per_op)
        per_op = _apply_partitioning(delegate, sg, per_op)
        flags = [not r for r in per_op]
        partitions += len(_runs(flags))
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
    del graph_source
    return DelegateReport(
        delegate=delegate_key,
        title=delegate["title"],
        ops=tuple(verdicts),
        partitions=partitions,
        graph_notes=tuple(graph_notes),
        settings=settings,
    )


def _apply_static_unpack(delegate: dict[str, Any], sg: Subgraph, per_op: list[list[Reason]]) -> list[list[Reason]]:
    """An unpack op (DEQUANTIZE of a stored float16/int8 weight) is folded into its
    consumers: taken if every consumer is, else left to the CPU."""
    result = [list(r) for r in per_op]
    for op in sg.operators:
        if op.opcode not in delegate["static_unpack"] or len(op.inputs) != 1 or len(op.outputs) != 1:
            continue
        src, out = op.inputs[0], op.outputs[0]
        if src < 0 or out < 0:
            continue
        t_in, t_out = sg.tensors[src], sg.tensors[out]
        unpackable = (
            (
                t_in.sparsity is None
                and (t_in.is_constant or _is_unpacked(sg, t_in))
                and (t_in.dtype == "FLOAT16" or (t_in.dtype == "INT8" and t_in.quantization is not None))
                and t_out.dtype == "FLOAT32"
            )
            if op.opcode == "DEQUANTIZE"
            else (
                t_in.is_constant
                and t_in.sparsity is not None
                and t_in.dtype in ("FLOAT16", "INT8", "FLOAT32")
                and t_out.dtype == t_in.dtype
            )
        )
        if not unpackable:
            continue
        consumers = sg.consumers.get(out, [])
        refused = [c for c in consumers if result[c]]
        if consumers and not refused:
            result[op.index] = []
        else:
            why = (
                f"op #{refused[0]} ({sg.operators[refused[0]].opcode}) that uses it stays on the CPU"
                if refused
                else "nothing uses it"
            )
            result[op.index] = [
                Reason(
                    f"{op.opcode} of a stored weight is folded into the ops using it, but {why}",
                    delegate["source"] + " (PrepareOpsToDelegate)",
                    "static_unpack",
                )
            ]
    return result


def _is_unpacked(sg: Subgraph, t: Tensor) -> bool:
    producer = sg.producers.get(t.index)
    if producer is None:
        return False
    op = sg.operators[producer]
    return op.opcode == "DENSIFY" and bool(op.inputs) and op.inputs[0] >= 0 and sg.tensors[op.inputs[0]].is_constant


def _apply_partitioning(delegate: dict[str, Any], sg: Subgraph, per_op: list[list[Reason]]) -> list[list[Reason]]:
    """Send ops back to the CPU that the delegate's partitioning will not take."""
    result = [list(r) for r in per_op]
    source = delegate["source"]
    if delegate.get("first_unsupported_stops"):
        # One segment: from the first op it can map to the first it cannot after
        # that. Unmappable ops before the segment (a leading CAST or QUANTIZE) do
        # not end it: Coral's compiled movenet maps everything after them.
        started = False
        stopped_at: int | None = None
        for i, reasons in enumerate(result):
            if stopped_at is not None and not reasons:
                reasons.append(
                    Reason(
                        fmt_template(
                            delegate["first_unsupported_stops_reason"],
                            index=stopped_at,
                            opcode=sg.operators[stopped_at].opcode,
                        ),
                        delegate.get("first_unsupported_stops_source", source),
                        "first_unsupported_stops",
                    )
                )
            elif not reasons:
                started = True
            elif started and stopped_at is None:
                stopped_at = i
    runs = _runs([not r for r in result])
    min_ops = delegate.get("min_partition_ops", 1)
    for run in runs:
        if len(run) < min_ops:
            for i in run:
                result[i].append(
                    Reason(
                        fmt_template(delegate["min_partition_reason"], n=len(run), min=min_ops), source, "min_partition"
                    )
                )
    runs = [run for run in runs if len(run) >= min_ops]
    max_partitions = delegate.get("max_partitions", 0)
    if max_partitions and len(runs) > max_partitions:
        keep = sorted(runs, key=len, reverse=True)[:max_partitions]
        kept = {i for run in keep for i in run}
        for run in runs:
            for i in run:
                if i not in kept:
                    result[i].append(
                        Reason(
                            fmt_template(
                                delegate["max_partitions_reason"], max=max_partitions, n=len(runs), size=len(run)
                            ),
                            source,
                            "max_partitions",
                        )
                    )
    return result


def analyze_all(
    model: Model, delegates: Iterable[str] = DELEGATES, *, api_level: int = DEFAULT_NNAPI_API_LEVEL
) -> dict[str, DelegateReport]:
    return {d: analyze(model, d, api_level=api_level) for d in delegates}


# ----------------------------------------------------------- runtime ground truth


@dataclass(frozen=True)
class RuntimeComparison:
    """What the rules predicted for subgraph 0 next to what the runtime delegated."""

    delegate: str
    delegated: frozenset[int]  # op indices of subgraph 0 inside a DELEGATE node
    partitions: int
    ops: tuple[tuple[int, str, bool, bool], ...]  # (index, opcode, predicted, delegated)

    @property
    def agreement(self) -> float | None:
        if not self.ops:
            return None
        return sum(p == d for _, _, p, d in self.ops) / len(self.ops)

    def disagreements(self) -> list[tuple[int, str, bool, bool]]:
        return [row for row in self.ops if row[2] != row[3]]


def delegated_ops_from_nodes(sg: Subgraph, nodes: Iterable[tuple[Sequence[int], Sequence[int]]]) -> frozenset[int]:
    """Ops of `sg` that DELEGATE nodes (inputs, outputs) replaced.

    A delegate node's inputs (constants included) and outputs bound its
    partition. Walking back from the outputs through producers, stopping at the
    inputs, finds the ops that feed an output. Ops without a visible output
    (ASSIGN_VARIABLE, or a slice feeding only one) are found forwards: an op
    is inside when all its inputs are available inside the partition, it
    produces none of the partition's inputs, and whatever it produces is either
    a partition output or used only inside.
    """
    producers, consumers = sg.producers, sg.consumers
    graph_outputs = set(sg.outputs)
    nodes = [(set(i), set(o)) for i, o in nodes]
    crossing = set().union(*(i for i, _ in nodes)) if nodes else set()
    taken: set[int] = set()
    for boundary, exported in nodes:
        inside: set[int] = set()
        stack = [producers[t] for t in exported if t in producers]
        while stack:
            index = stack.pop()
            if index in inside:
                continue
            inside.add(index)
            for t in sg.operators[index].inputs:
                if t >= 0 and t not in boundary and t in producers:
                    stack.append(producers[t])
        # Forwards: ops fed only from inside, producing nothing that enters a
        # partition from outside; then keep those whose results stay inside
        # (greatest fixpoint, so a chain of CPU ops ending in a graph output
        # drops out link by link).
        available = set(boundary)
        candidates: set[int] = set()
        for op in sg.operators:
            if op.index in inside:
                available.update(t for t in op.outputs if t >= 0)
                continue
            ins = [t for t in op.inputs if t >= 0]
            if ins and all(t in available for t in ins) and not any(t in crossing - exported for t in op.outputs):
                candidates.add(op.index)
                available.update(t for t in op.outputs if t >= 0)
        kept = candidates | inside
        changed = True
        while changed:
            changed = False
            for index in sorted(kept - inside):
                outs = [t for t in sg.operators[index].outputs if t >= 0]
                if not all(
                    t in exported or (t not in graph_outputs and all(c in kept for c in consumers.get(t, ())))
                    for t in outs
                ):
                    kept.discard(index)
                    changed = True
        taken |= kept
    return frozenset(taken)


def compare_with_runtime(
    report: DelegateReport, sg: Subgraph, delegated: frozenset[int], partitions: int
) -> RuntimeComparison:
    rows = tuple((v.index, v.opcode, v.supported, v.index in delegated) for v in report.ops if v.subgraph == sg.index)
    return RuntimeComparison(report.delegate, delegated, partitions, rows)


def check_xnnpack_against_runtime(model: Model, report: DelegateReport, worker: RuntimeWorker) -> RuntimeComparison:
    """Load the model in the interpreter (in `worker`'s process) and compare subgraph 0.

    Raises RuntimeFailure when the interpreter cannot load or allocate the model
    (unresolved custom ops, Flex ops, invalid quantization...).
    """
    nodes = worker.default_delegate_nodes(str(model.path))
    sg = model.subgraphs[0]
    delegated = delegated_ops_from_nodes(sg, [(n.inputs, n.outputs) for n in nodes.delegate_nodes])
    return compare_with_runtime(report, sg, delegated, len(nodes.delegate_nodes))


# ------------------------------------------------------------------- JSON form


def report_dict(report: DelegateReport) -> dict[str, Any]:
    fraction = report.macs_supported_fraction
    return {
        "title": report.title,
        "ops_supported": report.ops_supported,
        "ops_total": report.ops_total,
        "macs_supported_fraction": None if fraction is None else round(fraction, 6),
        "partitions": report.partitions,
        "settings": report.settings,
        "graph_notes": [{"text": r.text, "source": r.source} for r in report.graph_notes],
        "fallbacks_by_reason": [
            {"reason": reason, "count": len(ops), "ops": [[v.subgraph, v.index] for v in ops]}
            for reason, ops in report.fallbacks_by_reason().items()
        ],
        "ops": [
            {
                "subgraph": v.subgraph,
                "index": v.index,
                "opcode": v.opcode,
                "version": v.version,
                "supported": v.supported,
                "reasons": [{"text": r.text, "source": r.source} for r in v.reasons],
            }
            for v in report.ops
        ],
    }


def comparison_dict(comparison: RuntimeComparison) -> dict[str, Any]:
    return {
        "subgraph": 0,
        "partitions": comparison.partitions,
        "agreement": comparison.agreement,
        "ops": [
            {"subgraph": 0, "index": index, "opcode": opcode, "predicted": predicted, "delegated": delegated}
            for index, opcode, predicted, delegated in comparison.ops
        ],
        "disagreements": [
            {"index": index, "opcode": opcode, "predicted": predicted, "delegated": delegated}
            for index, opcode, predicted, delegated in comparison.disagreements()
        ],
    }


# ------------------------------------------------------------------- text form

_OPS_PER_REASON = 6


def format_compat_text(
    model: Model,
    reports: dict[str, DelegateReport],
    comparison: RuntimeComparison | None = None,
    runtime_failure: str | None = None,
    *,
    verbose: bool = False,
) -> str:
    """A table of delegates, then each delegate's CPU fallbacks grouped by reason."""
    lines = [str(model.path)]
    lines.append(f"  {'delegate':<10} {'ops taken':>16} {'MACs taken':>11} {'partitions':>11}")
    for report in reports.values():
        fraction = report.macs_supported_fraction
        share = report.ops_supported / report.ops_total if report.ops_total else 0.0
        taken = f"{report.ops_supported}/{report.ops_total} ({share:.0%})"
        macs = "-" if fraction is None else f"{fraction:.1%}"
        lines.append(f"  {report.title:<10} {taken:>16} {macs:>11} {report.partitions:>11}")
    for report in reports.values():
        fallbacks = report.fallbacks_by_reason()
        if not fallbacks and not report.graph_notes:
            continue
        lines.append("")
        lines.append(f"{report.title}: {len(report.fallbacks())} op(s) run on the CPU")
        for note in report.graph_notes:
            lines.append(f"  note: {note.text}  [{note.source}]")
        for reason, ops in fallbacks.items():
            shown = ops if verbose else ops[:_OPS_PER_REASON]
            where = ", ".join(f"{'' if v.subgraph == 0 else f'{v.subgraph}:'}#{v.index} {v.opcode}" for v in shown)
            more = f", ... {len(ops) - len(shown)} more" if len(shown) < len(ops) else ""
            lines.append(f"  - {reason}  [{ops[0].reasons[0].source}]")
            lines.append(f"      {len(ops)} op(s): {where}{more}")
    if comparison is not None:
        lines.append("")
        agreement = comparison.agreement
        lines.append(
            f"XNNPACK runtime (LiteRT interpreter, subgraph 0): prediction agrees on "
            f"{len(comparison.ops) - len(comparison.disagreements())} of {len(comparison.ops)} ops"
            + ("" if agreement is None else f" ({agreement:.1%})")
            + f"; the runtime made {comparison.partitions} delegate partition(s)"
        )
        for index, opcode, predicted, delegated in comparison.disagreements():
            lines.append(
                f"  - #{index} {opcode}: predicted {'XNNPACK' if predicted else 'CPU'}, runtime "
                f"{'delegated it' if delegated else 'kept it on the CPU'}"
            )
    elif runtime_failure is not None:
        lines.append("")
        lines.append(f"XNNPACK runtime: not checked, the interpreter refused the model: {runtime_failure}")
    return "\n".join(lines)
