"""The Compare page's Unmatched tab: the tensors of either model that have no counterpart, and why."""

from __future__ import annotations

import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...core.comparison.results import CandidateComparison
from ..widgets.messages import wrapped_label
from .model import ComparePage


class UnmatchedPanel(QWidget):
    """`count_changed(n)` so that the tab can say how many there are."""

    count_changed = Signal(int)

    def __init__(self, page: ComparePage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        layout = QVBoxLayout(self)
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
        page.changed.connect(self._page_changed)

    def _page_changed(self, aspect: str) -> None:
        if aspect in ("run", "candidate") and self.page.candidate is not None:
            self.show_candidate(self.page.candidate)

    def show_candidate(self, candidate: CandidateComparison) -> None:
        rows = candidate.unmatched
        self.unmatched_table.setRowCount(len(rows))
        for row, u in enumerate(rows):
            op = "model input" if u.op < 0 else f"{u.opcode} #{u.op}"
            for column, text in enumerate((u.model, str(u.tensor), u.name, op, u.reason)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.unmatched_table.setItem(row, column, item)
        skipped = candidate.weights_skipped
        text = (f"{len(rows)} tensor{'' if len(rows) == 1 else 's'} could not be matched between "
                f"{os.path.basename(self.page.reference.path)} and {candidate.file_name}."
                if rows else "Every activation tensor was matched.")
        if skipped.reference or skipped.candidate:
            text += (f" Weights made float by a DEQUANTIZE op are not layers: {skipped.reference} in the reference, "
                     f"{skipped.candidate} in the candidate.")
        self.unmatched_label.setText(text)
        self.count_changed.emit(len(rows))
