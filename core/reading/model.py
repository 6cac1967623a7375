"""The object model of a .tflite file: plain Python objects, no flatbuffers types.

`reader.read_model` builds these from a file; everything else in the
project (CLI, GUI, report) reads them and never touches the flatbuffer.

Tensor data is not held here: `Model` keeps the memory map of the file and
`tensor_data` turns a tensor into a numpy view of it on request.
"""

from __future__ import annotations

import dataclasses
import functools
import mmap
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np


# numpy dtype per schema TensorType name; None = no fixed-size element type.
NUMPY_DTYPES: dict[str, np.dtype | None] = {
    "FLOAT32": np.dtype("<f4"),
    "FLOAT16": np.dtype("<f2"),
    "FLOAT64": np.dtype("<f8"),
    "INT32": np.dtype("<i4"),
    "UINT8": np.dtype("u1"),
    "INT64": np.dtype("<i8"),
    "BOOL": np.dtype("?"),
    "INT16": np.dtype("<i2"),
    "COMPLEX64": np.dtype("<c8"),
    "INT8": np.dtype("i1"),
    "COMPLEX128": np.dtype("<c16"),
    "UINT64": np.dtype("<u8"),
    "UINT32": np.dtype("<u4"),
    "UINT16": np.dtype("<u2"),
    # Sub-byte types are packed two (four) per byte; unpacked to int8/uint8.
    "INT4": np.dtype("i1"),
    "UINT4": np.dtype("u1"),
    "INT2": np.dtype("i1"),
    # Stored as raw bytes; viewed as uint16 / uint8 and widened on request.
    "BFLOAT16": np.dtype("<u2"),
    "FLOAT8_E4M3FN": np.dtype("u1"),
    "FLOAT8_E5M2": np.dtype("u1"),
    "STRING": None,
    "RESOURCE": None,
    "VARIANT": None,
}

# Bits per stored element, for dtypes whose storage size is not one numpy item.
SUB_BYTE_BITS = {"INT4": 4, "UINT4": 4, "INT2": 2}


def storage_bytes(dtype: str, num_elements: int) -> int | None:
    """Bytes a dense constant of this dtype and element count occupies, or None."""
    bits = SUB_BYTE_BITS.get(dtype)
    if bits is not None:
        return (num_elements * bits + 7) // 8
    np_dtype = NUMPY_DTYPES.get(dtype)
    if np_dtype is None:
        return None
    return num_elements * np_dtype.itemsize


@dataclass(frozen=True)
class BlockwiseQuantization:
    """Scales (and zero points) live in other tensors, one per block of weights."""

    scales_tensor: int
    zero_points_tensor: int
    block_size: int
    block_shape: tuple[int, ...]


@dataclass(frozen=True)
class MultiAxisQuantization:
    scales_tensor: int
    zero_points_tensor: int
    block_size: int
    quantized_dimensions: tuple[int, ...]


@dataclass(frozen=True)
class CustomQuantization:
    data: bytes


