"""A device budget applied to a lab's variants: which fit, why the others do not, and which one to
recommend. A pure function of the measured results, so the app re-applies a changed budget at
once, without running anything again. Sizes are written in decimal units, as budgets are given."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from ..formatting import format_decimal_bytes
from .results import VariantResult
from .settings import Budget


def _budget_misses(variant: VariantResult, budget: Budget) -> list[str]:
    misses = []
    if budget.max_size_bytes is not None and variant.size_bytes is not None \
            and variant.size_bytes > budget.max_size_bytes:
        misses.append(f"size {format_decimal_bytes(variant.size_bytes)} > "
                      f"{format_decimal_bytes(budget.max_size_bytes)}")
    if budget.max_latency_ms is not None:
        if variant.latency is None:
            misses.append("latency not measured")
        elif variant.latency.median_ms > budget.max_latency_ms:
            misses.append(f"latency {variant.latency.median_ms:.3g} ms > {budget.max_latency_ms:g} ms")
    if budget.min_top1_agreement is not None:
        if variant.top1_agreement is None:
            misses.append("top-1 agreement not measured")
        elif variant.top1_agreement < budget.min_top1_agreement:
            misses.append(f"top-1 agreement {variant.top1_agreement:.0%} < {budget.min_top1_agreement:.0%}")
    if budget.min_output_sqnr_db is not None:
        if variant.output_sqnr_db is None:
            misses.append("output SQNR not measured")
        elif variant.output_sqnr_db < budget.min_output_sqnr_db:
            misses.append(f"output SQNR {variant.output_sqnr_db:.1f} dB < {budget.min_output_sqnr_db:g} dB")
    if budget.whole_model_delegate:
        cov = variant.coverage(budget.whole_model_delegate)
        if cov is None:
            misses.append(f"{budget.whole_model_delegate} coverage not analysed")
        elif not cov.whole_model:
            misses.append(f"{budget.whole_model_delegate} takes {cov.ops_supported}/{cov.ops_total} ops")
    return misses


def _error_rank(variant: VariantResult) -> tuple[float, float]:
    """Larger is better: top-1 agreement first (when measured), then output SQNR."""
    top1 = variant.top1_agreement if variant.top1_agreement is not None else -1.0
    sqnr = variant.output_sqnr_db if variant.output_sqnr_db is not None else -math.inf
    return top1, sqnr if not math.isnan(sqnr) else -math.inf


def apply_budget(variants: Sequence[VariantResult], budget: Budget) -> tuple[tuple[VariantResult, ...], str | None,
                                                                              str]:
    """Mark each variant as fitting the budget or not (with why not), and recommend the quantized
    variant with the smallest error among those that fit. Without a budget, nothing is marked and
    the recommendation is the smallest error among all quantized variants."""
    marked = []
    for v in variants:
        if v.error is not None or v.unchanged is not None:
            marked.append(replace(v, fits=None, ruled_out=()))
            continue
        if not budget.is_set:
            marked.append(replace(v, fits=None, ruled_out=()))
            continue
        misses = _budget_misses(v, budget)
        marked.append(replace(v, fits=not misses, ruled_out=tuple(misses)))
    candidates = [v for v in marked if v.usable and not v.is_reference and v.fits is not False]
    measured = [v for v in candidates if v.top1_agreement is not None or v.output_sqnr_db is not None]
    reference = next((v for v in marked if v.is_reference), None)
    if not candidates:
        reason = "no quantized variant fits the budget" if budget.is_set else "no quantized variant was produced"
        if reference is not None and reference.fits:
            reason += "; the float model itself fits it"
        return tuple(marked), None, reason
    pool = measured or candidates
    best = max(pool, key=lambda v: (_error_rank(v), -(v.size_bytes or 0)))
    why = []
    if best.top1_agreement is not None:
        why.append(f"top-1 agreement {best.top1_agreement:.0%}")
    if best.output_sqnr_db is not None and math.isfinite(best.output_sqnr_db):
        why.append(f"output SQNR {best.output_sqnr_db:.1f} dB")
    if not measured:
        why.append("error not measured")
    scope = "of the variants that fit the budget" if budget.is_set else "of all variants (no budget given)"
    reason = f"{best.title}: the smallest error {scope}" + (f" ({', '.join(why)})" if why else "")
    others = [f"{v.title}: {'; '.join(v.ruled_out)}" for v in marked if v.fits is False and not v.is_reference]
    if others:
        reason += ". Ruled out — " + ". ".join(others)
    return tuple(marked), best.mode, reason
