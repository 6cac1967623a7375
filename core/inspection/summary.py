"""What `inspect` prints: a JSON-ready dict per model, and a readable text summary."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..formatting import format_bytes, format_count, format_tensor_short
from ..reading.model import (
    AssociatedFile,
    BlockwiseQuantization,
    CustomQuantization,
    Model,
    MultiAxisQuantization,
    Quantization,
    Sparsity,
    Subgraph,
    Tensor,
    TensorMetadata,
    TfliteMetadata,
)
from .shapes import NAMED_TENSORS, dynamic_inputs, dynamic_tensor_names
from .stats import PEAK_MEMORY_METHOD, ModelStats, model_stats

_BYTES_PREVIEW = 32


def jsonable(value: Any) -> Any:
    """Plain JSON values: bytes summarised, non-finite floats as strings, arrays as lists."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return {"bytes": len(raw), "hex_prefix": raw[:_BYTES_PREVIEW].hex()}
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


def _floats(a: np.ndarray) -> list[Any]:
    return [v if math.isfinite(v) else str(v) for v in a.tolist()]


def quantization_dict(q: Quantization | None) -> dict[str, Any] | None:
    if q is None:
        return None
    d: dict[str, Any] = {
        "scale": _floats(q.scale),
        "zero_point": q.zero_point.tolist(),
        "quantized_dimension": q.quantized_dimension,
    }
    if q.min.size or q.max.size:
        d["min"] = _floats(q.min)
        d["max"] = _floats(q.max)
    if isinstance(q.details, BlockwiseQuantization):
        d["blockwise"] = {
            "scales_tensor": q.details.scales_tensor,
            "zero_points_tensor": q.details.zero_points_tensor,
            "block_size": q.details.block_size,
            "block_shape": list(q.details.block_shape),
        }
    elif isinstance(q.details, MultiAxisQuantization):
        d["multi_axis"] = {
            "scales_tensor": q.details.scales_tensor,
            "zero_points_tensor": q.details.zero_points_tensor,
            "block_size": q.details.block_size,
            "quantized_dimensions": list(q.details.quantized_dimensions),
        }
    elif isinstance(q.details, CustomQuantization):
        d["custom"] = jsonable(q.details.data)
    return d


def _sparsity_dict(s: Sparsity | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "traversal_order": list(s.traversal_order),
        "block_map": list(s.block_map),
        "dim_metadata": [
            {"format": d.format, "dense_size": d.dense_size,
             "array_segments": len(d.array_segments), "array_indices": len(d.array_indices)}
            for d in s.dim_metadata
        ],
    }


def tensor_dict(t: Tensor) -> dict[str, Any]:
    d: dict[str, Any] = {
        "index": t.index,
        "name": t.name,
        "dtype": t.dtype,
        "shape": list(t.shape),
        "shape_signature": list(t.shape_signature),
        "buffer": t.buffer,
        "constant": t.is_constant,
        "bytes": t.size_bytes,
        "quantization": quantization_dict(t.quantization),
    }
    if t.is_variable:
        d["variable"] = True
    if t.sparsity is not None:
        d["sparsity"] = _sparsity_dict(t.sparsity)
    if t.external_buffer:
        d["external_buffer"] = t.external_buffer
    return d


def _subgraph_dict(sg: Subgraph, stats: ModelStats) -> dict[str, Any]:
    sg_stats = stats.subgraphs[sg.index]
    operators = []
    for op in sg.operators:
        o: dict[str, Any] = {
            "index": op.index,
            "opcode": op.opcode,
            "custom_code": op.custom_code,
            "version": op.version,
            "inputs": list(op.inputs),
            "outputs": list(op.outputs),
            "options": jsonable(op.options),
        }
        if op.intermediates:
            o["intermediates"] = list(op.intermediates)
        if op.options_type:
            o["options_type"] = op.options_type
        if op.custom_options_size:
            o["custom_options"] = {
                "format": op.custom_options_format,
                "bytes": op.custom_options_size,
                "value": jsonable(op.custom_options if op.custom_options_raw is None else op.custom_options_raw),
            }
        if op.subgraph_refs:
            o["subgraphs"] = dict(op.subgraph_refs)
        if op.index in sg_stats.macs_by_operator:
            o["macs"] = sg_stats.macs_by_operator[op.index]
            if op.index in sg_stats.macs_lower_bound_ops:
                o["macs_lower_bound"] = True
        operators.append(o)
    return {
        "index": sg.index,
        "name": sg.name,
        "inputs": list(sg.inputs),
        "outputs": list(sg.outputs),
        "operators": operators,
        "tensors": [_with_resolved_shape(tensor_dict(t), sg, stats) for t in sg.tensors],
    }


