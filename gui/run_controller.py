"""Run, Cancel and progress for every page that runs something long: the Compare page, the
quantization lab, a report export (and the graph layout and the diff that come next).

A page gives the controller its work, a function of a `RunTask` (core's progress callback, the
cancel question, the page's worker processes). The controller runs it off the GUI thread and
reports `progressed`, then exactly one of `finished(result)`, `failed(message)` or
`cancelled()`. Cancel asks the work to stop between its steps (core's `Steps` checks); work
still under way `STOP_AFTER_MS` later is inside a worker process, which is then stopped (its
request raises Cancelled), and stopped again every `RESTOP_MS` until the work returns: a stop
that lands between two requests only ends an idle process, and the next request starts one.

What the user sees of a run is a presenter's (widgets/run_bar.py): `RunBar` (Run and Cancel
buttons, a progress bar and a status line, on a page) or `RunDialog` (a progress dialog with Cancel).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from .jobs import Job, SharedWorkers

STOP_AFTER_MS = 1000
RESTOP_MS = 500


@dataclass(frozen=True)
class RunTask:
    """What the work is given: core's protocol (`progress`, `cancelled`) and the page's worker
    processes (empty when the page has none)."""

    progress: Callable[[int, int, str], None]
    cancelled: Callable[[], bool]
    workers: tuple[Any, ...]


class RunController(QObject):
    """One page's runs, one at a time."""

    state_changed = Signal()  # started, cancelling, or ended
    progressed = Signal(int, int, str)  # (done, total, message)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()  # ended on the user's request without a result

    def __init__(self, owner: QObject, workers: SharedWorkers | None = None, *, stop_after_ms: int = STOP_AFTER_MS,
                 restop_ms: int = RESTOP_MS) -> None:
        super().__init__(owner)
        self._owner = owner
        self._workers = workers
        self._job: Job | None = None
        self._cancel = threading.Event()
        self.message = ""  # the step under way, as the work last said
        self._stop_timer = QTimer(self)
        self._stop_timer.setSingleShot(True)
        self._stop_timer.setInterval(stop_after_ms)
        self._stop_timer.timeout.connect(self._stop_workers)
        self._restop_timer = QTimer(self)
        self._restop_timer.setInterval(restop_ms)
        self._restop_timer.timeout.connect(self._stop_workers)

    @property
    def running(self) -> bool:
        return self._job is not None

    @property
    def cancelling(self) -> bool:
        return self._job is not None and self._cancel.is_set()

    def start(self, work: Callable[[RunTask], Any], expected: tuple[type[Exception], ...] = ()) -> bool:
        """Run `work` in a worker thread; False when a run is already under way. `expected`:
        exception types besides core's InspectorError whose text is the failure message."""
        if self._job is not None:
            return False
        self._cancel = cancel = threading.Event()
        self.message = ""
        workers = self._workers
        acquired = workers.acquire() if workers is not None else ()

        def run() -> Any:
            try:
                return work(RunTask(job.report_progress, cancel.is_set, acquired))
            finally:
                if workers is not None:
                    workers.release()

        job = Job(run, expected=expected, owner=self._owner)
        job.progressed.connect(self._progressed)
        job.finished.connect(lambda result: self._ended(self.finished, result))
        job.failed.connect(lambda message: self._ended(self.failed, message))
        job.cancelled.connect(lambda: self._ended(self.cancelled))
        self._job = job
        job.start()
        self.state_changed.emit()
        return True

    def cancel(self) -> None:
        """Ask the run to stop; its worker processes are stopped if it has not within STOP_AFTER_MS."""
        if self._job is None or self._cancel.is_set():
            return
        self._cancel.set()
        if self._workers is not None:
            self._stop_timer.start()
        self.state_changed.emit()

    def close(self) -> None:
        """The page is closing: stop the run at once and drop its result."""
        if self._job is None:
            return
        self._cancel.set()
        self._job.drop()
        self._stop_workers()
        self._end()

    def _stop_workers(self) -> None:
        if self._job is not None and self._workers is not None:
            self._workers.stop()
            if not self._restop_timer.isActive():
                self._restop_timer.start()

    def _progressed(self, done: int, total: int, message: str) -> None:
        if message:
            self.message = message
        self.progressed.emit(done, total, message)

    def _end(self) -> None:
        self._job = None
        self._stop_timer.stop()
        self._restop_timer.stop()

    def _ended(self, signal: Any, *value: Any) -> None:
        self._end()
        self.state_changed.emit()
        signal.emit(*value)
