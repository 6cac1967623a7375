"""The Compare page (pytest-qt, real widgets offscreen, real models and photos).

Expected numbers come from the comparison the page ran (core is tested in
test_comparison.py); these tests check that the page shows all of it, wires the
selection through, and survives what users do: bad files, cancel, closing.
"""

from __future__ import annotations

import math
import os

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from tflite_inspector.core.comparison.tensor_pair import SCATTER_POINTS
from tflite_inspector.core.formatting import format_metric
from tflite_inspector.core.metrics import METRIC_TITLES
from tflite_inspector.gui.compare.layer_table import LAYER_COLUMNS
from tflite_inspector.gui.compare.view import CompareView
from tflite_inspector.gui.model_page.view import COMPARE_TAB, ModelView
from tflite_inspector.gui.widgets.plots import EMPTY_BIN
from tflite_inspector.gui.widgets.tables import INDEX_ROLE

from ..conftest import IMAGES, needs_shared, shared_model
from ..graph_builder import GraphBuilder
from .conftest import drop_files, open_and_wait
from .fresh_process import passed, run_app_script

FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
INT8 = "gh-mlcommons-tiny/vww_96_int8.tflite"
RUN_TIMEOUT_MS = 60_000  # the first request starts an interpreter process




def photos(count: int) -> list[str]:
    return [str(p) for p in sorted(IMAGES.glob("*.bmp"))[:count]]


def compare_page(qtbot, window) -> tuple[ModelView, CompareView]:
    view = open_and_wait(qtbot, window, shared_model(FLOAT))
    return view, view.show_compare()


def run_and_wait(qtbot, page: CompareView) -> None:
    qtbot.waitUntil(page.run_button.isEnabled, timeout=RUN_TIMEOUT_MS)
    page.run_button.click()
    assert page.running
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)


