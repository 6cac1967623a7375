"""A reference model against one or more candidates, on the same inputs, layer by layer.

`compare_files` is the one flow behind `tflite-inspector compare` and the app's Compare page: it
reads the models, derives the preprocessing, loads the inputs and calls `compare_models`, which
matches the models' tensors (matching.py) and runs the inputs through all of them in the
interpreter worker (runtime/), where the per-tensor errors (core/metrics.py) are computed next
to the tensors, so only numbers cross the process boundary. Progress is reported per input;
cancelling (or stopping the worker) stops between inputs and keeps what was measured.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError, ModelError, RuntimeFailure, one_line
from ..metrics import ErrorMetrics, mean_over_inputs
from ..reading.labels import Labels, model_labels, read_label_file
from ..reading.model import Model, Subgraph
from ..reading.reader import read_model
from ..runtime.interpreter import RuntimeWorker
from ..runtime.protocol import CandidateRun, IsolatedRun, RunEntry, TensorIndexPair
from ..tasks import Cancelled, Progress, Steps
from .classifier import TOP_K, is_classifier_output, top_classes
from .isolation import IsolationUnavailable, build_isolated_model, build_rounded_reference
from .inputs import Normalization, Preprocessing, Sample, SampleSet, check_inputs_agree, prepare_samples
from .matching import SkippedWeights, TensorMatching, TensorPair, match_tensors
from .results import CandidateComparison, Comparison, LayerError, OutputAgreement, TopK
from .signatures import Entry, candidate_entry, model_entry, signature_keys

# Inputs go to the worker in batches sized so a request takes about this long: fewer round
# trips on small models, and progress and Cancel still answer within a fraction of a second.
REQUEST_SECONDS = 0.2
MAX_BATCH = 64
_batch_sizes: dict[tuple, int] = {}  # the last batch size of each comparison run in this process


class _Accumulator:
    """One candidate's numbers, gathered input by input."""

    def __init__(self, path: str, matching: TensorMatching, isolated: IsolatedRun | None = None,
                 rounded_reference: IsolatedRun | None = None, entry: Entry | None = None) -> None:
        self.path = path
        self.matching = matching
        self.entry = entry  # the candidate's signature and subgraph; None when it could not be read
        self.run = CandidateRun(path, tuple(TensorIndexPair(p.reference, p.candidate) for p in matching.pairs),
                                isolated, rounded_reference, entry.run_entry() if entry else RunEntry())
        self.per_input: list[tuple[ErrorMetrics, ...]] = []
        self.isolated_per_input: list[tuple[ErrorMetrics | None, ...]] = []
        self.own_per_input: list[tuple[ErrorMetrics | None, ...]] = []
        self.outputs: list[tuple[np.ndarray | None, ...]] = []
        self.error: str | None = None
        self.isolated_note: str | None = None  # why some or all layers have no isolated number


