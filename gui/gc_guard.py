"""Run Python's cyclic garbage collector on the GUI thread only.

Collection runs in whichever thread allocates when a threshold is crossed. If
that is a loader thread and the garbage holds Qt widgets (a closed window, a
closed tab), Qt destroys them off the GUI thread and the process crashes. So
automatic collection is switched off while the app runs and done instead from a
timer on the GUI thread, with the same generation thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class MainThreadGarbageCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(INTERVAL_MS)

    def check(self) -> None:
        thresholds = gc.get_threshold()
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                break

    def stop(self) -> None:
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
