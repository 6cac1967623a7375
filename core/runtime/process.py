"""A child process that answers requests one at a time, with a timeout: the shell around
everything native that runs a model (the interpreter, the converter, the quantizer).

A crash or hang in the child becomes a `RuntimeFailure` in the caller, never the end of the
caller's process; `stop()` ends the request under way with `Cancelled`. Requests and answers
are the typed dataclasses of `protocol.py`, sent over a pipe; the child's main function
(`target`) is given the pipe's end and serves each request with the handler for its type,
answering ("ok", answer) or ("error", message).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import threading
from collections.abc import Callable
from typing import Any

from ..errors import RuntimeFailure
from ..tasks import Cancelled

DEFAULT_TIMEOUT_S = 60.0


class WorkerProcess:
    """Started on first use and restarted after a crash, a timeout or stop(), so one bad
    model does not stop the next. Use as a context manager, or call close()."""

    def __init__(self, target: Callable[[multiprocessing.connection.Connection], None], *,
                 name: str, what: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._target = target
        self._name = name
        self._what = what  # for messages: "the interpreter", "the converter"
        # spawn, not fork: the parent may have Qt threads, and the child imports heavy native code.
        self._ctx = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None
        # One request at a time on the pipe, whichever thread asks (the app's jobs may overlap).
        self._lock = threading.RLock()
        self._stopping = False

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=self._target, args=(child,), daemon=True, name=self._name)
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._process = self._conn = None

    def stop(self) -> None:
        """Stop the request under way, from any thread: it raises Cancelled, and the next request
        starts a fresh process."""
        process = self._process
        if process is None or not process.is_alive():
            return
        if self._lock.acquire(blocking=False):  # nothing under way: just end the process
            try:
                self._kill()
            finally:
                self._lock.release()
            return
        self._stopping = True
        process.kill()

    def _kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def request(self, request: Any, timeout_s: float | None = None) -> Any:
        """Send one request (a dataclass of protocol.py) and wait for its answer, at most
        `timeout_s` (default: the worker's). Raises RuntimeFailure, or Cancelled after stop()."""
        with self._lock:
            return self._request(request, self.timeout_s if timeout_s is None else timeout_s)

    def _request(self, request: Any, timeout_s: float) -> Any:
        if self._process is None or not self._process.is_alive():
            self._stopping = False  # a stop() that found no request under way is spent
            self._start()
        assert self._conn is not None and self._process is not None
        try:
            self._conn.send(request)
            if not self._conn.poll(timeout_s):
                self._kill()
                raise RuntimeFailure(f"{self._what} did not answer within {timeout_s:g} s")
            status, payload = self._conn.recv()
        except (EOFError, ConnectionError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self._kill()
            if self._stopping:
                self._stopping = False
                raise Cancelled("stopped") from None
            raise RuntimeFailure(f"{self._what} process crashed (exit code {code})") from None
        if status != "ok":
            raise RuntimeFailure(payload)
        return payload


def serve(conn: multiprocessing.connection.Connection, handlers: dict[type, Callable[[Any], Any]]) -> None:
    """The child's loop: answer each request with the value of the handler for its type, or with
    the exception's message (the native library's own words are the most useful answer)."""
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        handler = handlers.get(type(request))
        if handler is None:
            conn.send(("error", f"unknown request {type(request).__name__}"))
            continue
        try:
            conn.send(("ok", handler(request)))
        except Exception as e:  # noqa: BLE001 - the message is the answer
            conn.send(("error", f"{type(e).__name__}: {e}".strip()))
