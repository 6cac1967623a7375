"""What crosses the pipe to a worker process and back: one frozen dataclass per request and per
answer, so both sides name every field and a change to one shows in the other.

Requests are served by the handler registered for their type (process.serve). Arrays travel as
numpy arrays; metrics as `ErrorMetrics` (a named tuple: one is made per tensor per input).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from ..metrics import ErrorMetrics

# --- the interpreter --------------------------------------------------------------------------


@dataclass(frozen=True)
class DetailsRequest:
    """What the interpreter reports for subgraph 0 of a model, delegates off."""

    path: str


@dataclass(frozen=True)
class TensorDetails:
    index: int
    name: str
    dtype: str  # numpy dtype name as the interpreter reports it (int4 reads as int8)
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    quantized_dimension: int


@dataclass(frozen=True)
class InterpreterDetails:
    op_names: tuple[str, ...]
    tensors: tuple[TensorDetails, ...]


@dataclass(frozen=True)
class ResizeRequest:
    """Resize subgraph 0's inputs (tensor index, shape), delegates off, allocate, and report every
    tensor's shape; tensors the interpreter sizes only while running are sized by one run on
    zeros. Refused when the tensors would need more than `max_bytes`."""

    path: str
    inputs: tuple[tuple[int, tuple[int, ...]], ...]
    max_bytes: int


@dataclass(frozen=True)
class ResizedTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]


@dataclass(frozen=True)
class ResizedShapes:
    """Subgraph 0 as the interpreter shaped it: `tensors` whose shapes it knows (after allocating,
    or after the run on zeros for those in `run_shaped`), `unresolved` those it left unsized."""

    tensors: tuple[ResizedTensor, ...]
    run_shaped: tuple[int, ...]
    unresolved: tuple[int, ...]
    run_error: str  # why the run on zeros failed, when one was needed


@dataclass(frozen=True)
class DelegateNodesRequest:
    """Load a model with the default op resolver, which applies XNNPACK, and list its DELEGATE nodes."""

    path: str


@dataclass(frozen=True)
class DelegateNode:
    """A node the default delegate put in place of a partition of subgraph 0."""

    op_name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass(frozen=True)
class DefaultDelegateNodes:
    """Subgraph 0 after the interpreter applied its default delegate (XNNPACK)."""

    model_nodes: int
    delegate_nodes: tuple[DelegateNode, ...]


@dataclass(frozen=True)
class RunEntry:
    """Which subgraph of a model to run (a signature's: comparison/signatures.py), and its input
    and output tensors there in the order values are given and read back. The default is
    subgraph 0 with the interpreter's own input and output lists."""

    subgraph: int = 0
    inputs: tuple[int, ...] = ()  # empty: the interpreter's inputs of subgraph 0
    outputs: tuple[int, ...] = ()


@dataclass(frozen=True)
class LatencyRequest:
    """Time `runs` invocations with XNNPACK on `threads` threads, after `warmup` untimed ones, on
    `values` (real values, one array per input; zeros when None); stop once `max_seconds` of
    timed runs are spent (but not before three)."""

    path: str
    values: tuple[np.ndarray, ...] | None
    runs: int
    threads: int
    warmup: int
    max_seconds: float
    entry: RunEntry = RunEntry()


@dataclass(frozen=True)
class Latency:
    times_ms: tuple[float, ...]
    model_nodes: int
    delegate_nodes: int  # the partitions XNNPACK made


class TensorIndexPair(NamedTuple):
    """A matched tensor: its index in the subgraph the reference runs and in the candidate's."""

    reference: int
    candidate: int


@dataclass(frozen=True)
class IsolatedRun:
    """The candidate's isolated model (a file, comparison/isolation.py) and, for each of its
    inputs in order, the reference tensor whose real values it gets (converted to the input's
    dtype and quantization as the interpreter reports them)."""

    path: str
    feeds: tuple[int, ...]
    # Per feed, a rounding applied to the real values first (quantized and dequantized again):
    # (numpy dtype name, scales, zero points, axis), or None for none. Empty: none at all.
    rounding: tuple[tuple[str, tuple[float, ...], tuple[int, ...], int] | None, ...] = ()


@dataclass(frozen=True)
class CandidateRun:
    path: str
    pairs: tuple[TensorIndexPair, ...]
    isolated: IsolatedRun | None = None  # also run each op alone on the reference's activations
    # ... and the reference's ops alone on the inputs rounded as the candidate rounds them
    rounded_reference: IsolatedRun | None = None
    entry: RunEntry = RunEntry()  # the signature's subgraph the pairs' candidate indices are in


@dataclass(frozen=True)
class CompareRequest:
    """Run each sample (one array of real values per model input) through the reference and each
    candidate, all tensors preserved, delegates off."""

    reference: str
    candidates: tuple[CandidateRun, ...]
    samples: tuple[tuple[np.ndarray, ...], ...]
    reference_entry: RunEntry = RunEntry()


@dataclass(frozen=True)
class CandidateOnSample:
    """One candidate on one sample: the error of each matched pair, in the order of its pairs, and
    its outputs as float32 (None for an output too large to send back); or why it could not run.
    `isolated`: each pair's error with its op run alone (None where it was not), when asked for;
    `isolated_own`: the same outputs against the reference's op on the same rounded inputs;
    `isolated_error`: why the isolated model could not run (the end-to-end numbers stand)."""

    metrics: tuple[ErrorMetrics, ...] = ()
    outputs: tuple[np.ndarray | None, ...] = ()
    error: str | None = None
    isolated: tuple[ErrorMetrics | None, ...] = ()
    isolated_own: tuple[ErrorMetrics | None, ...] = ()  # against the rounded reference: input rounding left out
    isolated_error: str | None = None

    def __reduce__(self) -> tuple:
        # The metrics cross the pipe as plain tuples: a named tuple pickles and unpickles about
        # ten times slower, and one answer holds one per matched tensor, input and mode.
        return _candidate_on_sample, ({f.name: _metric_rows(value) if f.name in _METRIC_FIELDS else value
                                       for f in fields(self) for value in (getattr(self, f.name),)},)


_METRIC_FIELDS = ("metrics", "isolated", "isolated_own")


def _metric_rows(values: tuple[ErrorMetrics | None, ...]) -> tuple[tuple | None, ...]:
    return tuple(None if m is None else tuple(m) for m in values)


def _candidate_on_sample(state: dict) -> CandidateOnSample:
    make = ErrorMetrics._make
    return CandidateOnSample(**{name: tuple(None if row is None else make(row) for row in value)
                                if name in _METRIC_FIELDS else value for name, value in state.items()})


@dataclass(frozen=True)
class SampleResult:
    reference_outputs: tuple[np.ndarray | None, ...]
    candidates: tuple[CandidateOnSample, ...]


@dataclass(frozen=True)
class TensorPairRequest:
    """Both tensors' real values on one input, evenly strided down to `limit` elements."""

    reference: str
    candidate: str
    values: tuple[np.ndarray, ...]
    pair: TensorIndexPair
    limit: int
    reference_entry: RunEntry = RunEntry()
    candidate_entry: RunEntry = RunEntry()


@dataclass(frozen=True)
class TensorPairValues:
    reference: np.ndarray  # float32, flat
    candidate: np.ndarray
    size: int  # elements in the tensor
    sampled: bool  # an evenly strided part of a larger tensor
    scale: float | None  # the candidate tensor's (mean) quantization scale


# --- the converter ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantizeRequest:
    """Quantize a float .tflite with ai-edge-quantizer's recipe for `mode`, writing `out_path`."""

    source: str
    mode: str
    calibration: tuple[tuple[np.ndarray, ...], ...]
    out_path: str
    signature: str | None = None  # the signature the calibration samples are for; None: the first
    # Ops kept in float: their scope regexes (lab/keep_float.py), each given "no_quantize".
    keep_float_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConvertRequest:
    """Convert a SavedModel folder or Keras file with TFLiteConverter in `mode`, writing `out_path`."""

    source: str
    kind: str  # "saved_model" or "keras"
    mode: str
    int8_io: str
    calibration: tuple[tuple[np.ndarray, ...], ...]
    out_path: str


@dataclass(frozen=True)
class Produced:
    """A variant written by the converter or the quantizer."""

    size: int
    notes: tuple[str, ...]
    tool: str  # which tool and version made it
