"""Build small .tflite models in tests with the schema's object API.

For rules that no model in ../shared/models exercises (a delegate's version cap,
a fused activation, a rank limit), a test builds the one op it needs:

    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    w = b.constant("w", np.ones((4, 3, 3, 3), np.float32))
    bias = b.constant("bias", np.zeros(4, np.float32))
    y = b.tensor("y", [1, 8, 8, 4])
    b.op("CONV_2D", [x, w, bias], [y], options=("Conv2DOptions", {"strideW": 1, "strideH": 1}))
    model = b.model()          # tflite_inspector Model, read back with our reader
    data = b.build()           # the bytes, e.g. to load in the interpreter

Options are the schema's `...OptionsT` attribute names (camelCase); enum values
may be given by name ("RELU6", "SAME").

A model may also carry a description, metadata buffers and signatures (`b.description`,
`b.metadata(...)`, `b.signature(...)`).

Tests that edit one field of an existing model (a real one, or one built here) use the same
object API through `unpack` and `pack`, and `add_buffer` for data they append:

    m = unpack(path.read_bytes())
    m.subgraphs[0].tensors[5].buffer = 123456
    read_model_bytes(pack(m))
"""

from __future__ import annotations

from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tflite_inspector.core.reading.model import Model
from tflite_inspector.core.reading.reader import read_model_bytes

_NUMPY_TYPES = {
    "FLOAT32": np.float32,
    "FLOAT16": np.float16,
    "INT32": np.int32,
    "INT64": np.int64,
    "INT16": np.int16,
    "INT8": np.int8,
    "UINT8": np.uint8,
    "BOOL": np.bool_,
}
_ENUM_FIELDS = {
    "fusedActivationFunction": schema.ActivationFunctionType,
    "padding": schema.Padding,
    "weightsFormat": schema.FullyConnectedOptionsWeightsFormat,
    "mode": schema.MirrorPadMode,
}


def unpack(data: bytes) -> schema.ModelT:
    """A .tflite file's bytes as the schema's object API, to edit and `pack` again."""
    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


