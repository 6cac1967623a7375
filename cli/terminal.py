"""What the command line writes besides results: one error line per problem, JSON kept alone on
stdout, and a progress line that is shown only on a terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from typing import IO, Any

from .core.errors import one_line

EXIT_OK = 0
EXIT_SOME_FAILED = 2
EXIT_INTERRUPTED = 130
PROGRAM = "tflite-inspector"


def error_line(message: str) -> None:
    """One bounded line on stderr, whatever the message held (libraries write several; a model's
    names may hold escape sequences)."""
    print(f"{PROGRAM}: error: {one_line(str(message))}", file=sys.stderr)


class PrintableText:
    """A text stream that writes control characters as escapes (formatting.printable): what a
    model carries is shown on the terminal, never obeyed by it."""

    def __init__(self, stream: IO[str]) -> None:
        from .core.formatting import printable  # not at import: the app's start does not need it

        self._stream = stream
        self._printable = printable

    def write(self, text: str) -> int:
        return self._stream.write(self._printable(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def internal_error(what: str, error: Exception, debug: bool) -> str:
    """A bug of ours, in one line (and its traceback with --debug): never a crash."""
    message = f"{what}: internal error ({type(error).__name__}: {error}); please report it"
    error_line(message)
    if debug:
        traceback.print_exc()
    return message


@contextlib.contextmanager
def json_stdout() -> Iterator[IO[str]]:
    """Keep stdout for JSON only: anything else written to fd 1 (libraries, native code) goes to stderr."""
    sys.stdout.flush()
    saved_fd = os.dup(1)
    try:
        json_stream = os.fdopen(os.dup(saved_fd), "w", encoding="utf-8")
    except OSError:
        os.close(saved_fd)
        raise
    os.dup2(2, 1)
    old_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield json_stream
    finally:
        json_stream.flush()
        sys.stdout = old_stdout
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        json_stream.close()


class TerminalProgress:
    """`[3/14] int8: quantizing` on one line of a terminal's stderr, rewritten in place; nothing
    when stderr is not a terminal (a log, a pipe) or when JSON is asked for."""

    WIDTH = 60

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._shown = False

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.enabled and message:
            print(f"\r[{min(done + 1, total)}/{total}] {message:{self.WIDTH}.{self.WIDTH}}", end="", file=sys.stderr,
                  flush=True)
            self._shown = True

    def clear(self) -> None:
        """Blank the line, so that what follows starts at its beginning."""
        if self._shown:
            print("\r" + " " * (self.WIDTH + 10) + "\r", end="", file=sys.stderr, flush=True)
            self._shown = False
