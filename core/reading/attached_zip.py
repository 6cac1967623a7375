"""The zip a .tflite may carry after its flatbuffer: TFLite metadata attaches label files and
vocabularies this way. The archive is read in place (the model file stays memory mapped) and,
being as untrusted as the rest of the file, within stated limits.
"""

from __future__ import annotations

import io
import mmap
import zipfile
from typing import Any

from ..errors import ModelError
from .model import AssociatedFile, Model

_ZIP_END_SIGNATURE = b"PK\x05\x06"
_ZIP_END_SEARCH = (1 << 16) + 22  # the end record sits within its comment's 64 KiB of the end


def list_attached_files(data: Any) -> tuple[tuple[AssociatedFile, ...], str]:
    """The files of the zip appended to `data` (bytes or a map), and why it could not be read
    ("" when it could, or when there is none)."""
    if data.rfind(_ZIP_END_SIGNATURE, max(0, len(data) - _ZIP_END_SEARCH)) < 0:
        return (), ""
    try:
        with zipfile.ZipFile(_reader(data)) as zf:
            return tuple(AssociatedFile(name=info.filename, size=info.file_size) for info in zf.infolist()), ""
    except Exception as e:  # noqa: BLE001 - zipfile raises many types on garbage
        return (), str(e)


def _reader(data: Any) -> io.RawIOBase:
    # BytesIO over bytes shares them; for a map, a view that reads in place.
    return io.BytesIO(data) if isinstance(data, bytes) else _MapReader(data)


class _MapReader(io.RawIOBase):
    """A read-only, seekable file over a memory map, so zipfile reads in place."""

    def __init__(self, data: mmap.mmap) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: Any) -> int:
        chunk = self._data[self._pos : self._pos + len(b)]
        b[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def read_associated_file(model: Model, name: str, max_bytes: int = 64 << 20) -> bytes:
    """The bytes of a file in the zip attached to the model. Raises ModelError."""
    if model.data is None:
        raise ModelError(f"{model.path}: the model is closed")
    try:
        with zipfile.ZipFile(_reader(model.data)) as zf:
            info = zf.getinfo(name)
            if info.file_size > max_bytes:
                raise ModelError(f"{model.path}: attached file {name!r} is {info.file_size} bytes, over the {max_bytes} limit")
            with zf.open(info) as f:
                content = f.read(max_bytes + 1)
            if len(content) > max_bytes:
                raise ModelError(f"{model.path}: attached file {name!r} expands past {max_bytes} bytes")
            return content
    except ModelError:
        raise
    except KeyError:
        raise ModelError(f"{model.path}: no attached file named {name!r}") from None
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"{model.path}: attached file {name!r} could not be read: {e}") from None
