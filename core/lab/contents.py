"""What a quantization mode made of a model, read from its tensors' dtypes: a one-line summary,
whether it changed anything at all, and (when it did not) why, as far as the tools' rules say."""

from __future__ import annotations

from collections import Counter

from ..reading.model import Model

# TFLiteConverter's dynamic-range and float16 passes leave weights smaller than this alone.
CONVERTER_MIN_WEIGHT_ELEMENTS = 1024
# ai-edge-quantizer's float16 casting (float_casting.SUPPORTED_WEIGHT_QUANT_OPS).
FLOAT16_CAST_OPS = ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "EMBEDDING_LOOKUP")
_QUANTIZED_DTYPES = ("INT8", "UINT8", "INT16", "INT4", "UINT4", "INT2", "FLOAT16", "BFLOAT16")


def dtype_profile(model: Model) -> tuple[Counter, Counter]:
    """Tensor dtypes of every subgraph, constants and activations apart: what quantization changes."""
    constants, activations = Counter(), Counter()
    for sg in model.subgraphs:
        for t in sg.tensors:
            (constants if t.is_constant else activations)[t.dtype] += 1
    return constants, activations


def quantized_weights(model: Model) -> str:
    constants, _ = dtype_profile(model)
    found = {d: n for d, n in constants.items() if d in _QUANTIZED_DTYPES and d != "INT32"}
    big = [t for sg in model.subgraphs for t in sg.tensors
           if t.is_constant and t.dtype in _QUANTIZED_DTYPES and t.num_elements >= 16]
    if not big:
        return ""
    return ", ".join(f"{n} {d.lower()} constants" for d, n in sorted(found.items()))


def describe_contents(model: Model) -> str:
    """e.g. "weights: 12 int8, 3 float32; activations: 30 int8" — the dtypes that say what a mode did."""
    constants, activations = dtype_profile(model)

    def part(counter: Counter) -> str:
        return ", ".join(f"{n} {d.lower()}" for d, n in counter.most_common() if d not in ("INT32", "INT64", "BOOL"))

    return f"constants: {part(constants) or 'none'}; activations: {part(activations) or 'none'}"


def unchanged_reason(reference: Model, mode: str, via_converter: bool) -> str:
    weights = [t for sg in reference.subgraphs for t in sg.tensors
               if t.is_constant and t.dtype == "FLOAT32" and len(t.shape) >= 2]
    if not weights:
        return "the model has no float32 weight tensors to quantize"
    largest = max(t.num_elements for t in weights)
    if via_converter and mode in ("dynamic", "float16") and largest < CONVERTER_MIN_WEIGHT_ELEMENTS:
        return (f"TFLiteConverter leaves weights with fewer than {CONVERTER_MIN_WEIGHT_ELEMENTS:,} elements as "
                f"float32; this model's largest has {largest:,}")
    if not via_converter and mode == "float16":
        ops = {reference.main_subgraph.operators[i].opcode for i in range(len(reference.main_subgraph.operators))}
        if not ops & set(FLOAT16_CAST_OPS):
            return ("ai-edge-quantizer casts to float16 only the weights of " + ", ".join(FLOAT16_CAST_OPS)
                    + "; the model has none of these ops")
    return "the tool left every tensor as it was and gave no reason"