@dataclass(frozen=True, eq=False)
class Quantization:
    """Quantization parameters as stored: real = scale * (q - zero_point).

    With more than one scale the parameters are per channel along
    `quantized_dimension` (the axis).
    """

    scale: np.ndarray  # float32, empty when the tensor stores none
    zero_point: np.ndarray  # int64
    quantized_dimension: int
    min: np.ndarray  # float32, recorded ranges (fake-quant / calibration)
    max: np.ndarray
    details: BlockwiseQuantization | MultiAxisQuantization | CustomQuantization | None = None

    @property
    def is_quantized(self) -> bool:
        return self.scale.size > 0 or isinstance(
            self.details, (BlockwiseQuantization, MultiAxisQuantization)
        )

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    @property
    def num_channels(self) -> int:
        return int(self.scale.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantization):
            return NotImplemented
        return (
            np.array_equal(self.scale, other.scale)
            and np.array_equal(self.zero_point, other.zero_point)
            and self.quantized_dimension == other.quantized_dimension
            and np.array_equal(self.min, other.min)
            and np.array_equal(self.max, other.max)
            and self.details == other.details
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class DimensionMetadata:
    format: str  # DENSE or SPARSE_CSR
    dense_size: int
    array_segments: tuple[int, ...]
    array_indices: tuple[int, ...]


@dataclass(frozen=True)
class Sparsity:
    traversal_order: tuple[int, ...]
    block_map: tuple[int, ...]
    dim_metadata: tuple[DimensionMetadata, ...]


@dataclass(frozen=True)
class Buffer:
    """Where a buffer's bytes are in the file (absolute offset), or in a side file."""

    index: int
    offset: int  # absolute offset in the file of the first data byte
    size: int  # bytes; 0 = empty (activations, or the sentinel buffer 0)
    external: bool = False  # stored after the flatbuffer (offset/size fields), not inline


@dataclass(frozen=True)
class ExternalBuffer:
    """Tensor data kept in a separate file next to the model (`group` names it)."""

    id: int
    group: str
    offset: int
    length: int
    packing: str


@dataclass(frozen=True)
class Tensor:
    subgraph: int
    index: int
    name: str
    dtype: str  # schema TensorType name: FLOAT32, INT8, INT4, ...
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]  # -1 marks a dynamic dimension; equals shape when absent
    buffer: int
    quantization: Quantization | None
    is_variable: bool = False
    sparsity: Sparsity | None = None
    has_rank: bool = True
    external_buffer: int = 0  # id in Model.external_buffers, 0 = none
    data_bytes: int = 0  # bytes of constant data (0 for activations)

    @property
    def is_constant(self) -> bool:
        """True when the file holds the tensor's values (weights, biases, shapes)."""
        return self.data_bytes > 0 and not self.is_variable

    @property
    def is_dynamic(self) -> bool:
        return any(d < 0 for d in self.shape_signature)

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= max(d, 0)
        return n

    @property
    def activation_bytes(self) -> int:
        """Bytes the runtime needs for this tensor at its static shape (0 if unknown)."""
        return storage_bytes(self.dtype, self.num_elements) or 0

    @property
    def size_bytes(self) -> int:
        """Stored bytes for a constant, runtime bytes at the static shape otherwise."""
        return self.data_bytes if self.is_constant else self.activation_bytes


@dataclass(frozen=True)
class Operator:
    subgraph: int
    index: int
    opcode: str  # builtin name (CONV_2D) or the custom code (TFLite_Detection_PostProcess)
    builtin_code: int  # 32 = CUSTOM
    custom_code: str | None
    version: int
    inputs: tuple[int, ...]  # -1 = absent optional input
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...] = ()
    options_type: str | None = None  # e.g. Conv2DOptions
    options: dict[str, Any] = field(default_factory=dict)  # enum values as names
    custom_options_format: str | None = None
    custom_options: Any = None  # decoded flexbuffer value, or None
    custom_options_size: int = 0
    custom_options_raw: bytes | None = None  # kept when not decodable as a flexbuffer
    subgraph_refs: dict[str, int] = field(default_factory=dict)  # option name -> subgraph

    @property
    def is_custom(self) -> bool:
        return self.custom_code is not None

    @property
    def is_flex(self) -> bool:
        return self.custom_code is not None and self.custom_code.startswith("Flex")

    @property
    def fused_activation(self) -> str | None:
        return self.options.get("fused_activation_function")


@dataclass(frozen=True)
class Subgraph:
    index: int
    name: str
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    # Computed once per subgraph (views ask on every selection); the frozen
    # dataclass still allows cached_property, which writes the instance dict.
    @functools.cached_property
    def producers(self) -> dict[int, int]:
        """Tensor index -> index of the operator that writes it."""
        return {t: op.index for op in self.operators for t in op.outputs if t >= 0}

    @functools.cached_property
    def consumers(self) -> dict[int, list[int]]:
        """Tensor index -> indices of the operators that read it, in execution order."""
        result: dict[int, list[int]] = {}
        for op in self.operators:
            for t in op.inputs:
                if t >= 0:
                    result.setdefault(t, []).append(op.index)
        return result


@dataclass(frozen=True)
class Signature:
    key: str
    subgraph: int
    inputs: dict[str, int]  # signature name -> tensor index in `subgraph`
    outputs: dict[str, int]


