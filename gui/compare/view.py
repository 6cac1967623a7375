"""The Compare page: the open model (the reference) against candidates run on the same inputs,
layer by layer.

All numbers come from core's comparison package; the page's state is its model (model.py). The
page is its panels: the setup (setup_panel.py), the run bar and messages, and the results —
Layers (layers_panel.py), Outputs (outputs_panel.py) and Unmatched (unmatched_panel.py). A run
goes through the page's run controller, in the interpreter's worker process the page starts on
its first run and closes with the view.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.comparison.inputs import Normalization
from ...core.comparison.run import ComparisonRun, compare_files
from ...core.reading.model import Model
from ..jobs import Job, SharedWorkers
from ..run_controller import RunController, RunTask
from ..widgets.run_bar import RunBar
from ..widgets.messages import BANNER_STYLE, wrapped_label
from .layers_panel import LayersPanel
from .model import ComparePage, read_candidate
from .outputs_panel import OutputsPanel
from .setup_panel import SetupPanel
from .unmatched_panel import UnmatchedPanel

PLACEHOLDER = ("Add a candidate (a quantized version of this model, say) and inputs, check the preprocessing, "
               "then Run.")


def _runtime_worker() -> tuple[Any]:
    from ...core.runtime.interpreter import RuntimeWorker  # multiprocessing: imported when first needed

    return (RuntimeWorker(),)


class CompareView(QWidget):
    """The Compare page of one model's view; `reference` is the view's model.

    `layer_selected(LayerError)` asks the view to show the layer's op; `status_message` goes to the
    window's status bar."""

    layer_selected = Signal(object)
    status_message = Signal(str)
    keep_float_requested = Signal(object)  # reference op indices: open the lab with them kept in float

    def __init__(self, reference: Model, open_models: Callable[[], list[str]] = list,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page = ComparePage(reference)
        self.reference = reference
        self._workers = SharedWorkers(_runtime_worker)
        self.runs = RunController(self, self._workers)
        self.runs.finished.connect(page.run_finished)
        self.runs.failed.connect(page.run_failed)
        self.runs.cancelled.connect(page.run_cancelled)
        self._closed = False

        self.setup = SetupPanel(page, open_models)
        self.setup.add_candidates_requested.connect(self.add_candidates)

        self.run_bar = RunBar(self.runs, progress_format="%v / %m inputs",
                              describe=lambda done, total, _message: f"Running input {min(done + 1, total)} of "
                                                                     f"{total}…")
        self.run_bar.run_button.clicked.connect(self.run)
        self.message_view = QPlainTextEdit()
        self.message_view.setReadOnly(True)
        self.message_view.setMaximumHeight(84)
        self.message_view.setToolTip("Files and candidates that could not be used, and why")

        self.layers = LayersPanel(page, self._workers)
        self.layers.layer_selected.connect(self.layer_selected)
        self.layers.keep_float_requested.connect(self.keep_float_requested)
        self.outputs = OutputsPanel(page)
        self.unmatched = UnmatchedPanel(page)
        self.unmatched.count_changed.connect(lambda n: self.results_tabs.setTabText(2, f"Unmatched ({n})"))

        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        # The settings fold away after a run, so a laptop screen gives the plot and table the room;
        # this button brings them back.
        self.settings_toggle = QToolButton()
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setChecked(True)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_toggle.setArrowType(Qt.ArrowType.UpArrow)
        self.settings_toggle.setText("Settings")
        self.settings_toggle.setToolTip("Show or hide the candidates, inputs and preprocessing")
        self.settings_toggle.toggled.connect(self.show_settings)
        run_row = QHBoxLayout()
        run_row.setContentsMargins(0, 0, 0, 0)
        run_row.addWidget(self.settings_toggle)
        run_row.addWidget(self.run_bar, 1)
        results_layout.addLayout(run_row)
        results_layout.addWidget(self.message_view)
        self.results_stack = QStackedWidget()
        self.placeholder = QLabel(PLACEHOLDER)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.results_stack.addWidget(self.placeholder)
        self.results_stack.addWidget(self._build_results())
        results_layout.addWidget(self.results_stack, 1)

        # Scrolls rather than cuts its contents when the splitter makes it short.
        self.setup_area = setup_area = QScrollArea()
        setup_area.setWidget(self.setup)
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

        page.changed.connect(self._page_changed)
        self._render_messages()
        self._update_blocker()

    def _build_results(self) -> QWidget:
        results = QWidget()
        layout = QVBoxLayout(results)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary_label = wrapped_label()
        self.random_banner = wrapped_label()
        self.random_banner.setStyleSheet(BANNER_STYLE)
        self.random_banner.hide()
        self.candidate_combo = QComboBox()
        self.candidate_combo.setToolTip("The candidate shown in the table, the tensor view, outputs and unmatched")
        self.candidate_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.candidate_combo.currentIndexChanged.connect(self.page.choose_candidate)
        # Beside the tabs it applies to, where it takes no line of its own.
        chooser = QWidget()
        bar = QHBoxLayout(chooser)
        bar.setContentsMargins(8, 0, 0, 2)
        bar.addWidget(QLabel("Candidate"))
        bar.addWidget(self.candidate_combo)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.random_banner)
        self.results_tabs = QTabWidget()
        self.results_tabs.addTab(self.layers, "Layers")
        self.results_tabs.addTab(self.outputs, "Outputs")
        self.results_tabs.addTab(self.unmatched, "Unmatched")
        self.results_tabs.setCornerWidget(chooser, Qt.Corner.TopRightCorner)
        layout.addWidget(self.results_tabs, 1)
        return results

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._sized:
            # Once the page has its height: the setup as tall as it needs, up to 36 %.
            self._sized = True
            setup = min(self.splitter.widget(0).widget().sizeHint().height() + 4, self.height() * 9 // 25)
            self.splitter.setSizes([setup, max(self.height() - setup, 1)])

    # -- the model ----------------------------------------------------------------------------------

    def _page_changed(self, aspect: str) -> None:
        if aspect in ("candidates", "inputs", "normalization", "preprocessing"):
            self._update_blocker()
            if aspect == "candidates":
                self._render_messages()
                if self.page.run_when_ready and not self.page.reading:
                    self.page.run_when_ready = False
                    if not self.page.blocker():
                        self.run()
        elif aspect == "messages":
            self._render_messages()
        elif aspect == "run":
            self._render_messages()
            self._show_run()

    def _update_blocker(self) -> None:
        self.run_bar.set_blocker(self.page.blocker())

    def _render_messages(self) -> None:
        lines = self.page.messages()
        self.message_view.setPlainText("\n".join(lines))
        self.message_view.setVisible(bool(lines))

    # -- candidates and inputs ------------------------------------------------------------------------

    @property
    def candidate_paths(self) -> list[str]:
        return list(self.page.candidates)

    @property
    def input_paths(self) -> list[str]:
        return list(self.page.inputs)

    def add_candidates(self, paths: Sequence[str]) -> None:
        """Read each new candidate in the background; it joins the list at once, marked while read."""
        for path in paths:
            path = os.path.abspath(path)
            if not self.page.add_candidate(path):
                continue
            job = Job(lambda p=path, reference=self.reference, key=self.page.signature:
                      read_candidate(p, reference, key), owner=self)
            job.finished.connect(lambda answer, p=path: self._candidate_read(p, *answer))
            job.failed.connect(lambda message, p=path: self.page.candidate_failed(p, message))
            job.start()

    def _candidate_read(self, path: str, model: Model, problem: str) -> None:
        if self._closed or not self.page.candidate_read(path, model, problem):
            model.close()  # removed (or the page closed) while it was read

    def add_candidate_dialog(self) -> None:
        self.setup.add_candidate_dialog()

    def remove_candidate(self, path: str) -> None:
        self.page.remove_candidate(path)

    def add_inputs(self, paths: Sequence[str]) -> None:
        self.page.add_inputs(paths)

    def clear_inputs(self) -> None:
        self.page.clear_inputs()

    def set_random_inputs(self, count: int | None) -> None:
        """Random inputs (`count` of them) instead of the files; None: the files."""
        self.page.set_random(count)

    def set_normalization(self, choice: str) -> None:
        """"suggested", a key of core's PRESETS, or "custom"."""
        self.page.normalization.choose(choice)
        self.page.changed.notify("normalization")

    def set_label_file(self, path: str) -> None:
        self.page.set_label_file(path)

    def set_up(self, candidates: Sequence[str], inputs: Sequence[str] = (), *,
               normalization: Normalization | None = None, resize: str | None = None,
               random_count: int | None = None, signature: str | None = None, run: bool = False,
               replace: bool = False) -> None:
        """Add `candidates` and `inputs` and choose the preprocessing and signature another tool
        used (the quantization lab hands its variants over this way). `normalization` and
        `signature` None keep the choice; `random_count` 0 means the files, None keeps the choice.
        With `replace`, the page's earlier candidates and inputs go first: the run is exactly what
        was handed over. With `run`, the comparison starts once the candidates are read, if
        nothing stops it."""
        self.show_settings(True)  # what is set up here is seen
        if replace:
            for path in list(self.page.candidates):
                self.page.remove_candidate(path)
            self.page.clear_inputs()
        if signature is not None:
            self.page.set_signature(signature)
        if normalization is not None:
            self.page.set_normalization(normalization)
        if resize is not None:
            self.page.set_resize(resize)
        if random_count is not None:
            self.page.set_random(random_count if random_count > 0 else None)
        self.page.add_inputs(inputs)
        # Last: adding candidates that are already read may start the run at once.
        self.page.run_when_ready = run
        self.add_candidates(candidates)
        if run and not self.page.reading and not self.page.blocker():
            self.page.run_when_ready = False
            self.run()

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
        self.page.add_inputs([p for p in paths if p not in models])

    # -- running --------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.runs.running

    @property
    def run_button(self) -> Any:
        return self.run_bar.run_button

    def run(self) -> None:
        if self.runs.running or self.page.blocker():
            return
        request = self.page.request()

        def work(task: RunTask) -> ComparisonRun:
            (worker,) = task.workers
            return compare_files(request, worker, progress=task.progress, cancelled=task.cancelled)

        self.page.run_started()
        self.runs.start(work)
        self.run_bar.started("Preparing the inputs…")

    def cancel(self) -> None:
        """Stop between inputs (what was measured is kept); an input still running a moment later is
        stopped by ending the interpreter's process."""
        self.runs.cancel()

    # -- results --------------------------------------------------------------------------------------

    @property
    def run_result(self) -> ComparisonRun | None:
        return self.page.run

    def show_settings(self, shown: bool) -> None:
        """Fold the settings away (after a run) or show them again."""
        self.setup_area.setVisible(shown)
        self.settings_toggle.setArrowType(Qt.ArrowType.UpArrow if shown else Qt.ArrowType.DownArrow)
        if self.settings_toggle.isChecked() != shown:
            self.settings_toggle.setChecked(shown)

    def _show_run(self) -> None:
        run, page = self.page.run, self.page
        self.run_bar.set_outcome(page.outcome)
        self.status_message.emit(page.outcome)
        if run is None:
            self.run_bar.ended(0, 1)
            return
        comparison = run.comparison
        self.run_bar.ended(len(comparison.inputs), len(run.samples.samples))
        if not page.shown:
            self.results_stack.setCurrentIndex(0)
            self.placeholder.setText("Nothing was measured." + (" See the messages above." if page.messages() else ""))
            return
        self.results_stack.setCurrentIndex(1)
        self.show_settings(False)  # the results take the room; the Settings button brings the form back
        candidates = ", ".join(c.file_name for c in page.shown)
        self.summary_label.setText(
            f"{os.path.basename(comparison.reference)} against {candidates} on {comparison.inputs_description}"
            + (f" (cancelled: {len(comparison.inputs)} measured)" if comparison.cancelled else "")
            + f" · preprocessing: {comparison.preprocessing}")
        self.random_banner.setVisible(comparison.random_inputs)
        self.random_banner.setText(
            f"Random inputs ({comparison.inputs_description}): these numbers come from random data, "
            "not from real inputs; errors on real data differ.")
        self.candidate_combo.blockSignals(True)
        self.candidate_combo.clear()
        for candidate in page.shown:
            self.candidate_combo.addItem(candidate.file_name, candidate.path)
            self.candidate_combo.setItemData(self.candidate_combo.count() - 1, candidate.path,
                                             Qt.ItemDataRole.ToolTipRole)
        self.candidate_combo.setCurrentIndex(0)
        self.candidate_combo.blockSignals(False)

    def select_layer(self, position: int, candidate: int | None = None) -> None:
        if candidate is not None and candidate != self.candidate_combo.currentIndex():
            self.candidate_combo.setCurrentIndex(candidate)
        self.layers.select_layer(position)

    # -- closing --------------------------------------------------------------------------------------

    def close_page(self) -> None:
        """The view is closing: stop the run and the interpreter, release the candidates."""
        self._closed = True
        self.runs.close()
        self.layers.close_panel()
        self._workers.close()
        self.page.close()
