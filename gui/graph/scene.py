"""The graph's QGraphicsScene, built once per layout, repainted per overlay.

Drawing stays cheap on large graphs (a 20,000-op model) by keeping Python out of the frame:
- edges are a few path items (cosmetic one-pixel pens), drawn by Qt itself;
- zoomed out, one item draws every box: one filled path per colour, no text;
- zoomed in, a box per node draws its text. These are top-level items, so the scene's index
  finds the few in view (as children of one parent, every frame asked each of them for its
  bounds: 20,000 Python calls); they are hidden, in one pass, when zooming out past the
  threshold, so a zoomed-out frame makes no Python call per box;
- the selection and the filter's matches are outlines in items of their own.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from ...core.graph.layout import GraphLayout
from ...core.graph.overlays import Paint
from ...core.graph.structure import OP, OpGraph

EDGE_COLOUR = QColor("#8a8a8a")
SELECTED_COLOUR = QColor("#e67e22")
MATCH_COLOUR = QColor("#2e86de")
EDGES_PER_ITEM = 400  # edges are grouped into path items of this many, so views cull by region
ARROW = 5.0
MARGIN = 40.0


class _Boxes(QGraphicsItem):
    """Every box at once, as one filled path per (fill, border) pair: the zoomed-out drawing."""

    def __init__(self, bounds: QRectF) -> None:
        super().__init__()
        self._bounds = bounds
        self._groups: list[tuple[QBrush, QPen, QPainterPath]] = []

    def set_groups(self, groups: list[tuple[QBrush, QPen, QPainterPath]]) -> None:
        self._groups = groups
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        # Zoomed out, boxes are a few pixels or less: smoothing their edges costs most of the frame.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for brush, pen, path in self._groups:
            painter.setBrush(brush)
            painter.setPen(pen)
            painter.drawPath(path)


class _NodeBox(QGraphicsItem):
    """One node with its text, shown when zoomed in. Its colours are the scene's current paint."""

    def __init__(self, scene: GraphScene, node_id: int, rect: QRectF) -> None:
        super().__init__()
        self._scene = scene
        self.node_id = node_id
        self._rect = rect
        self._bounds = rect.adjusted(-2, -2, 2, 2)

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scene = self._scene
        node = scene.graph.nodes[self.node_id]
        paint = scene.paint
        painter.setBrush(QBrush(QColor(paint.fill[self.node_id])))
        painter.setPen(QPen(QColor(paint.border[self.node_id]), paint.border_width[self.node_id]))
        radius = 4.0 if node.kind == OP else 12.0
        painter.drawRoundedRect(self._rect, radius, radius)
        painter.setPen(QColor("#111111"))
        painter.setFont(scene.title_font if node.kind == OP else scene.detail_font)
        top = QRectF(self._rect.x(), self._rect.y() + 2, self._rect.width(), 16)
        painter.drawText(top, Qt.AlignmentFlag.AlignCenter, node.title)
        if node.detail:
            painter.setPen(QColor("#444444"))
            painter.setFont(scene.detail_font)
            bottom = QRectF(self._rect.x(), self._rect.y() + 16, self._rect.width(), 15)
            painter.drawText(bottom, Qt.AlignmentFlag.AlignCenter, node.detail)
        badge = paint.badge[self.node_id]
        if badge:  # per-channel weights: a dot; per-tensor: a ring (the legend says so)
            painter.setPen(QPen(QColor("#333333"), 1))
            painter.setBrush(QColor("#333333") if badge == "per-ch" else Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(self._rect.right() - 6, self._rect.y() + 6), 3, 3)


