"""The Quantization lab window (pytest-qt, real widgets offscreen, real models and photos).

The numbers are the ones the lab run made (core's lab package computes them); these
tests check that the window shows all of it, re-applies a budget without running again,
asks before replacing files, cancels, reloads saved settings and hands two variants to the
Compare page — and that none of it loads TensorFlow into the app.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tflite_inspector.core.lab.settings import MIN_CALIBRATION_SAMPLES, Budget
from tflite_inspector.gui.lab.variant_table import COLUMNS, FITS_COLUMN
from tflite_inspector.gui.lab.window import QuantizationLabWindow
from tflite_inspector.gui.model_page.view import COMPARE_TAB, ModelView

from ..conftest import IMAGES, needs_shared, shared_model
from .conftest import drop_files, open_and_wait
from .fresh_process import passed, run_app_script

FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
RUN_TIMEOUT_MS = 120_000  # the first run starts an interpreter and a converter process
SIZE, TOP1, GPU = COLUMNS.index("Size (bytes)"), COLUMNS.index("Top-1"), COLUMNS.index("GPU ops")
DTYPES = COLUMNS.index("Ops by dtype")


def photos(count: int) -> list[str]:
    return [str(p) for p in sorted(IMAGES.glob("*.bmp"))[:count]]


def set_up_lab(lab: QuantizationLabWindow, output, modes=("dynamic", "int8"), calibration=None) -> None:
    for key, check in lab.setup.mode_checks.items():
        if check.isEnabled():
            check.setChecked(key in modes)
    lab.add_calibration(calibration if calibration is not None else [str(IMAGES)])
    lab.setup.runs_spin.setValue(5)
    lab.set_output_dir(str(output))


def run_and_wait(qtbot, lab: QuantizationLabWindow) -> None:
    qtbot.waitUntil(lab.run_button.isEnabled, timeout=RUN_TIMEOUT_MS)
    lab.run_button.click()
    assert lab.running
    qtbot.waitUntil(lambda: not lab.running, timeout=RUN_TIMEOUT_MS)


def column(lab: QuantizationLabWindow, index: int) -> list[str]:
    model = lab.table_model
    return [model.data(model.index(row, index)) for row in range(model.rowCount())]


def row_modes(lab: QuantizationLabWindow) -> list[str]:
    return [lab.table_model.variant(row).mode for row in range(lab.table_model.rowCount())]


@needs_shared
def test_run_shows_variants_and_a_budget_is_applied_without_running_again(qtbot, window, tmp_path):
    tensorflow_before = "tensorflow" in sys.modules  # another test of this session may have loaded it
    view = open_and_wait(qtbot, window, shared_model(FLOAT))
    assert window.quantize_action.shortcut().toString() == "Ctrl+Shift+Q"
    window.quantize_action.trigger()
    lab = window.lab_windows[-1]
    assert lab.isVisible() and lab.isWindow() and not lab.isModal()
    # The current tab's model is the source; the output goes beside it unless chosen.
    assert lab.source_path() == view.model.path == str(shared_model(FLOAT))
    assert lab.setup.output_edit.text() == str(shared_model(FLOAT).parent / "vww_96_float_variants")
    assert ".tflite" in lab.setup.kind_label.text() and "ai-edge-quantizer" in lab.setup.kind_label.text()
    float32 = lab.setup.mode_checks["float32"]
    assert not float32.isEnabled() and not float32.isChecked() and not lab.setup.int8_io_combo.isEnabled()
    assert "int8 weights and activations" in lab.setup.mode_checks["int8"].toolTip()
    assert window.open_quantization_lab() is lab  # one window per source

    set_up_lab(lab, tmp_path / "variants")
    # Fewer calibration photos than the lab asks for: said before anything runs.
    assert lab.warning_banner.isVisible()
    assert "only 20 calibration inputs" in lab.warning_banner.text()
    assert str(MIN_CALIBRATION_SAMPLES) in lab.warning_banner.text()
    run_and_wait(qtbot, lab)
    assert lab.errors == [] and lab.run_status.text().startswith("Done in")

    result = lab.result
    assert row_modes(lab) == ["float32", "dynamic", "int8"]
    reference = result.reference
    assert reference.is_reference and reference.path == str(shared_model(FLOAT))
    sizes = {v.mode: v.size_bytes for v in result.variants}
    assert sizes["dynamic"] < sizes["float32"] and sizes["int8"] < sizes["float32"]
    assert column(lab, SIZE) == [f"{sizes[m]:,}" for m in row_modes(lab)]
    assert all(text.endswith("%") for text in column(lab, TOP1))
    assert all("/" in text for text in column(lab, GPU))
    # What each mode computes in: vww's float model all float32, its full-integer variant all int8
    # (read from the variant file), the dynamic-range one float32 activations.
    dtypes = dict(zip(row_modes(lab), column(lab, DTYPES), strict=True))
    assert dtypes["float32"] == "31 float32" and dtypes["dynamic"].startswith("31 float32")
    assert dtypes["int8"].startswith("31 int8") and "⚠" not in dtypes["int8"]
    assert result.variant("int8").precision.full_integer
    # The recommendation without a budget: the smallest variant within the stated tolerances.
    assert "default tolerances" in result.recommendation_reason
    # The run's own warning about the calibration set, in the same banner.
    assert lab.warning_banner.isVisible() and "calibration inputs" in lab.warning_banner.text()
    assert any("calibration inputs" in w for w in result.warnings)
    assert column(lab, FITS_COLUMN) == ["", "", ""]  # no budget
    assert lab.recommendation_label.text() == "Recommended: " + result.recommendation_reason
    files = [v.path for v in result.variants if not v.is_reference] + [result.settings_file]
    stamps = [os.stat(p).st_mtime_ns for p in files]

    # Numbers sort as numbers, the selection and marks follow their rows.
    lab.table.sortByColumn(SIZE, Qt.SortOrder.AscendingOrder)
    ordered = [lab.table_model.variant(row).size_bytes for row in range(3)]
    assert ordered == sorted(ordered)
    lab.table.sortByColumn(SIZE, Qt.SortOrder.DescendingOrder)
    assert row_modes(lab)[0] == "float32"

    # A budget only the smaller variant fits: re-marked and re-recommended, nothing run.
    smaller, larger = sorted(("dynamic", "int8"), key=sizes.get)
    lab.budget_box.size_check.setChecked(True)
    lab.budget_box.size_spin.setValue((sizes[smaller] + sizes[larger]) / 2 / 1e6)
    fits = dict(zip(row_modes(lab), column(lab, FITS_COLUMN), strict=True))
    assert fits == {"float32": "no", smaller: "fits", larger: "no"}
    assert lab.result.recommendation == smaller
    title = lab.result.variant(smaller).title
    assert lab.recommendation_label.text().startswith(f"Recommended: {title}: the smallest error of the variants "
                                                      "that fit the budget")
    assert "Ruled out" in lab.recommendation_label.text()
    assert lab.table_model.data(lab.table_model.index(lab.table_model.row_of_mode(smaller), 0)).startswith("★")
    lab.budget_box.size_spin.setValue(0.01)
    assert set(column(lab, FITS_COLUMN)) == {"no"} and lab.result.recommendation is None
    assert lab.recommendation_label.text().startswith("No recommendation: no quantized variant fits the budget")
    # Only full-integer int8 runs wholly on the Edge TPU.
    lab.budget_box.size_check.setChecked(False)
    lab.budget_box.delegate_combo.setCurrentIndex(lab.budget_box.delegate_combo.findData("edgetpu"))
    assert lab.budget() == Budget(whole_model_delegate="edgetpu")
    assert lab.result.recommendation == "int8"
    assert lab.runs_started == 1 and not lab.running
    assert [os.stat(p).st_mtime_ns for p in files] == stamps
    assert lab.settings().budget == Budget(whole_model_delegate="edgetpu")  # the next run's budget

    # Compare selected: one variant and the reference, on the lab's photos with its normalization,
    # replacing what the Compare page had (another candidate, another input).
    view.show_compare().set_up([str(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))],
                               [str(sorted(IMAGES.glob("*.bmp"))[0])])
    int8_path = result.variant("int8").path
    lab.select_modes(["int8"])
    assert lab.compare_button.isEnabled()
    lab.compare_button.click()
    assert window.tabs.currentWidget() is view and view.tabs.currentIndex() == COMPARE_TAB
    page = view.compare_page
    assert page.candidate_paths == [int8_path] and page.input_paths == [str(IMAGES)]
    assert page.page.chosen_normalization().mean == lab.page.last_run.result.normalization.mean
    qtbot.waitUntil(lambda: page.run_result is not None and not page.running, timeout=RUN_TIMEOUT_MS)  # it ran
    assert [c.path for c in page.run_result.comparison.candidates] == [int8_path]
    assert lab.run_button.isEnabled()  # the lab window carries on
    if not tensorflow_before:
        assert "tensorflow" not in sys.modules


@needs_shared
def test_two_variants_open_the_first_and_compare_the_second(qtbot, window, tmp_path):
    lab = window.open_quantization_lab(str(shared_model(FLOAT)))
    set_up_lab(lab, tmp_path, calibration=photos(3))
    run_and_wait(qtbot, lab)
    lab.select_modes(["float32"])
    assert not lab.compare_button.isEnabled()  # the reference alone is not a pair
    lab.select_modes(["int8", "dynamic"])
    first, second = lab.selected_pair()
    assert (first.mode, second.mode) == ("dynamic", "int8")  # in the lab's order
    lab.compare_selected()
    # The first is opened in the main window, the second waits on its Compare page.
    qtbot.waitUntil(lambda: isinstance(window.tabs.currentWidget(), ModelView), timeout=RUN_TIMEOUT_MS)
    view = window.tabs.currentWidget()
    assert view.model.path == first.path and view.tabs.currentIndex() == COMPARE_TAB
    assert view.compare_page.candidate_paths == [second.path]
    assert view.compare_page.input_paths == photos(3)
    qtbot.waitUntil(lambda: view.compare_page.run_result is not None and not view.compare_page.running,
                    timeout=RUN_TIMEOUT_MS)


@needs_shared
def test_existing_files_are_replaced_only_when_asked_and_settings_reload(qtbot, window, tmp_path, monkeypatch):
    lab = window.open_quantization_lab(str(shared_model(FLOAT)))
    set_up_lab(lab, tmp_path, modes=("dynamic",), calibration=photos(3))
    lab.set_budget(Budget(max_latency_ms=250.0, min_top1_agreement=0.5))
    run_and_wait(qtbot, lab)
    result = lab.result
    variant, settings_file = result.variant("dynamic").path, result.settings_file
    stamps = [os.stat(p).st_mtime_ns for p in (variant, settings_file)]

    asked = []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *args: asked.append(args) or QMessageBox.StandardButton.No))
    lab.run_button.click()
    assert len(asked) == 1 and not lab.running and lab.runs_started == 1
    question = asked[0][2]
    assert os.path.basename(variant) in question and os.path.basename(settings_file) in question
    assert [os.stat(p).st_mtime_ns for p in (variant, settings_file)] == stamps
    assert lab.run_status.text().startswith("Not run")
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *args: QMessageBox.StandardButton.Yes))
    run_and_wait(qtbot, lab)
    assert lab.runs_started == 2 and lab.errors == []
    assert os.stat(variant).st_mtime_ns != stamps[0]

    # Saved settings fill a fresh window's form; the user presses Run.
    fresh = QuantizationLabWindow()
    qtbot.addWidget(fresh)
    assert not fresh.run_button.isEnabled() and "source" in fresh.run_status.text()
    assert fresh.load_settings_file(settings_file)
    assert fresh.source_path() == str(shared_model(FLOAT)) and fresh.setup.output_edit.text() == str(tmp_path)
    assert [k for k, check in fresh.setup.mode_checks.items() if check.isChecked()] == ["dynamic"]
    assert fresh.page.calibration == photos(3) and fresh.page.evaluation == []
    assert fresh.setup.runs_spin.value() == 5 and fresh.setup.threads_spin.value() == 1
    assert fresh.budget() == Budget(max_latency_ms=250.0, min_top1_agreement=0.5)
    assert fresh.budget_box.latency_check.isChecked() and fresh.budget_box.top1_spin.value() == 50.0 and not fresh.budget_box.size_check.isChecked()
    assert fresh.settings() == result.settings
    assert fresh.run_button.isEnabled() and fresh.runs_started == 0
    # A file that is not saved settings: one message, the form unchanged.
    broken = tmp_path / "broken_quantize.json"
    broken.write_text("{not json")
    assert not fresh.load_settings_file(str(broken))
    assert fresh.errors and "cannot read the saved settings" in fresh.errors[-1]
    assert fresh.error_box is not None and fresh.error_box.isVisible()
    assert fresh.source_path() == str(shared_model(FLOAT))
    fresh.error_box.close()


@needs_shared
def test_preprocessing_choices_round_trip_through_saved_settings(qtbot, window, tmp_path):
    """The normalization and resize controls the lab shares with Compare: a custom mean and std,
    a preset, the model's own, and a bad custom value, through settings and back into a form."""
    lab = window.open_quantization_lab(str(shared_model(FLOAT)))
    set_up_lab(lab, tmp_path)
    controls = lab.setup.preprocessing

    def choose(combo, key: str) -> None:  # as a user picks an item
        combo.setCurrentIndex(combo.findData(key))

    assert lab.settings().normalization is None and lab.settings().resize == "stretch"
    choose(controls.normalization_combo, "custom")
    assert controls.custom_row.isVisibleTo(lab)
    controls.mean_edit.setText("123.7, 116.3, 103.5")
    controls.std_edit.setText("58.4 57.1 57.4")
    choose(controls.resize_combo, "center-crop")
    settings = lab.settings()
    assert settings.normalization.mean == (123.7, 116.3, 103.5) and settings.normalization.std == (58.4, 57.1, 57.4)
    assert settings.resize == "center-crop"
    fresh = QuantizationLabWindow()
    qtbot.addWidget(fresh)
    fresh.page.load(settings)
    assert fresh.settings().normalization == settings.normalization and fresh.setup.preprocessing.resize == "center-crop"
    assert fresh.setup.preprocessing.normalization_combo.currentData() == "custom"
    assert fresh.setup.preprocessing.mean_edit.text() == "123.7, 116.3, 103.5"  # shown from the value, not parsed back
    choose(controls.normalization_combo, "signed")
    assert not controls.custom_row.isVisibleTo(lab)
    fresh.page.load(lab.settings())
    assert fresh.setup.preprocessing.normalization_combo.currentData() == "signed"
    fresh.page.load(replace(lab.settings(), normalization=None))
    assert fresh.setup.preprocessing.normalization_combo.currentData() == "suggested"
    assert fresh.page.normalization.chosen() is None
    choose(controls.normalization_combo, "custom")
    controls.mean_edit.setText("half")
    assert not lab.run_button.isEnabled() and "mean: give numbers" in lab.run_status.text()


