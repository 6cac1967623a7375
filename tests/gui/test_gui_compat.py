"""Delegate compatibility in the desktop app (pytest-qt, real widgets offscreen).

Expected values come from the engine's `analyze` on the same file, read separately, so a
column, filter or summary that drifts from the engine fails here.
"""

from __future__ import annotations

import os
import re
from html import escape

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QUrl  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402

from tflite_inspector.core.delegates import tables  # noqa: E402
from tflite_inspector.core.delegates.engine import DELEGATES, DelegateReport  # noqa: E402
from tflite_inspector.core.delegates.engine import analyze as engine_analyze  # noqa: E402
from tflite_inspector.core.delegates.runtime_check import (  # noqa: E402
    OpDelegation,
    RuntimeComparison,
    delegated_ops_from_nodes,
)
from tflite_inspector.core.delegates.settings import DEFAULT_NNAPI_API_LEVEL, DelegateSettings  # noqa: E402
from tflite_inspector.core.errors import RuleError, RuntimeFailure  # noqa: E402
from tflite_inspector.core.formatting import format_share  # noqa: E402
from tflite_inspector.core.reading.reader import read_model  # noqa: E402
from tflite_inspector.core.runtime.interpreter import RuntimeWorker  # noqa: E402
from tflite_inspector.gui.jobs import background_pool  # noqa: E402
from tflite_inspector.gui.model_page import delegate_bar as delegate_bar_module  # noqa: E402
from tflite_inspector.gui.model_page.delegates import (  # noqa: E402
    DELEGATE_COLUMN,
    DISAGREEMENT_COLOR,
    FALLBACK_COLOR,
    RUNTIME_COLUMN,
)
from tflite_inspector.gui.model_page.delegate_state import DelegateResult  # noqa: E402
from tflite_inspector.gui.model_page.view import OPERATORS_TAB, ModelView  # noqa: E402
from tflite_inspector.gui.widgets.tables import INDEX_ROLE  # noqa: E402

from ..conftest import SAMPLES, needs_shared, shared_model  # noqa: E402
from .conftest import open_and_wait  # noqa: E402
from .fresh_process import passed, run_app_script  # noqa: E402

SHAPES_FLOAT = SAMPLES / "shapes_float.tflite"
SHAPES_INT8 = SAMPLES / "shapes_int8.tflite"
ANALYSIS_TIMEOUT_MS = 30_000
RUNTIME_TIMEOUT_MS = 90_000  # a fresh interpreter process per check




def wait_for_rules(qtbot, view: ModelView) -> None:
    qtbot.waitUntil(lambda: view.page.delegates is not None, timeout=ANALYSIS_TIMEOUT_MS)


def choose(qtbot, view: ModelView, key: str | None) -> DelegateResult | None:
    """Pick a delegate in the combo, as a user does, and wait for its report."""
    wait_for_rules(qtbot, view)
    view.tabs.setCurrentIndex(OPERATORS_TAB)
    combo = view.delegate_bar.delegate_combo
    combo.setCurrentIndex(0 if key is None else combo.findData(key))
    if key is None:
        return None
    qtbot.waitUntil(lambda: isinstance(view.delegate_bar.state(), DelegateResult), timeout=ANALYSIS_TIMEOUT_MS)
    return view.delegate_bar.state()


def column(view: ModelView, key: str, role: int = Qt.ItemDataRole.DisplayRole) -> dict[int, object]:
    """Op index -> the extra column's value, over all rows of the source model."""
    model = view.op_model
    at = model.extra_column(key)
    assert at is not None, f"no {key} column"
    return {model.index(r, 0).data(INDEX_ROLE): model.index(r, at).data(role) for r in range(model.rowCount())}


def expected_cells(report: DelegateReport, sg: int) -> dict[int, str]:
    return {v.index: "✓" if v.supported else f"CPU — {v.reasons[0].text}" for v in report.ops if v.subgraph == sg}


def visible_ops(view: ModelView) -> list[int]:
    return [view.op_proxy.index(r, 0).data(INDEX_ROLE) for r in range(view.op_proxy.rowCount())]


def analyze(path, key: str, api_level: int = DEFAULT_NNAPI_API_LEVEL) -> DelegateReport:
    with read_model(path) as model:
        return engine_analyze(model, key, DelegateSettings(api_level))