@needs_shared
def test_float_against_int8_layer_by_layer(qtbot, window):
    view, page = compare_page(qtbot, window)
    page.add_candidates([str(shared_model(INT8))])
    page.add_inputs(photos(3))
    qtbot.waitUntil(lambda: "vww_96_int8.tflite: input_1_int8: INT8" in page.setup.candidate_inputs_label.text(),
                    timeout=RUN_TIMEOUT_MS)
    # The preprocessing is shown before running, the suggestion naming where it came from.
    suggestion = page.setup.preprocessing.normalization_combo.itemText(0)
    assert suggestion.startswith("Suggested: [0, 1] (input quantization of vww_96_int8")
    assert "NHWC image 96×96 RGB" in page.setup.reference_inputs_label.text()
    assert page.setup.preprocessing.resize == "stretch" and "normalization [0, 1]" in page.setup.preprocessing_label.text()
    run_and_wait(qtbot, page)
    assert page.page.messages() == []
    comparison = page.run_result.comparison
    assert comparison.inputs == tuple(os.path.basename(p) for p in photos(3)) and not comparison.random_inputs
    assert not page.random_banner.isVisible()
    candidate = page.page.candidate
    assert candidate is comparison.candidates[0] and candidate.error is None

    # The settings fold away after the run (a laptop screen keeps the room for the results); the
    # Settings button shows them again.
    assert not page.setup_area.isVisibleTo(page) and not page.settings_toggle.isChecked()
    page.settings_toggle.click()
    assert page.setup_area.isVisibleTo(page)
    page.settings_toggle.click()
    assert not page.setup_area.isVisibleTo(page)

    # Table: every matched tensor; plot: the ops' outputs (not a requantized repeat, not the model
    # input), the same layers as the report plots.
    assert page.layers.layer_model.rowCount() == len(candidate.layers) > 20
    plotted = [candidate.layers[i] for i in candidate.plotted_layers()]
    assert plotted == [layer for layer in candidate.layers if layer.how != "requantized" and layer.op_index >= 0]
    curve = page.layers.layer_plot.curves[0]
    x, y = curve.getData()
    assert len(x) == len(plotted) and len(plotted) < len(candidate.layers)
    assert list(x) == [layer.op_index for layer in plotted] and x[0] == 0  # the first op, not the model input
    assert np.allclose(y, [layer.metrics.sqnr_db for layer in plotted])
    assert len(page.layers.layer_plot.worst_marks.getData()[0]) == 5
    # The dashed curve: each op alone on the reference's activations; the suspect tint and the
    # isolated columns follow the op's own error, not the end-to-end one.
    isolated_x, isolated_y = page.layers.layer_plot.isolated_curves[0].getData()
    assert list(isolated_x) == list(x)
    assert np.allclose(isolated_y, [layer.isolated.sqnr_db for layer in plotted])
    own_column = LAYER_COLUMNS.index("own RMSE / scale")
    for row in range(page.layers.layer_model.rowCount()):
        layer = page.layers.layer_model.item(row)
        cell = page.layers.layer_model.index(row, own_column)
        expected = "–" if layer.isolated_own is None else format_metric("rmse_over_scale",
                                                                        layer.isolated_own.rmse_over_scale)
        assert cell.data() == expected
    assert any(layer.metrics.rmse_over_scale and layer.metrics.rmse_over_scale > 0.7 and not layer.suspect
               for layer in candidate.layers)
    page.layers.metric_combo.setCurrentIndex(page.layers.metric_combo.findData("mean_squared_error"))
    _, mse = curve.getData()
    assert not np.allclose(mse, y) and np.allclose(mse, [layer.metrics.mean_squared_error for layer in plotted])
    page.layers.log_check.setChecked(True)
    assert page.layers.layer_plot.plot.ctrl.logYCheck.isChecked()
    page.layers.metric_combo.setCurrentIndex(page.layers.metric_combo.findData("sqnr_db"))
    assert not page.layers.log_check.isEnabled()  # SQNR can be negative: no log scale

    # Clicking a point selects its layer everywhere, and the Compare page stays in front.
    tensors = view.model.subgraphs[0].tensors
    target = next(i for i, layer in enumerate(plotted)  # an op output too big for one scatter plot
                  if layer.op_index > 0 and tensors[layer.reference_tensor].num_elements > SCATTER_POINTS)
    spot = curve.scatter.points()[target]
    curve.sigPointsClicked.emit(curve, [spot], None)
    layer = page.page.selected_layer
    op = layer.op_index
    assert layer is plotted[target]
    assert page.layers.layer_table.currentIndex().row() == page.layers.layer_model.row_of(candidate.layers.index(layer))
    assert view.tabs.currentIndex() == COMPARE_TAB
    assert view.op_table.currentIndex().data(INDEX_ROLE) == op
    assert f"#{op}" in view.detail.info.toHtml() and layer.op in view.detail.info.toHtml()
    # Per-tensor view: both histograms, a thinned scatter plot, the error's histogram.
    qtbot.waitUntil(lambda: "values" in page.layers.tensor_info.text() and "Reading" not in page.layers.tensor_info.text(),
                    timeout=RUN_TIMEOUT_MS)
    plots, data = page.layers.tensor_plots, page.layers.shown_values
    assert data.reference_counts.sum() == data.candidate_counts.sum() == data.error_counts.sum() == data.finite > 0
    for step, counts in ((plots.reference_curve, data.reference_counts), (plots.candidate_curve, data.candidate_counts),
                         (plots.error_curve, data.error_counts)):
        assert np.allclose(10 ** step.getData()[1], np.maximum(counts, EMPTY_BIN))  # counts on a log scale
    points = len(plots.scatter.getData()[0])
    assert 0 < points <= SCATTER_POINTS and data.finite > SCATTER_POINTS
    # Another input: new values; back to the first: from the cache, at once.
    first = plots.reference_curve.getData()[1].copy()
    page.layers.input_combo.setCurrentIndex(1)
    qtbot.waitUntil(lambda: not np.array_equal(plots.reference_curve.getData()[1], first), timeout=RUN_TIMEOUT_MS)
    page.layers.input_combo.setCurrentIndex(0)
    assert np.array_equal(plots.reference_curve.getData()[1], first)
    # A row chosen in the table does the same as a click; a model input selects the input tensor.
    page.layers.layer_table.selectRow(page.layers.layer_model.row_of(0))
    assert page.page.selected_layer.op_index == -1
    assert view.tensor_table.currentIndex().data(INDEX_ROLE) == view.model.subgraphs[0].inputs[0]
    assert view.tabs.currentIndex() == COMPARE_TAB
    # Sorting by SQNR: lowest first, layers without a value last, the selection following its layer.
    selected = page.page.selected_layer
    sqnr_column = LAYER_COLUMNS.index(METRIC_TITLES["sqnr_db"])
    page.layers.layer_table.sortByColumn(sqnr_column, Qt.SortOrder.AscendingOrder)
    values = [page.layers.layer_model.item(row).metrics.sqnr_db for row in range(page.layers.layer_model.rowCount())]
    finite = [v for v in values if not math.isnan(v)]
    assert finite == sorted(finite) and values[:len(finite)] == finite
    assert page.layers.layer_model.item(page.layers.layer_table.currentIndex().row()) is selected
    page.layers.layer_table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    window.back_action.trigger()  # the layers chosen here are in the view's history
    assert view.op_table.currentIndex().data(INDEX_ROLE) == op and f"#{op}" in view.detail.info.toHtml()
    view.tabs.setCurrentIndex(COMPARE_TAB)

    # Outputs: vww is a two-class classifier (softmax).
    output = next(out for out in candidate.outputs if out.kind == "classifier")
    assert len(page.outputs.output_tables) == 1 and page.outputs.output_tables[0].rowCount() == len(comparison.inputs)
    assert f"top-1 agreement {output.top1_agreement:.0%}" in page.outputs.output_headers[0].text()
    assert not page.outputs.output_tables[0].item(0, 0).icon().isNull()  # the photo's thumbnail
    assert page.outputs.output_metrics_table.item(0, 0).text() == output.name
    assert page.results_tabs.tabText(2) == f"Unmatched ({len(candidate.unmatched)})"


