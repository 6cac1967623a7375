"""Bounded decoding of flexbuffers (custom op options, composite attributes).

`flatbuffers.flexbuffers.Loads` trusts every length in the data, so a hostile
file could make it loop for a very long time. This walker uses the same
library's accessors but checks each length against the data size and stops
after a fixed number of values or a fixed depth.
"""

from __future__ import annotations

from typing import Any

from flatbuffers import flexbuffers

MAX_VALUES = 100_000
MAX_DEPTH = 64


class FlexbufferError(ValueError):
    pass


def decode_flexbuffer(data: bytes) -> Any:
    """Decode a flexbuffer into plain Python values (bytes for blobs).

    Raises FlexbufferError when the data is not a well-formed flexbuffer.
    """
    if len(data) < 3:
        raise FlexbufferError("too short to be a flexbuffer")
    walker = _Walker(len(data))
    try:
        return walker.value(flexbuffers.GetRoot(data), 0)
    except FlexbufferError:
        raise
    except Exception as e:  # noqa: BLE001 - garbage data raises anything (struct.error, IndexError, ...)
        raise FlexbufferError(f"not a flexbuffer ({type(e).__name__}: {e})") from None


class _Walker:
    def __init__(self, size: int) -> None:
        self.size = size
        self.remaining = MAX_VALUES

    def _count(self, n: int, byte_width: int) -> None:
        if n < 0 or n * max(byte_width, 1) > self.size:
            raise FlexbufferError(f"a vector claims {n} entries, more than the data holds")
        self.remaining -= n
        if self.remaining < 0:
            raise FlexbufferError(f"more than {MAX_VALUES} values")

    def value(self, ref: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise FlexbufferError(f"nested deeper than {MAX_DEPTH} levels")
        if ref.IsNull:
            return None
        if ref.IsBool:
            return ref.AsBool
        if ref.IsInt:
            return ref.AsInt
        if ref.IsFloat:
            return ref.AsFloat
        if ref.IsKey:
            return ref.AsKeyBytes.decode("utf-8", "replace")
        if ref.IsString:
            raw = ref.AsStringBytes
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return bytes(raw)
        if ref.IsBlob:
            blob = ref.AsBlob
            if len(blob) > self.size:
                raise FlexbufferError("a blob is longer than the data")
            return bytes(blob)
        if ref.IsMap:
            m = ref.AsMap
            self._count(len(m), m.ByteWidth)
            keys = m.Keys
            self._count(len(keys), keys.ByteWidth)
            values = m.Values
            return {
                str(self.value(k, depth + 1)): self.value(v, depth + 1)
                for k, v in zip(keys, values)
            }
        if ref.IsTypedVector or ref.IsFixedTypedVector:
            vec = ref.AsTypedVector if ref.IsTypedVector else ref.AsFixedTypedVector
            self._count(len(vec), vec.ByteWidth)
            return [self.value(e, depth + 1) for e in vec]
        if ref.IsVector:
            vec = ref.AsVector
            self._count(len(vec), vec.ByteWidth)
            return [self.value(e, depth + 1) for e in vec]
        raise FlexbufferError(f"unsupported flexbuffer type {ref}")