@dataclass(frozen=True)
class MetadataEntry:
    name: str
    buffer: int
    size: int


@dataclass(frozen=True)
class AssociatedFile:
    """A file named by TFLite metadata; `size` is set when it is in the attached zip."""

    name: str
    description: str = ""
    type: str = "UNKNOWN"
    locale: str = ""
    size: int | None = None  # uncompressed bytes in the zip, None if not attached


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    description: str = ""
    dimension_names: tuple[str, ...] = ()
    content: dict[str, Any] = field(default_factory=dict)
    normalization_mean: tuple[float, ...] = ()
    normalization_std: tuple[float, ...] = ()
    stats_min: tuple[float, ...] = ()
    stats_max: tuple[float, ...] = ()
    process_units: tuple[dict[str, Any], ...] = ()
    associated_files: tuple[AssociatedFile, ...] = ()


@dataclass(frozen=True)
class SubgraphMetadata:
    name: str = ""
    description: str = ""
    inputs: tuple[TensorMetadata, ...] = ()
    outputs: tuple[TensorMetadata, ...] = ()
    associated_files: tuple[AssociatedFile, ...] = ()
    input_process_units: tuple[dict[str, Any], ...] = ()
    output_process_units: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TfliteMetadata:
    """The TFLITE_METADATA entry (tflite-support's metadata_schema.fbs, identifier M001)."""

    name: str = ""
    description: str = ""
    version: str = ""
    author: str = ""
    license: str = ""
    min_parser_version: str = ""
    subgraphs: tuple[SubgraphMetadata, ...] = ()
    associated_files: tuple[AssociatedFile, ...] = ()

    def all_associated_files(self) -> list[AssociatedFile]:
        files = list(self.associated_files)
        for sg in self.subgraphs:
            files.extend(sg.associated_files)
            for tm in sg.inputs + sg.outputs:
                files.extend(tm.associated_files)
        return files


@dataclass(eq=False)
class Model:
    """One .tflite file. Holds the file's memory map; close() (or `with`) releases it."""

    path: str
    size_bytes: int
    version: int
    description: str
    subgraphs: tuple[Subgraph, ...]
    buffers: tuple[Buffer, ...]
    signatures: tuple[Signature, ...]
    metadata_entries: tuple[MetadataEntry, ...]
    min_runtime_version: str | None
    tflite_metadata: TfliteMetadata | None
    zip_files: tuple[AssociatedFile, ...]  # files in the zip appended after the flatbuffer
    external_buffers: tuple[ExternalBuffer, ...] = ()
    warnings: tuple[str, ...] = ()  # problems that do not stop the model from being read
    data: Any = dataclasses.field(default=None, repr=False)  # mmap or bytes of the file
    flatbuffer_size: int = 0  # bytes of the flatbuffer part (zip and external data follow)

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        data, self.data = self.data, None
        if isinstance(data, mmap.mmap):
            try:
                data.close()
            except BufferError:
                # numpy views of tensor data are still alive; the map is freed
                # when the last of them goes.
                pass

    @property
    def file_name(self) -> str:
        return os.path.basename(self.path)

    @property
    def main_subgraph(self) -> Subgraph:
        return self.subgraphs[0]

    @functools.cached_property
    def external_buffers_by_id(self) -> dict[int, ExternalBuffer]:
        return {e.id: e for e in self.external_buffers}

    def tensor(self, subgraph: int, index: int) -> Tensor:
        return self.subgraphs[subgraph].tensors[index]

    @property
    def associated_files(self) -> list[AssociatedFile]:
        """Files named in TFLite metadata, merged with what the attached zip holds."""
        in_zip = {f.name: f for f in self.zip_files}
        seen: set[str] = set()
        result: list[AssociatedFile] = []
        named = self.tflite_metadata.all_associated_files() if self.tflite_metadata else []
        for f in named:
            if f.name in seen:
                continue
            seen.add(f.name)
            z = in_zip.get(f.name)
            result.append(dataclasses.replace(f, size=z.size if z else None))
        for f in self.zip_files:
            if f.name not in seen:
                seen.add(f.name)
                result.append(f)
        return result
