"""The pages' plain models, driven without any widget: the state the Compare page, the quantization
lab and a model's page hold, the rules they apply, and what they tell their widgets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tflite_inspector.core.comparison.inputs import Normalization, preset
from tflite_inspector.core.errors import ConversionError, InputError
from tflite_inspector.core.lab.settings import MIN_CALIBRATION_SAMPLES, Budget
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.gui.compare.model import ComparePage, read_candidate
from tflite_inspector.gui.forms import CUSTOM, SUGGESTED, NormalizationChoice
from tflite_inspector.gui.lab.model import LabPage, default_output_dir
from tflite_inspector.gui.model_page.loading import load_for_display
from tflite_inspector.gui.model_page.model import ModelPage
from tflite_inspector.gui.selection import Place, Selection

from ..conftest import IMAGES, SAMPLES, needs_shared, shared_model

SHAPES_FLOAT, SHAPES_INT8 = SAMPLES / "shapes_float.tflite", SAMPLES / "shapes_int8.tflite"


def test_page_models_import_no_widgets():
    code = ("import sys\n"
            "import tflite_inspector.gui.compare.model, tflite_inspector.gui.lab.model\n"
            "import tflite_inspector.gui.model_page.model, tflite_inspector.gui.selection, tflite_inspector.gui.forms\n"
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6.Qt', 'pyqtgraph'))))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "[]", (result.stdout, result.stderr)


def test_selection_history_goes_back_and_forward_without_recording_the_moves():
    selection, seen = Selection(), []
    selection.changed.connect(seen.append)
    for place in (Place.op(0, 1), Place.tensor(0, 5), Place.op(0, 1)):
        selection.select(place)
    assert selection.can_go_back() and not selection.can_go_forward()
    assert selection.back() == Place.tensor(0, 5) and selection.back() == Place.op(0, 1)
    assert not selection.can_go_back() and selection.forward() == Place.tensor(0, 5)
    selection.select(Place.subgraph_of(2))  # a new place drops what was ahead
    assert not selection.can_go_forward() and selection.back() == Place.tensor(0, 5)
    assert "place" in seen and "history" in seen


@needs_shared
def test_model_page_shows_the_subgraph_of_a_selected_place_before_the_place():
    page = ModelPage(load_for_display(str(shared_model("gh-tulasiram58827-ocr_tflite/ocr_dr.tflite"))))
    order = []
    page.changed.connect(lambda aspect: order.append(aspect))
    page.selection.changed.connect(lambda aspect: order.append(("selection", aspect, page.subgraph_index)))
    page.select(Place.op(2, 0))
    # A view connected after the page model sees the place in its subgraph, already shown.
    assert order.index("subgraph") < order.index(("selection", "place", 2))
    page.selection.back()  # nothing to go back to: one place so far
    page.select(Place.tensor(0, 1))
    assert page.selection.back() == Place.op(2, 0) and page.subgraph_index == 2
    page.set_api_level(27)
    assert page.settings.api_level == 27 and "settings" in order
    page.set_delegate("nnapi")  # before the rule tables are read: remembered, not lost
    assert page.delegate_key is None
    page.model.close()


def test_normalization_choice_holds_values_not_text():
    choice = NormalizationChoice()
    assert choice.chosen() is None and choice.choice == SUGGESTED
    choice.set(preset("signed"))
    assert choice.choice == "signed" and choice.chosen() == preset("signed")
    custom = Normalization((123.675, 116.28, 103.53), (58.395, 57.12, 57.375), "custom", "given")
    choice.set(custom)
    assert choice.choice == CUSTOM and choice.chosen() is custom  # the value itself, never re-parsed
    choice.type_custom("half", "1")
    with pytest.raises(InputError, match="mean: give numbers"):
        choice.chosen()
    choice.type_custom("127.5", "127.5")
    assert choice.chosen().mean == (127.5,)


def test_compare_page_says_why_it_cannot_run_and_builds_the_request():
    reference = read_model(SHAPES_FLOAT)
    page = ComparePage(reference)
    aspects = []
    page.changed.connect(aspects.append)
    assert page.blocker().startswith("Add a candidate")
    page.add_candidate(str(SHAPES_INT8))
    assert page.blocker() == "Reading the candidates…" and not page.add_candidate(str(SHAPES_INT8))
    model, problem = read_candidate(str(SHAPES_INT8), reference)
    assert page.candidate_read(str(SHAPES_INT8), model, problem) and problem == ""
    assert page.blocker().startswith("Add images")
    # The int8 candidate's input range tells the suggested normalization (0-255 here).
    assert page.suggestion.name == "raw" and "shapes_int8" in page.suggestion.source
    page.set_random(4)
    assert page.blocker() == ""
    page.normalization.choose(CUSTOM)
    page.normalization.type_custom("x", "1")
    assert page.blocker().startswith("mean: give numbers")
    page.set_normalization(None)
    request = page.request()
    assert request.candidates == (str(SHAPES_INT8),) and request.random_count == 4
    assert request.normalization == page.suggestion
    assert {"candidates", "inputs", "normalization"} <= set(aspects)
    page.close()
    reference.close()


def test_lab_page_settings_warnings_and_budget(tmp_path):
    page = LabPage()
    assert page.blocker().startswith("Choose a source model")
    page.set_source(str(SHAPES_FLOAT))
    assert page.kind == "tflite" and page.output_dir == default_output_dir(str(SHAPES_FLOAT))
    page.set_output_dir(str(tmp_path))
    page.set_source(str(SHAPES_FLOAT))  # the chosen output folder stays
    assert page.output_dir == str(tmp_path)
    for mode in list(page.modes):
        page.set_mode(mode, False)
    with pytest.raises(ConversionError, match="at least one mode"):
        page.settings()
    page.set_mode("int8", True)
    # Before a run, the words core uses after it: too few calibration files, then random data.
    page.add_calibration([str(SAMPLES)])
    assert any(f"only 3 calibration inputs; {MIN_CALIBRATION_SAMPLES}" in w for w in page.banner_lines())
    page.set_random(12)
    assert any("12 RANDOM inputs" in w for w in page.banner_lines())
    settings = page.settings()
    assert settings.modes == ("int8",) and settings.random_count == 12 and settings.output_dir == str(tmp_path)
    page.set_budget(Budget(max_size_bytes=1000))
    assert page.settings().budget == Budget(max_size_bytes=1000) and page.result is None  # nothing to re-mark yet
    page.load(settings)
    assert page.budget == Budget() and page.modes == {"int8"} and page.random_count == 12


def test_input_folder_counts_only_images_and_arrays():
    page = LabPage()
    page.set_source(str(SHAPES_FLOAT))
    page.set_mode("int8", True)
    page.add_calibration([str(IMAGES)] if IMAGES.is_dir() else [str(SAMPLES)])
    warnings = " ".join(page.form_warnings())
    assert "calibration inputs" in warnings