def _with_resolved_shape(d: dict[str, Any], sg: Subgraph, stats: ModelStats) -> dict[str, Any]:
    resolved = stats.resolved
    if resolved is not None and sg.index == 0 and d["index"] in resolved.shapes:
        d["resolved_shape"] = list(resolved.shapes[d["index"]])
    return d


def dynamic_tensors_list(model: Model, stats: ModelStats) -> list[dict[str, Any]]:
    """The tensors whose dynamic dimensions the figures count as 1 (none once all are resolved)."""
    return [{"subgraph": s.index, "index": i, "name": model.subgraphs[s.index].tensors[i].name,
             "shape_signature": list(model.subgraphs[s.index].tensors[i].shape_signature)}
            for s in stats.subgraphs for i in s.dynamic_tensors]


def shapes_dict(model: Model, stats: ModelStats) -> dict[str, Any]:
    """How the shapes behind MACs and memory were found: static, or resolved by the interpreter."""
    resolved = stats.resolved
    if resolved is None:
        return {"source": "static"}
    tensors = model.subgraphs[0].tensors
    d: dict[str, Any] = {
        "source": "interpreter",
        "input_shapes": {tensors[i].name: list(dims) for i, dims in resolved.inputs.items()
                         if 0 <= i < len(tensors)},
        "run_shaped_tensors": len(resolved.run_shaped),
    }
    if resolved.run_error:
        d["run_error"] = resolved.run_error
    return d


def lower_bound_warning(model: Model, stats: ModelStats, hint: str = "") -> str:
    """One sentence when a figure counts a dynamic (−1) dimension as 1, naming a few of the
    tensors; empty when every figure is at known shapes. `hint`: how to resolve them, for the
    front that shows it."""
    n = stats.dynamic_tensor_count
    if not n:
        return ""
    figures = [name for name, flag in (("MACs", stats.macs_lower_bound),
                                       ("peak activation memory", stats.peak_lower_bound)) if flag]
    with_dynamic = [s for s in stats.subgraphs if s.dynamic_tensors]
    first = with_dynamic[0]
    named = dynamic_tensor_names(model.subgraphs[first.index], first.dynamic_tensors[:NAMED_TENSORS])
    rest = n - min(len(first.dynamic_tensors), NAMED_TENSORS)
    if len(stats.subgraphs) > 1:
        named = f"in subgraph {first.index}, {named}"
    if rest:
        where = ", ".join(str(s.index) for s in with_dynamic)
        named += f" and {rest:,} more" + (f" (subgraphs {where})" if len(with_dynamic) > 1 else "")
    what = (" and ".join(figures) + (" are lower bounds" if len(figures) > 1 else " is a lower bound")) if figures \
        else "no figure depends on them"
    what = what[0].upper() + what[1:]
    tensors = f"{n:,} tensor{'s' if n != 1 else ''}"
    resolved = stats.resolved
    if resolved is None:
        return (f"{tensors} {'have' if n != 1 else 'has'} dynamic (−1) dimensions, counted as 1: {named}. {what}"
                + (f"; {hint}" if hint and dynamic_inputs(model) else "") + ".")
    reasons = []
    if stats.subgraphs and stats.subgraphs[0].dynamic_tensors:
        reasons.append("the interpreter left those of subgraph 0 unsized"
                       + (f" ({resolved.run_error})" if resolved.run_error else ""))
    if any(s.dynamic_tensors for s in stats.subgraphs[1:]):
        reasons.append("only subgraph 0 is resolved (the interpreter reports no other subgraph's shapes)")
    return (f"{tensors} still {'have' if n != 1 else 'has'} dynamic (−1) dimensions, counted as 1: {named}. "
            f"{'; '.join(reasons)[0].upper() + '; '.join(reasons)[1:]}. {what}.")


def at_least(flag: bool) -> str:
    return "≥ " if flag else ""


def _file_dict(f: AssociatedFile) -> dict[str, Any]:
    return {"name": f.name, "description": f.description, "type": f.type,
            "locale": f.locale, "size": f.size}


def _tensor_metadata_dict(tm: TensorMetadata) -> dict[str, Any]:
    d: dict[str, Any] = {"name": tm.name, "description": tm.description}
    if tm.dimension_names:
        d["dimension_names"] = list(tm.dimension_names)
    if tm.content:
        d["content"] = tm.content
    if tm.normalization_mean or tm.normalization_std:
        d["normalization"] = {"mean": list(tm.normalization_mean), "std": list(tm.normalization_std)}
    if tm.stats_min or tm.stats_max:
        d["stats"] = {"min": list(tm.stats_min), "max": list(tm.stats_max)}
    if tm.process_units:
        d["process_units"] = list(tm.process_units)
    if tm.associated_files:
        d["associated_files"] = [f.name for f in tm.associated_files]
    return jsonable(d)


