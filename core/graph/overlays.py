"""What the graph's colours say: one `Paint` per overlay, shared by the app and the SVG drawing.

Overlays: op type (the default), a delegate's verdicts and partitions, quantization (output dtype,
per-channel or per-tensor weights, QUANTIZE/DEQUANTIZE), the Compare page's per-layer error, and
cost (MACs share, output bytes). Each gives every node a fill, a border, a line for its tooltip and
a short badge, plus the legend that explains them; nodes an overlay has nothing to say about are
grey and say why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..comparison.results import CandidateComparison
from ..delegates.engine import DelegateReport
from ..delegates.runtime_check import RuntimeComparison
from ..formatting import format_bytes, format_count, format_metric, format_share
from ..inspection.stats import SubgraphStats
from ..metrics import METRIC_TITLES
from ..reading.model import Subgraph
from .structure import OP, OpGraph

NEUTRAL = "#e6e6e6"  # nodes an overlay does not colour (inputs, outputs, ops it has no value for)
BORDER = "#555555"
STRONG_BORDER = "#c0392b"  # what an overlay wants seen: requantization, the worst layers


@dataclass(frozen=True)
class LegendEntry:
    colour: str
    label: str
    border: str = ""  # a border drawn around the swatch ("" = the default)


@dataclass(frozen=True)
class Paint:
    """An overlay applied to one graph: per node (by id) its fill, border, border width, tooltip
    line and badge; the legend; and a note on where the colours come from."""

    title: str
    fill: tuple[str, ...]
    border: tuple[str, ...]
    border_width: tuple[float, ...]
    tip: tuple[str, ...]
    badge: tuple[str, ...]  # a mark in the box's corner: "per-ch" (a dot) or "per-t" (a ring); "" none
    legend: tuple[LegendEntry, ...]
    note: str = ""
    scale: tuple[tuple[str, str], ...] = ()  # a colour scale's stops, (colour, label), low to high


def _paint(graph: OpGraph, title: str, fills: dict[int, str], tips: dict[int, str], legend: Sequence[LegendEntry],
           *, borders: dict[int, str] | None = None, badges: dict[int, str] | None = None, note: str = "",
           scale: Sequence[tuple[str, str]] = (), default_tip: str = "") -> Paint:
    borders = borders or {}
    badges = badges or {}
    ids = range(len(graph.nodes))
    return Paint(
        title=title,
        fill=tuple(fills.get(i, NEUTRAL) for i in ids),
        border=tuple(borders.get(i, BORDER) for i in ids),
        border_width=tuple(2.5 if i in borders else 1.0 for i in ids),
        tip=tuple(tips.get(i, default_tip if graph.nodes[i].kind == OP else "") for i in ids),
        badge=tuple(badges.get(i, "") for i in ids),
        legend=tuple(legend), note=note, scale=tuple(scale))


# -- op type --------------------------------------------------------------------------------------

CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "convolution": ("#9ecae9", ("CONV_2D", "CONV_3D", "TRANSPOSE_CONV", "CONV_3D_TRANSPOSE")),
    "depthwise convolution": ("#c6dbef", ("DEPTHWISE_CONV_2D",)),
    "fully connected / matmul": ("#fdae6b", ("FULLY_CONNECTED", "BATCH_MATMUL", "EMBEDDING_LOOKUP")),
    "pooling / reduction": ("#a1d99b", ("AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "MEAN", "SUM", "REDUCE_MAX",
                                        "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL", "ARG_MAX", "ARG_MIN")),
    "activation": ("#fdd0a2", ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOGISTIC", "TANH", "SOFTMAX",
                               "LOG_SOFTMAX", "HARD_SWISH", "GELU", "PRELU", "LEAKY_RELU", "ELU")),
    "element-wise": ("#dadaeb", ("ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "POW", "MAXIMUM", "MINIMUM", "ABS",
                                 "NEG", "SQRT", "RSQRT", "EXP", "LOG", "SIN", "COS", "FLOOR", "CEIL", "ROUND",
                                 "SQUARE", "ADD_N", "FLOOR_DIV", "FLOOR_MOD", "SIGN", "LESS", "LESS_EQUAL", "GREATER",
                                 "GREATER_EQUAL", "EQUAL", "NOT_EQUAL", "LOGICAL_AND", "LOGICAL_OR", "LOGICAL_NOT",
                                 "SELECT", "SELECT_V2", "CAST", "ATAN2", "BITWISE_XOR", "RIGHT_SHIFT")),
    "shape / layout": ("#e7e1ef", ("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "SHAPE", "SLICE", "STRIDED_SLICE",
                                   "GATHER", "GATHER_ND", "TILE", "BROADCAST_TO", "PAD", "PADV2", "MIRROR_PAD",
                                   "SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND",
                                   "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "REVERSE_V2", "FILL", "ZEROS_LIKE",
                                   "ONES_LIKE", "RANGE", "SCATTER_ND", "BROADCAST_ARGS", "DYNAMIC_UPDATE_SLICE")),
    "concat / split": ("#fcbba1", ("CONCATENATION", "SPLIT", "SPLIT_V", "PACK", "UNPACK")),
    "normalization": ("#c7e9c0", ("L2_NORMALIZATION", "LOCAL_RESPONSE_NORMALIZATION")),
    "quantize / dequantize": ("#fee391", ("QUANTIZE", "DEQUANTIZE")),
    "recurrent": ("#bcbddc", ("LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "RNN",
                              "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN", "SVDF")),
    "control flow": ("#d9d9d9", ("WHILE", "IF", "CALL_ONCE", "CALL")),
    "custom / Flex": ("#f768a1", ()),
    "other": ("#ffffff", ()),
}
_CATEGORY_OF = {opcode: name for name, (_, opcodes) in CATEGORIES.items() for opcode in opcodes}


def op_category(opcode: str, mark: str) -> str:
    if mark:
        return "custom / Flex"
    return _CATEGORY_OF.get(opcode, "other")


def type_paint(graph: OpGraph, sg: Subgraph) -> Paint:
    fills: dict[int, str] = {}
    used: dict[str, None] = {}
    for node in graph.nodes:
        if node.kind == OP:
            category = op_category(sg.operators[node.op].opcode, node.mark)
            fills[node.id] = CATEGORIES[category][0]
            used[category] = None
    legend = [LegendEntry(CATEGORIES[c][0], c) for c in CATEGORIES if c in used]
    return _paint(graph, "Op type", fills, {}, legend)


# -- delegate -------------------------------------------------------------------------------------

REFUSED = "#f4a6a6"
PARTITION_COLOURS = ("#a1d99b", "#9ecae1", "#c2e699", "#a6bddb", "#b3de69", "#80cdc1", "#d9f0a3", "#b2abd2")


def delegate_paint(graph: OpGraph, report: DelegateReport, runtime: RuntimeComparison | None = None) -> Paint:
    """Taken ops coloured by partition (colours repeat after eight: the tooltip names the
    partition), refused ops red with the first reason. With `runtime` (XNNPACK's runtime check, on
    subgraph 0) the partitions are the DELEGATE nodes the interpreter made, and an op whose
    prediction the runtime contradicts gets a red border."""
    verdicts = {v.index: v for v in report.ops if v.subgraph == graph.subgraph}
    use_runtime = runtime is not None and graph.subgraph == 0 and bool(runtime.groups or runtime.partitions == 0)
    if use_runtime:
        assert runtime is not None
        groups = [sorted(g) for g in runtime.groups if g]
    else:  # the rules' partitions, grouped by data flow as the runtime's partitioner groups them
        groups = [sorted(ops) for ops in report.subgraph_partitions(graph.subgraph) if ops]
    partition_of = {op: k for k, ops in enumerate(groups) for op in ops}
    fills: dict[int, str] = {}
    tips: dict[int, str] = {}
    borders: dict[int, str] = {}
    for node in graph.nodes:
        if node.kind != OP or node.op not in verdicts:
            continue
        verdict = verdicts[node.op]
        k = partition_of.get(node.op)
        if k is not None:
            fills[node.id] = PARTITION_COLOURS[k % len(PARTITION_COLOURS)]
            tips[node.id] = f"{report.title}: taken, partition {k + 1} of {len(groups)} ({len(groups[k])} ops)"
        else:
            fills[node.id] = REFUSED
            reason = verdict.reasons[0].text if verdict.reasons else (
                "the runtime left it to the CPU" if use_runtime else "left to the CPU")
            tips[node.id] = f"{report.title}: CPU — {reason}"
        if use_runtime:
            assert runtime is not None
            delegation = runtime.op(node.op)
            if delegation is not None and not delegation.agrees:
                borders[node.id] = STRONG_BORDER
                tips[node.id] += (f" (the rules predicted {'taken' if delegation.predicted else 'CPU'}: "
                                  "the runtime decides)")
    legend = [LegendEntry(PARTITION_COLOURS[0], f"taken: {len(groups)} partition{'s' if len(groups) != 1 else ''}"
                          + (" (colours repeat; see tooltips)" if len(groups) > len(PARTITION_COLOURS) else "")),
              LegendEntry(REFUSED, "left to the CPU (reason in the tooltip)")]
    if use_runtime:
        legend.append(LegendEntry("#ffffff", "the runtime disagrees with the rules", border=STRONG_BORDER))
    note = (f"{report.title}: partitions as the LiteRT interpreter made them (runtime check)" if use_runtime
            else f"{report.title}: verdicts and partitions predicted by the rules")
    return _paint(graph, f"Delegate: {report.title}", fills, tips, legend, borders=borders, note=note)


# -- quantization ---------------------------------------------------------------------------------

DTYPE_COLOURS = {
    "FLOAT32": "#c6dbef", "FLOAT16": "#dadaeb", "BFLOAT16": "#dadaeb", "INT8": "#fdae6b", "UINT8": "#fee391",
    "INT16": "#fcbba1", "INT4": "#d9a37a", "INT32": "#d9d9d9", "INT64": "#bdbdbd", "BOOL": "#c7e9c0",
}
REQUANTIZE = ("QUANTIZE", "DEQUANTIZE")


def quantization_paint(graph: OpGraph, sg: Subgraph) -> Paint:
    """Fill: the dtype of the op's first output. Badge: how its constant inputs are quantized
    ("per-ch" per channel, drawn as a dot; "per-t" per tensor, a ring). Red border: QUANTIZE and
    DEQUANTIZE, where values change representation."""
    fills: dict[int, str] = {}
    tips: dict[int, str] = {}
    badges: dict[int, str] = {}
    borders: dict[int, str] = {}
    used: dict[str, None] = {}
    tensors = sg.tensors
    for node in graph.nodes:
        if node.kind != OP:
            if node.tensor >= 0:
                dtype = tensors[node.tensor].dtype
                fills[node.id] = DTYPE_COLOURS.get(dtype, "#ffffff")
                used[dtype] = None
            continue
        op = sg.operators[node.op]
        outs = [tensors[t] for t in op.outputs if 0 <= t < len(tensors)]
        ins = [tensors[t] for t in op.inputs if 0 <= t < len(tensors)]
        if outs:
            dtype = outs[0].dtype
            fills[node.id] = DTYPE_COLOURS.get(dtype, "#ffffff")
            used[dtype] = None
        weights = [t for t in ins if t.is_constant and t.quantization is not None and t.quantization.is_quantized]
        per_channel = [t for t in weights if t.quantization is not None and t.quantization.per_channel]
        if per_channel:
            badges[node.id] = "per-ch"
        elif weights:
            badges[node.id] = "per-t"
        parts = []
        in_types = sorted({t.dtype for t in ins if not t.is_constant})
        if outs:
            parts.append(f"{'/'.join(in_types) or '—'} → {outs[0].dtype}")
        if weights:
            w = per_channel[0] if per_channel else weights[0]
            q = w.quantization
            assert q is not None
            parts.append(f"{w.dtype} weights, " + (f"per channel ({q.num_channels} on axis {q.quantized_dimension})"
                                                   if per_channel else "per tensor"))
        if op.opcode in REQUANTIZE:
            borders[node.id] = STRONG_BORDER
            parts.append("changes the values' representation")
        tips[node.id] = "; ".join(parts)
    legend = [LegendEntry(DTYPE_COLOURS.get(d, "#ffffff"), f"output {d.lower()}") for d in DTYPE_COLOURS if d in used]
    legend += [LegendEntry(DTYPE_COLOURS.get(d, "#ffffff"), f"output {d.lower()}") for d in used if d not in DTYPE_COLOURS]
    legend.append(LegendEntry("#ffffff", "QUANTIZE / DEQUANTIZE", border=STRONG_BORDER))
    legend.append(LegendEntry("#ffffff", "● in the corner: weights quantized per channel; ○ per tensor"))
    return _paint(graph, "Quantization", fills, tips, legend, borders=borders, badges=badges)


# -- scales ---------------------------------------------------------------------------------------

# Red (bad) to green (good), light enough for dark text.
BAD_TO_GOOD = ("#f28e8e", "#f7b27a", "#f5d76e", "#c9e07a", "#8fd18f")
LIGHT_TO_DARK = ("#f7fbff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6")


def _pick(colours: Sequence[str], fraction: float) -> str:
    fraction = min(max(fraction, 0.0), 1.0)
    return colours[min(int(fraction * len(colours)), len(colours) - 1)]


SQNR_BAD_DB, SQNR_GOOD_DB = 10.0, 40.0  # the error scale's ends for SQNR


def error_paint(graph: OpGraph, candidate: CandidateComparison, metric: str = "sqnr_db") -> Paint:
    """The Compare page's last run for one candidate (subgraph 0): each layer's mean `metric` as a
    colour from red (bad) to green (good), the worst layers (as the plot rings them) with a red
    border. SQNR uses fixed ends (10 and 40 dB); the other metrics the range of this graph's values,
    on a log scale."""
    name = METRIC_TITLES.get(metric, metric)
    values: dict[int, float] = {}
    for layer in candidate.layers:
        if layer.is_plotted and 0 <= layer.op_index < len(graph.nodes) and graph.nodes[layer.op_index].kind == OP:
            value = getattr(layer.metrics, metric)
            if value is not None and not math.isnan(value):
                values[layer.op_index] = value
    finite = [v for v in values.values() if math.isfinite(v)]
    if metric == "sqnr_db":
        low, high = SQNR_BAD_DB, SQNR_GOOD_DB

        def position(v: float) -> float:
            return 1.0 if v == math.inf else (v - low) / (high - low)
        stops = ((BAD_TO_GOOD[0], f"≤ {low:g} dB"), (BAD_TO_GOOD[-1], f"≥ {high:g} dB"))
    elif metric == "cosine":
        def position(v: float) -> float:
            return (v - 0.99) / 0.01
        stops = ((BAD_TO_GOOD[0], "≤ 0.99"), (BAD_TO_GOOD[-1], "1"))
    else:  # larger is worse; a signed metric (mean error) by its size
        positive = [abs(v) for v in finite if v != 0]
        low, high = (min(positive), max(positive)) if positive else (1.0, 1.0)

        def position(v: float) -> float:
            v = abs(v)
            if v == 0:
                return 1.0
            if v == math.inf:
                return 0.0
            if high <= low:
                return 1.0
            return 1.0 - (math.log10(v) - math.log10(low)) / (math.log10(high) - math.log10(low))
        stops = ((BAD_TO_GOOD[0], format_metric(metric, high)), (BAD_TO_GOOD[-1], format_metric(metric, low)))
    fills = {node: _pick(BAD_TO_GOOD, position(v)) for node, v in values.items()}
    tips = {node: f"{name}: {format_metric(metric, v)} (mean over the inputs)" for node, v in values.items()}
    worst = [candidate.layers[i].op_index for i in candidate.worst_plotted(metric)]
    borders = {node: STRONG_BORDER for node in worst if node in values}
    for rank, node in enumerate(worst, 1):
        if node in tips:
            tips[node] += f"; worst layer {rank} of {len(worst)}"
    legend = [LegendEntry("#ffffff", f"the {len(borders)} worst layers", border=STRONG_BORDER),
              LegendEntry(NEUTRAL, "no matched output (or a model input)")]
    return _paint(graph, f"Error: {name} of {candidate.file_name}", fills, tips, legend, borders=borders,
                  note=f"{candidate.file_name} against this model, from the Compare page's last run",
                  scale=stops, default_tip=f"{name}: no matched tensor")


def cost_paint(graph: OpGraph, sg: Subgraph, stats: SubgraphStats | None, by: str = "macs") -> Paint:
    """`by` "macs": each op's share of the subgraph's MACs (a square-root scale, so the many
    small ops still differ from none). "bytes": the bytes of its outputs at their static shapes."""
    fills: dict[int, str] = {}
    tips: dict[int, str] = {}
    if by == "macs":
        macs = stats.macs_by_operator if stats is not None else {}
        total = sum(macs.values())
        top = max(macs.values(), default=0)
        for node in graph.nodes:
            if node.kind == OP and macs.get(node.op):
                fills[node.id] = _pick(LIGHT_TO_DARK, math.sqrt(macs[node.op] / top))
                tips[node.id] = f"{format_count(macs[node.op])} MACs, {format_share(macs[node.op], total)} of the subgraph"
        stops = ((LIGHT_TO_DARK[0], "few MACs"), (LIGHT_TO_DARK[-1], f"{format_count(top)} MACs (the most)"))
        title, default = "Cost: MACs", "no MACs counted (not a MAC op, or dynamic shapes)"
    else:
        sizes = {}
        for node in graph.nodes:
            if node.kind == OP:
                op = sg.operators[node.op]
                sizes[node.id] = sum(sg.tensors[t].activation_bytes for t in op.outputs if 0 <= t < len(sg.tensors))
        top = max(sizes.values(), default=0)
        for node_id, size in sizes.items():
            if size:
                fills[node_id] = _pick(LIGHT_TO_DARK, math.sqrt(size / top) if top else 0.0)
                tips[node_id] = f"outputs: {format_bytes(size)}"
        stops = ((LIGHT_TO_DARK[0], "small outputs"), (LIGHT_TO_DARK[-1], f"{format_bytes(top)} (the most)"))
        title, default = "Cost: output bytes", "outputs of unknown size"
    legend = [LegendEntry(NEUTRAL, default.split(" (")[0])]
    return _paint(graph, title, fills, tips, legend, scale=stops, default_tip=default)