@needs_shared
def test_cancel_keeps_the_window_usable(qtbot, window, tmp_path):
    lab = window.open_quantization_lab(str(shared_model(FLOAT)))
    set_up_lab(lab, tmp_path / "first", modes=("float16", "dynamic", "weight-int8", "weight-int4", "int8", "int16x8"))
    lab.setup.runs_spin.setValue(400)
    qtbot.waitUntil(lab.run_button.isEnabled, timeout=RUN_TIMEOUT_MS)
    lab.run_button.click()
    # Cancelled once the reference is measured (2 steps) and the first variant is under way: what
    # was finished is kept.
    qtbot.waitUntil(lambda: lab.progress_bar.maximum() > 2 and lab.progress_bar.value() >= 2, timeout=RUN_TIMEOUT_MS)
    lab.cancel_button.click()
    assert lab.run_status.text() == "Cancelling…" and not lab.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not lab.running, timeout=RUN_TIMEOUT_MS)
    assert lab.run_status.text().startswith("Cancelled") and lab.errors == []
    assert lab.result.cancelled and lab.result.reference.is_reference and len(lab.result.variants) < 7
    assert "Cancelled" in lab.warning_banner.text()
    # The window carries on: a short run to another folder completes.
    lab.page.clear_calibration()
    set_up_lab(lab, tmp_path / "second", modes=("dynamic",), calibration=photos(2))
    lab.setup.runs_spin.setValue(5)
    run_and_wait(qtbot, lab)
    assert lab.run_status.text().startswith("Done in") and row_modes(lab) == ["float32", "dynamic"]
    assert lab.progress_bar.value() == lab.progress_bar.maximum() > 1

    # Closing the window during a run stops it, and the worker processes end once it lets go.
    set_up_lab(lab, tmp_path / "third", modes=("float16", "dynamic", "int8", "int16x8"))
    lab.setup.runs_spin.setValue(400)
    lab.run_button.click()
    qtbot.waitUntil(lambda: lab.progress_bar.value() >= 1, timeout=RUN_TIMEOUT_MS)
    assert lab.running and lab._workers.started
    lab.close()
    qtbot.waitUntil(lambda: not lab.running and not lab._workers.started, timeout=RUN_TIMEOUT_MS)
    assert lab.run_status.text().startswith("Cancelled") and lab.errors == []


