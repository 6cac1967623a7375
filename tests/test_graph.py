"""The graph of a subgraph (core/graph): its nodes and edges against the model, its layout's
geometry, the overlays against the engine's own results, the SVG drawing and `tflite-inspector
graph`, on every model and subgraph of the corpus."""

from __future__ import annotations

import math
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from tflite_inspector.core.comparison.inputs import prepare_samples
from tflite_inspector.core.comparison.run import compare_models
from tflite_inspector.core.delegates.engine import DELEGATES, analyze
from tflite_inspector.core.delegates.runtime_check import compare_with_runtime
from tflite_inspector.core.errors import ModelError
from tflite_inspector.core.formatting import format_metric
from tflite_inspector.core.graph.layout import crossings, dot_layout, igraph_layout, layered_layout
from tflite_inspector.core.graph.overlays import (
    PARTITION_COLOURS,
    REFUSED,
    STRONG_BORDER,
    cost_paint,
    delegate_paint,
    error_paint,
    quantization_paint,
    type_paint,
)
from tflite_inspector.core.graph.structure import CONSTANT, INPUT, OP, OUTPUT, build_graph
from tflite_inspector.core.graph.svg import graph_svg
from tflite_inspector.core.inspection.stats import model_stats
from tflite_inspector.core.reading.reader import read_model
from tflite_inspector.core.runtime.interpreter import RuntimeWorker

from .conftest import all_model_paths, model_id, needs_shared, shared_model

SVG = "{http://www.w3.org/2000/svg}"


def _subgraphs():
    """(path, subgraph index) for every readable model and subgraph with ops in the corpus."""
    cases = []
    for path in all_model_paths():
        try:
            with read_model(path) as model:
                cases += [pytest.param(path, sg.index, id=f"{model_id(path)}:{sg.index}")
                          for sg in model.subgraphs if sg.operators]
        except ModelError:
            continue
    return cases


SUBGRAPHS = _subgraphs()


def _identity(graph, node_id):
    node = graph.nodes[node_id]
    return (OP, node.op) if node.kind == OP else (node.kind, node.tensor)


def _expected_edges(sg, with_constants=False):
    """Producer → consumer pairs of the subgraph's tensors, worked out from the model itself."""
    n = len(sg.tensors)
    produced = {t: (OP, op.index) for op in sg.operators for t in op.outputs if 0 <= t < n}
    for t in sg.inputs:
        if 0 <= t < n and t not in produced:
            produced[t] = (INPUT, t)
    pairs = set()
    for op in sg.operators:
        for t in op.inputs:
            if not 0 <= t < n:
                continue
            constant = sg.tensors[t].is_constant and t not in sg.inputs
            if t in produced and not constant:
                pairs.add((produced[t], (OP, op.index), t))
            elif with_constants and sg.tensors[t].is_constant:
                pairs.add(((CONSTANT, t), (OP, op.index), t))
    for t in sg.outputs:
        if t in produced:
            pairs.add((produced[t], (OUTPUT, t), t))
    return pairs


@needs_shared
@pytest.mark.parametrize(("path", "index"), SUBGRAPHS)
def test_nodes_are_the_ops_and_edges_the_producer_consumer_pairs(path, index):
    with read_model(path) as model:
        sg = model.subgraphs[index]
        for with_constants in (False, True):
            graph = build_graph(sg, with_constants=with_constants)
            ops = [n for n in graph.nodes if n.kind == OP]
            assert [n.op for n in ops] == list(range(len(sg.operators)))
            assert all(graph.node_of_op(op) == op for op in range(len(sg.operators)))
            for node in ops:  # custom and Flex ops say so in their box, whatever the overlay
                op = sg.operators[node.op]
                expected_mark = "Flex" if op.is_flex else "custom" if op.is_custom else ""
                assert node.mark == expected_mark and (not expected_mark or expected_mark in node.detail)
            got = {(_identity(graph, e.source), _identity(graph, e.target), e.tensor) for e in graph.edges}
            assert got == _expected_edges(sg, with_constants)
            assert len(got) == len(graph.edges)  # no pair twice