@needs_shared
def test_choosing_xnnpack_fills_the_column_with_the_engine_verdicts_and_sorts_by_it(qtbot, window):
    path = shared_model("gh-tensorflow-tflite-micro/dp_net.tflite")
    view = open_and_wait(qtbot, window, path)
    columns_before = view.op_model.columnCount()
    choose(qtbot, view, "xnnpack")
    report = analyze(path, "xnnpack")
    refused = {v.index for v in report.ops if not v.supported}
    assert 0 < len(refused) < report.ops_total  # both kinds of rows are checked
    at = view.op_model.extra_column(DELEGATE_COLUMN)
    assert view.op_model.headerData(at, Qt.Orientation.Horizontal) == "On XNNPACK"
    assert view.op_model.columnCount() == columns_before + 1
    assert column(view, DELEGATE_COLUMN) == expected_cells(report, 0)
    highlighted = {i for i, brush in column(view, DELEGATE_COLUMN, Qt.ItemDataRole.BackgroundRole).items() if brush}
    assert highlighted == refused
    mac_column = at + 5  # "MACs": the rows' own cells keep their row background too
    assert view.op_model.index(view.op_model.source_row_of(min(refused)), mac_column).data(
        Qt.ItemDataRole.BackgroundRole).color() == FALLBACK_COLOR
    assert view.delegate_bar.delegate_status.text() == (
        f"XNNPACK takes {report.ops_supported:,} of {report.ops_total:,} ops "
        f"({format_share(report.ops_supported, report.ops_total)}) in {report.partitions:,} partitions")

    # Sorting by the column: CPU fallbacks first when descending, grouped by reason.
    view.select_operator(min(refused))
    view.op_table.sortByColumn(at, Qt.SortOrder.DescendingOrder)
    first = visible_ops(view)[:len(refused)]
    assert set(first) == refused
    reasons = [view.op_proxy.index(r, at).data() for r in range(len(refused))]
    assert reasons == sorted(reasons, reverse=True)
    assert view.op_table.currentIndex().data(INDEX_ROLE) == min(refused)  # the selection follows its row

    # Another delegate replaces the column (and re-sorts by it); none removes it.
    choose(qtbot, view, "coreml")
    coreml = analyze(path, "coreml")
    assert view.op_model.headerData(at, Qt.Orientation.Horizontal) == "On Core ML"
    assert column(view, DELEGATE_COLUMN) == expected_cells(coreml, 0)
    coreml_refused = {v.index for v in coreml.ops if not v.supported}
    assert set(visible_ops(view)[:len(coreml_refused)]) == coreml_refused
    choose(qtbot, view, None)
    assert view.op_model.columnCount() == columns_before and view.op_model.extra_column(DELEGATE_COLUMN) is None
    assert view.op_model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None


@needs_shared
def test_fallbacks_only_shows_exactly_the_refused_ops_and_combines_with_the_text_filter(qtbot, window):
    path = shared_model("gh-tensorflow-tflite-micro/dp_net.tflite")
    view = open_and_wait(qtbot, window, path)
    assert not view.delegate_bar.fallbacks_only.isEnabled()  # nothing to filter on without a delegate
    choose(qtbot, view, "xnnpack")
    report = analyze(path, "xnnpack")
    refused = sorted(v.index for v in report.ops if not v.supported)
    view.delegate_bar.fallbacks_only.setChecked(True)
    assert visible_ops(view) == refused
    assert view.filter_status.text().startswith(f"{len(refused)}/{report.ops_total} ops")

    view.filter_edit.setText("^strided_slice")
    strided = [v.index for v in report.ops if not v.supported and v.opcode == "STRIDED_SLICE"]
    assert visible_ops(view) == strided and 0 < len(strided) < len(refused)
    view.filter_edit.setText("")

    # Going to an op the filter hides shows everything again.
    taken = next(v.index for v in report.ops if v.supported)
    view.select_operator(taken)
    assert not view.delegate_bar.fallbacks_only.isChecked()
    assert view.op_table.currentIndex().data(INDEX_ROLE) == taken
    assert view.op_proxy.rowCount() == report.ops_total


