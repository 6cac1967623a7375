"""The desktop app: PySide6 views over the core object model. Thin: no analysis here."""

from __future__ import annotations

import sys

# The engine's modules before any of Qt's. Once PySide6 is loaded, shiboken reads the source of
# every module imported after it (its __feature__ support checks whether the module uses PySide)
# and linecache keeps that text: numpy's alone is about 2 MB, which made the app's start 5 MiB
# larger and slower. What the first page needs (numpy, the reader and the schema, the figures) is
# therefore loaded here, first.
from ..core.inspection import stats as _stats  # noqa: E402, F401
from ..core.reading import reader as _reader  # noqa: E402, F401


def _make_booleans_immortal() -> None:
    """PySide6 6.12.0's SignalInstance.emit() returns True without taking a reference, so each
    signal emitted from Python (Job's, pyqtgraph's on every plot update) takes one reference
    away from True. Before Python 3.12, True is not immortal: after enough emits its count
    reaches zero and the interpreter aborts ("bool_dealloc: deallocating True or False"),
    mid-session or at exit. Python 3.12 made True and False immortal; this does the same by
    giving them references nothing takes back. PySide6 6.11.3 does not have the bug."""
    from PySide6 import __version__ as pyside_version

    if sys.version_info >= (3, 12) or not pyside_version.startswith("6.12."):
        return
    import ctypes

    for value in (True, False):
        ctypes.c_ssize_t.from_address(id(value)).value += 1 << 40


_make_booleans_immortal()
