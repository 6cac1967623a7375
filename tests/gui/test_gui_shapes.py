"""The Overview's input-shape field: Resolve shapes runs the interpreter in the page's worker and
the figures follow the shapes it reports."""

from __future__ import annotations

import numpy as np

from ..graph_builder import GraphBuilder
from ..test_dynamic_shapes import dynamic_conv_model
from .conftest import SAMPLE, open_and_wait

RESOLVE_TIMEOUT_MS = 60_000


def test_resolve_shapes_on_the_overview(qtbot, window, tmp_path):
    view = open_and_wait(qtbot, window, dynamic_conv_model(tmp_path / "conv.tflite"))
    bar = view.shape_bar
    assert bar is not None and [edit.text() for edit in bar.fields] == ["1,?,?,3"]
    text = view.overview.toPlainText()
    assert "≥ 248" in text and "x [1,-1,-1,3]" in text and "Resolve shapes" in text
    assert view._op_macs() is None  # the delegates' MACs shares: the verdicts' own, static

    bar.fields[0].setText("1,0,12,3")  # one clear message, nothing run
    assert bar.resolve()
    qtbot.waitUntil(lambda: not bar.runs.running, timeout=RESOLVE_TIMEOUT_MS)
    assert "dimension 1 must be at least 1" in bar.run_bar.status.text()
    assert "≥ 248" in view.overview.toPlainText()

    bar.fields[0].setText("1,10,12,3")
    assert bar.resolve()
    qtbot.waitUntil(lambda: not bar.runs.running, timeout=RESOLVE_TIMEOUT_MS)
    assert view.loaded.stats.resolved is not None, bar.run_bar.status.text()
    text = view.overview.toPlainText()
    # By hand: 8×10 positions × 8 filters × 27, and 4×8 for the fully connected layer.
    assert "17,312" in text and "≥" not in text and "x=1,10,12,3" in text
    assert view.loaded.stats.macs == 17312
    assert "Resolved at x=1,10,12,3" in bar.run_bar.status.text()
    conv = next(op.index for op in view.model.subgraphs[0].operators if op.opcode == "CONV_2D")
    assert view.loaded.rows_for(0)[0][conv].sort_keys[6] == 8 * 10 * 8 * 27  # the Operators tab's MACs
    # The delegate table's "MACs taken" shares count each op at the resolved shapes too.
    qtbot.waitUntil(lambda: view.page.delegates is not None, timeout=RESOLVE_TIMEOUT_MS)
    key = view.page.analysis_key(view.page.info("xnnpack"))
    qtbot.waitUntil(lambda: view.reports.state(key) is not None, timeout=RESOLVE_TIMEOUT_MS)
    verdict = next(v for v in view.reports.state(key).report.ops if v.index == conv)
    assert verdict.macs == 8 * 27 and view._op_macs()(verdict) == 8 * 10 * 8 * 27


def test_batch_only_dynamic_model_offers_batch_1(qtbot, window):
    view = open_and_wait(qtbot, window, SAMPLE)  # [-1,32,32,3]: the batch is the one −1
    assert view.shape_bar is not None and [edit.text() for edit in view.shape_bar.fields] == ["1,32,32,3"]
    # A −1 batch alone counts as 1 (figures are per sample): no lower bound before resolving.
    assert "567.86k" in view.overview.toPlainText() and "≥" not in view.overview.toPlainText()
    assert view.shape_bar.resolve()
    qtbot.waitUntil(lambda: not view.shape_bar.runs.running, timeout=RESOLVE_TIMEOUT_MS)
    text = view.overview.toPlainText()
    assert "567.86k" in text and "≥" not in text


def test_models_with_fixed_shapes_have_no_shape_field(qtbot, window, tmp_path):
    b = GraphBuilder()
    x = b.tensor("x", [1, 4])
    y = b.tensor("y", [1, 2])
    b.op("FULLY_CONNECTED", [x, b.constant("w", np.ones((2, 4), np.float32)), -1], [y])
    path = tmp_path / "fixed.tflite"
    path.write_bytes(b.build(inputs=[x], outputs=[y]))
    view = open_and_wait(qtbot, window, path)
    assert view.shape_bar is None
    text = view.overview.toPlainText()
    assert "MACs\n8 (8) at static shapes" in text and "≥" not in text
