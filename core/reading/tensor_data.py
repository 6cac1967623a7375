"""Tensor values: numpy views of the file's bytes, (de)quantization and statistics.

Views are zero-copy: `tensor_array` returns a read-only array over the model's
memory map (or over the side file of an external buffer). Only unpacking of
sub-byte types, widening of bfloat16 and dequantization make new arrays.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from .model import (
    NUMPY_DTYPES,
    SUB_BYTE_BITS,
    BlockwiseQuantization,
    Model,
    Tensor,
)
from .regular_files import open_regular

_STATS_CHUNK = 1 << 20  # elements per pass, so statistics of big weights stay small in memory


def _raw_bytes(model: Model, tensor: Tensor) -> memoryview:
    if tensor.external_buffer:
        return _external_bytes(model, tensor)
    if model.data is None:
        raise ModelError(f"{model.path}: the model is closed")
    if tensor.buffer == 0 or tensor.buffer >= len(model.buffers):
        raise ModelError(f"{model.path}: tensor {tensor.name!r} has no data (it is computed at run time)")
    buf = model.buffers[tensor.buffer]
    return memoryview(model.data)[buf.offset : buf.offset + buf.size]


def _external_bytes(model: Model, tensor: Tensor) -> memoryview:
    ext = model.external_buffers_by_id.get(tensor.external_buffer)
    if ext is None:
        raise ModelError(f"{model.path}: tensor {tensor.name!r}: external buffer {tensor.external_buffer} is not defined")
    folder = os.path.dirname(os.path.abspath(model.path))
    side = os.path.normpath(os.path.join(folder, ext.group))
    if os.path.dirname(side) != folder:
        # A group name is a file next to the model; never follow it elsewhere.
        raise ModelError(f"{model.path}: external weights file {ext.group!r} is not a plain file name")
    try:
        with open_regular(side) as f:
            size = os.fstat(f.fileno()).st_size
            if ext.offset + ext.length > size:
                raise ModelError(
                    f"{model.path}: tensor {tensor.name!r}: {ext.length} bytes at {ext.offset} run past the end of {ext.group} ({size} bytes)"
                )
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        raise ModelError(f"{model.path}: external weights file {ext.group!r}: {e.strerror or e}") from None
    return memoryview(data)[ext.offset : ext.offset + ext.length]


def tensor_array(model: Model, tensor: Tensor, unpack: bool = True) -> np.ndarray:
    """The stored values of a constant tensor, shaped, without copying.

    Sub-byte types (INT4, UINT4, INT2) are unpacked to one value per int8/uint8
    when `unpack` is true (this copies); otherwise the packed bytes are returned.
    BFLOAT16 and FLOAT8 come back as their raw bits (uint16 / uint8);
    use `float_values` for numbers. Raises ModelError for tensors without data.
    """
    if tensor.sparsity is not None:
        raise ModelError(f"{model.path}: tensor {tensor.name!r} is stored sparse; only dense tensors can be viewed")
    dtype = NUMPY_DTYPES.get(tensor.dtype)
    if dtype is None:
        raise ModelError(f"{model.path}: tensor {tensor.name!r} is {tensor.dtype}, which has no numeric values")
    raw = _raw_bytes(model, tensor)
    n = tensor.num_elements
    bits = SUB_BYTE_BITS.get(tensor.dtype)
    if bits is not None:
        packed = np.frombuffer(raw, dtype=np.uint8)
        if packed.size == n:  # stored one value per byte
            values = packed.view(dtype)
            if tensor.dtype in ("INT4", "INT2"):
                values = _sign_extend(packed, bits) if unpack else values
            return values.reshape(tensor.shape)
        if not unpack:
            return packed
        return _unpack_sub_byte(packed, bits, signed=tensor.dtype != "UINT4")[:n].reshape(tensor.shape)
    if len(raw) != n * dtype.itemsize:
        raise ModelError(
            f"{model.path}: tensor {tensor.name!r} needs {n * dtype.itemsize} bytes, its buffer has {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(tensor.shape)


def _sign_extend(values: np.ndarray, bits: int) -> np.ndarray:
    v = (values & ((1 << bits) - 1)).astype(np.int8)
    return np.where(v >= (1 << (bits - 1)), v - (1 << bits), v).astype(np.int8)


def _unpack_sub_byte(packed: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Low bits first: byte b holds element 2i in bits 0-3 and 2i+1 in bits 4-7 (INT4)."""
    per_byte = 8 // bits
    mask = (1 << bits) - 1
    parts = [(packed >> (bits * k)) & mask for k in range(per_byte)]
    values = np.stack(parts, axis=-1).reshape(-1)
    if signed:
        return _sign_extend(values, bits)
    return values.astype(np.uint8)


