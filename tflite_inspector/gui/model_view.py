"""One open model: Overview, Operators and Tensors pages, a subgraph selector,
a filter, and the detail panel, with Back/Forward over what was selected."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..core.analysis import ModelStats, model_stats
from ..core.model import Model, ModelError
from ..core.tflite_reader import read_associated_file, read_model
from .detail_panel import DetailPanel
from .overview import overview_html
from .table_models import (
    INDEX_ROLE,
    OPERATOR_COLUMNS,
    TENSOR_COLUMNS,
    FilterProxy,
    Row,
    RowTableModel,
    operator_rows,
    tensor_rows,
)

OVERVIEW_TAB, OPERATORS_TAB, TENSORS_TAB = 0, 1, 2
_OP_WIDTHS = (50, 190, 40, 380, 260, 90, 80, 120)
_TENSOR_WIDTHS = (50, 360, 130, 80, 70, 80, 260)


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


def _make_table(proxy: FilterProxy, widths: tuple[int, ...]) -> QTableView:
    table = QTableView()
    table.setModel(proxy)
    # Rows arrive in index order: enable sorting without sorting now.
    table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    table.setAlternatingRowColors(True)
    # Fixed row heights and column widths: measuring contents of thousands of rows stalls.
    vertical = table.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(22)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
    header.setStretchLastSection(True)
    return table


class ModelView(QWidget):
    """Shows one LoadedModel. Emits `history_changed` when Back/Forward availability changes."""

    history_changed = Signal()

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

        self.overview = QTextBrowser()
        self.overview.setOpenLinks(False)
        self.overview.anchorClicked.connect(lambda url: self.follow_link(url.toString()))
        self.overview.setHtml(loaded.overview)

        op_rows, t_rows = loaded.rows_for(0)
        self.op_model = RowTableModel(OPERATOR_COLUMNS, op_rows, self)
        self.op_proxy = FilterProxy(self)
        self.op_proxy.setSourceModel(self.op_model)
        self.op_table = _make_table(self.op_proxy, _OP_WIDTHS)
        self.op_table.selectionModel().currentRowChanged.connect(self._op_selected)
        self.op_table.doubleClicked.connect(self._op_double_clicked)

        self.tensor_model = RowTableModel(TENSOR_COLUMNS, t_rows, self)
        self.tensor_proxy = FilterProxy(self)
        self.tensor_proxy.setSourceModel(self.tensor_model)
        self.tensor_table = _make_table(self.tensor_proxy, _TENSOR_WIDTHS)
        self.tensor_table.selectionModel().currentRowChanged.connect(self._tensor_selected)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.op_table, "Operators")
        self.tabs.addTab(self.tensor_table, "Tensors")
        self.tabs.setCurrentIndex(OVERVIEW_TAB)

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
        self.detail.show_operator(self.model, self.model.subgraphs[self.subgraph_index], index,
                                  self.loaded.stats.subgraphs[self.subgraph_index])
        self._record(Place("op", self.subgraph_index, index))

    def _tensor_selected(self, current, previous) -> None:  # noqa: ANN001
        if not current.isValid():
            return
        index = current.data(INDEX_ROLE)
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

    def go_to(self, place: Place, record: bool = True) -> None:
        self._navigating = not record
        try:
            self.set_subgraph(place.subgraph)
            if place.kind == "subgraph":
                self.tabs.setCurrentIndex(OPERATORS_TAB)
                if record:
                    self._record(place)
                return
            is_op = place.kind == "op"
            table, proxy, model = ((self.op_table, self.op_proxy, self.op_model) if is_op
                                   else (self.tensor_table, self.tensor_proxy, self.tensor_model))
            self.tabs.setCurrentIndex(OPERATORS_TAB if is_op else TENSORS_TAB)
            source = model.index(model.source_row_of(place.index), 0)
            row = proxy.mapFromSource(source)
            if not row.isValid():  # hidden by the filter: show everything again
                self.filter_edit.clear()
                row = proxy.mapFromSource(source)
            table.selectionModel().setCurrentIndex(
                row, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
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
        self.detail.clear()
        self.model.close()
