"""Generators of hostile files and inputs (issue 18), shared by the tests and benchmarks/bench_hostile.py.

Each builds, from nothing, one class of file made on purpose to cost unbounded time or memory:

- `shared_table_model`: a flatbuffer DAG, every entry of a vector pointing at one table (the
  schema's object API cannot write these: it packs each entry on its own, so the bytes are
  written here with flatbuffers' Builder directly);
- `declared_size_model`: a tiny valid model whose input declares a huge shape;
- `write_npz`: `.npz` files with a pickled, corrupt, truncated or hugely expanding member;
- `write_big_png`: a PNG of many pixels that compresses to little.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s


def _int_vector(b: flatbuffers.Builder, values: list[int]) -> int:
    b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependInt32(v)
    return b.EndVector()


def _shared_vector(b: flatbuffers.Builder, table: int, n: int) -> int:
    """A vector of `n` offsets, all to one table: the DAG a flatbuffer allows and a tree never has."""
    b.StartVector(4, n, 4)
    for _ in range(n):
        b.PrependUOffsetTRelative(table)
    return b.EndVector()


def _tensor(b: flatbuffers.Builder, name: str, shape: list[int], dtype: int = s.TensorType.FLOAT32) -> int:
    name_at = b.CreateString(name)
    shape_at = _int_vector(b, shape)
    s.TensorStart(b)
    s.TensorAddName(b, name_at)
    s.TensorAddShape(b, shape_at)
    s.TensorAddType(b, dtype)
    s.TensorAddBuffer(b, 0)
    return s.TensorEnd(b)


def _finish(b: flatbuffers.Builder, tensors: int, operators: int, inputs: list[int], outputs: list[int],
            opcode: int = s.BuiltinOperator.ADD) -> bytes:
    inputs_at = _int_vector(b, inputs)
    outputs_at = _int_vector(b, outputs)
    s.SubGraphStart(b)
    s.SubGraphAddTensors(b, tensors)
    s.SubGraphAddOperators(b, operators)
    s.SubGraphAddInputs(b, inputs_at)
    s.SubGraphAddOutputs(b, outputs_at)
    sg = s.SubGraphEnd(b)
    s.ModelStartSubgraphsVector(b, 1)
    b.PrependUOffsetTRelative(sg)
    subgraphs = b.EndVector()
    s.OperatorCodeStart(b)
    s.OperatorCodeAddBuiltinCode(b, opcode)
    s.OperatorCodeAddDeprecatedBuiltinCode(b, min(opcode, 127))
    s.OperatorCodeAddVersion(b, 1)
    code = s.OperatorCodeEnd(b)
    s.ModelStartOperatorCodesVector(b, 1)
    b.PrependUOffsetTRelative(code)
    codes = b.EndVector()
    s.BufferStart(b)
    empty = s.BufferEnd(b)
    s.ModelStartBuffersVector(b, 1)
    b.PrependUOffsetTRelative(empty)
    buffers = b.EndVector()
    s.ModelStart(b)
    s.ModelAddVersion(b, 3)
    s.ModelAddOperatorCodes(b, codes)
    s.ModelAddSubgraphs(b, subgraphs)
    s.ModelAddBuffers(b, buffers)
    b.Finish(s.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _operator(b: flatbuffers.Builder, inputs: list[int], outputs: list[int]) -> int:
    """One operator of opcode 0 reading `inputs` and writing `outputs`."""
    op_inputs = _int_vector(b, inputs)
    op_outputs = _int_vector(b, outputs)
    s.OperatorStart(b)
    s.OperatorAddOpcodeIndex(b, 0)
    s.OperatorAddInputs(b, op_inputs)
    s.OperatorAddOutputs(b, op_outputs)
    return s.OperatorEnd(b)


def shared_table_model(n: int, kind: str = "operators") -> bytes:
    """A model of about 8·n bytes that decodes to n² entries when tables are not counted once.

    kind "operators": n operator entries all pointing at one ADD with n inputs (the issue's
    24 KB file at n = 3,000); "tensors": n tensor entries all pointing at one tensor of rank n.
    """
    b = flatbuffers.Builder(16 * n + 1024)
    if kind == "operators":
        t = _tensor(b, "x", [1, 4])
        tensors = _shared_vector(b, t, 1)
        op = _operator(b, [0] * n, [0])
        operators = _shared_vector(b, op, n)
    elif kind == "tensors":
        t = _tensor(b, "x", [1] * n)
        tensors = _shared_vector(b, t, n)
        op = _operator(b, [0, 1], [2])
        operators = _shared_vector(b, op, 1)
    else:
        raise ValueError(kind)
    return _finish(b, tensors, operators, [0], [0])


def honest_wide_model(n: int) -> bytes:
    """The tree counterpart of shared_table_model(n): n ADD ops of 2 inputs each, every table
    written once. About the same number of entries per byte; must always be read."""
    b = flatbuffers.Builder(64 * n + 1024)
    t = _tensor(b, "x", [1, 4])
    tensors = _shared_vector(b, t, 1)
    ops = []
    for _ in range(n):
        ops.append(_operator(b, [0, 0], [0]))
    b.StartVector(4, n, 4)
    for op in reversed(ops):
        b.PrependUOffsetTRelative(op)
    operators = b.EndVector()
    return _finish(b, tensors, operators, [0], [0])


def declared_size_model(shape: list[int], dtype: int = s.TensorType.FLOAT32) -> bytes:
    """A few hundred bytes: one RELU whose input and output declare `shape` (e.g. [1, 100000, 100000, 3])."""
    b = flatbuffers.Builder(1024)
    x = _tensor(b, "x", shape, dtype)
    y = _tensor(b, "y", shape, dtype)
    b.StartVector(4, 2, 4)
    b.PrependUOffsetTRelative(y)
    b.PrependUOffsetTRelative(x)
    tensors = b.EndVector()
    op = _operator(b, [0], [1])
    b.StartVector(4, 1, 4)
    b.PrependUOffsetTRelative(op)
    operators = b.EndVector()
    return _finish(b, tensors, operators, [0], [1], opcode=s.BuiltinOperator.RELU)


# -- inputs ------------------------------------------------------------------------

def write_npz(path: Path, kind: str, shape: tuple[int, ...] = (1, 4)) -> Path:
    """An `.npz` of one member "x": kind "pickled" (an object array), "corrupt" (a bad member
    CRC and body), "truncated" (the archive cut in half) or "expanding" (an 805 MB float32
    member that deflates to under a MB; `shape` ignored)."""
    if kind == "pickled":
        np.savez(path, x=np.array([{"a": 1}, None], dtype=object))
    elif kind in ("corrupt", "truncated"):
        np.savez_compressed(path, x=np.arange(np.prod(shape), dtype=np.float32).reshape(shape))
        data = bytearray(path.read_bytes())
        if kind == "truncated":
            data = data[: len(data) // 2]
        else:
            body = data.find(b"x.npy") + len("x.npy")
            for i in range(body, min(body + 40, len(data) - 100)):
                data[i] ^= 0xA5
        path.write_bytes(bytes(data))
    elif kind == "expanding":
        _write_expanding_npz(path, (1, 8192, 8192, 3))
    else:
        raise ValueError(kind)
    return path


def _write_expanding_npz(path: Path, shape: tuple[int, ...]) -> None:
    """A float32 member of `shape`, all zeros, deflated as it is written (never held in memory)."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros(0, np.float32))
    header["shape"] = shape
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            chunk = bytes(1 << 24)
            left = int(np.prod(shape)) * 4
            while left:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n