def compare_models(
    reference: Model | str,
    candidates: Sequence[Model | str],
    samples: SampleSet,
    worker: RuntimeWorker,
    *,
    labels: Labels | None = None,
    labels_source: str | None = None,
    preprocessing: str = "",
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
    isolated: bool = True,
    signature: str | None = None,
) -> Comparison:
    """Run every sample through the reference and the candidates; errors per matched tensor,
    end to end and, when `isolated`, with each candidate op run alone on the reference's
    activations (isolation.py). Each model runs `signature` (None: the reference's default, or
    subgraph 0 for a model without signatures; signatures.py), and is matched within it.

    Models are given as paths, or as Models already read (the app has them open); the
    interpreter loads them from their files either way.

    Raises ModelError when the reference cannot be read, RuntimeFailure when the interpreter
    cannot run it (or crashes or hangs), InputError when there is no input to run or the
    reference has no such signature.
    Candidates that cannot be read or run carry their own error instead.
    """
    if not samples.samples:
        detail = "; ".join(samples.errors[:3])
        raise InputError("no usable input" + (f": {detail}" if detail else ""))
    opened_here: list[Model] = []  # closed at the end; the results hold no views into them

    def open_model(given: Model | str) -> Model:
        if isinstance(given, Model):
            return given
        model = read_model(given)
        opened_here.append(model)
        return model

    try:
        reference = open_model(reference)
        entry = model_entry(reference, signature)
        accumulators: list[_Accumulator] = []
        candidate_models: dict[str, Model] = {}
        for given in candidates:
            path = given.path if isinstance(given, Model) else str(given)
            try:
                candidate = open_model(given)
                cand_entry = candidate_entry(candidate, entry)
                check_inputs_agree(reference, candidate, entry, cand_entry)
                candidate_models[path] = candidate
                matching = match_tensors(reference, candidate, entry, cand_entry)
                isolated_runs, note = ((None, None), None) if not isolated else _cached_isolated_runs(
                    reference, candidate, matching, entry.subgraph, cand_entry.subgraph)
                accumulators.append(_Accumulator(path, matching, *isolated_runs, entry=cand_entry))
                accumulators[-1].isolated_note = note
            except (ModelError, InputError) as e:
                failed = _Accumulator(path, TensorMatching((), (), SkippedWeights(0, 0)))
                failed.error = str(e)
                accumulators.append(failed)
        reference_outputs, done, was_cancelled = _run_samples(reference.path, accumulators, samples, worker,
                                                              Steps(len(samples.samples), progress, cancelled),
                                                              entry)
        names = tuple(s.name for s in samples.samples[:done])
        # Label files in TFLite metadata describe subgraph 0's outputs; another signature's
        # outputs get labels only when given (or from an attached file of the right length).
        if labels is None and entry.outputs:
            first_output = reference.subgraphs[entry.subgraph].tensors[entry.outputs[0]]
            classes = first_output.num_elements
            found = None
            if entry.subgraph == 0:
                found = model_labels(reference, 0, classes) or next(
                    (found for c in candidate_models.values() if (found := model_labels(c, 0, classes))), None
                )
            if found:
                labels, labels_source = found
        results = tuple(
            _candidate_result(reference, entry, candidate_models.get(a.path), a, reference_outputs, names, labels,
                              labels_source)
            for a in accumulators
        )
        return Comparison(
            reference=reference.path,
            candidates=results,
            inputs=names,
            inputs_description=samples.description,
            input_errors=samples.errors,
            preprocessing=preprocessing,
            random_inputs=samples.random,
            cancelled=was_cancelled,
            signature=entry.key,
            subgraph=entry.subgraph,
            signatures=signature_keys(reference),
            reference_run=entry.run_entry(),
        )
    finally:
        for model in opened_here:
            model.close()


# The isolated models (isolation.py) built in this process, kept for repeated comparisons of the
# same pair (the app re-running, another set of inputs): building and writing them costs tens of
# ms, and the worker keeps the interpreters it loaded from them as long as their files stay.
# Keyed by both files' identity (path, size, modification time), the subgraphs run and the
# matching; the files live in one temporary folder per process, removed at exit.
ISOLATED_KEEP = 8  # pairs kept; the oldest one's files are deleted when a ninth is built
_isolated_lock = threading.Lock()
_isolated_cache: dict[tuple, tuple[tuple[IsolatedRun | None, IsolatedRun | None], str | None]] = {}
_isolated_folder: list[str] = []  # the folder, once made
_isolated_count = itertools.count()


def _file_identity(model: Model) -> tuple[str, int, int] | None:
    """The model's file as (real path, size, modification time), or None when it cannot be told
    (no such file, or not the size it had when it was read: edited since)."""
    try:
        stat = os.stat(model.path)
    except (OSError, ValueError):
        return None
    if stat.st_size != model.size_bytes:
        return None
    return os.path.realpath(model.path), stat.st_size, stat.st_mtime_ns


def _isolated_dir() -> str:
    if not _isolated_folder:
        folder = tempfile.mkdtemp(prefix="tflite-inspector-isolated-")
        atexit.register(shutil.rmtree, folder, True)
        _isolated_folder.append(folder)
    return _isolated_folder[0]


def _remove_runs(runs: tuple[IsolatedRun | None, IsolatedRun | None]) -> None:
    for run in runs:
        if run is not None:
            try:
                os.remove(run.path)
            except OSError:
                pass


