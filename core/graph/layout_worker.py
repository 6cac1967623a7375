"""Laying out large graphs in a worker process, so Cancel can stop them and the app stays smooth.

A layout library's own step cannot be interrupted and holds the interpreter while it runs (dp_net:
most of a second). Graphs above IN_PROCESS_LIMIT nodes and edges are therefore laid out in a child
process, which `stop()` ends at once; smaller ones take milliseconds and are laid out where asked.
dot gets a time budget there, after which igraph lays the graph out; a crafted file whose graph
would take unbounded time is stopped by the worker's timeout.
"""

from __future__ import annotations

import multiprocessing.connection
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RuntimeFailure
from ..runtime.process import WorkerProcess, serve
from ..tasks import Cancelled
from .layout import GraphLayout, engine_for, layered_layout
from .structure import OpGraph

IN_PROCESS_LIMIT = 400  # nodes + edges: about 20 ms with dot
LAYOUT_TIMEOUT_S = 300.0
# dot's time is uneven near its size limit: past this, the worker is stopped and igraph lays the
# graph out instead (a fraction of a second at that size).
DOT_BUDGET_S = 3.0


@dataclass(frozen=True)
class LayoutRequest:
    graph: OpGraph
    engine: str = ""


def _lay_out(request: LayoutRequest) -> GraphLayout:
    return layered_layout(request.graph, engine=request.engine)


def layout_main(conn: multiprocessing.connection.Connection) -> None:
    serve(conn, {LayoutRequest: _lay_out})


class LayoutWorker(WorkerProcess):
    def __init__(self, timeout_s: float = LAYOUT_TIMEOUT_S) -> None:
        super().__init__(layout_main, name="layout-worker", what="the graph layout", timeout_s=timeout_s)


def lay_out(graph: OpGraph, worker: LayoutWorker | None, cancelled: Callable[[], bool] = lambda: False,
            engine: str = "") -> GraphLayout:
    """The layout of `graph`: here when it is small (or there is no worker), else in `worker`.
    Raises Cancelled (the worker stopped, or `cancelled()`), RuntimeFailure (it crashed or timed out)."""
    if worker is None or len(graph.nodes) + len(graph.edges) <= IN_PROCESS_LIMIT:
        return layered_layout(graph, cancelled, engine)
    engine = engine or engine_for(graph)
    if engine == "dot":
        try:
            return worker.request(LayoutRequest(graph, "dot"), timeout_s=DOT_BUDGET_S)
        except RuntimeFailure:  # over its budget (or crashed): the worker was ended
            if cancelled():
                raise Cancelled("layout") from None
    return worker.request(LayoutRequest(graph, "igraph"))