def _cosmetic(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCosmetic(True)  # the same on screen at every zoom
    return pen


class GraphScene(QGraphicsScene):
    """The drawing of one laid-out graph. Node geometry comes from the layout, in its units."""

    def __init__(self, graph: OpGraph, layout: GraphLayout, paint: Paint, parent: object = None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.layout = layout
        self.paint = paint
        self.title_font = QFont()
        self.title_font.setPointSizeF(8.0)
        self.title_font.setBold(True)
        self.detail_font = QFont()
        self.detail_font.setPointSizeF(7.0)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        bounds = QRectF(-MARGIN, -MARGIN, layout.width + 2 * MARGIN, layout.height + 2 * MARGIN)
        self.setSceneRect(bounds)
        nodes = graph.nodes
        self._x0 = np.array([layout.x[n.id] - n.width / 2 for n in nodes])
        self._x1 = np.array([layout.x[n.id] + n.width / 2 for n in nodes])
        self._y0 = np.array([layout.y[n.id] - n.height / 2 for n in nodes])
        self._y1 = np.array([layout.y[n.id] + n.height / 2 for n in nodes])

        self._boxes = _Boxes(bounds)
        self._boxes.setZValue(1)
        self.addItem(self._boxes)
        self._details: list[QGraphicsItem] = []  # the boxes with text and the arrowheads
        self._add_edges()
        for node in nodes:
            box = _NodeBox(self, node.id, self.node_rect(node.id))
            box.setZValue(2)
            self.addItem(box)
            self._details.append(box)
        self._matches = QGraphicsPathItem()
        self._matches.setPen(_cosmetic(MATCH_COLOUR, 3))
        self._matches.setZValue(3)
        self.addItem(self._matches)
        self._selected = QGraphicsPathItem()
        self._selected.setPen(_cosmetic(SELECTED_COLOUR, 3))
        self._selected.setZValue(4)
        self.addItem(self._selected)
        self._selected_edges = QGraphicsPathItem()
        self._selected_edges.setPen(_cosmetic(SELECTED_COLOUR, 2))
        self._selected_edges.setZValue(0.5)
        self.addItem(self._selected_edges)
        self.detailed = True  # as built: every box visible
        self.apply_paint(paint)
        self.set_detailed(False)

    # -- geometry ----------------------------------------------------------------------------------

    def node_rect(self, node_id: int) -> QRectF:
        return QRectF(self._x0[node_id], self._y0[node_id], self._x1[node_id] - self._x0[node_id],
                      self._y1[node_id] - self._y0[node_id])

    def node_at(self, point: QPointF) -> int | None:
        x, y = point.x(), point.y()
        hits = np.nonzero((self._x0 <= x) & (x <= self._x1) & (self._y0 <= y) & (y <= self._y1))[0]
        return int(hits[0]) if len(hits) else None

    def edge_at(self, point: QPointF, tolerance: float) -> int | None:
        """The edge whose drawn line passes nearest `point`, within `tolerance` (scene units)."""
        x0, y0, x1, y1, owner = self._segments
        if not len(owner):
            return None
        px, py = point.x(), point.y()
        dx, dy = x1 - x0, y1 - y0
        length = dx * dx + dy * dy
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / np.where(length > 0, length, 1.0), 0.0, 1.0)
        distance = np.hypot(x0 + t * dx - px, y0 + t * dy - py)
        nearest = int(np.argmin(distance))
        return int(owner[nearest]) if distance[nearest] <= tolerance else None

    def _edge_path(self, indices: list[int] | range) -> QPainterPath:
        path = QPainterPath()
        for k in indices:
            points = self.layout.edges[k]
            path.moveTo(*points[0])
            for point in points[1:]:
                path.lineTo(*point)
        return path

    def _add_edges(self) -> None:
        pen = _cosmetic(EDGE_COLOUR, 1)
        edges = self.layout.edges
        # Every drawn segment, for finding the edge under the pointer (edge_at).
        segments = [(a[0], a[1], b[0], b[1], k) for k, points in enumerate(edges) for a, b in zip(points, points[1:])]
        table = np.array(segments, dtype=float).reshape(-1, 5)
        self._segments = (table[:, 0], table[:, 1], table[:, 2], table[:, 3], table[:, 4].astype(int))
        order = sorted(range(len(edges)), key=lambda k: edges[k][0][1])  # nearby edges in one item
        for start in range(0, len(order), EDGES_PER_ITEM):
            item = QGraphicsPathItem(self._edge_path(order[start:start + EDGES_PER_ITEM]))
            item.setPen(pen)
            item.setZValue(0)
            self.addItem(item)
        # Arrowheads only where text is shown (zoomed out they would be specks), in groups by
        # position like the edges, so a frame draws only those near the view.
        order = sorted(range(len(edges)), key=lambda k: edges[k][-1][1])
        for start in range(0, len(order), EDGES_PER_ITEM):
            heads = QPainterPath()
            for k in order[start:start + EDGES_PER_ITEM]:
                (x0, y0), (x1, y1) = edges[k][-2], edges[k][-1]
                length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-6)
                ux, uy = (x1 - x0) / length, (y1 - y0) / length
                heads.addPolygon(QPolygonF([
                    QPointF(x1, y1), QPointF(x1 - ARROW * ux + ARROW * 0.5 * uy, y1 - ARROW * uy - ARROW * 0.5 * ux),
                    QPointF(x1 - ARROW * ux - ARROW * 0.5 * uy, y1 - ARROW * uy + ARROW * 0.5 * ux)]))
                heads.closeSubpath()
            arrows = QGraphicsPathItem(heads)
            arrows.setPen(Qt.PenStyle.NoPen)
            arrows.setBrush(QBrush(EDGE_COLOUR))
            arrows.setZValue(0.2)
            self.addItem(arrows)
            self._details.append(arrows)

    # -- what is shown -----------------------------------------------------------------------------

    def apply_paint(self, paint: Paint) -> None:
        """Colour the boxes with an overlay's paint."""
        self.paint = paint
        groups: dict[tuple[str, str, float], QPainterPath] = {}
        for node in self.graph.nodes:
            key = (paint.fill[node.id], paint.border[node.id], paint.border_width[node.id])
            path = groups.get(key)
            if path is None:
                path = groups[key] = QPainterPath()
            path.addRect(self.node_rect(node.id))
        self._boxes.set_groups([(QBrush(QColor(fill)), _cosmetic(QColor(border), width), path)
                                for (fill, border, width), path in groups.items()])
        if self.detailed:
            for item in self._details:
                item.update()

    def set_detailed(self, on: bool) -> None:
        """Boxes with text (zoomed in) or one drawing of all boxes (zoomed out)."""
        if on != self.detailed:
            self.detailed = on
            for item in self._details:
                item.setVisible(on)
            self._boxes.setVisible(not on)

    def set_matches(self, node_ids: list[int]) -> None:
        path = QPainterPath()
        for node_id in node_ids:
            path.addRect(self.node_rect(node_id).adjusted(-3, -3, 3, 3))
        self._matches.setPath(path)

    def set_selected(self, node_ids: list[int], edge_ids: list[int]) -> None:
        path = QPainterPath()
        for node_id in node_ids:
            path.addRoundedRect(self.node_rect(node_id).adjusted(-4, -4, 4, 4), 6, 6)
        self._selected.setPath(path)
        self._selected_edges.setPath(self._edge_path(edge_ids))
