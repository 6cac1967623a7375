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
from ..comparison.signatures import Entry, candidate_entry, model_entry
from ..delegates.engine import analyze
from ..errors import ConversionError, InputError, ModelError, RuntimeFailure
from ..files import publish, remove_quietly, temporary_beside
from ..reading.model import Model
from ..reading.reader import read_model
from ..runtime.conversion import ConversionWorker
from ..runtime.interpreter import RuntimeWorker
from ..tasks import Cancelled, Progress, Steps
from .budget import apply_budget
from .contents import describe_contents, dtype_profile, op_precision, quantized_weights, unchanged_reason
from .input_warnings import InputCounts, input_warnings
from .keep_float import KeptOps, resolve
from .suggest import SuggestStep, Suggestion, SuggestTarget, rank_ops, search
from .modes import CONVERTER_MODES, MODES, explain_failure, missing_extra, source_kind
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
    missing = missing_extra(kind, settings.modes, all_through_quantizer=bool(settings.keep_float))
    if missing:  # before anything is written: one line, not one failure per variant
        raise ConversionError(missing)
    os.makedirs(settings.output_dir, exist_ok=True)
    modes = [m for m in settings.modes if m != "float32"]
    # Suggest's steps are counted at their most (each ends a variant); a search that meets its
    # target sooner jumps to the end.
    suggest_steps = 1 + _STEPS_PER_VARIANT * settings.suggest.max_float_ops if settings.suggest else 0
    steps = Steps(2 + _STEPS_PER_VARIANT * len(modes) + suggest_steps, progress, cancelled)

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
        entry = model_entry(reference, settings.signature)  # InputError for a signature it does not have
        resolve_kept(reference, settings.keep_float)  # a selector that picks nothing: refused before any variant
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
                                       reference_notes, entry)]
        was_cancelled = False
        for mode in modes:
            if steps.cancelled:
                was_cancelled = True
                break
            try:
                with steps.group(_STEPS_PER_VARIANT):
                    rows.append(_variant(mode, kind, reference, settings, runtime, converter, calibration,
                                         evaluation, overwrite, steps, entry))
            except Cancelled:  # the workers were stopped under a request: the variants before are kept
                was_cancelled = True
                break
        suggestion = None
        if settings.suggest is not None and not was_cancelled:
            try:
                with steps.group(suggest_steps):
                    suggestion, chosen = _suggest(settings.suggest, kind, reference, settings, runtime, converter,
                                                  calibration, evaluation, overwrite, steps, entry, rows)
                if chosen is not None:
                    rows.append(chosen)
            except Cancelled:
                was_cancelled = True
        marked, recommendation, reason = apply_budget(tuple(rows), settings.budget)
        result = LabResult(
            settings=settings, source_kind=kind, reference_path=reference_path,
            preprocessing=preprocessing.describe(), normalization=preprocessing.normalization,
            calibration=calibration.description,
            calibration_count=len(calibration.samples), evaluation=evaluation.description,
            evaluation_count=len(evaluation.samples), random_inputs=calibration.random or evaluation.random,
            warnings=tuple(warnings), variants=marked, recommendation=recommendation,
            recommendation_reason=reason, cancelled=was_cancelled, signature=entry.key,
            signature_subgraph=entry.subgraph, suggestion=suggestion,
        )
    finally:
        reference.close()
    return save_result(result, overwrite=overwrite)


def _samples(reference: Model, paths: Sequence[str], settings: LabSettings) -> tuple[Preprocessing, SampleSet]:
    if not paths and settings.random_count <= 0:
        preprocessing, _ = prepare_samples([reference], (), normalization=settings.normalization,
                                           resize=settings.resize, signature=settings.signature)
        return preprocessing, SampleSet((), (), "no inputs")
    return prepare_samples([reference], list(paths), normalization=settings.normalization,
                           resize=settings.resize, random_count=settings.random_count, seed=settings.seed,
                           limit=settings.limit, signature=settings.signature)


def _measure_reference(reference: Model, path: str, kind: str, settings: LabSettings, runtime: RuntimeWorker,
                       evaluation: SampleSet, notes: tuple[str, ...], entry: Entry) -> VariantResult:
    latency, latency_error = _latency(runtime, path, settings, evaluation, entry)
    title = "float32 (source)" if kind == "tflite" else "float32"
    return VariantResult(
        mode="float32", title=title, path=path, is_reference=True, size_bytes=os.path.getsize(path),
        contents=describe_contents(reference), precision=op_precision(reference), latency=latency,
        latency_error=latency_error,
        top1_agreement=1.0 if model_is_classifier(reference, entry.subgraph) and evaluation.samples else None,
        output_sqnr_db=math.inf if evaluation.samples else None,
        delegates=_coverage(reference), notes=notes,
    )


