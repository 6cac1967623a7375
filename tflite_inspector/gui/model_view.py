"""One open model: Overview, Operators, Tensors and Compare pages, a subgraph selector,
a filter, and the detail panel, with Back/Forward over what was selected.

Delegate compatibility: once the view is first shown, every delegate's report is
computed in the background for the Overview; the Operators page shows the chosen
delegate's verdict per op, and XNNPACK's can be checked against the interpreter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..core.analysis import ModelStats, model_stats
from ..core.model import Model, ModelError
from ..core.tflite_reader import read_associated_file, read_model
from .delegates import (
    DELEGATE_COLUMN,
    RUNTIME_COLUMN,
    AnalysisKey,
    DelegateInfo,
    DelegateReports,
    DelegateResult,
    DelegateSetup,
    check_against_runtime,
    delegate_column,
    delegate_label,
    fallback_backgrounds,
    fallback_indices,
    percent,
    prepare_delegates,
    runtime_column,
    runtime_summary,
    summary_entries,
    verdict_html,
)
from .detail_panel import DetailPanel
from .jobs import Job, background_pool
from .overview import DELEGATES_MARKER, delegate_summary_html, overview_html
from .table_models import (
    INDEX_ROLE,
    OPERATOR_COLUMNS,
    TENSOR_COLUMNS,
    FilterProxy,
    Row,
    RowTableModel,
    make_sortable_table,
    operator_rows,
    tensor_rows,
)

if TYPE_CHECKING:
    from ..core.comparison import LayerError
    from ..core.compat import RuntimeComparison
    from .compare_view import CompareView

OVERVIEW_TAB, OPERATORS_TAB, TENSORS_TAB, COMPARE_TAB = 0, 1, 2, 3
_OP_WIDTHS = (50, 190, 40, 380, 260, 90, 80, 120)
_TENSOR_WIDTHS = (50, 360, 130, 80, 70, 80, 260)
_DELEGATE_COLUMN_WIDTH, _RUNTIME_COLUMN_WIDTH = 280, 150
_OP_EXTRA_POSITION = 2  # delegate columns right after "#" and "Op", where they are seen
API_LEVELS = (27, 35)  # NNAPI: Android 8.1 to 15
_INITIAL_API_LEVEL = 30  # until the rules are read; then the engine's default
XNNPACK = "xnnpack"  # the one delegate the interpreter here runs, so the one checked against it


@dataclass
class LoadedModel:
    """A model with what its views need, prepared off the GUI thread."""

    model: Model
    stats: ModelStats
    overview: str
    rows: dict[int, tuple[list[Row], list[Row]]] = field(default_factory=dict)

    def rows_for(self, sg_index: int) -> tuple[list[Row], list[Row]]:
        if sg_index not in self.rows:
            sg = self.model.subgraphs[sg_index]
            self.rows[sg_index] = (operator_rows(sg, self.stats.subgraphs[sg_index]), tensor_rows(sg))
        return self.rows[sg_index]


def load_for_display(path: str) -> LoadedModel:
    """Runs in a worker thread: read the model and prepare subgraph 0's rows."""
    model = read_model(path)
    stats = model_stats(model)
    loaded = LoadedModel(model, stats, overview_html(model, stats))
    loaded.rows_for(0)
    return loaded


@dataclass(frozen=True)
class Place:
    kind: str  # "op", "tensor" or "subgraph"
    subgraph: int
    index: int