def clear_isolated_cache() -> None:
    """Forget the isolated models built so far and delete their files (tests, benchmarks)."""
    with _isolated_lock:
        for runs, _note in _isolated_cache.values():
            _remove_runs(runs)
        _isolated_cache.clear()


def _cached_isolated_runs(reference: Model, candidate: Model, matching: TensorMatching,
                          reference_subgraph: int = 0, candidate_subgraph: int = 0,
                          ) -> tuple[tuple[IsolatedRun | None, IsolatedRun | None], str | None]:
    """_isolated_runs, built once per (reference file, candidate file, subgraphs, matching) in
    this process. A model whose file cannot be identified gets its own build every time (kept
    among the ISOLATED_KEEP, so its files go like the others')."""
    ref_id, cand_id = _file_identity(reference), _file_identity(candidate)
    key: tuple = (ref_id, cand_id, reference_subgraph, candidate_subgraph, matching.pairs)
    if ref_id is None or cand_id is None:
        key = ("unidentified", next(_isolated_count))
    with _isolated_lock:
        found = _isolated_cache.pop(key, None)
        if found is not None and all(run is None or os.path.exists(run.path) for run in found[0]):
            _isolated_cache[key] = found  # most recently used last
            return found
        if found is not None:
            _remove_runs(found[0])
        stem = os.path.join(_isolated_dir(), str(next(_isolated_count)))
        built = _isolated_runs(reference, candidate, matching, stem, reference_subgraph, candidate_subgraph)
        _isolated_cache[key] = built
        while len(_isolated_cache) > ISOLATED_KEEP:
            _remove_runs(_isolated_cache.pop(next(iter(_isolated_cache)))[0])
        return built


def _isolated_runs(reference: Model, candidate: Model, matching: TensorMatching, stem: str,
                   reference_subgraph: int = 0, candidate_subgraph: int = 0,
                   ) -> tuple[tuple[IsolatedRun | None, IsolatedRun | None], str | None]:
    """The candidate's isolated model and the reference's rounded one (isolation.py), written
    next to `stem`, and a note on what they leave out."""
    try:
        built = build_isolated_model(candidate, matching.pairs, candidate_subgraph)
        rounded, rounding = build_rounded_reference(reference, candidate, matching.pairs, reference_subgraph,
                                                    candidate_subgraph)
    except IsolationUnavailable as e:
        return (None, None), f"no isolated numbers: {e}"
    for suffix, model in (("-candidate.tflite", built), ("-reference.tflite", rounded)):
        with open(stem + suffix, "wb") as f:
            f.write(model.data)
    note = None
    if built.left_out:
        first = next(iter(built.left_out.items()))
        note = (f"{len(built.left_out):,} op{'' if len(built.left_out) == 1 else 's'} not run in isolation "
                f"(e.g. op #{first[0]}: {first[1]})")
    return (IsolatedRun(stem + "-candidate.tflite", built.feeds),
            IsolatedRun(stem + "-reference.tflite", rounded.feeds, rounding)), note


