"""The Quantization lab window: every quantization mode of one model, produced and measured,
in one table.

All numbers come from core/quantization_lab.py. This window gathers a run's settings, runs
`run_lab` off the GUI thread in the window's own interpreter and converter processes
(TensorFlow loads only in the converter's process, never in the app), and shows the
reference and each usable variant as a row. The device budget is applied by core's pure
`apply_budget`, so a changed budget re-marks the last result at once, without a new run.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QCloseEvent, QColor, QDragEnterEvent, QDropEvent, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

# None of these imports TensorFlow: it loads only in the converter's worker process.
from ..core.conversion import DEFAULT_MODES, INT8_IO_TYPES, MODES, ConversionError, ConversionWorker, source_kind
from ..core.inputs import (
    ARRAY_SUFFIXES,
    IMAGE_SUFFIXES,
    InputError,
    Normalization,
    list_input_files,
)
from ..core.quantization_lab import (
    LAB_DELEGATES,
    MIN_CALIBRATION_SAMPLES,
    SETTINGS_SUFFIX,
    Budget,
    LabResult,
    LabSettings,
    VariantResult,
    apply_budget,
    existing_outputs,
    lab_dict,
    load_settings,
    run_lab,
    source_stem,
)
from ..core.report import ReportRequest
from ..core.runtime import RuntimeFailure, RuntimeWorker
from .compare_view import format_metric
from .input_controls import InputList, PreprocessingControls, RandomInputsChoice, wrapped_label
from .jobs import Job, SharedWorkers
from .report_export import ReportExport, ask_report_path
from .table_models import OrderedRowsModel, make_sortable_table

SOURCE_FILTER = "Models (*.tflite *.keras *.h5 *.hdf5);;All files (*)"
SETTINGS_FILTER = f"Quantization lab settings (*{SETTINGS_SUFFIX});;JSON files (*.json);;All files (*)"
KIND_TEXT = {
    "tflite": "a .tflite model: quantized with ai-edge-quantizer; the file itself is the float reference",
    "saved_model": "a SavedModel: converted with TensorFlow's TFLiteConverter in a separate process; its float32 "
                   "conversion is the reference",
    "keras": "a Keras file: converted with TensorFlow's TFLiteConverter in a separate process; its float32 "
             "conversion is the reference",
}
DELEGATE_TITLES = {"gpu": "GPU", "xnnpack": "XNNPACK", "edgetpu": "Edge TPU"}
DEFAULT_RANDOM_COUNT = 100
# After Cancel, the workers are stopped again this often while the run is still going: a stop
# that lands between two requests only ends an idle process, and the next request starts one.
RESTOP_INTERVAL_MS = 500
ERROR_STYLE = "color:#c0392b"
BANNER_STYLE = "QLabel { background:#f5b041; color:#000; padding:4px; border-radius:3px; }"
RECOMMENDATION_STYLE = "QLabel { font-weight: bold; }"
# Translucent tints, readable on light and dark palettes (as on the Compare page).
RECOMMENDED_COLOR = QColor(39, 174, 96, 80)
RANDOM_COLOR = QColor(230, 126, 34, 64)
RULED_OUT_COLOR = QColor(128, 128, 128)
MODE_ROLE = Qt.ItemDataRole.UserRole + 4  # a row's mode key


# ---------------------------------------------------------------- work off the GUI thread


@dataclass
class _RunState:
    """Shared between one run's worker thread and the window."""

    cancel: threading.Event
    message: str = ""  # the step under way, as run_lab said it


@dataclass(frozen=True)
class LabRun:
    result: LabResult  # as run_lab returned it, with the budget of its settings
    seconds: float


def run_lab_job(settings: LabSettings, runtime: RuntimeWorker, converter: ConversionWorker, overwrite: bool,
                state: _RunState, report: Callable[[int, int], None]) -> LabRun:
    """Runs in a worker thread: the CLI's flow, timed."""

    def progress(done: int, total: int, message: str) -> None:
        if message:
            state.message = message
        report(done, total)

    start = time.monotonic()
    result = run_lab(settings, runtime, converter, overwrite=overwrite, progress=progress,
                     cancelled=state.cancel.is_set)
    return LabRun(result, time.monotonic() - start)


@dataclass(frozen=True)
class LabComparison:
    """Two of the lab's models to compare on the Compare page, with the lab's inputs."""

    reference: str
    candidate: str
    inputs: tuple[str, ...]
    normalization: Normalization | None
    resize: str
    random_count: int


# ---------------------------------------------------------------- the results table


COLUMNS = ("Mode", "Size (bytes)", "Ratio to float", "Median ms", "p90 ms", "Top-1", "Output SQNR dB",
           "Worst layer (SQNR dB)", *(f"{DELEGATE_TITLES[d]} ops" for d in LAB_DELEGATES), "Fits budget")
_FIRST_DELEGATE_COLUMN = 8
FITS_COLUMN = len(COLUMNS) - 1
_COLUMN_TIPS = {
    2: "File size divided by the float reference's",
    3: "Median latency with the LiteRT interpreter and XNNPACK",
    4: "90th percentile latency",
    5: "How often the top class agrees with the float reference's",
    6: "Signal-to-quantization-noise ratio of the first output against the float reference",
    7: "The layer with the lowest SQNR against the float reference",
    FITS_COLUMN: "Whether the variant fits the device budget (hover a cell for why not)",
}
# Headers on two lines: the table's twelve columns fit a 1200-pixel window.
_HEADERS = ("Mode", "Size\n(bytes)", "Ratio\nto float", "Median\nms", "p90\nms", "Top-1", "Output\nSQNR dB",
            "Worst layer\n(SQNR dB)", *(f"{DELEGATE_TITLES[d]}\nops" for d in LAB_DELEGATES), "Fits\nbudget")