def pack(model: schema.ModelT) -> bytes:
    """The object API's model as .tflite bytes."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def add_buffer(model: schema.ModelT, data: bytes) -> int:
    """Append a buffer holding `data` to an unpacked model; its index."""
    buf = schema.BufferT()
    buf.data = list(data)
    model.buffers.append(buf)
    return len(model.buffers) - 1


def signature_def(key: str, inputs: dict[str, int], outputs: dict[str, int], subgraph: int = 0) -> schema.SignatureDefT:
    """A SignatureDef naming tensors of `subgraph`: {signature name: tensor index}."""

    def tensor_maps(names: dict[str, int]) -> list[schema.TensorMapT]:
        maps = []
        for name, index in names.items():
            entry = schema.TensorMapT()
            entry.name, entry.tensorIndex = name, index
            maps.append(entry)
        return maps

    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = key, subgraph
    signature.inputs, signature.outputs = tensor_maps(inputs), tensor_maps(outputs)
    return signature


def _enum_value(name: str, value: Any) -> Any:
    enum = _ENUM_FIELDS.get(name)
    if enum is not None and isinstance(value, str):
        return getattr(enum, value)
    return value


class GraphBuilder:
    def __init__(self) -> None:
        self._buffers: list[schema.BufferT] = [schema.BufferT()]  # buffer 0 is the empty sentinel
        self._opcodes: list[schema.OperatorCodeT] = []
        self._subgraphs: list[schema.SubGraphT] = []
        self._metadata: list[schema.MetadataT] = []
        self._signatures: list[schema.SignatureDefT] = []
        self.description = "built by tests/graph_builder.py"
        self.add_subgraph()

    # ------------------------------------------------------------ structure
    def add_subgraph(self, name: str = "") -> int:
        sg = schema.SubGraphT()
        sg.tensors, sg.operators, sg.inputs, sg.outputs, sg.name = [], [], [], [], name
        self._subgraphs.append(sg)
        return len(self._subgraphs) - 1

    @property
    def _sg(self) -> schema.SubGraphT:
        return self._subgraphs[-1]

    def tensor(
        self,
        name: str,
        shape: list[int],
        dtype: str = "FLOAT32",
        *,
        scale: float | list[float] | None = None,
        zero_point: int | list[int] | None = None,
        axis: int = 0,
        shape_signature: list[int] | None = None,
        buffer: int = 0,
    ) -> int:
        t = schema.TensorT()
        t.name = name
        t.shape = list(shape)
        if shape_signature is not None:
            t.shapeSignature = list(shape_signature)
        t.type = getattr(schema.TensorType, dtype)
        t.buffer = buffer
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            zp = [0] * len(q.scale) if zero_point is None else [int(z) for z in np.atleast_1d(zero_point)]
            q.zeroPoint = zp
            q.quantizedDimension = axis
            t.quantization = q
        self._sg.tensors.append(t)
        return len(self._sg.tensors) - 1

    def constant(self, name: str, values: np.ndarray, dtype: str | None = None, **quant: Any) -> int:
        """A tensor whose values are stored in the file."""
        values = np.asarray(values)
        if dtype is None:
            dtype = next(k for k, v in _NUMPY_TYPES.items() if np.dtype(v) == values.dtype)
        data = np.ascontiguousarray(values.astype(_NUMPY_TYPES[dtype]))
        return self.tensor(name, list(values.shape), dtype, buffer=self._buffer(data.tobytes()), **quant)

    def _buffer(self, data: bytes) -> int:
        buf = schema.BufferT()
        buf.data = list(data)
        self._buffers.append(buf)
        return len(self._buffers) - 1

    def metadata(self, name: str, data: bytes) -> None:
        """A model metadata entry (e.g. "TFLITE_METADATA") whose buffer holds `data`."""
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, self._buffer(data)
        self._metadata.append(entry)

    def signature(self, key: str, inputs: dict[str, int], outputs: dict[str, int]) -> None:
        """A SignatureDef for the current subgraph: {signature name: tensor index}."""
        self._signatures.append(signature_def(key, inputs, outputs, len(self._subgraphs) - 1))

    def _opcode_index(self, opcode: str, version: int) -> int:
        if hasattr(schema.BuiltinOperator, opcode):
            code, custom = getattr(schema.BuiltinOperator, opcode), None
        else:
            code, custom = schema.BuiltinOperator.CUSTOM, opcode
        for i, oc in enumerate(self._opcodes):
            if oc.builtinCode == code and oc.customCode == custom and oc.version == version:
                return i
        oc = schema.OperatorCodeT()
        oc.builtinCode = code
        oc.deprecatedBuiltinCode = min(code, schema.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
        oc.customCode = custom
        oc.version = version
        self._opcodes.append(oc)
        return len(self._opcodes) - 1

    def op(
        self,
        opcode: str,
        inputs: list[int],
        outputs: list[int],
        *,
        version: int = 1,
        options: tuple[str, dict[str, Any]] | None = None,
        custom_options: bytes | None = None,
    ) -> int:
        """Add an op (builtin name, or any other name as a custom op code)."""
        o = schema.OperatorT()
        o.opcodeIndex = self._opcode_index(opcode, version)
        o.inputs, o.outputs = list(inputs), list(outputs)
        if options is not None:
            kind, fields = options
            obj = getattr(schema, f"{kind}T")()
            for key, value in fields.items():
                if not hasattr(obj, key):
                    raise AttributeError(f"{kind} has no field {key!r}")
                setattr(obj, key, _enum_value(key, value))
            o.builtinOptionsType = getattr(schema.BuiltinOptions, kind)
            o.builtinOptions = obj
        if custom_options is not None:
            o.customOptions = list(custom_options)
        self._sg.operators.append(o)
        return len(self._sg.operators) - 1

    # ---------------------------------------------------------------- output
    def build(self, inputs: list[int] | None = None, outputs: list[int] | None = None) -> bytes:
        """Serialize. Subgraph inputs/outputs default to tensors no op produces / no op consumes."""
        for i, sg in enumerate(self._subgraphs):
            produced = {t for op in sg.operators for t in op.outputs}
            consumed = {t for op in sg.operators for t in op.inputs if t >= 0}
            stored = {j for j, t in enumerate(sg.tensors) if t.buffer != 0}
            last = i == len(self._subgraphs) - 1
            sg.inputs = list(inputs) if inputs is not None and last else sorted(consumed - produced - stored)
            sg.outputs = list(outputs) if outputs is not None and last else sorted(produced - consumed)
        m = schema.ModelT()
        m.version = 3
        m.description = self.description
        m.operatorCodes = self._opcodes
        m.subgraphs = self._subgraphs
        m.buffers = self._buffers
        m.metadata = self._metadata or None
        m.signatureDefs = self._signatures or None
        return pack(m)

    def model(self, name: str = "built.tflite") -> Model:
        return read_model_bytes(self.build(), name)


def with_signature(data: bytes, input_name: str = "x", strip_suffix: str = "_int8") -> bytes:
    """A copy of a model with a SignatureDef for subgraph 0, and `strip_suffix` taken off its
    interface tensors' names: ai-edge-quantizer's compare_model invokes signatures and matches
    tensors by name (the MLCommons int8 models call theirs input_1_int8 / Identity_int8).
    Nothing else changes."""
    model = unpack(data)
    sg = model.subgraphs[0]
    inputs = {input_name if k == 0 else f"{input_name}_{k}": int(i) for k, i in enumerate(sg.inputs)}
    outputs = {f"output_{k}": int(i) for k, i in enumerate(sg.outputs)}
    model.signatureDefs = [signature_def("serving_default", inputs, outputs)]
    for i in list(sg.inputs) + list(sg.outputs):
        sg.tensors[i].name = sg.tensors[i].name.decode().removesuffix(strip_suffix)
    return pack(model)