def test_detail_panel_gives_every_reason_with_its_source(qtbot, window):
    view = open_and_wait(qtbot, window, SHAPES_INT8)
    report = analyze(SHAPES_INT8, "coreml")
    op = next(v for v in report.ops if len(v.reasons) >= 2)
    view.select_operator(op.index)  # selected before the delegate: the panel follows the choice
    choose(qtbot, view, "coreml")
    text = view.detail.info.toPlainText()
    assert "On Core ML: stays on the CPU" in text
    position = 0
    for reason in op.reasons:  # each reason, then its source, in order
        position = text.index(reason.text, position)
        position = text.index(reason.source, position)
    html = view.detail.info.toHtml()
    for reason in op.reasons:
        source = re.escape(escape(reason.source, quote=False))
        assert re.search(r'<span style="[^"]*font-size:small; color:#888888;">' + source, html)

    xnnpack = analyze(SHAPES_INT8, "xnnpack")
    taken = next(v for v in xnnpack.ops if v.supported)
    choose(qtbot, view, "xnnpack")
    view.select_operator(taken.index)
    assert "On XNNPACK: ✓ taken" in view.detail.info.toPlainText()
    choose(qtbot, view, None)
    assert "On XNNPACK" not in view.detail.info.toPlainText() and taken.opcode in view.detail.info.toPlainText()


SUMMARY_ROW = re.compile(
    r'<tr><td><a href="delegate:(\w+)">([^<]+)</a></td><td class="num">([\d,]+) / ([\d,]+)</td>'
    r'<td class="num">([^<]+)</td><td>.*?</td>'  # ops %, bar
    r'<td class="num">([^<]+)</td><td>.*?</td>'  # MACs %, bar
    r'<td class="num">([\d,]+)</td></tr>')  # partitions


def summary_rows(view: ModelView) -> dict[str, tuple[str, ...]]:
    return {m.group(1): m.groups()[1:] for m in SUMMARY_ROW.finditer(view.overview_html)}


def wait_for_summary(qtbot, view: ModelView) -> None:
    wait_for_rules(qtbot, view)
    qtbot.waitUntil(lambda: len(summary_rows(view)) == len(DELEGATES), timeout=ANALYSIS_TIMEOUT_MS)


@pytest.mark.parametrize("relative", [None, "gh-mlcommons-tiny/vww_96_int8.tflite",
                                      "gh-tulasiram58827-ocr_tflite/ocr_dr.tflite"])
def test_overview_summarises_every_delegate_with_the_engine_numbers(qtbot, window, relative):
    path = SHAPES_INT8 if relative is None else shared_model(relative)
    view = open_and_wait(qtbot, window, path)
    wait_for_summary(qtbot, view)
    rows = summary_rows(view)
    assert list(rows) == list(DELEGATES)
    notes = 0
    for key in DELEGATES:
        report = analyze(path, key)
        fraction = report.macs_supported_fraction
        title = tables.delegate_title(key)
        assert rows[key] == (
            f"{title} (API level 30)" if key == "nnapi" else title,
            f"{report.ops_supported:,}", f"{report.ops_total:,}", format_share(report.ops_supported, report.ops_total),
            "—" if fraction is None else format_share(fraction, 1.0), f"{report.partitions:,}")
        for reason, ops in list(report.fallbacks_by_reason().items())[:5]:
            assert f'<tr><td class="num">{len(ops):,}</td><td>{escape(reason)}</td></tr>' in view.overview_html
        for note in report.graph_notes:
            assert escape(note.text) in view.overview_html
            notes += 1
    if relative is not None and "ocr_dr" in relative:
        assert notes > 0  # several subgraphs and dynamic tensors: graph notes are shown
    shown = view.overview.toPlainText()
    assert all(row[0] in shown for row in rows.values()) and "partitions" in shown

    # A delegate's name links to its verdicts on the Operators page.
    view.overview.anchorClicked.emit(QUrl("delegate:nnapi"))
    assert view.tabs.currentIndex() == OPERATORS_TAB
    assert view.delegate_bar.delegate_combo.currentData() == "nnapi"
    assert view.delegate_bar.api_spin.isVisibleTo(view)
    qtbot.waitUntil(lambda: view.op_model.extra_column(DELEGATE_COLUMN) is not None
                    and column(view, DELEGATE_COLUMN) == expected_cells(analyze(path, "nnapi"), 0),
                    timeout=ANALYSIS_TIMEOUT_MS)


