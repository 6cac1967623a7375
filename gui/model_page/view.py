"""One open model's page: Overview, Operators, Tensors, Graph and Compare tabs, a subgraph selector,
a filter, and the detail panel, all showing the page's model (model.py): its subgraph, its
selection (with Back and Forward) and its delegate.

Delegate compatibility: once the page is first shown, every delegate's report is computed in
the background for the Overview; the Operators tab shows the chosen delegate's verdicts
(delegate_bar.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import ModelError
from ...core.reading.attached_zip import read_associated_file
from ..jobs import Job, background_pool
from ..selection import Place
from ..widgets.tables import INDEX_ROLE, FilterProxy, RowTableModel, make_sortable_table
from .delegate_bar import DelegateBar
from .delegates import DelegateReports, summary_entries, verdict_html
from .detail_panel import DetailPanel
from .loading import LoadedModel
from .delegate_state import prepare_delegates
from .model import ModelPage
from .overview import DELEGATES_MARKER, delegate_summary_html
from .shape_bar import shape_bar_for
from .rows import OPERATOR_COLUMNS, TENSOR_COLUMNS

if TYPE_CHECKING:
    from ...core.comparison.results import LayerError
    from ...core.comparison.run import ComparisonRun
    from ...core.delegates.engine import OpVerdict
    from ..compare.view import CompareView
    from ..graph.view import GraphView

OVERVIEW_TAB, OPERATORS_TAB, TENSORS_TAB, GRAPH_TAB, COMPARE_TAB = 0, 1, 2, 3, 4
_OP_WIDTHS = (50, 190, 40, 380, 260, 90, 80, 120)
_TENSOR_WIDTHS = (50, 360, 130, 80, 70, 80, 260)
_OP_EXTRA_POSITION = 2  # delegate columns right after "#" and "Op", where they are seen
FILTER_HELP = ("A word or regular expression matches op types (Operators) and tensor names (Tensors) first, "
               "else anything in the row: ^CONV_2D$ finds exactly CONV_2D.\n"
               "Fields: op:CONV_2D  name:conv  dtype:int8  shape:96 — several are all required; on the Tensors "
               "tab op: is the op that makes the tensor.")


class ModelView(QWidget):
    """Shows one model's page. `history_changed` when Back/Forward availability changes."""

    history_changed = Signal()
    status_message = Signal(str)  # for the window's status bar
    keep_float_requested = Signal(str, object)  # this model's path, op indices to keep in float in the lab

    def __init__(self, loaded: LoadedModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page = ModelPage(loaded)
        self.loaded = loaded
        self.model = loaded.model
        self._setup_started = False
        self._setup_job: Job | None = None
        # Paths of the models open beside this one, offered as candidates; the window sets it.
        self.open_models: Callable[[], list[str]] = list
        self._compare: CompareView | None = None
        self._graph: GraphView | None = None

        self.subgraph_combo = QComboBox()
        for sg in self.model.subgraphs:
            name = f" {sg.name}" if sg.name else ""
            self.subgraph_combo.addItem(f"subgraph {sg.index}{name} ({len(sg.operators)} ops)")
        self.subgraph_combo.currentIndexChanged.connect(
            lambda index: self.go_to(Place.subgraph_of(index), switch_tab=False))
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: op type or tensor name (regular expression), or op: name: "
                                            "dtype: shape: …  Ctrl+F")
        self.filter_edit.setToolTip(FILTER_HELP)
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.filter_status = QLabel()
        top = QHBoxLayout()
        top.addWidget(QLabel("Subgraph"))
        top.addWidget(self.subgraph_combo)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.filter_status)

        self.reports = DelegateReports(self.model, self)
        self.reports.ready.connect(lambda _key: self._render_overview())

        self.overview = QTextBrowser()
        self.overview.setOpenLinks(False)
        self.overview.anchorClicked.connect(lambda url: self.follow_link(url.toString()))
        self._overview_in_widget = ""
        # Models with dynamic inputs get the input-shape field above the Overview.
        self.shape_bar = shape_bar_for(page)
        overview_page: QWidget = self.overview
        if self.shape_bar is not None:
            overview_page = QWidget()
            overview_layout = QVBoxLayout(overview_page)
            overview_layout.setContentsMargins(0, 4, 0, 0)
            overview_layout.addWidget(self.shape_bar)
            overview_layout.addWidget(self.overview, 1)

        op_rows, t_rows = loaded.rows_for(0)
        self.op_model = RowTableModel(OPERATOR_COLUMNS, op_rows, self, extra_position=_OP_EXTRA_POSITION)
        self.op_proxy = FilterProxy(self)
        self.op_proxy.setSourceModel(self.op_model)
        self.op_table = make_sortable_table(self.op_proxy, _OP_WIDTHS, alternating=True)
        self.op_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._row_chosen("op", current))
        self.op_table.doubleClicked.connect(self._op_double_clicked)
        self.delegate_bar = DelegateBar(page, self.reports, self.op_model, self.op_proxy, self.op_table.setColumnWidth)
        self.delegate_bar.status_message.connect(self.status_message)
        self.delegate_bar.verdicts_changed.connect(self._verdicts_changed)
        operators_page = QWidget()
        operators_layout = QVBoxLayout(operators_page)
        operators_layout.setContentsMargins(0, 4, 0, 0)
        operators_layout.addWidget(self.delegate_bar)
        operators_layout.addWidget(self.op_table, 1)

        self.tensor_model = RowTableModel(TENSOR_COLUMNS, t_rows, self)
        self.tensor_proxy = FilterProxy(self)
        self.tensor_proxy.setSourceModel(self.tensor_model)
        self.tensor_table = make_sortable_table(self.tensor_proxy, _TENSOR_WIDTHS, alternating=True)
        self.tensor_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._row_chosen("tensor", current))

        self.tabs = QTabWidget()
        self.tabs.addTab(overview_page, "Overview")
        self.tabs.addTab(operators_page, "Operators")
        self.tabs.addTab(self.tensor_table, "Tensors")
        # The Graph and Compare pages are built the first time they are shown: laying out a graph
        # costs time and memory, and most views never compare.
        self._graph_host = QWidget()
        QVBoxLayout(self._graph_host).setContentsMargins(0, 0, 0, 0)
        self.tabs.addTab(self._graph_host, "Graph")
        self.tabs.setTabToolTip(GRAPH_TAB, "The subgraph as a graph, coloured by op type, a delegate, quantization, "
                                           "the Compare page's error or cost")
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

        page.changed.connect(self._page_changed)
        page.selection.changed.connect(self._selection_changed)
        self._switch_tab = True  # a selection switches to its table, unless it came from the Compare page
        self._render_overview(now=True)
        self._update_filter_status()

    # -- the page model ------------------------------------------------------------------

    def _page_changed(self, aspect: str) -> None:
        if aspect == "subgraph":
            self._show_subgraph()
        elif aspect in ("delegates", "settings", "runtime"):  # the runtime's row joins XNNPACK's
            self._render_overview()
        elif aspect == "shapes":  # the figures are now at the interpreter's shapes
            self._show_subgraph()
            self._render_overview(now=True)

    def _selection_changed(self, aspect: str) -> None:
        if aspect == "history":
            self.history_changed.emit()
            return
        place = self.page.selection.place
        if self._graph is not None:
            self._graph.show_place(place, centre=self.tabs.currentIndex() == GRAPH_TAB or self._switch_tab)
        if place is None:
            self.detail.clear()
            return
        if place.kind == "subgraph":
            if self._switch_tab and self.tabs.currentIndex() != GRAPH_TAB:
                self.tabs.setCurrentIndex(OPERATORS_TAB)
            return
        self._show_in_table(place)
        self._show_detail()

    def _show_subgraph(self) -> None:
        index = self.page.subgraph_index
        op_rows, t_rows = self.loaded.rows_for(index)
        self.op_model.set_rows(op_rows)
        self.tensor_model.set_rows(t_rows)
        if self.subgraph_combo.currentIndex() != index:
            self.subgraph_combo.blockSignals(True)
            self.subgraph_combo.setCurrentIndex(index)
            self.subgraph_combo.blockSignals(False)
        self.detail.clear()
        self._update_filter_status()
        if self._graph is not None:
            self._graph.set_filter_matches(self.op_proxy.matching_indices())

    # -- tabs ---------------------------------------------------------------------------------

    def _tab_changed(self, index: int) -> None:
        if index == COMPARE_TAB:
            self._build_compare_page()
        elif index == GRAPH_TAB:
            self._build_graph_page()
        self._show_overview_html()

    @property
    def graph_page(self) -> GraphView:
        return self._build_graph_page()

    def show_graph(self) -> GraphView:
        view = self.graph_page
        self.tabs.setCurrentIndex(GRAPH_TAB)
        return view

    def _build_graph_page(self) -> GraphView:
        if self._graph is None:
            from ..graph.view import GraphView

            view = GraphView(self.page, self.reports, self._shown_comparison)
            view.place_chosen.connect(lambda place: self.go_to(place, switch_tab=False))
            view.subgraph_opened.connect(lambda index: self.go_to(Place.subgraph_of(index), switch_tab=False))
            self._graph_host.layout().addWidget(view)
            self._graph = view
            view.set_filter_matches(self.op_proxy.matching_indices())
        return self._graph

    def _shown_comparison(self) -> tuple | None:
        """The candidate and metric the Compare page shows, for the graph's error overlay."""
        if self._compare is None:
            return None
        page = self._compare.page
        if not page.shown or not 0 <= page.candidate_index < len(page.shown):
            return None
        return page.shown[page.candidate_index], page.metric

    def _compare_page_changed(self, aspect: str) -> None:
        if self._graph is not None and aspect in ("run", "candidate", "metric"):
            self._graph.comparison_changed()

    @property
    def compare_page(self) -> CompareView:
        return self._build_compare_page()

    def _build_compare_page(self) -> CompareView:
        if self._compare is None:
            from ..compare.view import CompareView

            view = CompareView(self.model, open_models=lambda: self.open_models())
            view.layer_selected.connect(self._show_compared_layer)
            view.status_message.connect(self.status_message)
            view.keep_float_requested.connect(lambda ops: self.keep_float_requested.emit(self.model.path, ops))
            view.page.changed.connect(self._compare_page_changed)
            self._compare_host.layout().addWidget(view)
            self._compare = view
        return self._compare

    @property
    def comparison_run(self) -> ComparisonRun | None:
        """The Compare page's last run, None when the page was never used."""
        return None if self._compare is None else self._compare.page.run

    def show_compare(self) -> CompareView:
        view = self.compare_page
        self.tabs.setCurrentIndex(COMPARE_TAB)
        return view

    def _show_compared_layer(self, layer: LayerError) -> None:
        """The layer chosen on the Compare page, in the op (or, for a model input, tensor) table and
        the detail panel, while the Compare page stays in front."""
        # A comparison covers the subgraph of the signature it ran; op_index −1 is a model input,
        # which no op produces.
        run = self.comparison_run
        subgraph = run.comparison.subgraph if run is not None else 0
        place = (Place.op(subgraph, layer.op_index) if layer.op_index >= 0
                 else Place.tensor(subgraph, layer.reference_tensor))
        self.go_to(place, switch_tab=False)

    # -- delegates ----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._setup_started:
            self._setup_started = True
            # Two turns of the event loop: past the first paint, and past the window's
            # `model_shown`, so reading the rules never competes with the model appearing.
            QTimer.singleShot(0, lambda: QTimer.singleShot(0, self._start_delegate_setup))

    def _start_delegate_setup(self) -> None:
        job = Job(prepare_delegates, owner=self)
        job.finished.connect(self._delegates_ready)
        job.failed.connect(self._delegates_failed)
        self._setup_job = job.start(background_pool())

    def _delegates_ready(self, infos: tuple) -> None:
        self._setup_job = None
        self.page.delegates_ready(infos)

    def _delegates_failed(self, message: str) -> None:
        self._setup_job = None
        self.page.delegates_failed(message)

    def set_delegate(self, key: str | None) -> None:
        """Show `key`'s verdicts on the Operators tab (None: no delegate)."""
        self.page.set_delegate(key)

    def _verdicts_changed(self) -> None:
        self._update_filter_status()
        if self.page.selection.place is not None and self.page.selection.place.kind == "op":
            self._show_detail()  # what the delegate says about the selected op changed

    def _render_overview(self, now: bool = False) -> None:
        infos = self.page.delegates
        entries = summary_entries(infos, self.reports, self.page.settings) if infos is not None else []
        self.overview_html = self.loaded.overview.replace(
            DELEGATES_MARKER, delegate_summary_html(entries, self.page.delegates_error, self.page.runtime,
                                                    len(self.page.model.subgraphs), self._op_macs()))
        if now or self.tabs.currentIndex() == OVERVIEW_TAB:
            self._show_overview_html()

    def _op_macs(self) -> Callable[[OpVerdict], int] | None:
        """Each op's MACs as the Overview counts them once the interpreter resolved the shapes
        (the delegates' shares then follow), else None: the verdicts' own, at static shapes."""
        stats = self.loaded.stats
        if stats is None or stats.resolved is None:
            return None
        per_subgraph = {s.index: s.macs_by_operator for s in stats.subgraphs}
        return lambda verdict: per_subgraph.get(verdict.subgraph, {}).get(verdict.index, verdict.macs)

    def _show_overview_html(self) -> None:
        """Lay the overview out when it is seen: 25-40 ms on the GUI thread per report otherwise."""
        if self.overview_html == self._overview_in_widget:
            return
        scroll = self.overview.verticalScrollBar()
        position = scroll.value()
        self.overview.setHtml(self.overview_html)
        self._overview_in_widget = self.overview_html
        scroll.setValue(position)  # reports arrive while the user reads: keep their place

    # -- filter -----------------------------------------------------------------------------

    def focus_filter(self) -> None:
        if self.tabs.currentIndex() == OVERVIEW_TAB:
            self.tabs.setCurrentIndex(OPERATORS_TAB)
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _filter_changed(self, text: str) -> None:
        # Rows leaving the view must not move the selection to an op the user never chose: the
        # tables' current-row signals are held while filtering, and the chosen row is made
        # current again when it is still shown.
        for table, proxy in ((self.op_table, self.op_proxy), (self.tensor_table, self.tensor_proxy)):
            table.selectionModel().blockSignals(True)
            try:
                proxy.set_filter_text(text)
            finally:
                table.selectionModel().blockSignals(False)
        self._restore_current_rows()
        if self._graph is not None:
            self._graph.set_filter_matches(self.op_proxy.matching_indices())
        if text and self.tabs.currentIndex() == OVERVIEW_TAB:
            self.tabs.setCurrentIndex(OPERATORS_TAB)
        self._update_filter_status()

    def _restore_current_rows(self) -> None:
        place = self.page.selection.place
        for kind, table, proxy, model in (("op", self.op_table, self.op_proxy, self.op_model),
                                          ("tensor", self.tensor_table, self.tensor_proxy, self.tensor_model)):
            selection = table.selectionModel()
            selection.blockSignals(True)
            try:
                if place is not None and place.kind == kind and place.subgraph == self.page.subgraph_index:
                    shown = proxy.mapFromSource(model.index(model.source_row_of(place.index), 0))
                    if shown.isValid():
                        selection.setCurrentIndex(shown, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                                  | QItemSelectionModel.SelectionFlag.Rows)
                        continue
                selection.clearSelection()
            finally:
                selection.blockSignals(False)
            table.viewport().update()

    def _update_filter_status(self) -> None:
        ops, tensors = self.op_proxy.rowCount(), self.tensor_proxy.rowCount()
        text = f"{ops}/{self.op_model.rowCount()} ops · {tensors}/{self.tensor_model.rowCount()} tensors"
        error = self.op_proxy.pattern_error
        self.filter_status.setText(text)
        self.filter_edit.setToolTip(error or FILTER_HELP)
        self.filter_edit.setStyleSheet("QLineEdit { border: 1px solid #c0392b; }" if error else "")

    # -- selection ----------------------------------------------------------------------------

    def _row_chosen(self, kind: str, current: QModelIndex) -> None:
        """The user chose a row: it becomes the page's selection."""
        if current.isValid():
            self.page.select(Place(kind, self.page.subgraph_index, current.data(INDEX_ROLE)))

    def _show_detail(self) -> None:
        place = self.page.selection.place
        if place is None or place.kind == "subgraph":
            return
        sg = self.model.subgraphs[place.subgraph]
        if place.kind == "op":
            self.detail.show_operator(self.model, sg, place.index, self.loaded.stats.subgraphs[place.subgraph],
                                      self._verdict_html(place.subgraph, place.index))
        else:
            self.detail.show_tensor(self.model, sg, place.index)

    def _verdict_html(self, sg_index: int, index: int) -> str:
        info = self.page.info()
        if info is None:
            return ""
        return verdict_html(info.label(self.page.settings), self.delegate_bar.state(), sg_index, index,
                            self.page.runtime_row(sg_index, index))

    def _show_in_table(self, place: Place) -> None:
        """Select `place`'s row (showing it when a filter hides it) and scroll to it."""
        is_op = place.kind == "op"
        table, proxy, model = ((self.op_table, self.op_proxy, self.op_model) if is_op
                               else (self.tensor_table, self.tensor_proxy, self.tensor_model))
        # With the graph in front, a selection (a detail link, Back/Forward) is shown there.
        if self._switch_tab and self.tabs.currentIndex() != GRAPH_TAB:
            self.tabs.setCurrentIndex(OPERATORS_TAB if is_op else TENSORS_TAB)
        source = model.index(model.source_row_of(place.index), 0)
        row = proxy.mapFromSource(source)
        if not row.isValid():  # hidden by the filter: show everything again
            self.filter_edit.clear()
            row = proxy.mapFromSource(source)
        if not row.isValid() and is_op:  # hidden as an op the delegate takes
            self.delegate_bar.fallbacks_only.setChecked(False)
            row = proxy.mapFromSource(source)
        if table.currentIndex().row() != row.row():
            table.selectionModel().blockSignals(True)
            table.selectionModel().setCurrentIndex(
                row, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            table.selectionModel().blockSignals(False)
            table.viewport().update()
        table.scrollTo(row, QAbstractItemView.ScrollHint.PositionAtCenter)

    def _op_double_clicked(self, proxy_index: QModelIndex) -> None:
        op = self.model.subgraphs[self.page.subgraph_index].operators[proxy_index.data(INDEX_ROLE)]
        if op.subgraph_refs:
            self.go_to(Place.subgraph_of(next(iter(op.subgraph_refs.values()))))

    def select_operator(self, index: int) -> None:
        self.go_to(Place.op(self.page.subgraph_index, index))

    def select_tensor(self, index: int) -> None:
        self.go_to(Place.tensor(self.page.subgraph_index, index))

    def go_to(self, place: Place, switch_tab: bool = True) -> None:
        """Select `place` in its table and show it in the detail panel; with `switch_tab` False the
        tab in front stays (the Compare page pointing at a layer's op)."""
        self._switch_tab = switch_tab
        try:
            if self.page.selection.place == place:
                self._selection_changed("place")  # already selected: shown again (a filter may hide its row now)
            self.page.select(place)
        finally:
            self._switch_tab = True

    def follow_link(self, link: str) -> None:
        kind, _, rest = link.partition(":")
        sg_index = self.page.subgraph_index
        try:
            if kind == "op":
                self.go_to(Place.op(sg_index, int(rest)))
            elif kind == "tensor":
                parts = rest.split(":")
                sg, index = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (sg_index, int(parts[0]))
                self.go_to(Place.tensor(sg, index))
            elif kind == "subgraph":
                self.go_to(Place.subgraph_of(int(rest)))
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

    # -- history ------------------------------------------------------------------------------

    def can_go_back(self) -> bool:
        return self.page.selection.can_go_back()

    def can_go_forward(self) -> bool:
        return self.page.selection.can_go_forward()

    def back(self) -> None:
        self.page.selection.back()

    def forward(self) -> None:
        self.page.selection.forward()

    def close_model(self) -> None:
        if self._graph is not None:
            self._graph.close_view()
        if self._compare is not None:
            self._compare.close_page()
        self.reports.close()
        self.delegate_bar.close_bar()
        if self.shape_bar is not None:
            self.shape_bar.close_bar()
        if self._setup_job is not None:
            self._setup_job.drop()
            self._setup_job = None
        self.detail.clear()
        self.model.close()
