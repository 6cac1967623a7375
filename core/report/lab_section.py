"""The report's quantization-lab section: the lab's table as its budget marked it, from the lab's
own result type (a live run in the app, or its saved JSON read back by lab/results.py)."""

from __future__ import annotations

import math
from typing import Any

from ..formatting import format_metric
from ..lab.output import not_full_integer_text, precision_text
from ..lab.results import LabResult, VariantResult, slowdown


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _row(v: VariantResult, recommendation: str | None, reference_size: int | None,
         reference: VariantResult | None) -> dict[str, Any]:
    worst = v.worst_layer
    return {
        "precision": precision_text(v.precision) if v.precision else "",
        "not_full_integer": not_full_integer_text(v) if v.not_full_integer else "",
        "slower": (slowdown(v, reference) or "") if reference is not None else "",
        "mode": v.mode,
        "title": v.title,
        "path": v.path or "",
        "size": v.size_bytes,
        "ratio": v.size_bytes / reference_size if v.size_bytes and reference_size else None,
        "median": v.latency.median_ms if v.latency else None,
        "p90": v.latency.p90_ms if v.latency else None,
        "latency_error": v.latency_error or "",
        "top1": v.top1_agreement,
        # The reference's own SQNR is infinite (identical); JSON keeps it as null: the template
        # writes "exact" for the reference either way.
        "sqnr": _finite(v.output_sqnr_db),
        "evaluation_error": v.evaluation_error or "",
        "worst": None if worst is None else f"{worst.op} #{worst.op_index}: {format_metric('sqnr_db', worst.sqnr_db)} dB",
        "delegates": {d.delegate: f"{d.ops_supported}/{d.ops_total}" for d in v.delegates},
        "fits": v.fits,
        "ruled_out": list(v.ruled_out),
        "error": v.error or "",
        "unchanged": v.unchanged or "",
        "random": v.calibrated_on_random,
        "recommended": bool(v.mode) and v.mode == recommendation and not v.is_reference,
        "reference": v.is_reference,
    }


def lab_section(result: LabResult) -> dict[str, Any]:
    reference = next((v for v in result.variants if v.is_reference), None)
    reference_size = reference.size_bytes if reference is not None else None
    rows = [_row(v, result.recommendation, reference_size, reference) for v in result.variants]
    return {
        "source": result.settings.source,
        "preprocessing": result.preprocessing,
        "run": (f"signature {result.signature!r} (subgraph {result.signature_subgraph})" if result.signature
                else "subgraph 0 (the model has no signatures)"),
        "calibration": result.calibration,
        "evaluation": result.evaluation,
        "random": result.random_inputs,
        "warnings": list(result.warnings),
        "recommendation": result.recommendation or "",
        "recommendation_reason": result.recommendation_reason,
        "cancelled": result.cancelled,
        "rows": rows,
        "delegate_keys": sorted({k for row in rows for k in row["delegates"]}),
    }
