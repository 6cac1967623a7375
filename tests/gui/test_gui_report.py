"""Export report… in the app (pytest-qt, real widgets offscreen, real models): written off the
GUI thread with progress, the Compare page's result included without running again, the
Quantization lab's table from the lab window, Cancel, and no file replaced without asking."""

from __future__ import annotations

import os

import pytest
from PySide6.QtWidgets import QPushButton

from tflite_inspector.core.lab.settings import Budget
from tflite_inspector.gui.report_export import default_report_path

from ..conftest import IMAGES, needs_shared, shared_model
from .conftest import open_and_wait
from .test_gui_quantize import run_and_wait as run_lab_and_wait
from .test_gui_quantize import set_up_lab

FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
INT8 = "gh-mlcommons-tiny/vww_96_int8.tflite"
DP_NET = "gh-tensorflow-tflite-micro/dp_net.tflite"
TIMEOUT_MS = 120_000


def photos(count: int) -> list[str]:
    return [str(p) for p in sorted(IMAGES.glob("*.bmp"))[:count]]


def export_and_wait(qtbot, owner, path, **kwargs):
    export = owner.export_report(str(path), **kwargs)
    assert export is not None and export.running  # the dialog is up while the job runs
    with qtbot.waitSignals([export.done], raising=False, timeout=TIMEOUT_MS) as blocker:
        pass
    assert blocker.signal_triggered, owner.errors
    assert not export.running  # and its dialog is closed and deleted
    return export


@needs_shared
def test_export_includes_the_compare_pages_result(qtbot, window, tmp_path):
    assert not window.export_action.isEnabled()  # nothing open
    view = open_and_wait(qtbot, window, shared_model(FLOAT))
    assert window.export_action.isEnabled()
    assert default_report_path(view.model.path).endswith("vww_96_float_report.html")
    view.page.set_api_level(27)  # the NNAPI level chosen in the view is the report's
    plain = tmp_path / "plain.html"
    export_and_wait(qtbot, window, plain)
    page_text = plain.read_text(encoding="utf-8")
    assert "Ops of subgraph 0" in page_text and "SQNR per layer" not in page_text
    assert "api_level 27" in page_text
    assert "Report written to" in window.statusBar().currentMessage()

    page = view.show_compare()
    page.set_up([str(shared_model(INT8))], photos(3), run=True)
    qtbot.waitUntil(lambda: page.run_result is not None and not page.running, timeout=TIMEOUT_MS)
    runs_before = page.page.run_number
    compared = tmp_path / "compared.html"
    export_and_wait(qtbot, window, compared)
    text = compared.read_text(encoding="utf-8")
    assert "SQNR per layer" in text and "vww_96_int8.tflite" in text
    assert text.count("data:image/jpeg;base64,") == 3  # the page's three photos, as thumbnails
    assert page.page.run_number == runs_before  # the page's result, not a new run

    # A file that exists is not replaced unless the user said so (the save dialog asks).
    before = compared.read_bytes()
    window.export_report(str(compared))
    qtbot.waitUntil(lambda: bool(window.errors), timeout=TIMEOUT_MS)
    assert "exists; not replaced" in window.errors[-1] and compared.read_bytes() == before
    window.error_box.close()
    export_and_wait(qtbot, window, compared, overwrite=True)


@needs_shared
def test_cancel_writes_nothing(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, shared_model(DP_NET))
    out = tmp_path / "dp_net.html"
    export = window.export_report(str(out))
    dialog = export.dialog.dialog
    with qtbot.waitSignal(export.cancelled, timeout=TIMEOUT_MS):
        dialog.findChild(QPushButton).click()  # the dialog's Cancel button
        assert not dialog.isVisible()  # Cancel hides it at once; later progress is ignored
    assert not export.running and not out.exists() and window.errors == []
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]
    assert "cancelled" in window.statusBar().currentMessage()


@needs_shared
def test_lab_window_exports_its_table(qtbot, window, tmp_path):
    lab = window.open_quantization_lab(str(shared_model(FLOAT)))
    assert not lab.report_button.isEnabled()
    set_up_lab(lab, tmp_path / "variants", modes=("dynamic", "float16"), calibration=photos(3))
    run_lab_and_wait(qtbot, lab)
    assert lab.report_button.isEnabled()
    lab.set_budget(Budget(max_size_bytes=400_000))
    out = tmp_path / "lab.html"
    export_and_wait(qtbot, lab, out)
    text = out.read_text(encoding="utf-8")
    assert ">Quantization lab<" in text and "dynamic-range int8" in text and "float16 weights" in text
    assert "★ dynamic-range int8" in text  # the budget as the window marks it now
    assert "size 455" in text  # why float16 is ruled out
    assert "Report written to" in lab.run_status.text()


@needs_shared
def test_file_export_report_after_a_lab_run_includes_the_lab(qtbot, window, tmp_path):
    view = open_and_wait(qtbot, window, shared_model(FLOAT))
    lab = window.open_quantization_lab(str(shared_model(FLOAT)))
    set_up_lab(lab, tmp_path / "variants", modes=("dynamic",), calibration=photos(3))
    run_lab_and_wait(qtbot, lab)
    window.tabs.setCurrentWidget(view)
    assert window.lab_result_for(view.model.path) is lab.page.result
    out = tmp_path / "model.html"
    export_and_wait(qtbot, window, out)
    text = out.read_text(encoding="utf-8")
    assert ">Quantization lab<" in text and "dynamic-range int8" in text


def test_outputs_default_to_the_folder_chosen_last_else_a_writable_one(tmp_path):
    from PySide6.QtCore import QSettings

    from tflite_inspector.gui.lab.model import LabPage
    from tflite_inspector.gui.places import LAB_FOLDER, REPORT_FOLDER, Places

    places = Places(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    home = os.path.expanduser("~")
    # A model whose folder cannot be written to (gone here; read-only below when not root): the
    # home folder, not a path the export would fail on.
    gone = tmp_path / "gone" / "m.tflite"
    assert default_report_path(str(gone), places) == os.path.join(home, "m_report.html")
    shelf = tmp_path / "read_only"
    shelf.mkdir()
    (shelf / "m.tflite").write_bytes(b"")
    shelf.chmod(0o555)
    try:
        if not os.access(shelf, os.W_OK):  # root may write anywhere: then only the case above
            assert default_report_path(str(shelf / "m.tflite"), places) == os.path.join(home, "m_report.html")
    finally:
        shelf.chmod(0o755)
    # A writable model folder is used while nothing was chosen.
    assert default_report_path(str(shelf / "m.tflite"), places) == str(shelf / "m_report.html")
    chosen = tmp_path / "reports"
    chosen.mkdir()
    places.remember(REPORT_FOLDER, str(chosen))
    assert default_report_path(str(gone), places) == str(chosen / "m_report.html")
    # The lab's variants: under the folder chosen last for them.
    places.remember(LAB_FOLDER, str(chosen))
    page = LabPage(output_parent=lambda source: places.folder(LAB_FOLDER, source))
    page.set_source(str(shelf / "m.tflite"))
    assert page.output_dir == str(chosen / "m_variants")
    chosen.rmdir()  # a chosen folder that is gone is not offered
    page = LabPage(output_parent=lambda source: places.folder(LAB_FOLDER, source))
    page.set_source(str(shelf / "m.tflite"))
    assert page.output_dir == str(shelf / "m_variants")
