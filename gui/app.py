"""Start the desktop app: `tflite-inspector [FILES...]` with no subcommand."""

from __future__ import annotations

import os
import sys
from importlib import resources


def sample_model_path() -> str:
    return str(resources.files("tflite_inspector.resources") / "samples" / "shapes_int8.tflite")


# Benchmarks set this to time process start -> first model on screen: the app
# prints "shown <path>" once the model's view is painted, and quits.
EXIT_AFTER_SHOWN = "TFLITE_INSPECTOR_EXIT_AFTER_SHOWN"


def run_app(paths: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    from .gc_guard import MainThreadGarbageCollector
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("TFLite Inspector")
    app.setOrganizationName("tflite-inspector")
    collector = MainThreadGarbageCollector(app)  # noqa: F841 - lives as long as the app
    window = MainWindow()
    window.show()
    if os.environ.get(EXIT_AFTER_SHOWN):
        window.model_shown.connect(lambda path: _report_shown_and_quit(app, path))
    window.open_paths(paths or [sample_model_path()])
    return app.exec()


def _report_shown_and_quit(app: object, path: str) -> None:
    print(f"shown {path}", flush=True)  # the benchmark times this line's arrival
    app.quit()  # type: ignore[attr-defined]
