"""pyqtgraph plots of a tensor's values and of a comparison's errors. Imported only when
first needed (pyqtgraph takes about 0.7 s to import). Items are created once and updated
with setData."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QWidget


class _WheelScrollsThePanel(QObject):
    """A wheel turned over a plot that has not been clicked scrolls the panel around it, as over
    any other content; once clicked (focused) the plot zooms. Without this, scrolling a long
    detail panel zooms every plot the pointer passes and collapses its data to a dot."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.Wheel:
            return False
        view = watched.parent() if isinstance(watched.parent(), QWidget) else watched
        if isinstance(view, QWidget) and view.hasFocus():
            return False  # the plot's own zoom
        ancestor = view.parentWidget() if isinstance(view, QWidget) else None
        while ancestor is not None and not isinstance(ancestor, QAbstractScrollArea):
            ancestor = ancestor.parentWidget()
        if ancestor is not None:
            QApplication.sendEvent(ancestor.verticalScrollBar(), event)
        return True


_WHEEL_FILTER: _WheelScrollsThePanel | None = None


def plot_widget_for_panels(widget: QWidget) -> QWidget:
    """Set up a pyqtgraph widget that sits in a scrolled panel: a click focuses it (then the wheel
    zooms), the wheel otherwise scrolls the panel; axes show values in real units (no "×0.001"
    prefix scaling)."""
    global _WHEEL_FILTER
    if _WHEEL_FILTER is None:
        _WHEEL_FILTER = _WheelScrollsThePanel()
    widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
    widget.viewport().installEventFilter(_WHEEL_FILTER)
    return widget


def real_unit_axes(plot: Any) -> None:
    """Tick labels in the data's own units: pyqtgraph would otherwise rescale small values and
    write the factor in the axis title ("value (x0.001)" with ticks −500 … 500)."""
    for name in ("bottom", "left"):
        plot.getAxis(name).enableAutoSIPrefix(False)


class TensorPlots:
    """A value histogram and, for per-channel tensors, each channel's min-max range."""

    def __init__(self) -> None:
        self.widget = plot_widget_for_panels(pg.GraphicsLayoutWidget())
        self.widget.setMinimumHeight(320)
        self.widget.setBackground("w")
        self.histogram_plot = self.widget.addPlot(row=0, col=0, title="Histogram")
        self.histogram_plot.setLabel("bottom", "value")
        self.histogram_plot.setLabel("left", "count")
        self.histogram_curve = self.histogram_plot.plot(
            [0, 1], [0], stepMode="center", fillLevel=0, brush=(74, 123, 208, 120), pen=pg.mkPen("#2a5bb0")
        )
        self.channel_plot = self.widget.addPlot(row=1, col=0, title="Range per channel")
        self.channel_plot.setLabel("bottom", "channel")
        self.channel_plot.setLabel("left", "value")
        self.channel_bars = pg.BarGraphItem(x=[], height=[], y0=[], width=0.8, brush=(208, 123, 74, 160))
        self.channel_plot.addItem(self.channel_bars)
        for plot in (self.histogram_plot, self.channel_plot):
            real_unit_axes(plot)

    def set_histogram(self, histogram: tuple[np.ndarray, np.ndarray] | None) -> None:
        if histogram is None:
            self.histogram_curve.setData([0, 1], [0])
            return
        counts, edges = histogram
        self.histogram_curve.setData(edges, counts)

    def set_channel_ranges(self, low: np.ndarray | None, high: np.ndarray | None) -> None:
        visible = low is not None and high is not None and low.size > 0
        self.channel_plot.setVisible(visible)
        if not visible:
            self.channel_bars.setOpts(x=[], height=[], y0=[])
            return
        x = np.arange(low.size)
        self.channel_bars.setOpts(x=x, y0=low, height=high - low, width=0.8)
        self.channel_plot.enableAutoRange()

    def histogram_data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.histogram_curve.getData()


# ---------------------------------------------------------------- the Compare page

