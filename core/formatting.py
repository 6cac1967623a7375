"""How numbers, sizes, shapes and quantization are written for people: the command line, the app
and the report all format through here, so the three say the same thing the same way.

The rules that hold everywhere:
- a value that is missing (None) or not a number (NaN) is written MISSING;
- an infinite SQNR means the tensors are identical and is written "exact"; any other infinity is
  "∞" or "−∞";
- file and tensor sizes are binary (KiB, MiB: what file managers and `ls -h` show); limits the
  user types in decimal units (a budget of 500kB, 1.5 MB) are written back in decimal units, so
  that a message repeats the number the user gave.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .errors import escape_control
from .reading.model import BlockwiseQuantization, Quantization, Tensor

MISSING = "—"


# --- numbers -----------------------------------------------------------------------------------


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _infinite(value: float) -> str:
    return "∞" if value > 0 else "−∞"


def format_metric(name: str, value: float | None) -> str:
    """One error metric (core/metrics.py): SQNR in dB with one decimal, cosine with five, the
    others with three significant digits."""
    if _is_missing(value):
        return MISSING
    assert value is not None
    if math.isinf(value):
        return "exact" if name == "sqnr_db" and value > 0 else _infinite(value)
    if name == "sqnr_db":
        return f"{value:.1f}"
    if name == "cosine":
        return f"{value:.5f}"
    return f"{value:.3g}"


def format_number(value: float | int | None, digits: int = 4) -> str:
    """Integers with thousands separators; floats with `digits` significant digits."""
    if _is_missing(value):
        return MISSING
    assert value is not None
    if isinstance(value, float):
        if math.isinf(value):
            return _infinite(value)
        return f"{value:.{digits}g}"
    return f"{value:,}"


def format_fixed(value: float | None, spec: str) -> str:
    """A float with a format spec ('.1f', '.3g'), MISSING and ∞ as everywhere else."""
    if _is_missing(value):
        return MISSING
    assert value is not None
    if math.isinf(value):
        return _infinite(value)
    return format(value, spec)


def format_percent(fraction: float | None, digits: int = 3) -> str:
    """A fraction (0..1) as a percentage with `digits` significant digits: 0.9537 → '95.4%'."""
    if _is_missing(fraction):
        return MISSING
    assert fraction is not None
    return f"{fraction * 100:.{digits}g}%"


def format_share(part: float, whole: float) -> str:
    """`part` of `whole` as a percentage that says '100%' only when it is all and '0%' only when
    it is none; otherwise one decimal that never rounds to either (999 of 1,000 ops is not all)."""
    if whole <= 0:
        return MISSING
    if part >= whole:
        return "100%"
    if part <= 0:
        return "0%"
    return f"{min(max(100 * part / whole, 0.1), 99.9):.1f}%"


def format_count(n: int) -> str:
    """Large counts with a unit: 13570304 → '13.57M'."""
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


# --- sizes -------------------------------------------------------------------------------------


def format_bytes(n: int) -> str:
    """A size in binary units: '512 B', '13.9 KiB', '3.4 MiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def format_decimal_bytes(n: int) -> str:
    """A size in decimal units, for limits the user gives in them: '0.35 MB', '120.0 kB'."""
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


# --- tensors -----------------------------------------------------------------------------------


def shape_dims(t: Tensor) -> tuple[int, ...]:
    """The dimensions to show: the signature, where −1 marks a dimension known only at run time."""
    return t.shape_signature or t.shape


# Dimensions written out in a shape; TFLite's ops take at most 6 (a few 8).
SHAPE_DIMS_SHOWN = 12


def format_shape(dims: Sequence[int]) -> str:
    """The one way shapes are written, in the app, the command line and the report: [1,96,96,3],
    −1 for a dimension known only at run time (as the file's shape signature and the runtime
    write it), [] for a scalar. A rank past SHAPE_DIMS_SHOWN (only a crafted file has one) shows
    its first dimensions and the count: a tensor of rank 10,000 read by 10,000 inputs would
    otherwise make a report of 10^8 characters from an 80 KB file."""
    if len(dims) > SHAPE_DIMS_SHOWN:
        return "[" + ",".join(str(d) for d in dims[:SHAPE_DIMS_SHOWN]) + f",… ({len(dims):,} dimensions)]"
    return "[" + ",".join(str(d) for d in dims) + "]"


# Tensors that hold a handle, not values: their shape says nothing.
_HANDLE_TYPES = {"RESOURCE": "resource", "VARIANT": "variant"}


def tensor_shape_text(t: Tensor) -> str:
    """A tensor's shape: [1,96,96,3]; "resource" or "variant" for a handle; [?] for a tensor of
    unknown rank."""
    if t.dtype in _HANDLE_TYPES:
        return _HANDLE_TYPES[t.dtype]
    dims = shape_dims(t)
    return format_shape(dims) if dims or t.has_rank else "[?]"


def format_quantization(q: Quantization | None) -> str:
    """Short form: per-tensor scale and zero point, or the channel count and axis."""
    if q is None or not q.is_quantized:
        return ""
    if isinstance(q.details, BlockwiseQuantization):
        return f"blockwise(block {q.details.block_size}, scales in t{q.details.scales_tensor})"
    if q.per_channel:
        return (f"per-channel({q.num_channels} on axis {q.quantized_dimension}, "
                f"scale {float(q.scale.min()):.3g}..{float(q.scale.max()):.3g})")
    return f"q(scale={float(q.scale[0]):.6g}, zp={int(q.zero_point[0])})"


def format_tensor_short(t: Tensor) -> str:
    """'[1,96,96,3] INT8 q(scale=0.0039, zp=-128) const': shape, dtype, quantization, constness."""
    text = f"{tensor_shape_text(t)} {t.dtype}"
    q = format_quantization(t.quantization)
    if q:
        text += " " + q
    if t.is_constant:
        text += " const"
    return text


# --- text --------------------------------------------------------------------------------------


def printable(text: str) -> str:
    """Text for a terminal: a model's names, metadata and file names may hold escape sequences
    (ESC]0;…BEL sets a terminal's title, ESC[2J clears it, \\r rewrites a line); every control
    character but newline and tab is written as an escape instead. JSON needs none of this."""
    return escape_control(text, keep="\n\t")


def elide_middle(text: str, limit: int) -> str:
    """The start and the end of a long name, which are the parts that tell converter-made names
    apart (they run to hundreds of characters)."""
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2):]
