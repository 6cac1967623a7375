"""The self-contained HTML report: what the app shows of one model, in one file for people
who do not have the app.

`build_report` gathers the facts from the same core objects as the app and the CLI (the
reader, model_stats, the delegate rule engine, compare_files, the quantization lab's saved
results) into plain values, and renders them with jinja2 (autoescape on: every name, label
and metadata string from a model is untrusted text). The page has no scripts at all: plots
are inline SVG drawn by the template from numbers, thumbnails are PNG data URIs, CSS is
inline, and a Content-Security-Policy forbids every network load. Large op tables are
`<details>` elements, collapsed on screen and opened for printing.
"""

from __future__ import annotations

import base64
import datetime
import functools
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import __version__
from .analysis import ModelStats, model_stats
from .compat import DELEGATES, DelegateReport, analyze
from .delegate_rules import DEFAULT_NNAPI_API_LEVEL
from .files import write_new_file
from .model import Model, Subgraph, Tensor
from .summary import format_quantization, human_bytes, human_count, size_breakdown

# Op tables with more rows than this start collapsed (dp_net has 2,338 ops).
OPEN_OP_TABLE_LIMIT = 200
# CPU-fallback ops listed under each reason; the rest are counted.
LISTED_FALLBACK_OPS = 30
# Per-channel parameters listed in full up to this many channels; beyond, the first ones and the ranges.
LISTED_CHANNELS = 16
WORST_LAYERS = 5
SHORT_NAME = 48  # characters of a tensor name shown in the op table
PLOT_WIDTH, PLOT_HEIGHT = 880, 280
PLOT_MARGIN = {"left": 56, "right": 16, "top": 16, "bottom": 40}
SERIES_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
THUMBNAIL_SIZE = 64
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "base-uri 'none'; form-action 'none'")


class ReportCancelled(Exception):
    pass


class ReportError(Exception):
    """A report input that cannot be used (for example a lab results file)."""


