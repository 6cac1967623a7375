"""How a delegate partitions a subgraph, and the ops its partitioning sends back to the CPU.

Partitions are contiguous runs of taken ops in execution order. A delegate may fold the
unpacking of a stored weight (a DEQUANTIZE or DENSIFY) into the ops using it, may refuse
partitions below a size, keep only its largest partitions, or (the Edge TPU) map one segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..reading.model import Subgraph, Tensor
from .tables import Reason, fmt_template


def contiguous_runs(flags: Sequence[bool]) -> list[list[int]]:
    """The runs of consecutive True flags, as lists of positions."""
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


def apply_static_unpack(delegate: dict[str, Any], sg: Subgraph, per_op: list[list[Reason]]) -> list[list[Reason]]:
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


def apply_partitioning(delegate: dict[str, Any], sg: Subgraph, per_op: list[list[Reason]]) -> list[list[Reason]]:
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
    runs = contiguous_runs([not r for r in result])
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
