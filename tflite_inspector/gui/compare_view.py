"""The Compare page: the open model (the reference) against candidates run on the same
inputs, layer by layer.

All numbers come from core/comparison.py. This page gathers what a run needs (candidates,
inputs, and the preprocessing, shown and editable before anything runs), runs it off the
GUI thread with progress and cancel, and shows the result: a metric per layer along the
reference's execution order, the layers in a table, one layer's values on one input, and
how the outputs agree. The interpreter runs in a worker process the page starts on its
first run and closes with the view.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QDragEnterEvent, QDropEvent, QIcon, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.inputs import (
    InputError,
    Normalization,
    Preprocessing,
    Sample,
    check_inputs_agree,
    input_specs,
    suggest_normalization,
)
from ..core.metrics import METRIC_NAMES, METRIC_TITLES, SUSPECT_RMSE_OVER_SCALE, ErrorMetrics
from ..core.model import Model
from ..core.tflite_reader import read_model
from .input_controls import InputList, PreprocessingControls, RandomInputsChoice, wrapped_label
from .jobs import Job, SharedWorkers
from .table_models import OrderedRowsModel, make_sortable_table

if TYPE_CHECKING:
    from ..core.comparison import CandidateComparison, Comparison, LayerError
    from ..core.runtime import RuntimeWorker
    from .plots import LayerErrorPlot, TensorPairPlots

MODEL_FILTER = "TFLite models (*.tflite);;All files (*)"
DEFAULT_RANDOM_COUNT = 8
WORST_COUNT = 5
SCATTER_POINTS = 5000
HISTOGRAM_BINS = 80
VALUES_CACHE_SIZE = 8
# After Cancel, the run stops between inputs; an input the interpreter is still on after
# this long (a big model, a hang) is stopped by killing the worker process.
CANCEL_GRACE_MS = 1000
# Metrics that are never negative: only these can go on a log scale.
LOG_SCALE_METRICS = frozenset({"mean_squared_error", "max_abs_error", "stddev", "rmse_over_scale"})
LAYER_ROLE = Qt.ItemDataRole.UserRole + 3  # a layer table row's position in the candidate's layers
# Translucent tints, readable on light and dark palettes (as on the Operators page).
SUSPECT_COLOR = QColor(230, 126, 34, 64)
WORST_COLOR = QColor(192, 57, 43, 90)
DIFFERS_COLOR = QColor(192, 57, 43, 70)
ERROR_STYLE = "color:#c0392b"
RANDOM_BANNER_STYLE = "QLabel { background:#f5b041; color:#000; padding:4px; border-radius:3px; }"


def format_metric(name: str, value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        if name == "sqnr_db" and value > 0:
            return "exact"
        return "∞" if value > 0 else "−∞"
    if name == "sqnr_db":
        return f"{value:.1f}"
    if name == "cosine":
        return f"{value:.5f}"
    return f"{value:.3g}"


def metric_value(metrics: ErrorMetrics, name: str) -> float:
    value = getattr(metrics, name)
    return math.nan if value is None else float(value)


def is_suspect(metrics: ErrorMetrics) -> bool:
    r = metrics.rmse_over_scale
    return r is not None and r > SUSPECT_RMSE_OVER_SCALE


def worst_plotted(candidate: CandidateComparison, metric: str, count: int = WORST_COUNT) -> list[int]:
    """Positions of the `count` worst layers by `metric`, as core ranks them, among the layers
    that are plotted (a requantized row repeats a reference tensor already on the curve)."""
    position = {id(layer): i for i, layer in enumerate(candidate.layers)}
    ranked = candidate.worst_layers(metric, len(candidate.layers))
    return [position[id(layer)] for layer in ranked if layer.how != "requantized"][:count]


# ---------------------------------------------------------------- work off the GUI thread


def _runtime_worker() -> tuple[RuntimeWorker]:
    from ..core.runtime import RuntimeWorker  # multiprocessing: imported when first needed

    return (RuntimeWorker(),)


def read_candidate(path: str, reference: Model) -> tuple[Model, str]:
    """Runs in a worker thread: the candidate, and why it cannot be compared with the
    reference ("" when it can)."""
    model = read_model(path)
    try:
        check_inputs_agree(reference, model)
    except InputError as e:
        return model, str(e)
    return model, ""


@dataclass(frozen=True)
class RunRequest:
    reference: str
    candidates: tuple[str, ...]
    inputs: tuple[str, ...]
    random_count: int  # > 0: that many random inputs instead of `inputs`
    normalization: Normalization
    resize: str
    label_file: str  # "": the labels the models' metadata attaches, if any


@dataclass(frozen=True)
class RunResult:
    comparison: Comparison
    samples: tuple[Sample, ...]  # the inputs that were run, in the comparison's order
    preprocessing: Preprocessing
    total_inputs: int  # prepared; more than were run when the run was cancelled
    seconds: float


def run_comparison(request: RunRequest, worker: RuntimeWorker, progress: Callable[[int, int], None],
                   cancelled: Callable[[], bool]) -> RunResult:
    """Runs in a worker thread: the CLI's flow (decode the inputs as the page says, compare)."""
    from ..core.comparison import ComparisonRequest, compare_files

    start = time.monotonic()
    run = compare_files(
        ComparisonRequest(request.reference, request.candidates, request.inputs, request.normalization,
                          request.resize, request.random_count, labels_path=request.label_file or None),
        worker, progress=progress, cancelled=cancelled,
    )
    samples = run.samples.samples
    return RunResult(run.comparison, samples[:len(run.comparison.inputs)], run.preprocessing,
                     len(samples), time.monotonic() - start)


@dataclass(frozen=True)
class TensorPairData:
    """One matched tensor on one input, binned and thinned for plotting."""

    size: int  # elements in the tensor
    sampled: bool  # the worker sent an evenly strided part of a very large tensor
    finite: int  # values that are finite in both tensors (the only ones plotted)
    scale: float | None  # the candidate tensor's (mean) quantization scale
    value_edges: np.ndarray
    reference_counts: np.ndarray
    candidate_counts: np.ndarray
    error_edges: np.ndarray
    error_counts: np.ndarray
    scatter_reference: np.ndarray  # at most SCATTER_POINTS
    scatter_candidate: np.ndarray


