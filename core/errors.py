"""The errors a user sees, in one place: each is one line that says what went wrong and names the
file or choice at fault.

Every error meant for the user derives from `InspectorError`, so the command line and the app
catch that one type and show its text as it is; anything else that escapes is a bug in this
project and is reported as one ("internal error ..., please report it"). Stopping work on the
user's request is not an error: that is `tasks.Cancelled`.
"""

from __future__ import annotations

import re

# The longest message an error carries; a longer one keeps its start and end (a bit-flipped model
# once made a 3 MB line listing a 600,000-entry shape).
MESSAGE_LIMIT = 1000
# C0 and C1 control characters (ESC, BEL, CR, CSI, ...): in a name a model carries they could set
# a terminal's title, clear its screen or rewrite a line. The escapes used for them are Python's.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_control(text: str, keep: str = "") -> str:
    """`text` with every control character except those in `keep` written as an escape (\\x1b,
    \\r): what reaches a terminal is shown, never obeyed. The rule for all text output
    (formatting.printable uses it; errors are below formatting, so it lives here)."""
    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        return ch if ch in keep else _NAMED.get(ch, f"\\x{ord(ch):02x}")
    return _CONTROL.sub(escape, text)


def one_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message as one bounded line: whitespace runs become one space, control characters are
    escaped, and past `limit` characters the middle is left out, with its length said."""
    text = escape_control(" ".join(str(message).split()))
    if len(text) <= limit:
        return text
    keep = (limit - 40) // 2
    return f"{text[:keep]} … ({len(text) - 2 * keep:,} characters left out) … {text[-keep:]}"


class InspectorError(Exception):
    """An error whose message is for the user: one line, naming what is at fault. The message is
    made one bounded line here (`one_line`), whatever the library or the file it quotes held."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(str(message)), *args)


class ModelError(InspectorError):
    """A .tflite file that cannot be read (malformed, truncated, hostile, not a model)."""


class InputError(InspectorError):
    """A file or a choice that cannot be made into an input for a model."""


class RuntimeFailure(InspectorError):
    """A worker process could not do what was asked: its library's message, a crash or a timeout."""


class ConversionError(InspectorError):
    """A source model or a quantization-lab choice that the lab cannot work with."""


class ReportError(InspectorError):
    """Something the report was given that it cannot use (a lab results file, say)."""


class RuleError(InspectorError):
    """A delegate rule table is malformed: a bug in this project, shown so that it gets reported."""


class FileExists(InspectorError, FileExistsError):
    """An output file exists and replacing it was not asked for. Also a FileExistsError, so code
    that handles the operating system's own case handles this one too."""
