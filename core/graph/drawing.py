"""From a model to a painted graph: the overlay named by text (as the command line and the report
name it), and the steps from subgraph to layout to paint in one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..delegates.engine import DELEGATES, analyze
from ..delegates.settings import DelegateSettings
from ..errors import InputError
from ..inspection.stats import model_stats
from ..reading.model import Model
from .layout import GraphLayout
from .layout_worker import LayoutWorker, lay_out
from .overlays import Paint, cost_paint, delegate_paint, quantization_paint, type_paint
from .structure import OpGraph, build_graph

# Overlays that need no comparison run: the command line's and the report's choices.
OVERLAY_NAMES = ("type", "quantization", "macs", "bytes", *(f"delegate:{key}" for key in DELEGATES))


def check_overlay(name: str) -> str:
    """`name` if it is one of OVERLAY_NAMES; InputError saying which there are otherwise."""
    if name not in OVERLAY_NAMES:
        raise InputError(f"no overlay {name!r}: choose one of {', '.join(OVERLAY_NAMES)}")
    return name


def static_paint(model: Model, graph: OpGraph, overlay: str, settings: DelegateSettings | None = None) -> Paint:
    """The paint of an overlay that needs no comparison (OVERLAY_NAMES)."""
    sg = model.subgraphs[graph.subgraph]
    check_overlay(overlay)
    if overlay == "type":
        return type_paint(graph, sg)
    if overlay == "quantization":
        return quantization_paint(graph, sg)
    if overlay in ("macs", "bytes"):
        stats = model_stats(model).subgraphs[graph.subgraph] if overlay == "macs" else None
        return cost_paint(graph, sg, stats, by=overlay)
    return delegate_paint(graph, analyze(model, overlay.split(":", 1)[1], settings))


@dataclass(frozen=True)
class Drawing:
    graph: OpGraph
    layout: GraphLayout
    paint: Paint


def draw(model: Model, subgraph: int = 0, overlay: str = "type", *, with_constants: bool = False,
         settings: DelegateSettings | None = None, worker: LayoutWorker | None = None,
         cancelled: Callable[[], bool] = lambda: False) -> Drawing:
    """Subgraph `subgraph` of `model` laid out and painted. InputError for a subgraph or overlay
    that does not exist; Cancelled, RuntimeFailure from the layout."""
    check_overlay(overlay)
    if not 0 <= subgraph < len(model.subgraphs):
        raise InputError(f"no subgraph {subgraph}: the model has {len(model.subgraphs)} (0 to {len(model.subgraphs) - 1})")
    graph = build_graph(model.subgraphs[subgraph], with_constants=with_constants)
    layout = lay_out(graph, worker, cancelled)
    return Drawing(graph, layout, static_paint(model, graph, overlay, settings))
