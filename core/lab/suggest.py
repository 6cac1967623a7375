"""Suggest: the fewest ops to keep in float so that a quantized mode meets an error target.

Starting from the mode's variant, the ops are ranked by their own error run alone (the isolated
comparison's `isolated_own`, comparison/isolation.py), worst first: lowest own SQNR. Ops are kept in float one more at a time, worst first, each
step a new variant made by ai-edge-quantizer with those ops' recipe scopes (keep_float.py) and
measured like any other variant, until the output SQNR and top-1 agreement meet the target or the
step limit is reached. Every step is reported (size, latency, error) so the trade is visible; the
last variant becomes a row of the lab's table, the others' files are removed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..comparison.results import CandidateComparison, LayerError

DEFAULT_MAX_FLOAT_OPS = 8


@dataclass(frozen=True)
class SuggestTarget:
    """What the suggestion must reach (None: not asked) with which mode, keeping at most
    `max_float_ops` ops in float."""

    mode: str = "int8"
    min_output_sqnr_db: float | None = None
    min_top1_agreement: float | None = None  # 0..1
    max_float_ops: int = DEFAULT_MAX_FLOAT_OPS

    def met_by(self, sqnr: float | None, top1: float | None) -> bool:
        if self.min_output_sqnr_db is not None and not (sqnr is not None and sqnr >= self.min_output_sqnr_db):
            return False
        return self.min_top1_agreement is None or (top1 is not None and top1 >= self.min_top1_agreement)

    def describe(self) -> str:
        parts = []
        if self.min_output_sqnr_db is not None:
            parts.append(f"output SQNR ≥ {self.min_output_sqnr_db:g} dB")
        if self.min_top1_agreement is not None:
            parts.append(f"top-1 agreement ≥ {self.min_top1_agreement:.0%}")
        return " and ".join(parts) or "no target"


@dataclass(frozen=True)
class SuggestStep:
    """One variant of the search: the ops kept in float (reference op indices, in the order they
    were added) and what was measured."""

    float_ops: tuple[int, ...]
    float_types: tuple[str, ...]
    size_bytes: int | None
    median_ms: float | None
    output_sqnr_db: float | None
    top1_agreement: float | None
    error: str | None = None


@dataclass(frozen=True)
class Suggestion:
    target: SuggestTarget
    steps: tuple[SuggestStep, ...]
    met: bool
    chosen_mode_title: str | None  # the row added to the table
    note: str  # one line: what was found


def rank_ops(candidate: CandidateComparison) -> list[LayerError]:
    """The ops of the comparison, worst own error first; ops without an own error (not run alone)
    are left out, and each reference op appears once."""
    seen: set[int] = set()
    ranked = []
    for layer in sorted((layer for layer in candidate.layers if layer.isolated_own is not None and layer.op_index >= 0),
                        key=_badness, reverse=True):
        if layer.op_index not in seen:
            seen.add(layer.op_index)
            ranked.append(layer)
    return ranked


def _badness(layer: LayerError) -> float:
    """Lowest own SQNR first: the error relative to the op's signal, which is what reaches the
    output. (Error in quantization steps ranks an op with a very fine output scale first even when
    its error is small against its values: vww_96's classifier layer, 12 steps at 38 dB.)"""
    own = layer.isolated_own
    assert own is not None
    sqnr = own.sqnr_db if own.sqnr_db is not None and not math.isnan(own.sqnr_db) else math.inf
    return -sqnr


def search(target: SuggestTarget, start: SuggestStep, ranked: list[LayerError],
           measure: Callable[[tuple[int, ...]], SuggestStep], cancelled: Callable[[], bool] = lambda: False,
           ) -> tuple[list[SuggestStep], bool]:
    """Add the ranked ops one at a time until `measure`d steps meet the target; (steps, met)."""
    steps = [start]
    if target.met_by(start.output_sqnr_db, start.top1_agreement):
        return steps, True
    kept: list[int] = []
    for layer in ranked[: target.max_float_ops]:
        if cancelled():
            break
        kept.append(layer.op_index)
        step = measure(tuple(kept))
        steps.append(step)
        if step.error is None and target.met_by(step.output_sqnr_db, step.top1_agreement):
            return steps, True
    return steps, False
