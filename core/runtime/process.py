"""A child process that answers requests one at a time, with a timeout: the shell around
everything native that runs a model (the interpreter, the converter, the quantizer).

A crash or hang in the child becomes a `RuntimeFailure` in the caller, never the end of the
caller's process; `stop()` ends the request under way with `Cancelled`. Requests and answers
are the typed dataclasses of `protocol.py`, sent over a pipe; the child's main function
(`target`) is given the pipe's end and serves each request with the handler for its type,
answering ("ok", answer) or ("error", message).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ..errors import RuntimeFailure, one_line
from ..tasks import Cancelled

DEFAULT_TIMEOUT_S = 60.0
# How often a worker checks that the process that started it is still there (watchdog thread).
PARENT_CHECK_S = 0.5
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def crash_text(exitcode: int | None) -> str:
    """How a worker ended, in words: a signal by its name (SIGSEGV), else the exit code."""
    if exitcode is None:
        return "it closed its pipe without an answer"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        described = signal.strsignal(-exitcode) if hasattr(signal, "strsignal") else None
        return f"{name}, {described.lower()}" if described and name not in described else name
    return f"exit code {exitcode}"


def physical_memory() -> int | None:
    """The machine's RAM in bytes, where the platform says."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _tie_to_parent(parent_pid: int, parent_is_main_thread: bool) -> None:
    """End this worker when its parent goes, however the parent ends (SIGKILL and the OOM killer
    included): a model stuck in an endless loop would otherwise run on at 100% CPU forever.

    On Linux the kernel sends SIGKILL when the parent dies (PR_SET_PDEATHSIG), but it does so
    when the *thread* that started the worker ends, so it is asked for only when that was the
    parent's main thread (the app starts workers from job threads, which come and go). A
    watchdog thread covers every case where the worker holds no lock: native code that runs
    long (the interpreter's invoke) releases the GIL.
    """
    if parent_is_main_thread and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent went before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _limit_memory(max_bytes: int | None) -> None:
    """Cap the worker's address space, so that a runaway allocation (a model declaring huge
    tensors) fails in the worker as a MemoryError or an allocation error, not by taking the
    machine's memory."""
    if not max_bytes:
        return
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        max_bytes = min(max_bytes, hard)
    if soft == resource.RLIM_INFINITY or max_bytes < soft:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (max_bytes, hard))
        except (ValueError, OSError):
            pass


def _child_main(target: Callable[[multiprocessing.connection.Connection], None],
                conn: multiprocessing.connection.Connection, parent_pid: int, parent_is_main_thread: bool,
                memory_limit: int | None) -> None:
    """The worker's entry point around `target`: tied to its parent, memory capped, and quiet."""
    # Ctrl-C reaches the whole process group; the parent handles it and ends the worker, which
    # would otherwise print its own KeyboardInterrupt traceback over the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _tie_to_parent(parent_pid, parent_is_main_thread)
    _limit_memory(memory_limit)
    try:
        target(conn)
    except (BrokenPipeError, ConnectionError, EOFError):
        pass  # the parent went away mid-answer: nobody is left to tell


class WorkerProcess:
    """Started on first use and restarted after a crash, a timeout or stop(), so one bad
    model does not stop the next. Use as a context manager, or call close()."""

    def __init__(self, target: Callable[[multiprocessing.connection.Connection], None], *,
                 name: str, what: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                 memory_limit: int | None = None) -> None:
        self.timeout_s = timeout_s
        self._memory_limit = memory_limit  # the child's address space, in bytes (None: no cap)
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
        main_thread = threading.current_thread() is threading.main_thread()
        process = self._ctx.Process(target=_child_main, daemon=True, name=self._name,
                                    args=(self._target, child, os.getpid(), main_thread, self._memory_limit))
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
            _send(self._conn, request)
            if not self._conn.poll(timeout_s):
                self._kill()
                raise RuntimeFailure(f"{self._what} did not answer within {timeout_s:g} s")
            status, payload = self._conn.recv()
        except (EOFError, ConnectionError, OSError):
            code = None
            if self._process is not None:
                # The pipe closes as the process dies; its exit status comes a moment later.
                self._process.join(timeout=2)
                code = self._process.exitcode
            self._kill()
            if self._stopping:
                self._stopping = False
                raise Cancelled("stopped") from None
            raise RuntimeFailure(f"{self._what} process crashed ({crash_text(code)})") from None
        if status != "ok":
            raise RuntimeFailure(payload)
        return payload


def _send(conn: multiprocessing.connection.Connection, message: Any) -> None:
    """conn.send with pickle protocol 5 (Connection.send uses 4): numpy arrays go as one buffer
    each, where protocol 4 takes ten times longer for inputs of megabytes (10 images of 224×224×3:
    5–8 ms against 0.3 ms). recv reads either."""
    conn.send_bytes(ForkingPickler.dumps(message, pickle.HIGHEST_PROTOCOL))


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
            _send(conn, ("ok", handler(request)))
        except Exception as e:  # noqa: BLE001 - the message is the answer
            conn.send(("error", one_line(f"{type(e).__name__}: {e}".strip())))