def _variant(mode: str, kind: str, reference: Model, settings: LabSettings, runtime: RuntimeWorker,
             converter: ConversionWorker, calibration: SampleSet, evaluation: SampleSet, overwrite: bool,
             steps: Steps, entry: Entry) -> VariantResult:
    title = MODES[mode].title
    final_path = variant_path(settings, mode)
    kept = resolve_kept(reference, settings.keep_float)
    if kept is not None:
        title = f"{title}, {kept.describe} in float"
    steps.start(f"{mode}: {'converting' if kind != 'tflite' and mode in CONVERTER_MODES else 'quantizing'}")
    if MODES[mode].calibrated and not calibration.samples:
        return VariantResult(mode, title, None, error="needs calibration inputs (images or arrays, or random "
                                                      "inputs when asked for)")
    # Ops kept in float are the quantizer's recipe scopes: a TensorFlow source goes through it too.
    via_converter = kind != "tflite" and mode in CONVERTER_MODES and kept is None
    # Weight-only modes of a TensorFlow source: the quantizer, on the float32 conversion.
    source, source_kind_ = (settings.source, kind) if via_converter else (reference.path, "tflite")
    samples = [s.values for s in calibration.samples] if MODES[mode].calibrated else []
    produced = _produce(converter, replace(settings, source=source), source_kind_, mode, final_path, samples,
                        overwrite, publish_now=False, signature=entry.key,
                        keep_float_scopes=kept.scopes if kept is not None else ())
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
        precision = op_precision(variant)
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
    try:
        with read_model(final_path) as produced_model:
            variant_entry = candidate_entry(produced_model, entry)
    except (ModelError, InputError):
        variant_entry = entry  # the comparison below says what is wrong with it
    latency, latency_error = _latency(runtime, final_path, settings, evaluation, variant_entry)
    steps.finish()
    steps.check()
    steps.start(f"{mode}: comparing on {len(evaluation.samples)} inputs")
    top1 = sqnr = worst = evaluation_error = None
    if evaluation.samples:
        try:
            comparison = compare_models(reference, [final_path], evaluation, runtime, isolated=False,
                                        signature=entry.key)
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
        mode, title, final_path, size_bytes=os.path.getsize(final_path), contents=contents, precision=precision,
        kept_in_float=kept.describe if kept is not None else "",
        latency=latency,
        latency_error=latency_error, top1_agreement=top1, output_sqnr_db=sqnr, worst_layer=worst,
        evaluation_error=evaluation_error, delegates=coverage, calibrated_on_random=random_calibration,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Written:
    path: str  # the final path, or the temporary one when not published yet
    size: int
    notes: tuple[str, ...]


