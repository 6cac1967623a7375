"""Turn a .tflite file into the project's object model (`reading/model.py`).

The only module that touches the TFLite flatbuffer schema. The file is memory
mapped and parsed in place through the schema module that `ai_edge_litert`
ships (over the fast tables of flatbuffer_table.py); tensor data is never
copied here, and the zip a model may carry is listed by attached_zip.py.

It is longer than the other modules on purpose: one parser walks the whole
schema (model, buffers, subgraphs, tensors, quantization, sparsity, operators
and their options, signatures, metadata), and keeping that walk in one place
keeps every bound check of an untrusted file in one place too.

A .tflite file is untrusted. The generated accessors do no checking, so every
vector length is checked against the file size before it is iterated, every
index against what it indexes, and any other failure while decoding a part of
the file becomes a `ModelError` that names the part.
"""

from __future__ import annotations

import functools
import mmap
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from ..errors import ModelError
from .attached_zip import list_attached_files
from .flexbuffer import FlexbufferError, decode_flexbuffer
from .flatbuffer_table import rewrap, wrap
from .metadata import MetadataFormatError, parse_tflite_metadata
from .regular_files import NotRegularFile, open_regular
from .model import (
    AssociatedFile,
    BlockwiseQuantization,
    Buffer,
    CustomQuantization,
    DimensionMetadata,
    ExternalBuffer,
    MetadataEntry,
    Model,
    MultiAxisQuantization,
    Operator,
    Quantization,
    Signature,
    Sparsity,
    Subgraph,
    Tensor,
    TfliteMetadata,
    storage_bytes,
)

FILE_IDENTIFIER = b"TFL3"
# How many times its own size a file may make the reader decode (_Parser.spend).
DECODE_LIMIT_FACTOR = 2
CUSTOM_CODE = schema.BuiltinOperator.CUSTOM


def _enum_names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


OPERATOR_NAMES = _enum_names(schema.BuiltinOperator)
TENSOR_TYPE_NAMES = _enum_names(schema.TensorType)
OPTIONS_NAMES = _enum_names(schema.BuiltinOptions)
OPTIONS2_NAMES = _enum_names(schema.BuiltinOptions2)
CUSTOM_OPTIONS_FORMATS = _enum_names(schema.CustomOptionsFormat)
DIMENSION_TYPES = _enum_names(schema.DimensionType)

# Option fields whose integer values are schema enums (object-API attribute names).
_OPTION_ENUMS: dict[str, dict[int, str]] = {
    "padding": _enum_names(schema.Padding),
    "fusedActivationFunction": _enum_names(schema.ActivationFunctionType),
    "weightsFormat": _enum_names(schema.FullyConnectedOptionsWeightsFormat),
    "type": _enum_names(schema.LSHProjectionType),
    "combiner": _enum_names(schema.CombinerType),
    "mode": _enum_names(schema.MirrorPadMode),
    "kernelType": _enum_names(schema.LSTMKernelType),
    "comparisonDirection": _enum_names(schema.StablehloComparisonDirection),
    "compareType": _enum_names(schema.StablehloComparisonType),
    "algorithm": _enum_names(schema.RngAlgorithm),
    "reduceFunction": _enum_names(schema.ReduceWindowFunction),
    "compositeAttributesFormat": CUSTOM_OPTIONS_FORMATS,
    "precisionConfig": _enum_names(schema.StablehloPrecisionConfig),
}
for _name in ("inDataType", "outDataType", "outType", "outputType", "idxOutType",
              "keyDtype", "valueDtype", "quantizedBiasType"):
    _OPTION_ENUMS[_name] = TENSOR_TYPE_NAMES

# Option fields that name other subgraphs (IF, WHILE, CALL_ONCE, StableHLO regions).
_SUBGRAPH_FIELDS = {
    "thenSubgraphIndex", "elseSubgraphIndex", "condSubgraphIndex", "bodySubgraphIndex",
    "initSubgraphIndex", "subgraph", "comparatorSubgraphIndex",
    "updateComputationSubgraphIndex", "decompositionSubgraphIndex",
    "branchSubgraphIndices", "calledComputations",
}