class ModelView(QWidget):
    """Shows one LoadedModel. Emits `history_changed` when Back/Forward availability changes."""

    history_changed = Signal()
    status_message = Signal(str)  # for the window's status bar

    def __init__(self, loaded: LoadedModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loaded = loaded
        self.model = loaded.model
        self.subgraph_index = 0
        self._history: list[Place] = []
        self._position = -1
        self._navigating = False

        self.subgraph_combo = QComboBox()
        for sg in self.model.subgraphs:
            name = f" {sg.name}" if sg.name else ""
            self.subgraph_combo.addItem(f"subgraph {sg.index}{name} ({len(sg.operators)} ops)")
        self.subgraph_combo.currentIndexChanged.connect(self._subgraph_chosen)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by op, tensor name, dtype, shape (regular expression)…  Ctrl+F")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.filter_status = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel("Subgraph"))
        top.addWidget(self.subgraph_combo)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.filter_status)

        # Delegates: filled in once the rule tables are read, after the view is first shown.
        self.reports = DelegateReports(self.model, self)
        self.reports.ready.connect(self._report_ready)
        self.delegate_setup: DelegateSetup | None = None
        self._setup_error = ""
        self._setup_started = False
        self._setup_job: Job | None = None
        self.delegate_key: str | None = None
        self._wanted_delegate: str | None = None  # chosen by a link before the rules were read
        self.api_level = _INITIAL_API_LEVEL
        self.runtime_comparison: RuntimeComparison | None = None
        self._runtime_rows: dict[int, tuple[int, str, bool, bool]] = {}
        self._runtime_error = ""
        self._runtime_job: Job | None = None
        self._detail_op: tuple[int, int] | None = None  # (subgraph, op) shown in the detail panel
        # Paths of the models open beside this one, offered as candidates; the window sets it.
        self.open_models: Callable[[], list[str]] = list
        self._compare: CompareView | None = None

        self.overview = QTextBrowser()
        self.overview.setOpenLinks(False)
        self.overview.anchorClicked.connect(lambda url: self.follow_link(url.toString()))
        self._overview_in_widget = ""
        self._render_overview(now=True)

        op_rows, t_rows = loaded.rows_for(0)
        self.op_model = RowTableModel(OPERATOR_COLUMNS, op_rows, self, extra_position=_OP_EXTRA_POSITION)
        self.op_proxy = FilterProxy(self)
        self.op_proxy.setSourceModel(self.op_model)
        self.op_table = make_sortable_table(self.op_proxy, _OP_WIDTHS, alternating=True)
        self.op_table.selectionModel().currentRowChanged.connect(self._op_selected)
        self.op_table.doubleClicked.connect(self._op_double_clicked)
        operators_page = self._build_operators_page()

        self.tensor_model = RowTableModel(TENSOR_COLUMNS, t_rows, self)
        self.tensor_proxy = FilterProxy(self)
        self.tensor_proxy.setSourceModel(self.tensor_model)
        self.tensor_table = make_sortable_table(self.tensor_proxy, _TENSOR_WIDTHS, alternating=True)
        self.tensor_table.selectionModel().currentRowChanged.connect(self._tensor_selected)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(operators_page, "Operators")
        self.tabs.addTab(self.tensor_table, "Tensors")
        # The Compare page is built the first time it is shown: most views never compare.
        self._compare_host = QWidget()
        QVBoxLayout(self._compare_host).setContentsMargins(0, 0, 0, 0)
        self.tabs.addTab(self._compare_host, "Compare")
        self.tabs.setTabToolTip(COMPARE_TAB, "Run this model and quantized (or other) versions of it on the same "
                                             "inputs and compare them layer by layer")
        self.tabs.setCurrentIndex(OVERVIEW_TAB)
        self.tabs.currentChanged.connect(self._tab_changed)

        self.detail = DetailPanel()
        self.detail.link_activated.connect(self.follow_link)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._update_filter_status()

    def _build_operators_page(self) -> QWidget:
        self.delegate_combo = QComboBox()
        self.delegate_combo.addItem("No delegate", None)
        self.delegate_combo.setToolTip("Show which ops a delegate takes, by its rules (the Overview compares all)")
        self.delegate_combo.currentIndexChanged.connect(self._delegate_chosen)
        self.api_label = QLabel("API level")
        self.api_spin = QSpinBox()
        self.api_spin.setRange(*API_LEVELS)
        self.api_spin.setValue(self.api_level)
        self.api_spin.setToolTip("The Android API level NNAPI targets: ops and types need a minimum level")
        # Analyse once the user stops stepping through levels, not at every step.
        self._api_timer = QTimer(self)
        self._api_timer.setSingleShot(True)
        self._api_timer.setInterval(250)
        self._api_timer.timeout.connect(lambda: self.set_api_level(self.api_spin.value()))
        self.api_spin.valueChanged.connect(lambda _: self._api_timer.start())
        self.fallbacks_only = QCheckBox("Show CPU fallbacks only")
        self.fallbacks_only.setToolTip("Only the ops the selected delegate leaves on the CPU (with the text filter)")
        self.fallbacks_only.toggled.connect(lambda _: self._update_fallback_filter())
        self.runtime_button = QPushButton("Check against runtime")
        self.runtime_button.setToolTip("Load the model in the LiteRT interpreter (in a separate process) and "
                                       "compare the ops its XNNPACK delegate took with the rules' prediction")
        self.runtime_button.clicked.connect(self.check_runtime)
        # Its own line under the controls, wrapped: a runtime check's result or the
        # interpreter's message is read in full, and never widens the window.
        self.delegate_status = QLabel()
        self.delegate_status.setTextFormat(Qt.TextFormat.PlainText)
        self.delegate_status.setWordWrap(True)
        self.delegate_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.delegate_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Delegate"))
        bar.addWidget(self.delegate_combo)
        bar.addWidget(self.api_label)
        bar.addWidget(self.api_spin)
        bar.addWidget(self.fallbacks_only)
        bar.addWidget(self.runtime_button)
        bar.addStretch(1)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.delegate_status)
        layout.addWidget(self.op_table, 1)
        self._update_delegate_controls()
        return page

    def _tab_changed(self, index: int) -> None:
        if index == COMPARE_TAB:
            self._build_compare_page()
        self._show_overview_html()

    # -- comparison -------------------------------------------------------------------

    @property
    def compare_page(self) -> CompareView:
        return self._build_compare_page()

    def _build_compare_page(self) -> CompareView:
        if self._compare is None:
            from .compare_view import CompareView

            page = CompareView(self.model, open_models=lambda: self.open_models())
            page.layer_selected.connect(self._show_compared_layer)
            page.status_message.connect(self.status_message)
            self._compare_host.layout().addWidget(page)
            self._compare = page
        return self._compare

    @property
    def comparison_result(self) -> Any:
        """The Compare page's last result (a RunResult), None when the page was never used."""
        return None if self._compare is None else self._compare.result

    def show_compare(self) -> CompareView:
        page = self.compare_page
        self.tabs.setCurrentIndex(COMPARE_TAB)
        return page

    def _show_compared_layer(self, layer: LayerError) -> None:
        """The layer chosen on the Compare page, in the op (or, for a model input, tensor)
        table and the detail panel, while the Compare page stays in front."""
        # Comparisons cover subgraph 0; op_index −1 is a model input, which no op produces.
        if layer.op_index >= 0:
            self.go_to(Place("op", 0, layer.op_index), switch_tab=False)
        else:
            self.go_to(Place("tensor", 0, layer.reference_tensor), switch_tab=False)

    # -- delegates ------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._setup_started:
            self._setup_started = True
            # Two turns of the event loop: past the first paint, and past the window's
            # `model_shown`, so reading the rules never competes with the model appearing.
            QTimer.singleShot(0, self._queue_delegate_setup)

    def _queue_delegate_setup(self) -> None:
        QTimer.singleShot(0, self._start_delegate_setup)

    def _start_delegate_setup(self) -> None:
        job = Job(prepare_delegates, owner=self)
        job.finished.connect(self._delegates_ready)
        job.failed.connect(self._delegates_failed)
        self._setup_job = job.start(background_pool())

    def _delegates_ready(self, setup: DelegateSetup) -> None:
        self._setup_job = None
        self.delegate_setup = setup
        self.api_level = setup.default_api_level
        self.api_spin.blockSignals(True)
        self.api_spin.setValue(self.api_level)
        self.api_spin.blockSignals(False)
        for info in setup.delegates:
            self.delegate_combo.addItem(info.title, info.key)
            if info.error:
                i = self.delegate_combo.count() - 1
                self.delegate_combo.setItemText(i, f"{info.key} (rule table error)")
                self.delegate_combo.setItemData(i, info.error, Qt.ItemDataRole.ToolTipRole)
                self.delegate_combo.model().item(i).setEnabled(False)
        for info in setup.delegates:
            if not info.error:
                self.reports.request(self._analysis_key(info))
        self._render_overview()
        if self._wanted_delegate is not None:
            self.set_delegate(self._wanted_delegate)

    def _delegates_failed(self, message: str) -> None:
        self._setup_job = None
        self._setup_error = message
        self._render_overview()
        self._set_delegate_status(f"Delegate rules could not be loaded: {message}")

    def _info(self, key: str | None) -> DelegateInfo | None:
        if key is None or self.delegate_setup is None:
            return None
        return next((info for info in self.delegate_setup.delegates if info.key == key), None)

    def _analysis_key(self, info: DelegateInfo) -> AnalysisKey:
        return (info.key, self.api_level if info.has_api_level else None)

    def delegate_state(self, key: str | None = None) -> DelegateResult | str | None:
        """The selected (or named) delegate's result at the current API level, its error, or None."""
        info = self._info(key or self.delegate_key)
        return None if info is None else self.reports.state(self._analysis_key(info))

    def set_delegate(self, key: str | None) -> None:
        """Show `key`'s verdicts on the Operators page (None: no delegate)."""
        if self.delegate_setup is None and key is not None:
            self._wanted_delegate = key
            return
        self._wanted_delegate = None
        index = 0 if key is None else self.delegate_combo.findData(key)
        if index >= 0:
            self.delegate_combo.setCurrentIndex(index)

    def set_api_level(self, level: int) -> None:
        self._api_timer.stop()
        if self.api_spin.value() != level:
            self.api_spin.blockSignals(True)
            self.api_spin.setValue(level)
            self.api_spin.blockSignals(False)
        if level == self.api_level:
            return
        self.api_level = level
        self.reports.drop_queued(lambda key: key[1] is not None and key[1] != level)
        if self.delegate_setup is not None:
            for info in self.delegate_setup.delegates:
                if info.has_api_level and not info.error:
                    self.reports.request(self._analysis_key(info))
        self._render_overview()
        self._apply_delegate()

    def _delegate_chosen(self, index: int) -> None:
        self.delegate_key = self.delegate_combo.itemData(index)
        self._apply_delegate()

    def _report_ready(self, key: AnalysisKey) -> None:
        self._render_overview()
        info = self._info(self.delegate_key)
        if info is not None and self._analysis_key(info) == key:
            self._apply_delegate()

    def _apply_delegate(self) -> None:
        """Show the selected delegate's verdicts: column, row highlights, filter, status, detail."""
        info = self._info(self.delegate_key)
        model = self.op_model
        if info is None:
            model.remove_extra_column(RUNTIME_COLUMN)
            model.remove_extra_column(DELEGATE_COLUMN)
            model.set_row_backgrounds({})
        else:
            key = self._analysis_key(info)
            self.reports.request(key, urgent=True)
            state = self.reports.state(key)
            new = model.extra_column(DELEGATE_COLUMN) is None
            at = model.set_extra_column(delegate_column(delegate_label(info, self.api_level), state,
                                                        self.subgraph_index))
            if new:
                self.op_table.setColumnWidth(at, _DELEGATE_COLUMN_WIDTH)
            model.set_row_backgrounds(fallback_backgrounds(state, self.subgraph_index)
                                      if isinstance(state, DelegateResult) else {})
            if info.key == XNNPACK and self.runtime_comparison is not None:
                new = model.extra_column(RUNTIME_COLUMN) is None
                at = model.set_extra_column(runtime_column(self.runtime_comparison, self.subgraph_index),
                                            after=DELEGATE_COLUMN)
                if new:
                    self.op_table.setColumnWidth(at, _RUNTIME_COLUMN_WIDTH)
            else:
                model.remove_extra_column(RUNTIME_COLUMN)
        self._update_fallback_filter()
        self._update_delegate_controls()
        self._refresh_detail()

    def _update_delegate_controls(self) -> None:
        info = self._info(self.delegate_key)
        self.api_label.setVisible(bool(info and info.has_api_level))
        self.api_spin.setVisible(bool(info and info.has_api_level))
        self.fallbacks_only.setEnabled(info is not None)
        ready = isinstance(self.delegate_state(), DelegateResult)
        self.runtime_button.setVisible(info is not None and info.key == XNNPACK)
        self.runtime_button.setEnabled(ready and self._runtime_job is None)
        self._set_delegate_status(self._delegate_status_text(info))

    def _delegate_status_text(self, info: DelegateInfo | None) -> str:
        if info is None:
            return ""
        label = delegate_label(info, self.api_level)
        state = self.delegate_state()
        if state is None:
            return f"Analysing for {label}…"
        if isinstance(state, str):
            return f"{label} could not be analysed: {state}"
        report = state.report
        text = (f"{label} takes {report.ops_supported:,} of {report.ops_total:,} ops "
                f"({percent(report.ops_supported, report.ops_total)}) in {report.partitions:,} "
                f"partition{'' if report.partitions == 1 else 's'}")
        if info.key == XNNPACK:
            if self._runtime_job is not None:
                text += " · checking against the runtime…"
            elif self.runtime_comparison is not None:
                text += " · " + runtime_summary(self.runtime_comparison, len(self.model.subgraphs))
            elif self._runtime_error:
                text += f" · runtime check failed: {self._runtime_error}"
        return text

    def _set_delegate_status(self, text: str) -> None:
        self.delegate_status.setText(text)
        self.delegate_status.setVisible(bool(text))

    def _update_fallback_filter(self) -> None:
        state = self.delegate_state()
        wanted = self.fallbacks_only.isChecked() and self.fallbacks_only.isEnabled()
        indices = fallback_indices(state, self.subgraph_index) if wanted and isinstance(state, DelegateResult) else None
        self.op_proxy.set_accepted_indices(indices)
        self._update_filter_status()

    def check_runtime(self) -> None:
        """Run XNNPACK's verdicts past the interpreter (a worker process does the native work)."""
        state = self.delegate_state(XNNPACK)
        if not isinstance(state, DelegateResult) or self._runtime_job is not None:
            return
        from ..core.runtime import RuntimeFailure  # imports multiprocessing: only when asked for

        model, report = self.model, state.report
        job = Job(lambda: check_against_runtime(model, report), expected=(RuntimeFailure,), owner=self)
        job.finished.connect(self._runtime_checked)
        job.failed.connect(self._runtime_failed)
        self._runtime_job = job.start()
        self._update_delegate_controls()

    def _runtime_checked(self, comparison: RuntimeComparison) -> None:
        self._runtime_job = None
        self._runtime_error = ""
        self.runtime_comparison = comparison
        self._runtime_rows = {row[0]: row for row in comparison.ops}
        self._apply_delegate()
        self.status_message.emit(runtime_summary(comparison, len(self.model.subgraphs)))

    def _runtime_failed(self, message: str) -> None:
        self._runtime_job = None
        self._runtime_error = message
        self._update_delegate_controls()
        self.status_message.emit(f"Runtime check failed: {message}")

    def _render_overview(self, now: bool = False) -> None:
        entries = (summary_entries(self.delegate_setup.delegates, self.reports, self.api_level)
                   if self.delegate_setup is not None else [])
        self.overview_html = self.loaded.overview.replace(
            DELEGATES_MARKER, delegate_summary_html(entries, self._setup_error))
        if now or self.tabs.currentIndex() == OVERVIEW_TAB:
            self._show_overview_html()

    def _show_overview_html(self) -> None:
        """Lay the overview out when it is seen: 25-40 ms on the GUI thread per report otherwise."""
        if self.overview_html == self._overview_in_widget:
            return
        scroll = self.overview.verticalScrollBar()
        position = scroll.value()
        self.overview.setHtml(self.overview_html)
        self._overview_in_widget = self.overview_html
        scroll.setValue(position)  # reports arrive while the user reads: keep their place

    # -- subgraphs and filter -------------------------------------------------------

    def set_subgraph(self, index: int) -> None:
        if index == self.subgraph_index:
            return
        self.subgraph_index = index
        op_rows, t_rows = self.loaded.rows_for(index)
        self.op_model.set_rows(op_rows)
        self.tensor_model.set_rows(t_rows)
        if self.subgraph_combo.currentIndex() != index:
            self.subgraph_combo.blockSignals(True)
            self.subgraph_combo.setCurrentIndex(index)
            self.subgraph_combo.blockSignals(False)
        self.detail.clear()
        self._detail_op = None
        if self.delegate_key is not None:
            self._apply_delegate()  # the columns and filter hold this subgraph's verdicts
        self._update_filter_status()

    def _subgraph_chosen(self, index: int) -> None:
        self.set_subgraph(index)
        self._record(Place("subgraph", index, -1))

    def focus_filter(self) -> None:
        if self.tabs.currentIndex() == OVERVIEW_TAB:
            self.tabs.setCurrentIndex(OPERATORS_TAB)
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _filter_changed(self, text: str) -> None:
        self.op_proxy.set_filter_text(text)
        self.tensor_proxy.set_filter_text(text)
        if text and self.tabs.currentIndex() == OVERVIEW_TAB:
            self.tabs.setCurrentIndex(OPERATORS_TAB)
        self._update_filter_status()

    def _update_filter_status(self) -> None:
        ops, tensors = self.op_proxy.rowCount(), self.tensor_proxy.rowCount()
        text = f"{ops}/{self.op_model.rowCount()} ops · {tensors}/{self.tensor_model.rowCount()} tensors"
        error = self.op_proxy.pattern_error
        self.filter_status.setText(text)
        self.filter_edit.setToolTip(error)
        self.filter_edit.setStyleSheet("QLineEdit { border: 1px solid #c0392b; }" if error else "")

    # -- selection ------------------------------------------------------------------

    def _op_selected(self, current, previous) -> None:  # noqa: ANN001 - Qt signal arguments
        if not current.isValid():
            return
        index = current.data(INDEX_ROLE)
        self._detail_op = (self.subgraph_index, index)
        self._show_operator_detail()
        self._record(Place("op", self.subgraph_index, index))

    def _show_operator_detail(self) -> None:
        assert self._detail_op is not None
        sg_index, index = self._detail_op
        self.detail.show_operator(self.model, self.model.subgraphs[sg_index], index,
                                  self.loaded.stats.subgraphs[sg_index], self._verdict_html(sg_index, index))

    def _verdict_html(self, sg_index: int, index: int) -> str:
        info = self._info(self.delegate_key)
        if info is None:
            return ""
        runtime = self._runtime_rows.get(index) if info.key == XNNPACK and sg_index == 0 else None
        return verdict_html(delegate_label(info, self.api_level), self.delegate_state(), sg_index, index, runtime)

    def _refresh_detail(self) -> None:
        """Redraw the selected op's details when what the delegate says about it changed."""
        if self._detail_op is not None:
            self._show_operator_detail()

    def _tensor_selected(self, current, previous) -> None:  # noqa: ANN001
        if not current.isValid():
            return
        index = current.data(INDEX_ROLE)
        self._detail_op = None
        self.detail.show_tensor(self.model, self.model.subgraphs[self.subgraph_index], index)
        self._record(Place("tensor", self.subgraph_index, index))

    def _op_double_clicked(self, proxy_index) -> None:  # noqa: ANN001
        op = self.model.subgraphs[self.subgraph_index].operators[proxy_index.data(INDEX_ROLE)]
        if op.subgraph_refs:
            self.go_to(Place("subgraph", next(iter(op.subgraph_refs.values())), -1))

    def select_operator(self, index: int) -> None:
        self.go_to(Place("op", self.subgraph_index, index))

    def select_tensor(self, index: int) -> None:
        self.go_to(Place("tensor", self.subgraph_index, index))

    def go_to(self, place: Place, record: bool = True, switch_tab: bool = True) -> None:
        """Select `place` in its table and show it in the detail panel; with `switch_tab`
        False the page in front stays (the Compare page pointing at a layer's op)."""
        self._navigating = not record
        try:
            self.set_subgraph(place.subgraph)
            if place.kind == "subgraph":
                if switch_tab:
                    self.tabs.setCurrentIndex(OPERATORS_TAB)
                if record:
                    self._record(place)
                return
            is_op = place.kind == "op"
            table, proxy, model = ((self.op_table, self.op_proxy, self.op_model) if is_op
                                   else (self.tensor_table, self.tensor_proxy, self.tensor_model))
            if switch_tab:
                self.tabs.setCurrentIndex(OPERATORS_TAB if is_op else TENSORS_TAB)
            source = model.index(model.source_row_of(place.index), 0)
            row = proxy.mapFromSource(source)
            if not row.isValid():  # hidden by the filter: show everything again
                self.filter_edit.clear()
                row = proxy.mapFromSource(source)
            if not row.isValid() and is_op:  # hidden as an op the delegate takes
                self.fallbacks_only.setChecked(False)
                row = proxy.mapFromSource(source)
            unchanged = table.currentIndex().row() == row.row()
            table.selectionModel().setCurrentIndex(
                row, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            if unchanged:  # no currentRowChanged, but the detail panel may show something else by now
                (self._op_selected if is_op else self._tensor_selected)(row, row)
            table.scrollTo(row, QAbstractItemView.ScrollHint.PositionAtCenter)
        finally:
            self._navigating = False

    def follow_link(self, link: str) -> None:
        kind, _, rest = link.partition(":")
        try:
            if kind == "op":
                self.go_to(Place("op", self.subgraph_index, int(rest)))
            elif kind == "tensor":
                parts = rest.split(":")
                sg, index = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (self.subgraph_index, int(parts[0]))
                self.go_to(Place("tensor", sg, index))
            elif kind == "subgraph":
                self.go_to(Place("subgraph", int(rest), -1))
            elif kind == "file":
                self.show_attached_file(rest)
            elif kind == "delegate":
                self.tabs.setCurrentIndex(OPERATORS_TAB)
                self.set_delegate(rest)
        except ValueError:
            pass  # a malformed link from our own HTML: nothing to follow

    def show_attached_file(self, name: str) -> None:
        try:
            content = read_associated_file(self.model, name, max_bytes=8 << 20)
            text = content.decode("utf-8", "replace")
        except ModelError as e:
            text = str(e)
        dialog = QDialog(self)
        dialog.setWindowTitle(f"{name} — {self.model.file_name}")
        layout = QVBoxLayout(dialog)
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        layout.addWidget(QLabel(f"{lines:,} lines"))
        view = QPlainTextEdit(text)
        view.setReadOnly(True)
        layout.addWidget(view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.resize(520, 600)
        self.attached_file_dialog = dialog  # kept for tests and so it is not collected
        dialog.show()

    # -- history ----------------------------------------------------------------------

    def _record(self, place: Place) -> None:
        if self._navigating:
            return
        if 0 <= self._position < len(self._history) and self._history[self._position] == place:
            return
        del self._history[self._position + 1:]
        self._history.append(place)
        self._position = len(self._history) - 1
        self.history_changed.emit()

    def can_go_back(self) -> bool:
        return self._position > 0

    def can_go_forward(self) -> bool:
        return self._position < len(self._history) - 1

    def back(self) -> None:
        if self.can_go_back():
            self._position -= 1
            self.go_to(self._history[self._position], record=False)
            self.history_changed.emit()

    def forward(self) -> None:
        if self.can_go_forward():
            self._position += 1
            self.go_to(self._history[self._position], record=False)
            self.history_changed.emit()

    def close_model(self) -> None:
        if self._compare is not None:
            self._compare.close_page()
        self.reports.close()
        for job in (self._setup_job, self._runtime_job):
            if job is not None:
                job.cancel()
        self._setup_job = self._runtime_job = None
        self.detail.clear()
        self.model.close()