CANDIDATE_COLORS = ("#2a5bb0", "#e67e22", "#27ae60", "#8e44ad", "#16a085", "#7f8c8d", "#c0392b")
WORST_COLOR = "#c0392b"
EMPTY_BIN = 0.5  # where an empty histogram bin is drawn on a log scale of counts
PINNED_LABEL = "exact (∞) or off the scale: pinned to the edge"
REFERENCE_COLOR = "#2a5bb0"
CANDIDATE_COLOR = "#e67e22"


class LayerSeries:
    """One candidate's curve: a metric per matched tensor, at its op's place in the reference."""

    def __init__(self, name: str, x: np.ndarray, y: np.ndarray, positions: np.ndarray, worst: np.ndarray,
                 isolated: np.ndarray | None = None) -> None:
        self.name = name
        # The same metric with each op run alone on the reference's activations (drawn dashed);
        # None when the comparison has no isolated numbers.
        self.isolated = None if isolated is None else np.asarray(isolated, dtype=np.float64)
        self.x = np.asarray(x, dtype=np.float64)  # op index in the reference, −1 for a model input
        self.y = np.asarray(y, dtype=np.float64)  # NaN where the metric has no value, ±inf kept
        self.positions = np.asarray(positions, dtype=np.int64)  # each point's layer in the candidate's list
        self.worst = np.asarray(worst, dtype=np.int64)  # indices into x/y of the worst layers


