"""The LiteRT interpreter, always in a worker process with a timeout.

The only module that imports `ai_edge_litert.interpreter`, and only inside the
worker: a crash or hang in native code becomes a `RuntimeFailure` here, never
the end of the caller's process. Requests and answers are plain Python values.
"""

from __future__ import annotations

import multiprocessing.connection
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .worker import DEFAULT_TIMEOUT_S, RuntimeFailure, WorkerProcess, serve

__all__ = ["DEFAULT_TIMEOUT_S", "RuntimeFailure", "RuntimeWorker"]


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
    """What the interpreter reports for subgraph 0 of a model, delegates off."""

    op_names: tuple[str, ...]
    tensors: tuple[TensorDetails, ...]


def _worker_main(conn: multiprocessing.connection.Connection) -> None:
    # Runs in the child: imports the interpreter here, never in the parent.
    from ai_edge_litert import interpreter as litert

    runs = _PreservingInterpreters(litert)
    serve(conn, {
        "details": lambda path: _details(litert, path),
        "default_delegate_nodes": lambda path: _default_delegate_nodes(litert, path),
        "compare_samples": runs.compare_samples,
        "tensor_pair_values": runs.tensor_pair_values,
        "latency": lambda *args: _latency(litert, *args),
    })


def _details(litert: Any, path: str) -> dict[str, Any]:
    interpreter = litert.Interpreter(
        model_path=path,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    ops = [op["op_name"] for op in interpreter._get_ops_details()]
    tensors = []
    for t in interpreter.get_tensor_details():
        qp = t["quantization_parameters"]
        tensors.append(
            {
                "index": int(t["index"]),
                "name": t["name"],
                "dtype": t["dtype"].__name__ if isinstance(t["dtype"], type) else str(t["dtype"]),
                "shape": tuple(int(d) for d in t["shape"]),
                "shape_signature": tuple(int(d) for d in t["shape_signature"]),
                "scales": tuple(float(s) for s in qp["scales"]),
                "zero_points": tuple(int(z) for z in qp["zero_points"]),
                "quantized_dimension": int(qp["quantized_dimension"]),
            }
        )
    return {"ops": ops, "tensors": tensors}


def _default_delegate_nodes(litert: Any, path: str) -> dict[str, Any]:
    # The default op resolver applies XNNPACK when tensors are allocated; the
    # delegated partitions then appear as extra DELEGATE nodes after the
    # model's own nodes (which stay listed, but leave the execution plan).
    interpreter = litert.Interpreter(model_path=path)
    model_nodes = interpreter._interpreter.NumNodes()
    interpreter.allocate_tensors()
    delegate_nodes = []
    for node in interpreter._get_ops_details()[model_nodes:]:
        delegate_nodes.append(
            {
                "op_name": node["op_name"],
                "inputs": [int(i) for i in node["inputs"]],
                "outputs": [int(i) for i in node["outputs"]],
            }
        )
    return {"model_nodes": model_nodes, "delegate_nodes": delegate_nodes}


def _latency(litert: Any, path: str, values: Sequence[np.ndarray] | None, runs: int, threads: int,
             warmup: int, max_seconds: float) -> dict[str, Any]:
    """Time `runs` invocations as an app would run the model: the default op resolver, which
    applies XNNPACK, with `threads` threads; after `warmup` untimed runs (the first one packs
    XNNPACK's weights). Stops early once `max_seconds` of timed runs are spent."""
    from .inputs import feed_value

    interpreter = litert.Interpreter(model_path=path, num_threads=threads)
    model_nodes = interpreter._interpreter.NumNodes()
    interpreter.allocate_tensors()
    delegate_nodes = len(interpreter._get_ops_details()) - model_nodes
    for k, detail in enumerate(interpreter.get_input_details()):
        qp = detail["quantization_parameters"]
        scale = float(qp["scales"][0]) if len(qp["scales"]) == 1 else None
        zero_point = int(qp["zero_points"][0]) if len(qp["zero_points"]) == 1 else 0
        shape = tuple(int(d) for d in detail["shape"])
        real = values[k] if values is not None and k < len(values) else np.zeros(shape, np.float32)
        interpreter.set_tensor(detail["index"], feed_value(np.reshape(real, shape), detail["dtype"], scale, zero_point))
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    spent = 0.0
    while len(times) < runs and (spent < max_seconds or len(times) < 3):
        started = time.perf_counter()
        interpreter.invoke()
        elapsed = time.perf_counter() - started
        times.append(elapsed * 1000.0)
        spent += elapsed
    return {"times_ms": times, "model_nodes": model_nodes, "delegate_nodes": delegate_nodes}


# Outputs with more elements than this are not sent back whole (their error is in the
# layer metrics); classifier scores, the reason outputs come back, are far smaller.
OUTPUT_VALUES_LIMIT = 1 << 16


@dataclass
class _Loaded:
    """An interpreter and what every run needs from its details, read once when it is loaded."""

    file_key: tuple[int, int]  # size and modification time of the file it was loaded from
    interpreter: Any
    quantization: dict[int, tuple]  # quantized integer tensor -> (scales, zero points, axis)
    inputs: list[tuple[int, Any, float | None, int]]  # (tensor, dtype, scale, zero point)
    outputs: list[int]


class _PreservingInterpreters:
    """Interpreters kept across requests in the worker, all tensors preserved, delegates off
    (a delegate computes its partition's intermediates in its own memory, out of reach).

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
        inputs = []
        for detail in interpreter.get_input_details():
            scales = detail["quantization_parameters"]["scales"]
            zero_points = detail["quantization_parameters"]["zero_points"]
            inputs.append((
                detail["index"], detail["dtype"],
                float(scales[0]) if len(scales) == 1 else None,
                int(zero_points[0]) if len(zero_points) == 1 else 0,
            ))
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
        from .inputs import feed_value

        loaded = self._get(path)
        if len(loaded.inputs) != len(values):
            raise ValueError(f"the model has {len(loaded.inputs)} inputs; {len(values)} values were given")
        for (index, dtype, scale, zero_point), value in zip(loaded.inputs, values):
            loaded.interpreter.set_tensor(index, feed_value(value, dtype, scale, zero_point))
        loaded.interpreter.invoke()
        return loaded

    @staticmethod
    def _real(loaded: _Loaded, index: int, copy: bool = False) -> np.ndarray:
        """The tensor's real values: dequantized when it is quantized, else as stored (a view
        into the interpreter unless `copy`; the interpreter refuses to run while views live)."""
        from .tensor_data import dequantize_array

        values = loaded.interpreter.tensor(index)()
        q = loaded.quantization.get(index)
        if q is None:
            return values.copy() if copy else values
        return dequantize_array(values, q[0], q[1], q[2])

    def _outputs(self, loaded: _Loaded) -> list[np.ndarray | None]:
        outputs = []
        for index in loaded.outputs:
            values = self._real(loaded, index)
            outputs.append(np.array(values, dtype=np.float32) if values.size <= OUTPUT_VALUES_LIMIT else None)
        return outputs

    def compare_samples(self, reference: str, candidates: Sequence[tuple[str, Sequence[tuple[int, int]]]],
                        samples: Sequence[Sequence[np.ndarray]]) -> list[dict[str, Any]]:
        """Run the reference and each candidate on each input; per input, the error of each
        matched pair (ErrorMetrics) and every model's outputs as float32.

        A candidate the interpreter refuses gets its own error; the others go on.
        """
        with np.errstate(all="ignore"):  # hostile values may overflow; the metrics say inf/NaN
            return [self._compare_sample(reference, candidates, values) for values in samples]

    def _compare_sample(self, reference: str, candidates: Sequence[tuple[str, Sequence[tuple[int, int]]]],
                        values: Sequence[np.ndarray]) -> dict[str, Any]:
        from .metrics import tensor_error

        ref = self._run(reference, values)
        ref_outputs = self._outputs(ref)
        # The reference's tensors are read once, as views into its interpreter, which stay valid
        # while the candidates run in theirs; copied only when a candidate is the same file.
        needed = {r for _, pairs in candidates for r, _ in pairs}
        same_file = any(path == reference for path, _ in candidates)
        ref_values = {r: self._real(ref, r, copy=same_file) for r in needed}
        results = []
        for path, pairs in candidates:
            try:
                cand = self._run(path, values)
                metrics = []
                for r, c in pairs:
                    quant = cand.quantization.get(c)
                    scale, axis = (quant[0], quant[2]) if quant else (None, 0)
                    metrics.append(tensor_error(ref_values[r], self._real(cand, c), scale, axis))
                results.append({"metrics": metrics, "outputs": self._outputs(cand)})
            except Exception as e:  # noqa: BLE001 - the interpreter's message, for this candidate only
                results.append({"error": f"{type(e).__name__}: {e}".strip()})
        return {"reference_outputs": ref_outputs, "candidates": results}

    def tensor_pair_values(self, reference: str, candidate: str, values: Sequence[np.ndarray],
                           reference_tensor: int, candidate_tensor: int, limit: int) -> dict[str, Any]:
        """Both tensors' real values on one input, as float32; evenly strided down to `limit`
        elements when larger (`sampled` says so)."""
        ref = np.array(self._real(self._run(reference, values), reference_tensor), dtype=np.float32).ravel()
        loaded = self._run(candidate, values)
        cand = np.array(self._real(loaded, candidate_tensor), dtype=np.float32).ravel()
        quant = loaded.quantization.get(candidate_tensor)
        step = max(1, -(-ref.size // limit)) if ref.size > limit else 1
        return {
            "reference": ref[::step].copy(),
            "candidate": cand[::step].copy(),
            "size": int(ref.size),
            "sampled": step > 1,
            "scale": float(np.mean(quant[0])) if quant else None,
        }


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


class RuntimeWorker(WorkerProcess):
    """The LiteRT interpreter in a worker process that runs requests one at a time.

    It is started on first use and restarted after a crash or a timeout, so one
    bad model does not stop the next. Use as a context manager, or call close().
    """

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        super().__init__(_worker_main, name="litert-worker", what="the interpreter", timeout_s=timeout_s)

    def interpreter_details(self, path: str) -> InterpreterDetails:
        raw = self.request("details", str(path))
        return InterpreterDetails(
            op_names=tuple(raw["ops"]),
            tensors=tuple(TensorDetails(**t) for t in raw["tensors"]),
        )

    def default_delegate_nodes(self, path: str) -> DefaultDelegateNodes:
        """The DELEGATE nodes XNNPACK (the default delegate) puts into subgraph 0."""
        raw = self.request("default_delegate_nodes", str(path))
        return DefaultDelegateNodes(
            model_nodes=raw["model_nodes"],
            delegate_nodes=tuple(
                DelegateNode(n["op_name"], tuple(n["inputs"]), tuple(n["outputs"])) for n in raw["delegate_nodes"]
            ),
        )

    def compare_samples(self, reference: str, candidates: Sequence[tuple[str, Sequence[tuple[int, int]]]],
                        samples: Sequence[Sequence[np.ndarray]]) -> list[dict[str, Any]]:
        """Inputs through the reference and the candidates, all tensors preserved, delegates
        off; see `_PreservingInterpreters.compare_samples` for the answer. Several inputs per
        request save the round trips; the timeout covers the whole request."""
        return self.request("compare_samples", str(reference), [(str(p), list(pairs)) for p, pairs in candidates],
                            [list(values) for values in samples])

    def tensor_pair_values(self, reference: str, candidate: str, values: Sequence[np.ndarray],
                           reference_tensor: int, candidate_tensor: int, limit: int = 1 << 20) -> dict[str, Any]:
        return self.request("tensor_pair_values", str(reference), str(candidate), list(values),
                            reference_tensor, candidate_tensor, limit)

    def latency(self, path: str, values: Sequence[np.ndarray] | None = None, *, runs: int = 50, threads: int = 1,
                warmup: int = 3, max_seconds: float = 20.0) -> dict[str, Any]:
        """Invocation times in ms with XNNPACK (see `_latency`), on `values` (real values, one
        array per input; zeros when None). The timeout grows with the time allowed for the runs."""
        return self.request("latency", str(path), None if values is None else list(values), runs, threads, warmup,
                            max_seconds, timeout_s=self.timeout_s + max_seconds)
