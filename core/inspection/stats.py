"""Figures derived from a model: parameters, weight bytes, op counts, MACs, memory.

Everything here reads the object model only (no tensor data), so it is cheap
enough to run whenever a model is opened.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..reading.model import Model, Operator, Subgraph, Tensor

PEAK_MEMORY_METHOD = (
    "estimate: walks the ops in execution order; a non-constant tensor is live from the op "
    "that writes it (graph inputs and variables: from the start) to the last op that reads it "
    "(graph outputs and variables: to the end); the peak is the largest sum of live tensor "
    "bytes. Shapes are the static ones (dynamic dimensions count as 1); arena alignment, "
    "fragmentation, scratch buffers and in-place reuse by the runtime are not modelled."
)

MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL")


def _prod(dims: tuple[int, ...] | list[int]) -> int:
    n = 1
    for d in dims:
        n *= max(d, 0)
    return n


def _tensor(sg: Subgraph, index: int) -> Tensor | None:
    return sg.tensors[index] if 0 <= index < len(sg.tensors) else None


def operator_macs(sg: Subgraph, op: Operator) -> int | None:
    """Multiply-accumulates of one op at its static shapes, or None if not a MAC op.

    CONV_2D: output elements x kernel height x kernel width x input channels per group.
    DEPTHWISE_CONV_2D: output elements x kernel height x kernel width.
    FULLY_CONNECTED: output elements x input features (weights are [out, in]).
    TRANSPOSE_CONV: input elements x kernel height x kernel width x output channels.
    BATCH_MATMUL: output elements x the contracted dimension.
    """
    name = op.opcode
    if name not in MAC_OPS:
        return None
    ins = [_tensor(sg, i) for i in op.inputs]
    outs = [_tensor(sg, i) for i in op.outputs]
    out = outs[0] if outs else None
    try:
        if name == "CONV_2D":
            x, w = ins[0], ins[1]
            kh, kw, cin_per_group = w.shape[1], w.shape[2], w.shape[3]
            return _prod(out.shape) * kh * kw * cin_per_group
        if name == "DEPTHWISE_CONV_2D":
            w = ins[1]
            return _prod(out.shape) * w.shape[1] * w.shape[2]
        if name == "FULLY_CONNECTED":
            w = ins[1]
            return _prod(out.shape) * w.shape[-1]
        if name == "TRANSPOSE_CONV":
            w, x = ins[1], ins[2]
            cout, kh, kw = w.shape[0], w.shape[1], w.shape[2]
            return _prod(x.shape) * kh * kw * cout
        if name == "BATCH_MATMUL":
            a = ins[0]
            adj_x = bool(op.options.get("adj_x"))
            k = a.shape[-2] if adj_x else a.shape[-1]
            return _prod(out.shape) * k
    except (AttributeError, IndexError, TypeError):
        return None  # missing tensor or unexpected rank: no figure rather than a wrong one
    return None


@dataclass(frozen=True)
class PeakMemory:
    bytes: int
    at_operator: int  # index of the op during which the peak occurs (-1: before any op)
    live_tensors: tuple[int, ...]  # tensor indices live at the peak


def peak_activation_memory(sg: Subgraph) -> PeakMemory:
    """Estimate of peak activation memory; see PEAK_MEMORY_METHOD."""
    n_ops = len(sg.operators)
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for t in sg.inputs:
        first[t] = -1
    for op in sg.operators:
        for t in op.outputs:
            if t >= 0:
                first.setdefault(t, op.index)
                last[t] = max(last.get(t, op.index), op.index)
        for t in list(op.inputs) + list(op.intermediates):
            if t >= 0:
                first.setdefault(t, op.index)
                last[t] = op.index
    for t in sg.outputs:
        first.setdefault(t, -1)
        last[t] = n_ops
    for t in sg.inputs:
        last[t] = max(last.get(t, -1), -1)
    for t in sg.tensors:
        if t.is_variable and t.index in first:
            first[t.index] = -1
            last[t.index] = n_ops
    # Sweep: +bytes at first use, -bytes after last use.
    events: dict[int, int] = {}
    for t, start in first.items():
        tensor = sg.tensors[t]
        if tensor.is_constant:
            continue
        size = tensor.activation_bytes
        if size == 0:
            continue
        end = max(last.get(t, start), start)
        events[start] = events.get(start, 0) + size
        events[end + 1] = events.get(end + 1, 0) - size
    live = 0
    peak, peak_at = 0, -1
    for step in sorted(events):
        live += events[step]
        if live > peak and step <= n_ops:
            peak, peak_at = live, step
    live_at_peak = tuple(
        sorted(
            t for t, start in first.items()
            if not sg.tensors[t].is_constant
            and sg.tensors[t].activation_bytes
            and start <= peak_at <= max(last.get(t, start), start)
        )
    )
    return PeakMemory(peak, min(peak_at, n_ops - 1) if n_ops else -1, live_at_peak)


@dataclass(frozen=True)
class SubgraphStats:
    index: int
    operators: int
    op_counts: dict[str, int]
    macs: int
    macs_by_operator: dict[int, int]  # op index -> MACs, for the MAC ops only
    peak_activation: PeakMemory


@dataclass(frozen=True)
class ModelStats:
    parameters: int  # elements of constant tensors (weights, biases, constant shapes/indices)
    weight_bytes: int  # bytes of constant tensor data, each buffer counted once
    weight_bytes_by_dtype: dict[str, int]
    parameters_by_dtype: dict[str, int]
    op_counts: dict[str, int]  # all subgraphs
    macs: int  # all subgraphs, static shapes
    subgraphs: tuple[SubgraphStats, ...]
    metadata_bytes: int
    attached_file_bytes: int  # the zip appended after the flatbuffer
    custom_ops: tuple[str, ...] = field(default=())
    flex_ops: tuple[str, ...] = field(default=())


def model_stats(model: Model) -> ModelStats:
    seen_buffers: set[tuple[int, int]] = set()
    weight_bytes: Counter[str] = Counter()
    params: Counter[str] = Counter()
    op_counts: Counter[str] = Counter()
    per_subgraph = []
    for sg in model.subgraphs:
        for t in sg.tensors:
            if not t.is_constant:
                continue
            # Tensors may share one buffer (or one external buffer); count its bytes once.
            key = (1, t.external_buffer) if t.external_buffer else (0, t.buffer)
            if key in seen_buffers:
                continue
            seen_buffers.add(key)
            weight_bytes[t.dtype] += t.data_bytes
            params[t.dtype] += t.num_elements
        counts = Counter(op.opcode for op in sg.operators)
        op_counts.update(counts)
        macs = {}
        for op in sg.operators:
            m = operator_macs(sg, op)
            if m is not None:
                macs[op.index] = m
        per_subgraph.append(
            SubgraphStats(sg.index, len(sg.operators), dict(counts), sum(macs.values()), macs,
                          peak_activation_memory(sg))
        )
    zip_bytes = 0
    if model.zip_files:
        zip_bytes = sum(f.size or 0 for f in model.zip_files)
    custom = sorted({op.opcode for sg in model.subgraphs for op in sg.operators if op.is_custom and not op.is_flex})
    flex = sorted({op.opcode for sg in model.subgraphs for op in sg.operators if op.is_flex})
    return ModelStats(
        parameters=sum(params.values()),
        weight_bytes=sum(weight_bytes.values()),
        weight_bytes_by_dtype=dict(weight_bytes.most_common()),
        parameters_by_dtype=dict(params.most_common()),
        op_counts=dict(op_counts.most_common()),
        macs=sum(s.macs for s in per_subgraph),
        subgraphs=tuple(per_subgraph),
        metadata_bytes=sum(e.size for e in model.metadata_entries),
        attached_file_bytes=zip_bytes,
        custom_ops=tuple(custom),
        flex_ops=tuple(flex),
    )
