"""The Compare page's Layers tab: the chosen metric per layer along the reference's execution
order (one curve per candidate, the worst layers ringed), the layers of the shown candidate in a
table, and the selected layer's values on one input (histograms, scatter, error), read from the
interpreter in the background and cached."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.comparison.results import WORST_COUNT, LayerError
from ...core.comparison.tensor_pair import SCATTER_POINTS, TensorPairData, tensor_pair_data
from ...core.formatting import elide_middle, format_metric
from ...core.metrics import METRIC_NAMES, METRIC_TITLES
from ..jobs import Job, SharedWorkers
from ..widgets.messages import wrapped_label
from ..widgets.tables import make_sortable_table
from .layer_table import FIRST_METRIC_COLUMN, LAYER_COLUMNS, LAYER_WIDTHS, LayerTableModel, metric_value
from .model import ComparePage

if TYPE_CHECKING:
    from ..widgets.plots import LayerErrorPlot, TensorPairPlots

VALUES_CACHE_SIZE = 8
# Metrics that are never negative: only these can go on a log scale.
LOG_SCALE_METRICS = frozenset({"mean_squared_error", "max_abs_error", "stddev", "rmse_over_scale"})
NO_LAYER_TEXT = "Click a point or a row to see that layer's values."


def thumbnail_icon(array: np.ndarray | None) -> QIcon | None:
    if array is None:
        return None
    pixels = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.tobytes(), width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888)
    return QIcon(QPixmap.fromImage(image.copy()))  # the copy owns its pixels


class LayersPanel(QWidget):
    """`layer_selected(LayerError)` when the user picks a layer (the model's page shows its op)."""

    layer_selected = Signal(object)
    keep_float_requested = Signal(object)  # reference op indices to keep in float, in the lab

    def __init__(self, page: ComparePage, workers: SharedWorkers, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self._workers = workers
        self._selecting = False
        self._values_cache: OrderedDict[tuple, TensorPairData] = OrderedDict()
        self._values_running: tuple | None = None
        self._values_wanted: tuple | None = None
        self._values_job: Job | None = None
        self.layer_plot: LayerErrorPlot | None = None
        self.tensor_plots: TensorPairPlots | None = None
        self.shown_values: TensorPairData | None = None  # in the tensor plots

        self.metric_combo = QComboBox()
        for name in METRIC_NAMES:
            self.metric_combo.addItem(METRIC_TITLES[name], name)
        self.metric_combo.setCurrentIndex(METRIC_NAMES.index(page.metric))
        self.metric_combo.currentIndexChanged.connect(lambda _: page.set_metric(self.metric_combo.currentData()))
        self.log_check = QCheckBox("Log scale")
        self.log_check.toggled.connect(page.set_log_scale)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Metric"))
        bar.addWidget(self.metric_combo)
        bar.addWidget(self.log_check)
        bar.addStretch(1)
        self.keep_float_button = QPushButton("Keep in float in the lab…")
        self.keep_float_button.setToolTip("Open the quantization lab on this model with the selected layers' ops "
                                          "kept in float (select several rows with Ctrl or Shift)")
        self.keep_float_button.setEnabled(False)
        self.keep_float_button.clicked.connect(lambda: self.keep_float_requested.emit(self.selected_ops()))
        bar.addWidget(self.keep_float_button)
        self.plot_host = QWidget()
        QVBoxLayout(self.plot_host).setContentsMargins(0, 0, 0, 0)
        self.layer_model = LayerTableModel(self)
        self.layer_table = make_sortable_table(self.layer_model, LAYER_WIDTHS, stretch_last=False, multi_select=True)
        self.layer_table.selectionModel().selectionChanged.connect(
            lambda *_: self.keep_float_button.setEnabled(bool(self.selected_ops())))
        for column in range(FIRST_METRIC_COLUMN, len(LAYER_COLUMNS)):
            self.layer_table.setColumnWidth(column, 84)
        self.layer_table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.input_combo = QComboBox()
        self.input_combo.setToolTip("The input the selected layer's values are shown for")
        self.input_combo.currentIndexChanged.connect(page.choose_input)
        self.tensor_info = wrapped_label(NO_LAYER_TEXT)
        self.tensor_plot_host = QWidget()
        QVBoxLayout(self.tensor_plot_host).setContentsMargins(0, 0, 0, 0)
        tensor = QWidget()
        tensor_layout = QVBoxLayout(tensor)
        tensor_layout.setContentsMargins(0, 0, 0, 0)
        inputs = QHBoxLayout()
        inputs.addWidget(QLabel("Input"))
        inputs.addWidget(self.input_combo, 1)
        tensor_layout.addLayout(inputs)
        tensor_layout.addWidget(self.tensor_info)
        tensor_layout.addWidget(self.tensor_plot_host, 1)

        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.plot_host)
        left.addWidget(self.layer_table)
        left.setSizes([500, 400])  # proportions: the splitter has no size yet
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(tensor)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([600, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        page.changed.connect(self._page_changed)

    def _ensure_plots(self) -> None:
        if self.layer_plot is not None:
            return
        from ..widgets.plots import LayerErrorPlot, TensorPairPlots  # pyqtgraph loads here, not at start-up

        self.layer_plot = LayerErrorPlot(lambda series, position: self.select_layer(position, candidate=series))
        self.plot_host.layout().addWidget(self.layer_plot.widget)
        self.tensor_plots = TensorPairPlots()
        self.tensor_plot_host.layout().addWidget(self.tensor_plots.widget)

    # -- following the model ----------------------------------------------------------------------

    def _page_changed(self, aspect: str) -> None:
        if aspect == "run" and self.page.shown:
            self._show_run()
        elif aspect == "candidate":
            self._show_candidate()
        elif aspect == "metric":
            self._show_metric()
        elif aspect == "input":
            self._request_values()

    def _show_run(self) -> None:
        run = self.page.run
        assert run is not None
        self._ensure_plots()
        self._values_cache.clear()
        self._values_wanted = None
        self.input_combo.blockSignals(True)
        self.input_combo.clear()
        for sample in run.run_samples:
            icon = thumbnail_icon(sample.thumbnail)
            if icon is not None:
                self.input_combo.addItem(icon, sample.name)
            else:
                self.input_combo.addItem(sample.name)
        self.input_combo.blockSignals(False)
        self._update_plot()
        self._show_candidate()

    def _show_candidate(self) -> None:
        candidate = self.page.candidate
        if candidate is None:
            return
        self.layer_model.set_layers(candidate.layers, candidate.worst_plotted(self.page.metric), self.page.metric)
        if self.layer_plot is not None:
            self.layer_plot.mark_selected(None, None)
        self._show_values(None)
        self.tensor_info.setText(NO_LAYER_TEXT)

    def _show_metric(self) -> None:
        candidate = self.page.candidate
        if candidate is not None:
            self.layer_model.set_worst(candidate.worst_plotted(self.page.metric), self.page.metric)
        self._update_plot()

    def _update_plot(self) -> None:
        run = self.page.run
        if self.layer_plot is None or run is None:
            return
        from ..widgets.plots import LayerSeries

        metric = self.page.metric
        loggable = metric in LOG_SCALE_METRICS
        self.log_check.setEnabled(loggable)
        self.log_check.setToolTip("" if loggable else f"{METRIC_TITLES[metric]} can be zero or negative: no log scale")
        series = []
        for candidate in self.page.shown:
            plotted = candidate.plotted_layers()
            at = {position: k for k, position in enumerate(plotted)}
            series.append(LayerSeries(
                candidate.file_name,
                x=np.array([candidate.layers[i].op_index for i in plotted]),
                y=np.array([metric_value(candidate.layers[i].metrics, metric) for i in plotted]),
                positions=np.array(plotted),
                worst=np.array([at[p] for p in candidate.worst_plotted(metric)], dtype=np.int64),
                isolated=np.array([metric_value(candidate.layers[i].isolated, metric) if candidate.layers[i].isolated
                                   else np.nan for i in plotted]) if candidate.isolated else None,
            ))
        self.layer_plot.set_series(series, METRIC_TITLES[metric], loggable and self.page.log_scale,
                                   f"worst {WORST_COUNT} per candidate")
        title = f"{METRIC_TITLES[metric]} per layer (mean over {len(run.comparison.inputs)} inputs)"
        if run.comparison.random_inputs:
            title += " — RANDOM INPUTS"
        self.layer_plot.plot.setTitle(title)
        self.layer_plot.mark_selected(self.page.candidate_index, self.page.layer)

    # -- selecting a layer --------------------------------------------------------------------------

    def select_layer(self, position: int, candidate: int | None = None) -> None:
        """Select layer `position` of the shown candidate (of candidate `candidate` first): its row,
        its point, its values, and its op on the model's page."""
        layer = self.page.select_layer(position, candidate)
        if layer is None:
            return
        index = self.layer_model.index(self.layer_model.row_of(position), 0)
        if self.layer_table.currentIndex().row() != index.row():
            self._selecting = True
            try:
                self.layer_table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            finally:
                self._selecting = False
        self.layer_table.scrollTo(index)
        if self.layer_plot is not None:
            self.layer_plot.mark_selected(self.page.candidate_index, position)
        self._request_values()
        self.layer_selected.emit(layer)

    def selected_ops(self) -> list[int]:
        """The reference ops of the table's selected rows (model inputs left out), in order."""
        rows = {index.row() for index in self.layer_table.selectionModel().selectedRows()}
        ops = {self.layer_model.item(row).op_index for row in rows}
        return sorted(op for op in ops if op >= 0)

    def _row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not self._selecting and current.isValid():
            self.select_layer(self.layer_model.position(current.row()))

    # -- one layer's values ---------------------------------------------------------------------

    def _values_key(self) -> tuple | None:
        candidate, layer, run = self.page.candidate, self.page.selected_layer, self.page.run
        sample = self.page.input_index
        if candidate is None or layer is None or run is None or not 0 <= sample < len(run.run_samples):
            return None
        return (self.page.run_number, candidate.path, layer.reference_tensor, layer.candidate_tensor, sample)

    def _request_values(self) -> None:
        key = self._values_key()
        if key is None:
            return
        self._values_wanted = key
        cached = self._values_cache.get(key)
        if cached is not None:
            self._values_cache.move_to_end(key)
            self._show_values(cached)
            return
        layer = self.page.selected_layer
        assert layer is not None
        self._describe_layer(layer, self.page.input_index, None, loading=True)
        if self._values_running is None:
            self._start_values_job(key)

    def _start_values_job(self, key: tuple) -> None:
        run, layer, candidate = self.page.run, self.page.selected_layer, self.page.candidate
        assert run is not None and layer is not None and candidate is not None
        reference, sample = run.comparison.reference, run.run_samples[self.page.input_index]
        entries = (run.comparison.reference_run, candidate.run)  # the subgraphs of the signature run
        workers = self._workers
        (worker,) = workers.acquire()

        def work() -> TensorPairData:
            try:
                return tensor_pair_data(worker, reference, candidate.path, sample, layer, *entries)
            finally:
                workers.release()

        job = Job(work, owner=self)
        job.finished.connect(lambda data, k=key: self._values_ready(k, data))
        job.failed.connect(lambda message, k=key: self._values_failed(k, message))
        job.cancelled.connect(lambda k=key: self._values_failed(k, "stopped"))
        self._values_running = key
        self._values_job = job
        job.start()

    def _values_ready(self, key: tuple, data: TensorPairData) -> None:
        self._values_running = self._values_job = None
        self._values_cache[key] = data
        while len(self._values_cache) > VALUES_CACHE_SIZE:
            self._values_cache.popitem(last=False)
        if key == self._values_wanted:
            self._show_values(data)
        else:
            self._request_values()  # the user moved on while these were read

    def _values_failed(self, key: tuple, message: str) -> None:
        self._values_running = self._values_job = None
        if key == self._values_wanted:
            self._show_values(None)
            self.tensor_info.setText(f"The values could not be read: {message}")
        else:
            self._request_values()

    def _show_values(self, data: TensorPairData | None) -> None:
        self.shown_values = data
        if self.tensor_plots is None:
            return
        self.tensor_plots.widget.setVisible(data is not None)
        if data is None:
            self.tensor_plots.set_data(None, None, None, None, None)
            return
        self.tensor_plots.set_data(data.reference_counts, data.candidate_counts, data.value_edges,
                                   (data.scatter_reference, data.scatter_candidate),
                                   (data.error_counts, data.error_edges))
        layer = self.page.selected_layer
        if layer is not None:
            self._describe_layer(layer, self.page.input_index, data)

    def _describe_layer(self, layer: LayerError, sample: int, data: TensorPairData | None,
                        loading: bool = False) -> None:
        where = "a model input" if layer.op_index < 0 else f"output of op {layer.op_index} {layer.op}"
        lines = [f"{elide_middle(layer.reference_name, 72)} ({where}; matched by {layer.how}; "
                 f"candidate {layer.candidate_dtype})"]
        self.tensor_info.setToolTip(layer.reference_name)
        if 0 <= sample < len(layer.per_input):
            m = layer.per_input[sample]
            lines.append("On this input: " + " · ".join(
                f"{METRIC_TITLES[name]} {format_metric(name, getattr(m, name))}"
                for name in ("sqnr_db", "cosine", "mean_squared_error", "max_abs_error", "rmse_over_scale")))
        if loading:
            lines.append("Reading the values from the interpreter…")
        elif data is not None:
            shown = f"{data.finite:,} of {data.size:,} values"
            if data.sampled:
                shown += " (an evenly strided part of a very large tensor)"
            if data.finite > SCATTER_POINTS:
                shown += f"; {SCATTER_POINTS:,} chosen at random in the scatter plot"
            lines.append(shown + (f"; candidate scale {data.scale:.4g}" if data.scale else ""))
        self.tensor_info.setText("\n".join(lines))

    def close_panel(self) -> None:
        if self._values_job is not None:
            self._values_job.drop()
            self._values_job = None
