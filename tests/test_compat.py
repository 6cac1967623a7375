"""The delegate-compatibility engine, the rule tables' integrity, and XNNPACK against the runtime.

XNNPACK is the one delegate this machine runs: the LiteRT interpreter applies it
by default and shows each delegated partition as a DELEGATE node. Every rule
test built here is therefore also run through the interpreter, and the whole
corpus is compared op by op.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tflite_inspector.core.delegates import context, engine, output, runtime_check, tables
from tflite_inspector.core.delegates.settings import DelegateSettings
from tflite_inspector.core.errors import ModelError, RuntimeFailure
from tflite_inspector.core.reading.reader import read_model, read_model_bytes
from tflite_inspector.core.runtime.interpreter import RuntimeWorker
from tflite_inspector.main import main

from .compat_helpers import sparse_models
from .conftest import SAMPLES, model_id, needs_shared, real_model_paths, shared_model
from .graph_builder import GraphBuilder, pack, unpack

AGREEMENT_TARGET = 0.98


@pytest.fixture(scope="module")
def worker():
    with RuntimeWorker(timeout_s=60) as w:
        yield w


def _runtime_taken(worker: RuntimeWorker, data: bytes, tmp_path, name: str = "m.tflite") -> frozenset[int]:
    path = tmp_path / name
    path.write_bytes(data)
    nodes = worker.default_delegate_nodes(str(path))
    model = read_model_bytes(data, str(path))
    return runtime_check.delegated_ops_from_nodes(model.subgraphs[0], nodes.delegate_nodes)


# ------------------------------------------------------------------ rule tables


@pytest.mark.parametrize("delegate", engine.DELEGATES)
def test_rule_table_loads_and_names_real_ops(delegate):
    rules = tables.load_rules(delegate)
    meta = rules["delegate"]
    assert meta["key"] == delegate and meta["title"] and meta["source"]
    builtin = {name for name in vars(schema.BuiltinOperator) if name.isupper() or "_" in name}
    for entry in rules.get("op", []):
        for opcode in entry["opcodes"]:
            # Custom op codes are CamelCase or contain a hyphen; builtins must exist in the schema.
            if opcode.isupper() or opcode.replace("_", "").isupper() and "-" not in opcode:
                assert opcode in builtin, f"{delegate}.toml: {opcode} is not a builtin op"
        for check in entry.get("checks", []):
            assert check["check"] in context.CHECKS
            if check["check"] == "special":
                assert check["name"] in context.SPECIAL_CHECKS, (
                    f"{delegate}.toml: unknown special {check['name']}"
                )


def test_graph_rules_name_real_ops():
    graph = tables.load_rules(tables.GRAPH_RULES)
    for rule in graph["data_dependent"]:
        assert hasattr(schema.BuiltinOperator, rule["opcode"]), rule["opcode"]
    assert {c for rule in graph["compiled"] for c in rule["custom_codes"]} >= {"edgetpu-custom-op", "ethos-u"}


# ------------------------------------------------------- XNNPACK: rule by rule


def _conv_model(activation: str = "NONE", with_bias: bool = True, dtype: str = "FLOAT32") -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 3])
    w = b.constant("w", np.ones((4, 3, 3, 3), np.float32))
    inputs = [x, w]
    if with_bias:
        inputs.append(b.constant("bias", np.zeros(4, np.float32)))
    else:
        inputs.append(-1)
    y = b.tensor("y", [1, 8, 8, 4])
    b.op(
        "CONV_2D",
        inputs,
        [y],
        options=(
            "Conv2DOptions",
            {"padding": "SAME", "strideW": 1, "strideH": 1, "fusedActivationFunction": activation},
        ),
    )
    return b


def _quantized_softmax() -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 10], "INT8", scale=0.1, zero_point=0)
    y = b.tensor("y", [1, 10], "INT8", scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], options=("SoftmaxOptions", {"beta": 1.0}))
    return b


def _three_convs_middle_sign_bit() -> GraphBuilder:
    b = GraphBuilder()
    prev = b.tensor("x", [1, 8, 8, 4])
    for i, activation in enumerate(["RELU", "SIGN_BIT", "RELU6"]):
        w = b.constant(f"w{i}", np.full((4, 1, 1, 4), 0.5, np.float32))
        bias = b.constant(f"b{i}", np.zeros(4, np.float32))
        out = b.tensor(f"y{i}", [1, 8, 8, 4])
        b.op(
            "CONV_2D",
            [prev, w, bias],
            [out],
            options=(
                "Conv2DOptions",
                {"padding": "SAME", "strideW": 1, "strideH": 1, "fusedActivationFunction": activation},
            ),
        )
        prev = out
    return b


def _pool(stride: int, filter_size: int) -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 8, 8, 2])
    out = (8 - filter_size) // stride + 1
    y = b.tensor("y", [1, out, out, 2])
    b.op(
        "MAX_POOL_2D",
        [x],
        [y],
        options=(
            "Pool2DOptions",
            {
                "padding": "VALID",
                "strideW": stride,
                "strideH": stride,
                "filterWidth": filter_size,
                "filterHeight": filter_size,
            },
        ),
    )
    return b


def _hybrid_depthwise() -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 6, 6, 4])
    w = b.constant("w", np.ones((1, 3, 3, 4), np.int8), scale=[0.1, 0.1, 0.2, 0.2], zero_point=[0] * 4, axis=3)
    bias = b.constant("bias", np.zeros(4, np.float32))
    y = b.tensor("y", [1, 6, 6, 4])
    b.op(
        "DEPTHWISE_CONV_2D",
        [x, w, bias],
        [y],
        version=6,
        options=("DepthwiseConv2DOptions", {"padding": "SAME", "strideW": 1, "strideH": 1, "depthMultiplier": 1}),
    )
    return b


def _strided_slice(shrink: int) -> GraphBuilder:
    b = GraphBuilder()
    x = b.tensor("x", [1, 4, 6])
    begin = b.constant("begin", np.array([0, 1, 0], np.int32))
    end = b.constant("end", np.array([1, 3, 6], np.int32))
    strides = b.constant("strides", np.array([1, 1, 1], np.int32))
    y = b.tensor("y", [2, 6] if shrink else [1, 2, 6])
    b.op("STRIDED_SLICE", [x, begin, end, strides], [y], options=("StridedSliceOptions", {"shrinkAxisMask": shrink}))
    return b


# (builder, expected XNNPACK verdict per op, words the first reason of each refused op must contain)
XNNPACK_CASES = {
    "conv_float_relu": (lambda: _conv_model("RELU"), [True], []),
    "conv_sign_bit": (lambda: _conv_model("SIGN_BIT"), [False], ["SIGN_BIT"]),
    # The interpreter itself refuses a CONV_2D without bias, so only the prediction is checked.
    "conv_without_bias": (lambda: _conv_model(with_bias=False), [False], ["without bias"]),
    "softmax_int8": (_quantized_softmax, [False], ["floating point only"]),
    "three_convs": (_three_convs_middle_sign_bit, [True, False, True], ["SIGN_BIT"]),
    "max_pool_stride_gt_filter": (lambda: _pool(3, 2), [False], ["exceeding filter"]),
    "max_pool_ok": (lambda: _pool(2, 2), [True], []),
    "depthwise_hybrid": (_hybrid_depthwise, [False], ["mixed types"]),
    "strided_slice_shrink": (lambda: _strided_slice(2), [False], ["shrink_axis_mask"]),
    "strided_slice_plain": (lambda: _strided_slice(0), [True], []),
}


PREDICTION_ONLY = {"conv_without_bias"}


@pytest.mark.parametrize("case", sorted(XNNPACK_CASES))
def test_xnnpack_rule_matches_runtime(case, worker, tmp_path):
    build, expected, words = XNNPACK_CASES[case]
    data = build().build()
    model = read_model_bytes(data, f"{case}.tflite")
    report = engine.analyze(model, "xnnpack")
    assert [v.supported for v in report.ops] == expected
    refused = [v for v in report.ops if not v.supported]
    for v, word in zip(refused, words, strict=True):
        assert word in v.reasons[0].text, v.reasons
        assert "xnnpack_delegate.cc" in v.reasons[0].source
    if case in PREDICTION_ONLY:
        return
    # The interpreter on this machine agrees, op by op.
    taken = _runtime_taken(worker, data, tmp_path, f"{case}.tflite")
    assert [i in taken for i in range(len(model.subgraphs[0].operators))] == expected


def test_a_refused_op_in_a_chain_splits_it():
    report = engine.analyze(_three_convs_middle_sign_bit().model(), "xnnpack")
    assert report.partitions == 2 and report.subgraph_partitions(0) == [(0,), (2,)]
    assert report.ops_supported == 2 and report.ops_total == 3
    assert report.macs_supported_fraction == pytest.approx(2 / 3)
    ((reason, ops),) = report.fallbacks_by_reason().items()
    assert "SIGN_BIT" in reason and [v.index for v in ops] == [1]


# ------------------------------------------------ partitions as the runtime's partitioner makes them
# Each graph is built so that counting runs of taken ops in execution order, or joining taken ops
# that touch, gives a different answer from TFLite's partitioner (graph_info.cc); the interpreter
# on this machine is the judge.


class _Ops:
    """Float ops on [1, 4, 4, 4] tensors: a 1x1 convolution XNNPACK takes or refuses (fused
    SIGN_BIT, which it does not support), and an ADD it takes."""

    def __init__(self) -> None:
        self.b = GraphBuilder()
        self.x = self.b.tensor("x", [1, 4, 4, 4])

    def conv(self, name: str, source: int, taken: bool = True) -> int:
        b = self.b
        w = b.constant(f"{name}_w", np.full((4, 1, 1, 4), 0.25, np.float32))
        bias = b.constant(f"{name}_b", np.zeros(4, np.float32))
        out = b.tensor(name, [1, 4, 4, 4])
        activation = "RELU" if taken else "SIGN_BIT"
        b.op("CONV_2D", [source, w, bias], [out], options=(
            "Conv2DOptions", {"padding": "SAME", "strideW": 1, "strideH": 1, "fusedActivationFunction": activation}))
        return out

    def add(self, name: str, left: int, right: int) -> int:
        out = self.b.tensor(name, [1, 4, 4, 4])
        self.b.op("ADD", [left, right], [out], options=("AddOptions", {}))
        return out


def _interleaved_branches() -> bytes:
    """Two branches from x, their ops alternating in execution order: taken #0, refused #1,
    taken #2 (after #0), refused #3 (after #1), taken #4 (after #2). Runs of taken ops: three;
    by data flow, #0, #2, #4 never wait for a refused op: one partition."""
    g = _Ops()
    a = g.conv("a", g.x)
    r = g.conv("r", g.x, taken=False)
    a2 = g.conv("a2", a)
    g.conv("r2", r, taken=False)
    g.conv("a3", a2)
    return g.b.build()