def tensor_pair_data(worker: RuntimeWorker, reference: str, candidate: str, sample: Sample,
                     layer: LayerError) -> TensorPairData:
    """Runs in a worker thread: both tensors' values from the interpreter, then histograms on
    shared bins and a random (fixed-seed) subset for the scatter plot; an evenly strided one
    would pick the same channels of an NHWC tensor over and over."""
    answer = worker.tensor_pair_values(reference, candidate, sample.values,
                                       layer.reference_tensor, layer.candidate_tensor)
    ref = np.asarray(answer["reference"], dtype=np.float64)
    cand = np.asarray(answer["candidate"], dtype=np.float64)
    n = min(ref.size, cand.size)
    ref, cand = ref[:n], cand[:n]
    keep = np.isfinite(ref) & np.isfinite(cand)
    ref, cand = ref[keep], cand[keep]
    if ref.size:
        lo, hi = float(min(ref.min(), cand.min())), float(max(ref.max(), cand.max()))
    else:
        lo, hi = 0.0, 1.0
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    error_counts, error_edges = np.histogram(cand - ref, bins=HISTOGRAM_BINS)
    if ref.size > SCATTER_POINTS:
        chosen = np.sort(np.random.default_rng(0).choice(ref.size, SCATTER_POINTS, replace=False))
        scatter = ref[chosen], cand[chosen]
    else:
        scatter = ref, cand
    return TensorPairData(
        size=int(answer["size"]), sampled=bool(answer["sampled"]), finite=int(ref.size), scale=answer["scale"],
        value_edges=edges, reference_counts=np.histogram(ref, edges)[0], candidate_counts=np.histogram(cand, edges)[0],
        error_edges=error_edges, error_counts=error_counts,
        scatter_reference=scatter[0].astype(np.float32), scatter_candidate=scatter[1].astype(np.float32),
    )


# ---------------------------------------------------------------- the layer table

LAYER_COLUMNS = ("#", "Op", "Tensor", "Matched by", *(METRIC_TITLES[m] for m in METRIC_NAMES))
_FIRST_METRIC_COLUMN = 4
_LAYER_WIDTHS = (48, 150, 260, 86)


