"""The Graph page without widgets: which overlay is shown (and for which delegate or metric),
whether constants are nodes, the layouts made so far (kept for the session, per subgraph and
constants setting), the state of the one being made, and which nodes the filter highlights.
`changed` names what changed: "overlay", "layout" (a layout was started, finished, failed or
cancelled), "highlight".
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.graph.layout import GraphLayout
from ...core.graph.structure import OpGraph
from ..notify import Notifier

OVERLAYS = {
    "type": "Op type",
    "delegate": "Delegate",
    "quantization": "Quantization",
    "error": "Error (Compare)",
    "macs": "Cost: MACs",
    "bytes": "Cost: output bytes",
}

LayoutKey = tuple[int, bool]  # (subgraph, constants as nodes)


@dataclass(frozen=True)
class LaidOut:
    graph: OpGraph
    layout: GraphLayout


class GraphPage:
    def __init__(self) -> None:
        self.overlay = "type"
        self.delegate_key = "gpu"  # the delegate overlay's delegate; the model page's choice when it has one
        self.with_constants = False
        self.layouts: dict[LayoutKey, LaidOut] = {}
        self.pending: LayoutKey | None = None  # being laid out
        self.problems: dict[LayoutKey, str] = {}  # why a layout is missing (failed or cancelled)
        self.highlight: frozenset[int] | None = None  # op indices the filter matches; None: no filter
        self.changed = Notifier()

    def key(self, subgraph: int) -> LayoutKey:
        return (subgraph, self.with_constants)

    def laid_out(self, subgraph: int) -> LaidOut | None:
        return self.layouts.get(self.key(subgraph))

    def set_overlay(self, overlay: str, delegate_key: str | None = None) -> None:
        if overlay not in OVERLAYS:
            raise ValueError(f"no overlay {overlay!r}")
        changed = overlay != self.overlay or (delegate_key is not None and delegate_key != self.delegate_key)
        self.overlay = overlay
        if delegate_key is not None:
            self.delegate_key = delegate_key
        if changed:
            self.changed.notify("overlay")

    def set_with_constants(self, on: bool) -> None:
        if on != self.with_constants:
            self.with_constants = on
            self.changed.notify("layout")

    def layout_started(self, key: LayoutKey) -> None:
        self.pending = key
        self.problems.pop(key, None)
        self.changed.notify("layout")

    def layout_finished(self, key: LayoutKey, laid_out: LaidOut) -> None:
        self.layouts[key] = laid_out
        self.pending = None
        self.changed.notify("layout")

    def layout_ended_without(self, key: LayoutKey, problem: str) -> None:
        """Failed or cancelled: `problem` says which, and the page offers to try again."""
        self.problems[key] = problem
        self.pending = None
        self.changed.notify("layout")

    def set_highlight(self, ops: frozenset[int] | None) -> None:
        if ops != self.highlight:
            self.highlight = ops
            self.changed.notify("highlight")