# vtable slots of the vectors of tables we iterate (schema.fbs field order).
_SLOT_MODEL_OPCODES = 6
_SLOT_MODEL_SUBGRAPHS = 8
_SLOT_MODEL_BUFFERS = 12
_SLOT_MODEL_METADATA = 16
_SLOT_MODEL_SIGNATURES = 18
_SLOT_MODEL_EXT_GROUPS = 20
_SLOT_MODEL_EXT_BUFFERS = 22
_SLOT_SUBGRAPH_TENSORS = 4
_SLOT_SUBGRAPH_OPERATORS = 10
_SLOT_SIGNATURE_INPUTS = 4
_SLOT_SIGNATURE_OUTPUTS = 6
_SLOT_SPARSITY_DIM_METADATA = 8
_SLOT_BUFFER_DATA = 4

@functools.cache
def _snake(name: str) -> str:
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_")
            out.append(ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _ints(array: Any) -> tuple[int, ...]:
    """A flatbuffer numeric vector (numpy view, or 0 when absent) as a tuple of ints."""
    if isinstance(array, np.ndarray):
        return tuple(array.tolist())
    return ()


def _floats(array: Any, dtype: str) -> np.ndarray:
    if isinstance(array, np.ndarray):
        return np.array(array, dtype=dtype)  # a small copy, so the map can be closed
    return np.zeros(0, dtype=dtype)


def read_model(path: str | os.PathLike[str]) -> Model:
    """Read a .tflite file. Raises ModelError with a one-line message on any problem."""
    path = os.fspath(path)
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise ModelError(f"{path}: the file is empty")
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(mmap, "MADV_RANDOM"):
                # Parsing touches a few scattered tables; without this the kernel
                # reads ahead megabytes of weights around each of them.
                data.madvise(mmap.MADV_RANDOM)
    except ModelError:
        raise
    except IsADirectoryError:
        raise ModelError(f"{path}: is a folder, not a .tflite file") from None
    except NotRegularFile as e:
        raise ModelError(f"{path}: {e.strerror}") from None
    except OSError as e:
        raise ModelError(f"{path}: cannot open: {e.strerror or e}") from None
    except ValueError as e:  # mmap of special files
        raise ModelError(f"{path}: cannot map the file: {e}") from None
    try:
        return _Parser(data, path).parse()
    except BaseException:
        try:
            data.close()
        except BufferError:
            pass  # a numpy view in the error's traceback still holds the map; it goes with it
        raise


def read_model_bytes(data: bytes, path: str = "<memory>") -> Model:
    """Read a model held in memory (tests, downloads). Same checks as read_model."""
    if not data:
        raise ModelError(f"{path}: the file is empty")
    return _Parser(data, path).parse()


class _Parser:
    def __init__(self, data: Any, path: str) -> None:
        self.buf = data
        self.size = len(data)
        self.path = path
        self.warnings: list[str] = []
        self.axis_problems: list[str] = []
        # Bytes of lists, strings and buffers decoded so far, counted at every read. A flatbuffer
        # may point many vector entries at one table, so a small file can make the reader (and
        # every later stage) decode the same table thousands of times: work that grows with the
        # square of the file size. Without sharing, everything decoded lies in the file once,
        # so a file that makes us decode more than its own size is not honest. The limit is
        # twice the size: writers may share identical strings or buffers in good faith (real
        # models decode 0.999 of their size), and twice is still linear (see `spend`).
        self.decoded = 0
        self.decode_limit = DECODE_LIMIT_FACTOR * self.size
        self.seen_buffers: set[tuple[int, int]] = set()
        # (where, what, entries, distinct tables) for each vector of tables with repeated
        # entries, so the refusal can name the sharing that caused it.
        self.shared: list[tuple[str, str, int, int]] = []

    # -- checks ---------------------------------------------------------------

    def fail(self, where: str, message: str) -> ModelError:
        return ModelError(f"{self.path}: {where}: {message}" if where else f"{self.path}: {message}")

    def guarded(self, where: str, fn: Callable[[], Any]) -> Any:
        """Run one decoding step; a failure of the generated code names `where`."""
        try:
            return fn()
        except ModelError:
            raise
        except RecursionError:
            raise self.fail(where, "structure nested too deeply") from None
        except MemoryError:
            raise self.fail(where, "claims more memory than is available") from None
        except Exception as e:  # noqa: BLE001 - garbage offsets raise struct.error, TypeError, ...
            raise self.fail(where, f"corrupt flatbuffer data ({type(e).__name__}: {e})") from None

    def spend(self, n_bytes: int, where: str) -> None:
        """Count `n_bytes` of decoded content; refuse the file once it exceeds the file's size."""
        self.decoded += n_bytes
        if self.decoded <= self.decode_limit:
            return
        limit = f"(a model may decode at most {DECODE_LIMIT_FACTOR} times its {self.size:,} bytes)"
        if self.shared:
            place, what, n, distinct = max(self.shared, key=lambda s: s[2] - s[3])
            tables = "one table" if distinct == 1 else f"{distinct:,} tables"
            raise self.fail(place, f"{n:,} {what}s share {tables}, which would be decoded over and over {limit}")
        raise self.fail(where, f"more lists and data than the file could hold {limit}")

    def ints(self, array: Any) -> tuple[int, ...]:
        """A numeric vector as ints, counted against the file's size (`spend`) before conversion."""
        if isinstance(array, np.ndarray):
            self.spend(array.nbytes, "")
        return _ints(array)

    def floats(self, array: Any, dtype: str) -> np.ndarray:
        if isinstance(array, np.ndarray):
            self.spend(array.nbytes, "")
        return _floats(array, dtype)

    def text(self, raw: bytes | None) -> str:
        if raw:
            self.spend(len(raw), "")
        return _text(raw)

    def tables(self, obj: Any, slot: int, cls: type, where: str, what: str) -> list[Any]:
        """The tables of a vector field, as generated `cls` objects.

        The length is checked to fit in the file before anything is iterated,
        so a hostile count cannot make the reader loop for long.
        """
        tab = obj._tab
        o = tab.Offset(slot)
        if o == 0:
            return []
        start = tab.Vector(o)
        n = tab.VectorLen(o)
        if start < 0 or start + 4 * n > self.size:
            raise self.fail(where, f"{what} list claims {n} entries, past the end of the file")
        self.spend(4 * n, where)
        offsets = struct.unpack_from(f"<{n}I", self.buf, start)
        positions = [start + 4 * i + rel for i, rel in enumerate(offsets)]
        distinct = len(set(positions))
        if distinct < n:
            self.shared.append((where, what, n, distinct))
        return [wrap(cls, self.buf, pos) for pos in positions]

    def check_index(self, value: int, count: int, where: str, what: str, allow_absent: bool = False) -> None:
        if allow_absent and value == -1:
            return
        if not 0 <= value < count:
            raise self.fail(where, f"{what} {value} is out of range (there are {count})")

    # -- model ----------------------------------------------------------------

    def parse(self) -> Model:
        if self.size < 8:
            raise self.fail("", f"only {self.size} bytes: too short to be a .tflite model")
        ident = bytes(self.buf[4:8])
        if ident != FILE_IDENTIFIER:
            raise self.fail(
                "", f"not a .tflite model (file identifier {ident!r}, expected {FILE_IDENTIFIER!r})"
            )
        root = int.from_bytes(self.buf[0:4], "little")
        if root + 4 > self.size:
            raise self.fail("header", f"root table offset {root} is past the end of the file")
        m = self.guarded("header", lambda: wrap(schema.Model, self.buf, root))
        self.model = m
        version = self.guarded("model version", m.Version)
        description = self.guarded("model description", lambda: self.text(m.Description()))

        self.buffers = self.guarded("buffers", self.read_buffers)
        self.external_buffers = self.guarded("external buffers", self.read_external_buffers)
        self.external_lengths = {e.id: e.length for e in self.external_buffers}
        self.opcodes = self.guarded("operator codes", self.read_opcodes)
        subgraph_tables = self.guarded(
            "model", lambda: self.tables(m, _SLOT_MODEL_SUBGRAPHS, schema.SubGraph, "model", "subgraph")
        )
        if not subgraph_tables:
            raise self.fail("model", "has no subgraphs")
        self.n_subgraphs = len(subgraph_tables)
        subgraphs = tuple(self.read_subgraph(sg, i) for i, sg in enumerate(subgraph_tables))
        signatures = self.guarded("signature defs", lambda: self.read_signatures(subgraphs))
        entries = self.guarded("metadata", self.read_metadata_entries)
        min_runtime, tflite_metadata = self.read_metadata_values(entries)
        zip_files = self.read_zip()
        if self.axis_problems:
            shown = "; ".join(self.axis_problems[:3])
            more = f" (and {len(self.axis_problems) - 3} more)" if len(self.axis_problems) > 3 else ""
            self.warnings.append(
                f"{len(self.axis_problems)} tensors have quantization the LiteRT interpreter refuses: {shown}{more}"
            )
        return Model(
            path=self.path,
            size_bytes=self.size,
            version=version,
            description=description,
            subgraphs=subgraphs,
            buffers=self.buffers,
            signatures=signatures,
            metadata_entries=entries,
            min_runtime_version=min_runtime,
            tflite_metadata=tflite_metadata,
            zip_files=zip_files,
            external_buffers=self.external_buffers,
            warnings=tuple(self.warnings),
            data=self.buf,
        )

    def read_buffers(self) -> tuple[Buffer, ...]:
        m = self.model
        result = []
        for i, b in enumerate(self.tables(m, _SLOT_MODEL_BUFFERS, schema.Buffer, "model", "buffer")):
            tab = b._tab
            o = tab.Offset(_SLOT_BUFFER_DATA)
            offset = size = 0
            external = False
            if o:
                offset = tab.Vector(o)
                size = tab.VectorLen(o)
            if size == 0:
                # Models over 2 GB keep buffer data after the flatbuffer; offset 0
                # and 1 both mean "not used" (1 is a sentinel the writer uses).
                ext_offset, ext_size = b.Offset(), b.Size()
                if ext_offset > 1:
                    offset, size, external = ext_offset, ext_size, True
            if offset < 0 or offset + size > self.size:
                raise self.fail(
                    f"buffer {i}", f"{size} bytes at offset {offset} run past the end of the file ({self.size} bytes)"
                )
            if not external and (offset, size) not in self.seen_buffers:
                # Counted once per region: entries sharing a buffer's data are counted in
                # `tables`, and what reads a buffer later reads it by region.
                self.seen_buffers.add((offset, size))
                self.spend(size, f"buffer {i}")
            result.append(Buffer(i, offset, size, external))
        return tuple(result)

    def read_external_buffers(self) -> tuple[ExternalBuffer, ...]:
        m = self.model
        groups = [
            self.text(g.Name())
            for g in self.tables(m, _SLOT_MODEL_EXT_GROUPS, schema.ExternalBufferGroup, "model", "external buffer group")
        ]
        result = []
        for i, e in enumerate(self.tables(m, _SLOT_MODEL_EXT_BUFFERS, schema.ExternalBuffer, "model", "external buffer")):
            self.check_index(e.Group(), len(groups), f"external buffer {i}", "group")
            result.append(ExternalBuffer(e.Id(), groups[e.Group()], e.Offset(), e.Length(), self.text(e.Packing())))
        return tuple(result)

    def read_opcodes(self) -> tuple[tuple[str, int, str | None, int], ...]:
        m = self.model
        result = []
        for i, oc in enumerate(self.tables(m, _SLOT_MODEL_OPCODES, schema.OperatorCode, "model", "operator code")):
            # Codes >= 128 live only in builtin_code; old writers fill only the
            # deprecated field, new ones put min(code, 127) there.
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            custom = oc.CustomCode()
            custom_code = self.text(custom) if custom is not None else None
            if code == CUSTOM_CODE:
                name = custom_code or "CUSTOM"
            else:
                name = OPERATOR_NAMES.get(code)
                if name is None:
                    name = f"BUILTIN_{code}"
                    self.warnings.append(f"operator code {i}: builtin code {code} is not in this schema")
                custom_code = None
            result.append((name, code, custom_code, oc.Version()))
        return tuple(result)

    # -- subgraphs ------------------------------------------------------------

    def read_subgraph(self, sg: Any, index: int) -> Subgraph:
        where = f"subgraph {index}"
        tensor_tables = self.guarded(where, lambda: self.tables(sg, _SLOT_SUBGRAPH_TENSORS, schema.Tensor, where, "tensor"))
        tensors = tuple(self.read_tensor(t, index, i) for i, t in enumerate(tensor_tables))
        n_tensors = len(tensors)
        inputs = self.guarded(f"{where} inputs", lambda: self.ints(sg.InputsAsNumpy()))
        outputs = self.guarded(f"{where} outputs", lambda: self.ints(sg.OutputsAsNumpy()))
        for t in inputs:
            self.check_index(t, n_tensors, f"{where} inputs", "tensor")
        for t in outputs:
            self.check_index(t, n_tensors, f"{where} outputs", "tensor")
        op_tables = self.guarded(where, lambda: self.tables(sg, _SLOT_SUBGRAPH_OPERATORS, schema.Operator, where, "operator"))
        operators = tuple(self.read_operator(op, index, i, n_tensors) for i, op in enumerate(op_tables))
        name = self.guarded(f"{where} name", lambda: self.text(sg.Name()))
        return Subgraph(index, name, tensors, operators, inputs, outputs)

    def read_tensor(self, t: Any, sg_index: int, index: int) -> Tensor:
        where = f"subgraph {sg_index} tensor {index}"
        tensor = self.guarded(where, lambda: self._tensor(t, sg_index, index, where))
        self.check_tensor_data(tensor, where)
        self.check_quantization_axis(tensor, where)
        return tensor

    def _tensor(self, t: Any, sg_index: int, index: int, where: str) -> Tensor:
        type_code = t.Type()
        dtype = TENSOR_TYPE_NAMES.get(type_code)
        if dtype is None:
            raise self.fail(where, f"unknown tensor type {type_code}")
        buffer = t.Buffer()
        if buffer or self.buffers:  # buffer 0 means "no data", even in a model with no buffers
            self.check_index(buffer, len(self.buffers), where, "buffer")
        shape = self.ints(t.ShapeAsNumpy())
        signature = self.ints(t.ShapeSignatureAsNumpy()) or shape
        if any(d < 0 for d in shape):
            # The runtime stores 1 (not -1) for dynamic dimensions in `shape`.
            raise self.fail(where, f"shape {list(shape)} has a negative dimension")
        q = t.Quantization()
        quantization = self.read_quantization(rewrap(q), where) if q is not None else None
        s = t.Sparsity()
        sparsity = self.read_sparsity(rewrap(s), where) if s is not None else None
        external = t.ExternalBuffer()
        data_bytes = self.buffers[buffer].size if buffer else 0
        if external:
            if external not in self.external_lengths:
                raise self.fail(where, f"external buffer {external} is not defined")
            data_bytes = self.external_lengths[external]
        return Tensor(
            subgraph=sg_index,
            index=index,
            name=self.text(t.Name()),
            dtype=dtype,
            shape=shape,
            shape_signature=signature,
            buffer=buffer,
            quantization=quantization,
            is_variable=bool(t.IsVariable()),
            sparsity=sparsity,
            has_rank=bool(t.HasRank()),
            external_buffer=external,
            data_bytes=data_bytes,
        )

    def check_tensor_data(self, tensor: Tensor, where: str) -> None:
        """A constant must hold exactly the bytes its shape and dtype need."""
        if tensor.data_bytes == 0 or tensor.sparsity is not None or tensor.external_buffer:
            return
        expected = storage_bytes(tensor.dtype, tensor.num_elements)
        if expected is None or expected == tensor.data_bytes:
            return
        if tensor.dtype in ("INT4", "UINT4", "INT2") and tensor.data_bytes == tensor.num_elements:
            return  # sub-byte values stored one per byte
        raise self.fail(
            where,
            f"{tensor.name!r} has shape [{','.join(map(str, tensor.shape))}] {tensor.dtype} "
            f"({tensor.num_elements} elements, {expected} bytes) but buffer {tensor.buffer} "
            f"holds {tensor.data_bytes} bytes",
        )

    def read_quantization(self, q: Any, where: str) -> Quantization | None:
        scale = self.floats(q.ScaleAsNumpy(), "float32")
        zero_point = self.floats(q.ZeroPointAsNumpy(), "int64")
        qmin = self.floats(q.MinAsNumpy(), "float32")
        qmax = self.floats(q.MaxAsNumpy(), "float32")
        details = None
        details_type = q.DetailsType()
        if details_type:
            table = q.Details()
            if details_type == schema.QuantizationDetails.CustomQuantization:
                c = schema.CustomQuantization()
                c.Init(table.Bytes, table.Pos)
                raw = c.CustomAsNumpy()
                details = CustomQuantization(bytes(raw) if isinstance(raw, np.ndarray) else b"")
            elif details_type == schema.QuantizationDetails.BlockwiseQuantization:
                b = schema.BlockwiseQuantization()
                b.Init(table.Bytes, table.Pos)
                details = BlockwiseQuantization(
                    b.Scales(), b.ZeroPoints(), b.BlockSize(), self.ints(b.BlockShapeAsNumpy())
                )
            elif details_type == schema.QuantizationDetails.MultiAxisQuantization:
                x = schema.MultiAxisQuantizationT.InitFromBuf(table.Bytes, table.Pos)
                details = MultiAxisQuantization(
                    x.scales, x.zeroPoints, x.blockSize,
                    self.ints(getattr(x, "quantizedDimensions", None)),
                )
            else:
                self.warnings.append(f"{where}: unknown quantization details type {details_type}")
        if scale.size == 0 and zero_point.size == 0 and qmin.size == 0 and qmax.size == 0 and details is None:
            return None
        if scale.size and zero_point.size != scale.size:
            # The interpreter refuses this too ("Must have same number").
            raise self.fail(where, f"quantization has {scale.size} scales but {zero_point.size} zero points")
        return Quantization(scale, zero_point, q.QuantizedDimension(), qmin, qmax, details)

    def check_quantization_axis(self, tensor: Tensor, where: str) -> None:
        """Warn where the LiteRT interpreter would refuse the quantization axis."""
        q = tensor.quantization
        if q is None or q.scale.size == 0 or not tensor.shape:
            return
        axis = q.quantized_dimension
        if not 0 <= axis < len(tensor.shape):
            problem = f"quantized_dimension {axis} is outside its rank {len(tensor.shape)}"
        elif q.per_channel and tensor.shape[axis] != q.scale.size:
            problem = f"{q.scale.size} scales for dimension {axis} of size {tensor.shape[axis]}"
        else:
            return
        self.axis_problems.append(f"{where} {tensor.name!r}: {problem}")

    def read_sparsity(self, s: Any, where: str) -> Sparsity:
        dims = []
        for d in self.tables(s, _SLOT_SPARSITY_DIM_METADATA, schema.DimensionMetadata, where, "sparsity dimension"):
            dims.append(
                DimensionMetadata(
                    format=DIMENSION_TYPES.get(d.Format(), str(d.Format())),
                    dense_size=d.DenseSize(),
                    array_segments=self._sparse_index_vector(d.ArraySegmentsType(), d.ArraySegments()),
                    array_indices=self._sparse_index_vector(d.ArrayIndicesType(), d.ArrayIndices()),
                )
            )
        return Sparsity(self.ints(s.TraversalOrderAsNumpy()), self.ints(s.BlockMapAsNumpy()), tuple(dims))

    def _sparse_index_vector(self, kind: int, table: Any) -> tuple[int, ...]:
        classes = {
            schema.SparseIndexVector.Int32Vector: schema.Int32Vector,
            schema.SparseIndexVector.Uint16Vector: schema.Uint16Vector,
            schema.SparseIndexVector.Uint8Vector: schema.Uint8Vector,
        }
        cls = classes.get(kind)
        if cls is None or table is None:
            return ()
        v = cls()
        v.Init(table.Bytes, table.Pos)
        return self.ints(v.ValuesAsNumpy())

    # -- operators ------------------------------------------------------------

    def read_operator(self, op: Any, sg_index: int, index: int, n_tensors: int) -> Operator:
        where = f"subgraph {sg_index} operator {index}"
        return self.guarded(where, lambda: self._operator(op, sg_index, index, n_tensors, where))

    def _operator(self, op: Any, sg_index: int, index: int, n_tensors: int, where: str) -> Operator:
        opcode_index = op.OpcodeIndex()
        self.check_index(opcode_index, len(self.opcodes), where, "operator code")
        name, code, custom_code, version = self.opcodes[opcode_index]
        inputs = self.ints(op.InputsAsNumpy())
        outputs = self.ints(op.OutputsAsNumpy())
        intermediates = self.ints(op.IntermediatesAsNumpy())
        for t in inputs:
            self.check_index(t, n_tensors, f"{where} ({name}) inputs", "tensor", allow_absent=True)
        for t in outputs:
            self.check_index(t, n_tensors, f"{where} ({name}) outputs", "tensor", allow_absent=True)
        for t in intermediates:
            self.check_index(t, n_tensors, f"{where} ({name}) intermediates", "tensor")

        options_type = None
        options: dict[str, Any] = {}
        refs: dict[str, int] = {}
        kind = op.BuiltinOptionsType()
        if kind:
            options_type = OPTIONS_NAMES.get(kind, f"BuiltinOptions{kind}")
            table = op.BuiltinOptions()
            if table is not None and kind in OPTIONS_NAMES:
                options, refs = self.decode_options(options_type, table, where)
        kind2 = op.BuiltinOptions2Type()
        if kind2:
            options_type = OPTIONS2_NAMES.get(kind2, f"BuiltinOptions2_{kind2}")
            table = op.BuiltinOptions2()
            if table is not None and kind2 in OPTIONS2_NAMES:
                more, more_refs = self.decode_options(options_type, table, where)
                options.update(more)
                refs.update(more_refs)

        custom_format = None
        custom_value = None
        custom_raw = None
        raw = self.custom_options_bytes(op, where)
        if raw:
            custom_format = CUSTOM_OPTIONS_FORMATS.get(op.CustomOptionsFormat(), str(op.CustomOptionsFormat()))
            if custom_format == "FLEXBUFFERS":
                try:
                    custom_value = decode_flexbuffer(raw)
                except FlexbufferError:
                    custom_raw = raw  # some custom ops say FLEXBUFFERS but store their own bytes
            else:
                custom_raw = raw
        return Operator(
            subgraph=sg_index,
            index=index,
            opcode=name,
            builtin_code=code,
            custom_code=custom_code,
            version=version,
            inputs=inputs,
            outputs=outputs,
            intermediates=intermediates,
            options_type=options_type,
            options=options,
            custom_options_format=custom_format,
            custom_options=custom_value,
            custom_options_size=len(raw),
            custom_options_raw=custom_raw,
            subgraph_refs=refs,
        )

    def custom_options_bytes(self, op: Any, where: str) -> bytes:
        large_offset, large_size = op.LargeCustomOptionsOffset(), op.LargeCustomOptionsSize()
        if large_offset > 1:
            # Models over 2 GB keep big custom options after the flatbuffer.
            if large_offset + large_size > self.size:
                raise self.fail(where, f"custom options of {large_size} bytes at {large_offset} run past the end of the file")
            self.spend(large_size, where)
            return bytes(self.buf[large_offset : large_offset + large_size])
        raw = op.CustomOptionsAsNumpy()
        if not isinstance(raw, np.ndarray):
            return b""
        self.spend(raw.nbytes, where)
        return raw.tobytes()

    def decode_options(self, type_name: str, table: Any, where: str) -> tuple[dict[str, Any], dict[str, int]]:
        table_cls = getattr(schema, type_name, None)
        cls = getattr(schema, type_name + "T", None)
        if cls is None or table_cls is None:
            return {}, {}
        obj = cls.InitFromObj(wrap(table_cls, table.Bytes, table.Pos))
        options: dict[str, Any] = {}
        refs: dict[str, int] = {}
        for attr, value in vars(obj).items():
            key = _snake(attr)
            if isinstance(value, np.ndarray):
                self.spend(value.nbytes, where)
                value = value.tolist()
            elif isinstance(value, bytes):
                value = self.text(value)
            names = _OPTION_ENUMS.get(attr)
            if names is not None and isinstance(value, int) and not isinstance(value, bool):
                value = names.get(value, f"UNKNOWN({value})")
            elif names is not None and isinstance(value, list):
                value = [names.get(v, f"UNKNOWN({v})") for v in value]
            if attr in _SUBGRAPH_FIELDS:
                targets = {f"{key}[{n}]": v for n, v in enumerate(value)} if isinstance(value, list) else {key: value}
                for ref_name, target in targets.items():
                    self.check_index(target, self.n_subgraphs, f"{where} option {ref_name}", "subgraph")
                    refs[ref_name] = target
            if attr == "compositeAttributes" and isinstance(value, list):
                try:
                    value = decode_flexbuffer(bytes(value))
                except FlexbufferError:
                    value = f"<{len(value)} bytes>"
            options[key] = value
        return options, refs

    # -- signatures and metadata ----------------------------------------------

    def read_signatures(self, subgraphs: tuple[Subgraph, ...]) -> tuple[Signature, ...]:
        m = self.model
        result = []
        for i, sd in enumerate(self.tables(m, _SLOT_MODEL_SIGNATURES, schema.SignatureDef, "model", "signature def")):
            key = self.text(sd.SignatureKey())
            where = f"signature {i} ({key!r})"
            sg = sd.SubgraphIndex()
            self.check_index(sg, len(subgraphs), where, "subgraph")
            n_tensors = len(subgraphs[sg].tensors)
            maps = []
            for slot, what in ((_SLOT_SIGNATURE_INPUTS, "input"), (_SLOT_SIGNATURE_OUTPUTS, "output")):
                mapping: dict[str, int] = {}
                for j, tm in enumerate(self.tables(sd, slot, schema.TensorMap, where, what)):
                    self.check_index(tm.TensorIndex(), n_tensors, f"{where} {what} {j}", "tensor")
                    mapping[self.text(tm.Name())] = tm.TensorIndex()
                maps.append(mapping)
            result.append(Signature(key, sg, maps[0], maps[1]))
        return tuple(result)

    def read_metadata_entries(self) -> tuple[MetadataEntry, ...]:
        m = self.model
        result = []
        for i, md in enumerate(self.tables(m, _SLOT_MODEL_METADATA, schema.Metadata, "model", "metadata")):
            name = self.text(md.Name())
            self.check_index(md.Buffer(), len(self.buffers), f"metadata {i} ({name!r})", "buffer")
            result.append(MetadataEntry(name, md.Buffer(), self.buffers[md.Buffer()].size))
        return tuple(result)

    def buffer_bytes(self, index: int) -> bytes:
        b = self.buffers[index]
        return bytes(self.buf[b.offset : b.offset + b.size])

    def read_metadata_values(
        self, entries: tuple[MetadataEntry, ...]
    ) -> tuple[str | None, TfliteMetadata | None]:
        min_runtime = None
        tflite_metadata = None
        # One entry per name (the last, as before): many entries may name one buffer, and
        # each would otherwise parse it again.
        for e in {e.name: e for e in entries}.values():
            if e.name == "min_runtime_version":
                min_runtime = self.buffer_bytes(e.buffer).split(b"\0", 1)[0].decode("ascii", "replace")
            elif e.name == "TFLITE_METADATA":
                try:
                    tflite_metadata = parse_tflite_metadata(self.buffer_bytes(e.buffer))
                except MetadataFormatError as err:
                    self.warnings.append(f"TFLITE_METADATA could not be read: {err}")
        return min_runtime, tflite_metadata

    def read_zip(self) -> tuple[AssociatedFile, ...]:
        files, problem = list_attached_files(self.buf)
        if problem:
            self.warnings.append(f"the attached zip could not be read: {problem}")
        return files
