"""The Compare page without widgets: the form (signature, candidates, inputs, preprocessing,
labels), the last run, and what of it is shown (candidate, metric, layer, input). The page's panels
show this and change it; `changed` names what changed: "signature", "candidates", "inputs",
"preprocessing", "labels", "messages" (a run started), "run" (a run ended), "candidate", "metric",
"layer", "input".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ...core.comparison.inputs import (
    InputSpec,
    Normalization,
    Preprocessing,
    check_inputs_agree,
    input_specs,
    suggest_normalization,
)
from ...core.comparison.results import CandidateComparison, LayerError
from ...core.comparison.run import ComparisonRequest, ComparisonRun
from ...core.comparison.signatures import Entry, candidate_entry, default_key, model_entry, signature_keys
from ...core.errors import InputError
from ...core.metrics import METRIC_NAMES
from ...core.reading.model import Model
from ...core.reading.reader import read_model
from ..forms import NormalizationChoice
from ..notify import Notifier

DEFAULT_RANDOM_COUNT = 8


@dataclass
class Candidate:
    path: str
    model: Model | None = None
    problem: str = ""  # why it cannot be compared ("" while it is read, or when it can)
    reading: bool = True

    @property
    def usable(self) -> bool:
        return self.model is not None and not self.problem


def read_candidate(path: str, reference: Model, signature: str | None = None) -> tuple[Model, str]:
    """Runs in a worker thread: the candidate, and why it cannot be compared with the reference
    ("" when it can) in `signature` (None: the reference's default)."""
    model = read_model(path)
    return model, candidate_problem(reference, model, signature)


def candidate_problem(reference: Model, candidate: Model, signature: str | None) -> str:
    """Why the candidate cannot be compared with the reference in `signature`, or ""."""
    try:
        entry = model_entry(reference, signature)
        check_inputs_agree(reference, candidate, entry, candidate_entry(candidate, entry))
    except InputError as e:
        return str(e)
    return ""


class ComparePage:
    def __init__(self, reference: Model) -> None:
        self.reference = reference
        # The signature run and compared (core/comparison/signatures.py); the Signature box offers
        # the others when the model has more than one.
        self.signatures: tuple[str, ...] = signature_keys(reference)
        self.signature: str | None = default_key(reference)
        self.entry: Entry = model_entry(reference, self.signature)
        self.reference_specs: list[InputSpec] = input_specs(reference, self.entry)
        self.candidates: dict[str, Candidate] = {}
        self.inputs: list[str] = []
        self.random_count: int | None = None  # random inputs instead of the files, when asked for
        self.normalization = NormalizationChoice()
        self.suggestion: Normalization = suggest_normalization([reference], self.signature)
        self.resize = "stretch"
        self.label_file = ""  # "": the labels the models carry, if any
        self.run_when_ready = False  # run once the candidates are read (handed over by the lab)
        self.run: ComparisonRun | None = None
        self.run_number = 0  # counts the runs shown, so cached values of an older run are not reused
        self.run_messages: list[str] = []
        self.outcome = ""  # how the last run ended, shown until something stops the next
        # What of the run is shown.
        self.shown: list[CandidateComparison] = []  # candidates with layers
        self.candidate_index = 0
        self.metric = "sqnr_db"
        self.log_scale = False
        self.layer: int | None = None  # position in the shown candidate's layers
        self.input_index = 0
        self.changed = Notifier()

    # -- the signature --------------------------------------------------------------------------

    def set_signature(self, key: str) -> None:
        """Run and compare signature `key`: its inputs, and whether each candidate has it."""
        if key == self.signature or key not in self.signatures:
            return
        self.signature = key
        self.entry = model_entry(self.reference, key)
        self.reference_specs = input_specs(self.reference, self.entry)
        for candidate in self.candidates.values():
            if candidate.model is not None and not candidate.reading:
                candidate.problem = candidate_problem(self.reference, candidate.model, key)
        self.changed.notify("signature")
        self._candidates_changed()

    # -- candidates -----------------------------------------------------------------------------

    def add_candidate(self, path: str) -> bool:
        """A new candidate, marked as being read; False when it is already there."""
        path = os.path.abspath(path)
        if path in self.candidates:
            return False
        self.candidates[path] = Candidate(path)
        self.changed.notify("candidates")
        return True

    def candidate_read(self, path: str, model: Model, problem: str) -> bool:
        """False when the candidate was removed while it was read (the caller closes the model)."""
        candidate = self.candidates.get(path)
        if candidate is None:
            return False
        # Checked again (it is quick) for the signature chosen now: it may have changed while the
        # file was read in the background.
        problem = candidate_problem(self.reference, model, self.signature)
        candidate.model, candidate.problem, candidate.reading = model, problem, False
        self._candidates_changed()
        return True

    def candidate_failed(self, path: str, message: str) -> None:
        candidate = self.candidates.get(path)
        if candidate is not None:
            candidate.problem, candidate.reading = message, False
            self._candidates_changed()

    def remove_candidate(self, path: str) -> None:
        candidate = self.candidates.pop(path, None)
        if candidate is not None and candidate.model is not None:
            candidate.model.close()
        self._candidates_changed()

    def _candidates_changed(self) -> None:
        models = [self.reference, *(c.model for c in self.candidates.values() if c.usable and c.model)]
        self.suggestion = suggest_normalization(models, self.signature)
        self.changed.notify("candidates")

    @property
    def reading(self) -> bool:
        return any(c.reading for c in self.candidates.values())

    def candidate_problems(self) -> list[str]:
        return [f"{os.path.basename(path)}: {c.problem}" for path, c in self.candidates.items() if c.problem]

    # -- inputs and preprocessing -----------------------------------------------------------------

    def add_inputs(self, paths: Sequence[str]) -> None:
        """Files and folders; whether each can be used is decided, per file, when the run reads it."""
        for path in paths:
            path = os.path.abspath(path)
            if path not in self.inputs:
                self.inputs.append(path)
        self.changed.notify("inputs")

    def clear_inputs(self) -> None:
        self.inputs.clear()
        self.changed.notify("inputs")

    def set_random(self, count: int | None) -> None:
        """`count` random inputs instead of the files; None: the files."""
        self.random_count = count
        self.changed.notify("inputs")

    def set_normalization(self, normalization: Normalization | None) -> None:
        """None: the models' suggestion; a preset is chosen by its name, anything else as custom."""
        self.normalization.set(normalization)
        self.changed.notify("normalization")

    def set_resize(self, resize: str) -> None:
        self.resize = resize
        self.changed.notify("preprocessing")

    def chosen_normalization(self) -> Normalization:
        """The normalization chosen, or the suggestion; InputError when a custom one is not usable."""
        return self.normalization.chosen() or self.suggestion

    def preprocessing(self) -> Preprocessing:
        """Raises InputError as chosen_normalization does."""
        return Preprocessing(self.chosen_normalization(), self.resize)

    def set_label_file(self, path: str) -> None:
        self.label_file = path
        self.changed.notify("labels")

    # -- running ----------------------------------------------------------------------------------

    def blocker(self) -> str:
        """Why Run cannot start, or ""."""
        if not self.candidates:
            return "Add a candidate (.tflite) to compare this model with."
        if self.reading:
            return "Reading the candidates…"
        if not any(c.usable for c in self.candidates.values()):
            return "No candidate can be compared (see the messages)."
        if not self.random_count and not self.inputs:
            return "Add images, arrays or a folder, or tick random inputs."
        try:
            self.chosen_normalization()
        except InputError as e:
            return str(e)
        return ""

    def request(self) -> ComparisonRequest:
        """The run the form describes (check `blocker` first)."""
        return ComparisonRequest(
            self.reference.path, tuple(p for p, c in self.candidates.items() if c.usable), tuple(self.inputs),
            self.chosen_normalization(), self.resize, self.random_count or 0,
            labels_path=self.label_file or None, signature=self.signature,
        )

    def run_started(self) -> None:
        self.run_messages = []
        self.changed.notify("messages")

    def run_finished(self, run: ComparisonRun) -> None:
        comparison = run.comparison
        done, total = len(comparison.inputs), len(run.samples.samples)
        if comparison.cancelled:
            self.outcome = f"Cancelled after {done} of {total} inputs."
        else:
            self.outcome = f"Compared on {done} input{'' if done == 1 else 's'} in {run.seconds:.1f} s."
        self.run_messages = [*comparison.input_errors,
                             *(f"{c.file_name}: {c.error}" for c in comparison.candidates if c.error)]
        self.run = run
        self.run_number += 1
        self.shown = [c for c in comparison.candidates if c.layers] if comparison.inputs else []
        self.candidate_index, self.layer, self.input_index = 0, None, 0
        self.changed.notify("run")

    def run_failed(self, message: str) -> None:
        self.outcome = "The comparison could not run."
        self.run_messages = [f"The comparison could not run: {message}"]
        self.changed.notify("run")

    def run_cancelled(self) -> None:
        self.outcome = "Cancelled before an input was measured; nothing was kept."
        self.changed.notify("run")

    def messages(self) -> list[str]:
        """What could not be used and why: candidates first, then what the last run said."""
        return [*self.candidate_problems(), *self.run_messages]

    # -- what is shown of the run -----------------------------------------------------------------

    @property
    def candidate(self) -> CandidateComparison | None:
        return self.shown[self.candidate_index] if 0 <= self.candidate_index < len(self.shown) else None

    def choose_candidate(self, index: int) -> None:
        if index != self.candidate_index and 0 <= index < len(self.shown):
            self.candidate_index, self.layer = index, None
            self.changed.notify("candidate")

    def set_metric(self, metric: str) -> None:
        if metric in METRIC_NAMES and metric != self.metric:
            self.metric = metric
            self.changed.notify("metric")

    def set_log_scale(self, log: bool) -> None:
        self.log_scale = log
        self.changed.notify("metric")

    def select_layer(self, position: int, candidate: int | None = None) -> LayerError | None:
        """Layer `position` of the shown candidate (of candidate `candidate` first, when given)."""
        if candidate is not None:
            self.choose_candidate(candidate)
        shown = self.candidate
        if shown is None or not 0 <= position < len(shown.layers):
            return None
        self.layer = position
        self.changed.notify("layer")
        return shown.layers[position]

    @property
    def selected_layer(self) -> LayerError | None:
        candidate = self.candidate
        return None if candidate is None or self.layer is None else candidate.layers[self.layer]

    def choose_input(self, index: int) -> None:
        if index != self.input_index:
            self.input_index = index
            self.changed.notify("input")

    def close(self) -> None:
        for candidate in self.candidates.values():
            if candidate.model is not None:
                candidate.model.close()
