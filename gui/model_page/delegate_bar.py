"""The Operators page's delegate controls: which delegate's verdicts to show (NNAPI with its
Android API level), "Show CPU fallbacks only", and "Check against runtime" for XNNPACK; and what
they do to the op table (a verdict column, tinted CPU fallbacks, the runtime's column, the filter).

The choices live in the page's model (model.py); the reports in `DelegateReports`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from ...core.delegates.settings import NNAPI_API_LEVELS
from ...core.formatting import format_share
from ..jobs import Job
from ..widgets.tables import FilterProxy, RowTableModel
from .delegates import (
    DELEGATE_COLUMN,
    RUNTIME_COLUMN,
    DelegateReports,
    check_against_runtime,
    delegate_column,
    fallback_backgrounds,
    fallback_indices,
    runtime_column,
    runtime_summary,
)
from .delegate_state import DelegateInfo, DelegateResult
from .model import XNNPACK, ModelPage

DELEGATE_COLUMN_WIDTH, RUNTIME_COLUMN_WIDTH = 280, 150
API_LEVEL_PAUSE_MS = 250  # analyse once the user stops stepping through levels, not at every step


class DelegateBar(QWidget):
    """The controls, and the op table they act on. `status_message` goes to the window's status bar;
    `verdicts_changed` asks the page to redraw the selected op's details."""

    status_message = Signal(str)
    verdicts_changed = Signal()

    def __init__(self, page: ModelPage, reports: DelegateReports, op_model: RowTableModel, op_proxy: FilterProxy,
                 set_column_width, parent: QWidget | None = None) -> None:  # noqa: ANN001 - the table's setColumnWidth
        super().__init__(parent)
        self.page = page
        self.reports = reports
        self._op_model, self._op_proxy = op_model, op_proxy
        self._set_column_width = set_column_width
        self._runtime_job: Job | None = None

        self.delegate_combo = QComboBox()
        self.delegate_combo.addItem("No delegate", None)
        self.delegate_combo.setToolTip("Show which ops a delegate takes, by its rules (the Overview compares all)")
        self.delegate_combo.currentIndexChanged.connect(
            lambda index: page.set_delegate(self.delegate_combo.itemData(index)))
        self.api_label = QLabel("API level")
        self.api_spin = QSpinBox()
        self.api_spin.setRange(NNAPI_API_LEVELS.start, NNAPI_API_LEVELS.stop - 1)
        self.api_spin.setValue(page.settings.api_level)
        self.api_spin.setToolTip("The Android API level NNAPI targets: ops and types need a minimum level")
        self._api_timer = QTimer(self)
        self._api_timer.setSingleShot(True)
        self._api_timer.setInterval(API_LEVEL_PAUSE_MS)
        self._api_timer.timeout.connect(lambda: page.set_api_level(self.api_spin.value()))
        self.api_spin.valueChanged.connect(lambda _: self._api_timer.start())
        self.fallbacks_only = QCheckBox("Show CPU fallbacks only")
        self.fallbacks_only.setToolTip("Only the ops the selected delegate leaves on the CPU (with the text filter)")
        self.fallbacks_only.toggled.connect(lambda _: self.update_fallback_filter())
        self.runtime_button = QPushButton("Check against runtime")
        self.runtime_button.setToolTip("Load the model in the LiteRT interpreter (in a separate process) and "
                                       "compare the ops its XNNPACK delegate took with the rules' prediction")
        self.runtime_button.clicked.connect(self.check_runtime)
        # Its own line under the controls, wrapped: a runtime check's result or the interpreter's
        # message is read in full, and never widens the window.
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.delegate_status)
        page.changed.connect(self._page_changed)
        reports.ready.connect(lambda key: self.apply() if self._shown_key() == key else None)
        self.update_controls()

    # -- following the model ------------------------------------------------------------

    def _page_changed(self, aspect: str) -> None:
        if aspect == "delegates":
            self._fill_delegates()
        elif aspect == "delegate":
            index = 0 if self.page.delegate_key is None else self.delegate_combo.findData(self.page.delegate_key)
            if index >= 0 and index != self.delegate_combo.currentIndex():
                self.delegate_combo.blockSignals(True)
                self.delegate_combo.setCurrentIndex(index)
                self.delegate_combo.blockSignals(False)
            self.apply()
        elif aspect == "settings":
            self._api_timer.stop()
            if self.api_spin.value() != self.page.settings.api_level:
                self.api_spin.blockSignals(True)
                self.api_spin.setValue(self.page.settings.api_level)
                self.api_spin.blockSignals(False)
            level = self.page.settings
            self.reports.drop_queued(lambda key: key[1] is not None and key[1] != level)
            self.request_all()
            self.apply()
        elif aspect in ("subgraph", "runtime"):
            self.apply()

    def _fill_delegates(self) -> None:
        infos = self.page.delegates or ()
        for info in infos:
            self.delegate_combo.addItem(info.title, info.key)
            if info.error:
                i = self.delegate_combo.count() - 1
                self.delegate_combo.setItemText(i, f"{info.key} (rule table error)")
                self.delegate_combo.setItemData(i, info.error, Qt.ItemDataRole.ToolTipRole)
                self.delegate_combo.model().item(i).setEnabled(False)
        if self.page.delegates_error:
            self._set_status(f"Delegate rules could not be loaded: {self.page.delegates_error}")
        self.request_all()

    def request_all(self) -> None:
        """Every delegate's report at the current settings, in the background, for the Overview."""
        for info in self.page.delegates or ():
            if not info.error:
                self.reports.request(self.page.analysis_key(info))

    def _shown_key(self) -> tuple | None:
        info = self.page.info()
        return None if info is None else self.page.analysis_key(info)

    def state(self, key: str | None = None) -> DelegateResult | str | None:
        """The chosen (or named) delegate's result at the current settings, its error, or None."""
        info = self.page.info(key)
        return None if info is None else self.reports.state(self.page.analysis_key(info))

    # -- the op table ---------------------------------------------------------------------

    def apply(self) -> None:
        """Show the chosen delegate's verdicts: column, row tints, filter, status, details."""
        info = self.page.info()
        model, sg_index = self._op_model, self.page.subgraph_index
        if info is None:
            model.remove_extra_column(RUNTIME_COLUMN)
            model.remove_extra_column(DELEGATE_COLUMN)
            model.set_row_backgrounds({})
        else:
            key = self.page.analysis_key(info)
            self.reports.request(key, urgent=True)
            state = self.reports.state(key)
            new = model.extra_column(DELEGATE_COLUMN) is None
            at = model.set_extra_column(delegate_column(info.label(self.page.settings), state, sg_index))
            if new:
                self._set_column_width(at, DELEGATE_COLUMN_WIDTH)
            model.set_row_backgrounds(fallback_backgrounds(state, sg_index) if isinstance(state, DelegateResult) else {})
            if info.key == XNNPACK and self.page.runtime is not None:
                new = model.extra_column(RUNTIME_COLUMN) is None
                at = model.set_extra_column(runtime_column(self.page.runtime, sg_index), after=DELEGATE_COLUMN)
                if new:
                    self._set_column_width(at, RUNTIME_COLUMN_WIDTH)
            else:
                model.remove_extra_column(RUNTIME_COLUMN)
        self.update_fallback_filter()
        self.update_controls()
        self.verdicts_changed.emit()

    def update_fallback_filter(self) -> None:
        state = self.state()
        wanted = self.fallbacks_only.isChecked() and self.fallbacks_only.isEnabled()
        indices = (fallback_indices(state, self.page.subgraph_index)
                   if wanted and isinstance(state, DelegateResult) else None)
        self._op_proxy.set_accepted_indices(indices)
        self.verdicts_changed.emit()

    def update_controls(self) -> None:
        info = self.page.info()
        self.api_label.setVisible(bool(info and info.has_settings))
        self.api_spin.setVisible(bool(info and info.has_settings))
        self.fallbacks_only.setEnabled(info is not None)
        ready = isinstance(self.state(), DelegateResult)
        self.runtime_button.setVisible(info is not None and info.key == XNNPACK)
        self.runtime_button.setEnabled(ready and not self.page.runtime_checking)
        self._set_status(self._status_text(info))

    def _status_text(self, info: DelegateInfo | None) -> str:
        if info is None:
            return f"Delegate rules could not be loaded: {self.page.delegates_error}" if self.page.delegates_error else ""
        label = info.label(self.page.settings)
        state = self.state()
        if state is None:
            return f"Analysing for {label}…"
        if isinstance(state, str):
            return f"{label} could not be analysed: {state}"
        report = state.report
        checked = info.key == XNNPACK and self.page.runtime is not None and not self.page.runtime_checking
        # Once the runtime has answered, the rules' numbers are named a prediction and the runtime's
        # follow them: neither is shown as the other.
        text = (f"{label} takes {report.ops_supported:,} of {report.ops_total:,} ops "
                f"({format_share(report.ops_supported, report.ops_total)}) in {report.partitions:,} "
                f"partition{'' if report.partitions == 1 else 's'}{' by its rules' if checked else ''}")
        if info.key == XNNPACK:
            if self.page.runtime_checking:
                text += " · checking against the runtime…"
            elif self.page.runtime is not None:
                text += " · " + runtime_summary(self.page.runtime, len(self.page.model.subgraphs))
            elif self.page.runtime_error:
                text += f" · runtime check failed: {self.page.runtime_error}"
        return text

    def _set_status(self, text: str) -> None:
        self.delegate_status.setText(text)
        self.delegate_status.setVisible(bool(text))

    # -- the runtime ----------------------------------------------------------------------

    def check_runtime(self) -> None:
        """Run XNNPACK's verdicts past the interpreter (a worker process does the native work)."""
        state = self.state(XNNPACK)
        if not isinstance(state, DelegateResult) or self.page.runtime_checking:
            return
        model, report = self.page.model, state.report
        job = Job(lambda: check_against_runtime(model, report), owner=self)
        job.finished.connect(self._runtime_checked)
        job.failed.connect(self._runtime_failed)
        self._runtime_job = job.start()
        self.page.runtime_started()

    def _runtime_checked(self, comparison) -> None:  # noqa: ANN001 - a RuntimeComparison
        self._runtime_job = None
        self.page.runtime_checked(comparison)
        self.status_message.emit(runtime_summary(comparison, len(self.page.model.subgraphs)))

    def _runtime_failed(self, message: str) -> None:
        self._runtime_job = None
        self.page.runtime_failed(message)
        self.status_message.emit(f"Runtime check failed: {message}")

    def close_bar(self) -> None:
        if self._runtime_job is not None:
            self._runtime_job.drop()
            self._runtime_job = None