def test_nnapi_api_level_changes_the_verdicts_and_the_summary(qtbot, window):
    view = open_and_wait(qtbot, window, SHAPES_INT8)
    wait_for_rules(qtbot, view)
    assert not view.delegate_bar.api_spin.isVisibleTo(view)
    choose(qtbot, view, "nnapi")
    assert view.delegate_bar.api_spin.isVisibleTo(view) and view.delegate_bar.api_spin.value() == 30
    assert (view.delegate_bar.api_spin.minimum(), view.delegate_bar.api_spin.maximum()) == (27, 35)
    at_30, at_27 = analyze(SHAPES_INT8, "nnapi", 30), analyze(SHAPES_INT8, "nnapi", 27)
    assert at_27.ops_supported < at_30.ops_supported  # the sample tells the levels apart
    assert column(view, DELEGATE_COLUMN) == expected_cells(at_30, 0)

    view.delegate_bar.api_spin.setValue(27)  # analysed once the user stops stepping
    qtbot.waitUntil(lambda: view.page.settings.api_level == 27 and isinstance(view.delegate_bar.state(), DelegateResult)
                    and column(view, DELEGATE_COLUMN) == expected_cells(at_27, 0), timeout=ANALYSIS_TIMEOUT_MS)
    assert view.op_model.headerData(view.op_model.extra_column(DELEGATE_COLUMN),
                                    Qt.Orientation.Horizontal) == "On NNAPI (API level 27)"
    qtbot.waitUntil(lambda: summary_rows(view).get("nnapi", ("",))[0] == "NNAPI (API level 27)",
                    timeout=ANALYSIS_TIMEOUT_MS)
    assert summary_rows(view)["nnapi"][1:3] == (f"{at_27.ops_supported}", f"{at_27.ops_total}")
    assert "NNAPI (API level 27)" not in view.overview.toPlainText()  # laid out when it is looked at
    view.tabs.setCurrentIndex(0)
    assert "NNAPI (API level 27)" in view.overview.toPlainText()


def test_runtime_check_on_the_float_sample_agrees_on_every_op(qtbot, window):
    view = open_and_wait(qtbot, window, SHAPES_FLOAT)
    choose(qtbot, view, "gpu")
    assert not view.delegate_bar.runtime_button.isVisibleTo(view)  # only XNNPACK runs here
    choose(qtbot, view, "xnnpack")
    assert view.delegate_bar.runtime_button.isVisibleTo(view)
    qtbot.waitUntil(view.delegate_bar.runtime_button.isEnabled, timeout=ANALYSIS_TIMEOUT_MS)
    qtbot.mouseClick(view.delegate_bar.runtime_button, Qt.MouseButton.LeftButton)
    assert not view.delegate_bar.runtime_button.isEnabled()  # one check at a time
    qtbot.waitUntil(lambda: view.page.runtime is not None, timeout=RUNTIME_TIMEOUT_MS)
    assert "runtime agrees on 12 of 12 ops (100%)" in view.delegate_bar.delegate_status.text()
    assert window.statusBar().currentMessage().startswith("runtime agrees on 12 of 12 ops (100%)")
    assert view.page.runtime.agreement == 1.0
    assert column(view, RUNTIME_COLUMN) == dict.fromkeys(range(12), "delegated")
    assert not any(column(view, RUNTIME_COLUMN, Qt.ItemDataRole.BackgroundRole).values())
    assert view.op_model.extra_column(RUNTIME_COLUMN) == view.op_model.extra_column(DELEGATE_COLUMN) + 1
    view.select_operator(3)
    assert "Runtime (LiteRT interpreter): delegated, as the rules say" in view.detail.info.toPlainText()
    choose(qtbot, view, "gpu")  # the runtime column belongs to XNNPACK
    assert view.op_model.extra_column(RUNTIME_COLUMN) is None
    choose(qtbot, view, "xnnpack")
    assert view.op_model.extra_column(RUNTIME_COLUMN) is not None


