"""TFLite Inspector: see inside .tflite models and decide how to ship them.

This folder is the root of the installed package, `tflite_inspector` (pyproject.toml maps it):
the command line, which runs a subcommand on the engine, `tflite_inspector.core` (core/), or
opens the desktop app, `tflite_inspector.gui` (gui/). docs/architecture.md draws the whole house.
"""

from .core import __version__

__all__ = ["__version__"]
