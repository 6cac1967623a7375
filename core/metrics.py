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
    return _from_sums(sums, ref.shape, scale, axis)


class ErrorKernel:
    """tensor_error for the interpreter worker's loop, on candidate tensors as stored.

    The same numbers as `tensor_error(reference, dequantize_array(stored, scale, zero_point, 0),
    scale)` — the same float32 operations on every element, in the same order, and the same
    sums, bit for bit — with less work per tensor:
    - the difference is computed straight from the stored values, `(q − zero_point) · scale −
      reference`, into a buffer reused across tensors, instead of a dequantized copy and then
      a difference array;
    - the checks tensor_error makes on every call are made once per model by the caller (which
      reads each tensor's scale and zero point once);
    - `errors` takes all of a model's small tensors at once: their differences are written one
      after the other into one buffer, and each one's maximum and minimum come from one
      `reduceat` over all of them instead of two calls per tensor (exact, as maxima are). The
      sums stay one `add.reduce(dtype=float64)` per tensor: reduceat's float64 sums differ
      from it in the last bits. Tensors of more than BATCH_ELEMENTS elements take `error`,
      their reductions made while their difference is still in the cache.
    For candidates with one scale or none; per-channel tensors take tensor_error.
    """

    BATCH_ELEMENTS = 8192

    def __init__(self) -> None:
        self._buffer = np.empty(0, np.float32)  # one tensor's difference (error)
        self._batch = np.empty(0, np.float32)  # the small tensors' differences (errors)

    @staticmethod
    def _difference(ref: np.ndarray, stored: np.ndarray, scale: np.ndarray | None, zero_point: np.ndarray | None,
                    diff: np.ndarray) -> None:
        if scale is None:
            np.subtract(stored.reshape(-1), ref, out=diff, dtype=_F32)
        else:
            np.subtract(stored.reshape(-1), zero_point, out=diff, dtype=_F32)
            np.multiply(diff, scale, out=diff)
            np.subtract(diff, ref, out=diff)

    def error(self, reference: np.ndarray, stored: np.ndarray, scale: np.ndarray | None = None,
              zero_point: np.ndarray | None = None, step: float | None = None) -> ErrorMetrics:
        """`stored`: the candidate's values as the interpreter holds them; `scale` and
        `zero_point` float32 scalars (0-d) when it is quantized, `step` the scale as a float
        (for rmse_over_scale); None for a float tensor. `reference`: real values, any shape
        with as many elements."""
        ref = reference.reshape(-1)
        n = ref.size
        if stored.size != n:
            raise ValueError(f"{stored.size} candidate values against {n} reference values")
        if n == 0:
            nan = float("nan")
            return ErrorMetrics(nan, nan, nan, nan, nan, nan, None)
        if ref.dtype is not _F32:
            ref = ref.astype(np.float32)
        if self._buffer.size < n:
            self._buffer = np.empty(max(n, 2 * self._buffer.size), np.float32)
        diff = self._buffer[:n]
        self._difference(ref, stored, scale, zero_point, diff)
        sums = _diff_sums(ref, diff)
        return self._finish(sums, reference, stored, scale, zero_point, step, n)

    @staticmethod
    def _finish(sums: tuple, reference: np.ndarray, stored: np.ndarray, scale: np.ndarray | None,
                zero_point: np.ndarray | None, step: float | None, n: int) -> ErrorMetrics:
        if not (math.isfinite(sums[0]) and math.isfinite(sums[1]) and math.isfinite(sums[2])
                and math.isfinite(sums[3])):
            # float32 sums overflowed: tensor_error's own path, which redoes them in float64.
            if scale is None:
                return tensor_error(reference, stored)
            real = stored.astype(np.float32)
            real -= zero_point
            real *= scale
            return tensor_error(reference, real, np.asarray([step]))
        return _from_sums(sums, reference.shape, None, 0, step, n)

    def errors(self, tensors: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None,
                                             float | None]]) -> list[ErrorMetrics]:
        """`error(*t)` for each t of `tensors`, the same numbers (see the class)."""
        small = [k for k, t in enumerate(tensors) if 0 < t[0].size <= self.BATCH_ELEMENTS and t[1].size == t[0].size]
        results: list[ErrorMetrics | None] = [None] * len(tensors)
        if small:
            total_size = sum(tensors[k][0].size for k in small)
            if self._batch.size < total_size:
                self._batch = np.empty(max(total_size, 2 * self._batch.size), np.float32)
            starts = []
            dots = []
            start = 0
            for k in small:
                reference, stored, scale, zero_point, _step = tensors[k]
                ref = reference.reshape(-1)
                if ref.dtype is not _F32:
                    ref = ref.astype(np.float32)
                n = ref.size
                diff = self._batch[start:start + n]
                self._difference(ref, stored, scale, zero_point, diff)
                dots.append((float(ref.dot(ref)), float(ref.dot(diff)), float(diff.dot(diff)),
                             float(_ADD(diff, dtype=_F64))))
                starts.append(start)
                start += n
            used = self._batch[:start]
            offsets = np.array(starts, dtype=np.intp)
            highs = _MAXIMUM_AT(used, offsets).tolist()
            lows = _MINIMUM_AT(used, offsets).tolist()
            for j, k in enumerate(small):
                signal, ref_dot_diff, squared, total = dots[j]
                high, low = highs[j], -lows[j]
                sums = (squared, total, low if low > high else high, signal,
                        max(signal + 2 * ref_dot_diff + squared, 0.0), signal + ref_dot_diff, _NO_DIFF)
                reference, stored, scale, zero_point, step = tensors[k]
                results[k] = self._finish(sums, reference, stored, scale, zero_point, step, reference.size)
        return [r if r is not None else self.error(*t) for r, t in zip(results, tensors)]


