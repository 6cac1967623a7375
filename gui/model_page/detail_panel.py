"""The detail panel: everything about the selected operator or tensor.

Text and links in a QTextBrowser (links `op:N`, `tensor:N`, `subgraph:N` are
emitted as `link_activated`), quantization one row per channel, statistics,
histogram and per-channel ranges (pyqtgraph, created once and updated with
setData), the first values, and export to .npy. The values are summarised by core
(inspection/tensor_values.py) in a background job, so a 16-million-element weight
never freezes the window.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...core.errors import ModelError
from ...core.formatting import format_bytes, format_count, format_quantization, format_shape, tensor_shape_text
from ...core.inspection.stats import SubgraphStats
from ...core.inspection.summary import jsonable
from ...core.inspection.tensor_values import FIRST_VALUES, TensorValues, tensor_values
from ...core.reading.model import BlockwiseQuantization, Model, Quantization, Subgraph, Tensor
from ...core.reading.tensor_data import tensor_array
from ..jobs import Job


class QuantizationTableModel(QAbstractTableModel):
    """One row per channel (or one row for per-tensor): scale, zero point, min, max."""

    COLUMNS = ("channel", "scale", "zero point", "min", "max")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._scale = np.zeros(0)
        self._zero_point = np.zeros(0, dtype=np.int64)
        self._min = np.zeros(0)
        self._max = np.zeros(0)

    def set_quantization(self, q: Quantization | None, value_min: np.ndarray | None = None,
                         value_max: np.ndarray | None = None) -> None:
        """Stored min/max when the file has them, else the range of the dequantized values."""
        self.beginResetModel()
        if q is None:
            self._scale = np.zeros(0)
            self._zero_point = np.zeros(0, dtype=np.int64)
            self._min = self._max = np.zeros(0)
        else:
            self._scale, self._zero_point = q.scale, q.zero_point
            n = q.scale.size
            if q.min.size == n and q.max.size == n and n:
                self._min, self._max = q.min, q.max
            elif value_min is not None and value_max is not None and value_min.size == n:
                self._min, self._max = value_min, value_max
            else:
                self._min = self._max = np.full(n, np.nan)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else int(self._scale.size)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        r, c = index.row(), index.column()
        if c == 0:
            return str(r)
        if c == 1:
            return f"{float(self._scale[r]):.8g}"
        if c == 2:
            return str(int(self._zero_point[r]))
        value = float((self._min if c == 3 else self._max)[r])
        return "—" if np.isnan(value) else f"{value:.6g}"


class DetailPanel(QWidget):
    link_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model: Model | None = None
        self._tensor: Tensor | None = None
        self._job: Job | None = None
        self._plots: Any = None  # created on first use: pyqtgraph is slow to import

        content = QWidget()
        layout = QVBoxLayout(content)
        self.info = QTextBrowser()
        self.info.setOpenLinks(False)
        self.info.anchorClicked.connect(lambda url: self.link_activated.emit(url.toString()))
        self.info.setMinimumHeight(220)
        layout.addWidget(self.info, 3)

        self.quant_label = QLabel()
        self.quant_label.setWordWrap(True)
        layout.addWidget(self.quant_label)
        self.quant_model = QuantizationTableModel(self)
        self.quant_table = QTableView()
        self.quant_table.setModel(self.quant_model)
        self.quant_table.verticalHeader().setVisible(False)
        self.quant_table.setMinimumHeight(120)
        layout.addWidget(self.quant_table, 2)

        self.stats_label = QLabel()
        self.stats_label.setWordWrap(True)
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.stats_label)
        self.plot_area = QVBoxLayout()
        layout.addLayout(self.plot_area)

        self.values_text = QPlainTextEdit()
        self.values_text.setReadOnly(True)
        self.values_text.setMaximumHeight(120)
        layout.addWidget(self.values_text)
        buttons = QHBoxLayout()
        self.export_button = QPushButton("Export values to .npy…")
        self.export_button.clicked.connect(self.export_values)
        buttons.addWidget(self.export_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.clear()

    # -- state ------------------------------------------------------------------

    def clear(self) -> None:
        self._cancel_job()
        self._tensor = None
        self.info.setHtml('<p style="color:#666">Select an operator or a tensor.</p>')
        self._show_values_widgets(False)
        self.quant_model.set_quantization(None)
        self.quant_label.hide()
        self.quant_table.hide()

    def _cancel_job(self) -> None:
        if self._job is not None:
            self._job.drop()
            self._job = None

    def _show_values_widgets(self, visible: bool) -> None:
        self.stats_label.setVisible(visible)
        self.values_text.setVisible(visible)
        self.export_button.setVisible(visible)
        if self._plots is not None:
            self._plots.widget.setVisible(visible)

    # -- operator -----------------------------------------------------------------

    def show_operator(self, model: Model, sg: Subgraph, op_index: int, stats: SubgraphStats,
                      delegate_html: str = "") -> None:
        """`delegate_html`: what the selected delegate says about the op, shown under the heading."""
        self._cancel_job()
        self._model, self._tensor = model, None
        op = sg.operators[op_index]
        producers = sg.producers
        consumers = sg.consumers
        kind = "Flex op" if op.is_flex else ("custom op" if op.is_custom else "builtin op")
        html = [f"<h3>{escape(op.opcode)} <span style='color:#666'>#{op.index} · version {op.version} · {kind}</span></h3>"]
        macs = stats.macs_by_operator.get(op.index)
        if macs:
            html.append(f"<p>{format_count(macs)} MACs ({macs:,})</p>")
        html.append(delegate_html)
        if op.subgraph_refs:
            html.append("<p>" + ", ".join(
                f'{escape(k)}: <a href="subgraph:{v}">subgraph {v}</a>' for k, v in op.subgraph_refs.items()) + "</p>")
        for label, idxs in (("Inputs", op.inputs), ("Outputs", op.outputs), ("Intermediates", op.intermediates)):
            if not idxs:
                continue
            html.append(f"<h4>{label}</h4><table>")
            for n, i in enumerate(idxs):
                if i < 0:
                    html.append(f"<tr><td>{n}</td><td colspan='2' style='color:#666'>absent (optional)</td></tr>")
                    continue
                t = sg.tensors[i]
                link = []
                if label == "Inputs" and i in producers:
                    link.append(f'from <a href="op:{producers[i]}">op {producers[i]} {escape(sg.operators[producers[i]].opcode)}</a>')
                if label == "Outputs":
                    link.extend(f'to <a href="op:{c}">op {c} {escape(sg.operators[c].opcode)}</a>' for c in consumers.get(i, []))
                q = format_quantization(t.quantization)
                html.append(
                    f'<tr><td>{n}</td><td><a href="tensor:{i}">t{i} {escape(t.name)}</a></td>'
                    f"<td>{escape(tensor_shape_text(t))} {t.dtype}{' const' if t.is_constant else ''}"
                    f"{' · ' + escape(q) if q else ''}</td><td>{'; '.join(link)}</td></tr>")
            html.append("</table>")
        if op.options:
            html.append(f"<h4>Options <span style='color:#666'>({escape(op.options_type or '')})</span></h4><table>")
            for k, v in op.options.items():
                html.append(f"<tr><td>{escape(k)}</td><td>{escape(_short(v))}</td></tr>")
            html.append("</table>")
        if op.custom_options_size:
            value = op.custom_options if op.custom_options_raw is None else op.custom_options_raw
            html.append(f"<h4>Custom options</h4><p>{escape(op.custom_options_format or '')}, "
                        f"{op.custom_options_size:,} bytes</p><pre>{escape(_short(value, 4000))}</pre>")
        self.info.setHtml("".join(html))
        self._show_values_widgets(False)
        self.quant_label.hide()
        self.quant_table.hide()

    # -- tensor -------------------------------------------------------------------

    def show_tensor(self, model: Model, sg: Subgraph, tensor_index: int) -> None:
        self._cancel_job()
        self._model = model
        t = sg.tensors[tensor_index]
        self._tensor = t
        producers = sg.producers
        consumers = sg.consumers.get(t.index, [])
        html = [f"<h3>{escape(t.name) or f't{t.index}'} <span style='color:#666'>#{t.index}</span></h3><table>"]
        rows = [
            ("shape", escape(tensor_shape_text(t)) + ("" if t.shape_signature == t.shape else f" (stored {format_shape(t.shape)})")),
            ("dtype", t.dtype),
            ("kind", "constant" if t.is_constant else ("variable" if t.is_variable else "activation")),
            ("bytes", format_bytes(t.size_bytes)),
            ("buffer", str(t.buffer) + (f" (external buffer {t.external_buffer})" if t.external_buffer else "")),
        ]
        if t.sparsity is not None:
            rows.append(("sparsity", escape(f"traversal {list(t.sparsity.traversal_order)}, "
                                            f"{[d.format for d in t.sparsity.dim_metadata]}")))
        if t.index in producers:
            p = producers[t.index]
            rows.append(("written by", f'<a href="op:{p}">op {p} {escape(sg.operators[p].opcode)}</a>'))
        if consumers:
            rows.append(("read by", ", ".join(f'<a href="op:{c}">op {c} {escape(sg.operators[c].opcode)}</a>' for c in consumers)))
        html.extend(f"<tr><th align='left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        html.append("</table>")
        self.info.setHtml("".join(html))

        q = t.quantization
        if q is not None and q.is_quantized:
            if isinstance(q.details, BlockwiseQuantization):
                self.quant_label.setText(
                    f"Blockwise quantization: blocks of {q.details.block_size}, scales in tensor "
                    f"t{q.details.scales_tensor}" + (f", zero points in t{q.details.zero_points_tensor}"
                                                    if q.details.zero_points_tensor >= 0 else ""))
            elif q.per_channel:
                dim = q.quantized_dimension
                size = t.shape[dim] if 0 <= dim < len(t.shape) else "?"
                self.quant_label.setText(f"Per-channel quantization: {q.num_channels} channels along axis {dim} "
                                         f"(dimension of size {size}); real = scale × (q − zero point)")
            else:
                self.quant_label.setText("Per-tensor quantization; real = scale × (q − zero point)")
            self.quant_model.set_quantization(q)
            self.quant_label.show()
            self.quant_table.setVisible(q.scale.size > 0)
        else:
            self.quant_model.set_quantization(None)
            self.quant_label.hide()
            self.quant_table.hide()

        can_view = t.is_constant and t.sparsity is None and t.dtype not in ("STRING", "RESOURCE", "VARIANT")
        self._show_values_widgets(can_view)
        if not can_view:
            return
        self.stats_label.setText("Computing statistics…")
        self.values_text.setPlainText("")
        job = Job(lambda: tensor_values(model, t))
        job.finished.connect(lambda values, tensor=t: self._values_ready(tensor, values))
        job.failed.connect(lambda message: self.stats_label.setText(f"Values cannot be shown: {message}"))
        self._job = job.start()

    def _values_ready(self, tensor: Tensor, values: TensorValues) -> None:
        if tensor is not self._tensor:
            return  # the selection moved on
        self._job = None
        s = values.stats
        what = "dequantized values" if values.dequantized else "values"
        self.stats_label.setText(
            f"{what}: {s.count:,} · min {s.min:.6g} · max {s.max:.6g} · mean {s.mean:.6g} · std {s.std:.6g} · "
            f"zeros {100 * s.zero_fraction:.1f}%" + (f" · NaN {s.nan}" if s.nan else "") + (f" · inf {s.inf}" if s.inf else ""))
        if values.channel_min is not None:
            self.quant_model.set_quantization(tensor.quantization, values.channel_min, values.channel_max)
        first = values.first_values
        self.values_text.setPlainText(
            f"first {first.size} of {tensor.num_elements:,} stored values ({tensor.dtype}):\n"
            + np.array2string(first, max_line_width=100, threshold=FIRST_VALUES + 1))
        self._update_plots(values)

    def _update_plots(self, values: TensorValues) -> None:
        if self._plots is None:
            from ..widgets.plots import TensorPlots  # pyqtgraph loads here, not at start-up

            self._plots = TensorPlots()
            self.plot_area.addWidget(self._plots.widget)
        self._plots.widget.setVisible(True)
        self._plots.set_histogram(values.histogram)
        self._plots.set_channel_ranges(values.channel_min, values.channel_max)

    @property
    def plots(self) -> Any:
        return self._plots

    def export_values(self) -> None:
        if self._model is None or self._tensor is None:
            return
        suggested = "".join(c if c.isalnum() or c in "-_." else "_" for c in self._tensor.name)[:80] or "tensor"
        # QFileDialog asks before replacing an existing file.
        path, _ = QFileDialog.getSaveFileName(self, "Export tensor values", suggested + ".npy", "NumPy array (*.npy)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        assert self._model is not None and self._tensor is not None
        try:
            np.save(path, np.array(tensor_array(self._model, self._tensor)))
        except (ModelError, OSError) as e:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}: {e}")


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(jsonable(value), ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"
