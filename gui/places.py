"""Where files the user asks for are written by default: the folder they chose last for that kind
of file (kept in QSettings across sessions) when it still exists and can be written, else the
model's own folder when it can be written (a model may sit on a read-only share or in a package),
else the home folder. One place for this, so the lab and both report exports agree."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings

# QSettings keys, one per kind of output.
REPORT_FOLDER = "places/report_folder"
LAB_FOLDER = "places/lab_output_parent"


def _writable_folder(path: str | None) -> bool:
    return bool(path) and os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


class Places:
    def __init__(self, settings: QSettings | None = None) -> None:
        self.settings = settings or QSettings("tflite-inspector", "TFLite Inspector")

    def folder(self, key: str, beside: str = "") -> str:
        """The folder to offer for a `key` output; `beside` is the file it is about (its folder is
        the fallback)."""
        chosen = self.settings.value(key, "", type=str)
        if _writable_folder(chosen):
            return chosen
        own = os.path.dirname(os.path.abspath(beside)) if beside else ""
        if _writable_folder(own):
            return own
        return os.path.expanduser("~")

    def remember(self, key: str, folder: str) -> None:
        """The user chose `folder` for a `key` output: offer it next time."""
        if folder:
            self.settings.setValue(key, os.path.abspath(folder))
