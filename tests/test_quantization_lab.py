"""The quantization lab: every mode from a real float .tflite and from a Keras model built here,
produced by the real quantizer and converter (in their worker process), loaded and run by the
real interpreter; dtypes, sizes, calibration, unchanged models, the budget, files never
overwritten, re-runs, and the CLI.

The Keras models are built by a child Python, so TensorFlow never loads into the test process
(the app's tests check that the app does not import it).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from tflite_inspector.core.errors import ConversionError, RuntimeFailure
from tflite_inspector.core.lab.budget import apply_budget
from tflite_inspector.core.lab.modes import parse_modes, source_kind
from tflite_inspector.core.lab.keep_float import resolve
from tflite_inspector.core.lab.output import format_lab_text, not_full_integer_text
from tflite_inspector.core.lab.results import lab_dict, lab_result_from_dict
from tflite_inspector.core.lab.run import run_lab
from tflite_inspector.core.lab.settings import (
    MIN_CALIBRATION_SAMPLES,
    Budget,
    LabSettings,
    existing_outputs,
    load_settings,
)
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.core.runtime.conversion import ConversionWorker
from tflite_inspector.core.runtime.interpreter import RuntimeWorker
from tflite_inspector.main import main

from .conftest import EDGE_CASES, IMAGES, needs_shared, shared_model

VWW_FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
ALL_TFLITE_MODES = ("float16", "dynamic", "weight-int8", "weight-int4", "int8", "int16x8")


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    # Keras writes its configuration under KERAS_HOME (~/.keras by default): here, in pytest's
    # temporary folder, for the converter's process and the child Pythons that build models.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
        with RuntimeWorker(timeout_s=120) as runtime, ConversionWorker(timeout_s=600) as converter:
            yield runtime, converter


def _dtypes(path: str) -> tuple[set[str], set[str], dict[str, str]]:
    """(constant dtypes, activation dtypes, input dtype by name) of subgraph 0."""
    with read_model(path) as model:
        sg = model.main_subgraph
        constants = {t.dtype for t in sg.tensors if t.is_constant}
        activations = {t.dtype for t in sg.tensors if not t.is_constant}
        inputs = {sg.tensors[i].name: sg.tensors[i].dtype for i in sg.inputs}
    return constants, activations, inputs


@pytest.fixture(scope="module")
def vww_lab(workers, tmp_path_factory):
    source = shared_model(VWW_FLOAT)
    out = tmp_path_factory.mktemp("vww_lab")
    settings = LabSettings(str(source), str(out), ALL_TFLITE_MODES, calibration=(str(IMAGES),), runs=5)
    steps = []
    result = run_lab(settings, *workers, progress=lambda done, total, message: steps.append((done, total, message)))
    return settings, result, steps


@needs_shared
def test_every_mode_of_a_float_tflite_loads_and_has_the_dtypes_its_mode_means(vww_lab):
    settings, result, _ = vww_lab
    assert [v.mode for v in result.variants] == ["float32", *ALL_TFLITE_MODES]
    assert all(v.error is None and v.unchanged is None for v in result.variants), [v.error for v in result.variants]
    by_mode = {v.mode: v for v in result.variants}
    for mode in ALL_TFLITE_MODES:
        v = by_mode[mode]
        assert v.path == os.path.join(settings.output_dir, f"vww_96_float_{mode}.tflite")
        # Latency comes from the interpreter with XNNPACK: the variant loaded and ran.
        assert v.latency is not None and v.latency.runs == 5 and v.latency.median_ms > 0, v.latency_error
        assert v.evaluation_error is None
    constants = {m: _dtypes(by_mode[m].path)[0] for m in ALL_TFLITE_MODES}
    activations = {m: _dtypes(by_mode[m].path)[1] for m in ALL_TFLITE_MODES}
    assert "FLOAT16" in constants["float16"] and "INT8" not in constants["float16"]
    assert "INT8" in constants["dynamic"] and activations["dynamic"] <= {"FLOAT32", "INT32"}
    assert "INT8" in constants["weight-int8"] and "FLOAT32" in activations["weight-int8"]
    assert "INT4" in constants["weight-int4"]
    assert "INT8" in activations["int8"]
    assert "INT16" in activations["int16x8"] and "INT8" in constants["int16x8"]


@needs_shared
def test_sizes_shrink_as_each_mode_promises(vww_lab):
    _, result, _ = vww_lab
    size = {v.mode: v.size_bytes for v in result.variants}
    assert size["float32"] == os.path.getsize(shared_model(VWW_FLOAT))
    assert 0.45 < size["float16"] / size["float32"] < 0.6  # half the weights' bytes, plus the graph
    for mode in ("dynamic", "weight-int8", "int8", "int16x8"):
        assert 0.25 < size[mode] / size["float32"] < 0.4, mode
    assert size["weight-int4"] < 0.8 * size["weight-int8"]
    data = lab_dict(result)
    assert data["variants"][1]["size_ratio"] == pytest.approx(size["float16"] / size["float32"])


@needs_shared
def test_calibration_on_the_shared_photos_and_its_warning(vww_lab):
    _, result, steps = vww_lab
    images = [p for p in IMAGES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp")]
    assert result.calibration_count == len(images) == result.evaluation_count
    assert not result.random_inputs and not any(v.calibrated_on_random for v in result.variants)
    assert len(images) < MIN_CALIBRATION_SAMPLES
    assert any(f"only {len(images)} calibration inputs" in w for w in result.warnings)
    by_mode = {v.mode: v for v in result.variants}
    # vww is a 2-class person detector: every mode keeps most decisions on the photos.
    for mode in ALL_TFLITE_MODES:
        assert by_mode[mode].top1_agreement >= 0.75, mode
        assert by_mode[mode].worst_layer is not None
    assert by_mode["float16"].output_sqnr_db > by_mode["int8"].output_sqnr_db > 10
    # Progress: one message per step, ending with every step done.
    assert steps[-1][0] == steps[-1][1] and any("int8: quantizing" in m for _, _, m in steps)


@needs_shared
def test_delegate_coverage_per_variant(vww_lab):
    _, result, _ = vww_lab
    by_mode = {v.mode: v for v in result.variants}
    assert by_mode["int8"].coverage("edgetpu").ops_supported > 0  # Edge TPU takes integer ops only
    assert by_mode["float32"].coverage("edgetpu").ops_supported == 0
    assert by_mode["float32"].coverage("xnnpack").whole_model


@needs_shared
def test_budget_marks_what_fits_and_recommends_the_smallest_error(vww_lab):
    _, result, _ = vww_lab
    by_mode = {v.mode: v for v in result.variants}
    limit = (by_mode["float16"].size_bytes + by_mode["int8"].size_bytes) // 2
    marked, best, reason = apply_budget(result.variants, Budget(max_size_bytes=limit))
    fits = {v.mode: v.fits for v in marked}
    assert fits["float16"] is False and fits["float32"] is False and fits["int8"] is True
    assert any("size" in r for r in next(v for v in marked if v.mode == "float16").ruled_out)
    fitting = [v for v in marked if v.fits and not v.is_reference]
    best_variant = next(v for v in marked if v.mode == best)
    assert best_variant.fits and max((v.top1_agreement, v.output_sqnr_db) for v in fitting) == (
        best_variant.top1_agreement, best_variant.output_sqnr_db)
    assert "float16 weights" in reason and "Ruled out" in reason
    # Edge TPU must take every op: only full-integer int8 can.
    marked, best, _ = apply_budget(result.variants, Budget(whole_model_delegate="edgetpu"))
    assert best == ("int8" if by_mode["int8"].coverage("edgetpu").whole_model else None)
    assert all(not v.fits for v in marked if v.mode in ("float16", "dynamic", "weight-int8"))
    # A budget nothing meets: no recommendation, and says so.
    marked, best, reason = apply_budget(result.variants, Budget(max_size_bytes=1000))
    assert best is None and "no quantized variant fits" in reason


def _measured_variant(mode: str, size: int, top1: float | None, sqnr: float | None):
    from tflite_inspector.core.lab.results import VariantResult

    return VariantResult(mode, mode, f"/x/{mode}.tflite", size_bytes=size, top1_agreement=top1, output_sqnr_db=sqnr)


def test_without_a_budget_the_smallest_variant_within_the_default_tolerances_is_recommended():
    from tflite_inspector.core.lab.budget import DEFAULT_MIN_OUTPUT_SQNR_DB, DEFAULT_MIN_TOP1_AGREEMENT

    reference = replace(_measured_variant("float32", 1000, 1.0, math.inf), is_reference=True)
    variants = [reference, _measured_variant("float16", 500, 1.0, 60.0), _measured_variant("dynamic", 260, 1.0, 38.0),
                _measured_variant("int8", 250, 1.0, 31.0), _measured_variant("weight-int4", 140, 0.9, 22.0)]
    _, best, reason = apply_budget(variants, Budget())
    # int4 is smallest but out of tolerance (top-1 90%, 22 dB); int8 is the smallest within them,
    # though float16 has the smallest error (the old rule's choice).
    assert best == "int8" and "within the default tolerances" in reason
    assert f"{DEFAULT_MIN_OUTPUT_SQNR_DB:g} dB" in reason and f"{DEFAULT_MIN_TOP1_AGREEMENT:.0%}" in reason
    # Nothing within them: the smallest error, saying so.
    worse = [reference, _measured_variant("int8", 250, 0.5, 12.0), _measured_variant("dynamic", 260, 0.8, 18.0)]
    _, best, reason = apply_budget(worse, Budget())
    assert best == "dynamic" and reason.startswith("dynamic: no variant is within the default tolerances")
    # Nothing measured: no recommendation, and why.
    _, best, reason = apply_budget([reference, _measured_variant("int8", 250, None, None)], Budget())
    assert best is None and "measured" in reason


@needs_shared
def test_existing_files_are_never_replaced_without_asking(vww_lab, workers):
    settings, _, _ = vww_lab
    existing = existing_outputs(settings)
    assert len(existing) == len(ALL_TFLITE_MODES) + 1  # the variants and the saved settings
    target = Path(settings.output_dir) / "vww_96_float_dynamic.tflite"
    before = (target.read_bytes(), target.stat().st_mtime_ns)
    again = run_lab(replace(settings, modes=("dynamic",)), *workers, overwrite=False)
    assert again.variant("dynamic").error and "exists" in again.variant("dynamic").error
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before
    assert not [p for p in os.listdir(settings.output_dir) if p.endswith(".partial")]
    # The CLI refuses before doing any work, naming the files.
    code = main(["quantize", settings.source, "--modes", "dynamic", "--calibration", str(IMAGES),
                 "-o", settings.output_dir])
    assert code == 2 and target.stat().st_mtime_ns == before[1]


@needs_shared
def test_a_run_is_redone_from_its_saved_settings(vww_lab, workers, tmp_path):
    settings, result, _ = vww_lab
    saved = load_settings(result.settings_file)
    assert saved.modes == settings.modes and saved.runs == 5
    assert saved.source == os.path.abspath(settings.source) and saved.calibration == (os.path.abspath(IMAGES),)
    data = json.loads(Path(result.settings_file).read_text())
    assert data["variants"][0]["mode"] == "float32"  # the results are saved with the settings
    rerun = run_lab(replace(saved, modes=("int8",), output_dir=str(tmp_path)), *workers)
    assert rerun.variant("int8").usable and rerun.calibration_count == result.calibration_count
    with pytest.raises(ConversionError):
        load_settings(str(shared_model(VWW_FLOAT)))  # not a settings file: one message


@needs_shared
def test_random_calibration_only_when_asked_and_marked(workers, tmp_path):
    source = shared_model(VWW_FLOAT)
    settings = LabSettings(str(source), str(tmp_path), ("dynamic", "int8"), random_count=8, runs=3)
    result = run_lab(settings, *workers)
    assert result.random_inputs and result.calibration_count == 8
    assert result.variant("int8").calibrated_on_random and not result.variant("dynamic").calibrated_on_random
    assert any("RANDOM" in w for w in result.warnings)
    assert lab_dict(result)["variants"][2]["calibrated_on_random"] is True
    # Without inputs and without asking for random ones, calibrated modes fail with a reason.
    none = run_lab(replace(settings, random_count=0, output_dir=str(tmp_path / "none")), *workers)
    assert "calibration" in none.variant("int8").error
    assert none.variant("dynamic").usable and none.variant("dynamic").top1_agreement is None


@needs_shared
def test_cancel_between_steps_stops_before_the_next_one(workers, tmp_path):
    """A cancel that lands while no request is under way (here: as the first variant's file is
    written) stops the run before its timing step, keeping only what finished."""
    source = shared_model(VWW_FLOAT)
    settings = LabSettings(str(source), str(tmp_path), ("dynamic", "float16"), random_count=4, runs=3)
    messages: list[str] = []
    result = run_lab(settings, *workers, progress=lambda done, total, message: messages.append(message),
                     cancelled=lambda: any(m.startswith("dynamic: quantizing") for m in messages))
    assert result.cancelled
    assert [v.mode for v in result.variants] == ["float32"]
    assert not any("timing" in m or "comparing" in m for m in messages if m.startswith("dynamic"))
    assert "float16: quantizing" not in messages


@needs_shared
def test_old_operator_codes_no_longer_make_the_quantizer_skip_the_model(workers, tmp_path):
    # This 2018 MobileNet keeps its ops in deprecated_builtin_code only; ai-edge-quantizer 0.10
    # reads builtin_code (0 = ADD) and silently returns the model unchanged.
    source = shared_model("gh-tensorflow-tflite-support/mobilenet_v1_0.25_224_1_metadata_1.tflite")
    settings = LabSettings(str(source), str(tmp_path), ("dynamic",), calibration=(str(IMAGES),), limit=4, runs=3)
    v = run_lab(settings, *workers).variant("dynamic")
    assert v.usable and any("operator codes" in n for n in v.notes)
    assert "INT8" in _dtypes(v.path)[0]
    with read_model(v.path) as model:  # the label file attached to the source is still there
        assert [f.name for f in model.associated_files] == ["labels.txt"]
    assert v.top1_agreement is not None  # a classifier, labelled from the metadata


@needs_shared
def test_a_mode_that_changes_nothing_is_reported_with_its_reason(workers, tmp_path):
    # Lyra's quantizer is gathers over float tables: no op whose weights float16 casting handles.
    source = shared_model("gh-google-lyra/quantizer.tflite")
    settings = LabSettings(str(source), str(tmp_path), ("float16",), runs=3)
    result = run_lab(settings, *workers)
    v = result.variant("float16")
    assert v.unchanged and "none of these ops" in v.unchanged and not v.usable and v.path is None
    assert not (tmp_path / "quantizer_float16.tflite").exists()
    assert result.recommendation is None


def test_sources_and_modes_are_checked_before_any_work(tmp_path):
    (tmp_path / "m.keras").touch()
    assert source_kind(str(tmp_path / "m.keras")) == "keras"
    (tmp_path / "m.tflite").touch()
    assert source_kind(str(tmp_path / "m.tflite")) == "tflite"
    with pytest.raises(ConversionError, match="no such file"):
        source_kind(str(tmp_path / "missing.tflite"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ConversionError, match="not a .tflite"):
        source_kind(str(tmp_path / "notes.txt"))
    with pytest.raises(ConversionError, match="without saved_model.pb"):
        source_kind(str(tmp_path))
    with pytest.raises(ConversionError, match="unknown mode"):
        parse_modes("int8,int3")
    with pytest.raises(ConversionError, match="float32"):
        parse_modes("float32", "tflite")


@needs_shared
def test_a_malformed_source_gives_one_message(workers, tmp_path, capsys):
    bad = EDGE_CASES / "tflm_fuzz_valid_small.tflite"
    if not bad.is_file():
        pytest.skip(f"{bad} is not available")
    code = main(["quantize", str(bad), "--modes", "dynamic", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("error:") == 1


# --- TensorFlow sources: a Keras model built by a child Python -------------------------------

_BUILD_KERAS = textwrap.dedent("""
    import sys
    import keras
    keras.utils.set_random_seed(0)
    tiny = sys.argv[2] == "tiny"
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4 if tiny else 16, 3, activation="relu")(inputs)
    if not tiny:
        x = keras.layers.Conv2D(32, 3, activation="relu")(x)  # 4,608 weights: over the converter's 1,024
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(10)(x)
    outputs = keras.layers.Softmax()(x)
    keras.Model(inputs, outputs).save(sys.argv[1])
