"""The rows of a subgraph's op and tensor tables: display strings, sort keys and the text the
filter searches, computed once per subgraph (in the loader's thread for the first)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from ...core.formatting import format_bytes, format_count, format_quantization, tensor_shape_text
from ...core.inspection.stats import SubgraphStats
from ...core.reading.model import Subgraph
from ..widgets.tables import Row

_CUSTOM_COLOR = QColor("#8a4b00")
_FLEX_COLOR = QColor("#7a1fa2")


def _tensor_brief(sg: Subgraph, i: int) -> str:
    if i < 0:
        return "—"
    t = sg.tensors[i]
    return f"t{i} {tensor_shape_text(t)} {t.dtype}" + (" const" if t.is_constant else "")


def operator_rows(sg: Subgraph, stats: SubgraphStats) -> list[Row]:
    rows = []
    for op in sg.operators:
        ins = "; ".join(_tensor_brief(sg, i) for i in op.inputs)
        outs = "; ".join(_tensor_brief(sg, i) for i in op.outputs)
        act = op.fused_activation or ""
        macs = stats.macs_by_operator.get(op.index)
        kind = " [Flex]" if op.is_flex else (" [custom]" if op.is_custom else "")
        refs = ", ".join(f"{k}→{v}" for k, v in op.subgraph_refs.items())
        names = " ".join(sg.tensors[i].name for i in (*op.inputs, *op.outputs) if i >= 0)
        dtypes = " ".join(sg.tensors[i].dtype for i in (*op.inputs, *op.outputs) if i >= 0)
        rows.append(
            Row(
                index=op.index,
                cells=(str(op.index), op.opcode + kind, str(op.version), ins, outs,
                       "" if act == "NONE" else act, format_count(macs) if macs else "", refs),
                sort_keys=(op.index, op.opcode, op.version, ins, outs, act, macs or 0, refs),
                search_text=f"{op.opcode} {kind} {ins} {outs} {act} {names} {dtypes}".lower(),
                fields=(("op", op.opcode.lower()), ("name", names.lower()), ("dtype", dtypes.lower()),
                        ("shape", " ".join(tensor_shape_text(sg.tensors[i]) for i in (*op.inputs, *op.outputs)
                                           if i >= 0).lower())),
                tooltip=("Flex op: needs TensorFlow's Flex delegate" if op.is_flex
                         else "custom op: needs its own kernel" if op.is_custom else ""),
                color=_FLEX_COLOR if op.is_flex else (_CUSTOM_COLOR if op.is_custom else None),
            )
        )
    return rows


OPERATOR_COLUMNS = ("#", "Op", "Ver", "Inputs", "Outputs", "Activation", "MACs", "Subgraphs")


def tensor_rows(sg: Subgraph) -> list[Row]:
    rows = []
    producers = sg.producers
    for t in sg.tensors:
        q = format_quantization(t.quantization)
        size = t.size_bytes
        kind = "const" if t.is_constant else ("variable" if t.is_variable else "")
        rows.append(
            Row(
                index=t.index,
                cells=(str(t.index), t.name, tensor_shape_text(t), t.dtype, kind, format_bytes(size), q),
                sort_keys=(t.index, t.name, t.num_elements, t.dtype, kind, size, q),
                search_text=f"{t.name} {t.dtype} {tensor_shape_text(t)} {kind} {q}".lower(),
                fields=(("name", t.name.lower()), ("dtype", t.dtype.lower()),
                        ("shape", tensor_shape_text(t).lower()),
                        ("op", "" if (p := producers.get(t.index)) is None else sg.operators[p].opcode.lower())),
            )
        )
    return rows


TENSOR_COLUMNS = ("#", "Name", "Shape", "DType", "Kind", "Bytes", "Quantization")
