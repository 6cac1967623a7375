"""What a quantization mode made of a model, read from its tensors' dtypes: a one-line summary,
whether it changed anything at all, and (when it did not) why, as far as the tools' rules say."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

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


# --- what runs in which precision ----------------------------------------------------------------

# Ops that only re-express values in another type: inserted around float islands, not layers.
CONVERSION_OPS = ("QUANTIZE", "DEQUANTIZE", "CAST")
_FLOAT_DTYPES = ("FLOAT32", "FLOAT16", "BFLOAT16", "FLOAT64")
# Types a quantized layer computes in (int32, int64 and bool outputs are shape and index
# arithmetic: SHAPE, ARG_MAX, ...; no precision to speak of).
INTEGER_COMPUTE_DTYPES = ("INT8", "UINT8", "INT16", "INT4", "UINT4", "INT2")


@dataclass(frozen=True)
class OpPrecision:
    """How many ops of subgraph 0 compute in which dtype, the conversions between them, and the
    ops left in float. An op's dtype is its first output's (what it computes and stores); an op
    whose inputs are all constants (a stored weight's DEQUANTIZE) is not counted: the runtime
    does it once, at preparation."""

    ops_by_dtype: dict[str, int]  # dtype (lower case) -> ops
    conversions: dict[str, int]  # QUANTIZE / DEQUANTIZE / CAST -> ops (weights' unpacking not counted)
    float_ops: dict[str, int]  # op type -> ops computing in float, conversions not counted
    integer_ops: int  # ops computing in an integer type (int8, uint8, int16, int4)

    @property
    def full_integer(self) -> bool:
        """Every layer computes in integers; float values only cross the model's edges (the
        QUANTIZE of a float input, the DEQUANTIZE of a float output)."""
        return self.integer_ops > 0 and not self.float_ops

    @property
    def float_op_count(self) -> int:
        return sum(self.float_ops.values())

    def float_summary(self, limit: int = 4) -> str:
        """e.g. "13 PRELU, 2 ADD" — the ops left in float, most first."""
        ranked = sorted(self.float_ops.items(), key=lambda item: (-item[1], item[0]))
        text = ", ".join(f"{n} {op}" for op, n in ranked[:limit])
        return text + (f", {len(ranked) - limit} more types" if len(ranked) > limit else "")


def op_precision(model: Model) -> OpPrecision:
    sg = model.main_subgraph
    by_dtype: Counter = Counter()
    conversions: Counter = Counter()
    floats: Counter = Counter()
    integer = 0
    for op in sg.operators:
        inputs = [i for i in op.inputs if 0 <= i < len(sg.tensors)]
        if inputs and all(sg.tensors[i].is_constant for i in inputs):
            continue  # unpacks a stored weight once, at preparation
        outputs = [o for o in op.outputs if 0 <= o < len(sg.tensors)]
        if not outputs:
            continue
        dtype = sg.tensors[outputs[0]].dtype
        if op.opcode in CONVERSION_OPS:
            conversions[op.opcode] += 1
            continue
        by_dtype[dtype.lower()] += 1
        if dtype in _FLOAT_DTYPES:
            floats[op.opcode] += 1
        elif dtype in INTEGER_COMPUTE_DTYPES:
            integer += 1
    return OpPrecision(dict(by_dtype), dict(conversions), dict(floats), integer)
