"""How a delegate partitions a subgraph, and the ops its partitioning sends back to the CPU.

A partition is what TFLite's partitioner makes of the ops a delegate claims
(`PartitionGraphIntoIndependentNodeSubsets`, tflite/graph_info.cc, called greedily by
Subgraph::PartitionGraph): ops are grouped by data flow, not by position, so two claimed
ops separated in execution order by a refused op that neither depends on share a partition.
A delegate may then fold the unpacking of a stored weight (a DEQUANTIZE or DENSIFY) into the
ops using it, refuse partitions below a size, keep only its largest partitions, or (the Edge
TPU) map one segment.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..reading.model import Subgraph
from .tables import Reason, fmt_template

GRAPH_INFO_SOURCE = "tflite/graph_info.cc (PartitionGraphIntoIndependentNodeSubsets)"
# Ops the runtime orders among themselves whatever the data flow (Subgraph::OpMightHaveSideEffect).
SIDE_EFFECT_OPCODES = frozenset({"IF", "WHILE", "CALL_ONCE"})


@dataclass(frozen=True)
class NodeSubset:
    """One group of the partitioner: ops all claimed by the delegate (`delegated`) or all not."""

    delegated: bool
    # Op indices in the order placed here (lowest ready index first); the runtime's order within
    # a subset may differ, which ops it holds does not.
    ops: tuple[int, ...]


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


def _has_side_effect(sg: Subgraph, op_index: int) -> bool:
    op = sg.operators[op_index]
    if op.opcode in SIDE_EFFECT_OPCODES:
        return True
    tensors = (*op.inputs, *op.outputs)
    return any(0 <= t < len(sg.tensors) and sg.tensors[t].dtype == "RESOURCE" for t in tensors)


def partition_graph(sg: Subgraph, claimed: Sequence[bool]) -> list[NodeSubset]:
    """The node subsets TFLite's greedy partitioner makes of `sg` when a delegate claims the ops
    flagged in `claimed` (one flag per op, execution order).

    Each subset (an "epoch" in graph_info.cc) takes its kind from the first op, in execution
    order, whose inputs are all produced by earlier subsets, then takes every op of that kind
    whose inputs become available, until none is left: the closure, so the order within
    the subset does not change which ops it holds. Ops with a side effect (a RESOURCE tensor,
    IF, WHILE, CALL_ONCE) additionally wait for the previous such op, as the runtime chains
    them when the model names no control dependencies.
    """
    n = len(sg.operators)
    producer: dict[int, int] = {}
    for op in sg.operators:
        for t in op.outputs:
            if t >= 0:
                producer[t] = op.index
    # Kahn-style counts: how many of each op's producing ops (data and side-effect order)
    # are not yet placed in a subset.
    waiting_on = [0] * n
    dependents: list[list[int]] = [[] for _ in range(n)]
    previous_side_effect = -1
    for op in sg.operators:
        before = {producer[t] for t in op.inputs if t >= 0 and t in producer}
        if _has_side_effect(sg, op.index):
            if previous_side_effect >= 0:
                before.add(previous_side_effect)
            previous_side_effect = op.index
        before.discard(op.index)  # an op reading its own output never becomes ready; leave it waiting
        if any(t >= 0 and producer.get(t) == op.index for t in op.inputs):
            waiting_on[op.index] += 1
        waiting_on[op.index] += len(before)
        for p in before:
            dependents[p].append(op.index)

    ready: dict[bool, list[int]] = {True: [], False: []}  # heaps of ready, unplaced ops by kind
    for i in range(n):
        if waiting_on[i] == 0:
            heapq.heappush(ready[bool(claimed[i])], i)
    subsets: list[NodeSubset] = []
    placed = 0
    while placed < n:
        firsts = [heap[0] for heap in ready.values() if heap]
        if not firsts:
            # An op waiting on itself or on a later op: the runtime's partitioner fails on such a
            # graph (kTfLiteError) and the delegate is not applied; the ops placed so far stand.
            break
        kind = bool(claimed[min(firsts)])
        queue = ready[kind]
        ops: list[int] = []
        while queue:
            i = heapq.heappop(queue)
            ops.append(i)
            for d in dependents[i]:
                waiting_on[d] -= 1
                if waiting_on[d] == 0:
                    heapq.heappush(ready[bool(claimed[d])], d)
        placed += len(ops)
        subsets.append(NodeSubset(kind, tuple(ops)))
    return subsets


def delegated_partitions(sg: Subgraph, claimed: Sequence[bool]) -> list[tuple[int, ...]]:
    """The partitions (sorted op indices) the runtime makes of the claimed ops, in its order."""
    return [tuple(sorted(s.ops)) for s in partition_graph(sg, claimed) if s.delegated]


def largest_partitions(partitions: Sequence[tuple[int, ...]], n: int, min_ops: int) -> list[tuple[int, ...]]:
    """GraphPartitionHelper::GetFirstNLargestPartitions (tflite/delegates/utils.cc): the `n`
    largest partitions by number of ops, stopping at the first with fewer than `min_ops`.
    The runtime's std::sort does not keep the order of equal sizes; we keep execution order."""
    ranked = sorted(partitions, key=len, reverse=True)
    chosen: list[tuple[int, ...]] = []
    for p in ranked[: n if n > 0 else len(ranked)]:
        if len(p) < min_ops:
            break
        chosen.append(p)
    return chosen


