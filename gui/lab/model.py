"""The quantization lab's window without widgets: the form (source, modes, inputs, measuring,
output folder), the device budget, and the last run with the budget applied. The window shows
this and changes it; `changed` names what changed: "source", "form", "inputs", "budget",
"normalization", "result", "run".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ...core.comparison.inputs import Normalization
from ...core.errors import ConversionError, InputError, InspectorError
from ...core.lab.budget import apply_budget
from ...core.lab.input_warnings import input_warnings, planned_counts
from ...core.lab.keep_float import split_selectors
from ...core.lab.modes import DEFAULT_MODES, MODES, missing_extra, source_kind
from ...core.lab.suggest import SuggestTarget
from ...core.lab.results import LabResult, VariantResult
from ...core.lab.run import run_lab
from ...core.lab.settings import Budget, LabSettings, source_stem
from ...core.reading.reader import read_model
from ..forms import NormalizationChoice
from ..notify import Notifier

if TYPE_CHECKING:
    from ..run_controller import RunTask

DEFAULT_RANDOM_COUNT = 100
DEFAULT_RUNS = 50


def default_output_dir(source: str, parent: str = "") -> str:
    """`<parent>/<stem>_variants`: in `parent` (the folder the user chose last for variants, or
    another writable place the window picks), else beside the source."""
    source = os.path.normpath(source)
    return os.path.join(parent or os.path.dirname(source), f"{source_stem(source)}_variants")


def model_source_kind(path: str) -> str | None:
    """The kind of a model source (a .tflite, Keras file or SavedModel folder), None for anything else."""
    try:
        return source_kind(path)
    except ConversionError:
        return None


@dataclass(frozen=True)
class LabRun:
    result: LabResult  # as run_lab returned it, with the budget of its settings
    seconds: float


def run_lab_task(settings: LabSettings, overwrite: bool, task: RunTask) -> LabRun:
    """Runs in a worker thread, with the window's interpreter and converter: the CLI's flow, timed."""
    runtime, converter = task.workers
    start = time.monotonic()
    result = run_lab(settings, runtime, converter, overwrite=overwrite, progress=task.progress,
                     cancelled=task.cancelled)
    return LabRun(result, time.monotonic() - start)


@dataclass(frozen=True)
class LabComparison:
    """Two of the lab's models to compare on the Compare page, with the lab's inputs."""

    reference: str
    candidate: str
    inputs: tuple[str, ...]
    normalization: Normalization | None
    resize: str
    random_count: int
    signature: str | None = None  # the signature the lab ran: Compare runs the same


def _signature_keys(path: str) -> tuple[str, ...]:
    """A .tflite's signature keys; () when it cannot be read (the run says why)."""
    try:
        with read_model(path) as model:
            return tuple(s.key for s in model.signatures)
    except (InspectorError, OSError):
        return ()


