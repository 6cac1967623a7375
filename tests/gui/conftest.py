"""Fixtures of the GUI tests: real widgets on Qt's offscreen platform (pytest-qt), one main window
per test with its own settings file, and the app's garbage-collection rule."""

from __future__ import annotations

import gc
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ..conftest import SAMPLES  # noqa: E402

SAMPLE = SAMPLES / "shapes_int8.tflite"
LOAD_TIMEOUT_MS = 20_000


@pytest.fixture(autouse=True)
def gc_on_gui_thread(qapp):
    """As in the app: no cyclic garbage collection in loader threads (see gui/gc_guard.py)."""
    from tflite_inspector.gui.gc_guard import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector()
    yield
    collector.stop()
    gc.collect()


@pytest.fixture
def window(qtbot, tmp_path):
    """A shown main window with its own settings file, large enough for the delegate and compare
    pages; closing its tabs afterwards stops their interpreter processes."""
    from PySide6.QtCore import QSettings

    from tflite_inspector.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.resize(1400, 800)
    w.show()
    yield w
    for i in reversed(range(w.tabs.count())):
        w.close_tab(i)


def open_and_wait(qtbot, window, path):
    """Open `path` and wait for its view (a ModelView) to be in front."""
    from tflite_inspector.gui.model_page.view import ModelView

    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: isinstance(window.tabs.currentWidget(), ModelView)
                    and window.tabs.tabToolTip(window.tabs.currentIndex()) == os.path.abspath(str(path)),
                    timeout=LOAD_TIMEOUT_MS)
    return window.tabs.currentWidget()


def drop_files(target, paths) -> None:
    """Drop local files on a widget, as a file manager would."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(os.path.abspath(p)) for p in paths])
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    target.dropEvent(event)
