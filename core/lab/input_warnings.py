"""What a lab run's inputs mean for its results: too few calibration inputs, none at all, random
data. The same words before a run (the app's form, from the files the settings name) and after
it (from the inputs that could be read), so that nothing is said twice in two ways."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..comparison.inputs import ARRAY_SUFFIXES, IMAGE_SUFFIXES, list_input_files
from .modes import MODES
from .settings import MIN_CALIBRATION_SAMPLES, LabSettings


@dataclass(frozen=True)
class InputCounts:
    """The inputs a run calibrates and evaluates on."""

    calibration: int
    evaluation: int
    random: bool  # random inputs, asked for, replace the files for both
    skipped: tuple[str, ...] = ()  # one line per file that could not be used


def _count_files(paths: Sequence[str], limit: int | None) -> int:
    files = [f for f in list_input_files(paths) if f.lower().endswith(IMAGE_SUFFIXES + ARRAY_SUFFIXES)]
    return min(len(files), limit) if limit else len(files)


def planned_counts(settings: LabSettings) -> InputCounts:
    """Before a run: the image and array files its settings name (an array file may hold several
    inputs; the run counts those)."""
    if settings.random_count > 0:
        return InputCounts(settings.random_count, settings.random_count, True)
    calibration = _count_files(settings.calibration, settings.limit)
    evaluation = _count_files(settings.evaluation, settings.limit) if settings.evaluation else calibration
    return InputCounts(calibration, evaluation, False)


def input_warnings(modes: Sequence[str], counts: InputCounts) -> list[str]:
    """One line per problem, worst first."""
    warnings = [f"skipped input {message}" for message in counts.skipped]
    calibrated = [m for m in modes if MODES[m].calibrated]
    count = counts.calibration
    if calibrated and counts.random:
        warnings.append(f"calibrated on {count} RANDOM inputs, as asked: the activation ranges of "
                        f"{', '.join(calibrated)} do not come from real data")
    elif calibrated and 0 < count < MIN_CALIBRATION_SAMPLES:
        warnings.append(f"only {count} calibration inputs; {MIN_CALIBRATION_SAMPLES} or more give activation "
                        "ranges that hold on real data")
    elif calibrated and count == 0:
        warnings.append(f"no calibration inputs: {', '.join(calibrated)} cannot be produced without images or "
                        "arrays to calibrate on (or random inputs, when asked for)")
    if not counts.evaluation:
        warnings.append("no inputs to evaluate on: agreement and error are not measured")
    elif counts.random:
        warnings.append(f"agreement and error measured on {counts.evaluation} RANDOM inputs")
    return warnings