def _refused_op_between_dependent_ops() -> bytes:
    """#0 taken, #1 refused reading #0, #2 taken reading both #0 and #1. #0 and #2 touch, but
    one partition holding both would have to run before and after #1: two partitions."""
    g = _Ops()
    a = g.conv("a", g.x)
    r = g.conv("r", a, taken=False)
    g.add("sum", a, r)
    return g.b.build()


def _refused_op_first() -> bytes:
    """A refused op first makes the first partitioner group a CPU one; the taken ops on the other
    branch, before and after a second refused op in execution order, are still one partition."""
    g = _Ops()
    r = g.conv("r", g.x, taken=False)
    a = g.conv("a", g.x)
    g.conv("r2", r, taken=False)
    g.conv("a2", a)
    return g.b.build()


def _float16_weight(g: _Ops) -> int:
    w16 = g.b.constant("w16", np.full((4, 1, 1, 4), 0.25, np.float16))
    w = g.b.tensor("w", [4, 1, 1, 4])
    g.b.op("DEQUANTIZE", [w16], [w], version=3)
    return w


def _unpacking_before_a_refused_op() -> bytes:
    """#0 unpacks a float16 weight (ready at once: its input is stored), #1 is refused, #2 uses
    #1's output and the weight. The unpacking is claimed, and alone in the first partitioner group:
    XNNPACK makes a partition of it, apart from #2's."""
    g = _Ops()
    w = _float16_weight(g)
    r = g.conv("r", g.x, taken=False)
    bias = g.b.constant("y_b", np.zeros(4, np.float32))
    y = g.b.tensor("y", [1, 4, 4, 4])
    g.b.op("CONV_2D", [r, w, bias], [y], options=("Conv2DOptions", {"padding": "SAME", "strideW": 1, "strideH": 1}))
    return g.b.build()


