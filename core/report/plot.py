"""The report's layer plot: SQNR per layer along the reference's execution order, as numbers an
inline SVG is drawn from (the page has no scripts)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..comparison.results import CandidateComparison
from ..formatting import format_metric

PLOT_WIDTH, PLOT_HEIGHT = 880, 280
PLOT_MARGIN = {"left": 56, "right": 16, "top": 16, "bottom": 40}
SERIES_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def layer_plot(candidates: Sequence[tuple[CandidateComparison, str]]) -> dict[str, Any] | None:
    """SQNR (dB) of the plotted layers (CandidateComparison.plotted_layers, as in the app) along the
    execution order, one series per (candidate, colour), as numbers the template draws into an
    inline SVG. Exact layers (infinite SQNR) sit on the top edge; a layer without a value is not
    drawn, as the app leaves a gap. The worst plotted layers are circled, as the app rings them."""
    series = []
    for c, color in candidates:
        worst = {c.layers[i].reference_tensor for i in c.worst_plotted("sqnr_db")}
        chosen = [c.layers[i] for i in c.plotted_layers()]
        points = [(layer.op_index, layer.metrics.sqnr_db, layer) for layer in chosen
                  if not math.isnan(layer.metrics.sqnr_db)]
        if points:
            series.append((c, color, worst, points))
    if not series:
        return None
    finite = [y for *_, points in series for _, y, _ in points if math.isfinite(y)]
    finite += [layer.isolated.sqnr_db for *_, points in series for _, _, layer in points  # the dashed curve too
               if layer.isolated is not None and math.isfinite(layer.isolated.sqnr_db)]
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
            "isolated": " ".join(f"{px(x)},{py(layer.isolated.sqnr_db)}" for x, _, layer in points
                                 if layer.isolated is not None and not math.isnan(layer.isolated.sqnr_db)),
            "worst": [{"x": px(x), "y": py(y), "label": f"{layer.op} #{layer.op_index}: {format_metric('sqnr_db', y)} dB"}
                      for x, y, layer in points if layer.reference_tensor in worst],
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