def _run_samples(reference: str, accumulators: list[_Accumulator], samples: SampleSet, worker: RuntimeWorker,
                 steps: Steps, entry: Entry | None = None) -> tuple[list[tuple[np.ndarray | None, ...]], int, bool]:
    """The samples through the models, in batches; (the reference's outputs per input, inputs
    done, whether the run was cancelled)."""
    reference_outputs: list[tuple[np.ndarray | None, ...]] = []
    done = 0
    total = len(samples.samples)
    # Inputs per request: grows until a request takes about REQUEST_SECONDS. A comparison of the
    # same models run before starts at the size it ended with, instead of a first round trip for
    # one input (of a small model, a tenth of the whole run).
    key = (reference, tuple((a.path, a.run.isolated is not None) for a in accumulators))
    batch = _batch_sizes.pop(key, 1)
    while done < total:
        if steps.cancelled:
            return reference_outputs, done, True
        chunk = samples.samples[done : done + batch]
        active = [a for a in accumulators if a.error is None]
        steps.start(f"input {done + 1} of {total}")
        started = time.perf_counter()
        try:
            answers = worker.compare_samples(reference, [a.run for a in active], [s.values for s in chunk],
                                             *((entry.run_entry(),) if entry else ()))
        except Cancelled:  # the worker was stopped under the request: what was measured is kept
            return reference_outputs, done, True
        except RuntimeFailure as failure:
            # A crash or a hang ends the request for every model: find which one caused it, set
            # it aside with its error, and run the input again with the others.
            try:
                _blame_failure(failure, reference, active, chunk[0], worker, entry)
            except Cancelled:
                return reference_outputs, done, True
            continue
        for sample, answer in zip(chunk, answers):
            reference_outputs.append(answer.reference_outputs)
            for acc, result in zip(active, answer.candidates):
                if acc.error is not None:
                    continue
                if result.error is not None:
                    acc.error = one_line(f"the interpreter could not run it on {sample.name}: {result.error}"
                                         + (" (it gave no reason: often an allocation over the worker's memory limit)"
                                            if result.error.endswith(":") else ""))
                    continue
                acc.per_input.append(result.metrics)
                acc.outputs.append(result.outputs)
                if acc.run.isolated is not None:
                    if result.isolated_error is not None:
                        acc.isolated_note = one_line(f"no isolated numbers: the isolated model could not run ({result.isolated_error})")
                        acc.isolated_per_input.clear()  # all inputs or none: a partial mean would mislead
                        acc.own_per_input.clear()
                        acc.run = replace(acc.run, isolated=None, rounded_reference=None)  # not asked for again
                    else:
                        acc.isolated_per_input.append(result.isolated)
                        acc.own_per_input.append(result.isolated_own)
        done += len(chunk)
        per_input = (time.perf_counter() - started) / len(chunk)
        batch = max(1, min(MAX_BATCH, int(REQUEST_SECONDS / max(per_input, 1e-6))))
        _batch_sizes[key] = batch
        while len(_batch_sizes) > 32:
            _batch_sizes.pop(next(iter(_batch_sizes)))
        steps.finish(len(chunk))
    return reference_outputs, done, False


def _blame_failure(failure: RuntimeFailure, reference: str, active: list[_Accumulator], sample: Sample,
                   worker: RuntimeWorker, entry: Entry | None) -> None:
    """After a request failed as a whole (the worker crashed or did not answer), run `sample`
    through the reference alone, then through each candidate alone, and give each candidate that
    fails alone its own error. Re-raises, naming the reference, when the reference fails alone;
    and when no model fails alone (the failure came from running them together), the first
    candidate is set aside so that the run always moves on."""
    run_entry = (entry.run_entry(),) if entry else ()
    if not active:  # the reference ran alone: nothing to try again
        raise RuntimeFailure(f"{os.path.basename(reference)} (the reference): {failure}") from None
    try:
        worker.compare_samples(reference, [], [sample.values], *run_entry)
    except RuntimeFailure as e:
        raise RuntimeFailure(f"{os.path.basename(reference)} (the reference): {e}") from None
    blamed = False
    for acc in active:
        try:
            worker.compare_samples(reference, [acc.run], [sample.values], *run_entry)
        except RuntimeFailure as e:
            acc.error = f"{e} while running {sample.name}"
            blamed = True
    if not blamed:
        active[0].error = f"{failure} while running {sample.name} with the other candidates"