def _unpacking_nobody_reads() -> bytes:
    """An unpacked float16 weight no op reads (a graph output): XNNPACK still claims its DEQUANTIZE."""
    g = _Ops()
    _float16_weight(g)
    g.conv("y", g.x)
    return g.b.build()


PARTITION_CASES = {
    # name: (graph, the partitions predicted and made by the runtime, as op indices)
    "interleaved_branches": (_interleaved_branches, [(0, 2, 4)]),
    "refused_op_between_dependent_ops": (_refused_op_between_dependent_ops, [(0,), (2,)]),
    "refused_op_first": (_refused_op_first, [(1, 3)]),
    "unpacking_before_a_refused_op": (_unpacking_before_a_refused_op, [(0,), (2,)]),
    "unpacking_nobody_reads": (_unpacking_nobody_reads, [(0, 1)]),
}


@pytest.mark.parametrize("case", sorted(PARTITION_CASES))
def test_partitions_follow_data_flow_as_the_runtime_does(case, worker, tmp_path):
    build, expected = PARTITION_CASES[case]
    data = build()
    path = tmp_path / f"{case}.tflite"
    path.write_bytes(data)
    model = read_model_bytes(data, str(path))
    report = engine.analyze(model, "xnnpack")
    assert report.subgraph_partitions(0) == expected
    assert report.partitions == len(expected)
    nodes = worker.default_delegate_nodes(str(path)).delegate_nodes
    comparison = runtime_check.compare_with_runtime(report, model.subgraphs[0], nodes)
    assert comparison.partitions == len(expected)
    assert sorted(tuple(sorted(g)) for g in comparison.groups) == sorted(expected)
    assert not comparison.disagreements()


