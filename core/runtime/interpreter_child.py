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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..metrics import ErrorKernel, ErrorMetrics, tensor_error
from ..reading.tensor_data import dequantize_array, quantize_array
from .process import serve
from .protocol import (
    CandidateOnSample,
    CandidateRun,
    CompareRequest,
    DefaultDelegateNodes,
    DelegateNode,
    DelegateNodesRequest,
    DetailsRequest,
    InterpreterDetails,
    IsolatedRun,
    Latency,
    LatencyRequest,
    ResizedShapes,
    ResizedTensor,
    ResizeRequest,
    RunEntry,
    SampleResult,
    TensorDetails,
    TensorPairRequest,
    TensorPairValues,
)

# Outputs with more elements than this are not sent back whole (their error is in the
# layer metrics); classifier scores, the reason outputs come back, are far smaller.
OUTPUT_VALUES_LIMIT = 1 << 16


# Set (to anything but "0") to let the runtime's own log lines through to the terminal.
RUNTIME_LOG_VARIABLE = "TFLITE_INSPECTOR_RUNTIME_LOG"


def interpreter_main(conn: multiprocessing.connection.Connection) -> None:
    # Runs in the child: imports the interpreter here, never in the parent.
    if os.environ.get(RUNTIME_LOG_VARIABLE, "0") == "0":
        # The runtime writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." and the like
        # to the process's stderr: not for the user's terminal or a CLI's clean output. Its errors
        # reach the parent as exception messages; a native crash is reported by its signal.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    from ai_edge_litert import interpreter as litert

    runs = _PreservingInterpreters(litert)
    serve(conn, {
        DetailsRequest: lambda request: _details(litert, request),
        DelegateNodesRequest: lambda request: _default_delegate_nodes(litert, request),
        LatencyRequest: lambda request: _latency(litert, request),
        ResizeRequest: lambda request: _resize(litert, request),
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
    subgraph = request.entry.subgraph
    if subgraph:  # another signature's subgraph: allocated and invoked by index, as its runner does
        interpreter._interpreter.AllocateTensors(subgraph)
    for k, detail in enumerate(_entry_inputs(interpreter, request.entry)):
        scale, zero_point = _input_quantization(detail)
        shape = tuple(int(d) for d in detail["shape"])
        real = values[k] if values is not None and k < len(values) else np.zeros(shape, np.float32)
        interpreter._interpreter.SetTensor(detail["index"], quantize_array(np.reshape(real, shape), detail["dtype"],
                                                                           scale, zero_point), subgraph)
    for _ in range(request.warmup):
        interpreter._interpreter.Invoke(subgraph)
    times: list[float] = []
    spent = 0.0
    while len(times) < request.runs and (spent < request.max_seconds or len(times) < 3):
        started = time.perf_counter()
        interpreter._interpreter.Invoke(subgraph)
        elapsed = time.perf_counter() - started
        times.append(elapsed * 1000.0)
        spent += elapsed
    return Latency(tuple(times), model_nodes, delegate_nodes)


def _entry_inputs(interpreter: Any, entry: RunEntry) -> list[dict[str, Any]]:
    """The details of the entry's inputs in its order: the interpreter's own list for subgraph 0
    when none is given. Its Python API lists only subgraph 0's inputs; a signature's subgraph is
    reached by tensor index and subgraph index, as its SignatureRunner does."""
    if not entry.inputs and entry.subgraph == 0:
        return interpreter.get_input_details()
    return [interpreter._get_tensor_details(i, entry.subgraph) for i in entry.inputs]


def _entry_outputs(interpreter: Any, entry: RunEntry) -> list[int]:
    if not entry.outputs and entry.subgraph == 0:
        return [detail["index"] for detail in interpreter.get_output_details()]
    return list(entry.outputs)


def _address_space() -> int | None:
    """The worker's mapped bytes now (Linux), or None where that cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class _MemoryCap:
    """While in effect, the worker may map at most `extra` bytes more than it has now (where the
    platform allows): a model that asks for more at the shapes given fails its allocation here,
    in the worker, instead of taking the machine's memory."""

    def __init__(self, extra: int) -> None:
        self._extra = extra
        self._saved: tuple[int, int] | None = None

    def __enter__(self) -> None:
        try:
            import resource
        except ImportError:
            return
        now = _address_space()
        if now is None:
            return
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = now + self._extra
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        if soft == resource.RLIM_INFINITY or cap < soft:
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
            self._saved = (soft, hard)

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, self._saved)


def _tensor_known(interpreter: Any, index: int) -> bool:
    """True when the interpreter has memory for the tensor, i.e. knows its size; tensors it sizes
    only while running (dynamic ones) have none until then."""
    try:
        interpreter.tensor(index)()
    except ValueError:
        return False
    return True


def _resize(litert: Any, request: ResizeRequest) -> ResizedShapes:
    """Resize the inputs, allocate, and read every tensor's shape; when the interpreter leaves
    tensors unsized until it runs (their shape depends on values computed at run time), run once
    on zeros and read those after. Memory is capped at `max_bytes` over the worker's own."""
    # Room for the model's file (mapped) and the interpreter's own allocations besides tensors.
    with _MemoryCap(request.max_bytes + os.path.getsize(request.path) + (256 << 20)):
        interpreter = litert.Interpreter(
            model_path=request.path,
            experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        for index, shape in request.inputs:
            interpreter.resize_tensor_input(index, list(shape), strict=True)
        interpreter.allocate_tensors()
        details = interpreter.get_tensor_details()
        used = {int(detail["index"]) for detail in interpreter.get_input_details()}
        for node in interpreter._get_ops_details():
            used.update(int(i) for i in node["inputs"] if i >= 0)
            used.update(int(i) for i in node["outputs"] if i >= 0)
        total = 0
        pending = []
        for t in details:
            index = int(t["index"])
            if index not in used or np.dtype(t["dtype"]).kind not in "biufc":
                continue  # strings and resources: no numeric view to ask for, and no MACs or arena bytes
            if _tensor_known(interpreter, index):
                total += int(np.prod(t["shape"], dtype=np.int64)) * np.dtype(t["dtype"]).itemsize
            else:
                pending.append(index)
        if total > request.max_bytes:
            raise ValueError(f"at these input shapes the tensors need {total:,} bytes, more than the "
                             f"{request.max_bytes:,} allowed")
        run_error = ""
        run_shaped: list[int] = []
        if pending:
            try:
                for detail in interpreter.get_input_details():
                    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
                interpreter.invoke()
                details = interpreter.get_tensor_details()
                run_shaped = [i for i in pending if _tensor_known(interpreter, i)]
            except Exception as e:  # noqa: BLE001 - the shapes known before the run still stand
                # The interpreter's own words go to its stderr; its exception often has none.
                run_error = str(e).strip().splitlines()[0] if str(e).strip() else (
                    "the interpreter could not run the model at these shapes (an op refused them, "
                    "or they need more memory than allowed)")
        unresolved = sorted(set(pending) - set(run_shaped))
        tensors = tuple(
            ResizedTensor(int(t["index"]), t["name"], tuple(int(d) for d in t["shape"]),
                          tuple(int(d) for d in t["shape_signature"]))
            for t in details if int(t["index"]) not in unresolved
        )
        return ResizedShapes(tensors, tuple(run_shaped), tuple(unresolved), run_error)


@dataclass
class _Loaded:
    """An interpreter and what every run needs from its details, read once when it is loaded."""

    file_key: tuple[int, int]  # size and modification time of the file it was loaded from
    interpreter: Any
    quantization: dict[int, tuple]  # quantized integer tensor -> (scales, zero points, axis)
    inputs: list[tuple[int, Any, float | None, int]]  # (tensor, dtype, scale, zero point)
    outputs: list[int]
    subgraph: int = 0  # the signature's subgraph that is run; tensor indices are in it
    # Quantized tensors with one scale -> (scale, zero point) as float32 scalars and the scale as
    # a float: what ErrorKernel takes, made once per model instead of once per tensor and input.
    single_scale: dict[int, tuple[np.ndarray, np.ndarray, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.single_scale = {}
        for index, (scales, zero_points, _axis) in self.quantization.items():
            if np.size(scales) == 1:
                zero_point = np.asarray(zero_points, dtype=np.float32).reshape(-1)[:1]
                self.single_scale[index] = (np.asarray(scales, dtype=np.float32).reshape(()),
                                            zero_point.reshape(()) if zero_point.size else np.float32(0).reshape(()),
                                            float(np.asarray(scales, dtype=np.float64).reshape(-1)[0]))

    # The interpreter's public set_tensor/tensor/invoke reach subgraph 0 only; its wrapper takes a
    # subgraph index (as SignatureRunner uses it), and preserve_all_tensors holds for every subgraph.
    def set(self, index: int, value: np.ndarray) -> None:
        self.interpreter._interpreter.SetTensor(index, value, self.subgraph)

    def invoke(self) -> None:
        self.interpreter._ensure_safe()  # no numpy views into the tensors may live across a run
        self.interpreter._interpreter.Invoke(self.subgraph)

    def view(self, index: int) -> np.ndarray:
        wrapper = self.interpreter._interpreter
        return wrapper.tensor(wrapper, index, self.subgraph)


def _to_stored(real: np.ndarray, dtype: Any, quantization: tuple | None) -> np.ndarray:
    """Real values as a tensor of `dtype` with `quantization` (scales, zero points, axis) holds
    them: rounded half to even and clipped, per channel along the axis when there are several
    scales; a plain cast for a float tensor."""
    if quantization is None or not len(quantization[0]):
        # not ascontiguousarray: it makes a scalar 1-d; no copy when it is already as asked
        # (set_tensor copies it into the interpreter)
        return np.asarray(real, dtype=dtype, order="C")
    scales, zero_points, axis = quantization
    if len(scales) == 1:
        return quantize_array(real, dtype, float(scales[0]), int(zero_points[0]))
    view = [1] * real.ndim
    view[axis] = len(scales)
    info = np.iinfo(dtype)
    q = np.rint(real / np.reshape(scales, view).astype(np.float32)) + np.reshape(zero_points, view)
    return np.clip(q, info.min, info.max).astype(dtype)


class _PreservingInterpreters:
    """Interpreters kept across requests, all tensors preserved, delegates off (a delegate
    computes its partition's intermediates in its own memory, out of reach).

    Keyed by path and the file's size and modification time, so an edited file reloads.
    """

    def __init__(self, litert: Any, keep: int = 16) -> None:
        self._litert = litert
        self._keep = keep
        self._cache: dict[tuple[str, RunEntry], _Loaded] = {}
        self._kernel = ErrorKernel()

    def _load(self, path: str, file_key: tuple[int, int], entry: RunEntry = RunEntry()) -> _Loaded:
        interpreter = self._litert.Interpreter(
            model_path=path,
            experimental_op_resolver_type=self._litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            experimental_preserve_all_tensors=True,
        )
        interpreter.allocate_tensors()
        if entry.subgraph:
            interpreter._interpreter.AllocateTensors(entry.subgraph)
        quantization = {}
        for t in interpreter.get_tensor_details(entry.subgraph):
            qp = t["quantization_parameters"]
            if len(qp["scales"]) and np.dtype(t["dtype"]).kind in "iu":
                quantization[int(t["index"])] = (qp["scales"], qp["zero_points"], int(qp["quantized_dimension"]))
        inputs = [(detail["index"], detail["dtype"], *_input_quantization(detail))
                  for detail in _entry_inputs(interpreter, entry)]
        outputs = _entry_outputs(interpreter, entry)
        return _Loaded(file_key, interpreter, quantization, inputs, outputs, entry.subgraph)

    def _get(self, path: str, entry: RunEntry = RunEntry()) -> _Loaded:
        stat = os.stat(path)
        file_key = (stat.st_size, stat.st_mtime_ns)
        key = (path, entry)  # one interpreter per signature run: each has its own input order
        loaded = self._cache.pop(key, None)
        if loaded is None or loaded.file_key != file_key:
            loaded = self._load(path, file_key, entry)
        self._cache[key] = loaded  # most recently used last
        while len(self._cache) > self._keep:
            self._cache.pop(next(iter(self._cache)))
        return loaded

    def _run(self, path: str, values: Sequence[np.ndarray], entry: RunEntry = RunEntry()) -> _Loaded:
        loaded = self._get(path, entry)
        if len(loaded.inputs) != len(values):
            raise ValueError(f"the model has {len(loaded.inputs)} inputs; {len(values)} values were given")
        for (index, dtype, scale, zero_point), value in zip(loaded.inputs, values):
            loaded.set(index, quantize_array(value, dtype, scale, zero_point))
        loaded.invoke()
        return loaded

    @staticmethod
    def _real(loaded: _Loaded, index: int, copy: bool = False) -> np.ndarray:
        """The tensor's real values: dequantized when it is quantized, else as stored (a view
        into the interpreter unless `copy`; the interpreter refuses to run while views live)."""
        values = loaded.view(index)
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
        ref = self._run(request.reference, values, request.reference_entry)
        ref_outputs = self._outputs(ref)
        # The reference's tensors are read once, as views into its interpreter, which stay valid
        # while the candidates run in theirs; copied only when a candidate is the same file.
        needed = {pair.reference for candidate in request.candidates for pair in candidate.pairs}
        needed.update(r for candidate in request.candidates if candidate.isolated for r in candidate.isolated.feeds)
        needed.update(r for candidate in request.candidates if candidate.rounded_reference
                      for r in candidate.rounded_reference.feeds)
        same_file = any(candidate.path == request.reference for candidate in request.candidates)
        ref_values = {r: self._real(ref, r, copy=same_file) for r in needed}
        results = []
        for candidate in request.candidates:
            try:
                cand = self._run(candidate.path, values, candidate.entry)
                metrics = self._errors(cand, [(ref_values[pair.reference], pair.candidate) for pair in candidate.pairs])
                outputs = self._outputs(cand)
                isolated, own, isolated_error = (), (), None
                if candidate.isolated is not None:
                    try:
                        isolated, own = self._isolated(candidate, ref_values)
                    except Exception as e:  # noqa: BLE001 - the end-to-end numbers stand without it
                        isolated_error = f"{type(e).__name__}: {e}".strip()
                results.append(CandidateOnSample(tuple(metrics), outputs, isolated=isolated, isolated_own=own,
                                                 isolated_error=isolated_error))
            except Exception as e:  # noqa: BLE001 - the interpreter's message, for this candidate only
                results.append(CandidateOnSample(error=f"{type(e).__name__}: {e}".strip()))
        return SampleResult(ref_outputs, tuple(results))

    def _error(self, reference: np.ndarray, loaded: _Loaded, index: int) -> ErrorMetrics:
        """tensor_error of one of the loaded model's tensors against the reference's real values:
        from its stored values (a view) where it has one scale or none (metrics.ErrorKernel, the
        same numbers without a dequantized copy), else dequantized first."""
        quant = loaded.quantization.get(index)
        if quant is None:
            return self._kernel.error(reference, loaded.view(index))
        single = loaded.single_scale.get(index)
        if single is not None:
            return self._kernel.error(reference, loaded.view(index), *single)
        return tensor_error(reference, self._real(loaded, index), quant[0], quant[2])

    def _errors(self, loaded: _Loaded, wanted: Sequence[tuple[np.ndarray, int]]) -> list[ErrorMetrics]:
        """_error for each (reference values, tensor of the loaded model), in one ErrorKernel
        pass for the tensors with one scale or none."""
        batch = []
        for reference, index in wanted:
            if index not in loaded.quantization:
                batch.append((reference, loaded.view(index), None, None, None))
            elif (single := loaded.single_scale.get(index)) is not None:
                batch.append((reference, loaded.view(index), *single))
            else:
                batch.append(None)
        found = iter(self._kernel.errors([b for b in batch if b is not None]))
        return [next(found) if b is not None else self._error(reference, loaded, index)
                for b, (reference, index) in zip(batch, wanted)]

    def _feed(self, run: IsolatedRun, ref_values: dict[int, np.ndarray], converted: dict[tuple, np.ndarray] | None = None,
              ) -> _Loaded:
        """Run an isolated model (comparison/isolation.py): each input gets its reference tensor's
        real values, rounded first where the run says, then converted to the input's dtype and
        quantization. `converted` keeps each reference tensor's values as converted to a dtype and
        quantization, for the next isolated model of the same input: the candidate's isolated
        model and the rounded reference round the same tensors the same way."""
        if converted is None:
            converted = {}

        def stored(reference: int, real: np.ndarray, dtype: Any, quantization: tuple | None) -> np.ndarray:
            key = (reference, real.shape, np.dtype(dtype).str,
                   *((tuple(float(v) for v in quantization[0]), tuple(int(v) for v in quantization[1]),
                      quantization[2]) if quantization is not None and len(quantization[0]) else ()))
            found = converted.get(key)
            if found is None:
                found = converted[key] = _to_stored(real, dtype, quantization)
            return found

        loaded = self._get(run.path)
        if len(loaded.inputs) != len(run.feeds):
            raise ValueError(f"the isolated model has {len(loaded.inputs)} inputs; {len(run.feeds)} feeds were given")
        for k, ((index, dtype, _scale, _zero_point), reference) in enumerate(zip(loaded.inputs, run.feeds)):
            shape = loaded.view(index).shape  # not get_tensor: it copies the values
            real = np.reshape(ref_values[reference], shape)
            rounding = run.rounding[k] if k < len(run.rounding) else None
            if rounding is not None:
                stored_as, scales, zero_points, axis = rounding
                rounded = stored(reference, real, stored_as, (np.asarray(scales), np.asarray(zero_points), axis)
                                 if scales else None)
                real = dequantize_array(rounded, np.asarray(scales), np.asarray(zero_points), axis) if scales \
                    else rounded.astype(np.float32)
                value = _to_stored(real, dtype, loaded.quantization.get(index))
            else:
                value = stored(reference, real, dtype, loaded.quantization.get(index))
            loaded.interpreter.set_tensor(index, value)
        loaded.interpreter.invoke()
        return loaded

    def _isolated(self, candidate: CandidateRun, ref_values: dict[int, np.ndarray],
                  ) -> tuple[tuple[ErrorMetrics | None, ...], tuple[ErrorMetrics | None, ...]]:
        """Each pair's error with the candidate's op alone on the reference's activations: against
        the reference's tensor, and against the reference's op on the same rounded inputs (None
        where an isolated model does not produce the tensor)."""
        assert candidate.isolated is not None
        converted: dict[tuple, np.ndarray] = {}  # shared by both isolated models, this input only
        isolated = self._feed(candidate.isolated, ref_values, converted)
        produced = set(isolated.outputs)
        found = iter(self._errors(isolated, [(ref_values[pair.reference], pair.candidate)
                                             for pair in candidate.pairs if pair.candidate in produced]))
        metrics = tuple(next(found) if pair.candidate in produced else None for pair in candidate.pairs)
        own: tuple[ErrorMetrics | None, ...] = ()
        if candidate.rounded_reference is not None:
            # The isolated model's outputs are read again from its interpreter (a different
            # one from the rounded reference's, so they stay as they were).
            rounded = self._feed(candidate.rounded_reference, ref_values, converted)
            rounded_out = set(rounded.outputs)
            kept = [pair.candidate in produced and pair.reference in rounded_out for pair in candidate.pairs]
            found = iter(self._errors(isolated, [(self._real(rounded, pair.reference), pair.candidate)
                                                 for pair, keep in zip(candidate.pairs, kept) if keep]))
            own = tuple(next(found) if keep else None for keep in kept)
        return metrics, own

    def tensor_pair_values(self, request: TensorPairRequest) -> TensorPairValues:
        ref_loaded = self._run(request.reference, request.values, request.reference_entry)
        ref = np.array(self._real(ref_loaded, request.pair.reference), dtype=np.float32).ravel()
        loaded = self._run(request.candidate, request.values, request.candidate_entry)
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