@needs_shared
def test_drops_sources_and_an_unreadable_model(qtbot, window, tmp_path):
    lab = window.open_quantization_lab("")
    assert lab.source_path() == "" and not lab.run_button.isEnabled()
    saved_model = tmp_path / "exported"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"")
    drop_files(lab, [str(saved_model), photos(1)[0], str(IMAGES)])
    # A SavedModel folder is the source: float32 is always made and the int8 I/O type can be chosen.
    assert lab.source_path() == str(saved_model) and "SavedModel" in lab.setup.kind_label.text()
    assert lab.setup.mode_checks["float32"].isChecked() and not lab.setup.mode_checks["float32"].isEnabled()
    assert lab.setup.int8_io_combo.isEnabled()
    assert lab.setup.output_edit.text() == str(tmp_path / "exported_variants")
    assert lab.page.calibration == [photos(1)[0], str(IMAGES)]
    # Random inputs instead of the files: said loudly, and the file lists are set aside.
    lab.set_random_inputs(20)
    assert "20 RANDOM inputs" in lab.warning_banner.text() and not lab.setup.calibration.isEnabled()
    assert lab.settings().random_count == 20
    lab.set_random_inputs(None)
    assert lab.setup.calibration.isEnabled() and "RANDOM" not in lab.warning_banner.text()

    # A file that is not a model: the run ends with one message and the window stays usable.
    fake = tmp_path / "notes.tflite"
    fake.write_text("not a model\n" * 20)
    lab.set_source(str(fake))
    lab.set_output_dir(str(tmp_path / "out"))
    run_and_wait(qtbot, lab)
    assert len(lab.errors) == 1 and "notes.tflite" in lab.errors[0] and "\n" not in lab.errors[0]
    assert lab.error_box.isVisible() and lab.run_button.isEnabled()
    lab.error_box.close()


@needs_shared
def test_the_lab_never_imports_tensorflow(tmp_path):
    result = run_app_script(f"""
        from tflite_inspector.gui.lab.window import QuantizationLabWindow


        def main(app):
            lab = QuantizationLabWindow({str(shared_model(FLOAT))!r})
            lab.show()
            for key, check in lab.setup.mode_checks.items():
                if check.isEnabled():
                    check.setChecked(key in ("dynamic", "int8"))
            lab.add_calibration({photos(2)!r})
            lab.setup.runs_spin.setValue(3)
            lab.set_output_dir("variants")
            lab.run()
            wait_until(lambda: not lab.running, 120000)
            assert lab.errors == [] and lab.table_model.rowCount() == 3, (lab.errors, lab.run_status.text())
            lab.close()
            assert "tensorflow" not in sys.modules, "tensorflow was imported"
    """, tmp_path, timeout_s=240)
    assert passed(result), result.stderr