def _suggest(target: SuggestTarget, kind: str, reference: Model, settings: LabSettings, runtime: RuntimeWorker,
             converter: ConversionWorker, calibration: SampleSet, evaluation: SampleSet, overwrite: bool,
             steps: Steps, entry: Entry, rows: list[VariantResult]) -> tuple[Suggestion, VariantResult | None]:
    """The Suggest search (suggest.py) from the mode's variant of this run: its ops ranked by their
    own error run alone, kept in float one more at a time until the target is met. Returns the
    search and the variant to add as a row (the last one measured); the steps' other files go."""
    if not evaluation.samples:
        return Suggestion(target, (), False, None, "Suggest needs evaluation inputs to measure the error"), None
    base = next((r for r in rows if r.mode == target.mode and r.usable), None)
    if base is None or base.path is None:
        note = f"Suggest needs a {target.mode} variant from this run; it has none"
        return Suggestion(target, (), False, None, note), None
    if kind != "tflite" and missing_extra("tflite", (target.mode,)):
        return Suggestion(target, (), False, None, missing_extra("tflite", (target.mode,)) or ""), None
    steps.start(f"suggest: each op of {target.mode} alone on the float model's activations")
    comparison = compare_models(reference, [base.path], evaluation, runtime, isolated=True, signature=entry.key)
    ranked = rank_ops(comparison.candidates[0])
    base_kept = tuple(resolve(reference, settings.keep_float).ops) if settings.keep_float else ()
    ops = reference.main_subgraph.operators
    start = SuggestStep(base_kept, tuple(ops[i].opcode for i in base_kept), base.size_bytes,
                        base.latency.median_ms if base.latency else None, base.output_sqnr_db, base.top1_agreement)
    made: dict[tuple[int, ...], VariantResult] = {}

    def measure(kept: tuple[int, ...]) -> SuggestStep:
        selectors = tuple(str(i) for i in (*base_kept, *kept))
        variant = _variant(target.mode, "tflite", reference, replace(settings, source=reference.path,
                                                                      keep_float=selectors),
                           runtime, converter, calibration, evaluation, overwrite, steps, entry)
        if variant.path:
            made[kept] = variant
        all_kept = (*base_kept, *kept)
        return SuggestStep(all_kept, tuple(ops[i].opcode for i in all_kept), variant.size_bytes,
                           variant.latency.median_ms if variant.latency else None, variant.output_sqnr_db,
                           variant.top1_agreement, variant.error or variant.evaluation_error)

    found, met = search(target, start, [layer for layer in ranked if layer.op_index not in base_kept], measure,
                        lambda: steps.cancelled)
    last = found[-1]
    chosen = made.get(tuple(i for i in last.float_ops if i not in base_kept)) if len(found) > 1 else None
    for kept, variant in made.items():  # only the chosen step's file is kept
        if variant is not chosen and variant.path:
            remove_quietly(variant.path)
    added = len(last.float_ops) - len(base_kept)
    if met and len(found) == 1:
        note = f"{base.title} already meets {target.describe()}: no op needs to stay in float"
    elif met:
        note = (f"keeping {added} more op{'' if added == 1 else 's'} in float ({', '.join(last.float_types[-added:])}) "
                f"meets {target.describe()}")
    else:
        note = (f"{target.describe()} not met with up to {added} op{'' if added == 1 else 's'} in float "
                f"(the limit is {target.max_float_ops}); the last step is kept")
    return Suggestion(target, tuple(found), met, chosen.title if chosen else None, note), chosen


def resolve_kept(reference: Model, selectors: Sequence[str]) -> KeptOps | None:
    """The ops the settings keep in float (ConversionError for a selector that picks none)."""
    return resolve(reference, selectors) if selectors else None


def _produce(converter: ConversionWorker, settings: LabSettings, kind: str, mode: str, final_path: str,
             calibration: Sequence[Sequence[np.ndarray]], overwrite: bool, *,
             publish_now: bool = True, signature: str | None = None,
             keep_float_scopes: tuple[str, ...] = ()) -> _Written | str:
    """Run the conversion into a temporary file beside `final_path`; published there (never over
    an existing file unless `overwrite`) when `publish_now`, else left for the caller to check.
    The converter's failure, explained, as a string; Cancelled when the worker is stopped."""
    temporary = temporary_beside(final_path)
    try:
        answer = converter.produce(settings.source, kind, mode, temporary, calibration=calibration,
                                   int8_io=settings.int8_io, signature=signature,
                                   keep_float_scopes=keep_float_scopes)
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


def _latency(runtime: RuntimeWorker, path: str, settings: LabSettings, evaluation: SampleSet,
             entry: Entry | None = None) -> tuple[MeasuredLatency | None, str | None]:
    """The signature's subgraph, timed with XNNPACK on the first evaluation input."""
    values = evaluation.samples[0].values if evaluation.samples else None
    try:
        answer = runtime.latency(path, values, runs=settings.runs, threads=settings.threads,
                                 **({"entry": entry.run_entry()} if entry else {}))
    except RuntimeFailure as e:
        return None, str(e).splitlines()[0] if str(e) else "the interpreter failed"
    times = np.asarray(answer.times_ms, dtype=np.float64)
    return MeasuredLatency(float(np.median(times)), float(np.percentile(times, 90)), int(times.size),
                           settings.threads, answer.delegate_nodes), None


def _coverage(model: Model) -> tuple[DelegateCoverage, ...]:
    reports = [analyze(model, d) for d in LAB_DELEGATES]  # NNAPI is not among them: no settings
    return tuple(DelegateCoverage(r.delegate, r.ops_supported, r.ops_total, r.partitions) for r in reports)
