"""A layered, top-to-bottom layout of an OpGraph, by one of two libraries (docs/graph.md has the
measurements on every subgraph of the corpus):

- Graphviz's `dot`, through pygraphviz (whose wheel carries Graphviz: nothing to install besides
  it), for graphs up to DOT_LIMIT nodes and edges. It draws the most readable layouts: over the
  corpus's graphs it finished, 1,776 crossing edge pairs against igraph's 8,149. Its time grows
  steeply and unevenly with size (5 s for lyra's 555-op quantizer loop, over a minute for
  parallel_wavegan's 1,874 ops), so larger graphs go to
- igraph's Sugiyama layout, whose crossing reduction is simpler but fast C: dp_net (2,338 ops) in
  under a second, a 20,000-op chain in a quarter of one.

What this module adds around igraph, each step small:
- Layers. igraph's own layering puts every node as high as it can go, which stacks whole side
  branches into one row (190 nodes wide on dp_net). A node here sits just above its first
  consumer (as late as possible); a node nothing reads sits just below its producer.
- Trunks. A tensor read at several depths gets one chain of bend points down to its last reader,
  with each reader branching off it, instead of one chain per reader (dp_net: 40 thousand bend
  points instead of 77 thousand, and half the time).
- Widths. igraph spaces all vertices one unit apart; here each row is then spread so boxes keep
  their own widths apart, moving each as little as possible.
Edges that run against execution order (only in malformed files) are left out of the layering and
drawn straight. dot is given node sizes and no labels (measuring text would load fonts), and
limits on its network-simplex and crossing passes that keep its worst cases in check.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..tasks import Cancelled
from .structure import INPUT, OUTPUT, OpGraph

ROW_GAP = 30.0  # vertical space between rows of boxes
UNIT = 18.0  # horizontal length of igraph's unit spacing
NODE_GAP = 16.0  # least horizontal space between two boxes
BEND_GAP = 6.0  # least horizontal space between a bend point and its neighbour
MAX_ITERATIONS = 100  # of igraph's crossing reduction (its default)
DOT_LIMIT = 1200  # nodes + edges up to which dot lays the graph out (see layout_worker's time budget)
# dot's settings: spacing in inches; mclimit and nslimit bound its crossing and ranking passes.
DOT_SETTINGS = {"splines": "polyline", "nodesep": "0.22", "ranksep": "0.42", "mclimit": "0.5",
                "nslimit": "2", "nslimit1": "2", "outputorder": "edgesfirst"}
POINTS_PER_INCH = 72.0


@dataclass(frozen=True)
class GraphLayout:
    """Where each node's centre is and how each edge runs (a polyline from the source's bottom edge
    to the target's top edge), in layout units; y grows downwards."""

    x: tuple[float, ...]  # per node id
    y: tuple[float, ...]
    layer: tuple[int, ...]
    edges: tuple[tuple[tuple[float, float], ...], ...]  # per edge of the graph, its points
    width: float
    height: float
    bends: int  # bend points placed (igraph's dummy vertices; dot's routing points)
    seconds: float  # time spent laying out
    engine: str = "igraph"  # "dot" or "igraph"


def _order(graph: OpGraph) -> list[int]:
    """Nodes in execution order: inputs, ops by index, then outputs and constants by id."""
    rank = {INPUT: 0, OUTPUT: 2}
    return sorted(range(len(graph.nodes)),
                  key=lambda i: (rank.get(graph.nodes[i].kind, 1), graph.nodes[i].op if graph.nodes[i].op >= 0 else i))


def assign_layers(graph: OpGraph) -> tuple[list[int], list[bool]]:
    """Each node's layer, and for each edge whether it runs forward (is laid out)."""
    n = len(graph.nodes)
    order = _order(graph)
    position = [0] * n
    for i, v in enumerate(order):
        position[v] = i
    forward = [position[e.source] < position[e.target] for e in graph.edges]
    successors: list[list[int]] = [[] for _ in range(n)]
    predecessors: list[list[int]] = [[] for _ in range(n)]
    for e, ok in zip(graph.edges, forward, strict=True):
        if ok:
            successors[e.source].append(e.target)
            predecessors[e.target].append(e.source)
    earliest = [0] * n
    for v in order:
        for w in successors[v]:
            earliest[w] = max(earliest[w], earliest[v] + 1)
    layer = earliest[:]
    for v in reversed(order):
        if successors[v]:
            layer[v] = min(layer[w] for w in successors[v]) - 1
    # A source pulled below its readers' other inputs is fine; one pulled above layer 0 is not.
    low = min(layer, default=0)
    return [v - low for v in layer], forward


