"""How a page's plain model tells its widgets that it changed: a list of callbacks.

Page models (model_page/, compare/, lab/) hold a page's state without any Qt widget, so that
they can be read, driven and tested on their own; their widgets connect to a `Notifier` and
redraw what the change names.
"""

from __future__ import annotations

from collections.abc import Callable


class Notifier:
    """`connect(callback)`; `notify(aspect)` calls each callback with the aspect that changed
    (a short name such as "candidates" or "result"), in the order they were connected."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[str], None]] = []

    def connect(self, callback: Callable[[str], None]) -> None:
        self._callbacks.append(callback)

    def disconnect_all(self) -> None:
        self._callbacks.clear()

    def notify(self, aspect: str) -> None:
        for callback in list(self._callbacks):
            callback(aspect)
