"""Figures derived from a model: parameters, weight bytes, op counts, MACs, memory.

Everything here reads the object model only (no tensor data), so it is cheap
enough to run whenever a model is opened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..reading.model import Model, Operator, Subgraph, Tensor, storage_bytes
from .shapes import ResolvedShapes, is_unknown

# Tensor index -> shape, for the tensors whose shape is known beyond the file's static one (the
# interpreter's, after resizing the inputs); None or a missing index: the static shape.
Shapes = Mapping[int, tuple[int, ...]]

PEAK_MEMORY_METHOD = (
    "estimate: walks the ops in execution order; a non-constant tensor is live from the op "
    "that writes it (graph inputs and variables: from the start) to the last op that reads it "
    "(graph outputs and variables: to the end); the peak is the largest sum of live tensor "
    "bytes. Shapes are the interpreter's after resizing the inputs when they were resolved, else "
    "the static ones, where a dynamic (−1) dimension counts as 1 and the figure is a lower bound; "
    "arena alignment, fragmentation, scratch buffers and in-place reuse by the runtime are not "
    "modelled."
)

MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL")


def _prod(dims: tuple[int, ...] | list[int]) -> int:
    n = 1
    for d in dims:
        n *= max(d, 0)
    return n


def _tensor(sg: Subgraph, index: int) -> Tensor | None:
    return sg.tensors[index] if 0 <= index < len(sg.tensors) else None


def tensor_shape(t: Tensor, shapes: Shapes | None = None) -> tuple[int, ...]:
    """The tensor's shape: the resolved one when `shapes` has it, else the static one."""
    if shapes is not None:
        resolved = shapes.get(t.index)
        if resolved is not None:
            return tuple(resolved)
    return t.shape


def tensor_activation_bytes(t: Tensor, shapes: Shapes | None = None) -> int:
    """Bytes the runtime needs for the tensor at its (resolved) shape; 0 if unknown."""
    if shapes is None or t.index not in shapes:
        return t.activation_bytes
    return storage_bytes(t.dtype, _prod(tensor_shape(t, shapes))) or 0


def unresolved(t: Tensor, shapes: Shapes | None = None) -> bool:
    """A tensor with a dynamic dimension that `shapes` does not resolve: its size is a guess."""
    return is_unknown(t) and (shapes is None or t.index not in shapes)


