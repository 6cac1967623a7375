"""What `quantize` prints as text: the inputs, the table of variants, what was not listed and why,
the recommendation, and where everything was written."""

from __future__ import annotations

from ..formatting import MISSING, format_fixed
from .results import LabResult
from .settings import LAB_DELEGATES


def format_lab_text(result: LabResult) -> str:
    lines = [
        f"Quantization lab: {result.settings.source} ({result.source_kind})",
        f"  reference:   {result.reference_path}",
        f"  inputs:      {result.preprocessing}",
        f"  calibration: {result.calibration}",
        f"  evaluation:  {result.evaluation}",
    ]
    lines += [f"  ! {w}" for w in result.warnings]
    if result.cancelled:
        lines.append("  ! cancelled: the table has the variants finished before")
    header = ("mode", "size", "ratio", "median ms", "p90 ms", "top-1", "out SQNR dB", "worst layer (SQNR dB)",
              *(f"{d} ops" for d in LAB_DELEGATES), "budget")
    rows = []
    reference_size = result.reference.size_bytes or 0
    for v in result.variants:
        if not v.usable and not v.is_reference:
            continue
        worst = MISSING if v.worst_layer is None else f"{v.worst_layer.op} {format_fixed(v.worst_layer.sqnr_db, '.1f')}"
        budget = "" if v.fits is None else ("fits" if v.fits else "no")
        mark = "*" if v.mode == result.recommendation else (" random" if v.calibrated_on_random else "")
        rows.append((
            v.title + ("*" if mark == "*" else "") + (" (random cal.)" if v.calibrated_on_random else ""),
            f"{v.size_bytes:,}" if v.size_bytes else MISSING,
            f"{v.size_bytes / reference_size:.2f}" if v.size_bytes and reference_size else MISSING,
            format_fixed(v.latency.median_ms if v.latency else None, ".3g"),
            format_fixed(v.latency.p90_ms if v.latency else None, ".3g"),
            MISSING if v.top1_agreement is None else f"{v.top1_agreement:.0%}",
            format_fixed(v.output_sqnr_db, ".1f"), worst,
            *(f"{c.ops_supported}/{c.ops_total}" if (c := v.coverage(d)) else MISSING for d in LAB_DELEGATES),
            budget,
        ))
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines.append("")
    lines.append("  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    for v in result.variants:
        if v.unchanged is not None:
            lines.append(f"{v.title}: unchanged, not listed — {v.unchanged}")
        elif v.error is not None:
            lines.append(f"{v.title}: failed — {v.error}")
    for v in result.variants:
        if v.latency_error or v.evaluation_error:
            lines.append(f"{v.title}: " + "; ".join(e for e in (v.latency_error, v.evaluation_error) if e))
        if v.ruled_out:
            lines.append(f"{v.title} does not fit: {'; '.join(v.ruled_out)}")
    lines.append("")
    if result.recommendation:
        lines.append(f"Recommended*: {result.recommendation_reason.split('. Ruled out')[0]}")
    else:
        lines.append(f"No recommendation: {result.recommendation_reason}")
    for v in result.variants:
        if v.path and not v.is_reference:
            lines.append(f"  {v.mode}: {v.path}")
    if result.settings_file:
        lines.append(f"Settings saved to {result.settings_file} (re-run: tflite-inspector quantize --rerun "
                     f"{result.settings_file})")
    return "\n".join(lines)
