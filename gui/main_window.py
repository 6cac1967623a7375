"""The main window: a tab per open model, File, Go, Compare and Tools menus, drag-and-drop, recent files."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .jobs import Job
from .model_page.loading import LoadedModel, load_for_display
from .model_page.view import ModelView
from .widgets.messages import show_error
from .widgets.windows import resize_to_fit

if TYPE_CHECKING:
    from ..core.lab.results import LabResult
    from .lab.model import LabComparison
    from .lab.window import QuantizationLabWindow
    from .report_export import ReportExport

MAX_RECENT = 10
FILE_FILTER = "TFLite models (*.tflite);;All files (*)"


class LoadingPage(QWidget):
    """Shown in a model's tab while it loads in the background."""

    def __init__(self, path: str) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        label = QLabel(f"Opening {os.path.basename(path)}…")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy: reading has no meaningful percentage
        layout.addWidget(bar)
        layout.addStretch(2)


class MainWindow(QMainWindow):
    model_shown = Signal(str)  # path, once its view has been painted

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("tflite-inspector", "TFLite Inspector")
        self.setWindowTitle("TFLite Inspector")
        self.setAcceptDrops(True)
        self._jobs: dict[QWidget, Job] = {}
        self.errors: list[str] = []  # messages shown to the user, newest last
        self.lab_windows: list[QuantizationLabWindow] = []
        self.report_exports: list[ReportExport] = []  # newest last
        # Compare pages to set up once their model has loaded: path -> set_up() arguments.
        self._pending_comparisons: dict[str, dict[str, Any]] = {}

        self.tabs = QTabWidget()
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(lambda _: self._update_actions())
        self.tabs.currentChanged.connect(lambda _: self._update_title())
        # Ctrl+Tab and Ctrl+PgDown move between models (a shortcut is matched before the inner
        # page's tab widget sees the key, which would otherwise switch Overview/Operators/...).
        for keys, step in (("Ctrl+Tab", 1), ("Ctrl+PgDown", 1), ("Ctrl+Shift+Tab", -1), ("Ctrl+Backtab", -1),
                           ("Ctrl+PgUp", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda step=step: self.step_model_tab(step))
        self._opened_from: dict[QWidget, QWidget | None] = {}  # loading page -> the tab the user was on
        self.setCentralWidget(self.tabs)
        self._build_menus()
        self._show_hint_if_empty()

        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            resize_to_fit(self, 1400, 860)

    # -- menus ------------------------------------------------------------------------

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.open_dialog)
        file_menu.addAction(open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        close_action = QAction("&Close Tab", self, shortcut=QKeySequence.StandardKey.Close)
        close_action.triggered.connect(lambda: self.close_tab(self.tabs.currentIndex()))
        file_menu.addAction(close_action)
        file_menu.addSeparator()
        self.export_action = QAction("&Export Report…", self, shortcut=QKeySequence("Ctrl+Shift+E"))
        self.export_action.setStatusTip("Write one HTML file with this model's overview, ops, quantization, delegates "
                                        "and the Compare page's last result, for people without the app")
        self.export_action.triggered.connect(lambda: self.export_report())
        file_menu.addAction(self.export_action)
        self.export_graph_action = QAction("Export &Graph…", self, shortcut=QKeySequence("Ctrl+Shift+G"))
        self.export_graph_action.setStatusTip("Save the subgraph's graph, with its overlay and legend, as SVG or PNG")
        self.export_graph_action.triggered.connect(self.export_graph)
        file_menu.addAction(self.export_graph_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        go_menu = self.menuBar().addMenu("&Go")
        self.back_action = QAction("&Back", self, shortcut=QKeySequence.StandardKey.Back)
        self.back_action.triggered.connect(lambda: self._current_view() and self._current_view().back())
        self.forward_action = QAction("&Forward", self, shortcut=QKeySequence.StandardKey.Forward)
        self.forward_action.triggered.connect(lambda: self._current_view() and self._current_view().forward())
        find_action = QAction("&Find…", self, shortcut=QKeySequence.StandardKey.Find)
        find_action.triggered.connect(lambda: self._current_view() and self._current_view().focus_filter())
        for action in (self.back_action, self.forward_action, find_action):
            go_menu.addAction(action)
        self.find_action = find_action

        compare_menu = self.menuBar().addMenu("&Compare")
        self.compare_action = QAction("Compare &with…", self, shortcut=QKeySequence("Ctrl+K"))
        self.compare_action.setStatusTip("Compare this model with quantized (or other) versions of it, layer by layer")
        self.compare_action.triggered.connect(self.compare_with)
        compare_menu.addAction(self.compare_action)

        tools_menu = self.menuBar().addMenu("&Tools")
        self.quantize_action = QAction("&Quantization lab…", self, shortcut=QKeySequence("Ctrl+Shift+Q"))
        self.quantize_action.setStatusTip("Produce every quantization mode of a model and compare size, latency "
                                          "and error in one table")
        self.quantize_action.triggered.connect(lambda: self.open_quantization_lab())
        tools_menu.addAction(self.quantize_action)
        self._update_actions()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent_files", [path, *recent][:MAX_RECENT])
        self._rebuild_recent_menu()

    def _current_view(self) -> ModelView | None:
        widget = self.tabs.currentWidget()
        return widget if isinstance(widget, ModelView) else None

    def step_model_tab(self, step: int) -> None:
        """The next (1) or previous (−1) model tab, wrapping around."""
        if self.tabs.count() > 1:
            self.tabs.setCurrentIndex((self.tabs.currentIndex() + step) % self.tabs.count())

    def _update_title(self) -> None:
        """The current model's file in the title (and as the window's file, for the platform)."""
        index = self.tabs.currentIndex()
        path = self.tabs.tabToolTip(index) if index >= 0 else ""
        self.setWindowFilePath(path)
        self.setWindowTitle(f"{os.path.basename(path)} — TFLite Inspector" if path else "TFLite Inspector")

    def _update_actions(self) -> None:
        view = self._current_view()
        self.back_action.setEnabled(bool(view and view.can_go_back()))
        self.forward_action.setEnabled(bool(view and view.can_go_forward()))
        self.compare_action.setEnabled(view is not None)
        self.export_action.setEnabled(view is not None)
        self.export_graph_action.setEnabled(view is not None)

    def export_graph(self) -> None:
        """The current model's Graph page, then its export dialog once the graph is laid out."""
        view = self._current_view()
        if view is None:
            return
        graph = view.show_graph()
        if graph.scene is not None:
            graph.export()
        else:
            self.statusBar().showMessage("The graph is being laid out: export it once it is shown.", 5000)

    def open_model_paths(self) -> list[str]:
        """The models open in tabs, in tab order."""
        return [w.model.path for i in range(self.tabs.count()) if isinstance(w := self.tabs.widget(i), ModelView)]

    def compare_with(self) -> None:
        """The current model's Compare page, asking for a candidate."""
        view = self._current_view()
        if view is not None:
            view.show_compare().add_candidate_dialog()

    # -- report -----------------------------------------------------------------------

    def export_report(self, path: str | None = None, *, overwrite: bool = False) -> ReportExport | None:
        """Write the current model's report to `path` (asked for when None: the dialog confirms
        replacing a file). The Compare page's last result goes in as it is, without running again."""
        from ..core.report.build import ReportRequest
        from .places import Places
        from .report_export import ReportExport, ask_report_path

        view = self._current_view()
        if view is None:
            return None
        if path is None:
            path = ask_report_path(self, view.model.path, Places(self.settings))
            if not path:
                return None
            overwrite = True
        run = view.comparison_run
        comparison = run if run is not None and not run.comparison.cancelled else None
        request = ReportRequest(view.model.path, settings=view.page.settings, comparison=comparison,
                                lab=self.lab_result_for(view.model.path))
        export = ReportExport(request, path, self, overwrite=overwrite)
        export.done.connect(lambda written: self.statusBar().showMessage(f"Report written to {written}", 10000))
        export.failed.connect(lambda message: self._show_error(
            "Export report", f"The report could not be written to {path}.", message))
        export.cancelled.connect(lambda: self.statusBar().showMessage("Report not written: cancelled", 8000))
        # Kept while they run, so that closing the window stops them; dropped when done.
        self.report_exports = [e for e in self.report_exports if e.running]
        self.report_exports.append(export)
        return export.start()

    # -- quantization lab -------------------------------------------------------------

    def keep_in_float(self, model_path: str, ops: Sequence[int]) -> QuantizationLabWindow:
        """The lab on `model_path` with `ops` added to the ops it keeps in float (from Compare's
        selected layers); the user chooses the modes and presses Run."""
        lab = self.open_quantization_lab(model_path)
        kept = [s.strip() for s in lab.page.keep_float.split(",") if s.strip()]
        kept += [str(op) for op in ops if str(op) not in kept]
        lab.page.set_mixed_precision(keep_float=", ".join(kept))
        return lab

    def _places(self) -> Any:
        from .places import Places

        return Places(self.settings)

    def lab_result_for(self, model_path: str) -> LabResult | None:
        """The last lab run whose reference is this model (its source .tflite, or the float32
        conversion it made), for the model's report."""
        target = os.path.abspath(model_path)
        for window in reversed(self.lab_windows):
            result = window.page.result
            if result is not None and os.path.abspath(result.reference_path) == target:
                return result
        return None

    def open_quantization_lab(self, source: str | None = None) -> QuantizationLabWindow:
        """The lab window for `source` (default: the current tab's model), shown and raised; a
        window already open on that source is reused."""
        from .lab.window import QuantizationLabWindow  # the lab's modules load when first used

        if source is None:
            view = self._current_view()
            source = view.model.path if view is not None else ""
        source = os.path.abspath(source) if source else ""
        window = next((w for w in self.lab_windows if source and w.source_path() == source), None)
        if window is None:
            window = QuantizationLabWindow(source, parent=self, places=self._places())
            window.compare_requested.connect(self._compare_from_lab)
            self.lab_windows.append(window)
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _compare_from_lab(self, request: LabComparison) -> None:
        self.open_comparison(request.reference, [request.candidate], request.inputs,
                             normalization=request.normalization, resize=request.resize,
                             random_count=request.random_count, signature=request.signature, run=True,
                             replace=True)
        self.raise_()
        self.activateWindow()

    def open_comparison(self, reference: str, candidates: Sequence[str], inputs: Sequence[str] = (),
                        **set_up: Any) -> None:
        """Open `reference` (or show its tab) and set its Compare page up with `candidates` and
        `inputs`; `set_up` goes on to CompareView.set_up (normalization, resize, random_count,
        signature, run)."""
        reference = os.path.abspath(reference)
        arguments = {"candidates": list(candidates), "inputs": list(inputs), **set_up}
        view = self._view_of(reference)
        if view is None:  # not open, or still loading: set up in _loaded
            self._pending_comparisons[reference] = arguments
            self._open(reference)
            return
        self.tabs.setCurrentWidget(view)
        view.show_compare().set_up(**arguments)

    def _tab_index(self, path: str) -> int:
        """The tab of `path` (its tooltip is the path), −1 when it is not open."""
        return next((i for i in range(self.tabs.count()) if self.tabs.tabToolTip(i) == path), -1)

    def _view_of(self, path: str) -> ModelView | None:
        """The model view of `path`, None when it is not open or still loading."""
        widget = self.tabs.widget(self._tab_index(path))
        return widget if isinstance(widget, ModelView) else None

    def _show_hint_if_empty(self) -> None:
        if self.tabs.count() == 0:
            self.statusBar().showMessage("Drop .tflite files here, or use File ▸ Open (Ctrl+O).")

    # -- opening ----------------------------------------------------------------------

    def open_dialog(self) -> None:
        start = os.path.dirname(self.recent_files()[0]) if self.recent_files() else ""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open TFLite models", start, FILE_FILTER)
        self.open_paths(paths)

    def open_paths(self, paths: Iterable[str]) -> None:
        for path in paths:
            self._open(os.path.abspath(path))

    def _open(self, path: str) -> None:
        index = self._tab_index(path)
        if index >= 0:  # already open: show it
            self.tabs.setCurrentIndex(index)
            return
        page = LoadingPage(path)
        self._opened_from[page] = self.tabs.currentWidget()
        index = self.tabs.addTab(page, os.path.basename(path))
        self.tabs.setTabToolTip(index, path)
        self.tabs.setCurrentIndex(index)
        self.statusBar().showMessage(f"Opening {path}…")
        job = Job(lambda: load_for_display(path))
        job.finished.connect(lambda loaded, p=page: self._loaded(p, loaded))
        job.failed.connect(lambda message, p=page, path=path: self._failed(p, path, message))
        self._jobs[page] = job
        job.start()

    def _replace_page(self, page: QWidget, widget: QWidget | None) -> None:
        """The loading page gives way to the model (in its place, in front only if it was) or, when
        it could not be opened, to the tab the user was on when they asked for it."""
        index = self.tabs.indexOf(page)
        opened_from = self._opened_from.pop(page, None)
        if index < 0:
            return
        was_current = self.tabs.currentIndex() == index
        if widget is None:
            self.tabs.removeTab(index)
            if was_current and opened_from is not None and self.tabs.indexOf(opened_from) >= 0:
                self.tabs.setCurrentWidget(opened_from)
        else:
            tooltip, title = self.tabs.tabToolTip(index), self.tabs.tabText(index)
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, widget, title)
            self.tabs.setTabToolTip(index, tooltip)
            if was_current:
                self.tabs.setCurrentIndex(index)
        page.deleteLater()
        self._update_title()

    def _loaded(self, page: QWidget, loaded: LoadedModel) -> None:
        self._jobs.pop(page, None)
        if self.tabs.indexOf(page) < 0:  # closed while loading
            loaded.model.close()
            return
        view = ModelView(loaded)
        view.open_models = self.open_model_paths
        view.history_changed.connect(self._update_actions)
        view.status_message.connect(lambda message: self.statusBar().showMessage(message, 10000))
        view.keep_float_requested.connect(self.keep_in_float)
        self._replace_page(page, view)
        self._remember(loaded.model.path)
        ops = sum(len(sg.operators) for sg in loaded.model.subgraphs)
        self.statusBar().showMessage(f"{loaded.model.path}: {ops:,} ops, {loaded.model.size_bytes:,} bytes", 8000)
        self._update_actions()
        comparison = self._pending_comparisons.pop(loaded.model.path, None)
        if comparison is not None:
            view.show_compare().set_up(**comparison)
        view.repaint()
        QTimer.singleShot(0, lambda path=loaded.model.path: self.model_shown.emit(path))
        QTimer.singleShot(300, _preload_plotting)  # after the first paint, not competing with it

    def _failed(self, page: QWidget, path: str, message: str) -> None:
        self._jobs.pop(page, None)
        self._pending_comparisons.pop(path, None)
        self._replace_page(page, None)
        self.statusBar().showMessage(f"Could not open {os.path.basename(path)}", 8000)
        self._show_error("Cannot open model", f"{os.path.basename(path)} could not be opened.", message)
        self._show_hint_if_empty()

    def _show_error(self, title: str, text: str, message: str) -> None:
        self.errors.append(message)
        self.error_box = show_error(self, title, text, message)  # kept for tests

    def close_tab(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if widget is None:
            return
        self._pending_comparisons.pop(self.tabs.tabToolTip(index), None)
        self._opened_from.pop(widget, None)
        self.tabs.removeTab(index)
        job = self._jobs.pop(widget, None)
        if job is not None:
            job.drop()
        if isinstance(widget, ModelView):
            widget.close_model()
        widget.deleteLater()
        self._show_hint_if_empty()
        self._update_actions()

    # -- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        files: list[str] = []
        for path in paths:
            if os.path.isdir(path):
                for root, _, names in os.walk(path):
                    files.extend(os.path.join(root, n) for n in sorted(names) if n.lower().endswith(".tflite"))
            else:
                files.append(path)
        if files:
            event.acceptProposedAction()
            self.open_paths(files)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        for window in self.lab_windows:  # their runs stop and their worker processes end
            window.close()
        for export in self.report_exports:  # a report half made is not written
            export.cancel()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        super().closeEvent(event)


_plotting_preloaded = False


def _preload_plotting() -> None:
    """Import pyqtgraph in the background once a model is shown, so the first
    histogram does not wait the 0.7 s it takes to import."""
    global _plotting_preloaded
    if _plotting_preloaded:
        return
    _plotting_preloaded = True

    def load() -> None:
        try:
            import pyqtgraph  # noqa: F401
        except Exception:  # noqa: BLE001 - the detail panel reports it when it needs plots
            pass

    threading.Thread(target=load, name="preload-pyqtgraph", daemon=True).start()
