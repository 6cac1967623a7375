"""The Compare page's table of matched layers: one row per matched tensor of the shown candidate,
with how it was matched and every metric (the mean over the inputs), sortable by any column."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ...core.comparison.results import WORST_COUNT, LayerError
from ...core.formatting import format_metric
from ...core.metrics import METRIC_NAMES, METRIC_TITLES, SUSPECT_RMSE_OVER_SCALE
from ..widgets.tables import OrderedRowsModel

LAYER_ROLE = Qt.ItemDataRole.UserRole + 3  # a row's position in the candidate's layers
# Translucent tints, readable on light and dark palettes (as on the Operators page).
SUSPECT_COLOR = QColor(230, 126, 34, 64)
WORST_COLOR = QColor(192, 57, 43, 90)


def metric_value(metrics: Any, name: str) -> float:
    value = getattr(metrics, name)
    return math.nan if value is None else float(value)


# After the end-to-end metrics: the op alone on the reference's activations (isolated), and
# the same without its input rounding (own), on which the suspect flag is judged.
ISOLATED_COLUMNS = (("isolated", "sqnr_db", "isolated SQNR (dB)"), ("isolated_own", "sqnr_db", "own SQNR (dB)"),
                    ("isolated_own", "rmse_over_scale", "own RMSE / scale"))
LAYER_COLUMNS = ("#", "Op", "Tensor", "Matched by", *(METRIC_TITLES[m] for m in METRIC_NAMES),
                 *(title for _, _, title in ISOLATED_COLUMNS))
FIRST_METRIC_COLUMN = 4
FIRST_ISOLATED_COLUMN = FIRST_METRIC_COLUMN + len(METRIC_NAMES)
ISOLATED_TIPS = {
    "isolated": "The candidate's op alone on the reference's activations, its inputs rounded as the candidate "
                "rounds them: its own error plus its inputs' rounding, nothing from upstream",
    "isolated_own": "The candidate's op alone against the reference's op on the same rounded inputs: the op's own "
                    "error (weights, arithmetic, output rounding), as QuantizationDebugger measures a layer. Rows "
                    f"above {SUSPECT_RMSE_OVER_SCALE} steps are tinted as suspect",
}
LAYER_WIDTHS = (48, 150, 260, 86)


class LayerTableModel(OrderedRowsModel):
    """The matched tensors of one candidate: op, tensor, how matched, every metric end to end (the
    mean over inputs) and the isolated figures. Suspect rows (the op's own error above
    SUSPECT_RMSE_OVER_SCALE quantization steps) and the worst layers by the plotted metric are tinted."""

    headers = LAYER_COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._worst: frozenset[int] = frozenset()
        self._worst_metric = "sqnr_db"

    @property
    def layers(self) -> tuple[LayerError, ...]:
        return self.items

    def set_layers(self, layers: Sequence[LayerError], worst: Sequence[int], metric: str) -> None:
        """A candidate's layers; `worst` are the positions the plot rings by `metric`."""
        self._worst, self._worst_metric = frozenset(worst), metric
        self.set_items(layers)

    def set_worst(self, worst: Sequence[int], metric: str) -> None:
        self._worst, self._worst_metric = frozenset(worst), metric
        if self.layers:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.layers) - 1, self.columnCount() - 1),
                                  [Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole])

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(LAYER_COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return LAYER_COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section >= FIRST_ISOLATED_COLUMN:
            return ISOLATED_TIPS[ISOLATED_COLUMNS[section - FIRST_ISOLATED_COLUMN][0]]
        if role == Qt.ItemDataRole.ToolTipRole and section >= FIRST_METRIC_COLUMN:
            return ("End to end (the error accumulated up to this layer), the mean over the inputs (SQNR: over the "
                    "inputs where it is finite)")
        return None

    def sort_key(self, position: int, column: int) -> float | str | None:
        layer = self.layers[position]
        if column == 0:
            return layer.op_index
        if column < FIRST_METRIC_COLUMN:
            return self._text(layer, column).lower()
        metrics, name = self._metric_of(layer, column)
        if metrics is None:
            return None
        value = metric_value(metrics, name)
        return None if math.isnan(value) else value

    @staticmethod
    def _metric_of(layer: LayerError, column: int) -> tuple[Any, str]:
        """The metrics a metric column reads (None: not measured) and the metric's name."""
        if column >= FIRST_ISOLATED_COLUMN:
            attribute, name, _ = ISOLATED_COLUMNS[column - FIRST_ISOLATED_COLUMN]
            return getattr(layer, attribute), name
        return layer.metrics, METRIC_NAMES[column - FIRST_METRIC_COLUMN]

    def _text(self, layer: LayerError, column: int) -> str:
        if column == 0:
            return "input" if layer.op_index < 0 else str(layer.op_index)
        if column == 1:
            return layer.op if layer.candidate_op == layer.op else f"{layer.op} / {layer.candidate_op}"
        if column == 2:
            return layer.reference_name
        if column == 3:
            return layer.how
        metrics, name = self._metric_of(layer, column)
        return "–" if metrics is None else format_metric(name, getattr(metrics, name))

    def _tooltip(self, position: int, layer: LayerError, column: int) -> str:
        lines = [f"reference: {layer.reference_name} (tensor {layer.reference_tensor}, op {layer.op} "
                 f"#{layer.op_index})" if layer.op_index >= 0 else
                 f"reference: {layer.reference_name} (tensor {layer.reference_tensor}, a model input)",
                 f"candidate: {layer.candidate_name} (tensor {layer.candidate_tensor}, {layer.candidate_dtype}, "
                 f"op {layer.candidate_op})"]
        if position in self._worst:
            lines.append(f"among the {WORST_COUNT} worst by {METRIC_TITLES[self._worst_metric]}")
        if layer.suspect:
            assert layer.isolated_own is not None
            lines.append(f"suspect: run alone, the op's own error is {layer.isolated_own.rmse_over_scale:.2f} "
                         f"quantization steps (its output's rounding alone gives 0.29; above "
                         f"{SUSPECT_RMSE_OVER_SCALE} is suspect)")
        return "\n".join(lines)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        position = self.position(index.row())
        layer = self.layers[position]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(layer, column)
        if role == LAYER_ROLE:
            return position
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(position, layer, column)
        if role == Qt.ItemDataRole.BackgroundRole:
            if position in self._worst:
                return QBrush(WORST_COLOR)
            if layer.suspect:
                return QBrush(SUSPECT_COLOR)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and (column == 0 or column >= FIRST_METRIC_COLUMN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
