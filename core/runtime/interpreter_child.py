"""The child side of the interpreter worker: the only module that imports the LiteRT interpreter,
and only in the worker process (interpreter.py starts it).

Interpreters loaded for comparisons are kept across requests with every tensor preserved, and
the error of each matched tensor is computed here, next to the tensors, so only numbers cross
the process boundary.
"""

from __future__ import annotations

import multiprocessing.connection
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..metrics import tensor_error
from ..reading.tensor_data import dequantize_array, quantize_array
from .process import serve
from .protocol import (
    CandidateOnSample,
    CompareRequest,
    DefaultDelegateNodes,
    DelegateNode,
    DelegateNodesRequest,
    DetailsRequest,
    InterpreterDetails,
    Latency,
    LatencyRequest,
    SampleResult,
    TensorDetails,
    TensorPairRequest,
    TensorPairValues,
)

# Outputs with more elements than this are not sent back whole (their error is in the
# layer metrics); classifier scores, the reason outputs come back, are far smaller.
OUTPUT_VALUES_LIMIT = 1 << 16


def interpreter_main(conn: multiprocessing.connection.Connection) -> None:
    # Runs in the child: imports the interpreter here, never in the parent.
    from ai_edge_litert import interpreter as litert

    runs = _PreservingInterpreters(litert)
    serve(conn, {
        DetailsRequest: lambda request: _details(litert, request),
        DelegateNodesRequest: lambda request: _default_delegate_nodes(litert, request),
        LatencyRequest: lambda request: _latency(litert, request),
        CompareRequest: runs.compare,
        TensorPairRequest: runs.tensor_pair_values,
    })