class LayerTableModel(OrderedRowsModel):
    """The matched tensors of one candidate: op, tensor, how matched, and every metric (the
    mean over inputs). Suspect rows (error above SUSPECT_RMSE_OVER_SCALE quantization steps)
    and the worst layers by the plotted metric are tinted."""

    headers = LAYER_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._worst: frozenset[int] = frozenset()
        self._worst_metric = "sqnr_db"

    @property
    def layers(self) -> tuple[LayerError, ...]:
        return self.items

    def set_layers(self, layers: Sequence[LayerError], worst: Sequence[int], metric: str) -> None:
        self._worst, self._worst_metric = frozenset(worst), metric
        self.set_items(layers)

    def set_worst(self, worst: Sequence[int], metric: str) -> None:
        self._worst, self._worst_metric = frozenset(worst), metric
        if self.layers:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.layers) - 1, self.columnCount() - 1),
                                  [Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole])

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(LAYER_COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return LAYER_COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section >= _FIRST_METRIC_COLUMN:
            return "The mean over the inputs (SQNR: over the inputs where it is finite)"
        return None

    def sort_key(self, position: int, column: int) -> float | str | None:
        layer = self.layers[position]
        if column == 0:
            return layer.op_index
        if column < _FIRST_METRIC_COLUMN:
            return self._text(layer, column).lower()
        value = metric_value(layer.metrics, METRIC_NAMES[column - _FIRST_METRIC_COLUMN])
        return None if math.isnan(value) else value

    def _text(self, layer: LayerError, column: int) -> str:
        if column == 0:
            return "input" if layer.op_index < 0 else str(layer.op_index)
        if column == 1:
            return layer.op if layer.candidate_op == layer.op else f"{layer.op} / {layer.candidate_op}"
        if column == 2:
            return layer.reference_name
        if column == 3:
            return layer.how
        name = METRIC_NAMES[column - _FIRST_METRIC_COLUMN]
        return format_metric(name, getattr(layer.metrics, name))

    def _tooltip(self, position: int, layer: LayerError, column: int) -> str:
        lines = [f"reference: {layer.reference_name} (tensor {layer.reference_tensor}, op {layer.op} "
                 f"#{layer.op_index})" if layer.op_index >= 0 else
                 f"reference: {layer.reference_name} (tensor {layer.reference_tensor}, a model input)",
                 f"candidate: {layer.candidate_name} (tensor {layer.candidate_tensor}, {layer.candidate_dtype}, "
                 f"op {layer.candidate_op})"]
        if position in self._worst:
            lines.append(f"among the {WORST_COUNT} worst by {METRIC_TITLES[self._worst_metric]}")
        if is_suspect(layer.metrics):
            lines.append(f"suspect: the error is {layer.metrics.rmse_over_scale:.2f} quantization steps "
                         f"(rounding alone gives 0.29; above {SUSPECT_RMSE_OVER_SCALE} is suspect)")
        return "\n".join(lines)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        position = self.position(index.row())
        layer = self.layers[position]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(layer, column)
        if role == LAYER_ROLE:
            return position
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(position, layer, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            if position in self._worst:
                return QBrush(WORST_COLOR)
            if is_suspect(layer.metrics):
                return QBrush(SUSPECT_COLOR)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and (column == 0 or column >= _FIRST_METRIC_COLUMN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# ---------------------------------------------------------------- the page


@dataclass
class _Candidate:
    path: str
    model: Model | None = None
    problem: str = ""  # why it cannot be compared ("" while it is read, or when it can)
    reading: bool = True

    @property
    def usable(self) -> bool:
        return self.model is not None and not self.problem


def _thumbnail_icon(array: np.ndarray | None) -> QIcon | None:
    if array is None:
        return None
    pixels = np.ascontiguousarray(array, dtype=np.uint8)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        image = QImage(pixels.tobytes(), width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888)
    return QIcon(QPixmap.fromImage(image.copy()))  # the copy owns its pixels


class CompareView(QWidget):
    """The Compare page of one ModelView; `reference` is the view's model.

    `layer_selected(LayerError)` asks the view to show the layer's op; `status_message`
    goes to the window's status bar."""

    layer_selected = Signal(object)
    status_message = Signal(str)

    def __init__(self, reference: Model, open_models: Callable[[], list[str]] = list,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reference = reference
        self._open_models = open_models
        self._reference_specs = input_specs(reference)
        self._candidates: dict[str, _Candidate] = {}
        self._suggestion = suggest_normalization([reference])
        self._workers = SharedWorkers(_runtime_worker)
        self._run_job: Job | None = None
        self._cancel = threading.Event()
        self._cancel_timer = QTimer(self)
        self._cancel_timer.setSingleShot(True)
        self._cancel_timer.setInterval(CANCEL_GRACE_MS)
        self._cancel_timer.timeout.connect(self._stop_slow_input)
        self._setup_messages: dict[str, str] = {}
        self._run_messages: list[str] = []
        self._outcome = ""  # how the last run ended, shown until something stops the next
        self._closed = False
        self._run_when_ready = False  # set_up(run=True): run once the candidates are read
        self.result: RunResult | None = None
        self._run_number = 0
        self._shown: list[CandidateComparison] = []  # candidates with layers, as in the combo
        self._selected: int | None = None  # position in the shown candidate's layers
        self._selecting = False
        self._values_cache: OrderedDict[tuple, TensorPairData] = OrderedDict()
        self._values_running: tuple | None = None
        self._values_wanted: tuple | None = None
        self._values_job: Job | None = None
        self.layer_plot: LayerErrorPlot | None = None
        self.tensor_plots: TensorPairPlots | None = None
        self.shown_values: TensorPairData | None = None  # in the tensor plots
        self.output_headers: list[QLabel] = []
        self.output_tables: list[QTableWidget] = []

        setup = QWidget()
        setup_layout = QHBoxLayout(setup)
        setup_layout.setContentsMargins(0, 0, 0, 0)
        setup_layout.addWidget(self._build_candidates_box(), 2)
        setup_layout.addWidget(self._build_inputs_box(), 2)
        setup_layout.addWidget(self._build_preprocessing_box(), 3)

        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addLayout(self._build_run_bar())
        self.message_view = QPlainTextEdit()
        self.message_view.setReadOnly(True)
        self.message_view.setMaximumHeight(84)
        self.message_view.setToolTip("Files and candidates that could not be used, and why")
        results_layout.addWidget(self.message_view)
        self.results_stack = QStackedWidget()
        self.placeholder = QLabel("Add a candidate (a quantized version of this model, say) and inputs, "
                                  "check the preprocessing, then Run.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.results_stack.addWidget(self.placeholder)
        self.results_stack.addWidget(self._build_results())
        results_layout.addWidget(self.results_stack, 1)

        # Scrolls rather than cuts its contents when the splitter makes it short.
        setup_area = QScrollArea()
        setup_area.setWidget(setup)
        setup_area.setWidgetResizable(True)
        setup_area.setFrameShape(QFrame.Shape.NoFrame)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(setup_area)
        self.splitter.addWidget(results)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self._sized = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.splitter)
        self.setAcceptDrops(True)

        self._update_suggestion()
        self._render_messages()
        self._update_run_controls()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._sized:
            # Once the page has its height: the setup as tall as it needs, up to 36 %.
            self._sized = True
            setup = min(self.splitter.widget(0).widget().sizeHint().height() + 4, self.height() * 9 // 25)
            self.splitter.setSizes([setup, max(self.height() - setup, 1)])

    # -- building ---------------------------------------------------------------------

    def _build_candidates_box(self) -> QGroupBox:
        box = QGroupBox("Candidates")
        self.candidate_list = QListWidget()
        self.candidate_list.setMinimumHeight(48)
        self.candidate_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.candidate_list.setToolTip("Models compared with this one; drop .tflite files here to add them")
        self.add_candidate_button = QToolButton()
        self.add_candidate_button.setText("Add candidate…")
        self.add_candidate_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.add_candidate_button.setToolTip("Choose .tflite files; the arrow lists the models open in other tabs")
        self.add_candidate_button.clicked.connect(self.add_candidate_dialog)
        self.open_models_menu = QMenu(self.add_candidate_button)
        self.open_models_menu.aboutToShow.connect(self._fill_open_models_menu)
        self.add_candidate_button.setMenu(self.open_models_menu)
        self.remove_candidate_button = QPushButton("Remove")
        self.remove_candidate_button.clicked.connect(self.remove_selected_candidates)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_candidate_button)
        buttons.addWidget(self.remove_candidate_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(box)
        layout.addWidget(self.candidate_list, 1)
        layout.addLayout(buttons)
        return box

    def _build_inputs_box(self) -> QGroupBox:
        box = QGroupBox("Inputs")
        self.input_list = InputList(add_files_text="Add images…")
        self.input_list.changed.connect(self._update_run_controls)
        self.random_inputs = RandomInputsChoice(
            DEFAULT_RANDOM_COUNT, "Random values instead of the files: the results say they come from random data")
        self.random_inputs.changed.connect(self._random_changed)
        layout = QVBoxLayout(box)
        layout.addWidget(self.input_list, 1)
        layout.addWidget(self.random_inputs)
        return box

    def _build_preprocessing_box(self) -> QGroupBox:
        box = QGroupBox("Preprocessing")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.reference_inputs_label = wrapped_label("\n".join(s.describe() for s in self._reference_specs)
                                                     or "no inputs")
        form.addRow("This model", self.reference_inputs_label)
        self.candidate_inputs_label = wrapped_label()
        form.addRow("Candidates", self.candidate_inputs_label)
        self.preprocessing = PreprocessingControls("Suggested", parent=self)
        self.preprocessing.changed.connect(self._update_preprocessing)
        self.preprocessing.add_rows(form)
        if not any(s.is_image for s in self._reference_specs):
            self.preprocessing.disable("This model takes no image: .npy/.npz arrays are used as they are")
        self.label_edit = QLineEdit()
        self.label_edit.setReadOnly(True)
        self.label_edit.setPlaceholderText("from the models' metadata, if any")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.choose_label_file)
        clear = QToolButton()
        clear.setText("×")
        clear.setToolTip("Use the labels in the models' metadata")
        clear.clicked.connect(lambda: self.set_label_file(""))
        labels = QHBoxLayout()
        labels.addWidget(self.label_edit, 1)
        labels.addWidget(browse)
        labels.addWidget(clear)
        form.addRow("Labels", labels)
        self.preprocessing_label = wrapped_label()
        form.addRow("Runs with", self.preprocessing_label)
        return box

    def _build_run_bar(self) -> QHBoxLayout:
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m inputs")
        self.progress_bar.setMaximumWidth(260)
        self.run_status = wrapped_label()
        bar = QHBoxLayout()
        bar.addWidget(self.run_button)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.run_status, 1)
        return bar

    def _build_results(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary_label = wrapped_label()
        self.random_banner = wrapped_label()
        self.random_banner.setStyleSheet(RANDOM_BANNER_STYLE)
        self.random_banner.hide()
        self.candidate_combo = QComboBox()
        self.candidate_combo.setToolTip("The candidate shown in the table, the tensor view, outputs and unmatched")
        self.candidate_combo.currentIndexChanged.connect(self._candidate_chosen)
        # Beside the tabs it applies to, where it takes no line of its own.
        chooser = QWidget()
        bar = QHBoxLayout(chooser)
        bar.setContentsMargins(8, 0, 0, 2)
        bar.addWidget(QLabel("Candidate"))
        bar.addWidget(self.candidate_combo)
        self.candidate_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.random_banner)
        self.results_tabs = QTabWidget()
        self.results_tabs.addTab(self._build_layers_tab(), "Layers")
        self.results_tabs.addTab(self._build_outputs_tab(), "Outputs")
        self.results_tabs.addTab(self._build_unmatched_tab(), "Unmatched")
        self.results_tabs.setCornerWidget(chooser, Qt.Corner.TopRightCorner)
        layout.addWidget(self.results_tabs, 1)
        return page

    def _build_layers_tab(self) -> QWidget:
        self.metric_combo = QComboBox()
        for name in METRIC_NAMES:
            self.metric_combo.addItem(METRIC_TITLES[name], name)
        self.metric_combo.setCurrentIndex(METRIC_NAMES.index("sqnr_db"))
        self.metric_combo.currentIndexChanged.connect(lambda _: self._metric_changed())
        self.log_check = QCheckBox("Log scale")
        self.log_check.toggled.connect(lambda _: self._update_plot())
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Metric"))
        bar.addWidget(self.metric_combo)
        bar.addWidget(self.log_check)
        bar.addStretch(1)
        self.plot_host = QWidget()
        QVBoxLayout(self.plot_host).setContentsMargins(0, 0, 0, 0)
        self.layer_model = LayerTableModel(self)
        self.layer_table = make_sortable_table(self.layer_model, _LAYER_WIDTHS, stretch_last=False)
        for column in range(_FIRST_METRIC_COLUMN, len(LAYER_COLUMNS)):
            self.layer_table.setColumnWidth(column, 84)
        self.layer_table.selectionModel().currentRowChanged.connect(self._layer_row_changed)

        self.input_combo = QComboBox()
        self.input_combo.setToolTip("The input the selected layer's values are shown for")
        self.input_combo.currentIndexChanged.connect(lambda _: self._request_values())
        self.tensor_info = wrapped_label("Click a point or a row to see that layer's values.")
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
        self.layers_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.layers_splitter.addWidget(left)
        self.layers_splitter.addWidget(tensor)
        self.layers_splitter.setStretchFactor(0, 3)
        self.layers_splitter.setStretchFactor(1, 2)
        self.layers_splitter.setSizes([600, 400])
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.layers_splitter, 1)
        return page

    def _build_outputs_tab(self) -> QWidget:
        self.outputs_area = QScrollArea()
        self.outputs_area.setWidgetResizable(True)
        self.outputs_content = QWidget()
        self.outputs_layout = QVBoxLayout(self.outputs_content)
        self.outputs_area.setWidget(self.outputs_content)
        return self.outputs_area

    def _build_unmatched_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        self.unmatched_label = wrapped_label()
        self.unmatched_table = QTableWidget(0, 5)
        self.unmatched_table.setHorizontalHeaderLabels(["Model", "Tensor", "Name", "Op", "Why"])
        self.unmatched_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.unmatched_table.verticalHeader().setVisible(False)
        self.unmatched_table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((80, 60, 280, 150)):
            self.unmatched_table.setColumnWidth(column, width)
        layout.addWidget(self.unmatched_label)
        layout.addWidget(self.unmatched_table, 1)
        return page

    def _ensure_plots(self) -> None:
        if self.layer_plot is not None:
            return
        from .plots import LayerErrorPlot, TensorPairPlots  # pyqtgraph loads here, not at start-up

        self.layer_plot = LayerErrorPlot(self._point_clicked)
        self.plot_host.layout().addWidget(self.layer_plot.widget)
        self.tensor_plots = TensorPairPlots()
        self.tensor_plot_host.layout().addWidget(self.tensor_plots.widget)

    # -- candidates -------------------------------------------------------------------

    @property
    def candidate_paths(self) -> list[str]:
        return list(self._candidates)

    def add_candidate_dialog(self) -> None:
        start = os.path.dirname(self.reference.path)
        paths, _ = QFileDialog.getOpenFileNames(self, "Add candidate models", start, MODEL_FILTER)
        self.add_candidates(paths)

    def _fill_open_models_menu(self) -> None:
        menu = self.open_models_menu
        menu.clear()
        menu.addAction("Browse…", self.add_candidate_dialog)
        menu.addSeparator()
        offered = [p for p in self._open_models() if p != self.reference.path and p not in self._candidates]
        for path in offered:
            menu.addAction(path, lambda p=path: self.add_candidates([p]))
        if not offered:
            menu.addAction("No other model is open").setEnabled(False)

    def add_candidates(self, paths: Sequence[str]) -> None:
        """Read each new candidate in the background; it joins the list at once, marked while read."""
        for path in paths:
            path = os.path.abspath(path)
            if path in self._candidates:
                continue
            self._candidates[path] = _Candidate(path)
            job = Job(lambda p=path, reference=self.reference: read_candidate(p, reference), owner=self)
            job.finished.connect(lambda answer, p=path: self._candidate_read(p, *answer))
            job.failed.connect(lambda message, p=path: self._candidate_failed(p, message))
            job.start()
        self._candidates_changed()

    def _candidate_read(self, path: str, model: Model, problem: str) -> None:
        candidate = self._candidates.get(path)
        if candidate is None or self._closed:  # removed while it was read
            model.close()
            return
        candidate.model, candidate.problem, candidate.reading = model, problem, False
        self._candidates_changed()

    def _candidate_failed(self, path: str, message: str) -> None:
        candidate = self._candidates.get(path)
        if candidate is not None:
            candidate.problem, candidate.reading = message, False
            self._candidates_changed()

    def remove_selected_candidates(self) -> None:
        for item in self.candidate_list.selectedItems():
            self.remove_candidate(item.data(Qt.ItemDataRole.UserRole))

    def remove_candidate(self, path: str) -> None:
        candidate = self._candidates.pop(path, None)
        if candidate is not None and candidate.model is not None:
            candidate.model.close()
        self._candidates_changed()

    def _candidates_changed(self) -> None:
        self.candidate_list.clear()
        lines = []
        for candidate in self._candidates.values():
            name = os.path.basename(candidate.path)
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, candidate.path)
            item.setToolTip(candidate.path)
            if candidate.reading:
                item.setText(f"{name} (reading…)")
            elif candidate.problem:
                item.setText(f"{name} (cannot be compared)")
                item.setForeground(QBrush(QColor("#c0392b")))
                item.setToolTip(f"{candidate.path}\n{candidate.problem}")
            self.candidate_list.addItem(item)
            if candidate.model is not None:
                specs = "; ".join(s.describe() for s in input_specs(candidate.model))
                lines.append(f"{name}: {specs}")
        self.candidate_inputs_label.setText("\n".join(lines) or "none yet")
        self._setup_messages = {
            path: f"{os.path.basename(path)}: {c.problem}" for path, c in self._candidates.items() if c.problem}
        self._update_suggestion()
        self._render_messages()
        self._update_run_controls()
        if self._run_when_ready and not any(c.reading for c in self._candidates.values()):
            self._run_when_ready = False
            if not self._blocker():
                self.run()

    def set_up(self, candidates: Sequence[str], inputs: Sequence[str] = (), *,
               normalization: Normalization | None = None, resize: str | None = None,
               random_count: int | None = None, run: bool = False) -> None:
        """Add `candidates` and `inputs` and choose the preprocessing another tool used (the
        quantization lab hands its variants over this way). `normalization` None keeps the
        choice; a preset is chosen by its name, anything else as custom mean and std. `random_count`
        0 means the files, None keeps the choice. With `run`, the comparison starts once the
        candidates are read, if nothing stops it."""
        if normalization is not None:
            self.preprocessing.set_normalization(normalization)
        if resize is not None:
            self.preprocessing.set_resize(resize)
        if random_count is not None:
            self.set_random_inputs(random_count if random_count > 0 else None)
        self.add_inputs(inputs)
        # Last: adding candidates that are already read may start the run at once.
        self._run_when_ready = run
        self.add_candidates(candidates)

    # -- inputs -----------------------------------------------------------------------

    @property
    def input_paths(self) -> list[str]:
        return list(self.input_list.paths)

    def add_inputs(self, paths: Sequence[str]) -> None:
        """Files and folders; whether each can be used is decided, per file, when the run reads it."""
        self.input_list.add(paths)

    def clear_inputs(self) -> None:
        self.input_list.clear()

    def set_random_inputs(self, count: int | None) -> None:
        """Random inputs (`count` of them) instead of the files; None: the files."""
        self.random_inputs.set_count(count)

    def _random_changed(self) -> None:
        self.input_list.setEnabled(not self.random_inputs.count)
        self._update_run_controls()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """.tflite files become candidates; images, arrays and folders become inputs."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        models = [p for p in paths if p.lower().endswith(".tflite") and not os.path.isdir(p)]
        self.add_candidates(models)
        self.add_inputs([p for p in paths if p not in models])

    # -- preprocessing ----------------------------------------------------------------

    def _update_suggestion(self) -> None:
        models = [self.reference, *(c.model for c in self._candidates.values() if c.usable and c.model)]
        self._suggestion = suggest_normalization(models)
        self.preprocessing.set_suggestion(f"Suggested: {self._suggestion.describe()}", self._suggestion.source)
        self._update_preprocessing()

    def normalization(self) -> Normalization:
        """The normalization chosen; InputError when the custom mean and std are not usable."""
        return self.preprocessing.chosen() or self._suggestion

    def set_normalization(self, choice: str) -> None:
        """"suggested", a key of PRESETS, or "custom"."""
        self.preprocessing.choose(choice)

    def _update_preprocessing(self) -> None:
        try:
            text = Preprocessing(self.normalization(), self.preprocessing.resize).describe()
            self.preprocessing_label.setStyleSheet("")
        except InputError as e:
            text = str(e)
            self.preprocessing_label.setStyleSheet(ERROR_STYLE)
        self.preprocessing_label.setText(text)
        self._update_run_controls()

    def choose_label_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Label file", os.path.dirname(self.reference.path),
                                              "Label files (*.txt);;All files (*)")
        if path:
            self.set_label_file(path)

    def set_label_file(self, path: str) -> None:
        self.label_edit.setText(path)
        self.label_edit.setToolTip(path)

    # -- running ----------------------------------------------------------------------

    def _blocker(self) -> str:
        """Why Run cannot start, or ""."""
        if self._run_job is not None:
            return "running"
        if not self._candidates:
            return "Add a candidate (.tflite) to compare this model with."
        if any(c.reading for c in self._candidates.values()):
            return "Reading the candidates…"
        if not any(c.usable for c in self._candidates.values()):
            return "No candidate can be compared (see the messages)."
        if not self.random_inputs.count and not self.input_list.paths:
            return "Add images, arrays or a folder, or tick random inputs."
        try:
            self.normalization()
        except InputError as e:
            return str(e)
        return ""

    def _update_run_controls(self) -> None:
        running = self._run_job is not None
        blocker = self._blocker()
        self.run_button.setEnabled(not blocker)
        self.cancel_button.setEnabled(running and not self._cancel.is_set())
        if not running:
            self.run_button.setToolTip(blocker)
            self.run_status.setText(blocker or self._outcome or "Ready to run.")

    @property
    def running(self) -> bool:
        return self._run_job is not None

    def run(self) -> None:
        if self._blocker():
            return
        request = RunRequest(
            reference=self.reference.path,
            candidates=tuple(p for p, c in self._candidates.items() if c.usable),
            inputs=tuple(self.input_list.paths),
            random_count=self.random_inputs.count,
            normalization=self.normalization(),
            resize=self.preprocessing.resize,
            label_file=self.label_edit.text(),
        )
        from ..core.runtime import RuntimeFailure  # multiprocessing: imported when first run

        self._cancel = cancel = threading.Event()
        workers = self._workers
        (worker,) = workers.acquire()

        def work() -> RunResult:
            try:
                return run_comparison(request, worker, job.report_progress, cancel.is_set)
            finally:
                workers.release()

        job = Job(work, expected=(InputError, RuntimeFailure), owner=self)
        job.finished.connect(self._run_finished)
        job.failed.connect(self._run_failed)
        job.progressed.connect(self._run_progressed)
        self._run_job = job
        self._run_messages = []
        self._render_messages()
        self.progress_bar.setRange(0, 0)  # busy while the inputs are decoded
        self.run_status.setText("Preparing the inputs…")
        self._update_run_controls()
        job.start()

    def _run_progressed(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        if not self._cancel.is_set():
            self.run_status.setText(f"Running input {min(done + 1, total)} of {total}…")

    def cancel(self) -> None:
        """Stop between inputs (what was measured is kept); an input still running after
        CANCEL_GRACE_MS is stopped by killing the interpreter process."""
        if self._run_job is None or self._cancel.is_set():
            return
        self._cancel.set()
        self.run_status.setText("Cancelling…")
        self._cancel_timer.start()
        self._update_run_controls()

    def _stop_slow_input(self) -> None:
        if self._run_job is not None:
            self._workers.stop()

    def _run_finished(self, result: RunResult) -> None:
        self._run_job = None
        self._cancel_timer.stop()
        comparison = result.comparison
        done, total = len(comparison.inputs), result.total_inputs
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        if comparison.cancelled:
            status = f"Cancelled after {done} of {total} inputs."
        else:
            status = f"Compared on {done} input{'' if done == 1 else 's'} in {result.seconds:.1f} s."
        self._outcome = status
        self.status_message.emit(status)
        self._run_messages = [*comparison.input_errors,
                              *(f"{c.file_name}: {c.error}" for c in comparison.candidates if c.error)]
        self._show_result(result)
        self._update_run_controls()

    def _run_failed(self, message: str) -> None:
        self._run_job = None
        self._cancel_timer.stop()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        if self._cancel.is_set():
            status = "Cancelled while the interpreter was on an input; nothing was kept."
        else:
            status = "The comparison could not run."
            self._run_messages = [f"The comparison could not run: {message}"]
        self._outcome = status
        self.status_message.emit(status)
        self._render_messages()
        self._update_run_controls()

    # -- messages ---------------------------------------------------------------------

    def messages(self) -> list[str]:
        """What could not be used and why: candidates first, then what the last run said."""
        return [*self._setup_messages.values(), *self._run_messages]

    def _render_messages(self) -> None:
        lines = self.messages()
        self.message_view.setPlainText("\n".join(lines))
        self.message_view.setVisible(bool(lines))

    # -- results ----------------------------------------------------------------------

    def _show_result(self, result: RunResult) -> None:
        self.result = result
        self._run_number += 1
        self._values_cache.clear()
        self._values_wanted = None
        comparison = result.comparison
        self._shown = [c for c in comparison.candidates if c.layers]
        self._render_messages()
        if not comparison.inputs or not self._shown:
            self.results_stack.setCurrentIndex(0)
            self.placeholder.setText("Nothing was measured." + (" See the messages above." if self.messages() else ""))
            return
        self._ensure_plots()
        self.results_stack.setCurrentIndex(1)
        candidates = ", ".join(c.file_name for c in self._shown)
        self.summary_label.setText(
            f"{os.path.basename(comparison.reference)} against {candidates} on {comparison.inputs_description}"
            + (f" (cancelled: {len(comparison.inputs)} measured)" if comparison.cancelled else "")
            + f" · preprocessing: {comparison.preprocessing}")
        self.random_banner.setVisible(comparison.random_inputs)
        self.random_banner.setText(
            f"Random inputs ({comparison.inputs_description}): these numbers come from random data, "
            "not from real inputs; errors on real data differ.")
        self.input_combo.blockSignals(True)
        self.input_combo.clear()
        for sample in result.samples:
            icon = _thumbnail_icon(sample.thumbnail)
            if icon is not None:
                self.input_combo.addItem(icon, sample.name)
            else:
                self.input_combo.addItem(sample.name)
        self.input_combo.blockSignals(False)
        self.candidate_combo.blockSignals(True)
        self.candidate_combo.clear()
        for candidate in self._shown:
            self.candidate_combo.addItem(candidate.file_name, candidate.path)
            self.candidate_combo.setItemData(self.candidate_combo.count() - 1, candidate.path,
                                             Qt.ItemDataRole.ToolTipRole)
        self.candidate_combo.setCurrentIndex(0)
        self.candidate_combo.blockSignals(False)
        self._update_plot()
        self._candidate_chosen(0)

    @property
    def metric(self) -> str:
        return self.metric_combo.currentData()

    def current_candidate(self) -> CandidateComparison | None:
        index = self.candidate_combo.currentIndex()
        return self._shown[index] if 0 <= index < len(self._shown) else None

    def _candidate_chosen(self, index: int) -> None:
        candidate = self.current_candidate()
        if candidate is None:
            return
        self._selected = None
        self.layer_model.set_layers(candidate.layers, worst_plotted(candidate, self.metric), self.metric)
        self._show_outputs(candidate)
        self._show_unmatched(candidate)
        if self.layer_plot is not None:
            self.layer_plot.mark_selected(None, None)
        self._show_values(None)
        self.tensor_info.setText("Click a point or a row to see that layer's values.")

    def _metric_changed(self) -> None:
        candidate = self.current_candidate()
        if candidate is not None:
            self.layer_model.set_worst(worst_plotted(candidate, self.metric), self.metric)
        self._update_plot()

    def _update_plot(self) -> None:
        if self.layer_plot is None or self.result is None:
            return
        from .plots import LayerSeries

        metric = self.metric
        loggable = metric in LOG_SCALE_METRICS
        self.log_check.setEnabled(loggable)
        self.log_check.setToolTip("" if loggable else f"{METRIC_TITLES[metric]} can be zero or negative: "
                                                      "no log scale")
        series = []
        for candidate in self._shown:
            plotted = [i for i, layer in enumerate(candidate.layers) if layer.how != "requantized"]
            at = {position: k for k, position in enumerate(plotted)}
            series.append(LayerSeries(
                candidate.file_name,
                x=np.array([candidate.layers[i].op_index for i in plotted]),
                y=np.array([metric_value(candidate.layers[i].metrics, metric) for i in plotted]),
                positions=np.array(plotted),
                worst=np.array([at[p] for p in worst_plotted(candidate, metric)], dtype=np.int64),
            ))
        self.layer_plot.set_series(series, METRIC_TITLES[metric], loggable and self.log_check.isChecked(),
                                   f"worst {WORST_COUNT} per candidate")
        title = f"{METRIC_TITLES[metric]} per layer (mean over {len(self.result.comparison.inputs)} inputs)"
        if self.result.comparison.random_inputs:
            title += " — RANDOM INPUTS"
        self.layer_plot.plot.setTitle(title)
        self.layer_plot.mark_selected(self.candidate_combo.currentIndex(), self._selected)

    def _point_clicked(self, series: int, position: int) -> None:
        self.select_layer(position, candidate=series)

    def select_layer(self, position: int, candidate: int | None = None) -> None:
        """Select layer `position` of the shown candidate (of candidate `candidate` first, when
        given): its row, its point, its values, and its op in the view's table and detail panel."""
        if candidate is not None and candidate != self.candidate_combo.currentIndex():
            self.candidate_combo.setCurrentIndex(candidate)
        shown = self.current_candidate()
        if shown is None or not 0 <= position < len(shown.layers):
            return
        self._selected = position
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
            self.layer_plot.mark_selected(self.candidate_combo.currentIndex(), position)
        self._request_values()
        self.layer_selected.emit(shown.layers[position])

    def _layer_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not self._selecting and current.isValid():
            self.select_layer(self.layer_model.position(current.row()))

    @property
    def selected_layer(self) -> LayerError | None:
        candidate = self.current_candidate()
        return None if candidate is None or self._selected is None else candidate.layers[self._selected]

    # -- one layer's values -------------------------------------------------------------

    def _values_request(self) -> tuple[tuple, CandidateComparison, LayerError, int] | None:
        candidate, layer = self.current_candidate(), self.selected_layer
        sample = self.input_combo.currentIndex()
        if candidate is None or layer is None or self.result is None or not 0 <= sample < len(self.result.samples):
            return None
        key = (self._run_number, candidate.path, layer.reference_tensor, layer.candidate_tensor, sample)
        return key, candidate, layer, sample

    def _request_values(self) -> None:
        request = self._values_request()
        if request is None:
            return
        key, candidate, layer, sample = request
        self._values_wanted = key
        cached = self._values_cache.get(key)
        if cached is not None:
            self._values_cache.move_to_end(key)
            self._show_values(cached)
            return
        self._describe_layer(layer, sample, None, loading=True)
        if self._values_running is None:
            self._start_values_job(key, candidate.path, layer, sample)

    def _start_values_job(self, key: tuple, candidate: str, layer: LayerError, sample_index: int) -> None:
        from ..core.runtime import RuntimeFailure

        assert self.result is not None
        reference, sample = self.result.comparison.reference, self.result.samples[sample_index]
        workers = self._workers
        (worker,) = workers.acquire()

        def work() -> TensorPairData:
            try:
                return tensor_pair_data(worker, reference, candidate, sample, layer)
            finally:
                workers.release()

        job = Job(work, expected=(RuntimeFailure,), owner=self)
        job.finished.connect(lambda data, k=key: self._values_ready(k, data))
        job.failed.connect(lambda message, k=key: self._values_failed(k, message))
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
        layer, sample = self.selected_layer, self.input_combo.currentIndex()
        if layer is not None:
            self._describe_layer(layer, sample, data)

    def _describe_layer(self, layer: LayerError, sample: int, data: TensorPairData | None,
                        loading: bool = False) -> None:
        where = "a model input" if layer.op_index < 0 else f"output of op {layer.op_index} {layer.op}"
        lines = [f"{_elided(layer.reference_name)} ({where}; matched by {layer.how}; "
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

    # -- outputs and unmatched ----------------------------------------------------------

    def _show_outputs(self, candidate: CandidateComparison) -> None:
        while self.outputs_layout.count():
            widget = self.outputs_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.output_headers, self.output_tables = [], []
        metrics = QTableWidget(len(candidate.outputs), 2 + len(METRIC_NAMES))
        metrics.setHorizontalHeaderLabels(["Output", "Kind", *(METRIC_TITLES[m] for m in METRIC_NAMES)])
        for row, out in enumerate(candidate.outputs):
            cells = [out.name, out.kind] + [
                "not matched" if out.metrics is None else format_metric(m, getattr(out.metrics, m))
                for m in METRIC_NAMES]
            for column, text in enumerate(cells):
                metrics.setItem(row, column, QTableWidgetItem(text))
        self._fix_table(metrics, (220, 80))
        metrics.verticalHeader().setDefaultSectionSize(24)
        # As tall as its rows (and a scroll bar): the top-k tables below need the room.
        metrics.setFixedHeight(metrics.horizontalHeader().sizeHint().height() + 24 * len(candidate.outputs)
                               + metrics.horizontalScrollBar().sizeHint().height() + 2 * metrics.frameWidth() + 2)
        self.output_metrics_table = metrics
        self.outputs_layout.addWidget(QLabel("Outputs (the mean over the inputs)"))
        self.outputs_layout.addWidget(metrics)
        samples = self.result.samples if self.result is not None else ()
        for out in candidate.outputs:
            if out.kind != "classifier" or not out.top:
                continue
            agree = sum(t.reference[0][0] == t.candidate[0][0] for t in out.top)
            header = wrapped_label(
                f"{out.name}: top-1 agreement {out.top1_agreement:.0%} ({agree} of {len(out.top)} inputs) · "
                f"top-{out.k} overlap {out.topk_overlap:.0%}"
                + (f" · labels from {out.labels_source}" if out.labels_source else " · no labels: class numbers"))
            header.setStyleSheet("font-weight: bold")
            table = QTableWidget(len(out.top), 3)
            table.setHorizontalHeaderLabels(["Input", f"Reference top {out.k}", f"Candidate top {out.k}"])
            table.setIconSize(QSize(72, 72))
            differs = QBrush(DIFFERS_COLOR)
            for row, top in enumerate(out.top):
                sample = samples[row] if row < len(samples) else None
                name = QTableWidgetItem(top.input)
                icon = _thumbnail_icon(sample.thumbnail) if sample is not None else None
                if icon is not None:
                    name.setIcon(icon)
                items = [name, QTableWidgetItem(_top_text(top.reference)), QTableWidgetItem(_top_text(top.candidate))]
                if top.reference[0][0] != top.candidate[0][0]:
                    for item in items:
                        item.setBackground(differs)
                        item.setToolTip("The best class differs")
                for column, item in enumerate(items):
                    table.setItem(row, column, item)
            self._fix_table(table, (200, 220))
            table.verticalHeader().setDefaultSectionSize(max(78, 16 * out.k + 6))
            table.setMinimumHeight(min(420, 30 + table.verticalHeader().defaultSectionSize() * len(out.top)))
            self.outputs_layout.addWidget(header)
            self.outputs_layout.addWidget(table)
            self.output_headers.append(header)
            self.output_tables.append(table)
        self.outputs_layout.addStretch(1)

    @staticmethod
    def _fix_table(table: QTableWidget, widths: tuple[int, ...]) -> None:
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().setVisible(False)
        table.setWordWrap(False)
        table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate(widths):
            table.setColumnWidth(column, width)

    def _show_unmatched(self, candidate: CandidateComparison) -> None:
        rows = candidate.unmatched
        self.unmatched_table.setRowCount(len(rows))
        for row, u in enumerate(rows):
            op = "model input" if u.op < 0 else f"{u.opcode} #{u.op}"
            for column, text in enumerate((u.model, str(u.tensor), u.name, op, u.reason)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.unmatched_table.setItem(row, column, item)
        reference_skipped, candidate_skipped = candidate.weights_skipped
        text = (f"{len(rows)} tensor{'' if len(rows) == 1 else 's'} could not be matched between "
                f"{os.path.basename(self.reference.path)} and {candidate.file_name}."
                if rows else "Every activation tensor was matched.")
        if reference_skipped or candidate_skipped:
            text += (f" Weights made float by a DEQUANTIZE op are not layers: {reference_skipped} in the reference, "
                     f"{candidate_skipped} in the candidate.")
        self.unmatched_label.setText(text)
        self.results_tabs.setTabText(2, f"Unmatched ({len(rows)})")

    # -- closing ------------------------------------------------------------------------

    def close_page(self) -> None:
        """The view is closing: stop the run and the interpreter, release the candidates."""
        self._closed = True
        self._cancel.set()
        self._cancel_timer.stop()
        for job in (self._run_job, self._values_job):
            if job is not None:
                job.cancel()
        self._run_job = self._values_job = None
        self._workers.close()
        for candidate in self._candidates.values():
            if candidate.model is not None:
                candidate.model.close()


def _elided(name: str, limit: int = 72) -> str:
    """Converter-made names run to hundreds of characters; their start and end tell them apart."""
    if len(name) <= limit:
        return name
    keep = (limit - 1) // 2
    return f"{name[:keep]}…{name[-keep:]}"


def _top_text(top: tuple[tuple[int, str, float], ...]) -> str:
    lines = []
    for index, label, score in top:
        name = label if label != str(index) else f"class {index}"
        lines.append(f"{name}  {score:.3f}")
    return "\n".join(lines)