def float_values(model: Model, tensor: Tensor) -> np.ndarray:
    """Stored values as float32 (float16, bfloat16 widened; integers converted, not dequantized)."""
    values = tensor_array(model, tensor)
    if tensor.dtype == "BFLOAT16":
        return (values.astype(np.uint32) << 16).view(np.float32).reshape(values.shape)
    if tensor.dtype in ("FLOAT8_E4M3FN", "FLOAT8_E5M2"):
        import ml_dtypes  # only needed for these rare types

        kind = ml_dtypes.float8_e4m3fn if tensor.dtype == "FLOAT8_E4M3FN" else ml_dtypes.float8_e5m2
        return values.view(kind).astype(np.float32)
    if values.dtype.kind == "c":
        raise ModelError(f"{model.path}: tensor {tensor.name!r} is complex; no real values to show")
    return values.astype(np.float32, copy=False)


def dequantize(model: Model, tensor: Tensor) -> np.ndarray:
    """real = scale * (q - zero_point), per channel along the quantized dimension.

    Blockwise tensors take their scales from the tensor the quantization names.
    Tensors without quantization come back as float32 values.
    """
    q = tensor.quantization
    values = tensor_array(model, tensor)
    if q is None or not q.is_quantized:
        return float_values(model, tensor)
    if isinstance(q.details, BlockwiseQuantization):
        return _dequantize_blockwise(model, tensor, values, q.details)
    try:
        return dequantize_array(values, q.scale, q.zero_point, q.quantized_dimension)
    except ValueError as e:
        raise ModelError(f"{model.path}: tensor {tensor.name!r}: {e}") from None


def dequantize_array(values: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int) -> np.ndarray:
    """real = scale · (q − zero_point) as float32, per channel along `axis` when there are several
    scales. The one dequantization for stored weights and for the interpreter's tensors alike.
    Raises ValueError when the scales do not fit the shape."""
    scale = np.asarray(scale, dtype=np.float32)
    zero_point = np.asarray(zero_point, dtype=np.float32)
    if zero_point.size == 0:
        zero_point = np.zeros(1, dtype=np.float32)
    if scale.size > 1:
        if not 0 <= axis < values.ndim or values.shape[axis] != scale.size:
            raise ValueError(f"{scale.size} scales do not match dimension {axis} of shape {list(values.shape)}")
        shape = [1] * values.ndim
        shape[axis] = scale.size
        scale = scale.reshape(shape)
        zero_point = zero_point.reshape(shape) if zero_point.size == scale.size else zero_point[:1]
    else:
        scale, zero_point = scale.reshape(()), zero_point[:1].reshape(())
    real = values.astype(np.float32)  # a new array, so the steps below can work in place
    with np.errstate(over="ignore", invalid="ignore"):  # hostile scales may overflow to inf
        real -= zero_point
        real *= scale
    return real


def quantize_array(real: np.ndarray, dtype: np.dtype, scale: float | None, zero_point: int | None) -> np.ndarray:
    """Real values → what a tensor of `dtype` holds: q = round(real / scale) + zero_point, rounded
    half to even and clipped to the type's range, for an integer dtype with a scale; else a cast.
    How inputs are fed to a quantized model (a uint8 model and a float model then see the same
    decoded image)."""
    dtype = np.dtype(dtype)
    if scale and dtype.kind in "iu" and real.dtype.kind == "f":
        info = np.iinfo(dtype)
        q = np.rint(np.divide(real.astype(np.float32, copy=False), np.float32(scale)) + np.float32(zero_point or 0))
        return np.clip(q, info.min, info.max).astype(dtype)
    # Not ascontiguousarray: it makes a scalar 1-d, which a scalar input (lyra's num_quantizers) refuses.
    return np.asarray(real, dtype=dtype, order="C")