def _tflite_metadata_dict(md: TfliteMetadata | None) -> dict[str, Any] | None:
    if md is None:
        return None
    return {
        "name": md.name,
        "description": md.description,
        "version": md.version,
        "author": md.author,
        "license": md.license,
        "min_parser_version": md.min_parser_version,
        "associated_files": [f.name for f in md.associated_files],
        "subgraphs": [
            {
                "name": sg.name,
                "description": sg.description,
                "inputs": [_tensor_metadata_dict(t) for t in sg.inputs],
                "outputs": [_tensor_metadata_dict(t) for t in sg.outputs],
                "associated_files": [f.name for f in sg.associated_files],
            }
            for sg in md.subgraphs
        ],
    }


def size_breakdown(model: Model, stats: ModelStats) -> dict[str, int]:
    structure = model.size_bytes - stats.weight_bytes - stats.metadata_bytes - stats.attached_file_bytes
    return {
        "weights": stats.weight_bytes,
        "metadata": stats.metadata_bytes,
        "attached_files": stats.attached_file_bytes,
        "graph_and_other": max(structure, 0),
    }


def model_dict(model: Model, stats: ModelStats | None = None) -> dict[str, Any]:
    """The `inspect --json` object for one model (documented in the README)."""
    stats = stats or model_stats(model)
    return {
        "path": model.path,
        "size_bytes": model.size_bytes,
        "version": model.version,
        "description": model.description,
        "subgraphs": [_subgraph_dict(sg, stats) for sg in model.subgraphs],
        "signatures": [
            {"key": s.key, "subgraph": s.subgraph, "inputs": dict(s.inputs), "outputs": dict(s.outputs)}
            for s in model.signatures
        ],
        "metadata": {
            "min_runtime_version": model.min_runtime_version,
            "entries": [{"name": e.name, "buffer": e.buffer, "bytes": e.size} for e in model.metadata_entries],
            "tflite_metadata": _tflite_metadata_dict(model.tflite_metadata),
        },
        "associated_files": [_file_dict(f) for f in model.associated_files],
        "stats": {
            "operators": sum(len(sg.operators) for sg in model.subgraphs),
            "tensors": sum(len(sg.tensors) for sg in model.subgraphs),
            "parameters": stats.parameters,
            "parameters_by_dtype": stats.parameters_by_dtype,
            "weight_bytes": stats.weight_bytes,
            "weight_bytes_by_dtype": stats.weight_bytes_by_dtype,
            "op_counts": stats.op_counts,
            "custom_ops": list(stats.custom_ops),
            "flex_ops": list(stats.flex_ops),
            "macs": stats.macs,
            "macs_lower_bound": stats.macs_lower_bound,
            "peak_activation_bytes": [s.peak_activation.bytes for s in stats.subgraphs],
            "peak_activation_lower_bound": [s.peak_activation.lower_bound for s in stats.subgraphs],
            "peak_activation_method": PEAK_MEMORY_METHOD,
            "shapes": shapes_dict(model, stats),
            "dynamic_tensors": dynamic_tensors_list(model, stats),
            "size_breakdown": size_breakdown(model, stats),
        },
        "warnings": list(model.warnings),
    }


# -- text -------------------------------------------------------------------


def _cli_hint(model: Model) -> str:
    inputs = dynamic_inputs(model)
    if not inputs:
        return ""
    if all(d.default_complete for d in inputs):
        sizes = ", ".join(f"{d.label}={d.default_text()}" for d in inputs)
        return f"resolve them with --resolve-shapes (at {sizes}) or --input-shape NAME=DIMS"
    example = " ".join(f"--input-shape {d.label}={d.default_text().replace('?', 'N')}" for d in inputs)
    return f"resolve them with {example}"