def _overlaps(graph, layout):
    """Pairs of boxes that overlap (sweeping down the rows)."""
    boxes = sorted((layout.y[n.id] - n.height / 2, layout.y[n.id] + n.height / 2,
                    layout.x[n.id] - n.width / 2, layout.x[n.id] + n.width / 2, n.id) for n in graph.nodes)
    found = []
    for i, (top, bottom, left, right, a) in enumerate(boxes):
        for top2, _bottom2, left2, right2, b in boxes[i + 1:]:
            if top2 >= bottom - 0.01:
                break
            if left2 < right - 0.01 and left < right2 - 0.01:
                found.append((a, b))
    return found


@needs_shared
@pytest.mark.parametrize(("path", "index"), SUBGRAPHS)
def test_layouts_have_no_overlapping_boxes_and_edges_join_their_nodes(path, index):
    with read_model(path) as model:
        graph = build_graph(model.subgraphs[index])
        layout = layered_layout(graph)
        assert _overlaps(graph, layout) == []
        assert len(layout.edges) == len(graph.edges)
        for e, route in zip(graph.edges, layout.edges, strict=True):
            source, target = graph.nodes[e.source], graph.nodes[e.target]
            (x0, y0), (x1, y1) = route[0], route[-1]
            # An edge leaves its source's box and ends at its target's (within an arrow's length).
            assert abs(x0 - layout.x[e.source]) <= source.width / 2 + 1 and abs(y0 - layout.y[e.source]) <= source.height / 2 + 12
            assert abs(x1 - layout.x[e.target]) <= target.width / 2 + 1 and abs(y1 - layout.y[e.target]) <= target.height / 2 + 12
        assert layout.width > 0 and layout.height > 0


@needs_shared
def test_both_engines_lay_out_the_same_graph_and_forward_edges_run_downwards():
    with read_model(shared_model("gh-google-lyra/lyragan.tflite")) as model:
        graph = build_graph(model.subgraphs[0])
        for layout in (dot_layout(graph), igraph_layout(graph)):
            assert _overlaps(graph, layout) == []
            for e in graph.edges:
                assert layout.y[e.source] < layout.y[e.target], (layout.engine, e)
        assert {dot_layout(graph).engine, igraph_layout(graph).engine} == {"dot", "igraph"}


def test_crossings_count_opposite_orders_between_rows():
    from tflite_inspector.core.graph.layout import GraphLayout
    from tflite_inspector.core.graph.structure import Edge, Node, OpGraph

    nodes = tuple(Node(i, OP, "ADD", "") for i in range(4))
    graph = OpGraph(0, nodes, (Edge(0, 3, 1), Edge(1, 2, 2)), False)
    # 0 and 1 on the top row, 2 and 3 below: 0 → 3 and 1 → 2 make an X.
    crossed = GraphLayout(x=(0.0, 100.0, 0.0, 100.0), y=(0.0, 0.0, 64.0, 64.0), layer=(0, 0, 1, 1),
                          edges=(((0, 17), (100, 47)), ((100, 17), (0, 47))), width=100, height=64, bends=0, seconds=0)
    straight = GraphLayout(x=(0.0, 100.0, 100.0, 0.0), y=(0.0, 0.0, 64.0, 64.0), layer=(0, 0, 1, 1),
                           edges=(((0, 17), (0, 47)), ((100, 17), (100, 47))), width=100, height=64, bends=0, seconds=0)
    assert crossings(graph, crossed) == 1 and crossings(graph, straight) == 0


# -- overlays --------------------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("relative", ["gh-mlcommons-tiny/vww_96_int8.tflite", "gh-google-lyra/lyragan.tflite",
                                      "gh-tulasiram58827-TTS_TFLite/hifigan_dr.tflite",
                                      "gh-google-coral-test_data/traffic_model.tflite"])
