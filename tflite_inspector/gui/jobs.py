"""Work off the GUI thread: run a function in Qt's thread pool, get the result as a signal.

Errors surface in one place: the job's `failed` signal carries a one-line message
(a ModelError's own text, or the exception type and text for anything else).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.model import ModelError


class Job(QObject):
    """One background call. Keep a reference until `finished` or `failed` fires."""

    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._fn = fn
        self.cancelled = False

    def start(self, pool: QThreadPool | None = None) -> Job:
        (pool or QThreadPool.globalInstance()).start(_Runner(self))
        return self

    def cancel(self) -> None:
        """The result of a cancelled job is dropped; the call itself runs to its end."""
        self.cancelled = True

    def _run(self) -> None:
        try:
            result = self._fn()
        except ModelError as e:
            if not self.cancelled:
                self.failed.emit(str(e))
            return
        except Exception as e:  # noqa: BLE001 - reported to the user, never raised into Qt
            traceback.print_exc()
            if not self.cancelled:
                self.failed.emit(f"internal error ({type(e).__name__}: {e}); please report it")
            return
        if not self.cancelled:
            self.finished.emit(result)


class _Runner(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        self._job._run()