def test_runtime_disagreements_are_highlighted(qtbot, window, monkeypatch):
    view = open_and_wait(qtbot, window, SHAPES_FLOAT)
    real = delegate_bar_module.check_against_runtime

    def one_op_left_on_the_cpu(model, report):
        c = real(model, report)
        return RuntimeComparison(c.delegate, c.delegated - {5}, c.partitions + 1, tuple(
            OpDelegation(op.index, op.opcode, op.predicted, op.delegated and op.index != 5) for op in c.ops))

    monkeypatch.setattr(delegate_bar_module, "check_against_runtime", one_op_left_on_the_cpu)
    choose(qtbot, view, "xnnpack")
    qtbot.waitUntil(view.delegate_bar.runtime_button.isEnabled, timeout=ANALYSIS_TIMEOUT_MS)
    view.delegate_bar.runtime_button.click()
    qtbot.waitUntil(lambda: view.page.runtime is not None, timeout=RUNTIME_TIMEOUT_MS)
    assert "runtime agrees on 11 of 12 ops (91.7%); 1 highlighted" in view.delegate_bar.delegate_status.text()
    cells = column(view, RUNTIME_COLUMN)
    assert cells[5] == "CPU (rules: ✓)" and cells[4] == "delegated"
    backgrounds = column(view, RUNTIME_COLUMN, Qt.ItemDataRole.BackgroundRole)
    assert [i for i, b in backgrounds.items() if b] == [5] and backgrounds[5].color() == DISAGREEMENT_COLOR
    view.select_operator(5)
    assert "ran on the CPU, unlike the rules" in view.detail.info.toPlainText()
    assert "On XNNPACK: ✓ taken by the rules" in view.detail.info.toPlainText()  # a prediction, so named
    # The Overview's runtime row and sentence say what the runtime did, apart from the rules' row.
    qtbot.waitUntil(lambda: RUNTIME_ROW.search(view.overview_html) is not None, timeout=ANALYSIS_TIMEOUT_MS)
    assert RUNTIME_ROW.search(view.overview_html).groups()[:2] == ("11", "12")
    assert summary_rows(view)["xnnpack"][1:3] == ("12", "12")
    assert "Where they differ, the runtime did: #5 " in view.overview_html


RUNTIME_ROW = re.compile(
    r'<tr><td class="muted">↳ runtime \(LiteRT interpreter[^<]*\)</td><td class="num">([\d,]+) / ([\d,]+)</td>'
    r'<td class="num">([^<]+)</td><td>.*?</td>'  # ops %, bar
    r'<td class="num">([^<]+)</td><td>.*?</td>'  # MACs %, bar
    r'<td class="num">([\d,]+)</td></tr>')  # partitions


