"""Run a piece of the app in a fresh Python process, for what a test process cannot show: which
modules a use of the app imports (TensorFlow must never load; the rule engine loads only after a
model is shown), and the app's own exit.

The script gets an offscreen QApplication, and `wait_until(condition, timeout_ms)`, which runs
Qt's event loop until the condition holds (as pytest-qt's waitUntil does) and fails otherwise.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

_PRELUDE = '''
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication


def wait_until(condition, timeout_ms):
    if condition():
        return
    loop = QEventLoop()
    ticker = QTimer()
    ticker.timeout.connect(lambda: condition() and loop.quit())
    ticker.start(10)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    ticker.stop()
    if not condition():
        raise AssertionError(f"not within {timeout_ms} ms")

'''

_MAIN = '''

if __name__ == "__main__":  # the worker processes the app starts import this file again
    app = QApplication([])
    main(app)
    print("ok", flush=True)
    # End as the app does: through its event loop, so aboutToQuit lets background work finish
    # (returning with an analysis still running can crash the interpreter's teardown).
    QTimer.singleShot(0, app.quit)
    app.exec()
'''


def run_app_script(body: str, folder: Path, timeout_s: float = 120) -> subprocess.CompletedProcess:
    """Run `body`, which defines `main(app)`, in a fresh process with `folder` as its working
    directory (and for the script itself). The run passed when it printed "ok" and exited 0."""
    script = folder / "app_script.py"
    script.write_text(_PRELUDE + textwrap.dedent(body) + _MAIN, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout_s,
                          cwd=folder, check=False)


def passed(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 0 and result.stdout.strip().endswith("ok")
