"""The desktop app: PySide6 views over the core object model. Thin: no analysis here."""

from __future__ import annotations

# The engine's modules before any of Qt's. Once PySide6 is loaded, shiboken reads the source of
# every module imported after it (its __feature__ support checks whether the module uses PySide)
# and linecache keeps that text: numpy's alone is about 2 MB, which made the app's start 5 MiB
# larger and slower. What the first page needs (numpy, the reader and the schema, the figures) is
# therefore loaded here, first.
from ..core.inspection import stats as _stats  # noqa: F401
from ..core.reading import reader as _reader  # noqa: F401
