"""The desktop app with real widgets on Qt's offscreen platform (pytest-qt)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea

from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.gui.main_window import MainWindow
from tflite_inspector.gui.model_page.view import OPERATORS_TAB, ModelView
from tflite_inspector.gui.widgets.tables import INDEX_ROLE

from ..conftest import EDGE_CASES, model_id, needs_shared, real_model_paths, shared_model
from .conftest import LOAD_TIMEOUT_MS, SAMPLE, drop_files, open_and_wait
from .fresh_process import passed, run_app_script


def test_drop_opens_each_file_in_its_own_tab(qtbot, window):
    paths = [SAMPLE, SAMPLE.with_name("shapes_float.tflite")]
    drop_files(window, paths)
    qtbot.waitUntil(lambda: window.tabs.count() == 2 and all(
        isinstance(window.tabs.widget(i), ModelView) for i in range(2)), timeout=LOAD_TIMEOUT_MS)
    assert [window.tabs.tabText(i) for i in range(2)] == ["shapes_int8.tflite", "shapes_float.tflite"]
    # Each tab keeps its own view state.
    first, second = window.tabs.widget(0), window.tabs.widget(1)
    first.select_operator(2)
    second.select_tensor(0)
    assert first.tabs.currentIndex() == 1 and second.tabs.currentIndex() == 2
    assert set(window.recent_files()[:2]) == {str(paths[0]), str(paths[1])}  # loads finish in any order


@needs_shared
@pytest.mark.parametrize("relative", [
    "gh-mlcommons-tiny/vww_96_int8.tflite",
    "gh-tensorflow-tflite-micro/dp_net.tflite",
    "gh-tulasiram58827-ocr_tflite/ocr_dr.tflite",
    "gh-google-lyra/lyragan.tflite",
])
def test_table_rows_equal_ops_and_tensors_in_every_subgraph(qtbot, window, relative):
    path = shared_model(relative)
    view = open_and_wait(qtbot, window, path)
    with read_model(path) as model:
        for sg in model.subgraphs:
            view.page.set_subgraph(sg.index)
            assert view.op_model.rowCount() == len(sg.operators)
            assert view.tensor_model.rowCount() == len(sg.tensors)
            assert view.op_proxy.rowCount() == len(sg.operators)


@needs_shared
def test_selecting_an_op_fills_the_detail_panel_and_links_navigate(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    view.select_operator(1)
    html = view.detail.info.toHtml()
    assert "DEPTHWISE_CONV_2D" in html and "padding" in html and "SAME" in html
    assert 'href="op:0"' in html  # its input comes from op 0
    weights = view.model.subgraphs[0].operators[1].inputs[1]
    view.detail.link_activated.emit(f"tensor:{weights}")
    assert view.tabs.currentIndex() == 2
    assert view.tensor_table.currentIndex().data(Qt.ItemDataRole.UserRole + 2) == weights
    window.back_action.trigger()
    assert view.tabs.currentIndex() == 1
    assert view.op_table.currentIndex().data(Qt.ItemDataRole.UserRole + 2) == 1
    window.forward_action.trigger()
    assert view.tabs.currentIndex() == 2


@needs_shared
def test_per_channel_rows_equal_channel_count_with_statistics_and_plots(qtbot, window, tmp_path):
    view = open_and_wait(qtbot, window, shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    sg = view.model.subgraphs[0]
    conv = next(op for op in sg.operators if op.opcode == "CONV_2D" and op.index > 5)
    w = sg.tensors[conv.inputs[1]]
    view.select_tensor(w.index)
    assert view.detail.quant_model.rowCount() == w.shape[w.quantization.quantized_dimension]
    assert f"along axis {w.quantization.quantized_dimension}" in view.detail.quant_label.text()
    qtbot.waitUntil(lambda: view.detail.plots is not None and "std" in view.detail.stats_label.text(),
                    timeout=LOAD_TIMEOUT_MS)
    x, counts = view.detail.plots.histogram_data()
    assert counts.sum() == w.num_elements
    assert view.detail.quant_model.index(0, 3).data() != "—"  # per-channel min from the weights
    target = tmp_path / "w.npy"
    view.detail.export_to(str(target))
    np.testing.assert_array_equal(np.load(target).shape, w.shape)
    # Axis labels in the values' own units, not rescaled with a "(x0.001)" factor.
    histogram = view.detail.plots.histogram_plot
    assert not histogram.getAxis("bottom").autoSIPrefix and not histogram.getAxis("left").autoSIPrefix


@needs_shared
def test_the_wheel_over_an_unclicked_plot_scrolls_the_panel_not_the_plot(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    window.resize(1366, 700)
    sg = view.model.subgraphs[0]
    conv = next(op for op in sg.operators if op.opcode == "CONV_2D" and op.index > 5)
    view.select_tensor(sg.tensors[conv.inputs[1]].index)
    qtbot.waitUntil(lambda: view.detail.plots is not None and "std" in view.detail.stats_label.text(),
                    timeout=LOAD_TIMEOUT_MS)
    plot_widget = view.detail.plots.widget
    histogram = view.detail.plots.histogram_plot
    scroll = next(a for a in view.detail.findChildren(QScrollArea) if a.isAncestorOf(plot_widget))
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0  # the panel is taller than its view: there is something to scroll
    bar.setValue(0)
    before = histogram.viewRange()

    def wheel(steps: int) -> None:  # over the middle of the histogram's data area
        box = histogram.getViewBox()
        centre = QPointF(plot_widget.mapFromScene(box.mapToScene(box.boundingRect().center())))
        event = QWheelEvent(centre, QPointF(plot_widget.viewport().mapToGlobal(centre.toPoint())), QPoint(0, 0),
                            QPoint(0, -120 * steps), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(plot_widget.viewport(), event)

    wheel(2)
    assert bar.value() > 0 and histogram.viewRange() == before
    window.activateWindow()
    plot_widget.setFocus()  # clicked: now the wheel is the plot's
    qtbot.waitUntil(plot_widget.hasFocus, timeout=2000)
    bar_value = bar.value()
    wheel(2)
    assert bar.value() == bar_value and histogram.viewRange() != before


@needs_shared
def test_float16_weights_have_statistics(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-tulasiram58827-TTS_TFLite/hifigan_float16.tflite"))
    sg = view.model.subgraphs[0]
    t = max((t for t in sg.tensors if t.is_constant and t.dtype == "FLOAT16"), key=lambda t: t.num_elements)
    view.select_tensor(t.index)
    qtbot.waitUntil(lambda: "std" in view.detail.stats_label.text(), timeout=LOAD_TIMEOUT_MS)
    assert f"{t.num_elements:,}" in view.detail.stats_label.text()


@needs_shared
def test_filter_by_regex_and_control_flow_link(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-tulasiram58827-ocr_tflite/ocr_dr.tflite"))
    view.filter_edit.setText("^while")
    assert view.op_proxy.rowCount() == sum(op.opcode == "WHILE" for op in view.model.subgraphs[0].operators) > 0
    view.filter_edit.setText("[unclosed")  # not a regex: matched as text, flagged, no crash
    assert view.op_proxy.pattern_error
    view.filter_edit.setText("")
    op = next(op for op in view.model.subgraphs[0].operators if op.opcode == "WHILE")
    view.select_operator(op.index)
    body = op.subgraph_refs["body_subgraph_index"]
    view.detail.link_activated.emit(f"subgraph:{body}")
    assert view.page.subgraph_index == body
    assert view.op_model.rowCount() == len(view.model.subgraphs[body].operators)


@needs_shared
def test_filter_words_match_op_types_first_and_fields_narrow(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    ops, tensors = view.model.subgraphs[0].operators, view.model.subgraphs[0].tensors
    convs = sum(op.opcode == "CONV_2D" for op in ops)
    # One regex over the whole row found nothing for an anchored op type; now it is the op type.
    view.filter_edit.setText("^CONV_2D$")
    assert view.op_proxy.rowCount() == convs > 0
    # RELU6 is no op type here (fused into the convolutions): it matches rows through their text.
    view.filter_edit.setText("depthwise")
    assert view.op_proxy.rowCount() == sum(op.opcode == "DEPTHWISE_CONV_2D" for op in ops)
    # Fields: all required; the Tensors tab's op: is the op that makes the tensor.
    view.filter_edit.setText("op:^conv_2d$ dtype:int8")
    assert view.op_proxy.rowCount() == convs
    made_by_conv = sum(1 for t in tensors if (p := view.model.subgraphs[0].producers.get(t.index)) is not None
                       and ops[p].opcode == "CONV_2D")
    assert view.tensor_proxy.rowCount() == made_by_conv
    view.filter_edit.setText("shape:96")
    assert 0 < view.tensor_proxy.rowCount() == sum("96" in f"{list(t.shape)}" for t in tensors)
    assert view.op_proxy.pattern_error == ""
    view.filter_edit.setText("name:[bad")
    assert "not a regular expression" in view.op_proxy.pattern_error


@needs_shared
def test_typing_a_filter_keeps_the_chosen_op(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    ops = view.model.subgraphs[0].operators
    chosen = next(op.index for op in ops if op.opcode == "DEPTHWISE_CONV_2D")
    view.tabs.setCurrentIndex(OPERATORS_TAB)
    view.select_operator(chosen)
    detail = view.detail.info.toHtml()
    for text in ("C", "CO", "CONV_2D", "^CONV_2D$", ""):  # the chosen op is hidden, then shown again
        view.filter_edit.setText(text)
        assert view.page.selection.place.index == chosen and view.detail.info.toHtml() == detail, text
    assert view.op_table.currentIndex().data(INDEX_ROLE) == chosen


@needs_shared
def test_attached_label_file_is_viewable(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite"))
    assert "imagenet_labels.txt" in view.overview.toHtml()
    view.follow_link("file:imagenet_labels.txt")
    text = view.attached_file_dialog.findChild(type(view.detail.values_text)).toPlainText()
    assert len(text.splitlines()) == 1001


def test_bad_file_shows_error_and_app_keeps_working(qtbot, window, tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(SAMPLE.read_bytes()[:3000])
    window.open_paths([str(bad)])
    qtbot.waitUntil(lambda: bool(window.errors), timeout=LOAD_TIMEOUT_MS)
    assert "broken.tflite" in window.errors[0]
    assert "broken.tflite" in window.error_box.text() and window.error_box.informativeText() == window.errors[0]
    assert window.tabs.count() == 0
    view = open_and_wait(qtbot, window, SAMPLE)
    assert view.op_model.rowCount() == len(view.model.subgraphs[0].operators)


def test_keyboard_ctrl_f_focuses_filter(qtbot, window):
    view = open_and_wait(qtbot, window, SAMPLE)
    window.activateWindow()
    window.find_action.trigger()
    assert view.tabs.currentIndex() == 1
    qtbot.waitUntil(view.filter_edit.hasFocus, timeout=2000)


def test_geometry_and_recent_files_are_remembered(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    w.resize(700, 500)  # within the offscreen screen (800x600), which restoreGeometry clamps to
    open_and_wait(qtbot, w, SAMPLE)
    w.close()
    again = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert again.recent_files() == [str(SAMPLE)]
    assert (again.width(), again.height()) == (700, 500)
    assert [a.text() for a in again.recent_menu.actions()] == [str(SAMPLE)]


def test_first_windows_fit_a_small_screen(qtbot, tmp_path):
    """With no saved geometry, the main window and the lab open clamped to the screen's free area
    (offscreen: 800 wide), not at the sizes meant for a large screen with edges off-screen; and
    neither needs more than a 1366x768 laptop gives (less a window manager's frame)."""
    w = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    lab = w.open_quantization_lab()
    qtbot.addWidget(lab)
    free = w.screen().availableGeometry()
    assert free.width() < 1200  # smaller than either window's size for a large screen
    for window, large in ((w, (1400, 860)), (lab, (1200, 800))):
        least = window.minimumSizeHint()
        assert least.width() <= 1366 - 16 and least.height() <= 768 - 48, type(window).__name__
        assert window.width() == max(min(large[0], free.width() - 16), least.width())
        assert window.height() <= max(min(large[1], free.height() - 48), least.height())
    lab.close()


@needs_shared
def test_every_model_in_the_corpus_opens_without_raising(qtbot, window):
    for path in real_model_paths():
        view = open_and_wait(qtbot, window, path)
        sg = view.model.subgraphs[0]
        if sg.operators:
            view.select_operator(0)
        if sg.tensors:
            view.select_tensor(len(sg.tensors) - 1)
        window.close_tab(window.tabs.currentIndex())
    assert window.errors == [], [model_id(p) for p in real_model_paths()]


def test_browsing_never_imports_tensorflow(tmp_path):
    result = run_app_script(f"""
        from PySide6.QtCore import QSettings
        from tflite_inspector.gui.main_window import MainWindow
        from tflite_inspector.gui.model_page.view import ModelView


        def main(app):
            w = MainWindow(QSettings("settings.ini", QSettings.Format.IniFormat))
            w.show()
            w.open_paths([{str(SAMPLE)!r}])
            wait_until(lambda: isinstance(w.tabs.currentWidget(), ModelView), 20000)
            v = w.tabs.currentWidget()
            v.select_operator(0); v.select_tensor(1); v.tabs.setCurrentIndex(0)
            wait_until(lambda: "std" in v.detail.stats_label.text(), 10000)
            assert "tensorflow" not in sys.modules, "tensorflow was imported"
    """, tmp_path)
    assert passed(result), result.stderr


@needs_shared
def test_sorting_by_macs_keeps_selection_and_navigation(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    stats = view.loaded.stats.subgraphs[0]
    view.select_operator(3)
    macs_column = 6
    view.op_table.sortByColumn(macs_column, Qt.SortOrder.DescendingOrder)
    first = view.op_proxy.index(0, 0).data(Qt.ItemDataRole.UserRole + 2)
    assert stats.macs_by_operator[first] == max(stats.macs_by_operator.values())
    assert view.op_table.currentIndex().data(Qt.ItemDataRole.UserRole + 2) == 3  # selection follows its row
    view.select_operator(0)  # navigation finds rows after sorting
    assert view.op_table.currentIndex().data(Qt.ItemDataRole.UserRole + 2) == 0
    view.filter_edit.setText("^depthwise_conv_2d")  # the op name starts each row's search text
    keys = [view.op_proxy.index(r, macs_column).data(Qt.ItemDataRole.UserRole + 1)
            for r in range(view.op_proxy.rowCount())]
    assert keys == sorted(keys, reverse=True) and len(keys) == 13


@needs_shared
def test_edge_case_files_end_as_a_view_or_a_message(qtbot, window):
    paths = sorted(EDGE_CASES.glob("*.tflite"))
    for path in paths:
        errors_before = len(window.errors)
        window.open_paths([str(path)])
        qtbot.waitUntil(lambda before=errors_before, path=path: len(window.errors) > before or (
            isinstance(window.tabs.currentWidget(), ModelView)
            and window.tabs.tabToolTip(window.tabs.currentIndex()) == str(path)), timeout=LOAD_TIMEOUT_MS)
    opened = sum(isinstance(window.tabs.widget(i), ModelView) for i in range(window.tabs.count()))
    assert opened + len(window.errors) == len(paths)
    assert all("\n" not in e for e in window.errors) and len(window.errors) >= 3


def test_qt_calls_keep_the_reference_counts_of_none_and_booleans(qapp):
    """PySide6 6.12.0 took a reference from None on every call of a method returning void, and from
    True on every signal emitted from Python: after enough calls (a large graph's paths are tens of
    thousands) Python aborted ("deallocating None"). The pinned release must not."""
    import sys

    from PySide6.QtCore import QObject, QRectF, Signal
    from PySide6.QtGui import QPainterPath

    class Emitter(QObject):
        fired = Signal()

    path, emitter = QPainterPath(), Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(2000):
        path.lineTo(1.0, 2.0)
        path.addRect(QRectF(0, 0, 1, 1))
        emitter.fired.emit()
    # Other threads may hold or drop a few references meanwhile: a leak would be thousands.
    assert abs(sys.getrefcount(None) - none_before) < 100
    assert abs(sys.getrefcount(True) - true_before) < 100


def test_title_names_the_current_model_and_ctrl_tab_moves_between_models(qtbot, window, tmp_path):
    first = open_and_wait(qtbot, window, SAMPLE)
    assert window.windowTitle() == f"{SAMPLE.name} — TFLite Inspector" and window.windowFilePath() == str(SAMPLE)
    copy = tmp_path / "second.tflite"
    copy.write_bytes(SAMPLE.read_bytes())
    second = open_and_wait(qtbot, window, copy)
    assert window.windowTitle() == "second.tflite — TFLite Inspector"
    second.tabs.setCurrentIndex(OPERATORS_TAB)
    second.op_table.setFocus()
    qtbot.keyClick(second.op_table, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is first and second.tabs.currentIndex() == OPERATORS_TAB  # not the inner page
    assert window.windowTitle() == f"{SAMPLE.name} — TFLite Inspector"
    qtbot.keyClick(first, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is second


def test_a_failed_open_returns_to_the_tab_the_user_was_on(qtbot, window, tmp_path):
    first = open_and_wait(qtbot, window, SAMPLE)
    copy = tmp_path / "second.tflite"
    copy.write_bytes(SAMPLE.read_bytes())
    open_and_wait(qtbot, window, copy)
    window.tabs.setCurrentWidget(first)
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(SAMPLE.read_bytes()[:3000])
    window.open_paths([str(bad)])
    qtbot.waitUntil(lambda: bool(window.errors), timeout=LOAD_TIMEOUT_MS)
    assert window.tabs.currentWidget() is first and window.tabs.count() == 2
    assert window.windowTitle() == f"{SAMPLE.name} — TFLite Inspector"
