"""Layered-layout candidates for the Graph page, on every subgraph of ../shared/models.

For each subgraph with ops, the same graph (core.graph.structure: ops, inputs, outputs; constants
folded) is laid out by:
- dot: core.graph.layout's dot path (Graphviz through pygraphviz's wheel, our settings), in a
  child process with a time limit;
- ours: core.graph.layout's igraph path (igraph's Sugiyama with our layering, trunks, spreading);
- igraph: igraph's layout_sugiyama as it comes (its own layering, one bend chain per edge);
- grandalf: grandalf's SugiyamaLayout (pure Python), when installed, up to 400 nodes (time only).
The app uses dot up to core.graph.layout.DOT_LIMIT nodes + edges and "ours" above. Scores: time,
edge crossings (pairs of edges whose order differs between neighbouring rows, each edge sampled at
every row; core.graph.layout.crossings) and the widest row (in boxes). grandalf is not a
dependency: pip install grandalf to include it.

Usage: .venv/bin/python benchmarks/bench_graph_layout.py [--limit-s S] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_inspect import CACHE, SHARED_MODELS  # noqa: E402
from tflite_inspector.core.errors import ModelError  # noqa: E402
from tflite_inspector.core.graph.layout import GraphLayout, crossings, engine_for, layered_layout  # noqa: E402
from tflite_inspector.core.graph.structure import OpGraph, build_graph  # noqa: E402
from tflite_inspector.core.reading.reader import read_model  # noqa: E402

Polyline = list[tuple[float, float]]


def score(graph: OpGraph, ys: list[float], xs: list[float], routes: list[Polyline]) -> tuple[int, int]:
    """Pairs of crossing edges (core.graph.layout.crossings) and the widest row, for any engine."""
    layout = GraphLayout(x=tuple(xs), y=tuple(ys), layer=(), edges=tuple(tuple(r) for r in routes), width=0.0,
                         height=0.0, bends=0, seconds=0.0)
    rows: dict[float, int] = {}
    for y in ys:
        rows[round(y, 1)] = rows.get(round(y, 1), 0) + 1
    return crossings(graph, layout, distinct=False), max(rows.values(), default=0)


def ours(graph: OpGraph, engine: str) -> tuple[float, int, int]:
    layout = layered_layout(graph, engine=engine)
    pairs, wide = score(graph, list(layout.y), list(layout.x), [list(r) for r in layout.edges])
    return layout.seconds, pairs, wide


def _dot_child(graph: OpGraph, out: multiprocessing.Queue) -> None:
    out.put(ours(graph, "dot"))


def dot(graph: OpGraph, limit_s: float) -> tuple[float, int, int] | None:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_dot_child, args=(graph, queue))
    child.start()
    try:
        return queue.get(timeout=limit_s)
    except Exception:  # noqa: BLE001 - queue.Empty: past the limit
        return None
    finally:
        child.kill()
        child.join()


def plain_igraph(graph: OpGraph) -> tuple[float, int, int]:
    import igraph

    links = [(e.source, e.target) for e in graph.edges]
    start = time.perf_counter()
    placed = igraph.Graph(n=len(graph.nodes), edges=links, directed=True).layout_sugiyama()
    seconds = time.perf_counter() - start
    c = placed.coords
    routes = [[tuple(c[a]), *[tuple(p) for p in bends], tuple(c[b])]
              for (a, b), bends in zip(links, placed.edge_routing, strict=True)]
    n = len(graph.nodes)
    return (seconds, *score(graph, [c[i][1] for i in range(n)], [c[i][0] for i in range(n)], routes))


def _grandalf_child(graph: OpGraph, out: multiprocessing.Queue) -> None:
    from grandalf.graphs import Edge, Graph, Vertex
    from grandalf.layouts import SugiyamaLayout

    class View:
        def __init__(self, w: float, h: float) -> None:
            self.w, self.h = w, h

    vertices = [Vertex(v.id) for v in graph.nodes]
    for vertex, node in zip(vertices, graph.nodes, strict=True):
        vertex.view = View(node.width, node.height)
    g = Graph(vertices, [Edge(vertices[e.source], vertices[e.target]) for e in graph.edges])
    start = time.perf_counter()
    for component in g.C:
        sugiyama = SugiyamaLayout(component)
        sugiyama.init_all()
        sugiyama.draw(3)
    out.put(time.perf_counter() - start)


def grandalf(graph: OpGraph, limit_s: float) -> float | None:
    """Time only: grandalf routes edges through its own dummy objects, not worth scoring here."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=_grandalf_child, args=(graph, queue))
    child.start()
    child.join(limit_s)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return queue.get() if not queue.empty() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit-s", type=float, default=60.0, help="time limit for dot and grandalf per graph")
    parser.add_argument("--only", default="", help="only models whose path contains this")
    args = parser.parse_args()
    have_grandalf = importlib.util.find_spec("grandalf") is not None
    if not have_grandalf:
        print("grandalf: not installed (pip install grandalf); its column is empty")
    paths = sorted(SHARED_MODELS.rglob("*.tflite")) + sorted(CACHE.glob("*.tflite"))
    print(f"{'model':40s} {'sg':>2s} {'ops':>5s} {'edges':>5s} {'app':>6s} | {'dot s':>6s} {'cross':>6s} {'wide':>4s} | "
          f"{'ours s':>6s} {'cross':>6s} {'wide':>4s} | {'igraph s':>8s} {'cross':>6s} {'wide':>4s} | {'grandalf s':>10s}")
    totals: dict[str, list[float]] = {"dot": [0.0, 0], "ours": [0.0, 0], "igraph": [0.0, 0]}
    for path in paths:
        if args.only not in str(path):
            continue
        try:
            model = read_model(path)
        except ModelError:
            continue
        with model:
            for sg in model.subgraphs:
                if not sg.operators:
                    continue
                graph = build_graph(sg)
                d = dot(graph, args.limit_s)
                o = ours(graph, "igraph")
                i = plain_igraph(graph)
                g = grandalf(graph, args.limit_s) if have_grandalf and len(graph.nodes) <= 400 else None
                name = str(path.relative_to(SHARED_MODELS) if path.is_relative_to(SHARED_MODELS) else path.name)
                dot_text = f"{d[0]:6.2f} {d[1]:6d} {d[2]:4d}" if d else f"{'>' + format(args.limit_s, 'g'):>6s} {'':>6s} {'':>4s}"
                g_text = f"{g:10.2f}" if g is not None else ""
                print(f"{name[-40:]:40s} {sg.index:2d} {graph.op_count:5d} {len(graph.edges):5d} {engine_for(graph):>6s} | "
                      f"{dot_text} | {o[0]:6.2f} {o[1]:6d} {o[2]:4d} | {i[0]:8.2f} {i[1]:6d} {i[2]:4d} | {g_text:>10s}",
                      flush=True)
                if d:  # totals over the graphs every engine finished
                    for key, value in (("dot", d), ("ours", o), ("igraph", i)):
                        totals[key][0] += value[0]
                        totals[key][1] += value[1]
    print("\nover the graphs dot finished: " + ", ".join(
        f"{key} {seconds:.1f} s and {int(pairs):,} crossings" for key, (seconds, pairs) in totals.items()))


if __name__ == "__main__":
    main()