@needs_shared
def test_bad_candidate_and_bad_input_give_messages(qtbot, window, tmp_path):
    view, page = compare_page(qtbot, window)
    fake = tmp_path / "notes.tflite"
    fake.write_text("this is not a model\n" * 20)
    text_input = tmp_path / "readme.png"
    text_input.write_text("not an image either")
    page.add_candidates([str(fake), str(shared_model(INT8))])
    qtbot.waitUntil(lambda: page.page.messages() != [], timeout=RUN_TIMEOUT_MS)
    assert page.page.messages()[0].startswith("notes.tflite: ") and "\n" not in page.page.messages()[0]
    assert page.message_view.isVisible() and "notes.tflite" in page.message_view.toPlainText()
    page.add_inputs([*photos(1), str(text_input)])
    run_and_wait(qtbot, page)
    assert [c.file_name for c in page.run_result.comparison.candidates] == ["vww_96_int8.tflite"]  # the bad one skipped
    messages = page.page.messages()
    assert any(m.startswith("readme.png: not a readable image") for m in messages), messages
    assert page.run_result.comparison.inputs == (os.path.basename(photos(1)[0]),)
    assert page.layers.layer_model.rowCount() > 0

    # Only unusable inputs: one message, no results, no exception; the page stays usable.
    page.clear_inputs()
    page.add_inputs([str(text_input)])
    run_and_wait(qtbot, page)
    assert any("no usable input" in m and "readme.png" in m for m in page.page.messages())
    assert page.run_button.isEnabled()
    # A custom normalization that is not numbers stops Run, saying why.
    page.set_normalization("custom")
    page.setup.preprocessing.mean_edit.setText("half")
    page.setup.preprocessing.std_edit.setText("127.5")
    assert not page.run_button.isEnabled() and "mean: give numbers" in page.run_bar.status.text()
    page.set_normalization("signed")
    assert page.run_button.isEnabled() and "[−1, 1]" in page.setup.preprocessing_label.text()


@needs_shared
def test_cancel_keeps_what_was_measured_and_says_random(qtbot, window):
    view, page = compare_page(qtbot, window)
    page.add_candidates([str(shared_model(INT8))])
    page.add_inputs(photos(2))
    page.set_random_inputs(400)
    qtbot.waitUntil(page.run_button.isEnabled, timeout=RUN_TIMEOUT_MS)
    page.run()
    qtbot.waitUntil(lambda: page.run_bar.progress_bar.maximum() == 400 and page.run_bar.progress_bar.value() >= 1,
                    timeout=RUN_TIMEOUT_MS)
    page.run_bar.cancel_button.click()
    assert page.run_bar.status.text() == "Cancelling…" and not page.run_bar.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)
    assert page.run_bar.status.text().startswith("Cancelled after ")
    # Stopped between inputs or (a moment later) in one: what was measured is kept, shown, marked.
    comparison = page.run_result.comparison
    assert comparison.cancelled and 0 < len(comparison.inputs) < 400
    assert comparison.random_inputs and page.random_banner.isVisible()
    assert "random data" in page.random_banner.text() and "RANDOM" in page.layers.layer_plot.plot.titleLabel.text
    # The app carries on: a short run after the cancel completes.
    page.set_random_inputs(2)
    run_and_wait(qtbot, page)
    assert page.run_bar.status.text().startswith("Compared on 2 inputs")
    assert len(page.run_result.comparison.inputs) == 2 and page.random_banner.isVisible()
    page.set_random_inputs(None)
    assert page.setup.input_list.isEnabled()


