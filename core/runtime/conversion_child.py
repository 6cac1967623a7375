"""The child side of the conversion worker: the only module that imports TensorFlow and
ai-edge-quantizer, and only in the worker process (conversion.py starts it).

Each request writes one variant to the path it is given and answers with notes on what was
done to get there. The libraries' own exception messages are the answer when they fail.
"""

from __future__ import annotations

import io
import multiprocessing.connection
import os
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .process import serve
from .protocol import ConvertRequest, Produced, QuantizeRequest

SIGNATURE_KEY = "serving_default"


def conversion_main(conn: multiprocessing.connection.Connection) -> None:
    # TensorFlow, absl and the quantizer's progress bars write to stdout/stderr; the CLI's
    # output (and its JSON) must stay clean, so the child's own streams go to a log file.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    log = tempfile.TemporaryFile(prefix="tflite-inspector-conversion-")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(log.fileno()), "wb"), write_through=True)
    serve(conn, {
        QuantizeRequest: quantize_tflite,
        ConvertRequest: convert_tensorflow,
    })


# --- ai-edge-quantizer on a .tflite --------------------------------------------------------------

_FLOAT16_RECIPE = [{
    "regex": ".*",
    "operation": "*",
    "algorithm_key": "float_casting",
    "op_config": {
        "weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"},
        "compute_precision": "FLOAT",
        "explicit_dequantize": True,
    },
}]


def recipe_with_float_ops(recipe: list[dict], scopes: Sequence[str]) -> list[dict]:
    """The mode's recipe, then one "no_quantize" entry per kept op's scope (lab/keep_float.py):
    the latest matching entry wins in ai-edge-quantizer's recipe manager, so only those ops change."""
    return [*recipe, *({"regex": scope, "operation": "*", "algorithm_key": "no_quantize"} for scope in scopes)]


def _recipe(mode: str) -> Any:
    from ai_edge_quantizer import recipe

    recipes = {
        "float16": lambda: _FLOAT16_RECIPE,
        "dynamic": recipe.dynamic_wi8_afp32,
        "weight-int8": recipe.weight_only_wi8_afp32,
        "weight-int4": recipe.weight_only_wi4_afp32,
        "int8": recipe.static_wi8_ai8,
        "int16x8": recipe.static_wi8_ai16,
    }
    if mode not in recipes:
        raise ValueError(f"ai-edge-quantizer has no recipe for mode {mode!r}")
    return recipes[mode]()


def prepare_for_quantizer(data: bytes) -> tuple[bytes, list[str]]:
    """A copy of the model that ai-edge-quantizer 0.10 reads as the runtime does, and what was changed.

    - Operator codes: models written before the schema had `builtin_code` keep the op in
      `deprecated_builtin_code` only; the quantizer reads `builtin_code` alone, sees every op
      as ADD (0) and silently quantizes nothing. The runtime reads the larger of the two.
    - Signatures: calibration invokes a signature; a model without one gets `serving_default`
      over subgraph 0's inputs and outputs, named after the tensors.
    """
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    notes = []
    upgraded = 0
    for code in model.operatorCodes or []:
        real = max(code.builtinCode, code.deprecatedBuiltinCode)
        if code.builtinCode != real:
            code.builtinCode = real
            upgraded += 1
    if upgraded:
        notes.append(f"{upgraded} operator codes written in the current schema's field (the source uses the old "
                     "deprecated_builtin_code only, which ai-edge-quantizer does not read)")
    if not model.signatureDefs and model.subgraphs:
        sg = model.subgraphs[0]
        signature = schema.SignatureDefT()
        signature.signatureKey, signature.subgraphIndex = SIGNATURE_KEY, 0
        signature.inputs = [_tensor_map(schema, sg, i) for i in sg.inputs]
        signature.outputs = [_tensor_map(schema, sg, i) for i in sg.outputs]
        model.signatureDefs = [signature]
        notes.append(f"signature {SIGNATURE_KEY!r} added over subgraph 0 (the quantizer calibrates through one)")
    if not notes:
        return data, notes
    builder = flatbuffers.Builder(max(1024, len(data)))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), notes


def _tensor_map(schema: Any, sg: Any, index: int) -> Any:
    entry = schema.TensorMapT()
    name = sg.tensors[index].name
    entry.name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    entry.tensorIndex = index
    return entry


