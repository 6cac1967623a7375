"""The Graph page: the selected subgraph as a graph, with an overlay, its legend and a minimap.

The layout runs through the page's run controller, in a layout worker process for large graphs
(Cancel stops it; the rest of the app stays usable), and is kept for the session. The graph
shares the model page's selection: clicking a box selects the op (the Operators table and the
detail panel follow), and a selection made anywhere (a table, a detail link, Back/Forward, a
point on the Compare plot) is centred and outlined here. Up and Down move to the selected op's
producer and consumer; Enter or a double click opens the subgraph of a WHILE (its body), IF (its
then branch) or CALL_ONCE, and the node's context menu offers each subgraph the op calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import InspectorError
from ...core.tasks import Cancelled
from ...core.files import write_new_file
from ...core.graph.overlays import Paint, cost_paint, delegate_paint, error_paint, quantization_paint, type_paint
from ...core.graph.structure import OP, OpGraph, build_graph
from ...core.graph.svg import edge_tooltip, graph_svg, node_tooltip
from ...core.reading.model import Subgraph
from ..jobs import SharedWorkers
from ..run_controller import RunController, RunTask
from ..selection import Place
from ..widgets.messages import show_error, wrapped_label
from ..widgets.run_bar import RunBar
from .model import OVERLAYS, GraphPage, LaidOut, LayoutKey
from .scene import GraphScene

if TYPE_CHECKING:
    from ...core.comparison.results import CandidateComparison
    from ..model_page.delegates import DelegateReports
    from ..model_page.model import ModelPage

DETAIL_SCALE = 0.45  # at this zoom and closer, boxes show their text
ZOOM_STEP = 1.25
MINIMAP_SIZE = 170
MINIMAP_LEAST = 64  # a one-column graph's miniature is a thin strip: the frame stays this wide
EXPORT_FILTER = "SVG drawing (*.svg);;PNG picture (*.png)"
PNG_LONGEST_SIDE = 16000  # pixels: a PNG of a taller graph is drawn smaller
MAIN_ROLES = ("body", "then", "init", "else", "cond")  # which called subgraph a double click opens first

# The comparison an error overlay shows: the candidate's results and the metric, or None.
ComparisonSource = Callable[[], "tuple[CandidateComparison, str] | None"]


def _layout_workers() -> tuple:
    from ...core.graph.layout_worker import LayoutWorker

    return (LayoutWorker(),)


def lay_out_task(subgraph: Subgraph, with_constants: bool, task: RunTask) -> LaidOut:
    """Runs in a worker thread: the graph, then its layout (in the worker process when large)."""
    from ...core.graph.layout_worker import lay_out

    task.progress(0, 2, "Building the graph")
    graph = build_graph(subgraph, with_constants=with_constants)
    size = f"{graph.op_count:,} ops and {len(graph.edges):,} edges"
    task.progress(1, 2, f"Laying out {size}")
    if task.cancelled():
        raise Cancelled("layout")
    (worker,) = task.workers
    layout = lay_out(graph, worker, task.cancelled)
    task.progress(2, 2, "")
    return LaidOut(graph, layout)


class GraphCanvas(QGraphicsView):
    """Zoom (wheel, + and −, 0 to fit), pan (drag, scroll bars), click and keys on the boxes."""

    node_clicked = Signal(int)
    node_activated = Signal(int)  # double click or Enter
    node_menu = Signal(int, QPoint)  # right click on a node: its id and the global position
    step = Signal(str)  # "producer" or "consumer": Up or Down
    viewport_moved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setBackgroundBrush(QColor("#ffffff"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pressed_at: QPoint | None = None
        self.horizontalScrollBar().valueChanged.connect(lambda _: self.viewport_moved.emit())
        self.verticalScrollBar().valueChanged.connect(lambda _: self.viewport_moved.emit())

    @property
    def graph_scene(self) -> GraphScene | None:
        scene = self.scene()
        return scene if isinstance(scene, GraphScene) else None

    def zoom_by(self, factor: float) -> None:
        scale = self.transform().m11() * factor
        if 0.01 <= scale <= 8.0:
            self.scale(factor, factor)
            self._zoom_changed()

    def set_zoom(self, scale: float) -> None:
        self.resetTransform()
        self.scale(scale, scale)
        self._zoom_changed()

    def fit(self) -> None:
        scene = self.graph_scene
        if scene is not None:
            self.fitInView(scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self._zoom_changed()

    def _zoom_changed(self) -> None:
        scene = self.graph_scene
        if scene is not None:
            scene.set_detailed(self.transform().m11() >= DETAIL_SCALE)
        self.viewport_moved.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP ** steps)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / ZOOM_STEP)
        elif key in (Qt.Key.Key_0, Qt.Key.Key_F):
            self.fit()
        elif key == Qt.Key.Key_Up:
            self.step.emit("producer")
        elif key == Qt.Key.Key_Down:
            self.step.emit("consumer")
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.node_activated.emit(-1)
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._pressed_at = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        super().mouseReleaseEvent(event)
        pressed, self._pressed_at = self._pressed_at, None
        if pressed is None or (event.position().toPoint() - pressed).manhattanLength() > 4:
            return  # a drag pans; only a click selects
        node = self._node_at(event.position().toPoint())
        if node is not None:
            self.node_clicked.emit(node)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        node = self._node_at(event.position().toPoint())
        if node is not None:
            self.node_activated.emit(node)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        node = self._node_at(event.pos())
        if node is not None:
            self.node_menu.emit(node, event.globalPos())
            event.accept()

    def _node_at(self, point: QPoint) -> int | None:
        scene = self.graph_scene
        return None if scene is None else scene.node_at(self.mapToScene(point))

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ToolTip and self.graph_scene is not None:
            point = event.pos()  # type: ignore[attr-defined]
            node = self._node_at(point)
            text = self.tooltip(node) if node is not None else ""
            if node is None:  # an edge within three pixels of the pointer: its tensor
                scale = max(self.transform().m11(), 1e-6)
                edge = self.graph_scene.edge_at(self.mapToScene(point), 3 / scale)
                text = self.edge_tooltip(edge) if edge is not None else ""
            if text:
                QToolTip.showText(event.globalPos(), text, self)  # type: ignore[attr-defined]
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    tooltip: Callable[[int], str] = staticmethod(lambda node: "")  # set by the page
    edge_tooltip: Callable[[int], str] = staticmethod(lambda edge: "")


class Minimap(QWidget):
    """The whole graph in small, with the part the canvas shows framed; a click centres there."""

    def __init__(self, canvas: GraphCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self._picture: QPixmap | None = None
        self._scale = 1.0
        self._offset = QPointF(1, 1)  # where the picture's corner is in the widget
        self._side = MINIMAP_SIZE
        self.setFixedSize(MINIMAP_SIZE, MINIMAP_SIZE)
        self.setToolTip("The whole graph: click or drag to move there")
        canvas.viewport_moved.connect(self.update)

    def redraw(self) -> None:
        """Draw the scene once into a picture (again after the overlay changes)."""
        scene = self.canvas.graph_scene
        if scene is None:
            self._picture = None
            self.hide()
            return
        rect = scene.sceneRect()
        # At most 28% of the canvas's shorter side, so on a small screen it hides little of the graph.
        viewport = self.canvas.viewport()
        side = max(80, min(MINIMAP_SIZE, int(min(viewport.width(), viewport.height()) * 0.28)))
        self._side = side
        self._scale = min(side / rect.width(), side / rect.height())
        size = (max(int(rect.width() * self._scale), 1), max(int(rect.height() * self._scale), 1))
        image = QImage(size[0], size[1], QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor("#ffffff"))
        detailed = scene.detailed
        scene.set_detailed(False)
        painter = QPainter(image)
        scene.render(painter, QRectF(0, 0, size[0], size[1]), rect)
        painter.end()
        scene.set_detailed(detailed)
        self._picture = QPixmap.fromImage(image)
        width, height = max(size[0] + 2, MINIMAP_LEAST), max(size[1] + 2, MINIMAP_LEAST)
        self._offset = QPointF((width - size[0]) / 2, (height - size[1]) / 2)
        self.setFixedSize(width, height)
        self.show()
        self.update()

    def paintEvent(self, event: object) -> None:  # noqa: N802
        if self._picture is None:
            return
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#f4f4f4"))
        painter.drawPixmap(self._offset, self._picture)
        scene = self.canvas.graph_scene
        if scene is not None:
            shown = self.canvas.mapToScene(self.canvas.viewport().rect()).boundingRect()
            origin = scene.sceneRect().topLeft()
            frame = QRectF((shown.x() - origin.x()) * self._scale + self._offset.x(),
                           (shown.y() - origin.y()) * self._scale + self._offset.y(),
                           shown.width() * self._scale, shown.height() * self._scale)
            painter.setPen(QPen(QColor("#e67e22"), 1.5))
            painter.drawRect(frame.intersected(QRectF(self.rect())))
        painter.setPen(QColor("#999999"))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))

    def _centre(self, point: QPointF) -> None:
        scene = self.canvas.graph_scene
        if scene is not None:
            origin = scene.sceneRect().topLeft()
            self.canvas.centerOn(origin.x() + (point.x() - self._offset.x()) / self._scale,
                                 origin.y() + (point.y() - self._offset.y()) / self._scale)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._centre(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._centre(event.position())


class Legend(QWidget):
    """The overlay's title, note, swatches (fill and border, as the boxes have them) and colour
    scale, painted: Qt's rich text draws neither borders nor gradients reliably."""

    SWATCH = QSize(24, 13)
    ROW = 19
    WIDTH = 250

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paint: Paint | None = None
        self.setFixedWidth(self.WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def show_paint(self, paint: Paint) -> None:
        self.paint = paint
        self.setFixedHeight(self._layout(None))
        self.update()

    def text(self) -> str:
        """What the legend says, as plain text (tests, accessibility)."""
        paint = self.paint
        if paint is None:
            return ""
        lines = [paint.title, paint.note, *(entry.label for entry in paint.legend)]
        if paint.scale:
            lines.append(f"{paint.scale[0][1]} … {paint.scale[-1][1]}")
        return "\n".join(line for line in lines if line)

    def paintEvent(self, event: object) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#fbfbfb"))
        painter.setPen(QColor("#dddddd"))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        self._layout(painter)
        painter.end()

    def _layout(self, painter: QPainter | None) -> int:
        """Draw with `painter` (or only measure, with None); the height used."""
        paint = self.paint
        if paint is None:
            return 10
        width = self.WIDTH - 12
        y = 6

        def text(value: str, colour: str = "#111111", bold: bool = False, left: int = 6) -> None:
            nonlocal y
            font = QFont(self.font())
            font.setBold(bold)
            rect = QFontMetrics(font).boundingRect(QRect(left, y, width - left + 6, 1000), Qt.TextFlag.TextWordWrap,
                                                   value)
            if painter is not None:
                painter.setFont(font)
                painter.setPen(QColor(colour))
                painter.drawText(rect, Qt.TextFlag.TextWordWrap, value)
            y += rect.height() + 3

        text(paint.title, bold=True)
        if paint.note:
            text(paint.note, "#666666")
        for entry in paint.legend:
            if painter is not None:
                painter.setBrush(QColor(entry.colour))
                painter.setPen(QPen(QColor(entry.border or "#777777"), 2.5 if entry.border else 1))
                painter.drawRoundedRect(QRectF(8, y + 2, self.SWATCH.width(), self.SWATCH.height()), 2, 2)
            before = y
            text(entry.label, left=8 + self.SWATCH.width() + 8)
            y = max(y, before + self.ROW)
        if paint.scale:
            low, high = paint.scale[0], paint.scale[-1]
            text(low[1], "#333333")
            if painter is not None:
                gradient = QLinearGradient(8, 0, width, 0)
                for k, (colour, _) in enumerate(paint.scale):
                    gradient.setColorAt(k / max(len(paint.scale) - 1, 1), QColor(colour))
                painter.setBrush(gradient)
                painter.setPen(QColor("#777777"))
                painter.drawRect(QRectF(8, y, width - 8, 12))
            y += 16
            text(high[1], "#333333")
        return y + 4


class GraphView(QWidget):
    """The Graph tab of a model's page. `place_chosen(Place)` and `subgraph_opened(int)` ask the
    model page to select; the page calls `show_place`, `show_subgraph`, `set_filter_matches`."""

    place_chosen = Signal(object)
    subgraph_opened = Signal(int)

    def __init__(self, model_page: ModelPage, reports: DelegateReports, comparison: ComparisonSource,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_page = model_page
        self.model = model_page.model
        self.reports = reports
        self.comparison = comparison
        self.page = page = GraphPage()
        if model_page.delegate_key:
            page.delegate_key = model_page.delegate_key
        self._workers = SharedWorkers(_layout_workers)
        # Layouts are single library calls: Cancel stops the worker process at once.
        self.runs = RunController(self, self._workers, stop_after_ms=0)
        self.runs.finished.connect(self._laid_out)
        self.runs.failed.connect(lambda message: self._layout_ended(f"The layout failed: {message}"))
        self.runs.cancelled.connect(lambda: self._layout_ended("Layout cancelled."))
        self._running_key: LayoutKey | None = None
        self.scene: GraphScene | None = None
        self._shown_key: LayoutKey | None = None
        self.errors: list[str] = []

        self.overlay_combo = QComboBox()
        for key, title in OVERLAYS.items():
            self.overlay_combo.addItem(title, key)
        self.overlay_combo.setToolTip("What the colours show")
        self.overlay_combo.currentIndexChanged.connect(lambda _: self._overlay_chosen())
        self.delegate_combo = QComboBox()
        self.delegate_combo.setToolTip("The delegate whose verdicts and partitions are shown")
        self.delegate_combo.currentIndexChanged.connect(lambda _: self._overlay_chosen())
        self.constants_check = QCheckBox("Constants as nodes")
        self.constants_check.setToolTip("Show weights, biases and other constant inputs as nodes of their own "
                                        "(folded into their op otherwise, as in the tooltip)")
        self.constants_check.toggled.connect(page.set_with_constants)
        fit = QPushButton("Fit")
        fit.setToolTip("Show the whole graph (0 or F)")
        fit.clicked.connect(lambda: self.canvas.fit())
        actual = QPushButton("100%")
        actual.setToolTip("Boxes at their own size")
        actual.clicked.connect(lambda: self.canvas.set_zoom(1.0))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the graph with its overlay and legend as SVG or PNG")
        self.export_button.clicked.connect(lambda: self.export())
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Colour by"))
        tools.addWidget(self.overlay_combo)
        tools.addWidget(self.delegate_combo)
        tools.addWidget(self.constants_check)
        tools.addStretch(1)
        tools.addWidget(fit)
        tools.addWidget(actual)
        tools.addWidget(self.export_button)

        self.run_bar = RunBar(self.runs, progress_format="%v / %m")
        self.run_bar.run_button.setText("Lay out")
        self.run_bar.run_button.setToolTip("Lay the graph out again (after a Cancel or a failure)")
        self.run_bar.run_button.clicked.connect(self._start_layout)

        self.canvas = GraphCanvas()
        self.canvas.tooltip = self._tooltip
        self.canvas.edge_tooltip = self._edge_tooltip
        self.canvas.node_clicked.connect(self._node_clicked)
        self.canvas.node_activated.connect(self._node_activated)
        self.canvas.node_menu.connect(self._node_menu)
        self.canvas.step.connect(self._step)
        self.minimap = Minimap(self.canvas, self.canvas)
        self.minimap.hide()
        self.canvas.viewport_moved.connect(self._place_minimap)
        self.legend = Legend()
        self.summary = wrapped_label()
        self.summary.setFixedWidth(Legend.WIDTH)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.canvas, 1)
        side = QVBoxLayout()
        side.addWidget(self.legend)
        side.addWidget(self.summary)
        side.addStretch(1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(tools)
        layout.addWidget(self.run_bar)
        layout.addLayout(body, 1)

        page.changed.connect(self._page_changed)
        model_page.changed.connect(self._model_page_changed)
        reports.ready.connect(lambda _key: self._repaint_if("delegate"))
        self._fill_delegates()
        self._update_controls()

    # -- what is shown -----------------------------------------------------------------------------

    @property
    def subgraph(self) -> int:
        return self.model_page.subgraph_index

    def show_subgraph(self) -> None:
        """Show the page's subgraph: its layout when there is one, else lay it out."""
        key = self.page.key(self.subgraph)
        laid_out = self.page.layouts.get(key)
        if laid_out is None:
            self._clear_scene()
            if self.page.pending != key and key not in self.page.problems:
                self._start_layout()
            return
        if self._shown_key != key:
            self._build_scene(key, laid_out)

    def _build_scene(self, key: LayoutKey, laid_out: LaidOut) -> None:
        old = self.scene
        self.scene = GraphScene(laid_out.graph, laid_out.layout, self._paint(laid_out.graph), self)
        self.canvas.setScene(self.scene)
        if old is not None:
            old.deleteLater()
        self._shown_key = key
        self.canvas.fit()
        if self.canvas.transform().m11() < DETAIL_SCALE / 3 and len(laid_out.graph.nodes) < 4000:
            # A tall graph fitted is a thread of specks: start at a readable zoom at its top.
            self.canvas.set_zoom(DETAIL_SCALE * 1.4)
            self.canvas.centerOn(laid_out.layout.x[0] if laid_out.layout.x else 0, 0)
        self._show_legend()
        self.minimap.redraw()
        self._place_minimap()
        self.show_place(self.model_page.selection.place, centre=True)
        self._apply_matches()
        graph = laid_out.graph
        self.summary.setText(f"{graph.op_count:,} ops, {len(graph.edges):,} edges. Click a box to select its op; "
                             "Up and Down go to its producer and consumer; scroll to zoom.")

    def _clear_scene(self) -> None:
        if self.scene is not None:
            self.canvas.setScene(None)
            self.scene.deleteLater()
            self.scene = None
        self._shown_key = None
        self.minimap.hide()
        self.summary.setText("")

    def _page_changed(self, aspect: str) -> None:
        if aspect == "layout":
            if self.isVisible():
                self.show_subgraph()
        elif aspect == "overlay":
            self._repaint()
        elif aspect == "highlight":
            self._apply_matches()
        self._update_controls()

    def _model_page_changed(self, aspect: str) -> None:
        if aspect == "subgraph" and self.isVisible():
            self.show_subgraph()
        elif aspect in ("delegates",):
            self._fill_delegates()
        elif aspect in ("settings", "runtime"):
            self._repaint_if("delegate")
        elif aspect == "delegate" and self.model_page.delegate_key:
            self._select_delegate(self.model_page.delegate_key)

    def showEvent(self, event: object) -> None:  # noqa: N802
        super().showEvent(event)  # type: ignore[arg-type]
        self.show_subgraph()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        viewport = self.canvas.viewport()
        wanted = max(80, min(MINIMAP_SIZE, int(min(viewport.width(), viewport.height()) * 0.28)))
        if self.scene is not None and wanted != self.minimap._side:
            self.minimap.redraw()
        self._place_minimap()

    def _place_minimap(self) -> None:
        if self.minimap.isVisible():
            viewport = self.canvas.viewport().geometry()
            self.minimap.move(viewport.right() - self.minimap.width() - 6, viewport.bottom() - self.minimap.height() - 6)

    # -- laying out --------------------------------------------------------------------------------

    def _start_layout(self) -> None:
        if self.runs.running:
            return
        key = self.page.key(self.subgraph)
        sg = self.model.subgraphs[key[0]]
        self._running_key = key
        self.page.layout_started(key)
        self.runs.start(lambda task: lay_out_task(sg, key[1], task))
        self.run_bar.started(f"Laying out subgraph {key[0]} ({len(sg.operators):,} ops)…")

    def _laid_out(self, laid_out: LaidOut) -> None:
        key, self._running_key = self._running_key, None
        self.run_bar.ended(2, 2)
        if key is not None:
            engine = "Graphviz dot" if laid_out.layout.engine == "dot" else "igraph"
            self.run_bar.set_outcome(f"Subgraph {key[0]} laid out by {engine} in {laid_out.layout.seconds:.2f} s.")
            self.page.layout_finished(key, laid_out)
        if self.page.key(self.subgraph) != key and self.isVisible():
            self.show_subgraph()  # the subgraph changed while this one was laid out

    def _layout_ended(self, problem: str) -> None:
        key, self._running_key = self._running_key, None
        self.run_bar.ended(0, 2)
        self.run_bar.set_outcome(problem + " Press Lay out to try again.")
        if key is not None:
            self.page.layout_ended_without(key, problem)

    def close_view(self) -> None:
        """The model is closing: stop a layout under way and end the worker process."""
        self.runs.close()
        self._workers.close()

    # -- overlays ----------------------------------------------------------------------------------

    def _fill_delegates(self) -> None:
        infos = self.model_page.delegates or ()
        self.delegate_combo.blockSignals(True)
        self.delegate_combo.clear()
        for info in infos:
            if not info.error:
                self.delegate_combo.addItem(info.label(self.model_page.settings), info.key)
        index = self.delegate_combo.findData(self.page.delegate_key)
        self.delegate_combo.setCurrentIndex(max(index, 0))
        self.delegate_combo.blockSignals(False)
        self._update_controls()
        self._repaint_if("delegate")

    def _select_delegate(self, key: str) -> None:
        index = self.delegate_combo.findData(key)
        if index >= 0:
            self.delegate_combo.setCurrentIndex(index)

    def set_overlay(self, overlay: str, delegate_key: str | None = None) -> None:
        """Show `overlay` (a key of OVERLAYS), for `delegate_key` with the delegate overlay."""
        if delegate_key is not None:
            self._select_delegate(delegate_key)
        self.overlay_combo.setCurrentIndex(self.overlay_combo.findData(overlay))
        self.page.set_overlay(overlay, delegate_key)

    def _overlay_chosen(self) -> None:
        self.page.set_overlay(self.overlay_combo.currentData(), self.delegate_combo.currentData())

    def _update_controls(self) -> None:
        self.delegate_combo.setVisible(self.page.overlay == "delegate")
        self.delegate_combo.setEnabled(self.delegate_combo.count() > 0)
        self.export_button.setEnabled(self.scene is not None)
        self.constants_check.setEnabled(not self.runs.running)

    def _repaint_if(self, overlay: str) -> None:
        if self.page.overlay == overlay:
            self._repaint()

    def comparison_changed(self) -> None:
        """The Compare page's run, candidate or metric changed."""
        self._repaint_if("error")

    def _repaint(self) -> None:
        if self.scene is None:
            return
        self.scene.apply_paint(self._paint(self.scene.graph))
        self._show_legend()
        self.minimap.redraw()

    def _paint(self, graph: OpGraph) -> Paint:
        """The current overlay's paint; a neutral one that says why when its data is not there yet."""
        sg = self.model.subgraphs[graph.subgraph]
        overlay = self.page.overlay
        if overlay == "quantization":
            return quantization_paint(graph, sg)
        if overlay in ("macs", "bytes"):
            return cost_paint(graph, sg, self.model_page.loaded.stats.subgraphs[graph.subgraph], by=overlay)
        if overlay == "delegate":
            return self._delegate_paint(graph)
        if overlay == "error":
            found = self.comparison()
            if found is None or graph.subgraph != 0:
                why = ("Run a comparison on the Compare page: its per-layer error is shown here" if found is None
                       else "Comparisons cover subgraph 0")
                return self._waiting_paint(graph, "Error (Compare)", why)
            candidate, metric = found
            return error_paint(graph, candidate, metric)
        return type_paint(graph, sg)

    def _delegate_paint(self, graph: OpGraph) -> Paint:
        key = self.delegate_combo.currentData() or self.page.delegate_key
        info = self.model_page.info(key)
        if info is None:
            return self._waiting_paint(graph, "Delegate", "Reading the delegates' rules…")
        analysis = self.model_page.analysis_key(info)
        state = self.reports.state(analysis)
        if state is None:
            self.reports.request(analysis, urgent=True)
            return self._waiting_paint(graph, f"Delegate: {info.title}", f"Evaluating {info.title}'s rules…")
        if isinstance(state, str):
            return self._waiting_paint(graph, f"Delegate: {info.title}", f"The rules could not be evaluated: {state}")
        runtime = self.model_page.runtime if key == "xnnpack" else None
        return delegate_paint(graph, state.report, runtime)

    @staticmethod
    def _waiting_paint(graph: OpGraph, title: str, why: str) -> Paint:
        neutral = "#f0f0f0"
        n = len(graph.nodes)
        return Paint(title, (neutral,) * n, ("#777777",) * n, (1.0,) * n, ("",) * n, ("",) * n, (), note=why)

    def _show_legend(self) -> None:
        if self.scene is not None:
            self.legend.show_paint(self.scene.paint)

    def _tooltip(self, node_id: int) -> str:
        scene = self.scene
        if scene is None:
            return ""
        return node_tooltip(scene.graph, self.model.subgraphs[scene.graph.subgraph], node_id, scene.paint)

    def _edge_tooltip(self, edge_id: int) -> str:
        scene = self.scene
        if scene is None:
            return ""
        return edge_tooltip(scene.graph, self.model.subgraphs[scene.graph.subgraph], edge_id)

    # -- selection ---------------------------------------------------------------------------------

    def _node_clicked(self, node_id: int) -> None:
        place = self._place_of(node_id)
        if place is not None:
            self.place_chosen.emit(place)

    def _place_of(self, node_id: int) -> Place | None:
        if self.scene is None:
            return None
        node = self.scene.graph.nodes[node_id]
        sg = self.scene.graph.subgraph
        return Place.op(sg, node.op) if node.kind == OP else Place.tensor(sg, node.tensor)

    def _node_activated(self, node_id: int) -> None:
        """A double click, or Enter on the selected op: open a control-flow op's main subgraph."""
        place = self.model_page.selection.place
        if node_id < 0:
            if place is None or place.kind != "op" or self.scene is None or place.subgraph != self.scene.graph.subgraph:
                return
            node_id = self.scene.graph.node_of_op(place.index)
        called = self.called_subgraphs(node_id)
        if called:
            self.subgraph_opened.emit(called[0][1])

    def called_subgraphs(self, node_id: int) -> list[tuple[str, int]]:
        """The subgraphs an op node calls, as (role, subgraph index), the one a double click opens
        first: a WHILE's body before its condition, an IF's then branch before its else branch."""
        if self.scene is None:
            return []
        node = self.scene.graph.nodes[node_id]
        if node.kind != OP:
            return []
        refs = self.model.subgraphs[self.scene.graph.subgraph].operators[node.op].subgraph_refs
        roles = [(name.removesuffix("_subgraph_index").replace("_", " "), index) for name, index in refs.items()]
        return sorted(roles, key=lambda role: MAIN_ROLES.index(role[0]) if role[0] in MAIN_ROLES else len(MAIN_ROLES))

    def _node_menu(self, node_id: int, at: QPoint) -> None:
        called = self.called_subgraphs(node_id)
        if not called:
            return
        menu = QMenu(self)
        for role, index in called:
            action = menu.addAction(f"Open {role} (subgraph {index})")
            action.triggered.connect(lambda _checked=False, i=index: self.subgraph_opened.emit(i))
        menu.exec(at)

    def _step(self, direction: str) -> None:
        """Up: to the producer of the selected op's first input that has one; Down: to the first
        consumer of its first output that has one (an input or output node for a graph's ends)."""
        place = self.model_page.selection.place
        if self.scene is None or place is None or place.kind != "op" or place.subgraph != self.scene.graph.subgraph:
            return
        graph = self.scene.graph
        node = graph.node_of_op(place.index)
        if direction == "producer":
            sources = [e.source for e in graph.edges if e.target == node]
            target = sources[0] if sources else None
        else:
            targets = [e.target for e in graph.edges if e.source == node]
            target = targets[0] if targets else None
        if target is not None:
            chosen = self._place_of(target)
            if chosen is not None:
                self.place_chosen.emit(chosen)

    def show_place(self, place: Place | None, *, centre: bool = True) -> None:
        """Outline `place` (an op, or a tensor's producer and readers) and centre on it."""
        scene = self.scene
        if scene is None:
            return
        graph = scene.graph
        nodes: list[int] = []
        edges: list[int] = []
        if place is not None and place.subgraph == graph.subgraph:
            if place.kind == "op" and 0 <= place.index < len(self.model.subgraphs[place.subgraph].operators):
                nodes = [graph.node_of_op(place.index)]
                edges = [k for k, e in enumerate(graph.edges) if nodes[0] in (e.source, e.target)]
            elif place.kind == "tensor":
                nodes = graph.nodes_of_tensor(place.index)
                edges = [k for k, e in enumerate(graph.edges) if e.tensor == place.index]
        scene.set_selected(nodes, edges)
        if nodes and centre:
            self.canvas.centerOn(scene.node_rect(nodes[0]).center())

    def selected_node(self) -> int | None:
        """The node of the selected op, when it is on the graph shown."""
        place = self.model_page.selection.place
        if self.scene is None or place is None or place.kind != "op" or place.subgraph != self.scene.graph.subgraph:
            return None
        return self.scene.graph.node_of_op(place.index)

    def set_filter_matches(self, ops: frozenset[int] | None) -> None:
        """Outline the ops the page's filter matches (None: no filter)."""
        self.page.set_highlight(ops)

    def _apply_matches(self) -> None:
        if self.scene is None:
            return
        ops = self.page.highlight
        graph = self.scene.graph
        self.scene.set_matches([] if ops is None else [graph.node_of_op(op) for op in sorted(ops)
                                                        if 0 <= op < graph.op_count])

    # -- export ------------------------------------------------------------------------------------

    def export(self, path: str | None = None, *, overwrite: bool = False) -> bool:
        """Write the graph with its overlay and legend: SVG (the same drawing as the command line's)
        or PNG (this view's drawing). Asks for the path when None (the dialog confirms replacing)."""
        if self.scene is None:
            return False
        if path is None:
            stem = os.path.splitext(self.model.file_name)[0]
            suggested = os.path.join(os.path.dirname(self.model.path), f"{stem}_subgraph{self.subgraph}.svg")
            path, _ = QFileDialog.getSaveFileName(self, "Export graph", suggested, EXPORT_FILTER)
            if not path:
                return False
            overwrite = True
        try:
            if path.lower().endswith(".png"):
                data = self._png_bytes()
            else:
                graph, layout = self.scene.graph, self.scene.layout
                title = f"{self.model.file_name} · subgraph {graph.subgraph} · {self.scene.paint.title}"
                data = graph_svg(graph, layout, self.model.subgraphs[graph.subgraph], self.scene.paint,
                                 title=title).encode("utf-8")
            write_new_file(path, data, overwrite=overwrite)
        except (InspectorError, OSError) as e:
            self.errors.append(str(e))
            self.error_box = show_error(self, "Export graph", "The graph could not be written.", str(e))
            return False
        self.run_bar.show_status(f"Graph written to {path}.")
        return True

    def _png_bytes(self) -> bytes:
        from PySide6.QtCore import QBuffer, QIODevice

        assert self.scene is not None
        rect = self.scene.sceneRect()
        scale = min(2.0, PNG_LONGEST_SIDE / max(rect.width(), rect.height()))
        image = QImage(max(int(rect.width() * scale), 1), max(int(rect.height() * scale), 1),
                       QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor("#ffffff"))
        detailed = self.scene.detailed
        self.scene.set_detailed(scale >= DETAIL_SCALE)
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.scene.render(painter, QRectF(0, 0, image.width(), image.height()), rect)
        painter.end()
        self.scene.set_detailed(detailed)
        legend = QImage(self.legend.size(), QImage.Format.Format_ARGB32_Premultiplied)
        legend.fill(QColor("#ffffff"))
        self.legend.render(legend)
        combined = QImage(max(image.width(), legend.width()), image.height() + legend.height(),
                          QImage.Format.Format_ARGB32_Premultiplied)
        combined.fill(QColor("#ffffff"))
        painter = QPainter(combined)
        painter.drawImage(0, 0, legend)
        painter.drawImage(0, legend.height(), image)
        painter.end()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        combined.save(buffer, "PNG")
        return bytes(buffer.data())