@needs_shared
def test_closing_the_view_during_a_run_stops_the_interpreter(qtbot, window):
    view, page = compare_page(qtbot, window)
    page.add_candidates([str(shared_model(INT8))])
    page.set_random_inputs(400)
    qtbot.waitUntil(page.run_button.isEnabled, timeout=RUN_TIMEOUT_MS)
    page.run()
    qtbot.waitUntil(lambda: page.run_bar.progress_bar.value() >= 1, timeout=RUN_TIMEOUT_MS)
    workers = page._workers
    window.close_tab(window.tabs.currentIndex())
    qtbot.waitUntil(lambda: not workers.started, timeout=RUN_TIMEOUT_MS)  # the job let go, the process closed
    assert window.tabs.count() == 0


@needs_shared
def test_drops_and_the_compare_menu(qtbot, window, monkeypatch, tmp_path):
    float_view = open_and_wait(qtbot, window, shared_model(FLOAT))
    int8_path = str(shared_model(INT8))
    open_and_wait(qtbot, window, int8_path)
    window.tabs.setCurrentIndex(0)
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(
        lambda *args, **kwargs: (asked.append(args) or [int8_path], "")))
    window.compare_action.trigger()
    assert window.compare_action.shortcut().toString() == "Ctrl+K"
    assert float_view.tabs.currentIndex() == COMPARE_TAB and len(asked) == 1
    page = float_view.compare_page
    assert page.candidate_paths == [int8_path]
    # The other open tabs are offered as candidates.
    page.remove_candidate(int8_path)
    page.setup.open_models_menu.aboutToShow.emit()
    offered = [a.text() for a in page.setup.open_models_menu.actions()]
    assert int8_path in offered and str(shared_model(FLOAT)) not in offered
    next(a for a in page.setup.open_models_menu.actions() if a.text() == int8_path).trigger()
    assert page.candidate_paths == [int8_path]

    folder = tmp_path / "inputs"
    folder.mkdir()
    drop_files(page, [str(shared_model(INT8)), photos(1)[0], str(folder)])
    assert page.candidate_paths == [int8_path]  # already there: not twice
    assert page.input_paths == [photos(1)[0], str(folder)]
    assert window.tabs.count() == 2  # the window did not open the dropped model


def test_requantized_rows_are_listed_but_not_plotted_and_unmatched_are_listed(qtbot, window, tmp_path):
    """A float RELU against an int8 RELU between QUANTIZE and DEQUANTIZE, plus an op of its own."""
    reference = GraphBuilder()
    x, y = reference.tensor("x", [1, 4]), reference.tensor("y", [1, 4])
    reference.op("RELU", [x], [y])
    candidate = GraphBuilder()
    x = candidate.tensor("x", [1, 4])
    xq = candidate.tensor("x_int8", [1, 4], "INT8", scale=0.05, zero_point=0)
    yq = candidate.tensor("relu_int8", [1, 4], "INT8", scale=0.05, zero_point=0)
    y, extra = candidate.tensor("y", [1, 4]), candidate.tensor("extra", [1, 2])
    candidate.op("QUANTIZE", [x], [xq])
    candidate.op("RELU", [xq], [yq])
    candidate.op("DEQUANTIZE", [yq], [y])
    candidate.op("SLICE", [y, candidate.constant("begin", np.array([0, 0], np.int32)),
                          candidate.constant("size", np.array([1, 2], np.int32))], [extra])
    (tmp_path / "relu_float.tflite").write_bytes(reference.build())
    (tmp_path / "relu_int8.tflite").write_bytes(candidate.build(outputs=[y, extra]))
    view = open_and_wait(qtbot, window, tmp_path / "relu_float.tflite")
    page = view.show_compare()
    # No image input: arrays are used as they are.
    assert not page.setup.preprocessing.normalization_combo.isEnabled()
    page.add_candidates([str(tmp_path / "relu_int8.tflite")])
    page.set_random_inputs(3)
    run_and_wait(qtbot, page)
    layers = page.page.candidate.layers
    assert sorted(layer.how for layer in layers) == ["input", "output", "requantized", "requantized"]
    assert page.layers.layer_model.rowCount() == 4
    # Plotted: the RELU's output only (the model input is not an op's, the requantized rows repeat it).
    assert list(page.layers.layer_plot.curves[0].getData()[0]) == [0]
    assert page.results_tabs.tabText(2) == "Unmatched (1)"
    assert page.unmatched.unmatched_table.item(0, 2).text() == "extra" and page.unmatched.unmatched_table.item(0, 0).text() == "candidate"
    assert page.random_banner.isVisible()


