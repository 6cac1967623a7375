"""Our reading of subgraph 0, and our XNNPACK partitions of it, equal what the LiteRT interpreter
reports, on every model it loads."""

from __future__ import annotations

import numpy as np
import pytest

from tflite_inspector.core.delegates import engine
from tflite_inspector.core.delegates.runtime_check import compare_with_runtime
from tflite_inspector.core.errors import ModelError, RuntimeFailure
from tflite_inspector.core.reading.model import BlockwiseQuantization
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.core.reading.tensor_data import float_values, tensor_array
from tflite_inspector.core.runtime.interpreter import RuntimeWorker

from .conftest import all_model_paths, model_id, needs_shared

pytestmark = needs_shared

# Our dtype names -> the numpy type name the interpreter reports for them.
INTERPRETER_DTYPE = {
    "FLOAT32": "float32", "FLOAT16": "float16", "FLOAT64": "float64", "INT32": "int32",
    "UINT8": "uint8", "INT64": "int64", "STRING": "bytes_", "BOOL": "bool", "INT16": "int16",
    "COMPLEX64": "complex64", "INT8": "int8", "COMPLEX128": "complex128", "UINT64": "uint64",
    "RESOURCE": "object_", "VARIANT": "object_", "UINT32": "uint32", "UINT16": "uint16",
    "INT4": "int8",  # the interpreter has no int4 numpy type and reports int8
}


@pytest.fixture(scope="module")
def worker():
    with RuntimeWorker(timeout_s=60) as w:
        yield w


@pytest.mark.parametrize("path", all_model_paths(), ids=model_id)
def test_subgraph0_matches_interpreter(path, worker):
    try:
        details = worker.interpreter_details(str(path))
    except RuntimeFailure as e:
        reason = str(e).splitlines()[0][:200]
        # A model the runtime refuses must not look healthy here: our one error, or a warning.
        try:
            with read_model(path) as model:
                assert model.warnings, f"the interpreter refuses it ({reason}) but we saw no problem"
        except ModelError:
            pass
        pytest.skip(f"{model_id(path)}: the interpreter cannot load it: {reason}")
    with read_model(path) as model:
        sg = model.subgraphs[0]
        assert [op.opcode for op in sg.operators] == list(details.op_names)
        ours = {t.index: t for t in sg.tensors}
        assert len(details.tensors) <= len(sg.tensors)
        for d in details.tensors:
            t = ours[d.index]
            assert t.name == d.name, d.index
            assert INTERPRETER_DTYPE.get(t.dtype) == d.dtype, (t.name, t.dtype, d.dtype)
            assert t.shape_signature == d.shape_signature or (
                # The interpreter reports an unranked tensor's signature as its shape.
                not t.has_rank and t.shape == ()
            ), t.name
            q = t.quantization
            scales = tuple(q.scale.tolist()) if q is not None else ()
            zero_points = tuple(q.zero_point.tolist()) if q is not None else ()
            if q is not None and isinstance(q.details, BlockwiseQuantization):
                # The interpreter expands blockwise scales from the tensor the details name.
                scales = tuple(float_values(model, sg.tensors[q.details.scales_tensor]).ravel().tolist())
                zero_points = () if q.details.zero_points_tensor < 0 else tuple(
                    tensor_array(model, sg.tensors[q.details.zero_points_tensor]).ravel().tolist()
                )
            np.testing.assert_array_equal(np.float32(scales), np.float32(d.scales), err_msg=t.name)
            assert zero_points == d.zero_points, t.name
            assert (q.quantized_dimension if q is not None else 0) == d.quantized_dimension, t.name


@pytest.mark.parametrize("path", all_model_paths(), ids=model_id)
def test_xnnpack_partitions_match_the_runtime(path, worker):
    """The XNNPACK partitions we predict for subgraph 0 are the DELEGATE nodes the interpreter
    makes: as many, each holding the same ops (dp_net: 12, where runs of taken ops in execution
    order gave 15)."""
    try:
        model = read_model(path)
    except ModelError as e:
        pytest.skip(f"{model_id(path)}: not readable: {e}")
    try:
        nodes = worker.default_delegate_nodes(str(path)).delegate_nodes
    except RuntimeFailure as e:
        pytest.skip(f"{model_id(path)}: the interpreter cannot load it: {str(e).splitlines()[0][:200]}")
    report = engine.analyze(model, "xnnpack")
    runtime = compare_with_runtime(report, model.subgraphs[0], nodes)
    predicted = report.subgraph_partitions(0)
    assert len(predicted) == runtime.partitions
    assert sorted(predicted) == sorted(tuple(sorted(group)) for group in runtime.groups)


def test_worker_survives_a_bad_model(tmp_path, worker):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(RuntimeFailure):
        worker.interpreter_details(str(bad))
