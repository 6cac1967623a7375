"""Export report…: core's report for one model, written off the GUI thread by a run controller, with
a progress dialog and Cancel.

The report holds what the app has: the model, every delegate's verdicts, the Compare page's last
run (not run again) and, from the Quantization lab, the lab's result.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from ..core.report.build import ReportRequest, build_report, write_report
from ..core.tasks import Cancelled
from .places import REPORT_FOLDER, Places
from .run_controller import RunController, RunTask
from .widgets.run_bar import RunDialog

REPORT_FILTER = "HTML report (*.html);;All files (*)"


def default_report_path(model_path: str, places: Places | None = None) -> str:
    """`<stem>_report.html` in the folder chosen last for reports (places.py), else beside the model
    when that folder can be written, else in the home folder."""
    stem = os.path.splitext(os.path.basename(model_path))[0]
    folder = (places or Places()).folder(REPORT_FOLDER, model_path)
    return os.path.join(folder, f"{stem}_report.html")


def ask_report_path(parent: QWidget, model_path: str, places: Places | None = None) -> str:
    """The file to write, "" when the user cancels. The dialog adds ".html" to a bare name before
    it asks about replacing an existing file, so the export that follows may overwrite. The folder
    chosen is offered next time."""
    places = places or Places()
    dialog = QFileDialog(parent, "Export report", default_report_path(model_path, places), REPORT_FILTER)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("html")
    if dialog.exec() != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return ""
    chosen = dialog.selectedFiles()[0]
    places.remember(REPORT_FOLDER, os.path.dirname(chosen))
    return chosen


class ReportExport(QObject):
    """One export: `done(path)` when the file is written, `failed(message)` otherwise, `cancelled()`
    after Cancel (the file is then not written)."""

    done = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, request: ReportRequest, path: str, parent: QWidget, *, overwrite: bool) -> None:
        super().__init__(parent)
        self.request, self.path, self._overwrite = request, path, overwrite
        self.controller = RunController(self)
        self.controller.finished.connect(lambda written: self.done.emit(str(written)))
        self.controller.failed.connect(self.failed)
        self.controller.cancelled.connect(self.cancelled)
        self.dialog = RunDialog(self.controller, "Export report", f"Writing {os.path.basename(path)}", parent)

    @property
    def running(self) -> bool:
        return self.controller.running

    def start(self) -> ReportExport:
        request, path, overwrite = self.request, self.path, self._overwrite

        def work(task: RunTask) -> str:
            html = build_report(request, progress=task.progress, cancelled=task.cancelled)
            if task.cancelled():  # a Cancel during the last step: the file is not written
                raise Cancelled("cancelled")
            write_report(html, path, overwrite=overwrite)
            return path

        self.controller.start(work, expected=(OSError,))
        self.dialog.show()
        return self

    def cancel(self) -> None:
        """Stops at the next step; the file is not written."""
        self.controller.cancel()
