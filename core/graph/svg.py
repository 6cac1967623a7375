"""The graph as one self-contained SVG: boxes, edges, the overlay's colours and its legend.

Used by `tflite-inspector graph`, the HTML report (inline, so no scripts and no external files)
and the app's File ▸ Export Graph… as SVG. Hovering a box in a browser shows its tooltip
(an SVG <title>); nothing else is interactive.
"""

from __future__ import annotations

from html import escape

from ..formatting import tensor_shape_text
from ..reading.model import Subgraph
from .layout import GraphLayout
from .overlays import Paint
from .structure import OP, OpGraph

FONT = "DejaVu Sans, Verdana, sans-serif"
EDGE_COLOUR = "#8a8a8a"
LEGEND_ROW = 18.0
MARGIN = 12.0


def node_tooltip(graph: OpGraph, sg: Subgraph, node_id: int, paint: Paint | None = None) -> str:
    """What hovering a node says: the op and its tensors, and the overlay's line."""
    node = graph.nodes[node_id]
    tensors = sg.tensors
    lines: list[str] = []

    def describe(t: int) -> str:
        tensor = tensors[t]
        return f"t{t} {tensor.name} {tensor.dtype} {tensor_shape_text(tensor)}"

    if node.kind == OP:
        op = sg.operators[node.op]
        lines.append(f"{op.opcode} #{op.index}" + (f" ({node.mark})" if node.mark else ""))
        lines += [f"in: {describe(t)}" for t in op.inputs if 0 <= t < len(tensors) and t not in graph.folded.get(op.index, ())]
        lines += [f"weight: {describe(t)}" for t in graph.folded.get(op.index, ())]
        lines += [f"out: {describe(t)}" for t in op.outputs if 0 <= t < len(tensors)]
    elif node.tensor >= 0:
        lines.append(f"{node.kind}: {describe(node.tensor)}")
    if paint is not None and paint.tip[node_id]:
        lines.append(paint.tip[node_id])
    return "\n".join(lines)


def edge_tooltip(graph: OpGraph, sg: Subgraph, edge_id: int) -> str:
    """What hovering an edge says: its tensor, and from where to where."""
    edge = graph.edges[edge_id]
    tensor = sg.tensors[edge.tensor]

    def end(node_id: int) -> str:
        node = graph.nodes[node_id]
        return f"{node.title} #{node.op}" if node.kind == OP else node.kind

    return (f"t{edge.tensor} {tensor.name}\n{tensor.dtype} {tensor_shape_text(tensor)}\n"
            f"{end(edge.source)} → {end(edge.target)}")


def graph_svg(graph: OpGraph, layout: GraphLayout, sg: Subgraph, paint: Paint, *, title: str = "",
              max_tooltips: int = 5000) -> str:
    """The drawing. Tooltips are written for up to `max_tooltips` nodes and as many edges (they
    are most of a big drawing's bytes)."""
    legend_height = (len(paint.legend) + (1 if paint.scale else 0) + (1 if paint.note else 0) + 1) * LEGEND_ROW
    width = max(layout.width, 320.0) + 2 * MARGIN
    height = layout.height + legend_height + 2 * MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="10">']
    out.append(f"<title>{escape(title or paint.title)}</title>")
    out.append('<rect width="100%" height="100%" fill="#ffffff"/>')

    # Legend first, at the top: it says how to read what follows.
    y = MARGIN + 12
    out.append(f'<text x="{MARGIN}" y="{y:.1f}" font-weight="bold" font-size="11">{escape(title or paint.title)}</text>')
    if paint.note:
        y += LEGEND_ROW
        out.append(f'<text x="{MARGIN}" y="{y:.1f}" fill="#555555">{escape(paint.note)}</text>')
    for entry in paint.legend:
        y += LEGEND_ROW
        stroke = entry.border or "#555555"
        stroke_width = 2.5 if entry.border else 1
        out.append(f'<rect x="{MARGIN}" y="{y - 10:.1f}" width="22" height="12" rx="2" fill="{entry.colour}" '
                   f'stroke="{stroke}" stroke-width="{stroke_width}"/>'
                   f'<text x="{MARGIN + 30}" y="{y:.1f}">{escape(entry.label)}</text>')
    if paint.scale:
        y += LEGEND_ROW
        (low_colour, low_label), (high_colour, high_label) = paint.scale[0], paint.scale[-1]
        out.append('<defs><linearGradient id="scale"><stop offset="0" stop-color="' + low_colour + '"/>'
                   '<stop offset="1" stop-color="' + high_colour + '"/></linearGradient></defs>')
        out.append(f'<text x="{MARGIN}" y="{y:.1f}" text-anchor="start">{escape(low_label)}</text>'
                   f'<rect x="{MARGIN + 110}" y="{y - 10:.1f}" width="120" height="12" fill="url(#scale)" stroke="#555555"/>'
                   f'<text x="{MARGIN + 238}" y="{y:.1f}">{escape(high_label)}</text>')

    top = MARGIN + legend_height
    out.append(f'<g transform="translate({MARGIN:.1f},{top:.1f})">')
    out.append(f'<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" '
               f'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{EDGE_COLOUR}"/></marker></defs>')
    out.append(f'<g fill="none" stroke="{EDGE_COLOUR}" stroke-width="1" marker-end="url(#arrow)">')
    for k, points in enumerate(layout.edges):
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        if k < max_tooltips:
            out.append(f'<polyline points="{line}"><title>{escape(edge_tooltip(graph, sg, k))}</title></polyline>')
        else:
            out.append(f'<polyline points="{line}"/>')
    out.append("</g>")
    for node in graph.nodes:
        x, y = layout.x[node.id] - node.width / 2, layout.y[node.id] - node.height / 2
        fill, border, border_width = paint.fill[node.id], paint.border[node.id], paint.border_width[node.id]
        rounded = 4 if node.kind == OP else 12
        tip = escape(node_tooltip(graph, sg, node.id, paint)) if node.id < max_tooltips else ""
        out.append(f'<g><title>{tip}</title>' if tip else "<g>")
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{node.width:.1f}" height="{node.height:.1f}" rx="{rounded}" '
                   f'fill="{fill}" stroke="{border}" stroke-width="{border_width:g}"/>')
        cx = layout.x[node.id]
        weight = ' font-weight="bold"' if node.kind == OP else ""
        out.append(f'<text x="{cx:.1f}" y="{y + 14:.1f}" text-anchor="middle"{weight}>{escape(node.title)}</text>')
        if node.detail:
            out.append(f'<text x="{cx:.1f}" y="{y + 27:.1f}" text-anchor="middle" fill="#444444" font-size="9">'
                       f'{escape(node.detail)}</text>')
        if paint.badge[node.id]:
            fill = "#333333" if paint.badge[node.id] == "per-ch" else "none"
            out.append(f'<circle cx="{x + node.width - 6:.1f}" cy="{y + 6:.1f}" r="3" fill="{fill}" '
                       f'stroke="#333333" stroke-width="1"/>')
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out)
