"""The report's comparison section: the candidates' output agreement, their worst layers, the SQNR
plot, and the top-k of each input with its thumbnail."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..comparison.results import WORST_COUNT, Comparison, OutputAgreement, RankedClass
from ..comparison.inputs import Sample
from ..comparison.run import ComparisonRun
from ..metrics import SUSPECT_RMSE_OVER_SCALE
from .plot import SERIES_COLORS, layer_plot

THUMBNAIL_SIZE = 64


def comparison_section(run: ComparisonRun) -> dict[str, Any]:
    """The comparison as the template shows it; its worst layers are the ones the plot circles."""
    comparison = run.comparison
    candidates, plotted = [], []
    for i, c in enumerate(comparison.candidates):
        worst = [c.layers[k] for k in c.worst_plotted("sqnr_db", WORST_COUNT)]
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        if c.layers:
            plotted.append((c, color))
        candidates.append({
            "name": c.file_name,
            "path": c.path,
            "color": color,
            "error": c.error,
            "layers": len(c.layers),
            "unmatched": len(c.unmatched),
            "worst": [{"op": w.op, "op_index": w.op_index, "tensor": w.reference_name, "how": w.how,
                       "sqnr_db": w.metrics.sqnr_db, "rmse_over_scale": w.metrics.rmse_over_scale,
                       "cosine": w.metrics.cosine,
                       "isolated_sqnr_db": w.isolated.sqnr_db if w.isolated else None,
                       "own_sqnr_db": w.isolated_own.sqnr_db if w.isolated_own else None,
                       "own_rmse_over_scale": w.isolated_own.rmse_over_scale if w.isolated_own else None,
                       "suspect": w.suspect} for w in worst],
            "isolated": c.isolated,
            "isolated_note": c.isolated_note,
            "suspect": sum(layer.suspect for layer in c.layers),
            "suspect_steps": SUSPECT_RMSE_OVER_SCALE,
            "outputs": [_output(o) for o in c.outputs],
        })
    return {
        "inputs": comparison.inputs_description,
        "input_count": len(comparison.inputs),
        "input_errors": list(comparison.input_errors),
        "preprocessing": comparison.preprocessing,
        "run": comparison.describe_signature(),
        "random": comparison.random_inputs,
        "candidates": candidates,
        "plot": layer_plot(plotted),
        "worst_count": WORST_COUNT,
        "top_tables": _top_tables(comparison, run.run_samples),
    }


def _output(o: OutputAgreement) -> dict[str, Any]:
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


def _classes(top: Sequence[RankedClass]) -> list[tuple[str, float]]:
    return [(c.label or f"class {c.index}", c.score) for c in top]


def _top_tables(comparison: Comparison, samples: Sequence[Sample]) -> list[dict[str, Any]]:
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
                row["candidates"].append({"top": _classes(t.candidate), "agree": t.agrees})
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
