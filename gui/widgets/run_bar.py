"""What the user sees of a run (run_controller.py): `RunBar`, the Run and Cancel buttons, a progress
bar and a status line on a page; `RunDialog`, a progress dialog with Cancel for a run that has no
page of its own."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QProgressDialog, QPushButton, QWidget

from ..run_controller import RunController
from .messages import ERROR_STYLE, wrapped_label


class RunBar(QWidget):
    """Run and Cancel buttons, a progress bar and a status line, kept in step with a controller.

    The page says what Run does (`run_button.clicked`), why it cannot run (`set_blocker`) and
    how a run ended (`set_outcome`); the bar shows progress with `describe(done, total,
    message)`, the page's own words for a step."""

    def __init__(self, controller: RunController, *, progress_format: str = "%v / %m steps",
                 describe: Callable[[int, int, str], str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._describe = describe or (lambda done, total, message: f"Step {min(done + 1, total)} of {total}: "
                                                                    f"{message}…" if message else "")
        self._blocker = ""
        self._outcome = ""
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(controller.cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat(progress_format)
        self.progress_bar.setMaximumWidth(260)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status = wrapped_label()
        self.extra = QHBoxLayout()  # room for a page's own buttons beside Run and Cancel
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.run_button)
        layout.addWidget(self.cancel_button)
        layout.addLayout(self.extra)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status, 1)
        controller.state_changed.connect(self._refresh)
        controller.progressed.connect(self._progressed)
        self._refresh()

    def set_blocker(self, blocker: str) -> None:
        """Why Run cannot start ("" when it can)."""
        self._blocker = blocker
        self._refresh()

    def set_outcome(self, outcome: str) -> None:
        """How the last run ended, shown until the next starts or something blocks it."""
        self._outcome = outcome
        self._refresh()

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")

    def started(self, text: str) -> None:
        """A run has started and prepares: the bar is busy until the first step is reported."""
        self.progress_bar.setRange(0, 0)
        self.show_status(text)

    def ended(self, done: int | None = None, total: int | None = None) -> None:
        """The run ended: the bar shows `done` of `total` (or stays as it was)."""
        if total is not None:
            self.progress_bar.setRange(0, max(total, 1))
            self.progress_bar.setValue(done or 0)
        elif self.progress_bar.maximum() == 0:
            self.progress_bar.setRange(0, 1)
        self._refresh()

    def _progressed(self, done: int, total: int, message: str) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        if not self.controller.cancelling:
            text = self._describe(done, total, message or self.controller.message)
            if text:
                self.show_status(text)

    def _refresh(self) -> None:
        running = self.controller.running
        self.run_button.setEnabled(not running and not self._blocker)
        self.cancel_button.setEnabled(running and not self.controller.cancelling)
        if self.controller.cancelling:
            self.show_status("Cancelling…")
        elif not running:
            self.run_button.setToolTip(self._blocker)
            self.show_status(self._blocker or self._outcome or "Ready to run.", error=bool(self._blocker))


class RunDialog(QObject):
    """A progress dialog with Cancel, kept in step with a controller, for a run that has no page
    of its own (writing a report). It closes when the run ends."""

    def __init__(self, controller: RunController, title: str, text: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.controller = controller
        self.text = text
        self.dialog: QProgressDialog | None = QProgressDialog(text + "…", "Cancel", 0, 1, parent)
        self.dialog.setWindowTitle(title)
        self.dialog.setWindowModality(Qt.WindowModality.NonModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(controller.cancel)
        controller.progressed.connect(self._progressed)
        controller.state_changed.connect(self._state_changed)

    def show(self) -> None:
        if self.dialog is not None:
            self.dialog.show()

    def _progressed(self, done: int, total: int, message: str) -> None:
        if self.controller.cancelling or self.dialog is None:
            return  # QProgressDialog.setValue would show the dialog that Cancel hid
        self.dialog.setMaximum(max(total, 1))
        self.dialog.setValue(min(done, total))
        if message:
            self.dialog.setLabelText(f"{self.text}: {message}…")

    def _state_changed(self) -> None:
        if self.controller.cancelling:
            self.dialog.hide()  # Cancel hides it at once; it goes when the run has stopped
        if not self.controller.running and self.dialog is not None:
            dialog, self.dialog = self.dialog, None
            dialog.canceled.disconnect(self.controller.cancel)  # closing a QProgressDialog emits canceled
            dialog.close()
            dialog.deleteLater()
