"""A model with two signatures in the app (pytest-qt, real widgets offscreen): the Compare page's
Signature box, the lab's, and the lab handing its choice to Compare. The models come from
TensorFlow's converter in its own process (tests/signature_models.py); core's numbers for them are
checked against the interpreter's SignatureRunner in tests/test_signatures.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tflite_inspector.gui.compare.view import CompareView
from tflite_inspector.gui.model_page.view import COMPARE_TAB, ModelView
from tflite_inspector.gui.selection import Place

from ..signature_models import build_in_subprocess
from .conftest import open_and_wait

RUN_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return build_in_subprocess(tmp_path_factory.mktemp("gui_signatures"))


def run_and_wait(qtbot, page: CompareView) -> None:
    qtbot.waitUntil(page.run_button.isEnabled, timeout=RUN_TIMEOUT_MS)
    page.run_button.click()
    qtbot.waitUntil(lambda: not page.running, timeout=RUN_TIMEOUT_MS)


def test_compare_page_runs_the_signature_chosen_and_selects_in_its_subgraph(qtbot, window, models):
    view = open_and_wait(qtbot, window, models / "two_float.tflite")
    page = view.show_compare()
    combo = page.setup.signature_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["decode", "encode"]
    assert combo.isVisibleTo(page) and combo.currentText() == "decode"  # the first: no serving_default
    assert re.search(r"decode_vector:0: FLOAT32 \[1, ?16\]", page.setup.reference_inputs_label.text())
    assert not page.setup.preprocessing.normalization_combo.isEnabled()  # a vector is no image
    combo.setCurrentIndex(combo.findData("encode"))
    assert page.page.signature == "encode"
    assert "NHWC image 24×24 RGB" in page.setup.reference_inputs_label.text()
    assert page.setup.preprocessing.normalization_combo.isEnabled()
    page.add_candidates([str(models / "two_int8.tflite")])
    page.set_up([], random_count=3)
    qtbot.waitUntil(lambda: "two_int8.tflite: encode_image:0" in page.setup.candidate_inputs_label.text(),
                    timeout=RUN_TIMEOUT_MS)
    run_and_wait(qtbot, page)
    comparison = page.run_result.comparison
    assert page.page.messages() == [] and comparison.signature == "encode" and comparison.subgraph == 1
    candidate = page.page.candidate
    assert {layer.op for layer in candidate.layers} >= {"CONV_2D", "MAX_POOL_2D", "MEAN", "SOFTMAX"}
    # A layer picked on the Compare page is selected in the signature's subgraph, and its values
    # come from that subgraph's tensors.
    position = next(i for i, layer in enumerate(candidate.layers) if layer.op == "MEAN")
    table = page.layers.layer_table
    table.setCurrentIndex(page.layers.layer_model.index(page.layers.layer_model.row_of(position), 0))
    layer = page.page.selected_layer
    assert layer is candidate.layers[position]
    assert view.page.selection.place == Place.op(1, layer.op_index)
    assert view.tabs.currentIndex() == COMPARE_TAB
    qtbot.waitUntil(lambda: "values" in page.layers.tensor_info.text() and "Reading" not in page.layers.tensor_info.text(),
                    timeout=RUN_TIMEOUT_MS)
    data = page.layers.shown_values
    assert data is not None and data.size == 16 and data.finite == 16  # MEAN's [1, 16] output


def test_the_lab_offers_the_signatures_and_hands_its_choice_to_compare(qtbot, window, models, tmp_path):
    source = str(models / "two_float.tflite")
    lab = window.open_quantization_lab(source)
    combo = lab.setup.signature_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["decode", "encode"]
    assert combo.isVisibleTo(lab) and combo.currentText() == "decode"
    combo.setCurrentIndex(combo.findData("encode"))
    assert lab.page.signature == "encode"
    for key, check in lab.setup.mode_checks.items():
        if check.isEnabled():
            check.setChecked(key in ("dynamic", "weight-int8"))
    lab.page.set_random(4)
    lab.setup.runs_spin.setValue(3)
    lab.set_output_dir(str(tmp_path / "variants"))
    qtbot.waitUntil(lab.run_button.isEnabled, timeout=RUN_TIMEOUT_MS)
    lab.run_button.click()
    qtbot.waitUntil(lambda: not lab.running, timeout=RUN_TIMEOUT_MS)
    result = lab.result
    assert result.signature == "encode" and result.signature_subgraph == 1
    assert result.variant("dynamic").error is None and result.variant("dynamic").output_sqnr_db is not None
    lab.select_modes(["float32", "dynamic"])
    lab.compare_selected()
    qtbot.waitUntil(lambda: isinstance(window.tabs.currentWidget(), ModelView)
                    and window.tabs.currentWidget().model.path == source, timeout=RUN_TIMEOUT_MS)
    view = window.tabs.currentWidget()
    assert view.tabs.currentIndex() == COMPARE_TAB
    compare = view.compare_page
    assert compare.page.signature == "encode" and compare.setup.signature_combo.currentText() == "encode"
    qtbot.waitUntil(lambda: compare.run_result is not None and not compare.running, timeout=RUN_TIMEOUT_MS)
    assert compare.run_result.comparison.signature == "encode"
