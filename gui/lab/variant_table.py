"""The quantization lab's table: the reference and each usable variant as a row, sortable by any
column (numbers as numbers; rows without a value last either way), the recommendation in bold."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from ...core.formatting import MISSING, format_metric, format_percent
from ...core.lab.output import not_full_integer_text, precision_text
from ...core.lab.results import VariantResult, slowdown
from ...core.lab.settings import LAB_DELEGATES
from ..widgets.tables import OrderedRowsModel

DELEGATE_TITLES = {"gpu": "GPU", "xnnpack": "XNNPACK", "edgetpu": "Edge TPU"}
# Translucent tints, readable on light and dark palettes (as on the Compare page).
RECOMMENDED_COLOR = QColor(39, 174, 96, 80)
RANDOM_COLOR = QColor(230, 126, 34, 64)
RULED_OUT_COLOR = QColor(128, 128, 128)
MODE_ROLE = Qt.ItemDataRole.UserRole + 4  # a row's mode key

COLUMNS = ("Mode", "Size (bytes)", "Ratio to float", "Ops by dtype", "Median ms", "p90 ms", "Top-1",
           "Output SQNR dB", "Worst layer (SQNR dB)", *(f"{DELEGATE_TITLES[d]} ops" for d in LAB_DELEGATES),
           "Fits budget")
(MODE_COLUMN, SIZE_COLUMN, RATIO_COLUMN, DTYPE_COLUMN, MEDIAN_COLUMN, P90_COLUMN, TOP1_COLUMN, SQNR_COLUMN,
 WORST_COLUMN) = range(9)
_FIRST_DELEGATE_COLUMN = 9
FITS_COLUMN = len(COLUMNS) - 1
_COLUMN_TIPS = {
    RATIO_COLUMN: "File size divided by the float reference's",
    DTYPE_COLUMN: "Ops of subgraph 0 by the dtype they compute in, then the QUANTIZE/DEQUANTIZE/CAST ops "
                  "between them; ⚠ marks a full-integer mode that left ops in float",
    MEDIAN_COLUMN: "Median latency with the LiteRT interpreter and XNNPACK",
    P90_COLUMN: "90th percentile latency",
    TOP1_COLUMN: "How often the top class agrees with the float reference's",
    SQNR_COLUMN: "Signal-to-quantization-noise ratio of the first output against the float reference",
    WORST_COLUMN: "The layer with the lowest SQNR against the float reference",
    FITS_COLUMN: "Whether the variant fits the device budget (hover a cell for why not)",
}
# Headers on two lines: the table's thirteen columns fit a 1200-pixel window.
_HEADERS = ("Mode", "Size\n(bytes)", "Ratio\nto float", "Ops by\ndtype", "Median\nms", "p90\nms", "Top-1",
            "Output\nSQNR dB", "Worst layer\n(SQNR dB)", *(f"{DELEGATE_TITLES[d]}\nops" for d in LAB_DELEGATES),
            "Fits\nbudget")
COLUMN_WIDTHS = (200, 75, 60, 170, 65, 55, 50, 70, 200, 60, 70, 70, 55)


class VariantTableModel(OrderedRowsModel):
    """The reference and the usable variants of a lab result, one row each, sortable by any
    column (numbers as numbers; rows without a value last either way)."""

    headers = COLUMNS

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._reference_size: int | None = None
        self._recommendation: str | None = None
        self._budget_set = False

    @property
    def variants(self) -> tuple[VariantResult, ...]:
        return self.items

    def set_variants(self, variants: Sequence[VariantResult], recommendation: str | None, budget_set: bool) -> None:
        """The rows of a result: a new run resets the table; the same variants re-marked (a changed
        budget) update in place, so the selection and the sort stay."""
        shown = tuple(v for v in variants if v.is_reference or v.usable)
        same_rows = [v.mode for v in shown] == [v.mode for v in self.variants]
        self._recommendation, self._budget_set = recommendation, budget_set
        reference = next((v for v in shown if v.is_reference), None)
        self._reference_size = reference.size_bytes if reference is not None else None
        if same_rows and shown:
            self.update_items(shown)
        else:
            self.set_items(shown)

    def variant(self, row: int) -> VariantResult:
        return self.item(row)

    def row_of_mode(self, mode: str) -> int:
        return next(row for row in range(self.rowCount()) if self.variant(row).mode == mode)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            if section >= _FIRST_DELEGATE_COLUMN and section != FITS_COLUMN:
                delegate = LAB_DELEGATES[section - _FIRST_DELEGATE_COLUMN]
                return f"Ops the {DELEGATE_TITLES[delegate]} delegate takes, by its rules, of all ops"
            return _COLUMN_TIPS.get(section)
        return None

    def _ratio(self, v: VariantResult) -> float | None:
        if not v.size_bytes or not self._reference_size:
            return None
        return v.size_bytes / self._reference_size

    def sort_key(self, position: int, column: int) -> float | str | None:
        return self.value(self.variants[position], column)

    def value(self, v: VariantResult, column: int) -> float | str | None:
        """The number (or text) a cell shows, None when it has none."""
        if column == MODE_COLUMN:
            return v.title.lower()
        if column == SIZE_COLUMN:
            return v.size_bytes
        if column == RATIO_COLUMN:
            return self._ratio(v)
        if column == DTYPE_COLUMN:  # sorted by the share of ops left in float
            p = v.precision
            counted = sum(p.ops_by_dtype.values()) if p else 0
            return None if not counted else p.float_op_count / counted
        if column in (MEDIAN_COLUMN, P90_COLUMN):
            if v.latency is None:
                return None
            return v.latency.median_ms if column == MEDIAN_COLUMN else v.latency.p90_ms
        if column == TOP1_COLUMN:
            return v.top1_agreement
        if column == SQNR_COLUMN:
            return None if v.output_sqnr_db is None or math.isnan(v.output_sqnr_db) else v.output_sqnr_db
        if column == WORST_COLUMN:
            return None if v.worst_layer is None or math.isnan(v.worst_layer.sqnr_db) else v.worst_layer.sqnr_db
        if column == FITS_COLUMN:
            return None if v.fits is None else float(v.fits)
        coverage = v.coverage(LAB_DELEGATES[column - _FIRST_DELEGATE_COLUMN])
        return None if coverage is None or not coverage.ops_total else coverage.ops_supported / coverage.ops_total

    def text(self, v: VariantResult, column: int) -> str:
        if column == MODE_COLUMN:
            mark = "★ " if v.mode == self._recommendation and not v.is_reference else ""
            return mark + v.title + (" (random cal.)" if v.calibrated_on_random else "")
        if column == SIZE_COLUMN:
            return f"{v.size_bytes:,}" if v.size_bytes else MISSING
        if column == RATIO_COLUMN:
            ratio = self._ratio(v)
            return MISSING if ratio is None else f"{ratio:.2f}"
        if column == DTYPE_COLUMN:
            if v.precision is None:
                return MISSING
            return ("⚠ " if v.not_full_integer else "") + precision_text(v.precision)
        if column in (MEDIAN_COLUMN, P90_COLUMN):
            value = self.value(v, column)
            slower = "▲ " if column == MEDIAN_COLUMN and self._slowdown(v) else ""
            return ("failed" if v.latency_error else MISSING) if value is None else f"{slower}{value:.3g}"
        if column == TOP1_COLUMN:
            if v.top1_agreement is None:
                return "failed" if v.evaluation_error else MISSING
            return format_percent(v.top1_agreement)
        if column == SQNR_COLUMN:
            if v.output_sqnr_db is None:
                return "failed" if v.evaluation_error else MISSING
            return format_metric("sqnr_db", v.output_sqnr_db)
        if column == WORST_COLUMN:
            w = v.worst_layer
            return MISSING if w is None else f"{w.op} #{w.op_index}: {format_metric('sqnr_db', w.sqnr_db)}"
        if column == FITS_COLUMN:
            return "" if v.fits is None else ("fits" if v.fits else "no")
        coverage = v.coverage(LAB_DELEGATES[column - _FIRST_DELEGATE_COLUMN])
        return MISSING if coverage is None else f"{coverage.ops_supported}/{coverage.ops_total}"

    def _slowdown(self, v: VariantResult) -> str | None:
        reference = next((r for r in self.variants if r.is_reference), None)
        return None if reference is None else slowdown(v, reference)

    def tooltip(self, v: VariantResult, column: int) -> str:
        if column == DTYPE_COLUMN:
            if v.precision is None:
                return "not read"
            if v.not_full_integer:
                return not_full_integer_text(v)
            floats = v.precision.float_summary()
            return "Full integer: every layer computes in integers" if v.precision.full_integer else (
                f"In float: {floats}" if floats else "")
        if column == MODE_COLUMN:
            lines = [v.path or "", v.contents, *v.notes]
            if v.mode == self._recommendation and not v.is_reference:
                lines.insert(0, "Recommended: the smallest error of the variants that fit the budget"
                             if self._budget_set else "Recommended: the smallest variant within the default "
                                                      "tolerances (see the line under the table)")
            if v.calibrated_on_random:
                lines.insert(0, "Calibrated on RANDOM inputs: its activation ranges do not come from real data")
            return "\n".join(line for line in lines if line)
        if column in (MEDIAN_COLUMN, P90_COLUMN):
            if v.latency is None:
                return v.latency_error or "not measured"
            slower = self._slowdown(v)
            return (f"{slower}\n" if slower else "") + (f"{v.latency.runs} runs on {v.latency.threads} thread{'s' if v.latency.threads > 1 else ''}; "
                    f"XNNPACK made {v.latency.delegated_nodes} partition"
                    f"{'' if v.latency.delegated_nodes == 1 else 's'}")
        if column in (TOP1_COLUMN, SQNR_COLUMN):
            return v.evaluation_error or ("the reference itself" if v.is_reference else "")
        if column == WORST_COLUMN:
            return "" if v.worst_layer is None else f"{v.worst_layer.tensor} (output of op #{v.worst_layer.op_index})"
        if column == FITS_COLUMN:
            if v.fits is None:
                return "No budget set" if not self._budget_set else ""
            return "Fits every limit of the budget" if v.fits else "\n".join(v.ruled_out)
        if column >= _FIRST_DELEGATE_COLUMN:
            c = v.coverage(LAB_DELEGATES[column - _FIRST_DELEGATE_COLUMN])
            if c is None:
                return "not analysed"
            whole = "the whole model" if c.whole_model else f"{c.ops_total - c.ops_supported} ops stay on the CPU"
            return f"{c.ops_supported} of {c.ops_total} ops in {c.partitions} partition" \
                   f"{'' if c.partitions == 1 else 's'}: {whole}"
        return ""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        v = self.variant(index.row())
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(v, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(v, column) or None
        if role == MODE_ROLE:
            return v.mode
        recommended = v.mode == self._recommendation and not v.is_reference
        if role == Qt.ItemDataRole.BackgroundRole:
            if recommended:
                return QBrush(RECOMMENDED_COLOR)
            if v.calibrated_on_random:
                return QBrush(RANDOM_COLOR)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and v.fits is False:
            return QBrush(RULED_OUT_COLOR)
        if role == Qt.ItemDataRole.FontRole and recommended:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column not in (MODE_COLUMN, DTYPE_COLUMN, WORST_COLUMN,
                                                                        FITS_COLUMN):  # numbers
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