def unpack_candidates(delegate: dict[str, Any], sg: Subgraph) -> dict[int, int]:
    """XNNPACK's unpack nodes (PrepareOpsToDelegate): op index -> the tensor it unpacks into.

    A DEQUANTIZE of a stored (or already unpacked) float16 or quantized int8 tensor into
    float32, and a DENSIFY of a stored sparse float16/int8/float32 tensor, are not visited as
    ops: their output counts as static for the ops reading it, and the delegate unpacks it
    once while preparing."""
    candidates: dict[int, int] = {}
    unpacked: set[int] = set()
    for op in sg.operators:
        if op.opcode not in delegate.get("static_unpack", ()) or len(op.inputs) != 1 or len(op.outputs) != 1:
            continue
        src, out = op.inputs[0], op.outputs[0]
        if src < 0 or out < 0:
            continue
        t_in, t_out = sg.tensors[src], sg.tensors[out]
        if op.opcode == "DEQUANTIZE":
            unpackable = (
                t_in.sparsity is None
                and (t_in.is_constant or src in unpacked)
                and (t_in.dtype == "FLOAT16" or (t_in.dtype == "INT8" and t_in.quantization is not None))
                and t_out.dtype == "FLOAT32"
            )
        else:  # DENSIFY
            unpackable = (
                t_in.is_constant
                and t_in.sparsity is not None
                and t_in.dtype in ("FLOAT16", "INT8", "FLOAT32")
                and t_out.dtype == t_in.dtype
            )
        if unpackable:
            candidates[op.index] = out
            unpacked.add(out)
    return candidates


def apply_static_unpack(delegate: dict[str, Any], sg: Subgraph, per_op: list[list[Reason]]) -> list[list[Reason]]:
    """XNNPACK's unpack nodes are claimed unless an op the delegate refuses reads their output.

    As in PrepareOpsToDelegate, only a refused op that is itself visited (not another unpack
    node) withdraws the claim: a DENSIFY feeding a DEQUANTIZE stays claimed even when the
    DEQUANTIZE's consumer is refused. An unpack node nobody reads stays claimed too."""
    result = [list(r) for r in per_op]
    candidates = unpack_candidates(delegate, sg)
    producer_of = {out: index for index, out in candidates.items()}
    withdrawn: dict[int, int] = {}  # unpack node -> the first refused op reading its output
    for op in sg.operators:
        if op.index in candidates or not result[op.index]:
            continue
        for t in op.inputs:
            p = producer_of.get(t)
            if p is not None:
                withdrawn.setdefault(p, op.index)
    for index in candidates:
        op = sg.operators[index]
        if index not in withdrawn:
            result[index] = []
            continue
        user = withdrawn[index]
        result[index] = [
            Reason(
                f"{op.opcode} of a stored weight is folded into the ops reading it, but op #{user} "
                f"({sg.operators[user].opcode}) reads it and stays on the CPU",
                delegate["source"] + " (PrepareOpsToDelegate)",
                "static_unpack",
            )
        ]
    return result


def apply_partitioning(
    delegate: dict[str, Any], sg: Subgraph, per_op: list[list[Reason]]
) -> tuple[list[list[Reason]], list[tuple[int, ...]]]:
    """Send ops back to the CPU that the delegate's partitioning will not take; the ops and the
    partitions the runtime then delegates."""
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
    partitions = delegated_partitions(sg, [not r for r in result])
    min_ops = delegate.get("min_partition_ops", 1)
    max_partitions = delegate.get("max_partitions", 0)
    if min_ops > 1 or (max_partitions and len(partitions) > max_partitions):
        chosen = largest_partitions(partitions, max_partitions, min_ops)
        kept = {i for p in chosen for i in p}
        for p in partitions:
            if p[0] in kept:
                continue
            if len(p) < min_ops:
                text = fmt_template(delegate["min_partition_reason"], n=len(p), min=min_ops)
                rule = "min_partition"
            else:
                text = fmt_template(delegate["max_partitions_reason"], max=max_partitions, n=len(partitions),
                                    size=len(p))
                rule = "max_partitions"
            for i in p:
                result[i].append(Reason(text, source, rule))
        # The runtime hands the chosen ops to ReplaceNodeSubsetsWithDelegateKernels, which
        # partitions them again: the partitions it delegates are those of that second pass.
        partitions = delegated_partitions(sg, [not r for r in result])
    return result, partitions
