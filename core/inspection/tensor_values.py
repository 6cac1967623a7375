"""What is shown of one constant tensor's values: its first values, statistics, a histogram and,
for a per-channel quantized tensor, each channel's range.

Computed off the GUI thread (a 16-million-element weight takes a moment); the app's detail
panel only draws the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..reading.model import Model, Tensor
from ..reading.tensor_data import ValueStats, dequantize, float_values, tensor_array, value_stats

FIRST_VALUES = 1000
HISTOGRAM_BINS = 100
# Stored as raw bits: their numbers come from float_values, not from the stored integers.
_RAW_BIT_TYPES = ("BFLOAT16", "FLOAT8_E4M3FN", "FLOAT8_E5M2")


@dataclass(frozen=True)
class TensorValues:
    first_values: np.ndarray  # as stored, at most FIRST_VALUES of them
    dequantized: bool  # the statistics, histogram and ranges are of dequantized values
    stats: ValueStats
    histogram: tuple[np.ndarray, np.ndarray] | None  # (counts, edges) of the finite values
    channel_min: np.ndarray | None  # per channel along the quantized dimension
    channel_max: np.ndarray | None


def tensor_values(model: Model, tensor: Tensor, bins: int = HISTOGRAM_BINS) -> TensorValues:
    """The values of a constant tensor, summarised. Raises ModelError for tensors without data."""
    stored = tensor_array(model, tensor)
    first = np.array(stored.reshape(-1)[:FIRST_VALUES])
    q = tensor.quantization
    dequantized = q is not None and q.is_quantized
    if dequantized:
        values = dequantize(model, tensor)
    elif tensor.dtype in _RAW_BIT_TYPES:
        values = float_values(model, tensor)
    else:
        values = stored
    stats = value_stats(values)
    # float32 is enough for binning and halves the copy of big weights.
    flat = np.asarray(values).reshape(-1).astype(np.float32, copy=False)
    finite = flat[np.isfinite(flat)]
    histogram = np.histogram(finite, bins=bins) if finite.size else None
    channel_min = channel_max = None
    if q is not None and q.per_channel and 0 <= q.quantized_dimension < values.ndim:
        axis = q.quantized_dimension
        moved = np.moveaxis(np.asarray(values, dtype=np.float32), axis, 0).reshape(values.shape[axis], -1)
        if moved.shape[1]:
            channel_min, channel_max = moved.min(axis=1), moved.max(axis=1)
    return TensorValues(first, dequantized, stats, histogram, channel_min, channel_max)
