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


# Jobs stay referenced here until the GUI thread releases them, so a job is never
# freed (and its QObject destroyed) in the worker thread that ran it.
_live_jobs: set[Job] = set()


class Job(QObject):
    """One background call; `finished(result)` or `failed(message)` arrive on the GUI thread."""

    finished = Signal(object)
    failed = Signal(str)
    _done = Signal()

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._fn = fn
        self.cancelled = False

    def start(self, pool: QThreadPool | None = None) -> Job:
        _live_jobs.add(self)
        self._done.connect(self._release)  # a method of this QObject: queued to its (GUI) thread
        (pool or QThreadPool.globalInstance()).start(_Runner(self))
        return self

    def _release(self) -> None:
        _live_jobs.discard(self)

    def cancel(self) -> None:
        """The result of a cancelled job is dropped; the call itself runs to its end."""
        self.cancelled = True

    def _run(self) -> None:
        try:
            self._call()
        finally:
            self._done.emit()

    def _call(self) -> None:
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