def test_delegate_overlay_colours_are_the_compat_verdicts_op_by_op(relative):
    with read_model(shared_model(relative)) as model:
        for key in DELEGATES:
            report = analyze(model, key)
            for sg in model.subgraphs:
                graph = build_graph(sg)
                paint = delegate_paint(graph, report)
                verdicts = {v.index: v for v in report.ops if v.subgraph == sg.index}
                # The partitions `compat` and the Overview count (by data flow, as the runtime's
                # partitioner makes them), not runs in execution order.
                runs = report.subgraph_partitions(sg.index)
                partition_of = {op: k for k, run in enumerate(runs) for op in run}
                assert set(partition_of) == {i for i, v in verdicts.items() if v.supported}
                for node in graph.nodes:
                    if node.kind != OP:
                        continue
                    verdict = verdicts[node.op]
                    if verdict.supported:
                        k = partition_of[node.op]
                        assert paint.fill[node.id] == PARTITION_COLOURS[k % len(PARTITION_COLOURS)]
                        assert f"partition {k + 1} of {len(runs)}" in paint.tip[node.id]
                    else:
                        assert paint.fill[node.id] == REFUSED
                        assert verdict.reasons[0].text in paint.tip[node.id]


@needs_shared
def test_delegate_overlay_with_the_runtime_shows_the_interpreters_partitions():
    path = shared_model("gh-mlcommons-tiny/vww_96_int8.tflite")
    with read_model(path) as model, RuntimeWorker(timeout_s=120) as worker:
        report = analyze(model, "xnnpack")
        nodes = worker.default_delegate_nodes(str(path)).delegate_nodes
        runtime = compare_with_runtime(report, model.subgraphs[0], nodes)
        graph = build_graph(model.subgraphs[0])
        paint = delegate_paint(graph, report, runtime)
    assert runtime.groups and frozenset().union(*runtime.groups) == runtime.delegated
    for node in graph.nodes:
        if node.kind == OP:
            assert (paint.fill[node.id] != REFUSED) == (node.op in runtime.delegated)
    assert "interpreter" in paint.note