def operator_macs(sg: Subgraph, op: Operator, shapes: Shapes | None = None) -> int | None:
    """Multiply-accumulates of one op at its shapes (the resolved ones in `shapes`, else the
    static ones), or None if not a MAC op.

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

    def shape(t: Tensor | None) -> tuple[int, ...]:
        if t is None:
            raise TypeError("missing tensor")
        return tensor_shape(t, shapes)

    try:
        if name == "CONV_2D":
            w = shape(ins[1])
            kh, kw, cin_per_group = w[1], w[2], w[3]
            return _prod(shape(out)) * kh * kw * cin_per_group
        if name == "DEPTHWISE_CONV_2D":
            w = shape(ins[1])
            return _prod(shape(out)) * w[1] * w[2]
        if name == "FULLY_CONNECTED":
            w = shape(ins[1])
            return _prod(shape(out)) * w[-1]
        if name == "TRANSPOSE_CONV":
            w, x = shape(ins[1]), shape(ins[2])
            cout, kh, kw = w[0], w[1], w[2]
            return _prod(x) * kh * kw * cout
        if name == "BATCH_MATMUL":
            a = shape(ins[0])
            adj_x = bool(op.options.get("adj_x"))
            k = a[-2] if adj_x else a[-1]
            return _prod(shape(out)) * k
    except (AttributeError, IndexError, TypeError):
        return None  # missing tensor or unexpected rank: no figure rather than a wrong one
    return None


def operator_macs_unresolved(sg: Subgraph, op: Operator, shapes: Shapes | None = None) -> bool:
    """True when a tensor the op's MACs are counted from has a dynamic dimension left unresolved
    (its figure is then a lower bound: each −1 counted as 1)."""
    for index in list(op.inputs) + list(op.outputs):
        t = _tensor(sg, index)
        if t is not None and unresolved(t, shapes):
            return True
    return False


@dataclass(frozen=True)
class PeakMemory:
    bytes: int
    at_operator: int  # index of the op during which the peak occurs (-1: before any op)
    live_tensors: tuple[int, ...]  # tensor indices live at the peak
    # A tensor counted has a dynamic dimension left unresolved: the peak is at least `bytes`.
    lower_bound: bool = False


def peak_activation_memory(sg: Subgraph, shapes: Shapes | None = None) -> PeakMemory:
    """Estimate of peak activation memory at the resolved shapes in `shapes` (else the static
    ones); see PEAK_MEMORY_METHOD."""
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
    sizes: dict[int, int] = {}
    lower_bound = False
    for t, start in first.items():
        tensor = sg.tensors[t]
        if tensor.is_constant:
            continue
        lower_bound = lower_bound or unresolved(tensor, shapes)
        size = sizes[t] = tensor_activation_bytes(tensor, shapes)
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
            if sizes.get(t)
            and start <= peak_at <= max(last.get(t, start), start)
        )
    )
    return PeakMemory(peak, min(peak_at, n_ops - 1) if n_ops else -1, live_at_peak, lower_bound)


@dataclass(frozen=True)
class SubgraphStats:
    index: int
    operators: int
    op_counts: dict[str, int]
    macs: int
    macs_by_operator: dict[int, int]  # op index -> MACs, for the MAC ops only
    peak_activation: PeakMemory
    # Tensors with a dynamic dimension the shapes used did not resolve (each −1 counted as 1).
    dynamic_tensors: tuple[int, ...] = ()
    # MAC ops counted with such a tensor: `macs` is then a lower bound.
    macs_lower_bound_ops: tuple[int, ...] = ()

    @property
    def macs_lower_bound(self) -> bool:
        return bool(self.macs_lower_bound_ops)


@dataclass(frozen=True)
class ModelStats:
    parameters: int  # elements of constant tensors (weights, biases, constant shapes/indices)
    weight_bytes: int  # bytes of constant tensor data, each buffer counted once
    weight_bytes_by_dtype: dict[str, int]
    parameters_by_dtype: dict[str, int]
    op_counts: dict[str, int]  # all subgraphs
    macs: int  # all subgraphs, at the resolved shapes (subgraph 0) or else the static ones
    subgraphs: tuple[SubgraphStats, ...]
    metadata_bytes: int
    attached_file_bytes: int  # the zip appended after the flatbuffer
    custom_ops: tuple[str, ...] = field(default=())
    flex_ops: tuple[str, ...] = field(default=())
    # Subgraph 0's shapes as the interpreter resolved them after resizing the inputs; None: static.
    resolved: ResolvedShapes | None = None

    @property
    def macs_lower_bound(self) -> bool:
        """Some MAC op was counted with a dynamic dimension left unresolved: `macs` is a minimum."""
        return any(s.macs_lower_bound for s in self.subgraphs)

    @property
    def peak_lower_bound(self) -> bool:
        return any(s.peak_activation.lower_bound for s in self.subgraphs)

    @property
    def dynamic_tensor_count(self) -> int:
        return sum(len(s.dynamic_tensors) for s in self.subgraphs)


def model_stats(model: Model, resolved: ResolvedShapes | None = None) -> ModelStats:
    """The model's figures; with `resolved`, subgraph 0's MACs and memory at the interpreter's
    shapes (other subgraphs keep their static shapes)."""
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
        shapes = resolved.shapes if resolved is not None and sg.index == 0 else None
        macs = {}
        lower_bound_ops = []
        for op in sg.operators:
            m = operator_macs(sg, op, shapes)
            if m is not None:
                macs[op.index] = m
                if operator_macs_unresolved(sg, op, shapes):
                    lower_bound_ops.append(op.index)
        dynamic = tuple(t.index for t in sg.tensors if not t.is_constant and unresolved(t, shapes))
        per_subgraph.append(
            SubgraphStats(sg.index, len(sg.operators), dict(counts), sum(macs.values()), macs,
                          peak_activation_memory(sg, shapes), dynamic, tuple(lower_bound_ops))
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
        resolved=resolved,
    )
