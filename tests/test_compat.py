"""The delegate-compatibility engine, the rule tables' integrity, and XNNPACK against the runtime.

XNNPACK is the one delegate this machine runs: the LiteRT interpreter applies it
by default and shows each delegated partition as a DELEGATE node. Every rule
test built here is therefore also run through the interpreter, and the whole
corpus is compared op by op.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tflite_inspector.core.delegates import context, engine, output, runtime_check, tables
from tflite_inspector.core.delegates.settings import DelegateSettings
from tflite_inspector.core.errors import ModelError, RuntimeFailure
from tflite_inspector.core.reading.reader import read_model, read_model_bytes
from tflite_inspector.core.runtime.interpreter import RuntimeWorker
from tflite_inspector.main import main

from .conftest import SAMPLES, model_id, needs_shared, real_model_paths, shared_model
from .graph_builder import GraphBuilder

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


def test_partitions_are_contiguous_runs():
    report = engine.analyze(_three_convs_middle_sign_bit().model(), "xnnpack")
    assert report.partitions == 2
    assert report.ops_supported == 2 and report.ops_total == 3
    assert report.macs_supported_fraction == pytest.approx(2 / 3)
    ((reason, ops),) = report.fallbacks_by_reason().items()
    assert "SIGN_BIT" in reason and [v.index for v in ops] == [1]


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
            json.dumps(output.report_dict(report), allow_nan=False)
        analyzed += 1
    assert analyzed >= 80
