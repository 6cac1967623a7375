"""Work off the GUI thread: run a function in Qt's thread pool, get the result as a signal.

Errors surface in one place: the job's `failed` signal carries a one-line message (the text of
an InspectorError, core's one base of user-facing errors, or of another type the job expects;
for anything else, the exception type and text as a bug to report). A job stopped on the
user's request (core's `Cancelled`) emits `cancelled` instead.

Long optional analyses (delegate reports) run in `background_pool()`, one at a
time, so they never hold up opening a file or a tensor's values in Qt's global pool.
A view's worker processes, used by several of its jobs, are kept in `SharedWorkers`.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal

from ..core.errors import InspectorError
from ..core.tasks import Cancelled

if TYPE_CHECKING:
    from ..core.runtime.process import WorkerProcess  # multiprocessing: not at import time

# Jobs stay referenced here until the GUI thread releases them, so a job is never
# freed (and its QObject destroyed) in the worker thread that ran it.
_live_jobs: set[Job] = set()


class Job(QObject):
    """One background call; `finished(result)`, `failed(message)` or `cancelled()` arrive on the
    GUI thread.

    They arrive only if the job was not cancelled and its `owner` (the QObject whose
    slots take the result) still exists: a result that comes back after its view was
    closed is dropped instead of reaching deleted widgets.
    """

    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()  # the function raised Cancelled: the user stopped it
    progressed = Signal(int, int, str)  # (done, total, message), from a function that calls report_progress
    # Emitted in the worker thread; as signals of this QObject they are queued to
    # its (GUI) thread, where cancellation and the owner's life are checked without
    # racing the GUI that cancels and deletes.
    _succeeded = Signal(object)
    _errored = Signal(str)
    _stopped = Signal()
    _progress = Signal(int, int, str)
    _done = Signal()

    def __init__(self, fn: Callable[[], Any], expected: tuple[type[Exception], ...] = (),
                 owner: QObject | None = None) -> None:
        super().__init__()
        self._fn = fn
        self._expected = (InspectorError, *expected)  # their text is the message; anything else is a bug
        self._owner = owner
        self.dropped = False  # its result is no longer wanted

    def start(self, pool: QThreadPool | None = None) -> Job:
        _live_jobs.add(self)
        self._succeeded.connect(self._deliver_result)
        self._errored.connect(self._deliver_error)
        self._stopped.connect(self._deliver_cancelled)
        self._progress.connect(self._deliver_progress)
        self._done.connect(self._release)
        (pool or QThreadPool.globalInstance()).start(_Runner(self))
        return self

    def _release(self) -> None:
        _live_jobs.discard(self)

    def drop(self) -> None:
        """Nobody wants the result any more (its view is closing, the selection moved on): it is
        not delivered. The call itself runs to its end; to stop it, see RunController."""
        self.dropped = True

    def _wanted(self) -> bool:
        return not self.dropped and (self._owner is None or shiboken6.isValid(self._owner))

    def report_progress(self, done: int, total: int, message: str = "") -> None:
        """For the job's function, in its worker thread: `progressed` follows on the GUI thread.
        Safe to call while the job runs, since the job is kept alive until then. The signature
        is core's `Progress`, so the job's function can pass this method on."""
        self._progress.emit(done, total, message)

    def _deliver_progress(self, done: int, total: int, message: str) -> None:
        if self._wanted():
            self.progressed.emit(done, total, message)

    def _deliver_cancelled(self) -> None:
        if self._wanted():
            self.cancelled.emit()

    def _deliver_result(self, result: object) -> None:
        if self._wanted():
            self.finished.emit(result)

    def _deliver_error(self, message: str) -> None:
        if self._wanted():
            self.failed.emit(message)

    def _run(self) -> None:
        try:
            self._call()
        finally:
            self._done.emit()

    def _call(self) -> None:
        try:
            result = self._fn()
        except Cancelled:
            self._stopped.emit()
            return
        except self._expected as e:
            self._errored.emit(" ".join(str(e).split()))  # one line, whatever the library wrote
            return
        except Exception as e:  # noqa: BLE001 - reported to the user, never raised into Qt
            traceback.print_exc()
            self._errored.emit(f"internal error ({type(e).__name__}: {e}); please report it")
            return
        self._succeeded.emit(result)


class _Runner(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        self._job._run()


_background_pool: QThreadPool | None = None


def background_pool() -> QThreadPool:
    """One thread for optional analyses; they queue behind each other, not behind file loads."""
    global _background_pool
    if _background_pool is None:
        app = QCoreApplication.instance()
        pool = QThreadPool(app)
        pool.setMaxThreadCount(1)
        if app is not None:
            # Let the running analysis end while the app (and its jobs' QObjects) still
            # exist; the wait releases the GIL that the analysis needs to finish.
            app.aboutToQuit.connect(lambda: (pool.clear(), pool.waitForDone()))
        _background_pool = pool
    return _background_pool


class SharedWorkers:
    """Worker processes shared by the jobs of one view (its background threads): made by `make`
    on first use, stopped on request, and closed with the view — but only once the last job using
    them is done (closing a pipe under a request another thread is making would race that
    request's clean-up). A view that is shown again after close() makes new ones on its next use."""

    def __init__(self, make: Callable[[], tuple[WorkerProcess, ...]]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._workers: tuple[WorkerProcess, ...] = ()
        self._users = 0
        self._closed = False

    def acquire(self) -> tuple[Any, ...]:
        """The workers, for one job; call release() when the job is done."""
        with self._lock:
            if not self._workers:
                self._workers = self._make()
            self._users += 1
            self._closed = False
            return self._workers

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            idle_and_closed = self._closed and self._users == 0
            workers, self._workers = (self._workers, ()) if idle_and_closed else ((), self._workers)
        for worker in workers:
            worker.close()

    def stop(self) -> None:
        """Stop the requests under way, from the GUI thread: they raise Cancelled."""
        with self._lock:
            workers = self._workers
        for worker in workers:
            worker.stop()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = self._users == 0
            workers = self._workers
            if idle:
                self._workers = ()
        for worker in workers:
            if idle:
                worker.close()
            else:
                worker.stop()  # the last job to finish closes them

    @property
    def started(self) -> bool:
        with self._lock:
            return bool(self._workers)
