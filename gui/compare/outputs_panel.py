"""The Compare page's Outputs tab: each output's error, and for a classifier the top-k classes of
the reference and the candidate on every input, with the input's thumbnail."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QLabel, QScrollArea, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ...core.comparison.results import CandidateComparison, RankedClass
from ...core.formatting import format_metric
from ...core.metrics import METRIC_NAMES, METRIC_TITLES
from ..widgets.messages import wrapped_label
from .layers_panel import thumbnail_icon
from .model import ComparePage

DIFFERS_COLOR = QColor(192, 57, 43, 70)


def top_text(top: tuple[RankedClass, ...]) -> str:
    lines = []
    for c in top:
        name = c.label if c.label != str(c.index) else f"class {c.index}"
        lines.append(f"{name}  {c.score:.3f}")
    return "\n".join(lines)


def fixed_table(table: QTableWidget, widths: tuple[int, ...]) -> None:
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    table.horizontalHeader().setStretchLastSection(True)
    for column, width in enumerate(widths):
        table.setColumnWidth(column, width)


class OutputsPanel(QScrollArea):
    def __init__(self, page: ComparePage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page = page
        self.setWidgetResizable(True)
        self.content = QWidget()
        self.outputs_layout = QVBoxLayout(self.content)
        self.setWidget(self.content)
        self.output_metrics_table: QTableWidget | None = None
        self.output_headers: list[QLabel] = []
        self.output_tables: list[QTableWidget] = []
        page.changed.connect(self._page_changed)

    def _page_changed(self, aspect: str) -> None:
        if aspect in ("run", "candidate") and self.page.candidate is not None:
            self.show_candidate(self.page.candidate)

    def show_candidate(self, candidate: CandidateComparison) -> None:
        while self.outputs_layout.count():
            widget = self.outputs_layout.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.output_headers, self.output_tables = [], []
        metrics = QTableWidget(len(candidate.outputs), 2 + len(METRIC_NAMES))
        metrics.setHorizontalHeaderLabels(["Output", "Kind", *(METRIC_TITLES[m] for m in METRIC_NAMES)])
        for row, out in enumerate(candidate.outputs):
            cells = [out.name, out.kind] + [
                "not matched" if out.metrics is None else format_metric(m, getattr(out.metrics, m))
                for m in METRIC_NAMES]
            for column, text in enumerate(cells):
                metrics.setItem(row, column, QTableWidgetItem(text))
        fixed_table(metrics, (220, 80))
        metrics.verticalHeader().setDefaultSectionSize(24)
        # As tall as its rows (and a scroll bar): the top-k tables below need the room.
        metrics.setFixedHeight(metrics.horizontalHeader().sizeHint().height() + 24 * len(candidate.outputs)
                               + metrics.horizontalScrollBar().sizeHint().height() + 2 * metrics.frameWidth() + 2)
        self.output_metrics_table = metrics
        self.outputs_layout.addWidget(QLabel("Outputs (the mean over the inputs)"))
        self.outputs_layout.addWidget(metrics)
        samples = self.page.run.run_samples if self.page.run is not None else ()
        for out in candidate.outputs:
            if out.kind != "classifier" or not out.top:
                continue
            agree = sum(t.agrees for t in out.top)
            header = wrapped_label(
                f"{out.name}: top-1 agreement {out.top1_agreement:.0%} ({agree} of {len(out.top)} inputs) · "
                f"top-{out.k} overlap {out.topk_overlap:.0%}"
                + (f" · labels from {out.labels_source}" if out.labels_source else " · no labels: class numbers"))
            header.setStyleSheet("font-weight: bold")
            table = QTableWidget(len(out.top), 3)
            table.setHorizontalHeaderLabels(["Input", f"Reference top {out.k}", f"Candidate top {out.k}"])
            table.setIconSize(QSize(72, 72))
            differs = QBrush(DIFFERS_COLOR)
            for row, top in enumerate(out.top):
                sample = samples[row] if row < len(samples) else None
                name = QTableWidgetItem(top.input)
                icon = thumbnail_icon(sample.thumbnail) if sample is not None else None
                if icon is not None:
                    name.setIcon(icon)
                items = [name, QTableWidgetItem(top_text(top.reference)), QTableWidgetItem(top_text(top.candidate))]
                if not top.agrees:
                    for item in items:
                        item.setBackground(differs)
                        item.setToolTip("The best class differs")
                for column, item in enumerate(items):
                    table.setItem(row, column, item)
            fixed_table(table, (200, 220))
            table.verticalHeader().setDefaultSectionSize(max(78, 16 * out.k + 6))
            table.setMinimumHeight(min(420, 30 + table.verticalHeader().defaultSectionSize() * len(out.top)))
            self.outputs_layout.addWidget(header)
            self.outputs_layout.addWidget(table)
            self.output_headers.append(header)
            self.output_tables.append(table)
        self.outputs_layout.addStretch(1)
