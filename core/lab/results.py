"""What a lab run found, per variant and as a whole, and its JSON both ways: written by
`quantize --json` and beside the variants (docs/quantization.md), read back by the report and
by `quantize --rerun`'s settings."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from ..comparison.inputs import Normalization
from ..errors import ConversionError, ReportError
from ..files import publish, remove_quietly, temporary_beside
from ..metrics import json_number
from ..reading.regular_files import open_regular
from .contents import INTEGER_COMPUTE_DTYPES, OpPrecision
from .suggest import Suggestion
from .modes import INTEGER_MODES
from .settings import LabSettings, settings_path


@dataclass(frozen=True)
class MeasuredLatency:
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
    latency: MeasuredLatency | None = None
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
    # What runs in which precision (contents.op_precision): None for a result read from an older file.
    precision: OpPrecision | None = None
    kept_in_float: str = ""  # the ops the settings kept in float, described ("3 ops (PRELU ×3)"); "" for none

    @property
    def not_full_integer(self) -> bool:
        """A mode that promises integer layers, whose variant keeps some in float."""
        return self.mode in INTEGER_MODES and self.precision is not None and not self.precision.full_integer

    @property
    def usable(self) -> bool:
        """A produced, quantized variant: listed in the table as one."""
        return self.error is None and self.unchanged is None and self.path is not None

    def coverage(self, delegate: str) -> DelegateCoverage | None:
        return next((d for d in self.delegates if d.delegate == delegate), None)


# A variant this much slower than float32, or more, is called slower: below it, timing noise on a
# shared machine (medians of a few runs) can put a variant either side.
SLOWER_RATIO = 1.10


def slowdown(variant: VariantResult, reference: VariantResult) -> str | None:
    """When a quantized variant runs slower than float32 on this machine: by how much, and why as
    far as the numbers show (inserted conversions, ops XNNPACK leaves to the CPU, more XNNPACK
    partitions, int16 kernels XNNPACK does not have); None when it is not slower."""
    if variant.is_reference or variant.latency is None or reference.latency is None \
            or reference.latency.median_ms <= 0:
        return None
    ratio = variant.latency.median_ms / reference.latency.median_ms
    if ratio < SLOWER_RATIO:
        return None
    reasons = []
    if variant.precision is not None and reference.precision is not None:
        inserted = sum(variant.precision.conversions.values()) - sum(reference.precision.conversions.values())
        if inserted > 0:
            reasons.append(f"{inserted} QUANTIZE/DEQUANTIZE/CAST op{'' if inserted == 1 else 's'} inserted")
    mine, theirs = variant.coverage("xnnpack"), reference.coverage("xnnpack")
    if mine is not None and mine.ops_supported < mine.ops_total:
        refused = mine.ops_total - mine.ops_supported
        before = "" if theirs is None else f" (float32: {theirs.ops_total - theirs.ops_supported})"
        reasons.append(f"XNNPACK leaves {refused} of {mine.ops_total} ops to the CPU kernels{before}")
    if variant.latency.delegated_nodes > reference.latency.delegated_nodes:
        reasons.append(f"XNNPACK made {variant.latency.delegated_nodes} partitions (float32: "
                       f"{reference.latency.delegated_nodes}), each a hand-over to and from the CPU")
    if variant.mode == "int16x8":
        reasons.append("XNNPACK has no int16-activation kernels: the reference CPU kernels run them")
    explained = "; ".join(reasons) if reasons else "the op counts do not explain it (no per-op times measured)"
    return (f"{ratio:.2f}× slower than float32 on this machine ({variant.latency.median_ms:.3g} ms against "
            f"{reference.latency.median_ms:.3g} ms): {explained}")


@dataclass(frozen=True)
class LabResult:
    settings: LabSettings
    source_kind: str
    reference_path: str
    preprocessing: str
    # The one the inputs were prepared with (chosen or derived); None for a result read back from
    # its JSON, which keeps only the chosen one (in the settings).
    normalization: Normalization | None
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
    signature: str | None = None  # the signature calibrated, timed and compared; None: the source has none
    signature_subgraph: int = 0
    suggestion: Suggestion | None = None  # the Suggest search's steps, when settings.suggest asked for it

    @property
    def reference(self) -> VariantResult:
        return self.variants[0]

    def variant(self, mode: str) -> VariantResult | None:
        return next((v for v in self.variants if v.mode == mode), None)

    def slowdown(self, variant: VariantResult) -> str | None:
        return slowdown(variant, self.reference)


# --- JSON ---------------------------------------------------------------------------------------


def variant_dict(v: VariantResult, reference_size: int | None, reference: VariantResult | None = None,
                 ) -> dict[str, Any]:
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
        # Subgraph 0's ops by the dtype they compute in, the ops left in float by type (conversions
        # not counted), the QUANTIZE/DEQUANTIZE/CAST ops, and whether every layer is integer.
        "ops_by_dtype": None if v.precision is None else dict(v.precision.ops_by_dtype),
        "float_ops": None if v.precision is None else dict(v.precision.float_ops),
        "conversion_ops": None if v.precision is None else dict(v.precision.conversions),
        "full_integer": None if v.precision is None else v.precision.full_integer,
        "kept_in_float": v.kept_in_float or None,
        "slower_than_float": None if reference is None else slowdown(v, reference),
        "calibrated_on_random": v.calibrated_on_random,
        "unchanged": v.unchanged,
        "notes": list(v.notes),
        "fits_budget": v.fits,
        "ruled_out": list(v.ruled_out),
        "error": v.error,
    }


def suggestion_dict(s: Suggestion) -> dict[str, Any]:
    return {
        "target": {"mode": s.target.mode, "min_output_sqnr_db": s.target.min_output_sqnr_db,
                   "min_top1_agreement": s.target.min_top1_agreement, "max_float_ops": s.target.max_float_ops},
        "met": s.met,
        "chosen": s.chosen_mode_title,
        "note": s.note,
        "steps": [{"float_ops": list(step.float_ops), "float_op_types": list(step.float_types),
                   "size_bytes": step.size_bytes, "median_ms": step.median_ms,
                   "output_sqnr_db": json_number(step.output_sqnr_db), "top1_agreement": step.top1_agreement,
                   "error": step.error} for step in s.steps],
    }


def lab_dict(result: LabResult) -> dict[str, Any]:
    """The JSON of `tflite-inspector quantize --json` and of the saved results (docs/quantization.md)."""
    reference_size = result.reference.size_bytes
    return {
        "source": result.settings.source,
        "source_kind": result.source_kind,
        "reference": result.reference_path,
        "signature": result.signature,
        "subgraph": result.signature_subgraph,
        "preprocessing": result.preprocessing,
        "calibration": {"description": result.calibration, "count": result.calibration_count},
        "evaluation": {"description": result.evaluation, "count": result.evaluation_count},
        "random_inputs": result.random_inputs,
        "warnings": list(result.warnings),
        "variants": [variant_dict(v, reference_size, result.reference) for v in result.variants],
        "recommendation": result.recommendation,
        "recommendation_reason": result.recommendation_reason,
        "cancelled": result.cancelled,
        "suggestion": None if result.suggestion is None else suggestion_dict(result.suggestion),
        "settings": result.settings.to_dict(),
        "settings_file": result.settings_file,
    }


def save_result(result: LabResult, *, overwrite: bool) -> LabResult:
    """Write the settings and results beside the variants; the run can be re-done from this file."""
    path = settings_path(result.settings)
    result = replace(result, settings_file=path)
    temporary = temporary_beside(path)
    try:
        # Writing fails too (a full disk): the results are still shown, the partial file goes.
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(lab_dict(result), f, ensure_ascii=False, indent=1, allow_nan=False)
        publish(temporary, path, overwrite)
    except OSError as e:
        remove_quietly(temporary)
        reason = str(e) if isinstance(e, FileExistsError) else f"{path}: {e.strerror or e}"
        return replace(result, settings_file=None, warnings=(*result.warnings, f"settings not saved: {reason}"))
    return result


# --- reading a result back ----------------------------------------------------------------------


class _Fields:
    """A JSON object read defensively: a field of the wrong type counts as absent, since a results
    file may have been edited, or come from anywhere."""

    def __init__(self, data: Any) -> None:
        self._data = data if isinstance(data, dict) else {}

    def number(self, key: str) -> float | None:
        value = self._data.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def integer(self, key: str) -> int | None:
        value = self._data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def text(self, key: str) -> str | None:
        value = self._data.get(key)
        return value if isinstance(value, str) else None

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._data.get(key)
        return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

    def flag(self, key: str) -> bool:
        return self._data.get(key) is True

    def maybe_flag(self, key: str) -> bool | None:
        value = self._data.get(key)
        return value if isinstance(value, bool) else None

    def table(self, key: str) -> _Fields | None:
        value = self._data.get(key)
        return _Fields(value) if isinstance(value, dict) else None

    def items(self, key: str) -> list[tuple[str, _Fields]]:
        value = self._data.get(key)
        return [(str(k), _Fields(v)) for k, v in value.items() if isinstance(v, dict)] if isinstance(value, dict) else []

    def rows(self, key: str) -> list[_Fields]:
        value = self._data.get(key)
        return [_Fields(v) for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def raw(self, key: str) -> Any:
        return self._data.get(key)

    def keys(self) -> list[str]:
        return [str(k) for k in self._data]


def _variant_from(f: _Fields) -> VariantResult:
    mode = f.text("mode") or ""
    latency = f.table("latency_ms")
    measured = None
    if latency is not None and latency.number("median") is not None:
        measured = MeasuredLatency(latency.number("median") or 0.0, latency.number("p90") or 0.0,
                                   latency.integer("runs") or 0, latency.integer("threads") or 1,
                                   latency.integer("xnnpack_partitions") or 0)
    worst = f.table("worst_layer")
    worst_layer = None
    if worst is not None:
        sqnr = worst.number("sqnr_db")
        worst_layer = WorstLayer(worst.text("tensor") or "", worst.text("op") or "", worst.integer("op_index") or 0,
                                 math.nan if sqnr is None else float(sqnr))
    coverage = tuple(DelegateCoverage(key, d.integer("ops_supported") or 0, d.integer("ops_total") or 0,
                                      d.integer("partitions") or 0) for key, d in f.items("delegates"))
    sqnr = f.number("output_sqnr_db")
    precision = None
    by_dtype, floats = f.table("ops_by_dtype"), f.table("float_ops")
    if by_dtype is not None and floats is not None:
        conversions = f.table("conversion_ops") or _Fields({})
        counts = {key: by_dtype.integer(key) or 0 for key in by_dtype.keys()}
        precision = OpPrecision(
            counts, {key: conversions.integer(key) or 0 for key in conversions.keys()},
            {key: floats.integer(key) or 0 for key in floats.keys()},
            sum(n for dtype, n in counts.items() if dtype.upper() in INTEGER_COMPUTE_DTYPES))
    return VariantResult(
        mode=mode, title=f.text("title") or mode, path=f.text("path"), is_reference=f.flag("reference"),
        size_bytes=f.integer("size_bytes"), contents=f.text("contents") or "", latency=measured,
        latency_error=f.text("latency_error"), top1_agreement=f.number("top1_agreement"),
        output_sqnr_db=None if sqnr is None else float(sqnr), worst_layer=worst_layer,
        evaluation_error=f.text("evaluation_error"), delegates=coverage,
        calibrated_on_random=f.flag("calibrated_on_random"), unchanged=f.text("unchanged"), notes=f.texts("notes"),
        error=f.text("error"), fits=f.maybe_flag("fits_budget"), ruled_out=f.texts("ruled_out"),
        precision=precision, kept_in_float=f.text("kept_in_float") or "",
    )


def lab_result_from_dict(data: Any) -> LabResult:
    """A lab result from its JSON (lab_dict, as `quantize --json` prints it and the lab saves it).
    Raises ReportError when it is not lab results at all; fields of the wrong type count as absent."""
    f = _Fields(data)
    if not isinstance(data, dict) or not isinstance(data.get("variants"), list):
        raise ReportError('not quantization lab results (no "variants" list)')
    try:
        settings = LabSettings.from_dict(data.get("settings") if isinstance(data.get("settings"), dict) else {})
    except ConversionError:
        settings = LabSettings(source=f.text("source") or "", output_dir="", modes=())
    calibration, evaluation = f.table("calibration") or _Fields({}), f.table("evaluation") or _Fields({})
    return LabResult(
        settings=settings, source_kind=f.text("source_kind") or "", reference_path=f.text("reference") or "",
        preprocessing=f.text("preprocessing") or "", normalization=settings.normalization,
        calibration=calibration.text("description") or "", calibration_count=calibration.integer("count") or 0,
        evaluation=evaluation.text("description") or "", evaluation_count=evaluation.integer("count") or 0,
        random_inputs=f.flag("random_inputs"), warnings=f.texts("warnings"),
        variants=tuple(_variant_from(v) for v in f.rows("variants")),
        recommendation=f.text("recommendation"), recommendation_reason=f.text("recommendation_reason") or "",
        cancelled=f.flag("cancelled"), settings_file=f.text("settings_file"), signature=f.text("signature"),
        signature_subgraph=f.integer("subgraph") or 0,
    )


def load_lab_result(path: str) -> LabResult:
    """A lab's saved results (`<stem>_quantize.json`, or what `quantize --json` printed). Raises ReportError."""
    try:
        with open_regular(path) as file:  # a FIFO would block the open
            data = json.load(file)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ReportError(f"{path}: cannot read the quantization lab results: {e}") from None
    try:
        return lab_result_from_dict(data)
    except ReportError as e:
        raise ReportError(f"{path}: {e}") from None