def read_lab_results(path: str) -> dict[str, Any]:
    """A quantization lab's saved results (`<stem>_quantize.json`, or `quantize --json` output)."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ReportError(f"{path}: cannot read the quantization lab results: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("variants"), list):
        raise ReportError(f"{path}: not quantization lab results (no \"variants\" list)")
    return data


@dataclass(frozen=True)
class ReportRequest:
    model: str
    delegates: tuple[str, ...] = DELEGATES
    api_level: int = DEFAULT_NNAPI_API_LEVEL
    # The comparison: a ComparisonRequest (core/comparison.py) to run with the worker, or a finished
    # ComparisonRun (the app's Compare page), shown as it is; None: no comparison.
    comparison: Any = None
    # A quantization lab run, as lab_dict() gives it and as it is saved in <stem>_quantize.json.
    lab: dict[str, Any] | None = None


Progress = Callable[[int, int, str], None]


def build_report(request: ReportRequest, worker: Any = None, *, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None, now: datetime.datetime | None = None) -> str:
    """The report's HTML. `worker` (a RuntimeWorker) is needed only with a comparison. Raises
    ModelError for an unreadable model, InputError / RuntimeFailure from the comparison, and
    ReportCancelled when `cancelled()` turns true between steps."""
    from .tflite_reader import read_model

    steps = 2 + len(request.delegates) + (1 if request.comparison is not None else 0)  # "done" is the last
    done = 0

    def step(message: str) -> None:
        nonlocal done
        if cancelled is not None and cancelled():
            raise ReportCancelled("cancelled")
        if progress is not None:
            progress(done, steps, message)
        done += 1

    step("reading the model")
    with read_model(request.model) as model:
        stats = model_stats(model)
        context: dict[str, Any] = {
            "title": os.path.basename(model.path),
            "generated": (now or datetime.datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip(),
            "version": __version__,
            "csp": CONTENT_SECURITY_POLICY,
            "overview": _overview(model, stats),
            "signatures": _signatures(model),
            "subgraphs": [_subgraph(model, sg, stats) for sg in model.subgraphs],
        }
        reports: dict[str, DelegateReport] = {}
        for key in request.delegates:
            step(f"delegate rules: {key}")
            reports[key] = analyze(model, key, api_level=request.api_level)
        context["delegates"] = [_delegate(report) for report in reports.values()]
        context["op_verdict_columns"] = [report.title for report in reports.values()]
        for sg in context["subgraphs"]:
            for op in sg["ops"]:
                op["verdicts"] = [_verdict_cell(report, sg["index"], op["index"]) for report in reports.values()]
    context["comparison"] = None
    if request.comparison is not None:
        step("comparing the candidates on the inputs")
        context["comparison"] = _comparison(request.comparison, worker, cancelled)
    context["lab"] = _lab(request.lab) if request.lab is not None else None
    step("writing the page")
    # Names from a model or a file system may hold lone surrogates (undecodable bytes): as "?", the
    # page encodes as UTF-8 whatever the model says.
    html = render(context).encode("utf-8", "replace").decode("utf-8")
    step("done")
    return html


def render(context: dict[str, Any]) -> str:
    return _template().render(**context)


@functools.cache
def _template() -> Any:
    """The compiled page, made once per process (compiling takes longer than rendering a small model)."""
    import jinja2  # only the report needs it

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("tflite_inspector", "resources/report"),
        autoescape=True,  # every string from a model is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["bytes"] = human_bytes
    environment.filters["count"] = human_count
    environment.filters["num"] = _number
    environment.filters["percent"] = _percent
    return environment.get_template("report.html.j2")


def write_report(html: str, path: str, *, overwrite: bool = False) -> None:
    """Write the page, never replacing an existing file unless `overwrite` (raises FileExists)."""
    write_new_file(path, html.encode("utf-8"), overwrite=overwrite)


# --- formatting ---------------------------------------------------------------------------------


def _number(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    return f"{value:,}"


def _percent(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value * 100:.3g}%"


def _shortened(name: str, limit: int = SHORT_NAME) -> str:
    """The start and the end of a long name, which are the parts that tell tensors apart."""
    if len(name) <= limit:
        return name
    keep = limit - 1
    return name[:keep // 2] + "…" + name[len(name) - (keep - keep // 2):]


def _shape(t: Tensor) -> str:
    dims = t.shape_signature or t.shape
    return "×".join("?" if d < 0 else str(d) for d in dims) if dims else "scalar"


# --- the model ------------------------------------------------------------------------------------


def _overview(model: Model, stats: ModelStats) -> dict[str, Any]:
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
        "peak_activation": [sg.peak_activation.bytes for sg in stats.subgraphs],
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
    return {"index": t.index, "name": t.name, "dtype": t.dtype, "shape": _shape(t),
            "quantization": format_quantization(t.quantization)}


def _signatures(model: Model) -> list[dict[str, Any]]:
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


def _subgraph(model: Model, sg: Subgraph, stats: ModelStats) -> dict[str, Any]:
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
            out.append({"short": _shortened(t.name), "name": t.name, "shape": _shape(t)})
        return out

    macs = stats.subgraphs[sg.index].macs_by_operator
    ops = [{"index": op.index, "opcode": op.opcode, "version": op.version, "inputs": names(op.inputs),
            "outputs": names(op.outputs), "macs": macs.get(op.index)} for op in sg.operators]
    quantized = [_quantized_tensor(t) for t in tensors if t.quantization is not None and t.quantization.is_quantized]
    return {
        "index": sg.index,
        "name": sg.name,
        "inputs": [_tensor_row(tensors[i]) for i in sg.inputs if 0 <= i < len(tensors)],
        "outputs": [_tensor_row(tensors[i]) for i in sg.outputs if 0 <= i < len(tensors)],
        "ops": ops,
        "ops_open": len(ops) <= OPEN_OP_TABLE_LIMIT,
        "macs": stats.subgraphs[sg.index].macs,
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
    row = {"index": t.index, "name": t.name, "dtype": t.dtype, "shape": _shape(t), "constant": t.is_constant,
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


# --- delegates ------------------------------------------------------------------------------------


def _delegate(report: DelegateReport) -> dict[str, Any]:
    fraction = report.macs_supported_fraction
    groups = []
    for reason, ops in report.fallbacks_by_reason().items():
        listed = [f"{'' if v.subgraph == 0 else f'{v.subgraph}:'}#{v.index} {v.opcode}"
                  for v in ops[:LISTED_FALLBACK_OPS]]
        groups.append({"reason": reason, "source": ops[0].reasons[0].source, "count": len(ops), "ops": listed,
                       "more": len(ops) - len(listed)})
    settings = ", ".join(f"{k} {v}" for k, v in report.settings.items())
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


def _verdict_cell(report: DelegateReport, subgraph: int, index: int) -> dict[str, Any]:
    verdict = report.verdict(subgraph, index)
    if verdict is None:
        return {"text": "", "supported": None, "why": ""}
    return {"text": "✓" if verdict.supported else "✗", "supported": verdict.supported,
            "why": "; ".join(r.text for r in verdict.reasons)}


# --- comparison -----------------------------------------------------------------------------------


def _comparison(request: Any, worker: Any, cancelled: Callable[[], bool] | None) -> dict[str, Any]:
    from .comparison import ComparisonRun, compare_files

    run = request if isinstance(request, ComparisonRun) else compare_files(request, worker, cancelled=cancelled)
    comparison = run.comparison
    if comparison.cancelled:
        raise ReportCancelled("cancelled")
    candidates, plotted = [], []
    for i, c in enumerate(comparison.candidates):
        worst = c.worst_layers("sqnr_db", WORST_LAYERS)
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        if c.layers:
            plotted.append((c, color, worst))
        candidates.append({
            "name": c.file_name,
            "path": c.path,
            "color": color,
            "error": c.error,
            "layers": len(c.layers),
            "unmatched": len(c.unmatched),
            "worst": [{"op": w.op, "op_index": w.op_index, "tensor": w.reference_name, "how": w.how,
                       "sqnr_db": w.metrics.sqnr_db, "rmse_over_scale": w.metrics.rmse_over_scale,
                       "cosine": w.metrics.cosine} for w in worst],
            "outputs": [_output(o) for o in c.outputs],
        })
    return {
        "inputs": comparison.inputs_description,
        "input_count": len(comparison.inputs),
        "input_errors": list(comparison.input_errors),
        "preprocessing": comparison.preprocessing,
        "random": comparison.random_inputs,
        "candidates": candidates,
        "plot": _layer_plot(plotted),
        "worst_count": WORST_LAYERS,
        "top_tables": _top_tables(comparison, run.samples.samples),
    }


def _output(o: Any) -> dict[str, Any]:
    metrics = o.metrics
    return {
        "name": o.name,
        "kind": o.kind,
        "sqnr_db": None if metrics is None else metrics.sqnr_db,
        "cosine": None if metrics is None else metrics.cosine,
        "max_abs_error": None if metrics is None else metrics.max_abs_error,
        "top1": o.top1_agreement,
        "topk_overlap": o.topk_overlap,
        "k": o.k,
    }


def _classes(top: Sequence[tuple[int, str, float]]) -> list[tuple[str, float]]:
    return [(label or f"class {cls}", score) for cls, label, score in top]


def _top_tables(comparison: Any, samples: Sequence[Any]) -> list[dict[str, Any]]:
    """One table per classifier output: a row per input, with its thumbnail once, the
    reference's top k and every candidate's beside it."""
    thumbnails = {s.name: _thumbnail(s.thumbnail) for s in samples}
    tables: dict[str, dict[str, Any]] = {}
    for c in comparison.candidates:
        for o in c.outputs:
            if not o.top:
                continue
            table = tables.setdefault(o.name, {"name": o.name, "k": o.k, "labels_source": o.labels_source,
                                               "candidates": [], "rows": {}})
            table["candidates"].append(c.file_name)
            column = len(table["candidates"]) - 1
            for t in o.top:
                row = table["rows"].setdefault(t.input, {"input": t.input, "thumbnail": thumbnails.get(t.input),
                                                         "reference": _classes(t.reference), "candidates": []})
                row["candidates"].extend([None] * (column - len(row["candidates"])))  # a candidate that skipped it
                agree = bool(t.reference and t.candidate and t.reference[0][0] == t.candidate[0][0])
                row["candidates"].append({"top": _classes(t.candidate), "agree": agree})
    for table in tables.values():
        width = len(table["candidates"])
        table["rows"] = list(table["rows"].values())
        for row in table["rows"]:
            row["candidates"].extend([None] * (width - len(row["candidates"])))
    return list(tables.values())


def _thumbnail(pixels: np.ndarray | None) -> str | None:
    """A JPEG data URI, at most THUMBNAIL_SIZE pixels a side: about 2 kB per input, shown once."""
    if pixels is None:
        return None
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(pixels))
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _layer_plot(candidates: Sequence[tuple[Any, str, Sequence[Any]]]) -> dict[str, Any] | None:
    """SQNR (dB) of every matched layer along the execution order, one series per (candidate,
    colour, worst layers), as numbers the template draws into an inline SVG. Exact layers
    (infinite SQNR) sit on the top edge; layers without a value and model inputs are left out."""
    series = []
    for c, color, worst in candidates:
        # Model inputs (op −1) are left out: only the input's own quantization, often exact,
        # whose height would flatten the layers' curve.
        points = [(layer.op_index, layer.metrics.sqnr_db, layer) for layer in c.layers
                  if layer.how != "requantized" and layer.op_index >= 0 and not math.isnan(layer.metrics.sqnr_db)]
        if points:
            series.append((c, color, {id(w) for w in worst}, points))
    if not series:
        return None
    finite = [y for *_, points in series for _, y, _ in points if math.isfinite(y)]
    low = min(finite, default=0.0)
    high = max(finite, default=60.0)
    low, high = math.floor(min(low, 0.0) / 10) * 10, math.ceil(max(high, low + 10) / 10) * 10
    xs = [x for *_, points in series for x, _, _ in points]
    x_low, x_high = min(xs), max(max(xs), min(xs) + 1)
    left, top = PLOT_MARGIN["left"], PLOT_MARGIN["top"]
    width = PLOT_WIDTH - left - PLOT_MARGIN["right"]
    height = PLOT_HEIGHT - top - PLOT_MARGIN["bottom"]

    def px(x: float) -> float:
        return round(left + (x - x_low) / (x_high - x_low) * width, 1)

    def py(y: float) -> float:
        y = high if not math.isfinite(y) else min(max(y, low), high)
        return round(top + (high - y) / (high - low) * height, 1)

    drawn = []
    for c, color, worst, points in series:
        drawn.append({
            "name": c.file_name,
            "color": color,
            "polyline": " ".join(f"{px(x)},{py(y)}" for x, y, _ in points),
            "worst": [{"x": px(x), "y": py(y), "label": f"{layer.op} #{layer.op_index}: {_number(y)} dB"}
                      for x, y, layer in points if id(layer) in worst],
        })
    y_step = _nice_step(high - low)
    x_step = max(1, int(_nice_step(x_high - x_low, 8)))
    return {
        "width": PLOT_WIDTH, "height": PLOT_HEIGHT, "left": left, "top": top,
        "right": left + width, "bottom": top + height,
        "y_ticks": [(py(v), f"{v:g}") for v in np.arange(low, high + y_step / 2, y_step)],
        "x_ticks": [(px(v), str(v)) for v in range(int(x_low) // x_step * x_step, int(x_high) + 1, x_step)
                    if v >= x_low],
        "series": drawn,
    }


# --- the quantization lab ------------------------------------------------------------------------


def _lab(data: dict[str, Any]) -> dict[str, Any]:
    """The lab's table from its saved JSON (docs/quantization.md), read defensively: the file may
    have been edited, or come from anywhere. Fields of the wrong type count as absent."""

    def number(value: Any) -> float | int | None:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    def texts(value: Any) -> list[str]:
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def table(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    recommendation = text(data.get("recommendation"))
    rows = []
    for v in data.get("variants") or []:
        if not isinstance(v, dict):
            continue
        latency, worst = table(v.get("latency_ms")), table(v.get("worst_layer"))
        mode = text(v.get("mode"))
        rows.append({
            "mode": mode,
            "title": text(v.get("title")) or mode,
            "path": text(v.get("path")),
            "size": number(v.get("size_bytes")),
            "ratio": number(v.get("size_ratio")),
            "median": number(latency.get("median")),
            "p90": number(latency.get("p90")),
            "latency_error": text(v.get("latency_error")),
            "top1": number(v.get("top1_agreement")),
            "sqnr": number(v.get("output_sqnr_db")),
            "evaluation_error": text(v.get("evaluation_error")),
            "worst": (f"{text(worst.get('op'))} #{number(worst.get('op_index'))}: "
                      f"{_number(number(worst.get('sqnr_db')))} dB") if worst else None,
            "delegates": {str(k): f"{number(d.get('ops_supported'))}/{number(d.get('ops_total'))}"
                          for k, d in table(v.get("delegates")).items() if isinstance(d, dict)},
            "fits": v.get("fits_budget") if isinstance(v.get("fits_budget"), bool) else None,
            "ruled_out": texts(v.get("ruled_out")),
            "error": text(v.get("error")),
            "unchanged": text(v.get("unchanged")),
            "random": v.get("calibrated_on_random") is True,
            "recommended": bool(mode) and mode == recommendation and v.get("reference") is not True,
            "reference": v.get("reference") is True,
        })
    return {
        "source": text(data.get("source")),
        "preprocessing": text(data.get("preprocessing")),
        "calibration": text(table(data.get("calibration")).get("description")),
        "evaluation": text(table(data.get("evaluation")).get("description")),
        "random": data.get("random_inputs") is True,
        "warnings": texts(data.get("warnings")),
        "recommendation": recommendation,
        "recommendation_reason": text(data.get("recommendation_reason")),
        "cancelled": data.get("cancelled") is True,
        "rows": rows,
        "delegate_keys": sorted({k for row in rows for k in row["delegates"]}),
    }
