"""Each layer's own error: the candidate's ops run one by one on the reference's activations.

End to end, a layer's error includes everything upstream of it. To see what an op adds by
itself, the candidate's subgraph 0 is rewritten into an *isolated model* in which no op reads
another op's output: every activation an op reads is replaced by a fresh model input of the
same type, shape and quantization, fed with the reference's value of the matching tensor,
converted once to that type (quantized with the candidate tensor's own scale and zero point
when it is quantized, cast to float16 when it is float16, as is when it is float32). One
invocation of the isolated model then runs every op on reference activations, and each op's
output is compared with the reference tensor its output is matched to.

What is isolated, exactly (docs/comparison.md says the same):
- included: the op's own arithmetic in the candidate's dtype, its weights as the candidate
  stores them, the rounding of its output, and the rounding of its inputs to the candidate's
  input quantization (one rounding per input, from the reference's float value);
- excluded: every error made upstream of the op's inputs.

Not rewired: constants, and tensors computed from constants only (a DEQUANTIZE or DENSIFY of
a stored weight), which stay with the ops that unpack them; variable tensors. An input with no
reference value (unmatched, and not a QUANTIZE/DEQUANTIZE/CAST of a matched tensor) leaves its
op out of the isolated model: that layer has no isolated number.

The rewriting works on the flatbuffer through the schema module of ai_edge_litert (its object
API); the interpreter never sees anything it would not see in a converter's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from ..reading.model import Model, Subgraph
from .matching import REQUANTIZING_OPS, TensorPair

# Ops whose outputs are part of the model's state or control, not values of a layer: an
# isolated copy of them would not mean what the original means.
NOT_ISOLATED = ("WHILE", "IF", "CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE",
                "CALL", "DELEGATE")
UNPACKING_OPS = ("DEQUANTIZE", "DENSIFY")
TRACE_DEPTH = 8  # QUANTIZE/DEQUANTIZE/CAST steps followed back to a matched tensor


@dataclass(frozen=True)
class IsolatedModel:
    """The isolated model's bytes, what to feed each of its inputs, and which ops it runs."""

    data: bytes
    feeds: tuple[int, ...]  # per input of the isolated model: the reference tensor it gets
    ops: frozenset[int]  # candidate ops kept (each on reference activations)
    left_out: dict[int, str]  # candidate op -> why it has no isolated number


class IsolationUnavailable(Exception):
    """The candidate cannot be rewritten (the reason says why); its layers get no isolated numbers."""


def static_tensors(sg: Subgraph) -> set[int]:
    """Constants, and tensors computed from constants only by unpacking ops (a stored weight's
    DEQUANTIZE or DENSIFY): they keep their producers in the isolated model."""
    static = {t.index for t in sg.tensors if t.is_constant}
    for op in sg.operators:  # execution order: an unpacking chain is seen producer first
        inputs = [i for i in op.inputs if i >= 0]
        if op.opcode in UNPACKING_OPS and inputs and all(i in static for i in inputs):
            static.update(o for o in op.outputs if o >= 0)
    return static


def reference_sources(sg: Subgraph, pairs: Sequence[TensorPair]) -> dict[int, int]:
    """Candidate tensor -> the reference tensor whose values it should hold: matched directly,
    or through QUANTIZE/DEQUANTIZE/CAST ops back to a matched tensor."""
    matched: dict[int, int] = {}
    for pair in pairs:  # a tensor matched by name or position wins over a requantized match
        if pair.candidate not in matched or matched[pair.candidate] < 0:
            matched[pair.candidate] = pair.reference
    sources = dict(matched)
    for op in sg.operators:
        for out in op.outputs:
            if out < 0 or out in sources:
                continue
            current, steps = out, 0
            while current not in matched and steps < TRACE_DEPTH:
                producer = sg.producers.get(current)
                if producer is None:
                    break
                p = sg.operators[producer]
                if p.opcode not in REQUANTIZING_OPS or len(p.inputs) != 1 or p.inputs[0] < 0:
                    break
                current, steps = p.inputs[0], steps + 1
            if current in matched:
                sources[out] = matched[current]
    return sources


def build_isolated_model(candidate: Model, pairs: Sequence[TensorPair], subgraph: int = 0) -> IsolatedModel:
    """The candidate's `subgraph` (the signature's that is compared) with every op reading
    reference activations (see the module's text). Raises IsolationUnavailable when the file
    cannot be rewritten."""
    sg = candidate.subgraphs[subgraph]
    return rewire(candidate, reference_sources(sg, pairs), subgraph)


