"""One matched tensor on one input, both models' values binned and thinned for plotting: the
histograms on shared bins, the error's histogram, and a subset of points for a scatter plot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..runtime.interpreter import RuntimeWorker
from ..runtime.protocol import RunEntry, TensorIndexPair
from .inputs import Sample
from .results import LayerError

SCATTER_POINTS = 5000
HISTOGRAM_BINS = 80


@dataclass(frozen=True)
class TensorPairData:
    size: int  # elements in the tensor
    sampled: bool  # the worker sent an evenly strided part of a very large tensor
    finite: int  # values that are finite in both tensors (the only ones plotted)
    scale: float | None  # the candidate tensor's (mean) quantization scale
    value_edges: np.ndarray
    reference_counts: np.ndarray
    candidate_counts: np.ndarray
    error_edges: np.ndarray
    error_counts: np.ndarray
    scatter_reference: np.ndarray  # at most SCATTER_POINTS
    scatter_candidate: np.ndarray


def tensor_pair_data(worker: RuntimeWorker, reference: str, candidate: str, sample: Sample,
                     layer: LayerError, reference_entry: RunEntry = RunEntry(),
                     candidate_entry: RunEntry = RunEntry()) -> TensorPairData:
    """Both tensors' values from the interpreter, then histograms on shared bins and a random
    (fixed-seed) subset for the scatter plot: an evenly strided one would pick the same channels
    of an NHWC tensor over and over. The entries are the subgraphs the comparison ran (its
    signature's). Raises RuntimeFailure, or Cancelled when the worker is stopped."""
    answer = worker.tensor_pair_values(reference, candidate, sample.values,
                                       TensorIndexPair(layer.reference_tensor, layer.candidate_tensor),
                                       reference_entry=reference_entry, candidate_entry=candidate_entry)
    ref = np.asarray(answer.reference, dtype=np.float64)
    cand = np.asarray(answer.candidate, dtype=np.float64)
    n = min(ref.size, cand.size)
    ref, cand = ref[:n], cand[:n]
    keep = np.isfinite(ref) & np.isfinite(cand)
    ref, cand = ref[keep], cand[keep]
    if ref.size:
        lo, hi = float(min(ref.min(), cand.min())), float(max(ref.max(), cand.max()))
    else:
        lo, hi = 0.0, 1.0
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, HISTOGRAM_BINS + 1)
    error_counts, error_edges = np.histogram(cand - ref, bins=HISTOGRAM_BINS)
    if ref.size > SCATTER_POINTS:
        chosen = np.sort(np.random.default_rng(0).choice(ref.size, SCATTER_POINTS, replace=False))
        scatter = ref[chosen], cand[chosen]
    else:
        scatter = ref, cand
    return TensorPairData(
        size=answer.size, sampled=answer.sampled, finite=int(ref.size), scale=answer.scale,
        value_edges=edges, reference_counts=np.histogram(ref, edges)[0], candidate_counts=np.histogram(cand, edges)[0],
        error_edges=error_edges, error_counts=error_counts,
        scatter_reference=scatter[0].astype(np.float32), scatter_candidate=scatter[1].astype(np.float32),
    )
