"""What `quantize` prints as text: the inputs, the table of variants, what was not listed and why,
the recommendation, and where everything was written."""

from __future__ import annotations

from ..formatting import MISSING, format_fixed
from .contents import OpPrecision
from .results import LabResult, VariantResult
from .suggest import Suggestion
from .settings import LAB_DELEGATES


def precision_text(precision: OpPrecision) -> str:
    """e.g. "63 int8 + 26 Q/DQ": the ops by the dtype they compute in, then the conversions."""
    parts = [f"{n} {dtype}" for dtype, n in sorted(precision.ops_by_dtype.items(), key=lambda item: -item[1])
             if dtype not in ("int32", "int64", "bool")]
    conversions = sum(precision.conversions.values())
    return " + ".join(parts) + (f" + {conversions} Q/DQ" if conversions else "")


def not_full_integer_text(v: VariantResult) -> str:
    """Why a variant of an integer mode is not what its name says."""
    assert v.precision is not None
    p = v.precision
    conversions = sum(p.conversions.values())
    who = (f"{v.kept_in_float} kept in float as asked (--keep-float)" if v.kept_in_float
           else "the quantizer or converter left them in float")
    return (f"not full-integer: {p.float_op_count} op{'' if p.float_op_count == 1 else 's'} in float "
            f"({p.float_summary()})" + (f", with {conversions} QUANTIZE/DEQUANTIZE/CAST ops around them"
                                         if conversions else "")
            + f"; {who}. Each float island costs a conversion each way, "
              "and integer-only accelerators (Edge TPU, Hexagon, NPUs) stop at it")


def suggestion_lines(s: Suggestion) -> list[str]:
    """The Suggest search, a line per step: what was in float, size, latency, error."""
    lines = [f"Suggest ({s.target.mode}, target {s.target.describe()}): {s.note}"]
    for step in s.steps:
        kept = f"{len(step.float_ops)} in float" + (f" ({', '.join(f'#{i} {t}' for i, t in zip(step.float_ops, step.float_types))})"
                                                     if step.float_ops else "")
        size = f"{step.size_bytes:,} B" if step.size_bytes else MISSING
        latency = f"{step.median_ms:.3g} ms" if step.median_ms is not None else MISSING
        sqnr = format_fixed(step.output_sqnr_db, ".1f")
        top1 = MISSING if step.top1_agreement is None else f"{step.top1_agreement:.0%}"
        lines.append(f"  {kept}: {size}, {latency}, output SQNR {sqnr} dB, top-1 {top1}"
                     + (f" — {step.error}" if step.error else ""))
    return lines


def format_lab_text(result: LabResult) -> str:
    lines = [
        f"Quantization lab: {result.settings.source} ({result.source_kind})",
        f"  reference:   {result.reference_path}",
        "  run:         " + (f"signature {result.signature!r} (subgraph {result.signature_subgraph})"
                              if result.signature else "subgraph 0 (the model has no signatures)"),
        f"  inputs:      {result.preprocessing}",
        f"  calibration: {result.calibration}",
        f"  evaluation:  {result.evaluation}",
    ]
    lines += [f"  ! {w}" for w in result.warnings]
    if result.cancelled:
        lines.append("  ! cancelled: the table has the variants finished before")
    header = ("mode", "size", "ratio", "ops by dtype", "median ms", "p90 ms", "top-1", "out SQNR dB",
              "worst layer (SQNR dB)", *(f"{d} ops" for d in LAB_DELEGATES), "budget")
    rows = []
    reference_size = result.reference.size_bytes or 0
    for v in result.variants:
        if not v.usable and not v.is_reference:
            continue
        worst = MISSING if v.worst_layer is None else f"{v.worst_layer.op} {format_fixed(v.worst_layer.sqnr_db, '.1f')}"
        budget = "" if v.fits is None else ("fits" if v.fits else "no")
        mark = "*" if v.mode == result.recommendation else (" random" if v.calibrated_on_random else "")
        rows.append((
            v.title + ("*" if mark == "*" else "") + (" (random cal.)" if v.calibrated_on_random else "")
            + (" [NOT full-integer]" if v.not_full_integer else ""),
            f"{v.size_bytes:,}" if v.size_bytes else MISSING,
            f"{v.size_bytes / reference_size:.2f}" if v.size_bytes and reference_size else MISSING,
            precision_text(v.precision) if v.precision else MISSING,
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
        if v.not_full_integer:
            lines.append(f"{v.title}: {not_full_integer_text(v)}")
        slower = result.slowdown(v) if v.usable else None
        if slower:
            lines.append(f"{v.title}: {slower}")
    for v in result.variants:
        if v.latency_error or v.evaluation_error:
            lines.append(f"{v.title}: " + "; ".join(e for e in (v.latency_error, v.evaluation_error) if e))
        if v.ruled_out:
            lines.append(f"{v.title} does not fit: {'; '.join(v.ruled_out)}")
    if result.suggestion is not None:
        lines.append("")
        lines.extend(suggestion_lines(result.suggestion))
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
