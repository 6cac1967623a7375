"""The quantization lab: every quantization mode of one source model, measured in one table.

`run_lab` is the one flow behind `tflite-inspector quantize` and the app's Quantization lab:
produce each mode in the conversion worker (core/conversion.py), then for each variant
measure its size, its latency with XNNPACK and its error against the float reference on the
user's inputs (both in the interpreter worker, core/runtime.py and core/comparison.py), and
which ops the GPU, XNNPACK and Edge TPU delegates take (core/compat.py). A device budget
(`Budget`) then marks the variants that fit and recommends one; it is applied by a pure
function, so the app re-applies a changed budget without running anything again.

The settings of a run are saved next to its variants, so the whole run can be re-done.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from .comparison import compare_models
from .compat import analyze
from .conversion import (
    CONVERTER_MODES,
    MODES,
    ConversionError,
    ConversionWorker,
    explain_failure,
    source_kind,
)
from .files import publish, remove_quietly, temporary_beside
from .inputs import InputError, Normalization, Preprocessing, SampleSet, prepare_samples
from .metrics import json_number
from .model import Model, ModelError
from .runtime import RuntimeFailure, RuntimeWorker
from .tflite_reader import read_model

LAB_DELEGATES = ("gpu", "xnnpack", "edgetpu")
# TensorFlow's guidance for a representative dataset is a few hundred inputs; fewer than this
# and the activation ranges of the calibrated modes rest on too little.
MIN_CALIBRATION_SAMPLES = 100
SETTINGS_SUFFIX = "_quantize.json"
SETTINGS_FORMAT = 1
# TFLiteConverter's dynamic-range and float16 passes leave weights smaller than this alone.
CONVERTER_MIN_WEIGHT_ELEMENTS = 1024
# ai-edge-quantizer's float16 casting (float_casting.SUPPORTED_WEIGHT_QUANT_OPS).
FLOAT16_CAST_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "EMBEDDING_LOOKUP")
_QUANTIZED_DTYPES = ("INT8", "UINT8", "INT16", "INT4", "UINT4", "INT2", "FLOAT16", "BFLOAT16")


@dataclass(frozen=True)
class Budget:
    """What the target device allows. None: no limit on that."""

    max_size_bytes: int | None = None
    max_latency_ms: float | None = None  # median latency
    min_top1_agreement: float | None = None  # 0..1
    min_output_sqnr_db: float | None = None
    whole_model_delegate: str | None = None  # this delegate must take every op

    @property
    def is_set(self) -> bool:
        return any(v is not None for v in asdict(self).values())


@dataclass(frozen=True)
class LabSettings:
    """Everything a run needs; saved beside the variants so the run can be re-done."""

    source: str
    output_dir: str
    modes: tuple[str, ...]
    calibration: tuple[str, ...] = ()  # image / array files and folders
    evaluation: tuple[str, ...] = ()  # default: the calibration inputs
    normalization: Normalization | None = None  # None: derived from the model
    resize: str = "stretch"
    limit: int | None = None  # at most this many inputs from each set
    random_count: int = 0  # > 0: random inputs instead of files, only when asked for
    seed: int = 0
    int8_io: str = "int8"  # full-integer int8 from TensorFlow: int8, uint8 or float inputs/outputs
    threads: int = 1
    runs: int = 50
    budget: Budget = field(default_factory=Budget)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = SETTINGS_FORMAT
        # Absolute, so a re-run from another working directory finds the same files.
        data["source"], data["output_dir"] = os.path.abspath(self.source), os.path.abspath(self.output_dir)
        data["calibration"] = [os.path.abspath(p) for p in self.calibration]
        data["evaluation"] = [os.path.abspath(p) for p in self.evaluation]
        data["normalization"] = None if self.normalization is None else asdict(self.normalization)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabSettings:
        try:
            values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            for key in ("modes", "calibration", "evaluation"):
                values[key] = tuple(values.get(key) or ())
            norm = values.get("normalization")
            if norm is not None:
                values["normalization"] = Normalization(tuple(norm["mean"]), tuple(norm["std"]), norm["name"],
                                                        norm["source"])
            values["budget"] = Budget(**(values.get("budget") or {}))
            return cls(**values)
        except (TypeError, KeyError, ValueError) as e:
            raise ConversionError(f"the saved settings are not usable: {e}") from None


def source_stem(source: str) -> str:
    name = os.path.basename(os.path.normpath(source))
    stem = os.path.splitext(name)[0] if not os.path.isdir(source) else name
    return re.sub(r"[^\w.-]+", "_", stem) or "model"


def variant_path(settings: LabSettings, mode: str) -> str:
    return os.path.join(settings.output_dir, f"{source_stem(settings.source)}_{mode}.tflite")


def settings_path(settings: LabSettings) -> str:
    return os.path.join(settings.output_dir, source_stem(settings.source) + SETTINGS_SUFFIX)


def planned_outputs(settings: LabSettings) -> list[str]:
    """Every file a run writes: one per mode (the float32 conversion too for TensorFlow sources)
    and the saved settings."""
    modes = list(settings.modes)
    if source_kind(settings.source) != "tflite" and "float32" not in modes:
        modes.insert(0, "float32")
    return [variant_path(settings, m) for m in modes] + [settings_path(settings)]


def existing_outputs(settings: LabSettings) -> list[str]:
    """The files a run would replace: the CLI refuses without --overwrite, the app asks."""
    return [p for p in planned_outputs(settings) if os.path.exists(p)]


def load_settings(path: str) -> LabSettings:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ConversionError(f"{path}: cannot read the saved settings: {e}") from None
    if not isinstance(data, dict):
        raise ConversionError(f"{path}: not a quantization lab settings file")
    return LabSettings.from_dict(data.get("settings", data))


@dataclass(frozen=True)
class Latency:
    median_ms: float
    p90_ms: float
    runs: int
    threads: int
    delegated_nodes: int  # XNNPACK partitions the runtime made


@dataclass(frozen=True)
class DelegateCoverage:
    delegate: str
    ops_supported: int
    ops_total: int
    partitions: int

    @property
    def whole_model(self) -> bool:
        return self.ops_total > 0 and self.ops_supported == self.ops_total


@dataclass(frozen=True)
class WorstLayer:
    tensor: str
    op: str
    op_index: int
    sqnr_db: float


@dataclass(frozen=True)
class VariantResult:
    mode: str
    title: str
    path: str | None  # None when nothing was written (an error, or the model came out unchanged)
    is_reference: bool = False
    size_bytes: int | None = None
    contents: str = ""  # what the mode made: quantized weights and activations by dtype
    latency: Latency | None = None
    latency_error: str | None = None
    top1_agreement: float | None = None
    output_sqnr_db: float | None = None
    worst_layer: WorstLayer | None = None
    evaluation_error: str | None = None
    delegates: tuple[DelegateCoverage, ...] = ()
    calibrated_on_random: bool = False
    unchanged: str | None = None  # the mode left the model as it was: why, as far as known
    notes: tuple[str, ...] = ()
    error: str | None = None  # the variant could not be produced
    fits: bool | None = None  # None: no budget
    ruled_out: tuple[str, ...] = ()  # why it does not fit the budget

    @property
    def usable(self) -> bool:
        """A produced, quantized variant: listed in the table as one."""
        return self.error is None and self.unchanged is None and self.path is not None

    def coverage(self, delegate: str) -> DelegateCoverage | None:
        return next((d for d in self.delegates if d.delegate == delegate), None)


@dataclass(frozen=True)
class LabResult:
    settings: LabSettings
    source_kind: str
    reference_path: str
    preprocessing: str
    normalization: Normalization  # the one the inputs were prepared with (chosen or derived)
    calibration: str  # description of the calibration inputs
    calibration_count: int
    evaluation: str
    evaluation_count: int
    random_inputs: bool
    warnings: tuple[str, ...]
    variants: tuple[VariantResult, ...]  # the reference first
    recommendation: str | None = None  # a mode
    recommendation_reason: str = ""
    cancelled: bool = False
    settings_file: str | None = None

    @property
    def reference(self) -> VariantResult:
        return self.variants[0]

    def variant(self, mode: str) -> VariantResult | None:
        return next((v for v in self.variants if v.mode == mode), None)


Progress = Callable[[int, int, str], None]


# --- the run ----------------------------------------------------------------------------------


class _Steps:
    def __init__(self, total: int, progress: Progress | None, cancelled: Callable[[], bool] | None) -> None:
        self.done, self.total = 0, total
        self._progress, self._cancelled = progress, cancelled

    def start(self, message: str) -> None:
        if self._progress is not None:
            self._progress(self.done, self.total, message)

    def finish(self) -> None:
        self.done += 1
        if self._progress is not None:
            self._progress(self.done, self.total, "")

    @property
    def cancelled(self) -> bool:
        return self._cancelled is not None and self._cancelled()


def run_lab(settings: LabSettings, runtime: RuntimeWorker, converter: ConversionWorker, *,
            overwrite: bool = False, progress: Progress | None = None,
            cancelled: Callable[[], bool] | None = None) -> LabResult:
    """Produce and measure every mode in `settings`. Raises ConversionError for an unusable source
    or settings, ModelError when the reference cannot be read, InputError for unusable inputs,
    RuntimeFailure when the float reference cannot be produced or run. A variant that fails
    carries its own error; the others go on. Cancelling (or stopping the workers) keeps the
    variants finished so far."""
    kind = source_kind(settings.source)
    for mode in settings.modes:
        if mode not in MODES:
            raise ConversionError(f"unknown mode {mode!r}")
    if settings.threads < 1 or settings.runs < 1:
        raise ConversionError("threads and runs must be at least 1")
    os.makedirs(settings.output_dir, exist_ok=True)
    modes = [m for m in settings.modes if m != "float32"]
    steps = _Steps(2 + 3 * len(modes), progress, cancelled)

    # The reference: the source itself, or its float32 conversion.
    if kind == "tflite":
        reference_path = settings.source
        reference_notes: tuple[str, ...] = ()
    else:
        steps.start("float32: converting")
        reference_path = variant_path(settings, "float32")
        produced = _produce(converter, settings, kind, "float32", reference_path, [], overwrite)
        if "error" in produced:
            raise RuntimeFailure(f"the float32 conversion failed: {produced['error']}")
        reference_notes = tuple(produced["notes"])
    steps.finish()

    reference = read_model(reference_path)
    try:
        warnings: list[str] = []
        already = _quantized_weights(reference)
        if already:
            warnings.append(f"the source is already quantized ({already}); the lab expects a float model")
        preprocessing, calibration = _samples(reference, settings.calibration, settings)
        evaluation = calibration
        if settings.evaluation and settings.random_count <= 0:
            _, evaluation = _samples(reference, settings.evaluation, settings)
        warnings.extend(_input_warnings(settings, modes, calibration, evaluation))
        steps.start("float reference: latency and delegates")
        rows = [_measure_reference(reference, reference_path, kind, settings, runtime, evaluation, reference_notes)]
        steps.finish()
        was_cancelled = False
        for mode in modes:
            if steps.cancelled:
                was_cancelled = True
                break
            try:
                rows.append(_variant(mode, kind, reference, settings, runtime, converter, calibration, evaluation,
                                     overwrite, steps))
            except RuntimeFailure as e:
                if str(e) == "stopped" or steps.cancelled:
                    was_cancelled = True
                    break
                raise
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


def _input_warnings(settings: LabSettings, modes: Sequence[str], calibration: SampleSet,
                    evaluation: SampleSet) -> list[str]:
    warnings = [f"skipped input {message}" for message in (*calibration.errors, *evaluation.errors)]
    calibrated = [m for m in modes if MODES[m].calibrated]
    count = len(calibration.samples)
    if calibrated and calibration.random:
        warnings.append(f"calibrated on {count} RANDOM inputs, as asked: the activation ranges of "
                        f"{', '.join(calibrated)} do not come from real data")
    elif calibrated and 0 < count < MIN_CALIBRATION_SAMPLES:
        warnings.append(f"only {count} calibration inputs; {MIN_CALIBRATION_SAMPLES} or more give activation "
                        "ranges that hold on real data")
    elif calibrated and count == 0:
        warnings.append(f"no calibration inputs: {', '.join(calibrated)} cannot be produced without images or "
                        "arrays to calibrate on (or random inputs, when asked for)")
    if not evaluation.samples:
        warnings.append("no inputs to evaluate on: agreement and error are not measured")
    elif evaluation.random:
        warnings.append(f"agreement and error measured on {len(evaluation.samples)} RANDOM inputs")
    return warnings


def _measure_reference(reference: Model, path: str, kind: str, settings: LabSettings, runtime: RuntimeWorker,
                       evaluation: SampleSet, notes: tuple[str, ...]) -> VariantResult:
    latency, latency_error = _latency(runtime, path, settings, evaluation)
    title = "float32 (source)" if kind == "tflite" else "float32"
    return VariantResult(
        mode="float32", title=title, path=path, is_reference=True, size_bytes=os.path.getsize(path),
        contents=describe_contents(reference), latency=latency, latency_error=latency_error,
        top1_agreement=1.0 if _is_classifier_like(reference) and evaluation.samples else None,
        output_sqnr_db=math.inf if evaluation.samples else None,
        delegates=_coverage(reference), notes=notes,
    )


def _is_classifier_like(model: Model) -> bool:
    from .comparison import _is_classifier_output

    sg = model.main_subgraph
    return bool(sg.outputs) and _is_classifier_output(model, sg.outputs[0], False)


def _variant(mode: str, kind: str, reference: Model, settings: LabSettings, runtime: RuntimeWorker,
             converter: ConversionWorker, calibration: SampleSet, evaluation: SampleSet, overwrite: bool,
             steps: _Steps) -> VariantResult:
    title = MODES[mode].title
    final_path = variant_path(settings, mode)
    steps.start(f"{mode}: {'converting' if kind != 'tflite' and mode in CONVERTER_MODES else 'quantizing'}")
    if MODES[mode].calibrated and not calibration.samples:
        steps.done += 3
        return VariantResult(mode, title, None, error="needs calibration inputs (images or arrays, or random "
                                                      "inputs when asked for)")
    via_converter = kind != "tflite" and mode in CONVERTER_MODES
    # Weight-only modes of a TensorFlow source: the quantizer, on the float32 conversion.
    source, source_kind_ = (settings.source, kind) if via_converter else (reference.path, "tflite")
    produced = _produce(converter, replace(settings, source=source), source_kind_, mode, final_path,
                        [s.values for s in calibration.samples], overwrite, publish_now=False)
    steps.finish()
    random_calibration = MODES[mode].calibrated and calibration.random
    if "error" in produced:
        steps.done += 2
        return VariantResult(mode, title, None, error=produced["error"], calibrated_on_random=random_calibration)
    temporary = produced["path"]
    notes = list(produced["notes"])
    if not via_converter and kind != "tflite":
        notes.append("made by ai-edge-quantizer from the float32 conversion")
    try:
        variant = read_model(temporary)
    except ModelError as e:
        remove_quietly(temporary)
        steps.done += 2
        return VariantResult(mode, title, None, error=f"the produced model cannot be read: {e}")
    try:
        contents = describe_contents(variant)
        if _dtype_profile(variant) == _dtype_profile(reference):
            reason = _unchanged_reason(reference, mode, via_converter)
            steps.done += 2
            return VariantResult(mode, title, None, size_bytes=produced["size"], contents=contents,
                                 unchanged=reason, notes=tuple(notes))
        coverage = _coverage(variant)
    finally:
        variant.close()
    try:
        publish(temporary, final_path, overwrite)
    except OSError as e:
        remove_quietly(temporary)
        steps.done += 2
        return VariantResult(mode, title, None, error=str(e))
    # A stop that lands between two requests only ends an idle worker: check before each step.
    if steps.cancelled:
        raise RuntimeFailure("stopped")
    steps.start(f"{mode}: timing {settings.runs} runs")
    latency, latency_error = _latency(runtime, final_path, settings, evaluation)
    steps.finish()
    if steps.cancelled:
        raise RuntimeFailure("stopped")
    steps.start(f"{mode}: comparing on {len(evaluation.samples)} inputs")
    top1 = sqnr = worst = evaluation_error = None
    if evaluation.samples:
        try:
            comparison = compare_models(reference, [final_path], evaluation, runtime)
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
            if str(e) == "stopped":
                raise
            evaluation_error = str(e)
    steps.finish()
    return VariantResult(
        mode, title, final_path, size_bytes=os.path.getsize(final_path), contents=contents, latency=latency,
        latency_error=latency_error, top1_agreement=top1, output_sqnr_db=sqnr, worst_layer=worst,
        evaluation_error=evaluation_error, delegates=coverage, calibrated_on_random=random_calibration,
        notes=tuple(notes),
    )


def _produce(converter: ConversionWorker, settings: LabSettings, kind: str, mode: str, final_path: str,
             calibration: Sequence[Sequence[np.ndarray]], overwrite: bool, *,
             publish_now: bool = True) -> dict[str, Any]:
    """Run the conversion into a temporary file beside `final_path`; published there (never over
    an existing file unless `overwrite`) when `publish_now`, else left for the caller to check."""
    temporary = temporary_beside(final_path)
    try:
        answer = converter.produce(settings.source, kind, mode, temporary, calibration=calibration,
                                   int8_io=settings.int8_io)
    except RuntimeFailure as e:
        remove_quietly(temporary)
        if str(e) == "stopped":
            raise
        return {"error": explain_failure(str(e))}
    if publish_now:
        try:
            publish(temporary, final_path, overwrite)
        except OSError as e:
            remove_quietly(temporary)
            return {"error": str(e)}
    return {"path": final_path if publish_now else temporary, "size": answer["size"],
            "notes": [*answer["notes"], f"made with {answer['tool']}"]}


def _latency(runtime: RuntimeWorker, path: str, settings: LabSettings,
             evaluation: SampleSet) -> tuple[Latency | None, str | None]:
    values = evaluation.samples[0].values if evaluation.samples else None
    try:
        answer = runtime.latency(path, values, runs=settings.runs, threads=settings.threads)
    except RuntimeFailure as e:
        if str(e) == "stopped":
            raise
        return None, str(e).splitlines()[0] if str(e) else "the interpreter failed"
    times = np.asarray(answer["times_ms"], dtype=np.float64)
    return Latency(float(np.median(times)), float(np.percentile(times, 90)), int(times.size), settings.threads,
                   int(answer["delegate_nodes"])), None


def _coverage(model: Model) -> tuple[DelegateCoverage, ...]:
    reports = [analyze(model, d) for d in LAB_DELEGATES]
    return tuple(DelegateCoverage(r.delegate, r.ops_supported, r.ops_total, r.partitions) for r in reports)


# --- what a mode made -------------------------------------------------------------------------


def _dtype_profile(model: Model) -> tuple[Counter, Counter]:
    """Tensor dtypes of every subgraph, constants and activations apart: what quantization changes."""
    constants, activations = Counter(), Counter()
    for sg in model.subgraphs:
        for t in sg.tensors:
            (constants if t.is_constant else activations)[t.dtype] += 1
    return constants, activations


def _quantized_weights(model: Model) -> str:
    constants, _ = _dtype_profile(model)
    found = {d: n for d, n in constants.items() if d in _QUANTIZED_DTYPES and d != "INT32"}
    big = [t for sg in model.subgraphs for t in sg.tensors
           if t.is_constant and t.dtype in _QUANTIZED_DTYPES and t.num_elements >= 16]
    if not big:
        return ""
    return ", ".join(f"{n} {d.lower()} constants" for d, n in sorted(found.items()))


def describe_contents(model: Model) -> str:
    """e.g. "weights: 12 int8, 3 float32; activations: 30 int8" — the dtypes that say what a mode did."""
    constants, activations = _dtype_profile(model)

    def part(counter: Counter) -> str:
        return ", ".join(f"{n} {d.lower()}" for d, n in counter.most_common() if d not in ("INT32", "INT64", "BOOL"))

    return f"constants: {part(constants) or 'none'}; activations: {part(activations) or 'none'}"


def _unchanged_reason(reference: Model, mode: str, via_converter: bool) -> str:
    weights = [t for sg in reference.subgraphs for t in sg.tensors
               if t.is_constant and t.dtype == "FLOAT32" and len(t.shape) >= 2]
    if not weights:
        return "the model has no float32 weight tensors to quantize"
    largest = max(t.num_elements for t in weights)
    if via_converter and mode in ("dynamic", "float16") and largest < CONVERTER_MIN_WEIGHT_ELEMENTS:
        return (f"TFLiteConverter leaves weights with fewer than {CONVERTER_MIN_WEIGHT_ELEMENTS:,} elements as "
                f"float32; this model's largest has {largest:,}")
    if not via_converter and mode == "float16":
        ops = {reference.main_subgraph.operators[i].opcode for i in range(len(reference.main_subgraph.operators))}
        if not ops & set(FLOAT16_CAST_OPS):
            return ("ai-edge-quantizer casts to float16 only the weights of " + ", ".join(FLOAT16_CAST_OPS)
                    + "; the model has none of these ops")
    return "the tool left every tensor as it was and gave no reason"


# --- the budget -------------------------------------------------------------------------------


def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _budget_misses(variant: VariantResult, budget: Budget) -> list[str]:
    misses = []
    if budget.max_size_bytes is not None and variant.size_bytes is not None \
            and variant.size_bytes > budget.max_size_bytes:
        misses.append(f"size {_fmt_bytes(variant.size_bytes)} > {_fmt_bytes(budget.max_size_bytes)}")
    if budget.max_latency_ms is not None:
        if variant.latency is None:
            misses.append("latency not measured")
        elif variant.latency.median_ms > budget.max_latency_ms:
            misses.append(f"latency {variant.latency.median_ms:.3g} ms > {budget.max_latency_ms:g} ms")
    if budget.min_top1_agreement is not None:
        if variant.top1_agreement is None:
            misses.append("top-1 agreement not measured")
        elif variant.top1_agreement < budget.min_top1_agreement:
            misses.append(f"top-1 agreement {variant.top1_agreement:.0%} < {budget.min_top1_agreement:.0%}")
    if budget.min_output_sqnr_db is not None:
        if variant.output_sqnr_db is None:
            misses.append("output SQNR not measured")
        elif variant.output_sqnr_db < budget.min_output_sqnr_db:
            misses.append(f"output SQNR {variant.output_sqnr_db:.1f} dB < {budget.min_output_sqnr_db:g} dB")
    if budget.whole_model_delegate:
        cov = variant.coverage(budget.whole_model_delegate)
        if cov is None:
            misses.append(f"{budget.whole_model_delegate} coverage not analysed")
        elif not cov.whole_model:
            misses.append(f"{budget.whole_model_delegate} takes {cov.ops_supported}/{cov.ops_total} ops")
    return misses


def _error_rank(variant: VariantResult) -> tuple[float, float]:
    """Larger is better: top-1 agreement first (when measured), then output SQNR."""
    top1 = variant.top1_agreement if variant.top1_agreement is not None else -1.0
    sqnr = variant.output_sqnr_db if variant.output_sqnr_db is not None else -math.inf
    return top1, sqnr if not math.isnan(sqnr) else -math.inf


def apply_budget(variants: Sequence[VariantResult], budget: Budget) -> tuple[tuple[VariantResult, ...], str | None,
                                                                              str]:
    """Mark each variant as fitting the budget or not (with why not), and recommend the quantized
    variant with the smallest error among those that fit. Without a budget, nothing is marked and
    the recommendation is the smallest error among all quantized variants."""
    marked = []
    for v in variants:
        if v.error is not None or v.unchanged is not None:
            marked.append(replace(v, fits=None, ruled_out=()))
            continue
        if not budget.is_set:
            marked.append(replace(v, fits=None, ruled_out=()))
            continue
        misses = _budget_misses(v, budget)
        marked.append(replace(v, fits=not misses, ruled_out=tuple(misses)))
    candidates = [v for v in marked if v.usable and not v.is_reference and v.fits is not False]
    measured = [v for v in candidates if v.top1_agreement is not None or v.output_sqnr_db is not None]
    reference = next((v for v in marked if v.is_reference), None)
    if not candidates:
        reason = "no quantized variant fits the budget" if budget.is_set else "no quantized variant was produced"
        if reference is not None and reference.fits:
            reason += "; the float model itself fits it"
        return tuple(marked), None, reason
    pool = measured or candidates
    best = max(pool, key=lambda v: (_error_rank(v), -(v.size_bytes or 0)))
    why = []
    if best.top1_agreement is not None:
        why.append(f"top-1 agreement {best.top1_agreement:.0%}")
    if best.output_sqnr_db is not None and math.isfinite(best.output_sqnr_db):
        why.append(f"output SQNR {best.output_sqnr_db:.1f} dB")
    if not measured:
        why.append("error not measured")
    scope = "of the variants that fit the budget" if budget.is_set else "of all variants (no budget given)"
    reason = f"{best.title}: the smallest error {scope}" + (f" ({', '.join(why)})" if why else "")
    others = [f"{v.title}: {'; '.join(v.ruled_out)}" for v in marked if v.fits is False and not v.is_reference]
    if others:
        reason += ". Ruled out — " + ". ".join(others)
    return tuple(marked), best.mode, reason


# --- saved results, JSON and text -------------------------------------------------------------


def variant_dict(v: VariantResult, reference_size: int | None) -> dict[str, Any]:
    return {
        "mode": v.mode,
        "title": v.title,
        "path": v.path,
        "reference": v.is_reference,
        "size_bytes": v.size_bytes,
        "size_ratio": (v.size_bytes / reference_size) if v.size_bytes and reference_size else None,
        "latency_ms": None if v.latency is None else {
            "median": v.latency.median_ms, "p90": v.latency.p90_ms, "runs": v.latency.runs,
            "threads": v.latency.threads, "xnnpack_partitions": v.latency.delegated_nodes,
        },
        "latency_error": v.latency_error,
        "top1_agreement": v.top1_agreement,
        "output_sqnr_db": json_number(v.output_sqnr_db),
        "worst_layer": None if v.worst_layer is None else {
            "tensor": v.worst_layer.tensor, "op": v.worst_layer.op, "op_index": v.worst_layer.op_index,
            "sqnr_db": json_number(v.worst_layer.sqnr_db),
        },
        "evaluation_error": v.evaluation_error,
        "delegates": {d.delegate: {"ops_supported": d.ops_supported, "ops_total": d.ops_total,
                                   "partitions": d.partitions} for d in v.delegates},
        "contents": v.contents,
        "calibrated_on_random": v.calibrated_on_random,
        "unchanged": v.unchanged,
        "notes": list(v.notes),
        "fits_budget": v.fits,
        "ruled_out": list(v.ruled_out),
        "error": v.error,
    }


def lab_dict(result: LabResult) -> dict[str, Any]:
    """The JSON of `tflite-inspector quantize --json` and of the saved results (docs/quantization.md)."""
    reference_size = result.reference.size_bytes
    return {
        "source": result.settings.source,
        "source_kind": result.source_kind,
        "reference": result.reference_path,
        "preprocessing": result.preprocessing,
        "calibration": {"description": result.calibration, "count": result.calibration_count},
        "evaluation": {"description": result.evaluation, "count": result.evaluation_count},
        "random_inputs": result.random_inputs,
        "warnings": list(result.warnings),
        "variants": [variant_dict(v, reference_size) for v in result.variants],
        "recommendation": result.recommendation,
        "recommendation_reason": result.recommendation_reason,
        "cancelled": result.cancelled,
        "settings": result.settings.to_dict(),
        "settings_file": result.settings_file,
    }


def save_result(result: LabResult, *, overwrite: bool) -> LabResult:
    """Write the settings and results beside the variants; the run can be re-done from this file."""
    path = settings_path(result.settings)
    result = replace(result, settings_file=path)
    temporary = temporary_beside(path)
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(lab_dict(result), f, ensure_ascii=False, indent=1, allow_nan=False)
    try:
        publish(temporary, path, overwrite)
    except OSError as e:
        remove_quietly(temporary)
        return replace(result, settings_file=None, warnings=(*result.warnings, f"settings not saved: {e}"))
    return result


def _cell(value: float | None, fmt: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return format(value, fmt)


def format_lab_text(result: LabResult) -> str:
    lines = [
        f"Quantization lab: {result.settings.source} ({result.source_kind})",
        f"  reference:   {result.reference_path}",
        f"  inputs:      {result.preprocessing}",
        f"  calibration: {result.calibration}",
        f"  evaluation:  {result.evaluation}",
    ]
    lines += [f"  ! {w}" for w in result.warnings]
    if result.cancelled:
        lines.append("  ! cancelled: the table has the variants finished before")
    header = ("mode", "size", "ratio", "median ms", "p90 ms", "top-1", "out SQNR dB", "worst layer (SQNR dB)",
              *(f"{d} ops" for d in LAB_DELEGATES), "budget")
    rows = []
    reference_size = result.reference.size_bytes or 0
    for v in result.variants:
        if not v.usable and not v.is_reference:
            continue
        worst = "—" if v.worst_layer is None else f"{v.worst_layer.op} {_cell(v.worst_layer.sqnr_db, '.1f')}"
        budget = "" if v.fits is None else ("fits" if v.fits else "no")
        mark = "*" if v.mode == result.recommendation else (" random" if v.calibrated_on_random else "")
        rows.append((
            v.title + ("*" if mark == "*" else "") + (" (random cal.)" if v.calibrated_on_random else ""),
            f"{v.size_bytes:,}" if v.size_bytes else "—",
            f"{v.size_bytes / reference_size:.2f}" if v.size_bytes and reference_size else "—",
            _cell(v.latency.median_ms if v.latency else None, ".3g"),
            _cell(v.latency.p90_ms if v.latency else None, ".3g"),
            "—" if v.top1_agreement is None else f"{v.top1_agreement:.0%}",
            _cell(v.output_sqnr_db, ".1f"), worst,
            *(f"{c.ops_supported}/{c.ops_total}" if (c := v.coverage(d)) else "—" for d in LAB_DELEGATES),
            budget,
        ))
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines.append("")
    lines.append("  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    for v in result.variants:
        if v.unchanged is not None:
            lines.append(f"{v.title}: unchanged, not listed — {v.unchanged}")
        elif v.error is not None:
            lines.append(f"{v.title}: failed — {v.error}")
    for v in result.variants:
        if v.latency_error or v.evaluation_error:
            lines.append(f"{v.title}: " + "; ".join(e for e in (v.latency_error, v.evaluation_error) if e))
        if v.ruled_out:
            lines.append(f"{v.title} does not fit: {'; '.join(v.ruled_out)}")
    lines.append("")
    if result.recommendation:
        lines.append(f"Recommended*: {result.recommendation_reason.split('. Ruled out')[0]}")
    else:
        lines.append(f"No recommendation: {result.recommendation_reason}")
    for v in result.variants:
        if v.path and not v.is_reference:
            lines.append(f"  {v.mode}: {v.path}")
    if result.settings_file:
        lines.append(f"Settings saved to {result.settings_file} (re-run: tflite-inspector quantize --rerun "
                     f"{result.settings_file})")
    return "\n".join(lines)