def test_partition_caps_count_ops_per_data_flow_partition():
    """GPU keeps the largest partition (max_delegated_partitions = 1), measured in ops of the
    partitioner's groups: in the interleaved graph all three taken convolutions are one partition,
    so none is sent back to the CPU by the cap (execution-order runs would keep one of three)."""
    model = read_model_bytes(_interleaved_branches(), "interleaved.tflite")
    report = engine.analyze(model, "gpu")
    assert [v.supported for v in report.ops] == [True, False, True, False, True]
    assert report.subgraph_partitions(0) == [(0, 2, 4)]
    # Core ML's minimum of two ops per partition (kMinNodesPerCoreMlDelegate) holds for the same reason.
    assert engine.analyze(model, "coreml").subgraph_partitions(0) == [(0, 2, 4)]
    dependent = engine.analyze(read_model_bytes(_refused_op_between_dependent_ops(), "dep.tflite"), "gpu")
    assert dependent.subgraph_partitions(0) == [(0,)]
    assert dependent.verdict(0, 2).reasons[0].rule == "max_partitions"


def test_static_float16_weights_are_folded_into_their_consumer(worker, tmp_path):
    """DEQUANTIZE of stored float16 weights: taken with the conv that uses them, refused without it."""

    def build(activation: str) -> GraphBuilder:
        b = GraphBuilder()
        x = b.tensor("x", [1, 4, 4, 2])
        w16 = b.constant("w16", np.ones((2, 1, 1, 2), np.float16))
        w = b.tensor("w", [2, 1, 1, 2])
        b.op("DEQUANTIZE", [w16], [w], version=3)
        bias = b.constant("bias", np.zeros(2, np.float32))
        y = b.tensor("y", [1, 4, 4, 2])
        b.op(
            "CONV_2D",
            [x, w, bias],
            [y],
            options=(
                "Conv2DOptions",
                {"padding": "SAME", "strideW": 1, "strideH": 1, "fusedActivationFunction": activation},
            ),
        )
        return b

    for activation, expected in (("NONE", [True, True]), ("SIGN_BIT", [False, False])):
        data = build(activation).build()
        report = engine.analyze(read_model_bytes(data, "f16.tflite"), "xnnpack")
        assert [v.supported for v in report.ops] == expected
        taken = _runtime_taken(worker, data, tmp_path, f"f16_{activation}.tflite")
        assert [i in taken for i in range(2)] == expected
    assert "folded" in report.ops[0].reasons[0].text


