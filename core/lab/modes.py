"""The quantization modes, the sources the lab takes, and what a failed conversion means.

A float `.tflite` is quantized with ai-edge-quantizer's recipes; a SavedModel directory or a
Keras file is converted with TensorFlow's TFLiteConverter (the modes it has no switch for,
weight-only int8 and int4, are made by the quantizer from the float32 conversion). Both run in
the converter's worker process (runtime/conversion.py).
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConversionError

SOURCE_KINDS = ("tflite", "saved_model", "keras")
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass(frozen=True)
class Mode:
    key: str  # as given on the command line and written in file names
    title: str
    description: str
    calibrated: bool  # needs representative inputs
    tensorflow_only: bool = False  # the float conversion of a TensorFlow source


MODES: dict[str, Mode] = {m.key: m for m in (
    Mode("float32", "float32", "TFLiteConverter without optimizations: the reference", False, True),
    Mode("float16", "float16 weights", "weights stored as float16, computed in float32 (or float16 on GPU)",
         False),
    Mode("dynamic", "dynamic-range int8", "int8 weights; activations quantized on the fly where kernels allow",
         False),
    Mode("weight-int8", "weight-only int8", "int8 weights dequantized before float computation", False),
    Mode("weight-int4", "weight-only int4", "int4 weights dequantized before float computation", False),
    Mode("int8", "full-integer int8", "int8 weights and activations, calibrated", True),
    Mode("int16x8", "int16x8", "int16 activations, int8 weights, calibrated", True),
)}
DEFAULT_MODES = ("float16", "dynamic", "weight-int8", "weight-int4", "int8", "int16x8")
# What TFLiteConverter makes itself; the other modes go through the quantizer.
CONVERTER_MODES = ("float32", "float16", "dynamic", "int8", "int16x8")
INT8_IO_TYPES = ("int8", "uint8", "float")
# Modes that promise every layer in integers: a variant that keeps ops in float is flagged.
INTEGER_MODES = ("int8", "int16x8")


# What each optional part needs, and the extra that installs it (pyproject.toml).
_EXTRAS = {"ai_edge_quantizer": ("ai-edge-quantizer", "quantize"), "tensorflow": ("TensorFlow", "convert")}


def missing_extra(kind: str, modes: Sequence[str], *, all_through_quantizer: bool = False) -> str | None:
    """One line naming the extra to install when the run needs a library that is not installed
    (checked without importing it: TensorFlow must not load in this process), else None."""
    needed = []
    quantizer_modes = [m for m in modes if m != "float32"
                       and (kind == "tflite" or m not in CONVERTER_MODES or all_through_quantizer)]
    if kind != "tflite":
        needed.append("tensorflow")
    if quantizer_modes:
        needed.append("ai_edge_quantizer")
    for module in needed:
        if importlib.util.find_spec(module) is None:
            library, extra = _EXTRAS[module]
            what = ("converting a Keras file or SavedModel" if module == "tensorflow"
                    else f"the {', '.join(quantizer_modes)} mode{'s' if len(quantizer_modes) > 1 else ''}")
            return (f"{what} needs {library}, which is not installed: pip install 'tflite-inspector[{extra}]' "
                    f"(or run scripts/start.sh, which installs everything)")
    return None


def source_kind(path: str) -> str:
    """"tflite", "saved_model" or "keras"; ConversionError for anything else."""
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")) or os.path.exists(
                os.path.join(path, "saved_model.pbtxt")):
            return "saved_model"
        raise ConversionError(f"{path}: a folder without saved_model.pb is not a SavedModel")
    if not os.path.exists(path):
        raise ConversionError(f"{path}: no such file")
    lower = path.lower()
    if lower.endswith(KERAS_SUFFIXES):
        return "keras"
    if lower.endswith(".tflite"):
        return "tflite"
    raise ConversionError(f"{path}: not a .tflite, a Keras file (.keras, .h5) or a SavedModel folder")


def parse_modes(text: str, kind: str = "tflite") -> tuple[str, ...]:
    keys = [k.strip().lower() for k in text.split(",") if k.strip()]
    if not keys:
        raise ConversionError("no modes given")
    unknown = [k for k in keys if k not in MODES]
    if unknown:
        raise ConversionError(f"unknown mode {', '.join(unknown)}; choose from {', '.join(MODES)}")
    if kind == "tflite" and "float32" in keys:
        raise ConversionError("float32 is the conversion of a TensorFlow source; a .tflite source is its own float32")
    return tuple(dict.fromkeys(keys))


def _without_locations(text: str) -> str:
    """MLIR errors carry `loc(callsite(fused[...] at ...))` before each message: long, and useless
    to someone who did not write the graph. Drop them (parentheses balanced) and `<unknown>:0:`."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("loc(", i):
            depth, i = 0, i + 3
            while i < len(text):
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
                if depth == 0:
                    break
            if text.startswith(":", i):
                i += 1
            continue
        out.append(text[i])
        i += 1
    return re.sub(r"<unknown>:\d+:\s*", "", "".join(out))


def explain_failure(message: str) -> str:
    """The converter's own message, followed by what to do for the failures we know."""
    message = _without_locations(message)
    lowered = message.lower()
    hints = []
    missing = sorted(set(re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", message)))
    if missing or "select tf ops" in lowered or "flex" in lowered or "not supported by the native tflite" in lowered:
        which = ", ".join(missing) if missing else "TensorFlow ops"
        hints.append(f"the model uses {which} with no TFLite builtin kernel: replace them in the model, or convert "
                     "with Select TF ops (tf.lite.OpsSet.SELECT_TF_OPS) and ship the Flex delegate with the app")
    if "representative" in lowered or "calibration" in lowered:
        hints.append("full-integer modes need calibration inputs that match the model's inputs")
    if "did not answer within" in lowered:
        hints.append("give it more time (--timeout) or fewer calibration inputs (--limit)")
    if "crashed" in lowered:
        hints.append("the converter died in native code; try another mode or a newer TensorFlow")
    first = message.strip().splitlines()[0] if message.strip() else "the conversion failed"
    rest = [line for line in message.strip().splitlines()[1:] if "error" in line.lower()][:3]
    text = "; ".join([first, *rest])
    return text + ("" if not hints else " — " + "; ".join(hints))