def pin_values(columns: list[np.ndarray], log: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The values as drawn, and which of them are pinned to an edge.

    Infinite values (identical tensors give an SQNR of +inf) and, on a log scale, values
    that are zero or negative cannot be drawn where they are: they go just past the
    largest (or smallest) drawable value of all the columns, and are marked as pinned.
    NaN stays NaN, a gap in the curve.
    """
    drawable = [c[np.isfinite(c) & ((c > 0) if log else True)] for c in columns]
    values = np.concatenate(drawable) if drawable else np.zeros(0)
    if values.size:
        lo, hi = float(values.min()), float(values.max())
    else:
        lo, hi = (0.1, 10.0) if log else (0.0, 1.0)
    if log:
        top, bottom = hi * 3, lo / 3
    else:
        margin = (hi - lo) * 0.08 or max(abs(hi) * 0.08, 1.0)
        top, bottom = hi + margin, lo - margin
    shown, pinned = [], []
    for c in columns:
        y = c.copy()
        high = y == np.inf
        low = (y == -np.inf) | ((y <= 0) if log else False)
        y[high] = top
        y[low] = bottom
        shown.append(y)
        pinned.append(np.flatnonzero(high | low))
    return shown, pinned


class LayerErrorPlot:
    """One curve per candidate along the reference's execution order; the worst layers ringed
    in red, values pinned to an edge marked with triangles, the selected layer circled.
    `on_click(series, position)` is called with the clicked point's candidate and layer."""

    def __init__(self, on_click: Callable[[int, int], None]) -> None:
        self._on_click = on_click
        self.widget = plot_widget_for_panels(pg.PlotWidget(background="w"))
        self.widget.setMinimumHeight(160)
        self.plot = self.widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "op in the reference's execution order (model inputs: in the table)")
        self.legend = self.plot.addLegend(offset=(-8, 8), labelTextSize="8pt", brush=pg.mkBrush(255, 255, 255, 210))
        self.curves: list[pg.PlotDataItem] = []
        self.isolated_curves: list[pg.PlotDataItem | None] = []
        self.worst_marks = self._marks("o", 13, pg.mkPen(WORST_COLOR, width=2))
        self.pinned_marks = self._marks("t1", 11, pg.mkPen("#333333", width=1.5))
        self.selected_mark = self._marks("o", 19, pg.mkPen("#000000", width=2))
        self.selected_mark.setZValue(10)
        self._names: list[str] = []
        self._isolated: list[bool] = []
        self._worst_label = ""
        self._series: list[LayerSeries] = []
        self._shown: list[np.ndarray] = []
        self._pinned_in_legend = False

    def _marks(self, symbol: str, size: int, pen: Any) -> pg.PlotDataItem:
        item = pg.PlotDataItem([], [], pen=None, symbol=symbol, symbolSize=size, symbolPen=pen, symbolBrush=None)
        item.setZValue(5)
        item.sigPointsClicked.connect(self._clicked)
        self.plot.addItem(item)
        return item

    def _clicked(self, item: Any, points: Any, event: Any) -> None:
        if len(points):
            series, position = points[0].data()
            self._on_click(int(series), int(position))

    def _rebuild(self, names: list[str], worst_label: str, isolated: list[bool]) -> None:
        for curve in [*self.curves, *(c for c in self.isolated_curves if c is not None)]:
            self.plot.removeItem(curve)
        self.legend.clear()
        self.curves = []
        self.isolated_curves = []
        for i, (name, with_isolated) in enumerate(zip(names, isolated)):
            color = CANDIDATE_COLORS[i % len(CANDIDATE_COLORS)]
            curve = pg.PlotDataItem([], [], pen=pg.mkPen(color, width=1.5), symbol="o", symbolSize=6,
                                    symbolPen=None, symbolBrush=color, name=f"{name} · end to end" if with_isolated
                                    else name)
            curve.sigPointsClicked.connect(self._clicked)
            self.plot.addItem(curve)
            self.curves.append(curve)
            alone = None
            if with_isolated:
                alone = pg.PlotDataItem([], [], pen=pg.mkPen(color, width=1.2, style=Qt.PenStyle.DashLine),
                                        symbol="s", symbolSize=5, symbolPen=pg.mkPen(color), symbolBrush=None,
                                        name=f"{name} · isolated (op alone)")
                alone.sigPointsClicked.connect(self._clicked)
                self.plot.addItem(alone)
            self.isolated_curves.append(alone)
        self.legend.addItem(self.worst_marks, worst_label)
        self._pinned_in_legend = False
        self._names = names
        self._isolated = isolated
        self._worst_label = worst_label

    def set_series(self, series: list[LayerSeries], y_title: str, log: bool, worst_label: str) -> None:
        names = [s.name for s in series]
        isolated = [s.isolated is not None for s in series]
        if names != self._names or worst_label != self._worst_label or isolated != self._isolated:
            self._rebuild(names, worst_label, isolated)
        self.plot.setLogMode(x=False, y=log)
        # Both curves share one scale: pinned values of either go past the largest of all.
        alone = [s.isolated for s in series if s.isolated is not None]
        shown_all, pinned_all = pin_values([s.y for s in series] + alone, log)
        shown, pinned = shown_all[: len(series)], pinned_all[: len(series)]
        alone_shown = iter(shown_all[len(series):])
        for i, s in enumerate(series):
            curve = self.isolated_curves[i]
            if curve is not None:
                curve.setData(s.x, next(alone_shown), data=[(i, int(p)) for p in s.positions])
        worst: list[tuple[float, float, tuple[int, int]]] = []
        edges: list[tuple[float, float, tuple[int, int]]] = []
        for i, (s, y, edge) in enumerate(zip(series, shown, pinned)):
            self.curves[i].setData(s.x, y, data=[(i, int(p)) for p in s.positions])
            worst.extend((s.x[k], y[k], (i, int(s.positions[k]))) for k in s.worst)
            edges.extend((s.x[k], y[k], (i, int(s.positions[k]))) for k in edge)
        for item, points in ((self.worst_marks, worst), (self.pinned_marks, edges)):
            item.setData([p[0] for p in points], [p[1] for p in points], data=[p[2] for p in points])
        if bool(edges) != self._pinned_in_legend:  # explained only when there are some
            if edges:
                self.legend.addItem(self.pinned_marks, PINNED_LABEL)
            else:
                self.legend.removeItem(self.pinned_marks)
            self._pinned_in_legend = bool(edges)
        self.plot.setLabel("left", y_title)
        self.plot.enableAutoRange()
        self._shown = shown
        self._series = series

    def mark_selected(self, series: int | None, position: int | None) -> None:
        """Circle the layer at `position` of candidate `series` (None: no mark)."""
        if series is None or position is None or series >= len(self._series):
            self.selected_mark.setData([], [])
            return
        where = np.flatnonzero(self._series[series].positions == position)
        if not where.size:
            self.selected_mark.setData([], [])
            return
        k = int(where[0])
        self.selected_mark.setData([self._series[series].x[k]], [self._shown[series][k]], data=[(series, position)])