def test_delegated_ops_from_nodes_reads_partitions(worker, tmp_path):
    data = _three_convs_middle_sign_bit().build()
    path = tmp_path / "three.tflite"
    path.write_bytes(data)
    nodes = worker.default_delegate_nodes(str(path))
    assert nodes.model_nodes == 3 and len(nodes.delegate_nodes) == 2
    assert {n.op_name for n in nodes.delegate_nodes} == {"DELEGATE"}
    model = read_model(path)
    taken = runtime_check.delegated_ops_from_nodes(model.subgraphs[0], nodes.delegate_nodes)
    assert taken == frozenset({0, 2})


# ------------------------------------------------------------------ sparse weights
# Models whose weights the converter stored sparsely (EXPERIMENTAL_SPARSITY): a DENSIFY unpacks each
# weight, followed for float16 by a DEQUANTIZE. XNNPACK unpacks both while preparing and takes
# them with the ops reading the weight (PrepareOpsToDelegate).


@pytest.fixture(scope="module")
def sparse(tmp_path_factory):
    return sparse_models(tmp_path_factory.mktemp("sparse"))


def _consistent_reasons(report: engine.DelegateReport) -> None:
    """A reason naming another op as staying on the CPU must be about an op that does."""
    for v in report.ops:
        for r in v.reasons:
            match = re.search(r"op #(\d+) \(\w+\) reads it and stays on the CPU", r.text)
            if match:
                other = report.verdict(v.subgraph, int(match.group(1)))
                assert other is not None and not other.supported, (v.index, r.text)


@pytest.mark.parametrize("kind", ["float32", "float16"])
def test_sparse_weights_are_taken_with_their_ops(kind, sparse, worker):
    path = sparse[kind]
    model = read_model(path)
    densify = [op.index for op in model.subgraphs[0].operators if op.opcode == "DENSIFY"]
    assert len(densify) == 5  # two convolutions, the depthwise one, two dense layers
    report = engine.analyze(model, "xnnpack")
    assert report.ops_supported == report.ops_total and report.partitions == 1
    nodes = worker.default_delegate_nodes(str(path)).delegate_nodes
    comparison = runtime_check.compare_with_runtime(report, model.subgraphs[0], nodes)
    assert comparison.partitions == 1 and comparison.delegated == frozenset(range(report.ops_total))
    assert not comparison.disagreements()