def _spread(xs: list[float], half_widths: list[float], gaps: list[float]) -> list[float]:
    """Positions as close to `xs` (sorted) as the boxes allow: the mean of the leftmost and the
    rightmost arrangement that keep each pair `gaps[i]` apart (both are feasible, so is their mean)."""
    n = len(xs)
    left = xs[:]
    for i in range(1, n):
        left[i] = max(left[i], left[i - 1] + half_widths[i - 1] + gaps[i - 1] + half_widths[i])
    right = xs[:]
    for i in range(n - 2, -1, -1):
        right[i] = min(right[i], right[i + 1] - half_widths[i + 1] - gaps[i] - half_widths[i])
    return [(a + b) / 2 for a, b in zip(left, right, strict=True)]


def engine_for(graph: OpGraph) -> str:
    return "dot" if len(graph.nodes) + len(graph.edges) <= DOT_LIMIT else "igraph"


def layered_layout(graph: OpGraph, cancelled: Callable[[], bool] = lambda: False, engine: str = "") -> GraphLayout:
    """Lay `graph` out top to bottom, with `engine` ("dot", "igraph", or "" to choose by size).
    `cancelled` is asked between the steps (a library's own step cannot be interrupted: long
    layouts run in the layout worker, which Cancel stops)."""
    engine = engine or engine_for(graph)
    if engine == "dot":
        return dot_layout(graph, cancelled)
    return igraph_layout(graph, cancelled)


def dot_layout(graph: OpGraph, cancelled: Callable[[], bool] = lambda: False) -> GraphLayout:
    import pygraphviz  # here: the app starts without it

    start = time.perf_counter()
    drawing = pygraphviz.AGraph(directed=True, strict=False)
    drawing.graph_attr.update(DOT_SETTINGS)
    drawing.node_attr.update(shape="box", fixedsize="true", label="")
    for node in graph.nodes:
        drawing.add_node(node.id, width=node.width / POINTS_PER_INCH, height=node.height / POINTS_PER_INCH)
    for k, e in enumerate(graph.edges):
        drawing.add_edge(e.source, e.target, key=str(k))
    if cancelled():
        raise Cancelled("layout")
    drawing.layout(prog="dot")
    if cancelled():
        raise Cancelled("layout")

    # dot's y grows upwards, ours downwards; its bounding box is "llx,lly,urx,ury" in points.
    _, _, right, top = (float(v) for v in drawing.graph_attr["bb"].split(","))
    x: list[float] = []
    y: list[float] = []
    for node in graph.nodes:
        px, py = (float(v) for v in drawing.get_node(node.id).attr["pos"].split(","))
        x.append(px)
        y.append(top - py)
    rows = sorted(set(round(v, 1) for v in y))
    row_of = {value: i for i, value in enumerate(rows)}
    polylines = []
    bends = 0
    for k, e in enumerate(graph.edges):
        points = _dot_points(drawing.get_edge(e.source, e.target, key=str(k)).attr["pos"], top)
        bends += max(len(points) - 2, 0)
        polylines.append(tuple(points))
    return GraphLayout(
        x=tuple(x), y=tuple(y), layer=tuple(row_of[round(v, 1)] for v in y), edges=tuple(polylines),
        width=right, height=top, bends=bends, seconds=time.perf_counter() - start, engine="dot")


def _dot_points(pos: str, top: float) -> list[tuple[float, float]]:
    """An edge's route from dot's "pos": "[s,x,y ][e,x,y ]x,y x,y ..." (the start and end markers
    give the arrow's ends), as points from the tail to the head, y downwards."""
    start = end = None
    points = []
    for item in pos.split():
        parts = item.split(",")
        if parts[0] in ("s", "e"):
            point = (float(parts[1]), top - float(parts[2]))
            if parts[0] == "s":
                start = point
            else:
                end = point
        else:
            points.append((float(parts[0]), top - float(parts[1])))
    if start is not None:
        points.insert(0, start)
    if end is not None:
        points.append(end)
    # A polyline comes as a B-spline whose control points repeat each corner: keep one of each.
    return [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]