def _details(litert: Any, request: DetailsRequest) -> InterpreterDetails:
    interpreter = litert.Interpreter(
        model_path=request.path,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    tensors = []
    for t in interpreter.get_tensor_details():
        qp = t["quantization_parameters"]
        tensors.append(TensorDetails(
            index=int(t["index"]),
            name=t["name"],
            dtype=t["dtype"].__name__ if isinstance(t["dtype"], type) else str(t["dtype"]),
            shape=tuple(int(d) for d in t["shape"]),
            shape_signature=tuple(int(d) for d in t["shape_signature"]),
            scales=tuple(float(s) for s in qp["scales"]),
            zero_points=tuple(int(z) for z in qp["zero_points"]),
            quantized_dimension=int(qp["quantized_dimension"]),
        ))
    op_names = tuple(op["op_name"] for op in interpreter._get_ops_details())
    return InterpreterDetails(op_names, tuple(tensors))


def _default_delegate_nodes(litert: Any, request: DelegateNodesRequest) -> DefaultDelegateNodes:
    # The default op resolver applies XNNPACK when tensors are allocated; the delegated
    # partitions then appear as extra DELEGATE nodes after the model's own nodes (which stay
    # listed, but leave the execution plan).
    interpreter = litert.Interpreter(model_path=request.path)
    model_nodes = interpreter._interpreter.NumNodes()
    interpreter.allocate_tensors()
    nodes = tuple(
        DelegateNode(node["op_name"], tuple(int(i) for i in node["inputs"]), tuple(int(i) for i in node["outputs"]))
        for node in interpreter._get_ops_details()[model_nodes:]
    )
    return DefaultDelegateNodes(model_nodes, nodes)


def _input_quantization(detail: dict[str, Any]) -> tuple[float | None, int]:
    """An input's (scale, zero point) when it has one of each, else (None, 0)."""
    scales = detail["quantization_parameters"]["scales"]
    zero_points = detail["quantization_parameters"]["zero_points"]
    return (float(scales[0]) if len(scales) == 1 else None), (int(zero_points[0]) if len(zero_points) == 1 else 0)


def _latency(litert: Any, request: LatencyRequest) -> Latency:
    """As an app would run the model: the default op resolver, which applies XNNPACK. The first
    untimed run packs XNNPACK's weights."""
    interpreter = litert.Interpreter(model_path=request.path, num_threads=request.threads)
    model_nodes = interpreter._interpreter.NumNodes()
    interpreter.allocate_tensors()
    delegate_nodes = len(interpreter._get_ops_details()) - model_nodes
    values = request.values
    for k, detail in enumerate(interpreter.get_input_details()):
        scale, zero_point = _input_quantization(detail)
        shape = tuple(int(d) for d in detail["shape"])
        real = values[k] if values is not None and k < len(values) else np.zeros(shape, np.float32)
        interpreter.set_tensor(detail["index"], quantize_array(np.reshape(real, shape), detail["dtype"], scale,
                                                               zero_point))
    for _ in range(request.warmup):
        interpreter.invoke()
    times: list[float] = []
    spent = 0.0
    while len(times) < request.runs and (spent < request.max_seconds or len(times) < 3):
        started = time.perf_counter()
        interpreter.invoke()
        elapsed = time.perf_counter() - started
        times.append(elapsed * 1000.0)
        spent += elapsed
    return Latency(tuple(times), model_nodes, delegate_nodes)


@dataclass
class _Loaded:
    """An interpreter and what every run needs from its details, read once when it is loaded."""

    file_key: tuple[int, int]  # size and modification time of the file it was loaded from
    interpreter: Any
    quantization: dict[int, tuple]  # quantized integer tensor -> (scales, zero points, axis)
    inputs: list[tuple[int, Any, float | None, int]]  # (tensor, dtype, scale, zero point)
    outputs: list[int]


class _PreservingInterpreters:
    """Interpreters kept across requests, all tensors preserved, delegates off (a delegate
    computes its partition's intermediates in its own memory, out of reach).

    Keyed by path and the file's size and modification time, so an edited file reloads.
    """

    def __init__(self, litert: Any, keep: int = 8) -> None:
        self._litert = litert
        self._keep = keep
        self._cache: dict[str, _Loaded] = {}

    def _load(self, path: str, file_key: tuple[int, int]) -> _Loaded:
        interpreter = self._litert.Interpreter(
            model_path=path,
            experimental_op_resolver_type=self._litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            experimental_preserve_all_tensors=True,
        )
        interpreter.allocate_tensors()
        quantization = {}
        for t in interpreter.get_tensor_details():
            qp = t["quantization_parameters"]
            if len(qp["scales"]) and np.dtype(t["dtype"]).kind in "iu":
                quantization[int(t["index"])] = (qp["scales"], qp["zero_points"], int(qp["quantized_dimension"]))
        inputs = [(detail["index"], detail["dtype"], *_input_quantization(detail))
                  for detail in interpreter.get_input_details()]
        outputs = [detail["index"] for detail in interpreter.get_output_details()]
        return _Loaded(file_key, interpreter, quantization, inputs, outputs)

    def _get(self, path: str) -> _Loaded:
        stat = os.stat(path)
        file_key = (stat.st_size, stat.st_mtime_ns)
        loaded = self._cache.pop(path, None)
        if loaded is None or loaded.file_key != file_key:
            loaded = self._load(path, file_key)
        self._cache[path] = loaded  # most recently used last
        while len(self._cache) > self._keep:
            self._cache.pop(next(iter(self._cache)))
        return loaded

    def _run(self, path: str, values: Sequence[np.ndarray]) -> _Loaded:
        loaded = self._get(path)
        if len(loaded.inputs) != len(values):
            raise ValueError(f"the model has {len(loaded.inputs)} inputs; {len(values)} values were given")
        for (index, dtype, scale, zero_point), value in zip(loaded.inputs, values):
            loaded.interpreter.set_tensor(index, quantize_array(value, dtype, scale, zero_point))
        loaded.interpreter.invoke()
        return loaded

    @staticmethod
    def _real(loaded: _Loaded, index: int, copy: bool = False) -> np.ndarray:
        """The tensor's real values: dequantized when it is quantized, else as stored (a view
        into the interpreter unless `copy`; the interpreter refuses to run while views live)."""
        values = loaded.interpreter.tensor(index)()
        q = loaded.quantization.get(index)
        if q is None:
            return values.copy() if copy else values
        return dequantize_array(values, q[0], q[1], q[2])

    def _outputs(self, loaded: _Loaded) -> tuple[np.ndarray | None, ...]:
        outputs = []
        for index in loaded.outputs:
            values = self._real(loaded, index)
            outputs.append(np.array(values, dtype=np.float32) if values.size <= OUTPUT_VALUES_LIMIT else None)
        return tuple(outputs)

    def compare(self, request: CompareRequest) -> tuple[SampleResult, ...]:
        """Each sample through the reference and each candidate. A candidate the interpreter
        refuses gets its own error; the others go on."""
        with np.errstate(all="ignore"):  # hostile values may overflow; the metrics say inf/NaN
            return tuple(self._compare_sample(request, values) for values in request.samples)

    def _compare_sample(self, request: CompareRequest, values: Sequence[np.ndarray]) -> SampleResult:
        ref = self._run(request.reference, values)
        ref_outputs = self._outputs(ref)
        # The reference's tensors are read once, as views into its interpreter, which stay valid
        # while the candidates run in theirs; copied only when a candidate is the same file.
        needed = {pair.reference for candidate in request.candidates for pair in candidate.pairs}
        same_file = any(candidate.path == request.reference for candidate in request.candidates)
        ref_values = {r: self._real(ref, r, copy=same_file) for r in needed}
        results = []
        for candidate in request.candidates:
            try:
                cand = self._run(candidate.path, values)
                metrics = []
                for pair in candidate.pairs:
                    quant = cand.quantization.get(pair.candidate)
                    scale, axis = (quant[0], quant[2]) if quant else (None, 0)
                    metrics.append(tensor_error(ref_values[pair.reference], self._real(cand, pair.candidate), scale,
                                                axis))
                results.append(CandidateOnSample(tuple(metrics), self._outputs(cand)))
            except Exception as e:  # noqa: BLE001 - the interpreter's message, for this candidate only
                results.append(CandidateOnSample(error=f"{type(e).__name__}: {e}".strip()))
        return SampleResult(ref_outputs, tuple(results))

    def tensor_pair_values(self, request: TensorPairRequest) -> TensorPairValues:
        ref_loaded = self._run(request.reference, request.values)
        ref = np.array(self._real(ref_loaded, request.pair.reference), dtype=np.float32).ravel()
        loaded = self._run(request.candidate, request.values)
        cand = np.array(self._real(loaded, request.pair.candidate), dtype=np.float32).ravel()
        quant = loaded.quantization.get(request.pair.candidate)
        limit = request.limit
        step = max(1, -(-ref.size // limit)) if ref.size > limit else 1
        return TensorPairValues(
            reference=ref[::step].copy(),
            candidate=cand[::step].copy(),
            size=int(ref.size),
            sampled=step > 1,
            scale=float(np.mean(quant[0])) if quant else None,
        )