def test_metric_text():
    assert format_metric("sqnr_db", math.inf) == "exact"
    assert format_metric("rmse_over_scale", None) == "—" and format_metric("cosine", math.nan) == "—"
    assert format_metric("sqnr_db", 21.234) == "21.2" and format_metric("mean_squared_error", 0.000371) == "0.000371"


def test_infinite_and_unloggable_values_are_pinned_not_dropped():
    from tflite_inspector.gui.widgets.plots import pin_values

    shown, pinned = pin_values([np.array([10.0, math.inf, math.nan, 30.0])], log=False)
    assert shown[0][1] > 30 and math.isnan(shown[0][2]) and list(pinned[0]) == [1]
    shown, pinned = pin_values([np.array([1e-4, 0.0, 1e-2]), np.array([-math.inf, 5e-3])], log=True)
    assert 0 < shown[0][1] < 1e-4 and list(pinned[0]) == [1] and list(pinned[1]) == [0]
    shown, pinned = pin_values([np.array([math.nan, math.inf])], log=False)  # nothing drawable: no crash
    assert math.isnan(shown[0][0]) and math.isfinite(shown[0][1])


@needs_shared
def test_comparing_never_imports_tensorflow(tmp_path):
    result = run_app_script(f"""
        from PySide6.QtCore import QTimer
        from tflite_inspector.core.reading.reader import read_model
        from tflite_inspector.gui.compare.view import CompareView


        def main(app):
            page = CompareView(read_model({str(shared_model(FLOAT))!r}))
            page.show()
            page.add_candidates([{str(shared_model(INT8))!r}])
            page.set_random_inputs(2)
            wait_until(page.run_button.isEnabled, 60000)
            page.run()
            wait_until(lambda: not page.running, 60000)
            page.layers.select_layer(3)
            wait_until(lambda: "Reading" not in page.layers.tensor_info.text(), 60000)
            assert page.layers.tensor_plots.scatter.getData()[0].size > 0, page.layers.tensor_info.text()
            page.close_page()
            assert "tensorflow" not in sys.modules, "tensorflow was imported"
            # As the app does at a tab's close: deleted from the event loop, not by the interpreter's exit.
            page.deleteLater()
            QTimer.singleShot(0, app.quit)
            app.exec()
    """, tmp_path)
    assert passed(result), result.stderr


@needs_shared
def test_selected_layers_open_the_lab_with_their_ops_kept_in_float(qtbot, window, tmp_path):
    view, page = compare_page(qtbot, window)
    page.add_candidates([str(shared_model(INT8))])
    page.add_inputs(photos(2))
    run_and_wait(qtbot, page)
    panel = page.layers
    assert not panel.keep_float_button.isEnabled()  # nothing selected yet
    rows = [panel.layer_model.row_of(i) for i, layer in enumerate(page.page.candidate.layers)
            if layer.op in ("CONV_2D", "FULLY_CONNECTED")][-2:]
    selection = panel.layer_table.selectionModel()
    for row in rows:
        selection.select(panel.layer_model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
    expected = sorted(panel.layer_model.item(row).op_index for row in rows)
    assert panel.selected_ops() == expected and panel.keep_float_button.isEnabled()
    panel.keep_float_button.click()
    lab = window.lab_windows[-1]
    assert lab.source_path() == str(shared_model(FLOAT))
    assert lab.page.keep_float == ", ".join(str(op) for op in expected)
    assert lab.setup.keep_float_edit.text() == lab.page.keep_float
    lab.set_output_dir(str(tmp_path / "out"))
    assert lab.page.settings().keep_float == tuple(str(op) for op in expected)
    # Suggest asks for int8 among the modes.
    lab.page.set_mixed_precision(suggest_sqnr_db=30.0)
    assert lab.page.settings().suggest.min_output_sqnr_db == 30.0 and lab.setup.suggest_check.isChecked()
    lab.close()
