"""Error of a candidate tensor against the reference's, per input and averaged over inputs.

With diff = dequantized candidate − reference (docs/comparison.md has the full text):
- mean_squared_error = mean(diff²), max_abs_error = max|diff|, mean_error = mean(diff),
  stddev = population standard deviation of diff — as TensorFlow's QuantizationDebugger
  defines them; mean_squared_error is also ai-edge-quantizer's `mean_squared_difference`;
- sqnr_db = 10·log10(Σ reference² / Σ diff²): +inf when the tensors are equal, NaN when
  the reference is all zeros (no signal to measure against);
- cosine = reference·candidate / (|reference| |candidate|), 1 when both are zero and 0 when
  one is (ai-edge-quantizer's convention);
- rmse_over_scale = sqrt(mean((diff / scale)²)) for a quantized candidate tensor, the error
  in quantization steps (each channel's diff divided by its own scale): a tensor whose only
  error is its own rounding gives 1/√12 ≈ 0.29; above 0.7 is suspect.

Averages over inputs are plain means, as both tools take them, skipping NaN; SQNR is
averaged over the inputs where it is finite, and is +inf only when every input is exact.

Sums are taken in float64, so results do not depend on tensor size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

HEALTHY_RMSE_OVER_SCALE = 1 / math.sqrt(12)
SUSPECT_RMSE_OVER_SCALE = 0.7


@dataclass(frozen=True)
class ErrorMetrics:
    mean_squared_error: float
    max_abs_error: float
    mean_error: float
    stddev: float
    sqnr_db: float
    cosine: float
    rmse_over_scale: float | None  # None: the candidate tensor is not quantized

    def as_tuple(self) -> tuple[float | None, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


METRIC_NAMES = tuple(f.name for f in fields(ErrorMetrics))

METRIC_TITLES = {
    "mean_squared_error": "MSE",
    "max_abs_error": "max |error|",
    "mean_error": "mean error",
    "stddev": "stddev of error",
    "sqnr_db": "SQNR (dB)",
    "cosine": "cosine similarity",
    "rmse_over_scale": "RMSE / scale",
}

# For each metric, whether a larger value means a worse tensor.
LARGER_IS_WORSE = {
    "mean_squared_error": True,
    "max_abs_error": True,
    "mean_error": True,  # by magnitude
    "stddev": True,
    "sqnr_db": False,
    "cosine": False,
    "rmse_over_scale": True,
}


def _channel_scales(scale: np.ndarray, axis: int, shape: tuple[int, ...]) -> np.ndarray:
    if scale.size <= 1:
        return scale.reshape(())
    view = [1] * len(shape)
    view[axis] = scale.size
    return scale.reshape(view)


def tensor_error(reference: np.ndarray, candidate: np.ndarray,
                 scale: np.ndarray | None = None, axis: int = 0) -> ErrorMetrics:
    """Metrics of one candidate tensor (already dequantized) against the reference, one input.

    `scale` is the candidate tensor's quantization scale (one, or one per channel along
    `axis`) when it is quantized. The arrays must have the same number of elements.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cand = np.asarray(candidate, dtype=np.float64)
    if ref.size != cand.size:
        raise ValueError(f"{cand.size} candidate values against {ref.size} reference values")
    if ref.size == 0:
        nan = float("nan")
        return ErrorMetrics(nan, nan, nan, nan, nan, nan, None)
    cand = cand.reshape(ref.shape)
    diff = cand - ref
    flat_ref, flat_cand, flat_diff = ref.ravel(), cand.ravel(), diff.ravel()
    n = flat_diff.size
    squared = float(np.dot(flat_diff, flat_diff))
    mse = squared / n
    mean_error = float(flat_diff.sum()) / n
    max_abs = float(max(flat_diff.max(), -flat_diff.min()))
    stddev = math.sqrt(max(mse - mean_error * mean_error, 0.0))
    signal = float(np.dot(flat_ref, flat_ref))
    if squared == 0:
        sqnr = math.inf
    elif signal == 0:
        sqnr = math.nan
    else:
        sqnr = 10 * math.log10(signal / squared)
    cand_norm = math.sqrt(float(np.dot(flat_cand, flat_cand)))
    ref_norm = math.sqrt(signal)
    if squared == 0 or ref_norm == 0 and cand_norm == 0:
        cosine = 1.0
    elif ref_norm == 0 or cand_norm == 0:
        cosine = 0.0
    else:
        # Clipped: rounding can put a near-parallel pair a hair above 1.
        cosine = min(1.0, max(-1.0, float(np.dot(flat_ref, flat_cand)) / (ref_norm * cand_norm)))
    rmse_over_scale = None
    if scale is not None and np.size(scale) > 0:
        scales = np.asarray(scale, dtype=np.float64)
        if scales.size == 1:
            rmse_over_scale = math.sqrt(mse) / float(scales.reshape(-1)[0]) if scales.reshape(-1)[0] > 0 else None
        elif 0 <= axis < diff.ndim and diff.shape[axis] == scales.size and np.all(scales > 0):
            steps = (diff / _channel_scales(scales, axis, diff.shape)).ravel()
            rmse_over_scale = math.sqrt(float(np.dot(steps, steps)) / n)
    return ErrorMetrics(mse, max_abs, mean_error, stddev, sqnr, cosine, rmse_over_scale)


def _mean(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def _mean_sqnr(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        return sum(finite) / len(finite)
    if values and all(v == math.inf for v in values):
        return math.inf
    return math.nan


def mean_over_inputs(per_input: Sequence[ErrorMetrics]) -> ErrorMetrics:
    if not per_input:
        nan = float("nan")
        return ErrorMetrics(nan, nan, nan, nan, nan, nan, None)
    scaled = [m.rmse_over_scale for m in per_input if m.rmse_over_scale is not None]
    return ErrorMetrics(
        mean_squared_error=_mean([m.mean_squared_error for m in per_input]),
        max_abs_error=_mean([m.max_abs_error for m in per_input]),
        mean_error=_mean([m.mean_error for m in per_input]),
        stddev=_mean([m.stddev for m in per_input]),
        sqnr_db=_mean_sqnr([m.sqnr_db for m in per_input]),
        cosine=_mean([m.cosine for m in per_input]),
        rmse_over_scale=_mean(scaled) if scaled else None,
    )


def badness(metrics: ErrorMetrics, name: str) -> float:
    """A number that grows as the tensor gets worse on metric `name` (for ranking layers)."""
    value = getattr(metrics, name)
    if value is None or math.isnan(value):
        return -math.inf
    if name == "mean_error":
        return abs(value)
    return value if LARGER_IS_WORSE[name] else -value


def json_number(value: float | None) -> float | None:
    """JSON has no inf or NaN: both become null (docs/comparison.md says what null means)."""
    if value is None or not math.isfinite(value):
        return None
    return value