def format_model_text(model: Model, stats: ModelStats | None = None) -> str:
    stats = stats or model_stats(model)
    lines = [f"{model.path}  ({format_bytes(model.size_bytes)}, {model.size_bytes} bytes)"]
    lines.append(f"  schema version {model.version}"
                 + (f", description: {model.description!r}" if model.description else "")
                 + (f", min runtime {model.min_runtime_version}" if model.min_runtime_version else ""))
    md = model.tflite_metadata
    if md is not None:
        parts = [f"{k} {v!r}" for k, v in (("name", md.name), ("version", md.version),
                                             ("author", md.author), ("license", md.license)) if v]
        lines.append("  TFLite metadata: " + ", ".join(parts))
        if md.description:
            lines.append(f"    {md.description.strip()[:300]}")
        for sg in md.subgraphs:
            for tm in sg.inputs:
                if tm.normalization_mean:
                    lines.append(f"    input {tm.name!r}: normalize (x - {list(tm.normalization_mean)}) / {list(tm.normalization_std)}")
    files = model.associated_files
    if files:
        lines.append("  attached files: " + ", ".join(
            f"{f.name} ({format_bytes(f.size)})" if f.size is not None else f"{f.name} (not attached)" for f in files))
    other_meta = [e.name for e in model.metadata_entries if e.name not in ("min_runtime_version", "TFLITE_METADATA")]
    if other_meta:
        lines.append("  other metadata entries: " + ", ".join(other_meta))
    for s in model.signatures:
        tensors = model.subgraphs[s.subgraph].tensors
        lines.append(f"  signature {s.key!r} (subgraph {s.subgraph})")
        for label, mapping in (("in ", s.inputs), ("out", s.outputs)):
            for name, idx in mapping.items():
                lines.append(f"    {label} {name}: t{idx} {format_tensor_short(tensors[idx])}")

    breakdown = size_breakdown(model, stats)
    by_dtype = ", ".join(f"{k} {format_bytes(v)}" for k, v in stats.weight_bytes_by_dtype.items())
    lines.append(
        f"  size: weights {format_bytes(breakdown['weights'])}" + (f" ({by_dtype})" if by_dtype else "")
        + f", metadata {format_bytes(breakdown['metadata'])}, attached files {format_bytes(breakdown['attached_files'])}"
        + f", graph and other {format_bytes(breakdown['graph_and_other'])}"
    )
    lines.append(f"  parameters {format_count(stats.parameters)} ({stats.parameters}), "
                 f"MACs {at_least(stats.macs_lower_bound)}{format_count(stats.macs)} ({stats.macs})")
    peaks = ", ".join(f"subgraph {s.index}: {at_least(s.peak_activation.lower_bound)}"
                      f"{format_bytes(s.peak_activation.bytes)}" for s in stats.subgraphs)
    lines.append(f"  peak activation memory (estimate) {peaks}")
    lines.append("    " + PEAK_MEMORY_METHOD)
    if stats.resolved is not None:
        lines.append(f"  shapes resolved by the interpreter at {stats.resolved.inputs_text(model.subgraphs[0])}"
                     + (f" ({len(stats.resolved.run_shaped):,} tensors sized by a run on zeros)"
                        if stats.resolved.run_shaped else ""))
    warning = lower_bound_warning(model, stats, hint=_cli_hint(model))
    if warning:
        lines.append(f"  warning: {warning}")
    if stats.custom_ops:
        lines.append("  custom ops: " + ", ".join(stats.custom_ops))
    if stats.flex_ops:
        lines.append("  Flex (TensorFlow) ops, need the Flex delegate: " + ", ".join(stats.flex_ops))
    for w in model.warnings:
        lines.append(f"  warning: {w}")

    for sg in model.subgraphs:
        sg_stats = stats.subgraphs[sg.index]
        hist = ", ".join(f"{k} {v}" for k, v in sorted(sg_stats.op_counts.items(), key=lambda kv: -kv[1]))
        lines.append("")
        lines.append(f"  subgraph {sg.index} {sg.name!r}: {len(sg.operators)} ops, {len(sg.tensors)} tensors"
                     + (f"; {hist}" if hist else ""))
        for label, idxs in (("inputs", sg.inputs), ("outputs", sg.outputs)):
            lines.append(f"    {label}: " + "; ".join(
                f"t{i} {sg.tensors[i].name!r} {format_tensor_short(sg.tensors[i])}" for i in idxs))
        for op in sg.operators:
            ins = ", ".join("-" if i < 0 else format_tensor_short(sg.tensors[i]) for i in op.inputs)
            outs = ", ".join("-" if i < 0 else format_tensor_short(sg.tensors[i]) for i in op.outputs)
            extra = []
            act = op.fused_activation
            if act and act != "NONE":
                extra.append(act)
            if op.subgraph_refs:
                extra.append(" ".join(f"{k}->subgraph {v}" for k, v in op.subgraph_refs.items()))
            macs = sg_stats.macs_by_operator.get(op.index)
            if macs:
                extra.append(f"{at_least(op.index in sg_stats.macs_lower_bound_ops)}{format_count(macs)} MACs")
            tail = ("  " + "; ".join(extra)) if extra else ""
            lines.append(f"    {op.index:4d} {op.opcode} v{op.version}: {ins} -> {outs}{tail}")
    return "\n".join(lines)