def _signature_inputs(model_data: bytes, key: str | None = None) -> tuple[str, list[str]]:
    """The signature's key (None: the first) and its input names in subgraph-input order (how
    samples come)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(model_data, 0)
    keys = [model.SignatureDefs(k).SignatureKey().decode("utf-8", "replace") for k in range(model.SignatureDefsLength())]
    if key is not None and key not in keys:
        raise ValueError(f"the model has no signature {key!r} ({', '.join(keys) or 'none'})")
    signature = model.SignatureDefs(keys.index(key) if key is not None else 0)
    sg = model.Subgraphs(signature.SubgraphIndex())
    by_tensor = {}
    for k in range(signature.InputsLength()):
        entry = signature.Inputs(k)
        by_tensor[entry.TensorIndex()] = entry.Name().decode("utf-8", "replace")
    order = [by_tensor[sg.Inputs(k)] for k in range(sg.InputsLength()) if sg.Inputs(k) in by_tensor]
    return signature.SignatureKey().decode("utf-8", "replace"), order


def _other_signatures(model_data: bytes, key: str) -> list[str]:
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(model_data, 0)
    keys = [model.SignatureDefs(k).SignatureKey().decode("utf-8", "replace") for k in range(model.SignatureDefsLength())]
    return [k for k in keys if k != key]


def _attached_zip(data: bytes) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return [(info.filename, zf.read(info)) for info in zf.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def _with_zip(data: bytes, files: Sequence[tuple[str, bytes]]) -> bytes:
    """The model with the files appended as a zip (how TFLite metadata attaches label files)."""
    buffer = io.BytesIO(data)
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_STORED) as zf:
        for name, content in files:
            zf.writestr(name, content)
    return buffer.getvalue()


def quantize_tflite(request: QuantizeRequest) -> Produced:
    """Quantize a float .tflite with ai-edge-quantizer's recipe for its mode; write its out_path."""
    from ai_edge_quantizer import quantizer

    source, mode, calibration, out_path = request.source, request.mode, request.calibration, request.out_path
    with open(source, "rb") as f:
        original = f.read()
    data, notes = prepare_for_quantizer(original)
    recipe = _recipe(mode)
    if request.keep_float_scopes:
        recipe = recipe_with_float_ops(list(recipe), request.keep_float_scopes)
        notes.append(f"{len(request.keep_float_scopes)} op scope(s) kept in float (no_quantize recipe entries)")
    q = quantizer.Quantizer(bytearray(data), recipe)
    calibration_result = None
    if q.need_calibration:
        if not calibration:
            raise ValueError(f"mode {mode} needs calibration inputs")
        key, names = _signature_inputs(data, request.signature)
        others = _other_signatures(data, key)
        if others:
            # The quantizer needs activation ranges for every subgraph it quantizes, and the samples
            # given fit one signature's inputs only: it would fail naming some tensor of another.
            raise ValueError(f"mode {mode} calibrates every signature of the model, and the inputs given are for "
                             f"{key!r} only (the model also has {', '.join(repr(k) for k in others)}); the "
                             "weight-only and dynamic-range modes need no calibration")
        dataset = [{name: np.asarray(value) for name, value in zip(names, sample)} for sample in calibration]
        calibration_result = q.calibrate({key: dataset})
    result = q.quantize(calibration_result, enable_progress_report=False)
    quantized = bytes(result.quantized_model)
    attached = _attached_zip(original)
    if attached and not _attached_zip(quantized):
        quantized = _with_zip(quantized, attached)
        notes.append(f"attached files re-attached ({', '.join(name for name, _ in attached)})")
    with open(out_path, "wb") as f:
        f.write(quantized)
    return Produced(len(quantized), tuple(notes), _version("ai-edge-quantizer"))


# --- TensorFlow's converter on a SavedModel or Keras file ----------------------------------------


def convert_tensorflow(request: ConvertRequest) -> Produced:
    """Convert a SavedModel directory or a Keras file with TFLiteConverter in its mode."""
    import tensorflow as tf

    source, kind, mode, int8_io = request.source, request.kind, request.mode, request.int8_io
    calibration, out_path = request.calibration, request.out_path
    if kind == "saved_model":
        converter = tf.lite.TFLiteConverter.from_saved_model(source)
    else:
        import keras

        model = keras.models.load_model(source, compile=False)
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    notes = []

    def representative_dataset() -> Iterator[list[np.ndarray]]:
        for sample in calibration:
            yield [np.asarray(value, dtype=np.float32) for value in sample]

    if mode != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "int8":
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if int8_io in ("int8", "uint8"):
            io_type = tf.int8 if int8_io == "int8" else tf.uint8
            converter.inference_input_type = converter.inference_output_type = io_type
        notes.append(f"{int8_io} inputs and outputs")
    elif mode == "int16x8":
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        ]
    elif mode not in ("float32", "dynamic"):
        raise ValueError(f"TFLiteConverter has no mode {mode!r}")
    if mode in ("int8", "int16x8") and not calibration:
        raise ValueError(f"mode {mode} needs calibration inputs")
    converted = converter.convert()
    with open(out_path, "wb") as f:
        f.write(converted)
    return Produced(len(converted), tuple(notes), f"tensorflow {tf.__version__}")


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{distribution} {version(distribution)}"
    except PackageNotFoundError:
        return distribution
