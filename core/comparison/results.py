"""What a comparison found: per candidate, the error of each matched layer, how the outputs agree,
and what could not be matched. Plain frozen values, read by the command line, the app and the
report alike — including which layers a plot shows (`plotted_layers`), so every plot of a
comparison shows the same points.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from ..metrics import ErrorMetrics, badness, is_suspect
from ..runtime.protocol import RunEntry
from .matching import SkippedWeights, UnmatchedTensor

WORST_COUNT = 5  # the worst layers a plot rings and a summary lists


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
    how: str  # how the tensors were matched (matching.py)
    candidate_dtype: str
    metrics: ErrorMetrics  # the mean over inputs, end to end: the error accumulated up to here
    per_input: tuple[ErrorMetrics, ...]
    # The candidate's op alone on the reference's activations (isolation.py), mean over inputs;
    # None when it was not run in isolation (a model input, a control-flow op, isolation off).
    isolated: ErrorMetrics | None = None
    # The same output against the reference's op on the same rounded inputs: the op's own error,
    # input rounding left out (as QuantizationDebugger measures a layer).
    isolated_own: ErrorMetrics | None = None

    @property
    def suspect(self) -> bool:
        """More error than rounding explains, in the op itself: judged on its own error (run in
        isolation, input rounding left out), the figure QuantizationDebugger's thresholds were
        made for; never on end-to-end numbers, which carry everything upstream."""
        return self.isolated_own is not None and is_suspect(self.isolated_own)

    @property
    def is_plotted(self) -> bool:
        """Plots show the outputs of the reference's ops along its execution order. Left out: a
        requantized row (it repeats a reference tensor already on the curve) and a model input
        (only the input's own quantization, often exact, whose height would flatten the curve)."""
        return self.how != "requantized" and self.op_index >= 0


@dataclass(frozen=True)
class RankedClass:
    index: int
    label: str
    score: float


@dataclass(frozen=True)
class TopK:
    """One input's best classes, best first, in the reference and in the candidate."""

    input: str
    reference: tuple[RankedClass, ...]
    candidate: tuple[RankedClass, ...]

    @property
    def agrees(self) -> bool:
        """The best class is the same."""
        return bool(self.reference and self.candidate and self.reference[0].index == self.candidate[0].index)


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
    weights_skipped: SkippedWeights = SkippedWeights(0, 0)
    error: str | None = None
    isolated: bool = False  # layers carry isolated numbers
    isolated_note: str | None = None  # why some or all layers have none
    run: RunEntry = RunEntry()  # the subgraph (of the signature) the candidate ran, for tensor values

    @property
    def file_name(self) -> str:
        return os.path.basename(self.path)

    def worst_layers(self, metric: str = "sqnr_db", count: int = WORST_COUNT) -> list[LayerError]:
        """The `count` worst layers by `metric`, worst first (layers without a value left out)."""
        ranked = [layer for layer in self.layers if badness(layer.metrics, metric) > -math.inf]
        ranked.sort(key=lambda layer: badness(layer.metrics, metric), reverse=True)
        return ranked[:count]

    def plotted_layers(self) -> list[int]:
        """Positions (in `layers`) of the layers a plot shows, in execution order."""
        return [i for i, layer in enumerate(self.layers) if layer.is_plotted]

    def worst_plotted(self, metric: str = "sqnr_db", count: int = WORST_COUNT) -> list[int]:
        """Positions of the `count` worst plotted layers by `metric`, worst first: the ones a plot rings."""
        position = {id(layer): i for i, layer in enumerate(self.layers)}
        ranked = self.worst_layers(metric, len(self.layers))
        return [position[id(layer)] for layer in ranked if layer.is_plotted][:count]


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
    signature: str | None = None  # the signature run (signatures.py); None: the model has none
    subgraph: int = 0  # the reference's subgraph for it
    signatures: tuple[str, ...] = ()  # every signature of the reference, to say which others there are
    reference_run: RunEntry = RunEntry()

    def describe_signature(self) -> str:
        """Which signature was run, in words, for the text output and the report."""
        if self.signature is None:
            return "subgraph 0 (the model has no signatures)"
        others = [k for k in self.signatures if k != self.signature]
        text = f"signature {self.signature!r} (subgraph {self.subgraph})"
        if others:
            text += f"; the model's other signatures: {', '.join(repr(k) for k in others)} (--signature KEY)"
        return text
