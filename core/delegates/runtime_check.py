"""What a delegate really did, beside what its rules predicted.

The interpreter replaces each partition it delegates with a DELEGATE node; from those nodes'
inputs and outputs, `delegated_ops_from_nodes` finds the ops of subgraph 0 inside each
partition. The nodes come from the interpreter's worker process (runtime/); this module only
reads them, so the rule engine never starts a process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from typing import Protocol

from ..reading.model import Subgraph
from .engine import DelegateReport


class DelegateNode(Protocol):
    """A DELEGATE node as the interpreter reports it (runtime.protocol.DelegateNode is one)."""

    inputs: Sequence[int]
    outputs: Sequence[int]


@dataclass(frozen=True)
class OpDelegation:
    """One op of subgraph 0: what the rules predicted and what the runtime did."""

    index: int
    opcode: str
    predicted: bool  # the rules say the delegate takes it
    delegated: bool  # the runtime put it inside a DELEGATE node

    @property
    def agrees(self) -> bool:
        return self.predicted == self.delegated


@dataclass(frozen=True)
class RuntimeComparison:
    """What the rules predicted for subgraph 0 next to what the runtime delegated."""

    delegate: str
    delegated: frozenset[int]  # op indices of subgraph 0 inside a DELEGATE node
    partitions: int
    ops: tuple[OpDelegation, ...]
    groups: tuple[frozenset[int], ...] = ()  # the ops of each DELEGATE node: the runtime's partitions
    predicted_groups: tuple[tuple[int, ...], ...] = ()  # the partitions the rules predict, same subgraph

    @property
    def agreement(self) -> float | None:
        if not self.ops:
            return None
        return sum(op.agrees for op in self.ops) / len(self.ops)

    def disagreements(self) -> list[OpDelegation]:
        return [op for op in self.ops if not op.agrees]

    def op(self, index: int) -> OpDelegation | None:
        return self._by_index.get(index)

    @functools.cached_property
    def _by_index(self) -> dict[int, OpDelegation]:
        return {op.index: op for op in self.ops}


def delegated_ops_from_nodes(sg: Subgraph, nodes: Iterable[DelegateNode]) -> frozenset[int]:
    """Ops of `sg` that DELEGATE nodes (inputs, outputs) replaced."""
    return frozenset().union(*ops_of_delegate_nodes(sg, nodes))


def ops_of_delegate_nodes(sg: Subgraph, nodes: Iterable[DelegateNode]) -> tuple[frozenset[int], ...]:
    """The ops of `sg` each DELEGATE node (inputs, outputs) replaced, one set per node.

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
    nodes = [(set(n.inputs), set(n.outputs)) for n in nodes]
    crossing = set().union(*(i for i, _ in nodes)) if nodes else set()
    groups: list[frozenset[int]] = []
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
        groups.append(frozenset(kept))
    return tuple(groups)


def compare_with_runtime(report: DelegateReport, sg: Subgraph, nodes: Sequence[DelegateNode]) -> RuntimeComparison:
    """The report's verdicts on subgraph `sg` beside the DELEGATE nodes the interpreter made of it
    (RuntimeWorker.default_delegate_nodes: the model loaded in the interpreter, in its process)."""
    groups = ops_of_delegate_nodes(sg, nodes)
    delegated = frozenset().union(*groups)
    rows = tuple(OpDelegation(v.index, v.opcode, v.supported, v.index in delegated)
                 for v in report.ops if v.subgraph == sg.index)
    return RuntimeComparison(report.delegate, delegated, len(nodes), rows, groups,
                             tuple(report.subgraph_partitions(sg.index)))