def build_rounded_reference(reference: Model, candidate: Model, pairs: Sequence[TensorPair],
                            reference_subgraph: int = 0, candidate_subgraph: int = 0,
                            ) -> tuple[IsolatedModel, tuple[tuple | None, ...]]:
    """The reference's own ops, each on its own activations rounded as the candidate rounds
    them (dequantized again): the float op on exactly the input the candidate's op sees. Against
    the candidate's isolated outputs this gives the op's own error with the input rounding left
    out, as TensorFlow's QuantizationDebugger measures it. Also, per input of the model, the
    rounding to apply: (numpy dtype name, scales, zero points, axis) or None for none."""
    ref_sg, cand_sg = reference.subgraphs[reference_subgraph], candidate.subgraphs[candidate_subgraph]
    rounding_of: dict[int, tuple] = {}
    sources = reference_sources(cand_sg, pairs)
    for op in cand_sg.operators:  # what the candidate's ops read, by the reference tensor it holds
        for i in op.inputs:
            if i < 0 or i not in sources or sources[i] in rounding_of:
                continue
            t = cand_sg.tensors[i]
            q = t.quantization
            if q is not None and q.scale.size and t.dtype in INTEGER_DTYPES:
                rounding_of[sources[i]] = (INTEGER_DTYPES[t.dtype], tuple(float(v) for v in q.scale),
                                           tuple(int(v) for v in q.zero_point), int(q.quantized_dimension))
            elif t.dtype == "FLOAT16":
                rounding_of[sources[i]] = ("float16", (), (), 0)
    own = {t.index: t.index for t in ref_sg.tensors}
    built = rewire(reference, own, reference_subgraph)
    return built, tuple(rounding_of.get(r) for r in built.feeds)


# Quantized activation types and the numpy type the interpreter holds them in.
INTEGER_DTYPES = {"INT8": "int8", "UINT8": "uint8", "INT16": "int16", "INT4": "int8"}


def rewire(source: Model, sources: dict[int, int], subgraph: int = 0) -> IsolatedModel:
    """`subgraph` of `source` with each op's activations replaced by fresh inputs, as the isolated
    model's subgraph 0; `sources` maps a tensor to the reference tensor whose values its fresh
    input gets."""
    sg = source.subgraphs[subgraph]
    if any(b.external for b in source.buffers) or source.external_buffers:
        raise IsolationUnavailable("its weights are stored outside the flatbuffer")
    static = static_tensors(sg)
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(source.data), 0)
    except Exception as e:  # noqa: BLE001 - the reader accepted the file; the object API may not
        raise IsolationUnavailable(f"the schema module cannot unpack it ({type(e).__name__})") from e
    graph = model.subgraphs[subgraph]
    fresh: dict[int, int] = {}  # original tensor -> its fresh input copy
    feeds: list[int] = []
    kept_ops: list[schema.OperatorT] = []
    kept: set[int] = set()
    left_out: dict[int, str] = {}
    variable = {t.index for t in sg.tensors if t.is_variable}
    empty_buffer = len(model.buffers)
    model.buffers.append(schema.BufferT())
    for op, op_t in zip(sg.operators, graph.operators):
        unpacks_weight = op.opcode in UNPACKING_OPS and op.outputs and all(o in static for o in op.outputs if o >= 0)
        if unpacks_weight:
            kept_ops.append(op_t)
            continue
        if op.opcode in NOT_ISOLATED or op.subgraph_refs:
            left_out[op.index] = f"{op.opcode} is not run in isolation"
            continue
        rewired = list(op_t.inputs) if op_t.inputs is not None else []
        missing = None
        for k, i in enumerate(rewired):
            if i < 0 or i in static or i in variable:
                continue
            if i not in sources:
                missing = sg.tensors[i].name
                break
            if i not in fresh:
                fresh[i] = _add_input_copy(graph, i, empty_buffer)
                feeds.append(sources[i])
            rewired[k] = fresh[i]
        if missing is not None:
            left_out[op.index] = f"its input {missing} has no reference value"
            continue
        op_t.inputs = rewired
        kept_ops.append(op_t)
        kept.add(op.index)
    graph.operators = kept_ops
    graph.inputs = [fresh[i] for i in fresh]
    graph.outputs = sorted({o for i in kept for o in sg.operators[i].outputs if o >= 0})
    if subgraph:
        # Another signature's subgraph becomes the only one, so the worker runs it as subgraph 0;
        # ops that call other subgraphs are not run in isolation, so nothing refers to them.
        model.subgraphs = [graph]
    model.signatureDefs = []  # the signatures name the original inputs
    model.metadata = []  # nothing reads it; its buffers stay, unreferenced
    builder = flatbuffers.Builder(max(1024, len(source.data) + 4096))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return IsolatedModel(bytes(builder.Output()), tuple(feeds), frozenset(kept), left_out)


def _add_input_copy(graph: schema.SubGraphT, index: int, empty_buffer: int) -> int:
    original = graph.tensors[index]
    copy = schema.TensorT()
    copy.shape = original.shape
    copy.shapeSignature = original.shapeSignature
    copy.type = original.type
    copy.quantization = original.quantization
    copy.name = (original.name or b"") + b"/isolated_input"  # the object API holds names as bytes
    copy.buffer = empty_buffer
    graph.tensors.append(copy)
    return len(graph.tensors) - 1

