"""How the app shows text that may be long or bad news: labels that wrap rather than widen their
page, and one message box per error, over its window, that does not stop the app."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox, QSizePolicy, QWidget

ERROR_STYLE = "color:#c0392b"
BANNER_STYLE = "QLabel { background:#f5b041; color:#000; padding:4px; border-radius:3px; }"


def wrapped_label(text: str = "") -> QLabel:
    """A label for messages, names and paths: wraps instead of widening its page (converter-made
    tensor names run to hundreds of characters), selectable, plain text."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def show_error(parent: QWidget, title: str, text: str, message: str) -> QMessageBox:
    """A warning over `parent` with the error's one-line `message` as its detail. Opened, not run:
    the app keeps working under it. The caller keeps the box (tests read it)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setInformativeText(message)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box
