"""The Quantization lab window: every quantization mode of one model, produced and measured, in
one table.

All numbers come from core's lab package; the window's state is its model (model.py), shown by
the form (setup_panel.py), the budget (budget_box.py) and the variants' table. A run goes
through the window's run controller, in the window's own interpreter and converter processes
(TensorFlow loads only in the converter's process, never in the app). The device budget is applied
by core's pure `apply_budget`, so a changed budget re-marks the last result at once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

# None of these imports TensorFlow: it loads only in the converter's worker process.
from ...core.errors import ConversionError
from ...core.lab.results import VariantResult
from ...core.lab.settings import SETTINGS_SUFFIX, Budget, existing_outputs, load_settings
from ...core.report.build import ReportRequest
from ..jobs import SharedWorkers
from ..places import LAB_FOLDER, Places
from ..report_export import ReportExport, ask_report_path
from ..run_controller import RunController
from ..widgets.messages import BANNER_STYLE, show_error, wrapped_label
from ..widgets.run_bar import RunBar
from ..widgets.tables import make_sortable_table
from ..widgets.windows import resize_to_fit
from .budget_box import BudgetBox
from .model import LabPage, LabRun, model_source_kind, run_lab_task
from .setup_panel import LabSetupPanel
from .variant_table import COLUMN_WIDTHS, VariantTableModel

SETTINGS_FILTER = f"Quantization lab settings (*{SETTINGS_SUFFIX});;JSON files (*.json);;All files (*)"
RECOMMENDATION_STYLE = "QLabel { font-weight: bold; }"
# The converter's conversions take long: after Cancel, a step still under way is stopped at once.
STOP_AFTER_MS = 0


def _workers() -> tuple:
    from ...core.runtime.conversion import ConversionWorker
    from ...core.runtime.interpreter import RuntimeWorker

    return (RuntimeWorker(), ConversionWorker())


class QuantizationLabWindow(QWidget):
    """A top-level window: one source model, its variants measured in one table.

    `compare_requested(LabComparison)` asks the main window to compare two of the lab's models on
    its Compare page."""

    compare_requested = Signal(object)

    def __init__(self, source: str = "", parent: QWidget | None = None, places: Places | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAcceptDrops(True)
        self.places = places or Places()
        # Variants go where the user put them last (when still writable), else beside the source
        # when that folder is writable, else in the home folder.
        self.page = page = LabPage(output_parent=lambda source: self.places.folder(LAB_FOLDER, source))
        # The window's interpreter and converter: made for the first run, stopped by Cancel, closed
        # with the window.
        self._workers = SharedWorkers(_workers)
        self.runs = RunController(self, self._workers, stop_after_ms=STOP_AFTER_MS)
        self.runs.finished.connect(self._run_finished)
        self.runs.failed.connect(self._run_failed)
        self.runs.cancelled.connect(lambda: (self.run_bar.ended(0, 1), page.run_cancelled()))
        self.report_export: ReportExport | None = None  # the last "Export report…"
        self.errors: list[str] = []  # messages shown to the user, newest last
        self.error_box: QMessageBox | None = None

        self.setup = LabSetupPanel(page)
        setup_area = QScrollArea()
        setup_area.setWidget(self.setup)
        setup_area.setWidgetResizable(True)
        setup_area.setFrameShape(QFrame.Shape.NoFrame)

        self.warning_banner = wrapped_label()
        self.warning_banner.setStyleSheet(BANNER_STYLE)
        self.warning_banner.hide()
        self.run_bar = RunBar(self.runs)
        self.run_bar.run_button.clicked.connect(self.run)
        self.load_button = QPushButton("Load settings…")
        self.load_button.setToolTip(f"Fill the form from a run's saved *{SETTINGS_SUFFIX}, to run it again")
        self.load_button.clicked.connect(self.load_settings_dialog)
        self.run_bar.extra.addWidget(self.load_button)
        self.progress_bar = self.run_bar.progress_bar
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.addWidget(self.warning_banner)
        results_layout.addWidget(self.run_bar)
        self.budget_box = BudgetBox(page)
        results_layout.addWidget(self.budget_box)
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
        resize_to_fit(self, 1200, 800)

        page.changed.connect(self._page_changed)
        page.set_source(source)
        self._show_no_result()

    # -- building -------------------------------------------------------------------------------

    def _build_table(self) -> QTableView:
        self.table_model = VariantTableModel(self)
        self.table = make_sortable_table(self.table_model, COLUMN_WIDTHS, row_height=24, multi_select=True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_compare_button())
        return self.table

    # -- following the model ----------------------------------------------------------------------

    def _page_changed(self, aspect: str) -> None:
        """The form and the budget follow the page themselves; the window shows the rest."""
        if aspect == "source":
            name = os.path.basename(os.path.normpath(self.page.source)) if self.page.source else ""
            self.setWindowTitle(f"Quantization lab — {name}" if name else "Quantization lab")
        elif aspect == "result":
            self._show_result()
        elif aspect == "run":
            self.run_bar.set_outcome(self.page.outcome)
        self._update_banner()
        self.run_bar.set_blocker(self.page.blocker())
        self.load_button.setEnabled(not self.runs.running)

    def _update_banner(self) -> None:
        lines = self.page.banner_lines()
        self.warning_banner.setText("\n".join(f"⚠ {line}" for line in lines))
        self.warning_banner.setVisible(bool(lines))

    # -- the source, inputs and settings ------------------------------------------------------------

    def source_path(self) -> str:
        return self.page.source

    def set_source(self, path: str) -> None:
        self.page.set_source(path)

    def set_output_dir(self, path: str) -> None:
        self.page.set_output_dir(path)

    def add_calibration(self, paths: Sequence[str]) -> None:
        self.page.add_calibration(paths)

    def add_evaluation(self, paths: Sequence[str]) -> None:
        self.page.add_evaluation(paths)

    def set_random_inputs(self, count: int | None) -> None:
        """Random inputs (`count` of them) instead of the files; None: the files."""
        self.page.set_random(count)

    def budget(self) -> Budget:
        """The budget the budget box shows."""
        return self.budget_box.budget()

    def set_budget(self, budget: Budget) -> None:
        """Set the budget (and re-apply it to the last result)."""
        self.page.set_budget(budget)

    def settings(self):  # noqa: ANN201 - LabSettings; ConversionError or InputError when the form is not complete
        return self.page.settings()

    def load_settings_dialog(self) -> None:
        start = self.page.output_dir if os.path.isdir(self.page.output_dir) else ""
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
        self.page.load(settings)
        self.run_bar.show_status(f"Settings loaded from {os.path.basename(path)}: press Run to run them again.")
        return True

    # -- running --------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.runs.running

    @property
    def run_button(self) -> QPushButton:
        return self.run_bar.run_button

    @property
    def cancel_button(self) -> QPushButton:
        return self.run_bar.cancel_button

    @property
    def run_status(self) -> QLabel:
        return self.run_bar.status

    @property
    def runs_started(self) -> int:
        return self.page.runs_started

    @property
    def result(self):  # noqa: ANN201 - the LabResult shown, None before a run
        return self.page.result

    def run(self) -> None:
        """Start a run with the form's settings; files an earlier run made are replaced only when the
        user says so."""
        if self.runs.running or self.page.blocker():
            return
        settings = self.page.settings()
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
                self.run_bar.show_status("Not run: the earlier files were kept.")
                return
            overwrite = True
        if self.page.output_chosen:  # offered for the next source, in this session and the next
            self.places.remember(LAB_FOLDER, os.path.dirname(os.path.abspath(settings.output_dir)))
        self.runs.start(lambda task: run_lab_task(settings, overwrite, task), expected=(OSError,))
        self.page.run_started()
        self.run_bar.started("Preparing the inputs…")
        self.load_button.setEnabled(False)

    def cancel(self) -> None:
        """Stop the run: the step under way is stopped by ending the worker processes; the variants
        finished before are kept and shown."""
        self.runs.cancel()

    def _run_finished(self, run: LabRun) -> None:
        self.run_bar.ended()
        if not run.result.cancelled:
            self.progress_bar.setValue(self.progress_bar.maximum())
        self.page.run_finished(run)

    def _run_failed(self, message: str) -> None:
        self.run_bar.ended(0, 1)
        self.page.run_failed()
        self._show_error("The quantization lab could not run", message)

    def _show_error(self, title: str, message: str) -> None:
        """One message, in a box over this window that does not stop the app."""
        self.errors.append(message)
        self.error_box = show_error(self, "Quantization lab", title + ".", message)

    # -- results --------------------------------------------------------------------------------------

    def _show_no_result(self) -> None:
        self.summary_label.setText("Choose a source, modes and calibration inputs, then Run. Each variant is "
                                   "written to the output folder and measured against the float reference.")
        self.recommendation_label.hide()
        self.not_listed_label.hide()
        self._update_compare_button()

    def _show_result(self) -> None:
        """The last run with the budget now set: rows, fits, recommendation and what is not listed."""
        result = self.page.result
        assert result is not None
        self.table_model.set_variants(result.variants, result.recommendation, self.page.budget.is_set)
        self.summary_label.setText(
            f"Reference: {result.reference_path} ({result.source_kind}) · calibration: {result.calibration} · "
            f"evaluation: {result.evaluation}" + (" · RANDOM inputs" if result.random_inputs else "")
            + f" · {result.preprocessing}")
        self.recommendation_label.setText(("Recommended: " if result.recommendation else "No recommendation: ")
                                          + result.recommendation_reason)
        self.recommendation_label.show()
        lines = []
        for v in result.variants:
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
        self._update_compare_button()

    # -- comparing two variants, and the report ----------------------------------------------------

    def selected_pair(self) -> tuple[VariantResult, VariantResult] | None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return self.page.pair([self.table_model.variant(row) for row in rows])

    def select_modes(self, modes: Sequence[str]) -> None:
        """Select the rows of `modes` (for "Compare selected")."""
        self.table.clearSelection()
        selection = self.table.selectionModel()
        for mode in modes:
            index = self.table_model.index(self.table_model.row_of_mode(mode), 0)
            selection.select(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    def _update_compare_button(self) -> None:
        self.compare_button.setEnabled(self.selected_pair() is not None)
        self.report_button.setEnabled(self.page.result is not None)

    def compare_selected(self) -> None:
        pair = self.selected_pair()
        if pair is not None:
            self.compare_requested.emit(self.page.comparison(pair))

    def export_report(self, path: str | None = None, *, overwrite: bool = False) -> ReportExport | None:
        """The lab's table, with its reference model's report, written to `path` (asked for when None:
        the dialog confirms replacing a file)."""
        result = self.page.result
        if result is None:
            return None
        reference = result.reference_path
        if path is None:
            path = ask_report_path(self, reference, self.places)
            if not path:
                return None
            overwrite = True
        export = ReportExport(ReportRequest(reference, lab=result), path, self, overwrite=overwrite)
        export.done.connect(lambda written: self.run_bar.show_status(f"Report written to {written}."))
        export.failed.connect(lambda message: self._show_error("The report could not be written", message))
        self.report_export = export
        return export.start()

    # -- drops and closing ----------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """A model file or SavedModel folder becomes the source, saved settings fill the form, anything
        else (images, arrays, folders of them) joins the calibration inputs."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        inputs = []
        for path in paths:
            if path.endswith(SETTINGS_SUFFIX) and os.path.isfile(path):
                self.load_settings_file(path)
            elif model_source_kind(path) is not None:
                self.set_source(path)
            else:
                inputs.append(path)
        if inputs:
            self.page.add_calibration(inputs)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """The run stops and the worker processes end (once the run lets go of them); the form and the
        last result stay for when the window is opened again. A report being written is not."""
        self.runs.cancel()
        self._workers.close()
        if self.report_export is not None and self.report_export.running:
            self.report_export.cancel()
        super().closeEvent(event)
