"""Start the desktop app: `tflite-inspector [FILES...]` with no subcommand."""

from __future__ import annotations

import sys
from importlib import resources


def sample_model_path() -> str:
    return str(resources.files("tflite_inspector.resources") / "samples" / "shapes_int8.tflite")


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
    window.open_paths(paths or [sample_model_path()])
    return app.exec()
