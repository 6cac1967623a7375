"""How long work reports progress and stops: one protocol for every job of the engine.

A job (compare, quantization lab, report, and what comes after) takes a `Progress` callback and
a `cancelled()` question, both optional, and counts its work with `Steps`. When the user stops
it, the job either returns what it finished (marked as cancelled) or raises `Cancelled`; a
worker process stopped under a request raises `Cancelled` too. The command line prints the
progress on a terminal; the app's run controller shows it and offers Cancel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol


class Cancelled(Exception):
    """The user stopped the work. Not an error: the caller says "cancelled" and moves on."""


class Progress(Protocol):
    """`done` of `total` steps finished; `message` says what the step under way is ("" when a
    step has just finished and the next has not started)."""

    def __call__(self, done: int, total: int, message: str) -> None: ...


class Steps:
    """Counts a job's steps and reports them.

    `start(message)` announces the next step, `finish()` marks it done. `group(n)` holds the n
    steps of one unit of work (one variant of the lab, say): when the block ends, however it
    ends, the count moves to the end of the group, so a unit that stops early never leaves the
    count behind.
    """

    def __init__(self, total: int, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.total = max(total, 0)
        self.done = 0
        self._progress = progress
        self._cancelled = cancelled

    @property
    def cancelled(self) -> bool:
        return self._cancelled is not None and self._cancelled()

    def check(self) -> None:
        """Raise Cancelled when the user has asked to stop."""
        if self.cancelled:
            raise Cancelled("cancelled")

    def start(self, message: str) -> None:
        self._report(message)

    def finish(self, count: int = 1) -> None:
        self.done = min(self.done + count, self.total)
        self._report("")

    @contextlib.contextmanager
    def group(self, count: int) -> Iterator[Steps]:
        end = min(self.done + count, self.total)
        try:
            yield self
        finally:
            if self.done < end:
                self.done = end
                self._report("")

    def _report(self, message: str) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total, message)
