"""The errors a user sees, in one place: each is one line that says what went wrong and names the
file or choice at fault.

Every error meant for the user derives from `InspectorError`, so the command line and the app
catch that one type and show its text as it is; anything else that escapes is a bug in this
project and is reported as one ("internal error ..., please report it"). Stopping work on the
user's request is not an error: that is `tasks.Cancelled`.
"""

from __future__ import annotations


class InspectorError(Exception):
    """An error whose message is for the user: one line, naming what is at fault."""


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