def test_sparse_float16_weight_of_a_refused_op(sparse, worker, tmp_path):
    """The convolution reading a densified float16 weight refused (fused SIGN_BIT): its DEQUANTIZE
    goes to the CPU with it, but the DENSIFY before that stays with XNNPACK, as in the runtime (only
    an op the delegate visits and refuses withdraws an unpacking; the DEQUANTIZE is not visited)."""
    original = read_model(sparse["float16"]).subgraphs[0]

    def unpacked_by(tensor: int, opcode: str) -> int | None:
        producer = original.producers.get(tensor)
        return producer if producer is not None and original.operators[producer].opcode == opcode else None

    # A convolution whose weight is DENSIFY -> DEQUANTIZE of a stored sparse float16 tensor.
    conv = next(op for op in original.operators if op.opcode == "CONV_2D"
                and (dq := unpacked_by(op.inputs[1], "DEQUANTIZE")) is not None
                and unpacked_by(original.operators[dq].inputs[0], "DENSIFY") is not None)
    m = unpack(sparse["float16"].read_bytes())
    m.subgraphs[0].operators[conv.index].builtinOptions.fusedActivationFunction = (
        schema.ActivationFunctionType.SIGN_BIT)
    data = pack(m)
    path = tmp_path / "sparse_float16_sign_bit.tflite"
    path.write_bytes(data)
    model = read_model_bytes(data, str(path))
    ops = model.subgraphs[0].operators
    dequantize = model.subgraphs[0].producers[conv.inputs[1]]
    densify = model.subgraphs[0].producers[ops[dequantize].inputs[0]]
    assert ops[densify].opcode == "DENSIFY"
    report = engine.analyze(model, "xnnpack")
    assert not report.verdict(0, conv.index).supported
    refused = report.verdict(0, dequantize)
    assert not refused.supported and f"op #{conv.index} (CONV_2D) reads it" in refused.reasons[0].text
    assert report.verdict(0, densify).supported
    _consistent_reasons(report)
    nodes = worker.default_delegate_nodes(str(path)).delegate_nodes
    comparison = runtime_check.compare_with_runtime(report, model.subgraphs[0], nodes)
    assert not comparison.disagreements()
    assert comparison.partitions == report.partitions == 2


@pytest.mark.parametrize("kind", ["dynamic_range", "int8"])
def test_sparse_int8_weights_are_claimed_but_fail_to_build(kind, sparse, worker):
    """Where the prediction and the runtime part: XNNPACK claims a DENSIFY of int8 weights and the
    ops reading them (PrepareOpsToDelegate treats the unpacked weight as static, per-channel scales
    included), then fails to define those ops in XNNPACK (ai-edge-litert 2.3.0: "failed to delegate
    CONV_2D node #1 ... failed to prepare"), so the interpreter with its default delegate refuses
    the model. We report what the delegate claims; docs/delegate_rules.md records the failure."""
    model = read_model(sparse[kind])
    report = engine.analyze(model, "xnnpack")
    int8_weights = 0
    for op in model.subgraphs[0].operators:
        if op.opcode == "DENSIFY" and model.subgraphs[0].tensors[op.inputs[0]].dtype == "INT8":
            int8_weights += 1
            assert report.verdict(0, op.index).supported
            for reader in model.subgraphs[0].consumers[op.outputs[0]]:
                assert report.verdict(0, reader).supported, reader
    assert int8_weights >= 2
    with pytest.raises(RuntimeFailure, match="failed to delegate"):
        worker.default_delegate_nodes(str(sparse[kind]))