""")


def _keras_model(path: Path, kind: str = "small") -> Path:
    subprocess.run([sys.executable, "-c", _BUILD_KERAS, str(path), kind], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    return path


@needs_shared
def test_every_mode_of_a_keras_model(workers, tmp_path):
    source = _keras_model(tmp_path / "small.keras")
    modes = ("float16", "dynamic", "weight-int8", "int8", "int16x8")
    settings = LabSettings(str(source), str(tmp_path / "out"), modes, calibration=(str(IMAGES),), int8_io="uint8",
                           runs=3)
    result = run_lab(settings, *workers)
    assert result.source_kind == "keras"
    reference = result.reference
    assert reference.path == str(tmp_path / "out" / "small_float32.tflite") and reference.is_reference
    assert all(v.usable for v in result.variants), [(v.mode, v.error, v.unchanged) for v in result.variants]
    by_mode = {v.mode: v for v in result.variants}
    assert "FLOAT16" in _dtypes(by_mode["float16"].path)[0]
    assert "INT8" in _dtypes(by_mode["dynamic"].path)[0]
    constants, activations, inputs = _dtypes(by_mode["int8"].path)
    assert "INT8" in activations and set(inputs.values()) == {"UINT8"}  # the user's choice of input type
    assert "INT16" in _dtypes(by_mode["int16x8"].path)[1]
    assert any("ai-edge-quantizer" in n for n in by_mode["weight-int8"].notes)
    for mode in modes:
        assert by_mode[mode].size_bytes < reference.size_bytes, mode
        assert by_mode[mode].top1_agreement is not None and by_mode[mode].latency is not None


@needs_shared
def test_the_converter_skipping_small_weights_is_reported_as_unchanged(workers, tmp_path):
    source = _keras_model(tmp_path / "tiny.h5", "tiny")
    settings = LabSettings(str(source), str(tmp_path / "out"), ("dynamic",), runs=3)
    v = run_lab(settings, *workers).variant("dynamic")
    assert v.unchanged and "1,024" in v.unchanged and not v.usable


def test_a_conversion_failure_shows_the_converters_message_and_what_to_do(workers, tmp_path):
    # A SavedModel whose only op has no TFLite builtin kernel (it needs Select TF ops).
    script = textwrap.dedent("""
        import sys, tensorflow as tf
        class M(tf.Module):
            @tf.function(input_signature=[tf.TensorSpec([4, 4], tf.float32)])
            def __call__(self, x):
                return tf.linalg.svd(x, compute_uv=False)
        tf.saved_model.save(M(), sys.argv[1])
    """)
    saved = tmp_path / "svd_model"
    subprocess.run([sys.executable, "-c", script, str(saved)], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    with pytest.raises(RuntimeFailure) as failure:
        run_lab(LabSettings(str(saved), str(tmp_path / "out"), ("dynamic",), runs=3), *workers)
    message = str(failure.value)
    assert "float32 conversion failed" in message and "Select TF ops" in message


def test_the_cli_json_has_the_issues_fields_and_tensorflow_stays_out_of_the_parent(tmp_path):
    source = shared_model(VWW_FLOAT)
    out = tmp_path / "out"
    # A child Python runs the CLI and reports whether TensorFlow was imported in its process.
    script = textwrap.dedent("""
        import json, sys
        from tflite_inspector.main import main
        code = main(sys.argv[1:])
        print(json.dumps({"code": code, "tensorflow": "tensorflow" in sys.modules}), file=sys.stderr)
    """)
    run = subprocess.run(
        [sys.executable, "-c", script, "quantize", str(source), "--modes", "dynamic,int8", "--calibration",
         str(IMAGES), "-o", str(out), "--runs", "3", "--max-size", "400kB", "--json"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
    )
    status = json.loads(run.stderr.strip().splitlines()[-1])
    assert status == {"code": 0, "tensorflow": False}, run.stderr[-2000:]
    data = json.loads(run.stdout)
    assert data["source"] == str(source)
    assert [v["mode"] for v in data["variants"]] == ["float32", "dynamic", "int8"]
    for v in data["variants"]:
        assert set(v) >= {"mode", "path", "size_bytes", "latency_ms", "top1_agreement", "output_sqnr_db", "error"}
        assert v["error"] is None and set(v["latency_ms"]) >= {"median", "p90"}
    assert data["variants"][0]["fits_budget"] is False and data["recommendation"] in ("dynamic", "int8")


# --- what each mode really did -----------------------------------------------------------------

_BUILD_PRELU = textwrap.dedent("""
    import sys
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = inputs
    for filters in (8, 16, 16):
        x = keras.layers.Conv2D(filters, 3, padding="same")(x)
        x = keras.layers.PReLU(shared_axes=[1, 2])(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4)(x)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, outputs))
    open(sys.argv[1], "wb").write(converter.convert())