_COLUMN_WIDTHS = (210, 80, 70, 70, 60, 55, 75, 245, 60, 75, 75, 60)


def percent(value: float) -> str:
    return f"{value * 100:.3g}%"


class VariantTableModel(OrderedRowsModel):
    """The reference and the usable variants of a lab result, one row each, sortable by any
    column (numbers as numbers; rows without a value last either way)."""

    headers = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._reference_size: int | None = None
        self._recommendation: str | None = None
        self._budget_set = False

    @property
    def variants(self) -> tuple[VariantResult, ...]:
        return self.items

    def set_variants(self, variants: Sequence[VariantResult], recommendation: str | None, budget_set: bool) -> None:
        """The rows of a result: a new run resets the table; the same variants re-marked (a changed
        budget) update in place, so the selection and the sort stay."""
        shown = tuple(v for v in variants if v.is_reference or v.usable)
        same_rows = [v.mode for v in shown] == [v.mode for v in self.variants]
        self._recommendation, self._budget_set = recommendation, budget_set
        reference = next((v for v in shown if v.is_reference), None)
        self._reference_size = reference.size_bytes if reference is not None else None
        if same_rows and shown:
            self.update_items(shown)
        else:
            self.set_items(shown)

    def variant(self, row: int) -> VariantResult:
        return self.item(row)

    def row_of_mode(self, mode: str) -> int:
        return next(row for row in range(self.rowCount()) if self.variant(row).mode == mode)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            if section >= _FIRST_DELEGATE_COLUMN and section != FITS_COLUMN:
                delegate = LAB_DELEGATES[section - _FIRST_DELEGATE_COLUMN]
                return f"Ops the {DELEGATE_TITLES[delegate]} delegate takes, by its rules, of all ops"
            return _COLUMN_TIPS.get(section)
        return None

    def _ratio(self, v: VariantResult) -> float | None:
        if not v.size_bytes or not self._reference_size:
            return None
        return v.size_bytes / self._reference_size

    def sort_key(self, position: int, column: int) -> float | str | None:
        return self.value(self.variants[position], column)

    def value(self, v: VariantResult, column: int) -> float | str | None:
        """The number (or text) a cell shows, None when it has none."""
        if column == 0:
            return v.title.lower()
        if column == 1:
            return v.size_bytes
        if column == 2:
            return self._ratio(v)
        if column in (3, 4):
            if v.latency is None:
                return None
            return v.latency.median_ms if column == 3 else v.latency.p90_ms
        if column == 5:
            return v.top1_agreement
        if column == 6:
            return None if v.output_sqnr_db is None or math.isnan(v.output_sqnr_db) else v.output_sqnr_db
        if column == 7:
            return None if v.worst_layer is None or math.isnan(v.worst_layer.sqnr_db) else v.worst_layer.sqnr_db
        if column == FITS_COLUMN:
            return None if v.fits is None else float(v.fits)
        coverage = v.coverage(LAB_DELEGATES[column - _FIRST_DELEGATE_COLUMN])
        return None if coverage is None or not coverage.ops_total else coverage.ops_supported / coverage.ops_total

    def text(self, v: VariantResult, column: int) -> str:
        if column == 0:
            mark = "★ " if v.mode == self._recommendation and not v.is_reference else ""
            return mark + v.title + (" (random cal.)" if v.calibrated_on_random else "")
        if column == 1:
            return f"{v.size_bytes:,}" if v.size_bytes else "—"
        if column == 2:
            ratio = self._ratio(v)
            return "—" if ratio is None else f"{ratio:.2f}"
        if column in (3, 4):
            value = self.value(v, column)
            return ("failed" if v.latency_error else "—") if value is None else f"{value:.3g}"
        if column == 5:
            if v.top1_agreement is None:
                return "failed" if v.evaluation_error else "—"
            return percent(v.top1_agreement)
        if column == 6:
            if v.output_sqnr_db is None:
                return "failed" if v.evaluation_error else "—"
            return format_metric("sqnr_db", v.output_sqnr_db)
        if column == 7:
            w = v.worst_layer
            return "—" if w is None else f"{w.op} #{w.op_index}: {format_metric('sqnr_db', w.sqnr_db)}"
        if column == FITS_COLUMN:
            return "" if v.fits is None else ("fits" if v.fits else "no")
        coverage = v.coverage(LAB_DELEGATES[column - _FIRST_DELEGATE_COLUMN])
        return "—" if coverage is None else f"{coverage.ops_supported}/{coverage.ops_total}"

    def tooltip(self, v: VariantResult, column: int) -> str:
        if column == 0:
            lines = [v.path or "", v.contents, *v.notes]
            if v.mode == self._recommendation and not v.is_reference:
                lines.insert(0, "Recommended: the smallest error" + (" of the variants that fit the budget"
                                                                      if self._budget_set else ""))
            if v.calibrated_on_random:
                lines.insert(0, "Calibrated on RANDOM inputs: its activation ranges do not come from real data")
            return "\n".join(line for line in lines if line)
        if column in (3, 4):
            if v.latency is None:
                return v.latency_error or "not measured"
            return (f"{v.latency.runs} runs on {v.latency.threads} thread{'s' if v.latency.threads > 1 else ''}; "
                    f"XNNPACK made {v.latency.delegated_nodes} partition"
                    f"{'' if v.latency.delegated_nodes == 1 else 's'}")
        if column in (5, 6):
            return v.evaluation_error or ("the reference itself" if v.is_reference else "")
        if column == 7:
            return "" if v.worst_layer is None else f"{v.worst_layer.tensor} (output of op #{v.worst_layer.op_index})"
        if column == FITS_COLUMN:
            if v.fits is None:
                return "No budget set" if not self._budget_set else ""
            return "Fits every limit of the budget" if v.fits else "\n".join(v.ruled_out)
        if column >= _FIRST_DELEGATE_COLUMN:
            c = v.coverage(LAB_DELEGATES[column - _FIRST_DELEGATE_COLUMN])
            if c is None:
                return "not analysed"
            whole = "the whole model" if c.whole_model else f"{c.ops_total - c.ops_supported} ops stay on the CPU"
            return f"{c.ops_supported} of {c.ops_total} ops in {c.partitions} partition" \
                   f"{'' if c.partitions == 1 else 's'}: {whole}"
        return ""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        v = self.variant(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(v, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(v, column) or None
        if role == MODE_ROLE:
            return v.mode
        recommended = v.mode == self._recommendation and not v.is_reference
        if role == Qt.ItemDataRole.BackgroundRole:
            if recommended:
                return QBrush(RECOMMENDED_COLOR)
            if v.calibrated_on_random:
                return QBrush(RANDOM_COLOR)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and v.fits is False:
            return QBrush(RULED_OUT_COLOR)
        if role == Qt.ItemDataRole.FontRole and recommended:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column not in (0, 7, FITS_COLUMN):  # numbers
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# ---------------------------------------------------------------- the window


def default_output_dir(source: str) -> str:
    """`<source folder>/<stem>_variants`, beside the source."""
    source = os.path.normpath(source)
    return os.path.join(os.path.dirname(source), f"{source_stem(source)}_variants")


def _model_source_kind(path: str) -> str | None:
    """The kind of a model source (a .tflite, Keras file or SavedModel folder), None for anything else."""
    try:
        return source_kind(path)
    except ConversionError:
        return None


class QuantizationLabWindow(QWidget):
    """A top-level window: one source model, its variants measured in one table.

    `compare_requested(LabComparison)` asks the main window to compare two of the lab's models
    on its Compare page."""

    compare_requested = Signal(object)

    def __init__(self, source: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAcceptDrops(True)
        # The window's interpreter and converter: made for the first run, stopped by Cancel, closed
        # with the window.
        self._workers = SharedWorkers(lambda: (RuntimeWorker(), ConversionWorker()))
        self._job: Job | None = None
        self._state: _RunState | None = None
        self._restop_timer = QTimer(self)
        self._restop_timer.setInterval(RESTOP_INTERVAL_MS)
        self._restop_timer.timeout.connect(self._workers.stop)
        self._kind: str | None = None
        self._kind_error = ""
        self._output_chosen = False  # the user chose the output folder: a new source keeps it
        self._calibration_files = 0
        self._showing_run_warnings = False  # the banner has the last run's warnings, until the inputs change
        self._outcome = ""  # how the last run ended, shown until the next starts
        self.last_run: LabRun | None = None
        self.report_export: ReportExport | None = None  # the last "Export report…"
        self.result: LabResult | None = None  # the last run with the budget now set applied
        self.runs_started = 0
        self.errors: list[str] = []  # messages shown to the user, newest last
        self.error_box: QMessageBox | None = None

        setup = QWidget()
        setup_layout = QHBoxLayout(setup)
        setup_layout.setContentsMargins(0, 0, 0, 0)
        setup_layout.addWidget(self._build_source_box(), 4)
        setup_layout.addWidget(self._build_inputs_box(), 4)
        setup_layout.addWidget(self._build_measuring_box(), 3)
        setup_area = QScrollArea()
        setup_area.setWidget(setup)
        setup_area.setWidgetResizable(True)
        setup_area.setFrameShape(QFrame.Shape.NoFrame)

        self.warning_banner = wrapped_label()
        self.warning_banner.setStyleSheet(BANNER_STYLE)
        self.warning_banner.hide()
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.warning_banner)
        results_layout.addLayout(self._build_run_bar())
        results_layout.addWidget(self._build_budget_box())
        self.summary_label = wrapped_label()
        results_layout.addWidget(self.summary_label)
        results_layout.addWidget(self._build_table(), 1)
        self.recommendation_label = wrapped_label()
        self.recommendation_label.setStyleSheet(RECOMMENDATION_STYLE)
        results_layout.addWidget(self.recommendation_label)
        self.not_listed_label = wrapped_label()
        self.not_listed_label.setToolTip("Variants that are not rows of the table, and measurements that failed")
        results_layout.addWidget(self.not_listed_label)
        self.compare_button = QPushButton("Compare selected")
        self.compare_button.setToolTip("Select two rows (or one, to compare it with the float reference): the "
                                       "first opens in the main window, the second is compared with it layer by "
                                       "layer on the lab's inputs")
        self.compare_button.clicked.connect(self.compare_selected)
        self.report_button = QPushButton("Export report…")
        self.report_button.setToolTip("Write one HTML file with this table (as the budget marks it now) and the "
                                      "reference model's overview, ops, quantization and delegates")
        self.report_button.setEnabled(False)
        self.report_button.clicked.connect(lambda: self.export_report())
        compare_bar = QHBoxLayout()
        compare_bar.addWidget(self.compare_button)
        compare_bar.addWidget(self.report_button)
        compare_bar.addStretch(1)
        results_layout.addLayout(compare_bar)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(setup_area)
        self.splitter.addWidget(results)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([300, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)
        self.resize(1200, 800)

        self.set_source(source)
        self._show_no_result()

    # -- building ---------------------------------------------------------------------

    def _build_source_box(self) -> QGroupBox:
        box = QGroupBox("Source and modes")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.source_edit = QLineEdit()
        self.source_edit.setPlaceholderText("a float .tflite, a Keras file (.keras, .h5) or a SavedModel folder")
        self.source_edit.editingFinished.connect(lambda: self.set_source(self.source_edit.text().strip()))
        choose_file = QPushButton("File…")
        choose_file.setToolTip("Choose a .tflite or Keras file")
        choose_file.clicked.connect(self.choose_source_file)
        choose_folder = QPushButton("Folder…")
        choose_folder.setToolTip("Choose a SavedModel folder")
        choose_folder.clicked.connect(self.choose_source_folder)
        row = QHBoxLayout()
        row.addWidget(self.source_edit, 1)
        row.addWidget(choose_file)
        row.addWidget(choose_folder)
        form.addRow("Source", row)
        self.kind_label = wrapped_label()
        form.addRow("", self.kind_label)
        modes = QGridLayout()
        modes.setContentsMargins(0, 0, 0, 0)
        self.mode_checks: dict[str, QCheckBox] = {}
        for i, mode in enumerate(MODES.values()):
            check = QCheckBox(mode.title)
            tip = f"{mode.key}: {mode.description}"
            if mode.calibrated:
                tip += " (needs calibration inputs)"
            check.setToolTip(tip)
            check.setChecked(mode.key in DEFAULT_MODES)
            check.toggled.connect(lambda _: self._form_changed())
            self.mode_checks[mode.key] = check
            modes.addWidget(check, i // 2, i % 2)
        form.addRow("Modes", modes)
        self.int8_io_combo = QComboBox()
        for io_type in INT8_IO_TYPES:
            self.int8_io_combo.addItem(io_type, io_type)
        form.addRow("int8 inputs/outputs", self.int8_io_combo)
        return box

    def _build_inputs_box(self) -> QGroupBox:
        box = QGroupBox("Inputs")
        layout = QVBoxLayout(box)
        layout.setSpacing(3)
        layout.addWidget(QLabel(f"Calibration ({MIN_CALIBRATION_SAMPLES} or more images or arrays)"))
        self.calibration = InputList("calibration", max_height=72)
        self.calibration.changed.connect(self._inputs_changed)
        layout.addWidget(self.calibration)
        self.random_inputs = RandomInputsChoice(
            DEFAULT_RANDOM_COUNT, "Random values instead of the files, for calibration and for measuring: every "
            "result is marked as coming from random data", "random inputs instead (results are marked)")
        self.random_inputs.changed.connect(self._inputs_changed)
        layout.addWidget(self.random_inputs)
        layout.addWidget(QLabel("Evaluation (optional; default: the calibration inputs)"))
        self.evaluation = InputList("evaluation", max_height=72)
        self.evaluation.changed.connect(self._inputs_changed)
        layout.addWidget(self.evaluation)
        return box

    def _build_measuring_box(self) -> QGroupBox:
        box = QGroupBox("Measuring and output")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.limit_spin = QSpinBox()
        self.limit_spin.setRange(0, 1_000_000)
        self.limit_spin.setSpecialValueText("no limit")
        self.limit_spin.setToolTip("At most this many inputs from each set")
        self.limit_spin.valueChanged.connect(lambda _: self._inputs_changed())
        form.addRow("Limit", self.limit_spin)
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(1, 256)
        self.threads_spin.setToolTip("Interpreter threads for the latency runs (1 gives the steadiest figures)")
        form.addRow("Threads", self.threads_spin)
        self.runs_spin = QSpinBox()
        self.runs_spin.setRange(1, 1_000_000)
        self.runs_spin.setValue(50)
        self.runs_spin.setToolTip("Timed runs per variant, after a few untimed ones")
        form.addRow("Runs", self.runs_spin)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Seed of the random inputs, when they are used")
        form.addRow("Random seed", self.seed_spin)
        self.preprocessing = PreprocessingControls(
            "From the model", "From the model's metadata or input quantization, as Compare suggests it",
            min_contents_length=12, parent=self)
        self.preprocessing.changed.connect(self._form_changed)
        self.preprocessing.add_rows(form)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("<source folder>/<name>_variants")
        self.output_edit.textEdited.connect(self._output_edited)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self.choose_output_dir)
        row = QHBoxLayout()
        row.addWidget(self.output_edit, 1)
        row.addWidget(choose)
        form.addRow("Output folder", row)
        return box

    def _build_run_bar(self) -> QHBoxLayout:
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.load_button = QPushButton("Load settings…")
        self.load_button.setToolTip(f"Fill the form from a run's saved *{SETTINGS_SUFFIX}, to run it again")
        self.load_button.clicked.connect(self.load_settings_dialog)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m steps")
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.run_status = wrapped_label()
        bar = QHBoxLayout()
        bar.addWidget(self.run_button)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.load_button)
        bar.addWidget(self.progress_bar)
        bar.addWidget(self.run_status, 1)
        return bar

    def _build_budget_box(self) -> QGroupBox:
        box = QGroupBox("Device budget (optional; applied to the last run at once)")
        row = QHBoxLayout(box)
        row.setContentsMargins(6, 2, 6, 2)

        def limit(text: str, spin: QDoubleSpinBox, tip: str) -> QCheckBox:
            check = QCheckBox(text)
            check.setToolTip(tip)
            spin.setEnabled(False)
            spin.setToolTip(tip)
            check.toggled.connect(spin.setEnabled)
            check.toggled.connect(lambda _: self._budget_changed())
            spin.valueChanged.connect(lambda _: self._budget_changed())
            row.addWidget(check)
            row.addWidget(spin)
            row.addSpacing(10)
            return check

        self.size_spin = self._spin(0.001, 100_000.0, 3, " MB", 1.0)
        self.size_check = limit("Max size", self.size_spin,
                                "The largest file the device takes (1 MB = 1,000,000 bytes)")
        self.latency_spin = self._spin(0.001, 1_000_000.0, 3, " ms", 10.0)
        self.latency_check = limit("Max median latency", self.latency_spin,
                                   "The slowest median latency allowed, as measured here with XNNPACK")
        self.top1_spin = self._spin(0.0, 100.0, 1, " %", 95.0)
        self.top1_check = limit("Min top-1", self.top1_spin, "The lowest top-1 agreement with the float model")
        self.sqnr_spin = self._spin(-1000.0, 1000.0, 1, " dB", 20.0)
        self.sqnr_check = limit("Min output SQNR", self.sqnr_spin, "The lowest output SQNR against the float model")
        self.delegate_combo = QComboBox()
        self.delegate_combo.addItem("none", None)
        for delegate in LAB_DELEGATES:
            self.delegate_combo.addItem(DELEGATE_TITLES[delegate], delegate)
        self.delegate_combo.setToolTip("A delegate that must take every op of the model")
        self.delegate_combo.currentIndexChanged.connect(lambda _: self._budget_changed())
        row.addWidget(QLabel("Must run wholly on"))
        row.addWidget(self.delegate_combo)
        row.addStretch(1)
        return box

    @staticmethod
    def _spin(low: float, high: float, decimals: int, suffix: str, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setDecimals(decimals)
        spin.setSuffix(suffix)
        spin.setValue(value)
        spin.setKeyboardTracking(False)  # re-applied when a number is complete, not at each digit
        return spin

    def _build_table(self) -> QTableView:
        self.table_model = VariantTableModel(self)
        self.table = make_sortable_table(self.table_model, _COLUMN_WIDTHS, row_height=24, multi_select=True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_compare_button())
        return self.table

    # -- the source -------------------------------------------------------------------

    def source_path(self) -> str:
        text = self.source_edit.text().strip()
        return os.path.abspath(text) if text else ""

    def set_source(self, path: str) -> None:
        """The model to quantize; the output folder follows it unless one was chosen."""
        path = os.path.abspath(path) if path else ""
        self.source_edit.setText(path)
        self._kind, self._kind_error = None, ""
        if path:
            try:
                self._kind = source_kind(path)
            except ConversionError as e:
                self._kind_error = str(e)
        self.kind_label.setText(KIND_TEXT[self._kind] if self._kind else (self._kind_error or "no source yet"))
        self.kind_label.setStyleSheet(ERROR_STYLE if self._kind_error else "")
        tensorflow = self._kind in ("saved_model", "keras")
        float32 = self.mode_checks["float32"]
        float32.setEnabled(False)  # never a choice: made for TensorFlow sources, the source itself for .tflite
        float32.setChecked(tensorflow)
        float32.setToolTip("Always produced from a TensorFlow source: it is the reference" if tensorflow
                           else "Only for TensorFlow sources: a .tflite source is its own float32 reference")
        self.int8_io_combo.setEnabled(tensorflow)
        self.int8_io_combo.setToolTip("Input and output type of full-integer int8" if tensorflow else
                                      "Only for TensorFlow sources: ai-edge-quantizer keeps a .tflite's float "
                                      "inputs and outputs")
        if not self._output_chosen:
            self.output_edit.setText(default_output_dir(path) if path else "")
        name = os.path.basename(os.path.normpath(path)) if path else ""
        self.setWindowTitle(f"Quantization lab — {name}" if name else "Quantization lab")
        self._form_changed()

    def choose_source_file(self) -> None:
        start = os.path.dirname(self.source_path())
        path, _ = QFileDialog.getOpenFileName(self, "Model to quantize", start, SOURCE_FILTER)
        if path:
            self.set_source(path)

    def choose_source_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "SavedModel folder", os.path.dirname(self.source_path()))
        if path:
            self.set_source(path)

    def _output_edited(self, _text: str) -> None:
        self._output_chosen = True
        self._update_run_controls()

    def choose_output_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the variants", self.output_edit.text())
        if path:
            self.set_output_dir(path)

    def set_output_dir(self, path: str) -> None:
        self._output_chosen = True
        self.output_edit.setText(os.path.abspath(path))
        self._update_run_controls()

    # -- inputs and warnings ----------------------------------------------------------

    def add_calibration(self, paths: Sequence[str]) -> None:
        self.calibration.add(paths)

    def add_evaluation(self, paths: Sequence[str]) -> None:
        self.evaluation.add(paths)

    def set_random_inputs(self, count: int | None) -> None:
        """Random inputs (`count` of them) instead of the files; None: the files."""
        self.random_inputs.set_count(count)

    def _inputs_changed(self) -> None:
        files = [f for f in list_input_files(self.calibration.paths)
                 if f.lower().endswith(IMAGE_SUFFIXES + ARRAY_SUFFIXES)]
        limit = self.limit_spin.value()
        self._calibration_files = min(len(files), limit) if limit else len(files)
        random = bool(self.random_inputs.count)
        for widget in (self.calibration, self.evaluation):
            widget.setEnabled(not random)
        self._showing_run_warnings = False
        self._form_changed()

    def _calibrated_modes(self) -> list[str]:
        return [k for k, check in self.mode_checks.items() if check.isChecked() and MODES[k].calibrated]

    def form_warnings(self) -> list[str]:
        """What the chosen inputs mean for the results, before anything runs."""
        calibrated = self._calibrated_modes()
        if self.random_inputs.count:
            calibrated_text = ", ".join(calibrated) or "calibrated modes"
            warning = (f"RANDOM INPUTS: {self.random_inputs.count} random inputs replace the files for calibration "
                       f"and for measuring. The activation ranges of {calibrated_text} and every agreement and error "
                       "figure come from random data, not from real inputs; the results are marked.")
            return [warning]
        count, warnings = self._calibration_files, []
        if calibrated and count == 0:
            warnings.append(f"No calibration inputs: {', '.join(calibrated)} cannot be produced. Add images or "
                            f"arrays ({MIN_CALIBRATION_SAMPLES} or more), or use random inputs.")
        elif calibrated and count < MIN_CALIBRATION_SAMPLES:
            warnings.append(f"Only {count} calibration file{'' if count == 1 else 's'}: {MIN_CALIBRATION_SAMPLES} "
                            f"or more give activation ranges that hold on real data ({', '.join(calibrated)} "
                            "are calibrated on them).")
        if count == 0 and not self.evaluation.paths:
            warnings.append("No inputs to measure on: top-1 agreement and error will not be measured.")
        return warnings

    def _update_banner(self) -> None:
        if self._showing_run_warnings and self.result is not None:
            lines = list(self.result.warnings)
            if self.result.cancelled:
                lines.append("Cancelled: the table has the variants finished before.")
        else:
            lines = self.form_warnings()
        self.warning_banner.setText("\n".join(f"⚠ {line}" for line in lines))
        self.warning_banner.setVisible(bool(lines))

    # -- settings ---------------------------------------------------------------------

    def normalization(self) -> Normalization | None:
        """The chosen normalization, None for the model's own; InputError for an unusable custom one."""
        return self.preprocessing.chosen()

    def budget(self) -> Budget:
        return Budget(
            max_size_bytes=round(self.size_spin.value() * 1e6) if self.size_check.isChecked() else None,
            max_latency_ms=self.latency_spin.value() if self.latency_check.isChecked() else None,
            min_top1_agreement=self.top1_spin.value() / 100 if self.top1_check.isChecked() else None,
            min_output_sqnr_db=self.sqnr_spin.value() if self.sqnr_check.isChecked() else None,
            whole_model_delegate=self.delegate_combo.currentData(),
        )

    def set_budget(self, budget: Budget) -> None:
        """Fill the budget panel (and re-apply it to the last result)."""
        values = (
            (self.size_check, self.size_spin, None if budget.max_size_bytes is None else budget.max_size_bytes / 1e6),
            (self.latency_check, self.latency_spin, budget.max_latency_ms),
            (self.top1_check, self.top1_spin,
             None if budget.min_top1_agreement is None else budget.min_top1_agreement * 100),
            (self.sqnr_check, self.sqnr_spin, budget.min_output_sqnr_db),
        )
        widgets = [self.delegate_combo, *(w for check, spin, _ in values for w in (check, spin))]
        for widget in widgets:
            widget.blockSignals(True)
        try:
            for check, spin, value in values:
                check.setChecked(value is not None)
                spin.setEnabled(value is not None)
                if value is not None:
                    spin.setValue(value)
            self.delegate_combo.setCurrentIndex(max(self.delegate_combo.findData(budget.whole_model_delegate), 0))
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self._budget_changed()

    def settings(self) -> LabSettings:
        """The run the form describes. ConversionError or InputError says what is missing or wrong."""
        source = self.source_path()
        if not source:
            raise ConversionError("Choose a source model (a .tflite, a Keras file or a SavedModel folder).")
        if self._kind is None:
            raise ConversionError(self._kind_error or f"{source}: not a model source")
        modes = tuple(k for k, check in self.mode_checks.items() if check.isChecked() and k != "float32")
        if not modes and self._kind == "tflite":
            raise ConversionError("Choose at least one mode.")
        output = self.output_edit.text().strip()
        if not output:
            raise ConversionError("Choose an output folder.")
        return LabSettings(
            source=source, output_dir=os.path.abspath(output), modes=modes,
            calibration=tuple(self.calibration.paths), evaluation=tuple(self.evaluation.paths),
            normalization=self.normalization(), resize=self.preprocessing.resize,
            limit=self.limit_spin.value() or None,
            random_count=self.random_inputs.count,
            seed=self.seed_spin.value(), int8_io=self.int8_io_combo.currentData(),
            threads=self.threads_spin.value(), runs=self.runs_spin.value(), budget=self.budget(),
        )

    def set_settings(self, settings: LabSettings) -> None:
        """Fill the form from saved settings; the run starts when the user presses Run."""
        self._output_chosen = False
        self.set_source(settings.source)
        self.set_output_dir(settings.output_dir)
        for key, check in self.mode_checks.items():
            if key != "float32":
                check.setChecked(key in settings.modes)
        self.calibration.set_paths(settings.calibration)
        self.evaluation.set_paths(settings.evaluation)
        self.preprocessing.set_normalization(settings.normalization)
        self.preprocessing.set_resize(settings.resize)
        self.limit_spin.setValue(settings.limit or 0)
        self.seed_spin.setValue(settings.seed)
        self.set_random_inputs(settings.random_count if settings.random_count > 0 else None)
        self.int8_io_combo.setCurrentIndex(max(self.int8_io_combo.findData(settings.int8_io), 0))
        self.threads_spin.setValue(settings.threads)
        self.runs_spin.setValue(settings.runs)
        self.set_budget(settings.budget)

    def load_settings_dialog(self) -> None:
        start = self.output_edit.text() if os.path.isdir(self.output_edit.text()) else ""
        path, _ = QFileDialog.getOpenFileName(self, "Load quantization lab settings", start, SETTINGS_FILTER)
        if path:
            self.load_settings_file(path)

    def load_settings_file(self, path: str) -> bool:
        """Fill the form from a saved `*_quantize.json`; False (with a message) when it cannot be used."""
        try:
            settings = load_settings(path)
        except ConversionError as e:
            self._show_error("The settings could not be loaded", str(e))
            return False
        self.set_settings(settings)
        self.run_status.setText(f"Settings loaded from {os.path.basename(path)}: press Run to run them again.")
        return True

    def _form_changed(self) -> None:
        self._update_banner()
        self._update_run_controls()

    # -- running ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job is not None

    def _blocker(self) -> str:
        """Why Run cannot start, or ""."""
        if self._job is not None:
            return "running"
        try:
            self.settings()
        except (ConversionError, InputError) as e:
            return str(e)
        return ""

    def _update_run_controls(self) -> None:
        running = self._job is not None
        blocker = self._blocker()
        self.run_button.setEnabled(not blocker)
        self.load_button.setEnabled(not running)
        self.cancel_button.setEnabled(running and self._state is not None and not self._state.cancel.is_set())
        if not running:
            self.run_button.setToolTip(blocker)
            self.run_status.setText(blocker or self._outcome or "Ready to run.")
            self.run_status.setStyleSheet(ERROR_STYLE if blocker else "")

    def run(self) -> None:
        """Start a run with the form's settings; files an earlier run made are replaced only when
        the user says so."""
        if self._blocker():
            return
        settings = self.settings()
        existing = existing_outputs(settings)
        overwrite = False
        if existing:
            folder = os.path.dirname(existing[0])
            names = "\n".join(f"  {os.path.basename(p)}" for p in existing)
            answer = QMessageBox.question(
                self, "Replace the earlier run's files?",
                f"These files in {folder} are from an earlier run and would be replaced:\n{names}\n\nReplace them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                self.run_status.setText("Not run: the earlier files were kept.")
                return
            overwrite = True
        self._state = state = _RunState(threading.Event())
        workers = self._workers
        runtime, converter = workers.acquire()

        def work() -> LabRun:
            try:
                return run_lab_job(settings, runtime, converter, overwrite, state, job.report_progress)
            finally:
                workers.release()

        job = Job(work, expected=(ConversionError, InputError, RuntimeFailure, OSError), owner=self)
        job.finished.connect(self._run_finished)
        job.failed.connect(self._run_failed)
        job.progressed.connect(self._run_progressed)
        self._job = job
        self.runs_started += 1
        self.progress_bar.setRange(0, 0)  # busy until the first step is reported
        self.run_status.setStyleSheet("")
        self.run_status.setText("Preparing the inputs…")
        self._update_run_controls()
        job.start()

    def _run_progressed(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        if self._state is not None and not self._state.cancel.is_set() and self._state.message:
            self.run_status.setText(f"Step {min(done + 1, total)} of {total}: {self._state.message}…")

    def cancel(self) -> None:
        """Stop the run: the step under way is stopped by ending the worker processes; the variants
        finished before are kept and shown."""
        if self._job is None or self._state is None or self._state.cancel.is_set():
            return
        self._state.cancel.set()
        self._workers.stop()
        self._restop_timer.start()
        self.run_status.setText("Cancelling…")
        self._update_run_controls()

    def _run_ended(self) -> None:
        self._job = None
        self._restop_timer.stop()

    def _run_finished(self, run: LabRun) -> None:
        self._run_ended()
        result = run.result
        done = sum(1 for v in result.variants if not v.is_reference)
        if self.progress_bar.maximum() == 0:  # still busy: no step was reported
            self.progress_bar.setRange(0, 1)
        if not result.cancelled:
            self.progress_bar.setValue(self.progress_bar.maximum())
        if result.cancelled and done == 0:
            self._outcome = "Cancelled before any variant was finished: the reference is shown."
        elif result.cancelled:
            self._outcome = f"Cancelled: the {done} variant{'' if done == 1 else 's'} finished before are shown."
        else:
            self._outcome = f"Done in {run.seconds:.1f} s."
        if result.settings_file:
            self._outcome += f" Settings saved to {result.settings_file}."
        self.last_run = run
        self._showing_run_warnings = True
        self._show_result()
        self._update_run_controls()

    def _run_failed(self, message: str) -> None:
        cancelled = self._state is not None and self._state.cancel.is_set()
        self._run_ended()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        if cancelled:
            self._outcome = "Cancelled before any variant was finished."
        else:
            self._outcome = "The lab could not run (see the message)."
            self._show_error("The quantization lab could not run", message)
        self._update_run_controls()

    def _show_error(self, title: str, message: str) -> None:
        """One message, in a box over this window that does not stop the app."""
        self.errors.append(message)
        box = QMessageBox(QMessageBox.Icon.Warning, "Quantization lab", title + ".", QMessageBox.StandardButton.Ok,
                          self)
        box.setInformativeText(message)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self.error_box = box  # kept for tests
        box.open()

    # -- results ----------------------------------------------------------------------

    def _budget_changed(self) -> None:
        if self.last_run is not None:
            self._show_result()

    def _show_no_result(self) -> None:
        self.summary_label.setText("Choose a source, modes and calibration inputs, then Run. Each variant is "
                                   "written to the output folder and measured against the float reference.")
        self.recommendation_label.hide()
        self.not_listed_label.hide()
        self._update_compare_button()

    def _show_result(self) -> None:
        """The last run with the budget now set: rows, fits, recommendation and what is not listed."""
        assert self.last_run is not None
        run = self.last_run.result
        budget = self.budget()
        variants, recommendation, reason = apply_budget(run.variants, budget)
        self.result = result = replace(run, variants=variants, recommendation=recommendation,
                                       recommendation_reason=reason)
        self.table_model.set_variants(variants, recommendation, budget.is_set)
        self.summary_label.setText(
            f"Reference: {result.reference_path} ({result.source_kind}) · calibration: {result.calibration} · "
            f"evaluation: {result.evaluation}" + (" · RANDOM inputs" if result.random_inputs else "")
            + f" · {result.preprocessing}")
        self.recommendation_label.setText(("Recommended: " if recommendation else "No recommendation: ") + reason)
        self.recommendation_label.show()
        lines = []
        for v in variants:
            if v.unchanged is not None:
                lines.append(f"{v.title}: left the model unchanged, not listed — {v.unchanged}")
            elif v.error is not None:
                lines.append(f"{v.title}: failed — {v.error}")
            if v.latency_error:
                lines.append(f"{v.title}: latency not measured — {v.latency_error}")
            if v.evaluation_error:
                lines.append(f"{v.title}: agreement and error not measured — {v.evaluation_error}")
        self.not_listed_label.setText("\n".join(lines))
        self.not_listed_label.setVisible(bool(lines))
        self._update_banner()
        self._update_compare_button()

    # -- comparing two variants -------------------------------------------------------

    def selected_pair(self) -> tuple[VariantResult, VariantResult] | None:
        """The two selected rows, or one selected variant and the reference, in the lab's order
        (the reference first); None for any other selection."""
        if self.result is None:
            return None
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        chosen = [self.table_model.variant(row) for row in rows]
        if len(chosen) == 1 and not chosen[0].is_reference:
            chosen.insert(0, self.result.reference)
        if len(chosen) != 2 or any(v.path is None for v in chosen):
            return None
        order = [v.mode for v in self.result.variants]
        first, second = sorted(chosen, key=lambda v: order.index(v.mode))
        return first, second

    def select_modes(self, modes: Sequence[str]) -> None:
        """Select the rows of `modes` (for "Compare selected")."""
        self.table.clearSelection()
        selection = self.table.selectionModel()
        for mode in modes:
            index = self.table_model.index(self.table_model.row_of_mode(mode), 0)
            selection.select(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    def _update_compare_button(self) -> None:
        self.compare_button.setEnabled(self.selected_pair() is not None)
        self.report_button.setEnabled(self.result is not None)

    def export_report(self, path: str | None = None, *, overwrite: bool = False) -> ReportExport | None:
        """The lab's table, with its reference model's report, written to `path` (asked for when
        None: the dialog confirms replacing a file)."""
        if self.result is None:
            return None
        reference = self.result.reference_path
        if path is None:
            path = ask_report_path(self, reference)
            if not path:
                return None
            overwrite = True
        export = ReportExport(ReportRequest(reference, lab=lab_dict(self.result)), path, self, overwrite=overwrite)
        export.done.connect(lambda written: self.run_status.setText(f"Report written to {written}."))
        export.failed.connect(lambda message: message == "cancelled" or self._show_error(
            "The report could not be written", message))
        self.report_export = export
        return export.start()

    def compare_selected(self) -> None:
        pair = self.selected_pair()
        if pair is None or self.last_run is None or self.result is None:
            return
        first, second = pair
        settings = self.result.settings
        assert first.path is not None and second.path is not None
        self.compare_requested.emit(LabComparison(
            reference=first.path, candidate=second.path, inputs=settings.evaluation or settings.calibration,
            normalization=self.result.normalization, resize=settings.resize, random_count=settings.random_count,
        ))

    # -- drops and closing ------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """A model file or SavedModel folder becomes the source, saved settings fill the form,
        anything else (images, arrays, folders of them) joins the calibration inputs."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        inputs = []
        for path in paths:
            if path.endswith(SETTINGS_SUFFIX) and os.path.isfile(path):
                self.load_settings_file(path)
            elif _model_source_kind(path) is not None:
                self.set_source(path)
            else:
                inputs.append(path)
        if inputs:
            self.add_calibration(inputs)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """The run stops and the worker processes end (once the run lets go of them); the form and
        the last result stay for when the window is opened again. A report being written is not."""
        self.cancel()
        self._workers.close()
        if self.report_export is not None and self.report_export.running:
            self.report_export.cancel()
        super().closeEvent(event)
