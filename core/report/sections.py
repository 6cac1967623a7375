"""The report's sections about the model itself and its delegates: plain values for the template,
gathered from the object model, its stats and the delegate reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..delegates.engine import DelegateReport
from ..formatting import elide_middle, format_quantization, tensor_shape_text
from ..inspection.stats import ModelStats
from ..inspection.summary import at_least, lower_bound_warning, size_breakdown
from ..reading.model import Model, Subgraph, Tensor

# Op tables with more rows than this start collapsed (dp_net has 2,338 ops).
OPEN_OP_TABLE_LIMIT = 200
# CPU-fallback ops listed under each reason; the rest are counted.
LISTED_FALLBACK_OPS = 30
# Per-channel parameters listed in full up to this many channels; beyond, the first ones and the ranges.
LISTED_CHANNELS = 16
SHORT_NAME = 48  # characters of a tensor name shown in the op table


def overview(model: Model, stats: ModelStats) -> dict[str, Any]:
    md = model.tflite_metadata
    breakdown = size_breakdown(model, stats)
    largest_op_count = max(stats.op_counts.values(), default=1)
    return {
        "path": model.path,
        "size": model.size_bytes,
        "schema_version": model.version,
        "description": model.description,
        "min_runtime_version": model.min_runtime_version,
        "operators": sum(len(sg.operators) for sg in model.subgraphs),
        "tensors": sum(len(sg.tensors) for sg in model.subgraphs),
        "subgraphs": len(model.subgraphs),
        "parameters": stats.parameters,
        "macs": stats.macs,
        "macs_at_least": at_least(stats.macs_lower_bound),
        "peak_activation": [sg.peak_activation.bytes for sg in stats.subgraphs],
        "peak_at_least": [at_least(sg.peak_activation.lower_bound) for sg in stats.subgraphs],
        "shapes": ("the interpreter's shapes for " + stats.resolved.inputs_text(model.subgraphs[0]))
                  if stats.resolved is not None else "static shapes",
        "shape_warning": lower_bound_warning(
            model, stats, hint="resolve them with tflite-inspector report --input-shape NAME=DIMS, or in the app"),
        "size_breakdown": [(name.replace("_", " "), value, value / model.size_bytes if model.size_bytes else 0)
                           for name, value in breakdown.items()],
        "weights_by_dtype": sorted(stats.weight_bytes_by_dtype.items(), key=lambda kv: -kv[1]),
        "op_counts": [(op, count, count / largest_op_count)
                      for op, count in sorted(stats.op_counts.items(), key=lambda kv: (-kv[1], kv[0]))],
        "custom_ops": list(stats.custom_ops),
        "flex_ops": list(stats.flex_ops),
        "metadata": None if md is None else {
            "name": md.name, "description": md.description, "version": md.version, "author": md.author,
            "license": md.license,
            "inputs": [_tensor_metadata(t) for sg in md.subgraphs for t in sg.inputs],
            "outputs": [_tensor_metadata(t) for sg in md.subgraphs for t in sg.outputs],
        },
        "metadata_entries": [(e.name, e.size) for e in model.metadata_entries],
        "associated_files": [(f.name, f.type, f.description, f.size) for f in model.associated_files],
        "warnings": list(model.warnings),
    }


def _tensor_metadata(tm: Any) -> dict[str, Any]:
    normalization = ""
    if tm.normalization_mean or tm.normalization_std:
        normalization = (f"mean {', '.join(f'{v:g}' for v in tm.normalization_mean)}; "
                         f"std {', '.join(f'{v:g}' for v in tm.normalization_std)}")
    return {"name": tm.name, "description": tm.description, "normalization": normalization,
            "files": [f.name for f in tm.associated_files]}


def _tensor_row(t: Tensor) -> dict[str, Any]:
    return {"index": t.index, "name": t.name, "dtype": t.dtype, "shape": tensor_shape_text(t),
            "quantization": format_quantization(t.quantization)}


def signatures(model: Model) -> list[dict[str, Any]]:
    result = []
    for s in model.signatures:
        sg = model.subgraphs[s.subgraph] if 0 <= s.subgraph < len(model.subgraphs) else None

        def rows(mapping: dict[str, int], sg: Subgraph | None = sg) -> list[dict[str, Any]]:
            out = []
            for name, index in mapping.items():
                tensor = sg.tensors[index] if sg is not None and 0 <= index < len(sg.tensors) else None
                row = _tensor_row(tensor) if tensor is not None else {"index": index, "name": "?", "dtype": "?",
                                                                      "shape": "?", "quantization": ""}
                out.append({"signature_name": name, **row})
            return out

        result.append({"key": s.key, "subgraph": s.subgraph, "inputs": rows(s.inputs), "outputs": rows(s.outputs)})
    return result


def subgraph_section(model: Model, sg: Subgraph, stats: ModelStats) -> dict[str, Any]:
    tensors = sg.tensors

    def names(indices: Sequence[int]) -> list[dict[str, str]]:
        """Each tensor as a short name (the full one is the cell's tooltip) and its shape: some
        converters name tensors after every op fused into them, hundreds of characters long."""
        out = []
        for i in indices:
            if not 0 <= i < len(tensors):
                out.append({"short": "—", "name": "", "shape": ""})
                continue
            t = tensors[i]
            out.append({"short": elide_middle(t.name, SHORT_NAME), "name": t.name,
                        "shape": tensor_shape_text(t)})
        return out

    macs = stats.subgraphs[sg.index].macs_by_operator
    lower_bound_ops = set(stats.subgraphs[sg.index].macs_lower_bound_ops)
    ops = [{"index": op.index, "opcode": op.opcode, "version": op.version, "inputs": names(op.inputs),
            "outputs": names(op.outputs), "macs": macs.get(op.index),
            "macs_at_least": at_least(op.index in lower_bound_ops)} for op in sg.operators]
    quantized = [_quantized_tensor(t) for t in tensors if t.quantization is not None and t.quantization.is_quantized]
    return {
        "index": sg.index,
        "name": sg.name,
        "inputs": [_tensor_row(tensors[i]) for i in sg.inputs if 0 <= i < len(tensors)],
        "outputs": [_tensor_row(tensors[i]) for i in sg.outputs if 0 <= i < len(tensors)],
        "ops": ops,
        "ops_open": len(ops) <= OPEN_OP_TABLE_LIMIT,
        "macs": stats.subgraphs[sg.index].macs,
        "macs_at_least": at_least(stats.subgraphs[sg.index].macs_lower_bound),
        "quantized": quantized,
        "quantized_open": len(quantized) <= OPEN_OP_TABLE_LIMIT,
    }


def _values(array: np.ndarray, fmt: str) -> str:
    shown = ", ".join(format(v, fmt) for v in array[:LISTED_CHANNELS].tolist())
    return shown + (f", … ({array.size - LISTED_CHANNELS} more)" if array.size > LISTED_CHANNELS else "")


def _quantized_tensor(t: Tensor) -> dict[str, Any]:
    q = t.quantization
    assert q is not None
    zero_points = q.zero_point if q.zero_point.size else np.zeros(1, np.int64)
    row = {"index": t.index, "name": t.name, "dtype": t.dtype, "shape": tensor_shape_text(t), "constant": t.is_constant,
           "granularity": "", "axis": None, "scales": "", "scale_range": "", "zero_points": "", "range": ""}
    if q.scale.size == 0:
        row["granularity"] = format_quantization(q) or "quantized"
    elif q.per_channel:
        row.update(granularity=f"per channel ({q.scale.size})", axis=q.quantized_dimension,
                   scales=_values(q.scale, ".4g"),
                   scale_range=f"{float(q.scale.min()):.4g} … {float(q.scale.max()):.4g}",
                   zero_points=(f"all {int(zero_points[0])}" if np.all(zero_points == zero_points[0])
                                else _values(zero_points, "d")))
    else:
        row.update(granularity="per tensor", scales=f"{float(q.scale[0]):.6g}", zero_points=str(int(zero_points[0])))
    if q.min.size and q.max.size:
        row["range"] = (f"{float(q.min[0]):.4g} … {float(q.max[0]):.4g}" if q.min.size == 1
                        else f"{q.min.size} ranges, {float(q.min.min()):.4g} … {float(q.max.max()):.4g}")
    return row


def delegate_section(report: DelegateReport) -> dict[str, Any]:
    fraction = report.macs_supported_fraction
    groups = []
    for reason, ops in report.fallbacks_by_reason().items():
        listed = [f"{'' if v.subgraph == 0 else f'{v.subgraph}:'}#{v.index} {v.opcode}"
                  for v in ops[:LISTED_FALLBACK_OPS]]
        groups.append({"reason": reason, "source": ops[0].reasons[0].source, "count": len(ops), "ops": listed,
                       "more": len(ops) - len(listed)})
    settings = ", ".join(f"{k} {v}" for k, v in report.settings.as_dict().items()) if report.settings else ""
    return {
        "key": report.delegate,
        "title": report.title,
        "settings": settings,
        "ops_supported": report.ops_supported,
        "ops_total": report.ops_total,
        "ops_fraction": report.ops_supported / report.ops_total if report.ops_total else 0.0,
        "macs_fraction": fraction,
        "partitions": report.partitions,
        "whole_model": report.ops_total > 0 and report.ops_supported == report.ops_total,
        "notes": [(note.text, note.source) for note in report.graph_notes],
        "groups": groups,
    }


def verdict_cell(report: DelegateReport, subgraph: int, index: int) -> dict[str, Any]:
    verdict = report.verdict(subgraph, index)
    if verdict is None:
        return {"text": "", "supported": None, "why": ""}
    return {"text": "✓" if verdict.supported else "✗", "supported": verdict.supported,
            "why": "; ".join(r.text for r in verdict.reasons)}