_NO_DIFF = np.empty(0, np.float32)  # _from_sums needs the diff only for per-channel scales


def _from_sums(sums: tuple, shape: tuple[int, ...], scale: np.ndarray | None, axis: int,
               step: float | None = None, n: int | None = None) -> ErrorMetrics:
    """ErrorMetrics from _diff_sums' sums; `step`, when given, is the one scale as a float (as
    `scale` would give it) and `scale` is not looked at; `n` the element count when the sums'
    diff is not given."""
    squared, total, max_abs, signal, cand_power, dot, diff = sums
    if n is None:
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
    if step is not None:
        rmse_over_scale = math.sqrt(mse) / step if step > 0 else None
    elif scale is not None and np.size(scale) > 0:
        scales = np.asarray(scale, dtype=np.float64).reshape(-1)
        if scales.size == 1:
            rmse_over_scale = math.sqrt(mse) / float(scales[0]) if scales[0] > 0 else None
        elif 0 <= axis < len(shape) and shape[axis] == scales.size and np.all(scales > 0):
            steps = (diff.reshape(shape) / _channel_scales(scales.astype(diff.dtype), axis, shape)).ravel()
            rmse_over_scale = math.sqrt(float(np.dot(steps, steps)) / n)
    return ErrorMetrics(mse, max_abs, mean_error, stddev, sqnr, cosine, rmse_over_scale)


_ADD, _MAXIMUM, _MINIMUM = np.add.reduce, np.maximum.reduce, np.minimum.reduce
_MAXIMUM_AT, _MINIMUM_AT = np.maximum.reduceat, np.minimum.reduceat
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _flat(values: np.ndarray, dtype: type) -> np.ndarray:
    return (values if values.dtype == dtype else values.astype(dtype)).reshape(-1)


def _sums(reference: np.ndarray, candidate: np.ndarray, dtype: type) -> tuple:
    # Called for every tensor of every input: few numpy calls, no per-call error-state
    # context (callers that care silence overflow warnings once around their loop).
    ref, cand = _flat(reference, dtype), _flat(candidate, dtype)
    return _diff_sums(ref, cand - ref)


def _diff_sums(ref: np.ndarray, diff: np.ndarray) -> tuple:
    """The sums of tensor_error from the flat reference and diff = candidate − reference."""
    signal = float(ref.dot(ref))
    ref_dot_diff = float(ref.dot(diff))
    squared = float(diff.dot(diff))
    # The ufuncs' reductions called directly (ndarray.sum/max/min go through Python wrappers to
    # the same ones), and max |diff| compared as Python floats: the same values, fewer µs.
    high = float(_MAXIMUM(diff))
    low = -float(_MINIMUM(diff))
    # |c|² and r·c from the three dot products: |c|² = |r|² + 2 r·d + |d|², r·c = |r|² + r·d.
    return (
        squared,
        float(_ADD(diff, dtype=_F64)),
        low if low > high else high,  # max(high, low) as before: NaN when there is a NaN
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
