"""Table models the pages share: rows with precomputed cells (`RowTableModel`, the op and tensor
tables), a fast filter proxy, the base of result tables that sort their own items
(`OrderedRowsModel`), and the set-up every sortable table view of the app shares.

Rows are turned into display strings, sort keys and a search text once (in the loader's thread
for big models); the Qt models only index into them, so a 2,000-op table scrolls, sorts and
filters without recomputing anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


SORT_ROLE = Qt.ItemDataRole.UserRole + 1
INDEX_ROLE = Qt.ItemDataRole.UserRole + 2  # operator or tensor index of the row


@dataclass(frozen=True)
class Row:
    index: int
    cells: tuple[str, ...]
    sort_keys: tuple[Any, ...]
    search_text: str  # lower-case text the filter matches against
    tooltip: str = ""
    color: QColor | None = None
    # Lower-case text per filter field ("op", "name", "dtype", "shape"); the first is the field
    # a plain filter word tries before the whole row (an op's type, a tensor's name).
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExtraColumn:
    """A column added after the rows were built (a delegate's verdict per op, what the runtime did).

    Values are keyed by the row's operator/tensor index; rows without one show `default`.
    """

    key: str
    title: str
    header_tooltip: str = ""
    cells: dict[int, str] = field(default_factory=dict)
    sort_keys: dict[int, Any] = field(default_factory=dict)
    tooltips: dict[int, str] = field(default_factory=dict)
    backgrounds: dict[int, QBrush] = field(default_factory=dict)
    default: str = ""


class RowTableModel(QAbstractTableModel):
    """Rows with precomputed cells and sort keys, plus extra columns inserted at `extra_position`."""

    def __init__(self, columns: tuple[str, ...], rows: list[Row], parent: Any = None,
                 extra_position: int | None = None) -> None:
        super().__init__(parent)
        self.columns = columns  # the rows' own columns; extra columns come on top
        self.rows = list(rows)
        self.extra_position = len(columns) if extra_position is None else extra_position
        self._extras: list[ExtraColumn] = []
        self._row_backgrounds: dict[int, QBrush] = {}
        self._row_of = {row.index: i for i, row in enumerate(rows)}
        # The sorted column by identity (an int for the rows' own, a key for an extra
        # column), so inserting or removing an extra column keeps the sort.
        self._sort: tuple[int | str, Qt.SortOrder] | None = None

    def set_rows(self, rows: list[Row]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self._row_of = {row.index: i for i, row in enumerate(self.rows)}
        self.endResetModel()
        if self._sort is not None:
            self._sort_by(*self._sort)

    # -- extra columns and row backgrounds -----------------------------------------------

    def _column(self, column: int) -> int | ExtraColumn:
        """The rows' own column number, or the extra column shown at `column`."""
        if column < self.extra_position:
            return column
        if column < self.extra_position + len(self._extras):
            return self._extras[column - self.extra_position]
        return column - len(self._extras)

    def extra_column(self, key: str) -> int | None:
        """Where the extra column `key` is shown, or None."""
        for i, extra in enumerate(self._extras):
            if extra.key == key:
                return self.extra_position + i
        return None

    def set_extra_column(self, extra: ExtraColumn, after: str | None = None) -> int:
        """Add or replace the extra column with `extra.key` (placed after the extra column `after`
        when that is shown, else first); returns where it is shown."""
        at = self.extra_column(extra.key)
        if at is not None:
            self._extras[at - self.extra_position] = extra
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, at, at)
            if self.rows:
                self.dataChanged.emit(self.index(0, at), self.index(len(self.rows) - 1, at))
        else:
            previous = self.extra_column(after) if after is not None else None
            at = self.extra_position if previous is None else previous + 1
            self.beginInsertColumns(QModelIndex(), at, at)
            self._extras.insert(at - self.extra_position, extra)
            self.endInsertColumns()
        if self._sort is not None and self._sort[0] == extra.key:
            self._sort_by(*self._sort)
        return at

    def remove_extra_column(self, key: str) -> None:
        at = self.extra_column(key)
        if at is None:
            return
        self.beginRemoveColumns(QModelIndex(), at, at)
        del self._extras[at - self.extra_position]
        self.endRemoveColumns()
        if self._sort is not None and self._sort[0] == key:
            self._sort = None

    def set_row_backgrounds(self, backgrounds: dict[int, QBrush]) -> None:
        """Whole-row backgrounds by row index (an extra column's own background wins in its cells)."""
        if not backgrounds and not self._row_backgrounds:
            return
        self._row_backgrounds = backgrounds
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, self.columnCount() - 1),
                                  [Qt.ItemDataRole.BackgroundRole])

    # -- sorting ---------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Reorder rows by their precomputed keys: Python's sort, not one call per comparison."""
        if not 0 <= column < self.columnCount():
            return
        which = self._column(column)
        self._sort_by(which.key if isinstance(which, ExtraColumn) else which, order)

    def _sort_by(self, column: int | str, order: Qt.SortOrder) -> None:
        if isinstance(column, str):
            extra = next((e for e in self._extras if e.key == column), None)
            if extra is None:
                return
            keys, default = extra.sort_keys, extra.default

            def value_of(row: Row) -> Any:
                return keys.get(row.index, default)
        else:
            def value_of(row: Row) -> Any:
                return row.sort_keys[column]
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old_rows = {id(row): i for i, row in enumerate(self.rows)}

        def key(row: Row) -> tuple[int, Any]:
            value = value_of(row)
            return (0, value) if isinstance(value, (int, float)) else (1, str(value))

        self.rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self._row_of = {row.index: i for i, row in enumerate(self.rows)}
        new_position = [0] * len(self.rows)
        for i, row in enumerate(self.rows):
            new_position[old_rows[id(row)]] = i
        persistent = self.persistentIndexList()
        self.changePersistentIndexList(
            persistent, [self.index(new_position[p.row()], p.column()) for p in persistent])
        self.layoutChanged.emit()

    # -- Qt model interface ----------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns) + len(self._extras)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < self.columnCount():
            return None
        which = self._column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return which.title if isinstance(which, ExtraColumn) else self.columns[which]
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(which, ExtraColumn):
            return which.header_tooltip or None
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == INDEX_ROLE:
            return row.index
        which = self._column(index.column())
        if isinstance(which, ExtraColumn):
            if role == Qt.ItemDataRole.DisplayRole:
                return which.cells.get(row.index, which.default)
            if role == SORT_ROLE:
                return which.sort_keys.get(row.index, which.default)
            if role == Qt.ItemDataRole.ToolTipRole:
                return which.tooltips.get(row.index) or which.cells.get(row.index, which.default) or None
            if role == Qt.ItemDataRole.BackgroundRole:
                return which.backgrounds.get(row.index) or self._row_backgrounds.get(row.index)
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[which]
        if role == SORT_ROLE:
            return row.sort_keys[which]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip or row.cells[which]
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._row_backgrounds.get(row.index)
        if role == Qt.ItemDataRole.ForegroundRole and row.color is not None and which == 1:
            return QBrush(row.color)
        return None

    def source_row_of(self, item_index: int) -> int:
        """Row number of an operator/tensor index (rows may be sorted)."""
        return self._row_of[item_index]