""")


def test_a_full_integer_variant_that_keeps_prelu_in_float_is_flagged(workers, tmp_path):
    """ai-edge-quantizer's int8 recipe leaves PRELU in float: the variant is flagged, with counts
    read back from the variant file itself."""
    source = tmp_path / "prelu.tflite"
    subprocess.run([sys.executable, "-c", _BUILD_PRELU, str(source)], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    settings = LabSettings(str(source), str(tmp_path / "out"), ("int8", "dynamic"), random_count=4, runs=3)
    result = run_lab(settings, *workers)
    int8 = result.variant("int8")
    assert int8.usable, (int8.error, int8.unchanged)
    with read_model(int8.path) as model:
        ops = model.main_subgraph.operators
        tensors = model.main_subgraph.tensors
        prelus = [op for op in ops if op.opcode == "PRELU"]
        float_prelus = [op for op in prelus if tensors[op.outputs[0]].dtype == "FLOAT32"]
        conversions = sum(op.opcode in ("QUANTIZE", "DEQUANTIZE") and not all(tensors[i].is_constant for i in op.inputs)
                          for op in ops)
    precision = int8.precision
    assert len(float_prelus) == len(prelus) == 3, "the premise: ai-edge-quantizer leaves PRELU in float"
    assert precision.float_ops.get("PRELU") == 3
    assert sum(precision.conversions.values()) == conversions > 0
    assert not precision.full_integer and int8.not_full_integer
    text = format_lab_text(result)
    assert "[NOT full-integer]" in text and "3 PRELU" in text
    entry = next(v for v in lab_dict(result)["variants"] if v["mode"] == "int8")
    assert entry["full_integer"] is False and entry["float_ops"]["PRELU"] == 3
    assert sum(entry["ops_by_dtype"].values()) + sum(entry["conversion_ops"].values()) <= len(ops)
    # The reference is all float, and a dynamic-range variant is not judged as an integer mode.
    assert result.reference.precision.float_op_count > 0 and not result.variant("dynamic").not_full_integer
    # Read back from the saved results, the flag and counts are the same.
    again = lab_result_from_dict(json.loads(json.dumps(lab_dict(result)))).variant("int8")
    assert again.precision == precision and again.not_full_integer


def test_a_variant_slower_than_float_says_so_and_why():
    from tflite_inspector.core.lab.contents import OpPrecision
    from tflite_inspector.core.lab.results import DelegateCoverage, MeasuredLatency, slowdown

    float_ops = OpPrecision({"float32": 63}, {}, {"CONV_2D": 63}, 0)
    reference = replace(_measured_variant("float32", 1000, 1.0, math.inf), is_reference=True,
                        latency=MeasuredLatency(10.0, 11.0, 20, 1, 1), precision=float_ops,
                        delegates=(DelegateCoverage("xnnpack", 63, 63, 1),))
    # The PRELU case of the issue: 13 float islands behind 26 conversions, 1.6× slower.
    islands = OpPrecision({"int8": 63, "float32": 13}, {"QUANTIZE": 13, "DEQUANTIZE": 13}, {"PRELU": 13}, 63)
    int8 = replace(_measured_variant("int8", 300, 1.0, 30.0), latency=MeasuredLatency(16.0, 17.0, 20, 1, 14),
                   precision=islands, delegates=(DelegateCoverage("xnnpack", 89, 89, 14),))
    text = slowdown(int8, reference)
    assert text.startswith("1.60× slower than float32") and "26 QUANTIZE/DEQUANTIZE/CAST ops inserted" in text
    assert "14 partitions (float32: 1)" in text
    # Within timing noise, or faster: nothing said.
    assert slowdown(replace(int8, latency=MeasuredLatency(10.5, 11.0, 20, 1, 1)), reference) is None
    # int16x8 without fast kernels, and XNNPACK refusing ops.
    int16 = replace(_measured_variant("int16x8", 400, 1.0, 50.0), latency=MeasuredLatency(80.0, 90.0, 5, 1, 1),
                    precision=OpPrecision({"int16": 63}, {}, {}, 63),
                    delegates=(DelegateCoverage("xnnpack", 0, 63, 0),))
    text = slowdown(int16, reference)
    assert "8.00× slower" in text and "no int16-activation kernels" in text and "leaves 63 of 63 ops" in text


def test_the_runtimes_info_lines_stay_off_the_terminal_unless_debugging(tmp_path):
    sample = Path(__file__).resolve().parent.parent / "resources" / "samples" / "shapes_float.tflite"
    command = [sys.executable, "-m", "tflite_inspector", "quantize", str(sample), "--modes", "float16", "--random", "2",
               "--runs", "3", "-o"]
    env = {k: v for k, v in os.environ.items() if k != "TFLITE_INSPECTOR_RUNTIME_LOG"}
    quiet = subprocess.run([*command, str(tmp_path / "a")], capture_output=True, text=True, timeout=300, env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert "INFO:" not in quiet.stderr and "XNNPACK delegate" not in quiet.stderr
    # --debug lets the runtime's own lines through (the latency runs create an XNNPACK delegate).
    loud = subprocess.run([*command, str(tmp_path / "b"), "--debug"], capture_output=True, text=True, timeout=300,
                          env=env)
    assert loud.returncode == 0 and "Created TensorFlow Lite XNNPACK delegate" in loud.stderr


@needs_shared
@pytest.mark.parametrize("selectors", [("DEPTHWISE_CONV_2D",), ("3", "5-6"), ("re:activation_1[0-2]/",)],
                         ids=["by type", "by index", "by regex"])
def test_keep_float_keeps_exactly_the_chosen_ops_in_float(workers, tmp_path, selectors):
    """--keep-float by op type, index and regex over output names: the variant's chosen ops compute
    in float32 and every other layer in int8 (read from the variant file itself)."""
    source = str(shared_model(VWW_FLOAT))
    with read_model(source) as reference:
        expected = set(resolve(reference, selectors).ops)
        assert expected and len(expected) < len(reference.main_subgraph.operators)
    settings = LabSettings(source, str(tmp_path / "out"), ("int8",), calibration=(str(IMAGES),), runs=3,
                           keep_float=selectors)
    v = run_lab(settings, *workers).variant("int8")
    assert v.usable, v.error
    assert v.path.endswith(".tflite") and "_keep-" in os.path.basename(v.path)
    assert v.kept_in_float.startswith(f"{len(expected)} op")
    with read_model(source) as reference, read_model(v.path) as variant:
        names = {op.index: reference.main_subgraph.tensors[op.outputs[0]].name
                 for op in reference.main_subgraph.operators}
        sg = variant.main_subgraph
        by_name = {sg.tensors[op.outputs[0]].name: sg.tensors[op.outputs[0]].dtype for op in sg.operators
                   if op.opcode not in ("QUANTIZE", "DEQUANTIZE")}
    for index, name in names.items():
        assert by_name[name] == ("FLOAT32" if index in expected else "INT8"), (index, name, by_name[name])
    assert v.not_full_integer and "kept in float as asked" in not_full_integer_text(v)


def test_keep_float_selectors_that_pick_nothing_are_refused_before_anything_runs(tmp_path):
    with read_model(str(Path(__file__).resolve().parent.parent / "resources/samples/shapes_float.tflite")) as m:
        with pytest.raises(ConversionError, match="picks no op"):
            resolve(m, ("LSTM",))
        with pytest.raises(ConversionError, match="ops 0 to"):
            resolve(m, ("999",))
        kept = resolve(m, ("CONV_2D",))
        assert kept.scopes and all(s.startswith("^") and s.endswith(";$") for s in kept.scopes)


@needs_shared
def test_suggest_keeps_the_fewest_worst_ops_in_float_that_reach_the_target(workers, tmp_path):
    """vww_96 int8 from ai-edge-quantizer on the ten photos: 27.9 dB at the output; ops are kept in
    float worst own-error first until the output SQNR reaches the target (measured: 28.7 dB with 7
    ops). Each step is reported; the last is a row, re-checked here by Compare, its kept ops float."""
    from tflite_inspector.core.comparison.inputs import prepare_samples as prepare
    from tflite_inspector.core.comparison.run import compare_models
    from tflite_inspector.core.lab.suggest import SuggestTarget

    source = str(shared_model(VWW_FLOAT))
    target = SuggestTarget("int8", min_output_sqnr_db=28.5, max_float_ops=8)
    settings = LabSettings(source, str(tmp_path / "out"), ("int8",), calibration=(str(IMAGES),), runs=3,
                           suggest=target)
    result = run_lab(settings, *workers)
    s = result.suggestion
    assert s is not None and s.met, s.note
    first, last = s.steps[0], s.steps[-1]
    assert first.float_ops == () and first.output_sqnr_db < 28.5 <= last.output_sqnr_db
    assert all(not target.met_by(step.output_sqnr_db, step.top1_agreement) for step in s.steps[:-1])
    assert [len(step.float_ops) for step in s.steps] == list(range(len(s.steps)))  # one more op each step
    assert all(b.size_bytes > a.size_bytes for a, b in zip(s.steps, s.steps[1:]))  # float weights cost bytes
    row = next(v for v in result.variants if v.title == s.chosen_mode_title)
    assert row.kept_in_float.startswith(f"{len(last.float_ops)} op")
    # Only the chosen step's file stays, beside the plain int8 variant and the settings.
    assert sorted(os.listdir(settings.output_dir)) == sorted(
        [os.path.basename(result.variant("int8").path), os.path.basename(row.path), "vww_96_float_quantize.json"])
    # Re-checked by Compare on the same inputs.
    with read_model(source) as reference:
        _, samples = prepare([reference], [str(IMAGES)])
        again = compare_models(reference, [row.path], samples, workers[0], isolated=False).candidates[0]
        names = {i: reference.main_subgraph.tensors[reference.main_subgraph.operators[i].outputs[0]].name
                 for i in last.float_ops}
    assert again.outputs[0].metrics.sqnr_db == pytest.approx(last.output_sqnr_db, abs=1e-6)
    with read_model(row.path) as variant:
        dtypes = {variant.main_subgraph.tensors[o].name: variant.main_subgraph.tensors[o].dtype
                  for op in variant.main_subgraph.operators for o in op.outputs}
    assert all(dtypes[name] == "FLOAT32" for name in names.values())
    # The text and JSON carry every step.
    assert f"Suggest (int8, target output SQNR ≥ 28.5 dB): keeping {len(last.float_ops)} more op" in format_lab_text(result)
    assert len(lab_dict(result)["suggestion"]["steps"]) == len(s.steps)
