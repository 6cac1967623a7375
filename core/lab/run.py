"""The quantization lab: every quantization mode of one source model, measured in one table.

`run_lab` is the one flow behind `tflite-inspector quantize` and the app's Quantization lab:
produce each mode in the converter's worker (runtime/conversion.py), then for each variant
measure its size, its latency with XNNPACK and its error against the float reference on the
user's inputs (both in the interpreter's worker, with comparison/run.py), and which ops the GPU,
XNNPACK and Edge TPU delegates take (delegates/). A device budget then marks the variants that
fit and recommends one (budget.py). The settings and results are saved beside the variants, so
the whole run can be re-done.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..comparison.classifier import model_is_classifier
from ..comparison.inputs import Preprocessing, SampleSet, prepare_samples
from ..comparison.run import compare_models
from ..delegates.engine import analyze
from ..errors import ConversionError, InputError, ModelError, RuntimeFailure
from ..files import publish, remove_quietly, temporary_beside
from ..reading.model import Model
from ..reading.reader import read_model
from ..runtime.conversion import ConversionWorker
from ..runtime.interpreter import RuntimeWorker
from ..tasks import Cancelled, Progress, Steps
from .budget import apply_budget
from .contents import describe_contents, dtype_profile, quantized_weights, unchanged_reason
from .input_warnings import InputCounts, input_warnings
from .modes import CONVERTER_MODES, MODES, explain_failure, source_kind
from .results import DelegateCoverage, LabResult, MeasuredLatency, VariantResult, WorstLayer, save_result
from .settings import LAB_DELEGATES, LabSettings, variant_path

# Produce, time, compare: the steps of each variant (the progress counts them).
_STEPS_PER_VARIANT = 3


def run_lab(settings: LabSettings, runtime: RuntimeWorker, converter: ConversionWorker, *,
            overwrite: bool = False, progress: Progress | None = None,
            cancelled: Callable[[], bool] | None = None) -> LabResult:
    """Produce and measure every mode in `settings`. Raises ConversionError for an unusable source
    or settings, ModelError when the reference cannot be read, InputError for unusable inputs,
    RuntimeFailure when the float reference cannot be produced or run, Cancelled when the user
    stops it before the reference is measured. A variant that fails carries its own error; the
    others go on. Cancelling (or stopping the workers) later keeps the variants finished so far."""
    kind = source_kind(settings.source)
    for mode in settings.modes:
        if mode not in MODES:
            raise ConversionError(f"unknown mode {mode!r}")
    if settings.threads < 1 or settings.runs < 1:
        raise ConversionError("threads and runs must be at least 1")
    os.makedirs(settings.output_dir, exist_ok=True)
    modes = [m for m in settings.modes if m != "float32"]
    steps = Steps(2 + _STEPS_PER_VARIANT * len(modes), progress, cancelled)

    # The reference: the source itself, or its float32 conversion.
    with steps.group(1):
        if kind == "tflite":
            reference_path = settings.source
            reference_notes: tuple[str, ...] = ()
        else:
            steps.start("float32: converting")
            reference_path = variant_path(settings, "float32")
            produced = _produce(converter, settings, kind, "float32", reference_path, [], overwrite)
            if isinstance(produced, str):
                raise RuntimeFailure(f"the float32 conversion failed: {produced}")
            reference_notes = produced.notes

    reference = read_model(reference_path)
    try:
        warnings: list[str] = []
        already = quantized_weights(reference)
        if already:
            warnings.append(f"the source is already quantized ({already}); the lab expects a float model")
        preprocessing, calibration = _samples(reference, settings.calibration, settings)
        evaluation = calibration
        if settings.evaluation and settings.random_count <= 0:
            _, evaluation = _samples(reference, settings.evaluation, settings)
        skipped = calibration.errors + (evaluation.errors if evaluation is not calibration else ())
        counts = InputCounts(len(calibration.samples), len(evaluation.samples),
                             calibration.random or evaluation.random, skipped)
        warnings.extend(input_warnings(modes, counts))
        with steps.group(1):
            steps.start("float reference: latency and delegates")
            rows = [_measure_reference(reference, reference_path, kind, settings, runtime, evaluation,
                                       reference_notes)]
        was_cancelled = False
        for mode in modes:
            if steps.cancelled:
                was_cancelled = True
                break
            try:
                with steps.group(_STEPS_PER_VARIANT):
                    rows.append(_variant(mode, kind, reference, settings, runtime, converter, calibration,
                                         evaluation, overwrite, steps))
            except Cancelled:  # the workers were stopped under a request: the variants before are kept
                was_cancelled = True
                break
        marked, recommendation, reason = apply_budget(tuple(rows), settings.budget)
        result = LabResult(
            settings=settings, source_kind=kind, reference_path=reference_path,
            preprocessing=preprocessing.describe(), normalization=preprocessing.normalization,
            calibration=calibration.description,
            calibration_count=len(calibration.samples), evaluation=evaluation.description,
            evaluation_count=len(evaluation.samples), random_inputs=calibration.random or evaluation.random,
            warnings=tuple(warnings), variants=marked, recommendation=recommendation,
            recommendation_reason=reason, cancelled=was_cancelled,
        )
    finally:
        reference.close()
    return save_result(result, overwrite=overwrite)


def _samples(reference: Model, paths: Sequence[str], settings: LabSettings) -> tuple[Preprocessing, SampleSet]:
    if not paths and settings.random_count <= 0:
        preprocessing, _ = prepare_samples([reference], (), normalization=settings.normalization,
                                           resize=settings.resize)
        return preprocessing, SampleSet((), (), "no inputs")
    return prepare_samples([reference], list(paths), normalization=settings.normalization,
                           resize=settings.resize, random_count=settings.random_count, seed=settings.seed,
                           limit=settings.limit)


def _measure_reference(reference: Model, path: str, kind: str, settings: LabSettings, runtime: RuntimeWorker,
                       evaluation: SampleSet, notes: tuple[str, ...]) -> VariantResult:
    latency, latency_error = _latency(runtime, path, settings, evaluation)
    title = "float32 (source)" if kind == "tflite" else "float32"
    return VariantResult(
        mode="float32", title=title, path=path, is_reference=True, size_bytes=os.path.getsize(path),
        contents=describe_contents(reference), latency=latency, latency_error=latency_error,
        top1_agreement=1.0 if model_is_classifier(reference) and evaluation.samples else None,
        output_sqnr_db=math.inf if evaluation.samples else None,
        delegates=_coverage(reference), notes=notes,
    )


def _variant(mode: str, kind: str, reference: Model, settings: LabSettings, runtime: RuntimeWorker,
             converter: ConversionWorker, calibration: SampleSet, evaluation: SampleSet, overwrite: bool,
             steps: Steps) -> VariantResult:
    title = MODES[mode].title
    final_path = variant_path(settings, mode)
    steps.start(f"{mode}: {'converting' if kind != 'tflite' and mode in CONVERTER_MODES else 'quantizing'}")
    if MODES[mode].calibrated and not calibration.samples:
        return VariantResult(mode, title, None, error="needs calibration inputs (images or arrays, or random "
                                                      "inputs when asked for)")
    via_converter = kind != "tflite" and mode in CONVERTER_MODES
    # Weight-only modes of a TensorFlow source: the quantizer, on the float32 conversion.
    source, source_kind_ = (settings.source, kind) if via_converter else (reference.path, "tflite")
    samples = [s.values for s in calibration.samples] if MODES[mode].calibrated else []
    produced = _produce(converter, replace(settings, source=source), source_kind_, mode, final_path, samples,
                        overwrite, publish_now=False)
    steps.finish()
    random_calibration = MODES[mode].calibrated and calibration.random
    if isinstance(produced, str):
        return VariantResult(mode, title, None, error=produced, calibrated_on_random=random_calibration)
    temporary = produced.path
    notes = list(produced.notes)
    if not via_converter and kind != "tflite":
        notes.append("made by ai-edge-quantizer from the float32 conversion")
    try:
        variant = read_model(temporary)
    except ModelError as e:
        remove_quietly(temporary)
        return VariantResult(mode, title, None, error=f"the produced model cannot be read: {e}")
    try:
        contents = describe_contents(variant)
        if dtype_profile(variant) == dtype_profile(reference):
            reason = unchanged_reason(reference, mode, via_converter)
            return VariantResult(mode, title, None, size_bytes=produced.size, contents=contents,
                                 unchanged=reason, notes=tuple(notes))
        coverage = _coverage(variant)
    finally:
        variant.close()
    try:
        publish(temporary, final_path, overwrite)
    except OSError as e:
        remove_quietly(temporary)
        return VariantResult(mode, title, None, error=str(e))
    # A stop that lands between two requests only ends an idle worker: check before each step.
    steps.check()
    steps.start(f"{mode}: timing {settings.runs} runs")
    latency, latency_error = _latency(runtime, final_path, settings, evaluation)
    steps.finish()
    steps.check()
    steps.start(f"{mode}: comparing on {len(evaluation.samples)} inputs")
    top1 = sqnr = worst = evaluation_error = None
    if evaluation.samples:
        try:
            comparison = compare_models(reference, [final_path], evaluation, runtime, isolated=False)
            candidate = comparison.candidates[0]
            evaluation_error = candidate.error
            if candidate.outputs:
                first = candidate.outputs[0]
                top1 = first.top1_agreement
                sqnr = first.metrics.sqnr_db if first.metrics is not None else None
            ranked = candidate.worst_layers("sqnr_db", 1)
            if ranked:
                w = ranked[0]
                worst = WorstLayer(w.reference_name, w.op, w.op_index, w.metrics.sqnr_db)
        except (RuntimeFailure, InputError, ModelError) as e:
            evaluation_error = str(e)
    steps.finish()
    return VariantResult(
        mode, title, final_path, size_bytes=os.path.getsize(final_path), contents=contents, latency=latency,
        latency_error=latency_error, top1_agreement=top1, output_sqnr_db=sqnr, worst_layer=worst,
        evaluation_error=evaluation_error, delegates=coverage, calibrated_on_random=random_calibration,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Written:
    path: str  # the final path, or the temporary one when not published yet
    size: int
    notes: tuple[str, ...]


def _produce(converter: ConversionWorker, settings: LabSettings, kind: str, mode: str, final_path: str,
             calibration: Sequence[Sequence[np.ndarray]], overwrite: bool, *,
             publish_now: bool = True) -> _Written | str:
    """Run the conversion into a temporary file beside `final_path`; published there (never over
    an existing file unless `overwrite`) when `publish_now`, else left for the caller to check.
    The converter's failure, explained, as a string; Cancelled when the worker is stopped."""
    temporary = temporary_beside(final_path)
    try:
        answer = converter.produce(settings.source, kind, mode, temporary, calibration=calibration,
                                   int8_io=settings.int8_io)
    except RuntimeFailure as e:
        remove_quietly(temporary)
        return explain_failure(str(e))
    except Cancelled:
        remove_quietly(temporary)
        raise
    if publish_now:
        try:
            publish(temporary, final_path, overwrite)
        except OSError as e:
            remove_quietly(temporary)
            return str(e)
    return _Written(final_path if publish_now else temporary, answer.size,
                    (*answer.notes, f"made with {answer.tool}"))


def _latency(runtime: RuntimeWorker, path: str, settings: LabSettings,
             evaluation: SampleSet) -> tuple[MeasuredLatency | None, str | None]:
    values = evaluation.samples[0].values if evaluation.samples else None
    try:
        answer = runtime.latency(path, values, runs=settings.runs, threads=settings.threads)
    except RuntimeFailure as e:
        return None, str(e).splitlines()[0] if str(e) else "the interpreter failed"
    times = np.asarray(answer.times_ms, dtype=np.float64)
    return MeasuredLatency(float(np.median(times)), float(np.percentile(times, 90)), int(times.size),
                           settings.threads, answer.delegate_nodes), None


def _coverage(model: Model) -> tuple[DelegateCoverage, ...]:
    reports = [analyze(model, d) for d in LAB_DELEGATES]  # NNAPI is not among them: no settings
    return tuple(DelegateCoverage(r.delegate, r.ops_supported, r.ops_total, r.partitions) for r in reports)