@needs_shared
def test_quantization_overlay_fills_by_output_dtype_and_marks_requantization():
    with read_model(shared_model("gh-google-lyra/lyragan.tflite")) as model:
        sg = model.subgraphs[0]
        graph = build_graph(sg)
        paint = quantization_paint(graph, sg)
        by_dtype: dict[str, set[str]] = {}
        for node in graph.nodes:
            if node.kind != OP:
                continue
            op = sg.operators[node.op]
            if op.outputs:  # ASSIGN_VARIABLE and CALL_ONCE have none
                by_dtype.setdefault(sg.tensors[op.outputs[0]].dtype, set()).add(paint.fill[node.id])
            assert (paint.border[node.id] == STRONG_BORDER) == (op.opcode in ("QUANTIZE", "DEQUANTIZE"))
        assert all(len(fills) == 1 for fills in by_dtype.values())  # one colour per dtype
        assert len({next(iter(f)) for f in by_dtype.values()}) == len(by_dtype)  # and distinct
    with read_model(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite")) as model:
        sg = model.subgraphs[0]
        graph = build_graph(sg)
        paint = quantization_paint(graph, sg)
        conv = next(n for n in graph.nodes if n.kind == OP and sg.operators[n.op].opcode == "CONV_2D")
        assert paint.badge[conv.id] == "per-ch" and "per channel" in paint.tip[conv.id]


@needs_shared
def test_cost_overlay_tips_are_the_stats_macs():
    with read_model(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite")) as model:
        stats = model_stats(model).subgraphs[0]
        graph = build_graph(model.subgraphs[0])
        paint = cost_paint(graph, model.subgraphs[0], stats)
        for op, macs in stats.macs_by_operator.items():
            assert f"{macs:,}" in paint.tip[graph.node_of_op(op)] or "MACs" in paint.tip[graph.node_of_op(op)]
        assert sum(1 for node in graph.nodes if node.kind == OP and paint.tip[node.id].endswith("subgraph")) \
            == sum(1 for m in stats.macs_by_operator.values() if m)


@needs_shared
def test_error_overlay_is_the_comparison_layer_by_layer():
    reference = read_model(shared_model("gh-mlcommons-tiny/vww_96_float.tflite"))
    candidate = read_model(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite"))
    with reference, candidate, RuntimeWorker(timeout_s=120) as worker:
        samples = prepare_samples([reference, candidate], [], random_count=2)[1]
        (result,) = compare_models(reference, [candidate], samples, worker).candidates
        graph = build_graph(reference.subgraphs[0])
        for metric in ("sqnr_db", "mean_squared_error"):
            paint = error_paint(graph, result, metric)
            plotted = {layer.op_index: layer for layer in result.layers if layer.is_plotted}
            for node in graph.nodes:
                if node.kind != OP:
                    continue
                layer = plotted.get(node.op)
                if layer is None:
                    assert "no matched tensor" in paint.tip[node.id]
                    continue
                value = getattr(layer.metrics, metric)
                assert format_metric(metric, value) in paint.tip[node.id]
            worst = {result.layers[i].op_index for i in result.worst_plotted(metric)}
            assert {n.id for n in graph.nodes if paint.border[n.id] == STRONG_BORDER} == worst
            # The colours order the layers: a better SQNR is never redder.
            if metric == "sqnr_db":
                scale = ["#f28e8e", "#f7b27a", "#f5d76e", "#c9e07a", "#8fd18f"]
                ranked = sorted((layer.metrics.sqnr_db, scale.index(paint.fill[op])) for op, layer in plotted.items()
                                if math.isfinite(layer.metrics.sqnr_db))
                assert [c for _, c in ranked] == sorted(c for _, c in ranked)


# -- the drawing -----------------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("relative", ["gh-mlcommons-tiny/vww_96_int8.tflite", "gh-google-lyra/lyragan.tflite"])
def test_svg_parses_and_holds_every_op(relative):
    with read_model(shared_model(relative)) as model:
        sg = model.subgraphs[0]
        graph = build_graph(sg)
        svg = graph_svg(graph, layered_layout(graph), sg, type_paint(graph, sg), title="t <&> t")
    root = ElementTree.fromstring(svg)
    boxes = [g for g in root.iter(f"{SVG}g") if g.find(f"{SVG}rect") is not None and g.find(f"{SVG}title") is not None]
    assert len(boxes) == len(graph.nodes)
    titles = [g.find(f"{SVG}title").text for g in boxes]
    for op in sg.operators:
        assert any(t.startswith(f"{op.opcode} #{op.index}") for t in titles)
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == len(graph.edges)
    for edge, line in zip(graph.edges, lines, strict=True):  # hovering an edge names its tensor
        tensor = sg.tensors[edge.tensor]
        assert line.find(f"{SVG}title").text.startswith(f"t{edge.tensor} {tensor.name}\n{tensor.dtype}")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tflite_inspector", "graph", *args],
                          capture_output=True, text=True, timeout=300)


@needs_shared
def test_cli_graph_writes_an_svg_and_never_replaces_a_file_unasked(tmp_path):
    out = tmp_path / "gpu.svg"
    model = shared_model("gh-google-lyra/lyragan.tflite")
    done = _cli(str(model), "-o", str(out), "--overlay", "delegate:gpu")
    assert done.returncode == 0, done.stderr
    assert "207 ops" in done.stdout and "laid out by dot" in done.stdout
    root = ElementTree.fromstring(out.read_text())
    assert "Delegate: GPU" in root.find(f"{SVG}title").text
    before = out.read_bytes()
    again = _cli(str(model), "-o", str(out))
    assert again.returncode == 2 and "exists" in again.stderr and out.read_bytes() == before
    assert _cli(str(model), "-o", str(out), "--overwrite", "--subgraph", "1").returncode == 0
    for args, said in (((str(model), "-o", str(tmp_path / "a.png")), "SVG"),
                       ((str(model), "-o", str(tmp_path / "b.svg"), "--subgraph", "7"), "no subgraph 7"),
                       ((str(model), "-o", str(tmp_path / "c.svg"), "--overlay", "error"), "no overlay"),
                       ((str(tmp_path / "missing.tflite"), "-o", str(tmp_path / "d.svg")), "cannot open")):
        done = _cli(*args)
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) <= 6  # argparse's usage and its error, or our one line