@needs_shared
def test_after_the_runtime_check_overview_and_bar_show_prediction_and_runtime(qtbot, window):
    """The Overview's XNNPACK row stays the rules' prediction and gains the runtime's row under it
    (ops delegated, MACs, DELEGATE nodes), its reasons say what the runtime did with their ops, and
    the delegate bar names both. The runtime's figures are read here from the interpreter directly."""
    path = shared_model("gh-google-ai-edge-LiteRT/classifier.tflite")
    report = analyze(path, "xnnpack")
    with RuntimeWorker() as worker:
        nodes = worker.default_delegate_nodes(str(path)).delegate_nodes
    with read_model(path) as model:
        delegated = delegated_ops_from_nodes(model.subgraphs[0], nodes)
    assert 1 < len(nodes) and 0 < len(delegated) < report.ops_total  # partitions and CPU ops both shown

    view = open_and_wait(qtbot, window, path)
    wait_for_summary(qtbot, view)
    assert not RUNTIME_ROW.search(view.overview_html)  # nothing claims to be the runtime's before it ran
    choose(qtbot, view, "xnnpack")
    qtbot.waitUntil(view.delegate_bar.runtime_button.isEnabled, timeout=ANALYSIS_TIMEOUT_MS)
    view.delegate_bar.runtime_button.click()
    qtbot.waitUntil(lambda: view.page.runtime is not None, timeout=RUNTIME_TIMEOUT_MS)
    qtbot.waitUntil(lambda: RUNTIME_ROW.search(view.overview_html) is not None, timeout=ANALYSIS_TIMEOUT_MS)

    rows = summary_rows(view)
    assert rows["xnnpack"][1:3] == (f"{report.ops_supported:,}", f"{report.ops_total:,}")
    assert rows["xnnpack"][-1] == f"{report.partitions:,}"  # the prediction, still
    (runtime_row,) = RUNTIME_ROW.findall(view.overview_html)
    macs = {v.index: v.macs for v in report.ops}
    assert runtime_row == (f"{len(delegated):,}", f"{report.ops_total:,}",
                           format_share(len(delegated), report.ops_total),
                           format_share(sum(macs[i] for i in delegated) / sum(macs.values()), 1.0), f"{len(nodes):,}")
    # The XNNPACK row comes first, its runtime row right under it.
    xnnpack_row = view.overview_html.index('href="delegate:xnnpack"')
    assert xnnpack_row < view.overview_html.index("↳ runtime") < view.overview_html.index('href="delegate:nnapi"')
    assert (f"the rules predict {report.ops_supported:,} of {report.ops_total:,} ops in {report.partitions:,} "
            f"partitions; the interpreter delegated {len(delegated):,} in {len(nodes):,} partitions") in view.overview_html
    # Each reason the rules give is followed by what the runtime did with those ops.
    for reason, ops in list(report.fallbacks_by_reason().items())[:5]:
        taken = sum(v.index in delegated for v in ops)
        after = ("runtime: on the CPU too" if taken == 0 else f"runtime: {taken:,} of {len(ops):,} delegated")
        assert f"<td>{escape(reason)}</td><td" in view.overview_html
        assert after in view.overview_html.split(f"<td>{escape(reason)}</td>", 1)[1].split("</tr>", 1)[0]

    status = view.delegate_bar.delegate_status.text()
    assert status.startswith(
        f"XNNPACK takes {report.ops_supported:,} of {report.ops_total:,} ops "
        f"({format_share(report.ops_supported, report.ops_total)}) in {report.partitions:,} partitions by its rules · ")
    assert status.endswith(f"the interpreter's XNNPACK delegated {len(delegated):,} of {report.ops_total:,} ops "
                           f"({format_share(len(delegated), report.ops_total)}) in {len(nodes):,} partitions")
    view.tabs.setCurrentIndex(0)
    shown = view.overview.toPlainText()
    assert "↳ runtime (LiteRT interpreter)" in shown and "runtime: on the CPU too" in shown


@needs_shared
def test_runtime_check_on_a_model_the_interpreter_refuses_shows_its_one_line_message(qtbot, window):
    path = shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant_edgetpu.tflite")
    with RuntimeWorker() as worker, pytest.raises(RuntimeFailure) as refused:
        worker.default_delegate_nodes(str(path))
    message = " ".join(str(refused.value).split())
    assert "edgetpu-custom-op" in message
    view = open_and_wait(qtbot, window, path)
    choose(qtbot, view, "xnnpack")
    qtbot.waitUntil(view.delegate_bar.runtime_button.isEnabled, timeout=ANALYSIS_TIMEOUT_MS)
    view.delegate_bar.runtime_button.click()
    qtbot.waitUntil(lambda: "runtime check failed" in view.delegate_bar.delegate_status.text(), timeout=RUNTIME_TIMEOUT_MS)
    assert view.delegate_bar.delegate_status.text().endswith(f" · runtime check failed: {message}")
    assert window.statusBar().currentMessage() == f"Runtime check failed: {message}"
    assert "\n" not in view.delegate_bar.delegate_status.text() and "Traceback" not in view.delegate_bar.delegate_status.text()
    assert view.page.runtime is None and view.op_model.extra_column(RUNTIME_COLUMN) is None
    assert window.errors == [] and view.delegate_bar.runtime_button.isEnabled()  # no dialog; it can be tried again


@needs_shared
def test_columns_and_filter_follow_the_subgraph(qtbot, window):
    path = shared_model("gh-tulasiram58827-ocr_tflite/ocr_dr.tflite")
    view = open_and_wait(qtbot, window, path)
    choose(qtbot, view, "xnnpack")
    report = analyze(path, "xnnpack")
    view.delegate_bar.fallbacks_only.setChecked(True)
    for sg in (2, 0):
        view.page.set_subgraph(sg)
        assert column(view, DELEGATE_COLUMN) == expected_cells(report, sg)
        assert visible_ops(view) == [v.index for v in report.ops if v.subgraph == sg and not v.supported]