FILTER_FIELDS = ("op", "name", "dtype", "shape")


@dataclass(frozen=True)
class FilterQuery:
    """What the filter box asks for. `op:CONV_2D name:conv dtype:int8` matches rows where every
    named field matches its regular expression (fields a row does not have never match); text
    without a field prefix is one regular expression over the row's first field (an op's type, a
    tensor's name) when it matches that field in some row, else over the whole row's text."""

    fields: tuple[tuple[str, re.Pattern[str]], ...]
    plain: re.Pattern[str] | None
    error: str = ""

    @staticmethod
    def parse(text: str) -> FilterQuery | None:
        text = text.strip()
        if not text:
            return None
        tokens = text.split()
        prefixed = [t for t in tokens if t.partition(":")[0].lower() in FILTER_FIELDS and ":" in t]
        errors = []

        def compile_(pattern: str) -> re.Pattern[str]:
            try:
                return re.compile(pattern, re.IGNORECASE)
            except re.error as e:
                errors.append(f"{pattern!r} is not a regular expression ({e}); matching it as plain text")
                return re.compile(re.escape(pattern), re.IGNORECASE)

        if prefixed and len(prefixed) == len(tokens):
            fields = tuple((t.partition(":")[0].lower(), compile_(t.partition(":")[2])) for t in tokens)
            return FilterQuery(fields, None, "; ".join(errors))
        plain = compile_(text)
        return FilterQuery((), plain, "; ".join(errors))


