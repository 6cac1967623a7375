"""First sizes of top-level windows. A size that suits a large screen is clamped to the screen the
window opens on, so on a 1366×768 laptop no edge (and no button along it) starts off-screen."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# Room for the title bar and borders a window manager adds around the window's own size.
FRAME_ALLOWANCE = (16, 48)


def resize_to_fit(window: QWidget, width: int, height: int) -> None:
    """Resize `window` to `width` × `height`, or to the screen's free area when that is smaller."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        free = screen.availableGeometry()
        width = min(width, free.width() - FRAME_ALLOWANCE[0])
        height = min(height, free.height() - FRAME_ALLOWANCE[1])
    window.resize(width, height)
