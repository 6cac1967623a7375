"""Fast, bounded access to flatbuffer tables for the reader (reader.py).

The schema module's generated classes read every field through flatbuffers' `Table`; this one
reads a table's vtable once. `wrap` makes a generated object over a table at a position; `rewrap`
gives one a generated accessor returned the same fast table.
"""

from __future__ import annotations

import struct
from typing import Any

from flatbuffers.table import Table

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")


class VtableCachedTable(Table):
    """flatbuffers' Table, reading the vtable once instead of on every field access.

    The generated accessors call `Offset(slot)` and `Get(flags, pos)` for each
    field; the base class re-reads the vtable and type-checks its arguments on
    each call, which dominates parse time on models with thousands of ops.
    Semantics are the same: absent slots read as 0.
    """

    __slots__ = ("_slots",)

    def __init__(self, buf: Any, pos: int) -> None:
        self.Bytes = buf
        self.Pos = pos
        vtable = pos - _I32.unpack_from(buf, pos)[0]
        vtable_len = _U16.unpack_from(buf, vtable)[0]
        count = max(0, (vtable_len - 4) // 2)
        self._slots = struct.unpack_from(f"<{count}H", buf, vtable + 4) if count else ()

    def Offset(self, vtableOffset: int) -> int:  # noqa: N802, N803 - flatbuffers' names
        i = (vtableOffset - 4) >> 1
        slots = self._slots
        return slots[i] if i < len(slots) else 0

    def Get(self, flags: Any, off: int) -> Any:  # noqa: N802
        return flags.packer_type.unpack_from(self.Bytes, off)[0]

    def Indirect(self, off: int) -> int:  # noqa: N802
        return off + _U32.unpack_from(self.Bytes, off)[0]

    def VectorLen(self, off: int) -> int:  # noqa: N802
        off += self.Pos
        off += _U32.unpack_from(self.Bytes, off)[0]
        return _U32.unpack_from(self.Bytes, off)[0]

    def Vector(self, off: int) -> int:  # noqa: N802
        off += self.Pos
        return off + _U32.unpack_from(self.Bytes, off)[0] + 4


def rewrap(obj: Any) -> Any:
    """Give an object a generated accessor returned the vtable-caching table."""
    obj._tab = VtableCachedTable(obj._tab.Bytes, obj._tab.Pos)
    return obj


def wrap(cls: type, buf: Any, pos: int) -> Any:
    """An instance of generated schema class `cls` for the table at `pos`."""
    obj = cls()
    obj._tab = VtableCachedTable(buf, pos)
    return obj