class FilterProxy(QSortFilterProxyModel):
    """Filters rows by a FilterQuery over their precomputed field texts and search text.

    Sorting is handed to the source model, which sorts on precomputed keys; the
    proxy keeps the source order (per-comparison Python calls stall on big tables).
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._query: FilterQuery | None = None
        self._primary_only = False  # a plain word matched the first field of some row: search only it
        self._accepted: frozenset[int] | None = None
        self.pattern_error = ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def set_filter_text(self, text: str) -> None:
        self.beginFilterChange()  # Qt 6.10+: replaces the deprecated invalidateRowsFilter()
        self._query = FilterQuery.parse(text)
        self.pattern_error = self._query.error if self._query else ""
        self._primary_only = False
        if self._query is not None and self._query.plain is not None:
            plain = self._query.plain
            self._primary_only = any(row.fields and plain.search(row.fields[0][1]) for row in self.sourceModel().rows)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _matches(self, row: Row) -> bool:
        query = self._query
        if query is None:
            return True
        if query.plain is not None:
            if self._primary_only:
                return bool(row.fields) and query.plain.search(row.fields[0][1]) is not None
            return query.plain.search(row.search_text) is not None
        fields = dict(row.fields)
        return all(name in fields and pattern.search(fields[name]) is not None for name, pattern in query.fields)

    def set_accepted_indices(self, indices: frozenset[int] | None) -> None:
        """Show only rows with these operator/tensor indices (None: all), on top of the text filter."""
        if indices == self._accepted:
            return
        self.beginFilterChange()
        self._accepted = indices
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def accepted_indices(self) -> frozenset[int] | None:
        return self._accepted

    def matching_indices(self) -> frozenset[int] | None:
        """The operator/tensor indices of the rows the text filter matches; None without a filter."""
        if self._query is None:
            return None
        return frozenset(row.index for row in self.sourceModel().rows if self._matches(row))

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        row = self.sourceModel().rows[source_row]
        if self._accepted is not None and row.index not in self._accepted:
            return False
        return self._matches(row)


def make_sortable_table(model: QAbstractItemModel, widths: tuple[int, ...], *, row_height: int = 22,
                        multi_select: bool = False, alternating: bool = False,
                        stretch_last: bool = True) -> QTableView:
    """A table view of whole rows, sortable by clicking a header, with fixed row heights and
    column widths: measuring the contents of thousands of rows stalls the GUI."""
    table = QTableView()
    table.setModel(model)
    # Rows arrive in their own order: enable sorting without sorting now.
    table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi_select
                           else QAbstractItemView.SelectionMode.SingleSelection)
    table.setWordWrap(False)
    table.setAlternatingRowColors(alternating)
    vertical = table.verticalHeader()
    vertical.setVisible(False)
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(row_height)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(stretch_last)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)
    return table


class OrderedRowsModel(QAbstractTableModel):
    """A table over a tuple of items shown in a display order of its own: sorting reorders the
    rows by `sort_key` (items without a key go last either way: they are neither good nor bad),
    ties keep the items' order, and the selection follows its item. Subclasses give `headers`,
    `sort_key` and `data`."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.items: tuple[Any, ...] = ()
        self._order: list[int] = []  # row -> position in `items`
        self._row_of: dict[int, int] = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_items(self, items: Sequence[Any]) -> None:
        """New rows, sorted as the table last was."""
        self.beginResetModel()
        self.items = tuple(items)
        self._order = list(range(len(self.items)))
        self._row_of = {p: p for p in self._order}
        self.endResetModel()
        self.resort()

    def update_items(self, items: Sequence[Any]) -> None:
        """The same rows with new contents (as many, in the same order): repainted in place, so
        the selection stays."""
        assert len(items) == len(self.items)
        self.items = tuple(items)
        if self.items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.items) - 1, self.columnCount() - 1))
        self.resort()

    def resort(self) -> None:
        if self._sort is not None:
            self.sort(*self._sort)

    def position(self, row: int) -> int:
        """The item shown in `row`, as its position in `items`."""
        return self._order[row]

    def row_of(self, position: int) -> int:
        return self._row_of[position]

    def item(self, row: int) -> Any:
        return self.items[self._order[row]]

    def sort_key(self, position: int, column: int) -> Any | None:
        raise NotImplementedError

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.headers)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.headers):
            return
        self._sort = (column, order)
        keys = {p: self.sort_key(p, column) for p in range(len(self.items))}
        valued = sorted((p for p in keys if keys[p] is not None), key=lambda p: keys[p],
                        reverse=order == Qt.SortOrder.DescendingOrder)
        positions = valued + [p for p in keys if keys[p] is None]
        self.layoutAboutToBeChanged.emit()
        old_order = self._order
        self._order = positions
        self._row_of = {p: row for row, p in enumerate(positions)}
        persistent = self.persistentIndexList()  # the selection follows its item
        self.changePersistentIndexList(
            persistent, [self.index(self._row_of[old_order[p.row()]], p.column()) for p in persistent])
        self.layoutChanged.emit()
