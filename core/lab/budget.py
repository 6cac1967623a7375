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


# With no budget, the recommendation is the smallest variant whose error stays within these
# (docs/quantization.md): the output's SQNR at least 25 dB (an RMS error about 5.6% of the
# signal's, where int8 classifiers usually land at 25–40 dB) and, for a classifier, the same best
# class on at least 98% of the inputs. A variant not measured on either is not judged by them.
DEFAULT_MIN_OUTPUT_SQNR_DB = 25.0
DEFAULT_MIN_TOP1_AGREEMENT = 0.98


def within_default_tolerances(variant: VariantResult) -> bool:
    sqnr, top1 = variant.output_sqnr_db, variant.top1_agreement
    if sqnr is None and top1 is None:
        return False
    if sqnr is not None and not (sqnr >= DEFAULT_MIN_OUTPUT_SQNR_DB):  # NaN fails too
        return False
    return top1 is None or top1 >= DEFAULT_MIN_TOP1_AGREEMENT


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
    if not budget.is_set:
        return tuple(marked), *_smallest_within_tolerances(candidates)
    pool = measured or candidates
    best = max(pool, key=lambda v: (_error_rank(v), -(v.size_bytes or 0)))
    why = _measured_parts(best, with_size=False) + ([] if measured else ["error not measured"])
    scope = "of the variants that fit the budget"
    reason = f"{best.title}: the smallest error {scope}" + (f" ({', '.join(why)})" if why else "")
    others = [f"{v.title}: {'; '.join(v.ruled_out)}" for v in marked if v.fits is False and not v.is_reference]
    if others:
        reason += ". Ruled out — " + ". ".join(others)
    return tuple(marked), best.mode, reason


def _smallest_within_tolerances(candidates: Sequence[VariantResult]) -> tuple[str | None, str]:
    """No budget: the smallest variant within the default tolerances; when none is, the one with
    the smallest error, saying that none was within them."""
    tolerances = (f"output SQNR ≥ {DEFAULT_MIN_OUTPUT_SQNR_DB:g} dB and, for a classifier, top-1 agreement ≥ "
                  f"{DEFAULT_MIN_TOP1_AGREEMENT:.0%}")
    within = [v for v in candidates if within_default_tolerances(v)]
    if within:
        best = min(within, key=lambda v: (v.size_bytes or math.inf, -_error_rank(v)[1]))
        return best.mode, (f"{best.title}: the smallest variant within the default tolerances ({tolerances}; no "
                           f"budget given){_measured(best)}")
    measured = [v for v in candidates if v.top1_agreement is not None or v.output_sqnr_db is not None]
    if not measured:
        return None, f"no variant's error was measured, so none can be judged against the default tolerances ({tolerances})"
    best = max(measured, key=lambda v: (_error_rank(v), -(v.size_bytes or 0)))
    return best.mode, (f"{best.title}: no variant is within the default tolerances ({tolerances}); this one has the "
                       f"smallest error{_measured(best)}")


def _measured_parts(v: VariantResult, *, with_size: bool = True) -> list[str]:
    """What was measured of a variant, for a recommendation's reason: size, top-1, output SQNR."""
    parts = [format_decimal_bytes(v.size_bytes)] if with_size and v.size_bytes else []
    if v.top1_agreement is not None:
        parts.append(f"top-1 agreement {v.top1_agreement:.0%}")
    if v.output_sqnr_db is not None and math.isfinite(v.output_sqnr_db):
        parts.append(f"output SQNR {v.output_sqnr_db:.1f} dB")
    return parts


def _measured(v: VariantResult) -> str:
    parts = _measured_parts(v)
    return f" ({', '.join(parts)})" if parts else ""