def _dequantize_blockwise(
    model: Model, tensor: Tensor, values: np.ndarray, details: BlockwiseQuantization
) -> np.ndarray:
    tensors = model.subgraphs[tensor.subgraph].tensors
    if not 0 <= details.scales_tensor < len(tensors) or details.block_size <= 0 or values.ndim != 2:
        raise ModelError(f"{model.path}: tensor {tensor.name!r}: blockwise quantization cannot be applied")
    scales = float_values(model, tensors[details.scales_tensor])
    rows, cols = values.shape
    blocks = -(-cols // details.block_size)
    if scales.shape != (rows, blocks):
        raise ModelError(
            f"{model.path}: tensor {tensor.name!r}: blockwise scales have shape {list(scales.shape)}, "
            f"expected {[rows, blocks]} for blocks of {details.block_size}"
        )
    per_column = np.repeat(scales, details.block_size, axis=1)[:, :cols]
    result = values.astype(np.float32)
    if 0 < details.zero_points_tensor < len(tensors):
        zp = tensor_array(model, tensors[details.zero_points_tensor]).astype(np.float32)
        if zp.shape == scales.shape:
            result -= np.repeat(zp, details.block_size, axis=1)[:, :cols]
    with np.errstate(over="ignore", invalid="ignore"):
        return result * per_column


@dataclass(frozen=True)
class ValueStats:
    """Summary of a tensor's values (over the finite values for min/max/mean/std)."""

    count: int
    min: float
    max: float
    mean: float
    std: float
    zeros: int
    nan: int
    inf: int

    @property
    def zero_fraction(self) -> float:
        return self.zeros / self.count if self.count else 0.0


def value_stats(values: np.ndarray) -> ValueStats:
    """Statistics of any numeric array, computed in chunks (float64 accumulators)."""
    flat = values.reshape(-1)
    count = int(flat.size)
    if count == 0:
        return ValueStats(0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0)
    with np.errstate(over="ignore", invalid="ignore"):
        return _chunked_stats(flat, count)


def _chunked_stats(flat: np.ndarray, count: int) -> ValueStats:
    lo, hi = np.inf, -np.inf
    total = total_sq = 0.0
    finite_count = zeros = nan = inf = 0
    for start in range(0, count, _STATS_CHUNK):
        chunk = flat[start : start + _STATS_CHUNK]
        if chunk.dtype == np.bool_:
            chunk = chunk.astype(np.uint8)
        chunk = chunk.astype(np.float64)
        zeros += int(np.count_nonzero(chunk == 0))
        finite = np.isfinite(chunk)
        if not finite.all():
            nan += int(np.count_nonzero(np.isnan(chunk)))
            inf += int(np.count_nonzero(np.isinf(chunk)))
            chunk = chunk[finite]
        if chunk.size:
            lo = min(lo, float(chunk.min()))
            hi = max(hi, float(chunk.max()))
            total += float(chunk.sum())
            total_sq += float(np.square(chunk).sum())
            finite_count += int(chunk.size)
    if finite_count == 0:
        return ValueStats(count, float("nan"), float("nan"), float("nan"), float("nan"), zeros, nan, inf)
    mean = total / finite_count
    variance = max(total_sq / finite_count - mean * mean, 0.0)
    return ValueStats(count, lo, hi, mean, float(np.sqrt(variance)), zeros, nan, inf)


def tensor_stats(model: Model, tensor: Tensor, dequantized: bool = False) -> ValueStats:
    """Statistics of a constant tensor's stored values (or dequantized values)."""
    values = dequantize(model, tensor) if dequantized else tensor_array(model, tensor)
    if tensor.dtype in ("BFLOAT16", "FLOAT8_E4M3FN", "FLOAT8_E5M2"):
        values = float_values(model, tensor)
    if values.dtype.kind == "c":
        values = np.abs(values)
    return value_stats(values)


def string_values(model: Model, tensor: Tensor, limit: int = 1000) -> list[bytes]:
    """The strings of a constant STRING tensor (TFLite's count / offsets / bytes layout)."""
    if tensor.dtype != "STRING":
        raise ModelError(f"{model.path}: tensor {tensor.name!r} is {tensor.dtype}, not STRING")
    raw = _raw_bytes(model, tensor)
    if len(raw) < 4:
        raise ModelError(f"{model.path}: tensor {tensor.name!r}: string data is too short")
    count = int(np.frombuffer(raw, dtype="<i4", count=1)[0])
    if count < 0 or 4 * (count + 2) > len(raw):
        raise ModelError(f"{model.path}: tensor {tensor.name!r}: string count {count} does not fit its data")
    offsets = np.frombuffer(raw, dtype="<i4", count=count + 1, offset=4)
    result = []
    for i in range(min(count, limit)):
        a, b = int(offsets[i]), int(offsets[i + 1])
        if not 0 <= a <= b <= len(raw):
            raise ModelError(f"{model.path}: tensor {tensor.name!r}: string {i} lies outside its data")
        result.append(bytes(raw[a:b]))
    return result