def test_tinted_rows_stay_readable_in_light_and_dark_palettes():
    def blend(tint: QColor, base: QColor) -> QColor:
        a = tint.alphaF()
        mixed = (a * t + (1 - a) * b for t, b in zip(tint.getRgbF()[:3], base.getRgbF()[:3], strict=True))
        return QColor.fromRgbF(*mixed)

    def luminance(c: QColor) -> float:
        def linear(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, b = (linear(v) for v in c.getRgbF()[:3])
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    def contrast(a: QColor, b: QColor) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    for base, text in (("#ffffff", "#000000"), ("#f7f7f7", "#000000"), ("#1e1e1e", "#eeeeee"), ("#2d2d2d", "#ffffff")):
        for tint in (FALLBACK_COLOR, DISAGREEMENT_COLOR):
            assert contrast(blend(tint, QColor(base)), QColor(text)) >= 4.5, (base, tint.name())


def test_percentages_never_round_to_all_or_nothing():
    assert [format_share(2315, 2338), format_share(1, 1), format_share(0, 5), format_share(2337, 2338), format_share(1, 100000),
            format_share(11, 12), format_share(0, 0)] == ["99.0%", "100%", "0%", "99.9%", "0.1%", "91.7%", "—"]


def test_a_broken_rule_table_is_shown_not_hidden(qtbot, window, monkeypatch):
    real = tables.load_rules

    def broken_gpu(name):
        if name == "gpu":
            raise RuleError("rule table gpu.toml: Cannot overwrite a value (at line 4, column 1)")
        return real(name)

    monkeypatch.setattr(tables, "load_rules", broken_gpu)
    view = open_and_wait(qtbot, window, SHAPES_FLOAT)
    wait_for_rules(qtbot, view)
    i = view.delegate_bar.delegate_combo.findData("gpu")
    assert view.delegate_bar.delegate_combo.itemText(i) == "gpu (rule table error)"
    assert not view.delegate_bar.delegate_combo.model().item(i).isEnabled()
    tooltip = view.delegate_bar.delegate_combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
    assert "Cannot overwrite a value (at line 4, column 1)" in tooltip
    assert "not analysed: rule table gpu.toml: Cannot overwrite a value" in view.overview_html
    choose(qtbot, view, "xnnpack")  # the other delegates still work
    assert column(view, DELEGATE_COLUMN) == expected_cells(analyze(SHAPES_FLOAT, "xnnpack"), 0)


@needs_shared
def test_closing_a_tab_while_delegates_are_analysed(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model("gh-tensorflow-tflite-micro/dp_net.tflite"))
    wait_for_rules(qtbot, view)
    window.close_tab(window.tabs.currentIndex())
    # The analysis that was running ends in the background; its result is dropped, not delivered to
    # the closed view (a delivery would raise on its deleted widgets and fail the test here).
    qtbot.waitUntil(lambda: background_pool().activeThreadCount() == 0, timeout=ANALYSIS_TIMEOUT_MS)
    view = open_and_wait(qtbot, window, SHAPES_FLOAT)
    assert choose(qtbot, view, "xnnpack").report.ops_supported == 12


def test_rules_are_read_after_the_model_is_shown(tmp_path):
    """Start-up stays fast: the engine (and pyqtgraph) load only once the model is on screen."""
    result = run_app_script(f"""
        from PySide6.QtCore import QSettings
        from tflite_inspector.gui.main_window import MainWindow


        def main(app):
            w = MainWindow(QSettings("settings.ini", QSettings.Format.IniFormat))
            w.show()
            seen = []
            loaded = lambda: ("tflite_inspector.core.delegates.engine" in sys.modules, "pyqtgraph" in sys.modules)
            w.model_shown.connect(lambda path: seen.append(loaded()))
            w.open_paths([{str(SHAPES_INT8)!r}])
            wait_until(lambda: bool(seen) and w.tabs.currentWidget().page.delegates is not None, 30000)
            assert seen == [(False, False)], seen
    """, tmp_path)
    assert passed(result), result.stderr
