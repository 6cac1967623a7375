"""Export report…: core/report.py's page for one model, written off the GUI thread with a
progress dialog and Cancel.

The report holds what the app has: the model, every delegate's verdicts, the Compare page's
last result (not run again) and, from the Quantization lab, the lab's table.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from ..core.files import FileExists
from ..core.inputs import InputError
from ..core.report import ReportCancelled, ReportError, ReportRequest, build_report, write_report
from .jobs import Job

REPORT_FILTER = "HTML report (*.html);;All files (*)"


def default_report_path(model_path: str) -> str:
    stem = os.path.splitext(os.path.basename(model_path))[0]
    return os.path.join(os.path.dirname(model_path), f"{stem}_report.html")


def ask_report_path(parent: QWidget, model_path: str) -> str:
    """The file to write, "" when the user cancels. The dialog adds ".html" to a bare name before
    it asks about replacing an existing file, so the export that follows may overwrite."""
    dialog = QFileDialog(parent, "Export report", default_report_path(model_path), REPORT_FILTER)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("html")
    if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return ""
    return dialog.selectedFiles()[0]


class ReportExport(QObject):
    """One export: `done(path)` when the file is written, `failed(message)` otherwise (also
    after Cancel, with the message "cancelled")."""

    done = Signal(str)
    failed = Signal(str)

    def __init__(self, request: ReportRequest, path: str, parent: QWidget, *, overwrite: bool) -> None:
        super().__init__(parent)
        self.request, self.path = request, path
        self._cancel = threading.Event()
        self._message = ""  # the step under way, as build_report said it
        self.running = False
        self.dialog = QProgressDialog(f"Writing {os.path.basename(path)}…", "Cancel", 0, 1, parent)
        self.dialog.setWindowTitle("Export report")
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(self.cancel)

        def work() -> str:
            html = build_report(request, progress=self._progress, cancelled=self._cancel.is_set)
            if self._cancel.is_set():
                raise ReportCancelled("cancelled")
            write_report(html, path, overwrite=overwrite)
            return path

        self.job = Job(work, expected=(ReportCancelled, ReportError, FileExists, InputError, OSError), owner=self)
        self.job.progressed.connect(self._show_progress)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)

    def start(self) -> ReportExport:
        self.running = True
        self.dialog.show()
        self.job.start()
        return self

    def _progress(self, done: int, total: int, message: str) -> None:  # in the job's thread
        self._message = message
        self.job.report_progress(done, total)

    def _show_progress(self, done: int, total: int) -> None:
        if self._cancel.is_set():
            return  # QProgressDialog.setValue would show the dialog that Cancel hid
        self.dialog.setMaximum(max(total, 1))
        self.dialog.setValue(min(done, total))
        if self._message:
            self.dialog.setLabelText(f"Writing {os.path.basename(self.path)}: {self._message}…")

    def cancel(self) -> None:
        """Stops at the next step; the file is not written. (The dialog's Cancel hides it at once.)"""
        self._cancel.set()

    def _close_dialog(self) -> None:
        self.running = False
        self.dialog.canceled.disconnect(self.cancel)  # closing a QProgressDialog emits canceled
        self.dialog.close()
        self.dialog.deleteLater()

    def _finished(self, path: Any) -> None:
        self._close_dialog()
        self.done.emit(str(path))

    def _failed(self, message: str) -> None:
        cancelled = self._cancel.is_set()
        self._close_dialog()
        self.failed.emit("cancelled" if cancelled else message)