@pytest.mark.parametrize("kind", ["float32", "float16"])
def test_sparse_weights_on_the_other_delegates(kind, sparse):
    """What the other delegates' sources do with DENSIFY (resources/delegates/*.toml cite them): the
    GPU and NNAPI (from SDK 30) take a DENSIFY of a stored sparse weight, and the DEQUANTIZE after
    it; Hexagon, Core ML and the Edge TPU have no DENSIFY."""
    model = read_model(sparse[kind])
    densify = [op.index for op in model.subgraphs[0].operators if op.opcode == "DENSIFY"]
    for delegate, settings, taken in (
        ("gpu", DelegateSettings(), True),
        ("nnapi", DelegateSettings(30), True),
        ("nnapi", DelegateSettings(29), False),
        ("hexagon", DelegateSettings(), False),
        ("coreml", DelegateSettings(), False),
        ("edgetpu", DelegateSettings(), False),
    ):
        report = engine.analyze(model, delegate, settings)
        assert [report.verdict(0, i).supported for i in densify] == [taken] * len(densify), (delegate, settings)
        _consistent_reasons(report)
    gpu = engine.analyze(model, "gpu")
    assert gpu.ops_supported == gpu.ops_total and gpu.partitions == 1


# ------------------------------------------------------------ whole-graph rules


