"""A reference model against one or more candidates, on the same inputs, layer by layer.

The same function backs `tflite-inspector compare` and the app's Compare page:
`compare_models` reads the models, matches their tensors (core/matching.py), then runs
each input through all of them in the interpreter worker (core/runtime.py), where the
per-tensor errors (core/metrics.py) are computed next to the tensors, so only numbers
cross the process boundary. Progress is reported per input; cancelling stops between
inputs and keeps what was measured.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .inputs import InputError, Normalization, Preprocessing, SampleSet, check_inputs_agree, prepare_samples
from .matching import TensorMatching, TensorPair, UnmatchedTensor, match_tensors
from .metrics import METRIC_NAMES, ErrorMetrics, badness, json_number, mean_over_inputs
from .model import Model, ModelError
from .runtime import RuntimeWorker
from .tflite_reader import read_associated_file

TOP_K = 5
# Inputs go to the worker in batches sized so a request takes about this long: fewer round
# trips on small models, and progress and Cancel still answer within a fraction of a second.
REQUEST_SECONDS = 0.2
MAX_BATCH = 64
# Ops whose output is a score per class (not LOGISTIC: masks and gates use it too). An output
# they produce (through requantizing or reshaping ops) is read as a classifier's when it is a
# vector of at least two values.
_SCORE_OPS = ("SOFTMAX", "LOG_SOFTMAX")


@dataclass(frozen=True)
class LayerError:
    """One matched tensor: the error of the candidate's values against the reference's."""

    reference_tensor: int
    candidate_tensor: int
    reference_name: str
    candidate_name: str
    op: str  # the reference op that produces the tensor, "input" for a model input
    op_index: int  # in the reference's subgraph 0, −1 for a model input
    candidate_op: str
    candidate_op_index: int
    how: str  # how the tensors were matched (core/matching.py)
    candidate_dtype: str
    metrics: ErrorMetrics  # the mean over inputs
    per_input: tuple[ErrorMetrics, ...]


@dataclass(frozen=True)
class TopK:
    input: str
    reference: tuple[tuple[int, str, float], ...]  # (class, label, score), best first
    candidate: tuple[tuple[int, str, float], ...]


@dataclass(frozen=True)
class OutputAgreement:
    name: str
    reference_tensor: int
    candidate_tensor: int
    kind: str  # "classifier" or "tensor"
    metrics: ErrorMetrics | None
    top1_agreement: float | None = None  # share of inputs whose best class is the same
    topk_overlap: float | None = None  # mean share of the reference's top k found in the candidate's top k
    k: int = 0
    labels_source: str | None = None
    top: tuple[TopK, ...] = ()


@dataclass(frozen=True)
class CandidateComparison:
    path: str
    layers: tuple[LayerError, ...] = ()
    outputs: tuple[OutputAgreement, ...] = ()
    unmatched: tuple[UnmatchedTensor, ...] = ()
    weights_skipped: tuple[int, int] = (0, 0)
    error: str | None = None

    @property
    def file_name(self) -> str:
        return os.path.basename(self.path)

    def worst_layers(self, metric: str = "sqnr_db", count: int = 5) -> list[LayerError]:
        ranked = [layer for layer in self.layers if badness(layer.metrics, metric) > -math.inf]
        ranked.sort(key=lambda layer: badness(layer.metrics, metric), reverse=True)
        return ranked[:count]


@dataclass(frozen=True)
class Comparison:
    reference: str
    candidates: tuple[CandidateComparison, ...]
    inputs: tuple[str, ...]  # the names of the inputs that were run
    inputs_description: str
    input_errors: tuple[str, ...]
    preprocessing: str
    random_inputs: bool = False
    cancelled: bool = False


def parse_labels(text: str) -> list[str] | dict[int, str]:
    """A label file: one label per line, or "<id> <label>" / "<id>: <label>" lines (Coral's format)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    numbered = [re.match(r"^(\d+)[:\s]\s*(.+)$", line) for line in lines]
    if lines and all(numbered):
        return {int(m.group(1)): m.group(2).strip() for m in numbered if m}
    return lines


def model_labels(model: Model, output_position: int, classes: int) -> tuple[list[str] | dict[int, str], str] | None:
    """The labels a model carries for an output of `classes` scores: the TENSOR_AXIS_LABELS file
    its metadata names, else an attached .txt file (no metadata, a zip after the flatbuffer)
    holding exactly `classes` labels."""
    md = model.tflite_metadata
    named = []
    if md and md.subgraphs and output_position < len(md.subgraphs[0].outputs):
        named = [f.name for f in md.subgraphs[0].outputs[output_position].associated_files
                 if f.type == "TENSOR_AXIS_LABELS"]
    unnamed = [f.name for f in model.zip_files if f.name.lower().endswith(".txt") and f.name not in named]
    for name in named + unnamed:
        try:
            labels = parse_labels(read_associated_file(model, name).decode("utf-8", "replace"))
        except ModelError:
            continue
        if name in named or len(labels) == classes:
            return labels, f"{name} in {model.file_name}"
    return None


def read_label_file(path: str) -> list[str] | dict[int, str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_labels(f.read(1 << 22))
    except OSError as e:
        raise InputError(f"{os.path.basename(path)}: cannot read the label file ({e.strerror or e})") from None


def _label(labels: list[str] | dict[int, str] | None, index: int) -> str:
    if isinstance(labels, dict):
        return labels.get(index, str(index))
    if labels and index < len(labels):
        return labels[index]
    return str(index)


def _is_classifier_output(model: Model, tensor_index: int, labelled: bool) -> bool:
    sg = model.main_subgraph
    t = sg.tensors[tensor_index]
    shape = [d for d in t.shape if d != 1]
    if len(shape) != 1 or shape[0] < 2:
        return False
    if labelled:
        return True
    producers = sg.producers
    index = tensor_index
    for _ in range(4):  # through QUANTIZE/DEQUANTIZE/CAST/RESHAPE to the op that made the scores
        op = producers.get(index)
        if op is None:
            return False
        operator = sg.operators[op]
        if operator.opcode in _SCORE_OPS:
            return True
        if operator.opcode not in ("QUANTIZE", "DEQUANTIZE", "CAST", "RESHAPE", "SQUEEZE") or not operator.inputs:
            return False
        index = operator.inputs[0]
    return False


def _top(scores: np.ndarray, k: int, labels: list[str] | dict[int, str] | None) -> tuple[tuple[int, str, float], ...]:
    flat = scores.ravel()
    order = np.argsort(-flat, kind="stable")[:k]
    return tuple((int(i), _label(labels, int(i)), float(flat[i])) for i in order)


class _Accumulator:
    """Per-candidate numbers gathered input by input."""

    def __init__(self, path: str, matching: TensorMatching) -> None:
        self.path = path
        self.matching = matching
        self.per_input: list[list[tuple]] = []
        self.outputs: list[list[np.ndarray | None]] = []
        self.error: str | None = None


def _open(model: Model | str) -> Model:
    from .tflite_reader import read_model

    return model if isinstance(model, Model) else read_model(model)


def compare_models(
    reference: Model | str,
    candidates: Sequence[Model | str],
    samples: SampleSet,
    worker: RuntimeWorker,
    *,
    labels: list[str] | dict[int, str] | None = None,
    labels_source: str | None = None,
    preprocessing: str = "",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Comparison:
    """Run every sample through the reference and the candidates; errors per matched tensor.

    Models are given as paths, or as Models already read (the app has them open); the
    interpreter loads them from their files either way.

    Raises ModelError when the reference cannot be read, RuntimeFailure when the interpreter
    cannot run it (or crashes or hangs), InputError when there is no input to run.
    Candidates that cannot be read or run carry their own error instead.
    """
    if not samples.samples:
        detail = "; ".join(samples.errors[:3])
        raise InputError("no usable input" + (f": {detail}" if detail else ""))
    reference = _open(reference)
    reference_path = reference.path
    accumulators: list[_Accumulator] = []
    opened: dict[str, Model] = {}
    for given in candidates:
        path = given.path if isinstance(given, Model) else str(given)
        try:
            candidate = _open(given)
            check_inputs_agree(reference, candidate)
            opened[path] = candidate
            accumulators.append(_Accumulator(path, match_tensors(reference, candidate)))
        except (ModelError, InputError) as e:
            failed = _Accumulator(path, TensorMatching((), (), (0, 0)))
            failed.error = str(e)
            accumulators.append(failed)
    running = [a for a in accumulators if a.error is None]
    reference_outputs: list[list[np.ndarray | None]] = []
    done = 0
    was_cancelled = False
    batch = 1  # inputs per request: grows until a request takes about REQUEST_SECONDS
    while done < len(samples.samples):
        if cancelled is not None and cancelled():
            was_cancelled = True
            break
        chunk = samples.samples[done : done + batch]
        active = [a for a in running if a.error is None]
        started = time.perf_counter()
        answers = worker.compare_samples(
            reference_path,
            [(a.path, [(p.reference, p.candidate) for p in a.matching.pairs]) for a in active],
            [sample.values for sample in chunk],
        )
        for sample, answer in zip(chunk, answers):
            reference_outputs.append(answer["reference_outputs"])
            for acc, result in zip(active, answer["candidates"]):
                if acc.error is not None:
                    continue
                if "error" in result:
                    acc.error = f"the interpreter could not run it on {sample.name}: {result['error']}"
                    continue
                acc.per_input.append(result["metrics"])
                acc.outputs.append(result["outputs"])
        done += len(chunk)
        per_input = (time.perf_counter() - started) / len(chunk)
        batch = max(1, min(MAX_BATCH, int(REQUEST_SECONDS / max(per_input, 1e-6))))
        if progress is not None:
            progress(done, len(samples.samples))
    names = tuple(s.name for s in samples.samples[:done])
    if labels is None and reference.main_subgraph.outputs:
        first_output = reference.main_subgraph.tensors[reference.main_subgraph.outputs[0]]
        classes = first_output.num_elements
        found = model_labels(reference, 0, classes) or next(
            (found for c in opened.values() if (found := model_labels(c, 0, classes))), None
        )
        if found:
            labels, labels_source = found
    results = tuple(
        _candidate_result(reference, opened.get(a.path), a, reference_outputs, names, labels, labels_source)
        for a in accumulators
    )
    return Comparison(
        reference=reference_path,
        candidates=results,
        inputs=names,
        inputs_description=samples.description,
        input_errors=samples.errors,
        preprocessing=preprocessing,
        random_inputs=samples.random,
        cancelled=was_cancelled,
    )


def _candidate_result(reference: Model, candidate: Model | None, acc: _Accumulator,
                      reference_outputs: list[list[np.ndarray | None]], names: tuple[str, ...],
                      labels: list[str] | dict[int, str] | None, labels_source: str | None) -> CandidateComparison:
    if candidate is None or (acc.error is not None and not acc.per_input):
        return CandidateComparison(acc.path, error=acc.error)
    ref_sg, cand_sg = reference.main_subgraph, candidate.main_subgraph
    layers = []
    for k, pair in enumerate(acc.matching.pairs):
        per_input = tuple(ErrorMetrics(*values[k]) for values in acc.per_input)  # tuples after pickling
        layers.append(_layer(reference, candidate, pair, per_input))
    by_reference = {}
    for layer in layers:
        by_reference.setdefault(layer.reference_tensor, layer)
    outputs = []
    runs = len(acc.per_input)
    for position, (r, c) in enumerate(zip(ref_sg.outputs, cand_sg.outputs)):
        name = ref_sg.tensors[r].name
        layer = by_reference.get(r)
        kind = "classifier" if _is_classifier_output(reference, r, labels is not None and position == 0) else "tensor"
        ref_scores = [outs[position] for outs in reference_outputs[:runs] if position < len(outs)]
        cand_scores = [outs[position] for outs in acc.outputs if position < len(outs)]
        if kind == "classifier" and all(s is not None for s in ref_scores + cand_scores) and ref_scores:
            k = min(TOP_K, ref_scores[0].size)
            tops = tuple(
                TopK(n, _top(rs, k, labels if position == 0 else None), _top(cs, k, labels if position == 0 else None))
                for n, rs, cs in zip(names, ref_scores, cand_scores)
            )
            top1 = sum(t.reference[0][0] == t.candidate[0][0] for t in tops) / len(tops)
            overlap = sum(len({i for i, _, _ in t.reference} & {i for i, _, _ in t.candidate}) / k for t in tops)
            outputs.append(OutputAgreement(
                name, r, c, kind, layer.metrics if layer else None, top1, overlap / len(tops), k,
                labels_source if position == 0 else None, tops,
            ))
        else:
            outputs.append(OutputAgreement(name, r, c, "tensor", layer.metrics if layer else None))
    return CandidateComparison(
        acc.path, tuple(layers), tuple(outputs), acc.matching.unmatched, acc.matching.weights_skipped, acc.error
    )


def _layer(reference: Model, candidate: Model, pair: TensorPair, per_input: tuple[ErrorMetrics, ...]) -> LayerError:
    ref_sg, cand_sg = reference.main_subgraph, candidate.main_subgraph
    ref_t, cand_t = ref_sg.tensors[pair.reference], cand_sg.tensors[pair.candidate]
    return LayerError(
        reference_tensor=pair.reference,
        candidate_tensor=pair.candidate,
        reference_name=ref_t.name,
        candidate_name=cand_t.name,
        op="input" if pair.reference_op < 0 else ref_sg.operators[pair.reference_op].opcode,
        op_index=pair.reference_op,
        candidate_op="input" if pair.candidate_op < 0 else cand_sg.operators[pair.candidate_op].opcode,
        candidate_op_index=pair.candidate_op,
        how=pair.how,
        candidate_dtype=cand_t.dtype,
        metrics=mean_over_inputs(per_input),
        per_input=per_input,
    )


@dataclass(frozen=True)
class ComparisonRequest:
    """What the user asked for, in the CLI's or the app's terms: files and choices."""

    reference: str
    candidates: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    normalization: Normalization | None = None  # None: suggest_normalization's choice
    resize: str = "stretch"
    random_count: int = 0  # > 0: that many random inputs instead of the files
    seed: int = 0
    limit: int | None = None
    labels_path: str | None = None


@dataclass(frozen=True)
class ComparisonRun:
    preprocessing: Preprocessing
    samples: SampleSet  # the app shows their thumbnails and asks for tensor values on them
    comparison: Comparison


def compare_files(request: ComparisonRequest, worker: RuntimeWorker, *,
                  progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ComparisonRun:
    """Read the models, derive the preprocessing, load the inputs, compare: the one flow behind
    `tflite-inspector compare` and the app's Compare page. Raises as `compare_models` does."""
    from .tflite_reader import read_model

    models = []
    for path in (request.reference, *request.candidates):
        try:
            models.append(read_model(path))
        except ModelError:
            if path == request.reference:
                raise
            # compare_models gives an unreadable candidate its own error.
    try:
        preprocessing, samples = prepare_samples(
            models, request.inputs, normalization=request.normalization, resize=request.resize,
            random_count=request.random_count, seed=request.seed, limit=request.limit,
        )
        labels = read_label_file(request.labels_path) if request.labels_path else None
        readable = {m.path: m for m in models}
        comparison = compare_models(
            models[0], [readable.get(p, p) for p in request.candidates], samples, worker, labels=labels,
            labels_source=os.path.basename(request.labels_path) if request.labels_path else None,
            preprocessing=preprocessing.describe(), progress=progress, cancelled=cancelled,
        )
    finally:
        for model in models:  # the results hold no views into them
            model.close()
    return ComparisonRun(preprocessing, samples, comparison)


# --- JSON and text -----------------------------------------------------------------------------


def _metrics_dict(metrics: ErrorMetrics | None) -> dict[str, Any]:
    if metrics is None:
        return {name: None for name in METRIC_NAMES}
    return {name: json_number(getattr(metrics, name)) for name in METRIC_NAMES}


def _classes(top: tuple[tuple[int, str, float], ...]) -> list[dict[str, Any]]:
    return [{"class": i, "label": label, "score": json_number(score)} for i, label, score in top]


def comparison_dict(comparison: Comparison, *, per_input: bool = False) -> dict[str, Any]:
    """The JSON form (docs/comparison.md): floats that are infinite or NaN become null."""
    candidates = []
    for cand in comparison.candidates:
        layers = []
        for layer in cand.layers:
            entry = {
                "reference_tensor": layer.reference_name,
                "candidate_tensor": layer.candidate_name,
                "op": layer.op,
                "op_index": layer.op_index,
                "candidate_op": layer.candidate_op,
                "matched_by": layer.how,
                "candidate_dtype": layer.candidate_dtype,
                **_metrics_dict(layer.metrics),
                "identical": layer.metrics.sqnr_db == math.inf,
            }
            if per_input:
                entry["per_input"] = [_metrics_dict(m) for m in layer.per_input]
            layers.append(entry)
        outputs = []
        for out in cand.outputs:
            entry = {
                "name": out.name,
                "kind": out.kind,
                "top1_agreement": out.top1_agreement,
                "topk_overlap": out.topk_overlap,
                "k": out.k or None,
                "labels": out.labels_source,
                **_metrics_dict(out.metrics),
            }
            if out.top:
                entry["top"] = [
                    {"input": t.input, "reference": _classes(t.reference), "candidate": _classes(t.candidate)}
                    for t in out.top
                ]
            outputs.append(entry)
        candidates.append({
            "path": cand.path,
            "error": cand.error,
            "layers": layers,
            "outputs": outputs,
            "unmatched": [
                {"model": u.model, "tensor": u.name, "op": u.opcode, "op_index": u.op, "reason": u.reason}
                for u in cand.unmatched
            ],
            "dequantized_weights_skipped": {"reference": cand.weights_skipped[0], "candidate": cand.weights_skipped[1]},
        })
    return {
        "reference": comparison.reference,
        "inputs": list(comparison.inputs),
        "inputs_description": comparison.inputs_description,
        "random_inputs": comparison.random_inputs,
        "input_errors": list(comparison.input_errors),
        "preprocessing": comparison.preprocessing,
        "cancelled": comparison.cancelled,
        "candidates": candidates,
    }


def _fmt(value: float | None, kind: str = "g") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value == math.inf:
        return "exact"
    if kind == "db":
        return f"{value:.1f}"
    if kind == "f":
        return f"{value:.4f}"
    return f"{value:.3g}"


def format_comparison_text(comparison: Comparison, *, verbose: bool = False, worst: int = 10) -> str:
    lines = [f"reference: {comparison.reference}"]
    lines.append(f"inputs: {comparison.inputs_description}" + ("  [RANDOM DATA]" if comparison.random_inputs else ""))
    if comparison.preprocessing:
        lines.append(f"preprocessing: {comparison.preprocessing}")
    for message in comparison.input_errors:
        lines.append(f"  skipped: {message}")
    if comparison.cancelled:
        lines.append(f"cancelled after {len(comparison.inputs)} input(s)")
    for cand in comparison.candidates:
        lines.append("")
        lines.append(f"candidate: {cand.path}")
        if cand.error:
            lines.append(f"  error: {cand.error}")
        if not cand.layers:
            continue
        for out in cand.outputs:
            if out.kind == "classifier":
                lines.append(
                    f"  output {out.name}: top-1 agreement {out.top1_agreement:.0%}, "
                    f"top-{out.k} overlap {out.topk_overlap:.0%}"
                    + (f" (labels: {out.labels_source})" if out.labels_source else "")
                )
            m = out.metrics
            if m is not None:
                lines.append(
                    f"  output {out.name}: SQNR {_fmt(m.sqnr_db, 'db')} dB, cosine {_fmt(m.cosine, 'f')}, "
                    f"MSE {_fmt(m.mean_squared_error)}, max |error| {_fmt(m.max_abs_error)}"
                )
        shown = cand.layers if verbose else cand.worst_layers("sqnr_db", worst)
        lines.append(
            f"  {'all' if verbose else f'worst {len(shown)} of'} {len(cand.layers)} matched tensors"
            + ("" if verbose else " by SQNR")
            + f"; {len(cand.unmatched)} unmatched"
        )
        lines.append(f"    {'#':>5} {'op':<18} {'SQNR dB':>8} {'cosine':>8} {'MSE':>10} {'max|err|':>10} "
                     f"{'rmse/scale':>10}  tensor")
        for layer in shown:
            m = layer.metrics
            flag = " !" if m.rmse_over_scale is not None and m.rmse_over_scale > 0.7 else ""
            lines.append(
                f"    {layer.op_index if layer.op_index >= 0 else '-':>5} {layer.op[:18]:<18} "
                f"{_fmt(m.sqnr_db, 'db'):>8} {_fmt(m.cosine, 'f'):>8} {_fmt(m.mean_squared_error):>10} "
                f"{_fmt(m.max_abs_error):>10} {_fmt(m.rmse_over_scale):>10}{flag:2} {layer.reference_name[:60]}"
            )
        for u in cand.unmatched[: None if verbose else 10]:
            lines.append(f"  unmatched in {u.model}: {u.name} ({u.opcode}): {u.reason}")
        if not verbose and len(cand.unmatched) > 10:
            lines.append(f"  ... {len(cand.unmatched) - 10} more unmatched (-v lists all)")
    return "\n".join(lines)

