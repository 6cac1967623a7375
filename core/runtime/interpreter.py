"""The LiteRT interpreter, always in a worker process with a timeout.

`RuntimeWorker` is the parent's side: typed calls that send a request (protocol.py) to the
child (interpreter_child.py), which alone imports `ai_edge_litert.interpreter`. A crash or hang
in native code becomes a `RuntimeFailure` here, never the end of the caller's process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..inspection.shapes import MAX_TENSOR_BYTES, ResolvedShapes
from .interpreter_child import interpreter_main
from .process import DEFAULT_TIMEOUT_S, WorkerProcess, physical_memory
from .protocol import (
    CandidateRun,
    CompareRequest,
    DefaultDelegateNodes,
    DelegateNodesRequest,
    DetailsRequest,
    InterpreterDetails,
    Latency,
    LatencyRequest,
    ResizeRequest,
    RunEntry,
    SampleResult,
    TensorIndexPair,
    TensorPairRequest,
    TensorPairValues,
)

__all__ = ["DEFAULT_TIMEOUT_S", "RuntimeWorker"]

# The interpreter worker's address space: room for the largest tensors a run allows
# (MAX_TENSOR_BYTES), a large model mapped and the runtime itself, and never more than three
# quarters of the machine's memory, so a model declaring huge tensors fails in the worker with
# a message instead of swapping the machine to a halt.
WORKER_ADDRESS_SPACE = MAX_TENSOR_BYTES + (8 << 30)


def worker_memory_limit() -> int:
    ram = physical_memory()
    return min(WORKER_ADDRESS_SPACE, ram * 3 // 4) if ram else WORKER_ADDRESS_SPACE


class RuntimeWorker(WorkerProcess):
    """The LiteRT interpreter in a worker process that runs requests one at a time.

    It is started on first use and restarted after a crash or a timeout, so one bad model does
    not stop the next. Use as a context manager, or call close().
    """

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(interpreter_main, name="litert-worker", what="the interpreter", timeout_s=timeout_s,
                         memory_limit=worker_memory_limit())

    def interpreter_details(self, path: str) -> InterpreterDetails:
        return self.request(DetailsRequest(str(path)))

    def resolve_shapes(self, path: str, inputs: Mapping[int, Sequence[int]],
                       max_bytes: int = MAX_TENSOR_BYTES) -> ResolvedShapes:
        """Subgraph 0's tensor shapes after the interpreter resized `inputs` (input tensor ->
        shape, checked beforehand by inspection.shapes.input_shapes) and allocated the tensors:
        the shapes the runtime will run at. Raises RuntimeFailure when the interpreter refuses."""
        answer = self.request(ResizeRequest(str(path), tuple((int(i), tuple(int(d) for d in dims))
                                                             for i, dims in inputs.items()), max_bytes))
        return ResolvedShapes(
            inputs={int(i): tuple(int(d) for d in dims) for i, dims in inputs.items()},
            shapes={t.index: t.shape for t in answer.tensors},
            run_shaped=answer.run_shaped,
            unresolved=answer.unresolved,
            run_error=answer.run_error,
        )

    def default_delegate_nodes(self, path: str) -> DefaultDelegateNodes:
        """The DELEGATE nodes XNNPACK (the default delegate) puts into subgraph 0."""
        return self.request(DelegateNodesRequest(str(path)))

    def compare_samples(self, reference: str, candidates: Sequence[CandidateRun],
                        samples: Sequence[Sequence[np.ndarray]],
                        reference_entry: RunEntry = RunEntry()) -> tuple[SampleResult, ...]:
        """Inputs through the reference and the candidates, all tensors preserved, delegates off.
        Several inputs per request save round trips; the timeout covers the whole request."""
        return self.request(CompareRequest(str(reference), tuple(candidates),
                                           tuple(tuple(values) for values in samples), reference_entry))

    def tensor_pair_values(self, reference: str, candidate: str, values: Sequence[np.ndarray],
                           pair: TensorIndexPair, limit: int = 1 << 20, *, reference_entry: RunEntry = RunEntry(),
                           candidate_entry: RunEntry = RunEntry()) -> TensorPairValues:
        return self.request(TensorPairRequest(str(reference), str(candidate), tuple(values), pair, limit,
                                              reference_entry, candidate_entry))

    def latency(self, path: str, values: Sequence[np.ndarray] | None = None, *, runs: int = 50, threads: int = 1,
                warmup: int = 3, max_seconds: float = 20.0, entry: RunEntry = RunEntry()) -> Latency:
        """Invocation times in ms with XNNPACK (see LatencyRequest), of the entry's subgraph. The
        timeout grows with the time allowed for the runs."""
        request = LatencyRequest(str(path), None if values is None else tuple(values), runs, threads, warmup,
                                 max_seconds, entry)
        return self.request(request, timeout_s=self.timeout_s + max_seconds)