@needs_shared
def test_compiled_edgetpu_model_is_refused_by_cpu_delegates():
    model = read_model(shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant_edgetpu.tflite"))
    report = engine.analyze(model, "xnnpack")
    assert report.ops_supported == 0
    assert "Edge TPU compiler" in report.ops[0].reasons[0].text
    assert report.ops[0].reasons[0].source.startswith("https://coral.ai/")


@needs_shared
def test_flex_ops_are_a_graph_note():
    model = read_model(shared_model("gh-tensorflow-tflite-support/whitespace_tokenizer_flex_delegate.tflite"))
    report = engine.analyze(model, "xnnpack")
    notes = [n.text for n in report.graph_notes]
    assert any("Flex" in n and "Select TensorFlow" in n for n in notes), notes
    flex = [v for v in report.ops if v.opcode.startswith("Flex")]
    assert flex and not any(v.supported for v in flex)


def test_data_dependent_reshape_is_found():
    b = GraphBuilder()
    x = b.tensor("x", [1, 6])
    shape = b.tensor("shape", [2], "INT32")
    y = b.tensor("y", [2, 3])
    b.op("RESHAPE", [x, shape], [y])
    model = b.model()
    found = engine.dynamic_tensors(model, model.subgraphs[0])
    assert [(op.opcode, t.name) for op, t in found] == [("RESHAPE", "y")]
    # XNNPACK accepts dynamic tensors (subgraph reshaping is on by default)...
    report = engine.analyze(model, "xnnpack")
    assert not any("static-sized" in n.text for n in report.graph_notes)
    # ...but not a RESHAPE whose new shape is only known at run time.
    assert "must be static" in report.ops[0].reasons[0].text


# ------------------------------------------------------------ runtime agreement


@needs_shared
def test_xnnpack_prediction_agrees_with_runtime_on_the_corpus(worker):
    """At least 98% of all ops in subgraph 0 of every model the interpreter loads."""
    total = agree = 0
    disagreements: list[str] = []
    refused: list[str] = []
    for path in real_model_paths():
        model = read_model(path)
        report = engine.analyze(model, "xnnpack")
        try:
            nodes = worker.default_delegate_nodes(str(path))
        except RuntimeFailure as e:
            refused.append(f"{model_id(path)}: {str(e).splitlines()[0][:100]}")
            continue
        comparison = runtime_check.compare_with_runtime(report, model.subgraphs[0], nodes.delegate_nodes)
        total += len(comparison.ops)
        agree += len(comparison.ops) - len(comparison.disagreements())
        disagreements += [
            f"{model_id(path)} #{op.index} {op.opcode}: predicted {op.predicted}, runtime {op.delegated}"
            for op in comparison.disagreements()
        ]
    assert total > 5000, f"only {total} ops compared; interpreter refused: {refused}"
    ratio = agree / total
    print(f"\nXNNPACK agreement {agree}/{total} = {ratio:.4f}; {len(refused)} models refused by the interpreter")
    assert ratio >= AGREEMENT_TARGET, "\n".join(disagreements)
    # Models the interpreter cannot load are exactly those with ops it lacks or broken quantization.
    assert all(
        any(k in r for k in ("custom op", "Flex", "Select TensorFlow", "quantized_dimension")) for r in refused
    ), refused


# ------------------------------------------------------------------------- CLI


def test_cli_compat_json_matches_the_issue_schema(capfd):
    status = main(["compat", str(SAMPLES / "shapes_int8.tflite"), "--json"])
    assert status == 0
    record = json.loads(capfd.readouterr().out)
    assert set(record) == {"path", "delegates", "xnnpack_runtime"}
    assert set(record["delegates"]) == set(engine.DELEGATES)
    x = record["delegates"]["xnnpack"]
    assert (x["ops_supported"], x["ops_total"], x["partitions"]) == (11, 12, 1)
    assert x["macs_supported_fraction"] == pytest.approx(1.0)
    softmax = x["ops"][11]
    assert softmax == {
        "subgraph": 0,
        "index": 11,
        "opcode": "SOFTMAX",
        "version": softmax["version"],
        "supported": False,
        "reasons": softmax["reasons"],
    }
    assert "floating point only" in softmax["reasons"][0]["text"]
    runtime = record["xnnpack_runtime"]
    assert runtime["agreement"] == 1.0 and len(runtime["ops"]) == 12
    assert runtime["partitions"] == runtime["predicted_partitions"] == 1
    assert runtime["ops"][11] == {
        "subgraph": 0,
        "index": 11,
        "opcode": "SOFTMAX",
        "predicted": False,
        "delegated": False,
    }


def test_cli_compat_text_groups_fallbacks_by_reason(capsys):
    status = main(["compat", str(SAMPLES / "shapes_int8.tflite"), "--delegate", "xnnpack"])
    out = capsys.readouterr().out
    assert status == 0
    assert "XNNPACK         11/12 (92%)" in out
    assert "1 op(s): #11 SOFTMAX" in out
    assert "prediction agrees on 12 of 12 ops (100.0%)" in out
    assert "the rules predict 1 partition(s), the runtime made 1 delegate partition(s)" in out


def test_cli_compat_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"TFL3" * 3)
    assert main(["compat", str(bad), "--no-runtime"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tflite-inspector: error:")
    with pytest.raises(SystemExit) as exc:
        main(["compat", str(bad), "--delegate", "tpu"])
    assert exc.value.code == 2
    assert "unknown delegate tpu" in capsys.readouterr().err


@needs_shared
def test_cli_compat_runtime_refusal_is_one_line(capfd):
    path = shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant_edgetpu.tflite")
    assert main(["compat", str(path), "--delegate", "xnnpack", "--json"]) == 0
    record = json.loads(capfd.readouterr().out)
    assert record["xnnpack_runtime"]["error"].startswith("RuntimeError: Encountered unresolved custom op: edgetpu")


@needs_shared
def test_every_readable_model_is_analyzed_by_every_delegate():
    """Edge cases included: whatever the reader accepts, the engine evaluates without an exception."""
    from .conftest import all_model_paths

    analyzed = 0
    for path in all_model_paths():
        try:
            model = read_model(path)
        except ModelError:
            continue
        for delegate in engine.DELEGATES:
            report = engine.analyze(model, delegate, DelegateSettings(27))
            assert report.ops_total == sum(len(sg.operators) for sg in model.subgraphs)
            for v in report.ops:
                assert v.supported == (not v.reasons)
                assert all(r.text and r.source for r in v.reasons), (model_id(path), delegate, v)
                # A reason that names another op (the one that stays on the CPU, the first unmapped
                # one, the one making a tensor dynamic) names one shown as refused too.
                for r in v.reasons:
                    for named in re.findall(r"#(\d+)", r.text):
                        other = report.verdict(v.subgraph, int(named))
                        assert other is not None and not other.supported, (model_id(path), delegate, v.index, r.text)
            json.dumps(output.report_dict(report), allow_nan=False)
        analyzed += 1
    assert analyzed >= 80
