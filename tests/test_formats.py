"""Storage variants a reader must handle, the bundled sample, and import hygiene."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tflite_inspector.core.errors import ModelError
from tflite_inspector.core.inspection.summary import model_dict
from tflite_inspector.core.reading.attached_zip import read_associated_file
from tflite_inspector.core.reading.reader import read_model, read_model_bytes
from tflite_inspector.core.reading.tensor_data import string_values, tensor_array

from .conftest import SAMPLES, needs_shared, shared_model
from .graph_builder import add_buffer, pack, unpack


@needs_shared
def test_buffer_stored_after_the_flatbuffer(tmp_path):
    """Models over 2 GB keep buffer data outside the flatbuffer (offset/size from file start)."""
    source = shared_model("gh-mlcommons-tiny/vww_96_int8.tflite")
    with read_model(source) as original:
        weights = next(t for t in original.subgraphs[0].tensors if t.is_constant and t.dtype == "INT8")
        expected = np.array(tensor_array(original, weights))
    m = unpack(source.read_bytes())
    buf = m.buffers[weights.buffer]
    data = bytes(buf.data)
    buf.data = None
    buf.offset, buf.size = 1 << 40, len(data)  # placeholder of the same width, fixed below
    length = len(pack(m))
    buf.offset = (length + 15) // 16 * 16
    packed = pack(m)
    assert len(packed) == length
    blob = packed + bytes(buf.offset - length) + data
    path = tmp_path / "external.tflite"
    path.write_bytes(blob)
    with read_model(path) as model:
        t = model.subgraphs[0].tensors[weights.index]
        assert model.buffers[t.buffer].external
        assert t.is_constant and t.data_bytes == len(data)
        np.testing.assert_array_equal(tensor_array(model, t), expected)


def test_bundled_sample_models():
    with read_model(SAMPLES / "shapes_int8.tflite") as model:
        sg = model.subgraphs[0]
        assert sg.tensors[sg.inputs[0]].dtype == "INT8"
        assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"} <= {op.opcode for op in sg.operators}
        assert read_associated_file(model, "labels.txt").decode().split() == ["circle", "square", "triangle"]
        assert [s.key for s in model.signatures] == ["serving_default"]
    with read_model(SAMPLES / "shapes_float.tflite") as model:
        sg = model.subgraphs[0]
        assert sg.tensors[sg.inputs[0]].dtype == "FLOAT32"
        assert all(t.quantization is None or not t.quantization.is_quantized for t in sg.tensors)
    for name in ("circle.png", "square.png", "triangle.png", "labels.txt"):
        assert (SAMPLES / name).is_file()


def test_reading_from_memory_equals_reading_the_file():
    path = SAMPLES / "shapes_int8.tflite"
    with read_model(path) as a:
        b = read_model_bytes(path.read_bytes(), str(path))
        assert a.subgraphs == b.subgraphs
        assert a.zip_files == b.zip_files


def test_core_imports_neither_qt_nor_tensorflow():
    code = (
        "import sys, tflite_inspector.main, tflite_inspector.core.reading.reader, "
        "tflite_inspector.core.inspection.stats, tflite_inspector.core.inspection.summary, "
        "tflite_inspector.core.reading.tensor_data, tflite_inspector.core.runtime.interpreter\n"
        "from tflite_inspector.main import main\n"
        f"main(['inspect', {str(SAMPLES / 'shapes_int8.tflite')!r}, '--json'])\n"
        "bad = [m for m in ('tensorflow', 'PySide6', 'pyqtgraph', 'ai_edge_litert.interpreter') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def _with_extra_tensor(make_tensor) -> bytes:
    """The int8 sample with one more (unused) tensor in subgraph 0, built by make_tensor(model)."""
    m = unpack((SAMPLES / "shapes_int8.tflite").read_bytes())
    m.subgraphs[0].tensors.append(make_tensor(m))
    return pack(m)


def _string_buffer(strings: list[bytes]) -> bytes:
    # TFLite's string layout: count, count+1 offsets from the buffer start, then the bytes.
    header = 4 * (len(strings) + 2)
    offsets = [header]
    for s in strings:
        offsets.append(offsets[-1] + len(s))
    return np.array([len(strings), *offsets], dtype="<i4").tobytes() + b"".join(strings)


def test_string_constant_values():
    def make(m):
        t = schema.TensorT()
        t.name, t.type = "vocab", schema.TensorType.STRING
        t.buffer = add_buffer(m, _string_buffer([b"hello", b"", b"world!"]))
        t.shape = np.array([3], dtype=np.int32)
        return t

    model = read_model_bytes(_with_extra_tensor(make))
    t = model.subgraphs[0].tensors[-1]
    assert t.dtype == "STRING" and t.is_constant
    assert string_values(model, t) == [b"hello", b"", b"world!"]
    with pytest.raises(ModelError, match="no numeric values"):
        tensor_array(model, t)


def test_sparse_tensor_is_described_not_misread():
    def make(m):
        t = schema.TensorT()
        t.name, t.type = "sparse_w", schema.TensorType.FLOAT32
        t.buffer = add_buffer(m, np.float32([1.5, -2.0]).tobytes())
        t.shape = np.array([4, 4], dtype=np.int32)
        sp = schema.SparsityParametersT()
        sp.traversalOrder = np.array([0, 1], dtype=np.int32)
        dense = schema.DimensionMetadataT()
        dense.format, dense.denseSize = schema.DimensionType.DENSE, 4
        csr = schema.DimensionMetadataT()
        csr.format = schema.DimensionType.SPARSE_CSR
        seg, idx = schema.Int32VectorT(), schema.Int32VectorT()
        seg.values = np.array([0, 1, 1, 2, 2], dtype=np.int32)
        idx.values = np.array([0, 3], dtype=np.int32)
        csr.arraySegmentsType, csr.arraySegments = schema.SparseIndexVector.Int32Vector, seg
        csr.arrayIndicesType, csr.arrayIndices = schema.SparseIndexVector.Int32Vector, idx
        sp.dimMetadata = [dense, csr]
        t.sparsity = sp
        return t

    model = read_model_bytes(_with_extra_tensor(make))
    t = model.subgraphs[0].tensors[-1]
    assert t.sparsity.traversal_order == (0, 1)
    assert [d.format for d in t.sparsity.dim_metadata] == ["DENSE", "SPARSE_CSR"]
    assert t.sparsity.dim_metadata[1].array_indices == (0, 3)
    assert model_dict(model)["subgraphs"][0]["tensors"][-1]["sparsity"]["dim_metadata"][1]["array_indices"] == 2
    with pytest.raises(ModelError, match="stored sparse"):
        tensor_array(model, t)