class TensorPairPlots:
    """One matched tensor on one input: both tensors' value histograms, candidate against
    reference (with the y = x line), and the histogram of the error.

    Counts are on a log scale: after a ReLU, or where both tensors are zero, one bin holds
    most values and would flatten every other bin to the axis. Empty bins are drawn at
    EMPTY_BIN, under the one-value line, so the curves stay unbroken."""

    def __init__(self) -> None:
        self.widget = plot_widget_for_panels(pg.GraphicsLayoutWidget())
        self.widget.setBackground("w")
        self.widget.setMinimumHeight(300)
        # The title names the curves: a legend would cover a plot this short.
        self.values_plot = self.widget.addPlot(
            row=0, col=0, title=f"Values: <span style='color:{REFERENCE_COLOR}'>reference</span>, "
                                f"<span style='color:{CANDIDATE_COLOR}'>candidate (dequantized)</span>")
        self.reference_curve = self.values_plot.plot(
            [0, 1], [EMPTY_BIN], stepMode="center", pen=pg.mkPen(REFERENCE_COLOR, width=2), name="reference")
        self.candidate_curve = self.values_plot.plot(
            [0, 1], [EMPTY_BIN], stepMode="center", pen=pg.mkPen(CANDIDATE_COLOR, width=1.2),
            name="candidate (dequantized)")
        self.values_plot.setLabel("left", "count")
        self.values_plot.setLogMode(x=False, y=True)
        self.scatter_plot = self.widget.addPlot(row=1, col=0, title="Candidate against reference")
        self.scatter_plot.setLabel("bottom", "reference")
        self.scatter_plot.setLabel("left", "candidate")
        self.identity_line = self.scatter_plot.plot([0, 1], [0, 1], pen=pg.mkPen("#888888", style=Qt.PenStyle.DashLine))
        self.scatter = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(42, 91, 176, 90))
        self.scatter_plot.addItem(self.scatter)
        self.error_plot = self.widget.addPlot(row=2, col=0, title="Error (candidate − reference)")
        self.error_curve = self.error_plot.plot([0, 1], [EMPTY_BIN], stepMode="center",
                                                pen=pg.mkPen(WORST_COLOR, width=1.5))
        self.error_plot.setLabel("left", "count")
        self.error_plot.setLogMode(x=False, y=True)
        for plot in (self.values_plot, self.scatter_plot, self.error_plot):
            real_unit_axes(plot)

    def set_data(self, reference_counts: np.ndarray | None, candidate_counts: np.ndarray | None,
                 value_edges: np.ndarray | None, scatter: tuple[np.ndarray, np.ndarray] | None,
                 error: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Histogram counts with their edges, the (reference, candidate) points, the error's
        (counts, edges); None empties the plots."""
        if any(part is None for part in (reference_counts, candidate_counts, value_edges, scatter, error)):
            for curve in (self.reference_curve, self.candidate_curve, self.error_curve):
                curve.setData([0, 1], [EMPTY_BIN])
            self.scatter.setData([], [])
            self.identity_line.setData([0, 1], [0, 1])
            return
        self.reference_curve.setData(value_edges, np.maximum(reference_counts, EMPTY_BIN))
        self.candidate_curve.setData(value_edges, np.maximum(candidate_counts, EMPTY_BIN))
        self.scatter.setData(scatter[0], scatter[1])
        lo, hi = float(value_edges[0]), float(value_edges[-1])
        self.identity_line.setData([lo, hi], [lo, hi])
        self.error_curve.setData(error[1], np.maximum(error[0], EMPTY_BIN))
        for plot in (self.values_plot, self.scatter_plot, self.error_plot):
            plot.enableAutoRange()