def write_big_png(path: Path, side: int, bit_depth: int = 8) -> Path:
    """A grey `side`×`side` PNG of zeros: hundreds of KB on disk, side² pixels once decoded."""
    row = b"\x00" + bytes(side * (bit_depth // 8))
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    idat = b"".join(parts)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, bit_depth, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def endless_while_model() -> bytes:
    """A WHILE whose condition is always true (x >= x) and whose body adds zero: it never ends."""
    from .graph_builder import GraphBuilder

    b = GraphBuilder()
    x = b.tensor("x", [1])
    y = b.tensor("y", [1])
    b.op("WHILE", [x], [y], options=("WhileOptions", {"condSubgraphIndex": 1, "bodySubgraphIndex": 2}))
    b.add_subgraph("cond")
    c = b.tensor("c", [1])
    flag = b.tensor("flag", [1], "BOOL")
    b.op("GREATER_EQUAL", [c, c], [flag])
    b.add_subgraph("body")
    v = b.tensor("v", [1])
    zero = b.constant("zero", np.zeros(1, np.float32))
    w = b.tensor("w", [1])
    b.op("ADD", [v, zero], [w], options=("AddOptions", {}))
    return b.build(inputs=[v], outputs=[w])


def recursive_while_model(shape: list[int] = (1, 1)) -> bytes:
    """A WHILE whose body is the subgraph holding it: the interpreter recurses until its stack
    overflows and the process dies of SIGSEGV (a real crash of native code, made on purpose)."""
    from .graph_builder import GraphBuilder

    b = GraphBuilder()
    x = b.tensor("x", list(shape))
    y = b.tensor("y", list(shape))
    b.op("WHILE", [x], [y], options=("WhileOptions", {"condSubgraphIndex": 1, "bodySubgraphIndex": 0}))
    b.add_subgraph("cond")
    c = b.tensor("c", list(shape))
    new_shape = b.constant("one", np.array([1], np.int32))
    r = b.tensor("r", [1])
    b.op("RESHAPE", [c, new_shape], [r], options=("ReshapeOptions", {"newShape": [1]}))
    flag = b.tensor("flag", [1], "BOOL")
    b.op("GREATER_EQUAL", [r, r], [flag])
    return b.build()


# Terminal escape sequences: set the window title, clear the screen, rewrite the line, ring.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\rX\x9b31m"


def escape_sequence_model() -> bytes:
    """A model whose every string carries terminal escape sequences: description, subgraph,
    tensor and signature names, a custom op's name and a metadata entry's name."""
    from .graph_builder import GraphBuilder

    b = GraphBuilder()
    b.description = f"desc{ESCAPES}"
    b._subgraphs[0].name = f"sg{ESCAPES}"
    x = b.tensor(f"x{ESCAPES}", [1, 4])
    y = b.tensor(f"y{ESCAPES}", [1, 4])
    z = b.tensor(f"z{ESCAPES}", [1, 4])
    b.op("RELU", [x], [y])
    b.op(f"Custom{ESCAPES}\nsecond line", [y], [z])
    b.metadata(f"meta{ESCAPES}", b"value")
    b.signature(f"sig{ESCAPES}", {f"in{ESCAPES}": x}, {f"out{ESCAPES}": z})
    return b.build()


def wide_rank_model(n: int) -> bytes:
    """An honest file (no table shared) of about 8·n bytes whose one CONCATENATION reads the
    same tensor of rank n through n inputs: n² dimensions for whatever walks inputs × shape."""
    b = flatbuffers.Builder(16 * n + 1024)
    t = _tensor(b, "x", [1] * n)
    tensors = _shared_vector(b, t, 1)
    op = _operator(b, [0] * n, [0])
    operators = _shared_vector(b, op, 1)
    return _finish(b, tensors, operators, [0], [0], opcode=s.BuiltinOperator.CONCATENATION)
