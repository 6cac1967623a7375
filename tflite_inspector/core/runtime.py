"""The LiteRT interpreter, always in a worker process with a timeout.

The only module that imports `ai_edge_litert.interpreter`, and only inside the
worker: a crash or hang in native code becomes a `RuntimeFailure` here, never
the end of the caller's process. Requests and answers are plain Python values.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from dataclasses import dataclass
from typing import Any

DEFAULT_TIMEOUT_S = 60.0


class RuntimeFailure(Exception):
    """The interpreter could not do what was asked: its message, a crash or a timeout."""


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

    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        kind, args = request
        try:
            if kind == "details":
                conn.send(("ok", _details(litert, *args)))
            elif kind == "default_delegate_nodes":
                conn.send(("ok", _default_delegate_nodes(litert, *args)))
            else:
                conn.send(("error", f"unknown request {kind!r}"))
        except Exception as e:  # noqa: BLE001 - the interpreter's own message is the answer
            conn.send(("error", f"{type(e).__name__}: {e}".strip()))


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


class RuntimeWorker:
    """A worker process that runs interpreter requests one at a time.

    It is started on first use and restarted after a crash or a timeout, so one
    bad model does not stop the next. Use as a context manager, or call close().
    """

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._ctx = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None

    def __enter__(self) -> RuntimeWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, args=(child,), daemon=True, name="litert-worker")
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._process = self._conn = None

    def _kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def request(self, kind: str, *args: Any) -> Any:
        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._conn is not None and self._process is not None
        try:
            self._conn.send((kind, args))
            if not self._conn.poll(self.timeout_s):
                self._kill()
                raise RuntimeFailure(f"the interpreter did not answer within {self.timeout_s:g} s")
            status, payload = self._conn.recv()
        except (EOFError, ConnectionError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self._kill()
            raise RuntimeFailure(f"the interpreter process crashed (exit code {code})") from None
        if status != "ok":
            raise RuntimeFailure(payload)
        return payload

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
