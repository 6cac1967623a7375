"""The report's drawing of each subgraph: the graph with a delegate's verdicts and partitions, as
inline SVG (core/graph/svg.py escapes every name, so the markup is safe to insert as it is).
Subgraphs above GRAPH_MAX_OPS ops are not drawn: their SVG would dominate the page's size and
time, and the reader is pointed to `tflite-inspector graph` and the app instead."""

from __future__ import annotations

from typing import Any

from ..delegates.engine import DelegateReport
from ..graph.layout import layered_layout
from ..graph.overlays import delegate_paint, type_paint
from ..graph.structure import build_graph
from ..graph.svg import graph_svg
from ..reading.model import Model

GRAPH_MAX_OPS = 400


def graph_section(model: Model, index: int, report: DelegateReport | None) -> dict[str, Any]:
    sg = model.subgraphs[index]
    ops = len(sg.operators)
    if not ops:
        return {"svg": None, "note": "This subgraph has no ops."}
    if ops > GRAPH_MAX_OPS:
        return {"svg": None, "note": (f"Not drawn: {ops:,} ops (the report draws subgraphs of up to "
                                      f"{GRAPH_MAX_OPS} ops). Draw it with: tflite-inspector graph "
                                      f"MODEL --subgraph {index} -o graph.svg; or open the Graph page in the app.")}
    graph = build_graph(sg)
    paint = delegate_paint(graph, report) if report is not None else type_paint(graph, sg)
    return {"svg": graph_svg(graph, layered_layout(graph), sg, paint, title=f"Subgraph {index}: {paint.title}"),
            "note": "Hover a box for its tensors and the delegate's verdict."}