def _candidate_result(reference: Model, entry: Entry, candidate: Model | None, acc: _Accumulator,
                      reference_outputs: list[tuple[np.ndarray | None, ...]], names: tuple[str, ...],
                      labels: Labels | None, labels_source: str | None) -> CandidateComparison:
    if candidate is None or acc.entry is None or (acc.error is not None and not acc.per_input):
        return CandidateComparison(acc.path, error=acc.error)
    ref_sg, cand_sg = reference.subgraphs[entry.subgraph], candidate.subgraphs[acc.entry.subgraph]
    isolated = acc.run.isolated is not None and len(acc.isolated_per_input) == len(acc.per_input)
    own = isolated and all(len(values) == len(acc.matching.pairs) for values in acc.own_per_input)
    layers = [_layer(ref_sg, cand_sg, pair, tuple(values[k] for values in acc.per_input),
                     tuple(values[k] for values in acc.isolated_per_input) if isolated else (),
                     tuple(values[k] for values in acc.own_per_input) if own else ())
              for k, pair in enumerate(acc.matching.pairs)]
    by_reference: dict[int, LayerError] = {}
    for layer in layers:
        by_reference.setdefault(layer.reference_tensor, layer)
    outputs = []
    runs = len(acc.per_input)
    for position, (r, c) in enumerate(zip(entry.outputs, acc.entry.outputs)):
        name = ref_sg.tensors[r].name
        layer = by_reference.get(r)
        metrics = layer.metrics if layer else None
        first_labels = labels if position == 0 else None
        classifier = is_classifier_output(reference, r, labels is not None and position == 0, entry.subgraph)
        ref_scores = [outs[position] for outs in reference_outputs[:runs] if position < len(outs)]
        cand_scores = [outs[position] for outs in acc.outputs if position < len(outs)]
        if classifier and ref_scores and all(s is not None for s in ref_scores + cand_scores):
            k = min(TOP_K, ref_scores[0].size)
            tops = tuple(TopK(n, top_classes(rs, k, first_labels), top_classes(cs, k, first_labels))
                         for n, rs, cs in zip(names, ref_scores, cand_scores))
            top1 = sum(t.agrees for t in tops) / len(tops)
            overlap = sum(len({c.index for c in t.reference} & {c.index for c in t.candidate}) / k for t in tops)
            outputs.append(OutputAgreement(name, r, c, "classifier", metrics, top1, overlap / len(tops), k,
                                           labels_source if position == 0 else None, tops))
        else:
            outputs.append(OutputAgreement(name, r, c, "tensor", metrics))
    return CandidateComparison(
        acc.path, tuple(layers), tuple(outputs), acc.matching.unmatched, acc.matching.weights_skipped, acc.error,
        isolated=isolated, isolated_note=acc.isolated_note, run=acc.run.entry,
    )


def _complete_mean(per_input: tuple[ErrorMetrics | None, ...]) -> ErrorMetrics | None:
    """The mean over inputs when every input has a value, else None."""
    if not per_input or any(m is None for m in per_input):
        return None
    return mean_over_inputs(per_input)  # type: ignore[arg-type]


def _layer(ref_sg: Subgraph, cand_sg: Subgraph, pair: TensorPair, per_input: tuple[ErrorMetrics, ...],
           isolated_per_input: tuple[ErrorMetrics | None, ...], own_per_input: tuple[ErrorMetrics | None, ...],
           ) -> LayerError:
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
        isolated=_complete_mean(isolated_per_input),
        isolated_own=_complete_mean(own_per_input),
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
    isolated: bool = True  # also each layer's own error (isolation.py)
    signature: str | None = None  # the signature to run; None: the reference's default (signatures.py)


@dataclass(frozen=True)
class ComparisonRun:
    """A comparison with what it was run on: the app shows the samples' thumbnails and asks for
    tensor values on them; the report draws them."""

    preprocessing: Preprocessing
    samples: SampleSet  # every sample prepared (more than were run when cancelled)
    comparison: Comparison
    seconds: float = 0.0

    @property
    def run_samples(self) -> tuple[Sample, ...]:
        """The samples that were run, in the comparison's order."""
        return self.samples.samples[: len(self.comparison.inputs)]


def compare_files(request: ComparisonRequest, worker: RuntimeWorker, *, progress: Progress | None = None,
                  cancelled: Callable[[], bool] | None = None) -> ComparisonRun:
    """Read the models, derive the preprocessing, load the inputs, compare: the one flow behind
    `tflite-inspector compare` and the app's Compare page. Raises as `compare_models` does."""
    started = time.monotonic()
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
            signature=request.signature,
        )
        labels = read_label_file(request.labels_path) if request.labels_path else None
        readable = {m.path: m for m in models}
        comparison = compare_models(
            models[0], [readable.get(p, p) for p in request.candidates], samples, worker, labels=labels,
            labels_source=os.path.basename(request.labels_path) if request.labels_path else None,
            preprocessing=preprocessing.describe(), progress=progress, cancelled=cancelled,
            isolated=request.isolated, signature=request.signature,
        )
    finally:
        for model in models:  # the results hold no views into them
            model.close()
    return ComparisonRun(preprocessing, samples, comparison, time.monotonic() - started)