class LabPage:
    def __init__(self, output_parent: Callable[[str], str] | None = None) -> None:
        # Where a source's variants go by default: a folder for the source (the window asks
        # places.py); None: beside the source.
        self.output_parent = output_parent
        self.source = ""
        self.kind: str | None = None
        self.kind_error = ""
        self.output_dir = ""
        self.output_chosen = False  # the user chose the output folder: a new source keeps it
        self.modes: set[str] = set(DEFAULT_MODES)
        self.int8_io = "int8"
        self.calibration: list[str] = []
        self.evaluation: list[str] = []
        self.random_count: int | None = None  # random inputs instead of the files, when asked for
        self.limit: int | None = None
        self.seed = 0
        self.threads = 1
        self.runs = DEFAULT_RUNS
        self.normalization = NormalizationChoice()
        self.resize = "stretch"
        self.budget = Budget()
        self.keep_float = ""  # selectors as typed (lab/keep_float.py)
        self.suggest_sqnr_db: float | None = None  # Suggest's target; None: no Suggest
        # The .tflite source's signatures and the one to calibrate, time and compare (None: its
        # default, core/comparison/signatures.py); a choice is offered when there are several.
        self.signatures: tuple[str, ...] = ()
        self.signature: str | None = None
        self.last_run: LabRun | None = None
        self.result: LabResult | None = None  # the last run with the budget now set applied
        self.outcome = ""  # how the last run ended, shown until the next starts
        self.showing_run_warnings = False  # the banner has the last run's warnings, until the inputs change
        self.runs_started = 0
        self.changed = Notifier()

    # -- the form ---------------------------------------------------------------------------------

    def set_source(self, path: str) -> None:
        """The model to quantize; the output folder follows it unless one was chosen."""
        path = os.path.abspath(path) if path else ""
        self.source = path
        self.kind, self.kind_error = None, ""
        if path:
            try:
                self.kind = source_kind(path)
            except ConversionError as e:
                self.kind_error = str(e)
        if not self.output_chosen:
            parent = self.output_parent(path) if self.output_parent and path else ""
            self.output_dir = default_output_dir(path, parent) if path else ""
        self.signatures, self.signature = _signature_keys(path) if self.kind == "tflite" else (), None
        self.changed.notify("source")

    def set_signature(self, key: str | None) -> None:
        self.signature = key if key in self.signatures else None
        self.changed.notify("form")

    @property
    def tensorflow_source(self) -> bool:
        return self.kind in ("saved_model", "keras")

    def set_output_dir(self, path: str, *, chosen: bool = True) -> None:
        self.output_chosen = self.output_chosen or chosen
        self.output_dir = os.path.abspath(path) if path else ""
        self.changed.notify("form")

    def set_mode(self, key: str, on: bool) -> None:
        (self.modes.add if on else self.modes.discard)(key)
        self.changed.notify("form")

    def set_measuring(self, *, int8_io: str | None = None, threads: int | None = None, runs: int | None = None,
                      seed: int | None = None) -> None:
        self.int8_io = int8_io if int8_io is not None else self.int8_io
        self.threads = threads if threads is not None else self.threads
        self.runs = runs if runs is not None else self.runs
        self.seed = seed if seed is not None else self.seed
        self.changed.notify("form")

    def add_calibration(self, paths: Sequence[str]) -> None:
        self._add(self.calibration, paths)

    def add_evaluation(self, paths: Sequence[str]) -> None:
        self._add(self.evaluation, paths)

    def _add(self, into: list[str], paths: Sequence[str]) -> None:
        for path in paths:
            path = os.path.abspath(path)
            if path not in into:
                into.append(path)
        self._inputs_changed()

    def clear_calibration(self) -> None:
        self.calibration.clear()
        self._inputs_changed()

    def clear_evaluation(self) -> None:
        self.evaluation.clear()
        self._inputs_changed()

    def set_random(self, count: int | None) -> None:
        """`count` random inputs instead of the files; None: the files."""
        self.random_count = count
        self._inputs_changed()

    def set_limit(self, limit: int | None) -> None:
        self.limit = limit or None
        self._inputs_changed()

    def _inputs_changed(self) -> None:
        self.showing_run_warnings = False
        self.changed.notify("inputs")

    def set_normalization(self, normalization: Normalization | None) -> None:
        self.normalization.set(normalization)
        self.changed.notify("normalization")

    def set_resize(self, resize: str) -> None:
        self.resize = resize
        self.changed.notify("form")

    def chosen_modes(self) -> tuple[str, ...]:
        """The modes to produce, in the lab's order; float32 is never chosen (it is the reference)."""
        return tuple(k for k in MODES if k in self.modes and k != "float32")

    def settings(self) -> LabSettings:
        """The run the form describes. ConversionError or InputError says what is missing or wrong."""
        if not self.source:
            raise ConversionError("Choose a source model (a .tflite, a Keras file or a SavedModel folder).")
        if self.kind is None:
            raise ConversionError(self.kind_error or f"{self.source}: not a model source")
        modes = self.chosen_modes()
        if not modes and self.kind == "tflite":
            raise ConversionError("Choose at least one mode.")
        if not self.output_dir:
            raise ConversionError("Choose an output folder.")
        return LabSettings(
            source=self.source, output_dir=self.output_dir, modes=modes, calibration=tuple(self.calibration),
            evaluation=tuple(self.evaluation), normalization=self.normalization.chosen(), resize=self.resize,
            limit=self.limit, random_count=self.random_count or 0, seed=self.seed, int8_io=self.int8_io,
            threads=self.threads, runs=self.runs, budget=self.budget, signature=self.signature,
            keep_float=split_selectors(self.keep_float), suggest=self._suggest_target(modes),
        )

    def _suggest_target(self, modes: tuple[str, ...]) -> SuggestTarget | None:
        if self.suggest_sqnr_db is None:
            return None
        if "int8" not in modes:
            raise ConversionError("Suggest starts from the full-integer int8 variant: tick int8.")
        return SuggestTarget("int8", min_output_sqnr_db=self.suggest_sqnr_db)

    def set_mixed_precision(self, *, keep_float: str | None = None, suggest_sqnr_db: float | None = -1.0) -> None:
        """The ops to keep in float (selectors) and Suggest's output SQNR target (None: off; the
        default leaves it as it is)."""
        if keep_float is not None:
            self.keep_float = keep_float
        if suggest_sqnr_db != -1.0:
            self.suggest_sqnr_db = suggest_sqnr_db
        self.changed.notify("form")

    def load(self, settings: LabSettings) -> None:
        """Fill the form from saved settings; the run starts when the user presses Run."""
        self.output_chosen = False
        self.set_source(settings.source)
        self.output_chosen, self.output_dir = True, os.path.abspath(settings.output_dir)
        self.modes = {m for m in settings.modes if m != "float32"}
        self.calibration, self.evaluation = list(settings.calibration), list(settings.evaluation)
        self.normalization.set(settings.normalization)
        self.resize, self.limit, self.seed = settings.resize, settings.limit, settings.seed
        self.random_count = settings.random_count if settings.random_count > 0 else None
        self.int8_io, self.threads, self.runs = settings.int8_io, settings.threads, settings.runs
        self.signature = settings.signature if settings.signature in self.signatures else None
        self.keep_float = ", ".join(settings.keep_float)
        self.suggest_sqnr_db = settings.suggest.min_output_sqnr_db if settings.suggest else None
        self.showing_run_warnings = False
        for aspect in ("source", "form", "inputs", "normalization"):
            self.changed.notify(aspect)
        self.set_budget(settings.budget)

    def blocker(self) -> str:
        """Why Run cannot start, or "" (a missing optional library named with its extra, as the
        command line names it)."""
        try:
            settings = self.settings()
        except (ConversionError, InputError) as e:
            return str(e)
        return missing_extra(self.kind or "tflite", settings.modes) or ""

    def form_warnings(self) -> list[str]:
        """What the chosen inputs mean for the results, before anything runs: the words core uses
        after a run, from the files the form names."""
        try:
            settings = self.settings()
        except (ConversionError, InputError):
            settings = None
        if settings is None:
            return []
        return input_warnings(settings.modes, planned_counts(settings))

    def banner_lines(self) -> list[str]:
        if self.showing_run_warnings and self.result is not None:
            lines = list(self.result.warnings)
            if self.result.cancelled:
                lines.append("Cancelled: the table has the variants finished before.")
            return lines
        return self.form_warnings()

    # -- the budget and the result --------------------------------------------------------------

    def set_budget(self, budget: Budget) -> None:
        """Mark the last run's variants against `budget` at once, without a new run."""
        self.budget = budget
        self._apply_budget()
        self.changed.notify("budget")

    def _apply_budget(self) -> None:
        if self.last_run is None:
            return
        run = self.last_run.result
        variants, recommendation, reason = apply_budget(run.variants, self.budget)
        self.result = replace(run, variants=variants, recommendation=recommendation, recommendation_reason=reason)
        self.changed.notify("result")

    def run_started(self) -> None:
        self.runs_started += 1
        self.changed.notify("run")

    def run_finished(self, run: LabRun) -> None:
        result = run.result
        done = sum(1 for v in result.variants if not v.is_reference)
        if result.cancelled and done == 0:
            self.outcome = "Cancelled before any variant was finished: the reference is shown."
        elif result.cancelled:
            self.outcome = f"Cancelled: the {done} variant{'' if done == 1 else 's'} finished before are shown."
        else:
            self.outcome = f"Done in {run.seconds:.1f} s."
        if result.settings_file:
            self.outcome += f" Settings saved to {result.settings_file}."
        self.last_run = run
        self.showing_run_warnings = True
        self._apply_budget()
        self.changed.notify("run")

    def run_failed(self) -> None:
        self.outcome = "The lab could not run (see the message)."
        self.changed.notify("run")

    def run_cancelled(self) -> None:
        self.outcome = "Cancelled before any variant was finished."
        self.changed.notify("run")

    def pair(self, chosen: Sequence[VariantResult]) -> tuple[VariantResult, VariantResult] | None:
        """Two chosen rows, or one chosen variant and the reference, in the lab's order (the
        reference first); None for any other choice."""
        if self.result is None:
            return None
        chosen = list(chosen)
        if len(chosen) == 1 and not chosen[0].is_reference:
            chosen.insert(0, self.result.reference)
        if len(chosen) != 2 or any(v.path is None for v in chosen):
            return None
        order = [v.mode for v in self.result.variants]
        first, second = sorted(chosen, key=lambda v: order.index(v.mode))
        return first, second

    def comparison(self, pair: tuple[VariantResult, VariantResult]) -> LabComparison:
        """Compare two of the lab's models with the lab's own inputs and preprocessing."""
        assert self.result is not None and pair[0].path is not None and pair[1].path is not None
        settings = self.result.settings
        return LabComparison(
            reference=pair[0].path, candidate=pair[1].path, inputs=settings.evaluation or settings.calibration,
            normalization=self.result.normalization, resize=settings.resize, random_count=settings.random_count,
            signature=self.result.signature,
        )