def igraph_layout(graph: OpGraph, cancelled: Callable[[], bool] = lambda: False) -> GraphLayout:
    import igraph  # here: the app starts without it

    start = time.perf_counter()
    n = len(graph.nodes)
    layers, forward = assign_layers(graph)

    # One chain of bend points per (source, tensor), down to the layer above its last reader.
    vertex_layer = list(layers)
    links: list[tuple[int, int]] = []
    chains: dict[tuple[int, int], dict[int, int]] = {}
    for e, ok in zip(graph.edges, forward, strict=True):
        if not ok:
            continue
        chain = chains.setdefault((e.source, e.tensor), {})
        last = layers[e.source]
        for lay in range(layers[e.source] + 1, layers[e.target]):
            if lay not in chain:
                chain[lay] = len(vertex_layer)
                vertex_layer.append(lay)
                links.append((chain[lay - 1] if lay - 1 in chain else e.source, chain[lay]))
            last = lay
        links.append((chain[last] if last in chain else e.source, e.target))
    if cancelled():
        raise Cancelled("layout")

    placed = igraph.Graph(n=len(vertex_layer), edges=sorted(set(links)), directed=True).layout_sugiyama(
        layers=vertex_layer, hgap=1, vgap=1, maxiter=MAX_ITERATIONS)
    if cancelled():
        raise Cancelled("layout")

    # Rows: spread each so boxes keep their widths apart.
    depth = max(vertex_layer, default=0) + 1
    rows: list[list[int]] = [[] for _ in range(depth)]
    raw_x = [float(c[0]) * UNIT for c in placed.coords]
    for v, lay in enumerate(vertex_layer):
        rows[lay].append(v)
    x = raw_x[:]
    for row in rows:
        row.sort(key=lambda v: raw_x[v])
        half = [graph.nodes[v].width / 2 if v < n else 0.0 for v in row]
        gaps = [NODE_GAP if a < n and b < n else BEND_GAP for a, b in zip(row, row[1:])]
        for v, pos in zip(row, _spread([raw_x[v] for v in row], half, gaps), strict=True):
            x[v] = pos
    row_height = max((node.height for node in graph.nodes), default=0.0) + ROW_GAP
    y = [lay * row_height + row_height / 2 for lay in vertex_layer]
    left = min((x[v] - (graph.nodes[v].width / 2 if v < n else 0.0) for v in range(len(x))), default=0.0)
    x = [value - left for value in x]

    polylines = []
    for e, ok in zip(graph.edges, forward, strict=True):
        source, target = graph.nodes[e.source], graph.nodes[e.target]
        points = [(x[e.source], y[e.source] + source.height / 2)]
        if ok:
            chain = chains[(e.source, e.tensor)]
            points += [(x[chain[lay]], y[chain[lay]]) for lay in range(layers[e.source] + 1, layers[e.target])]
        points.append((x[e.target], y[e.target] - target.height / 2))
        polylines.append(tuple(points))

    width = max((x[v] + (graph.nodes[v].width / 2 if v < n else 0.0) for v in range(len(x))), default=0.0)
    return GraphLayout(
        x=tuple(x[:n]), y=tuple(y[:n]), layer=tuple(layers), edges=tuple(polylines),
        width=width, height=depth * row_height, bends=len(vertex_layer) - n,
        seconds=time.perf_counter() - start)


def crossings(graph: OpGraph, layout: GraphLayout, *, distinct: bool = True) -> int:
    """Edge crossings: each edge, taken from its source's centre through its route to its target's
    centre, is sampled at every row; two edges cross between neighbouring rows when their order
    there differs. `distinct`: count segments as drawn (edges sharing a trunk segment are one
    line); otherwise count pairs of edges, the usual measure."""
    levels = sorted({round(v, 3) for v in layout.y})
    samples: dict[int, dict[int, float]] = {}
    for k, (e, route) in enumerate(zip(graph.edges, layout.edges, strict=True)):
        path = sorted([(layout.x[e.source], layout.y[e.source]), *route, (layout.x[e.target], layout.y[e.target])],
                      key=lambda p: p[1])
        ys = [p[1] for p in path]
        first, last = bisect.bisect_left(levels, ys[0] - 1e-6), bisect.bisect_right(levels, ys[-1] + 1e-6)
        for i in range(first, last):
            level = levels[i]
            j = min(max(bisect.bisect_left(ys, level), 1), len(ys) - 1)
            (x0, y0), (x1, y1) = path[j - 1], path[j]
            samples.setdefault(i, {})[k] = x0 if y1 == y0 else x0 + (x1 - x0) * (level - y0) / (y1 - y0)
    total = 0
    for i in range(len(levels) - 1):
        top, bottom = samples.get(i, {}), samples.get(i + 1, {})
        segments = [(round(top[k], 2), round(bottom[k], 2)) for k in top if k in bottom]
        if distinct:
            segments = list(set(segments))
        segments.sort()
        for n, (top_a, bottom_a) in enumerate(segments):
            for top_b, bottom_b in segments[n + 1:]:
                if top_b > top_a and bottom_b < bottom_a:
                    total += 1
    return total
