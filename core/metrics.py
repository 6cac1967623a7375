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

Sums of squares are float32 BLAS dot products (float64 if they overflow); their relative
error stays near 1e-7 on activations (tests check MSE against ai-edge-quantizer's to 1e-6).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

HEALTHY_RMSE_OVER_SCALE = 1 / math.sqrt(12)
SUSPECT_RMSE_OVER_SCALE = 0.7


class ErrorMetrics(NamedTuple):
    """A named tuple, not a dataclass: one is made per tensor per input, in the worker's loop."""

    mean_squared_error: float
    max_abs_error: float
    mean_error: float
    stddev: float
    sqnr_db: float
    cosine: float
    rmse_over_scale: float | None  # None: the candidate tensor is not quantized


METRIC_NAMES = ErrorMetrics._fields

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
    ref = np.asarray(reference)
    cand = np.asarray(candidate)
    if ref.size != cand.size:
        raise ValueError(f"{cand.size} candidate values against {ref.size} reference values")
    if ref.size == 0:
        nan = float("nan")
        return ErrorMetrics(nan, nan, nan, nan, nan, nan, None)
    # float32 with BLAS dot products: ten times faster than float64 on activations, and as
    # exact where it matters (the difference of two close float32 values is exact); float64
    # only when float32 sums overflow.
    sums = _sums(ref, cand, np.float32)
    if not all(math.isfinite(v) for v in sums[:4]):
        sums = _sums(ref, cand, np.float64)
    squared, total, max_abs, signal, cand_power, dot, diff = sums
    n = diff.size
    mse = squared / n
    mean_error = total / n
    stddev = math.sqrt(max(mse - mean_error * mean_error, 0.0))
    if squared == 0:
        sqnr = math.inf
    elif signal == 0:
        sqnr = math.nan
    else:
        sqnr = 10 * math.log10(signal / squared)
    ref_norm, cand_norm = math.sqrt(signal), math.sqrt(cand_power)
    if squared == 0 or ref_norm == 0 and cand_norm == 0:
        cosine = 1.0
    elif ref_norm == 0 or cand_norm == 0:
        cosine = 0.0
    else:
        # Clipped: rounding can put a near-parallel pair a hair above 1.
        cosine = min(1.0, max(-1.0, dot / (ref_norm * cand_norm)))
    rmse_over_scale = None
    if scale is not None and np.size(scale) > 0:
        scales = np.asarray(scale, dtype=np.float64).reshape(-1)
        if scales.size == 1:
            rmse_over_scale = math.sqrt(mse) / float(scales[0]) if scales[0] > 0 else None
        elif 0 <= axis < len(ref.shape) and ref.shape[axis] == scales.size and np.all(scales > 0):
            steps = (diff.reshape(ref.shape) / _channel_scales(scales.astype(diff.dtype), axis, ref.shape)).ravel()
            rmse_over_scale = math.sqrt(float(np.dot(steps, steps)) / n)
    return ErrorMetrics(mse, max_abs, mean_error, stddev, sqnr, cosine, rmse_over_scale)


def _flat(values: np.ndarray, dtype: type) -> np.ndarray:
    return (values if values.dtype == dtype else values.astype(dtype)).reshape(-1)


def _sums(reference: np.ndarray, candidate: np.ndarray, dtype: type) -> tuple:
    # Called for every tensor of every input: few numpy calls, no per-call error-state
    # context (callers that care silence overflow warnings once around their loop).
    ref, cand = _flat(reference, dtype), _flat(candidate, dtype)
    diff = cand - ref
    signal = float(ref.dot(ref))
    ref_dot_diff = float(ref.dot(diff))
    squared = float(diff.dot(diff))
    # |c|² and r·c from the three dot products: |c|² = |r|² + 2 r·d + |d|², r·c = |r|² + r·d.
    return (
        squared,
        float(diff.sum(dtype=np.float64)),
        float(max(diff.max(), -diff.min())),
        signal,
        max(signal + 2 * ref_dot_diff + squared, 0.0),
        signal + ref_dot_diff,
        diff,
    )


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


def is_suspect(metrics: ErrorMetrics) -> bool:
    """More than SUSPECT_RMSE_OVER_SCALE quantization steps of error: more than rounding explains."""
    r = metrics.rmse_over_scale
    return r is not None and r > SUSPECT_RMSE_OVER_SCALE


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
