"""The Graph page (pytest-qt, real widgets offscreen, real models): the graph shares the page's
selection both ways, follows the filter, steps to producers and consumers, opens control-flow
subgraphs, shows each overlay with the engine's own results, exports, and can be cancelled.
What the graph holds (nodes, edges, layout, overlay colours) is tested in tests/test_graph.py."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from tflite_inspector.core.graph.overlays import PARTITION_COLOURS, REFUSED
from tflite_inspector.core.graph.structure import OP
from tflite_inspector.gui.model_page.view import GRAPH_TAB, OPERATORS_TAB
from tflite_inspector.gui.selection import Place
from tflite_inspector.gui.widgets.tables import INDEX_ROLE

from ..conftest import IMAGES, needs_shared, shared_model
from .conftest import open_and_wait

LAYOUT_TIMEOUT_MS = 60_000
VWW_FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
VWW_INT8 = "gh-mlcommons-tiny/vww_96_int8.tflite"
LYRAGAN = "gh-google-lyra/lyragan.tflite"  # subgraph 0 starts with a CALL_ONCE of subgraph 1
OCR_WHILE = "gh-tulasiram58827-ocr_tflite/ocr_dr.tflite"  # subgraph 0 has four WHILE loops
DP_NET = "gh-tensorflow-tflite-micro/dp_net.tflite"


def graph_of(qtbot, window, relative):
    view = open_and_wait(qtbot, window, shared_model(relative))
    graph = view.show_graph()
    qtbot.waitUntil(lambda: graph.scene is not None, timeout=LAYOUT_TIMEOUT_MS)
    return view, graph


def click_node(qtbot, graph, node_id, double=False):
    """A real mouse click on the node's box, where the canvas shows it."""
    graph.canvas.centerOn(graph.scene.node_rect(node_id).center())
    point = graph.canvas.mapFromScene(graph.scene.node_rect(node_id).center())
    if double:
        QTest.mouseDClick(graph.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    else:
        QTest.mouseClick(graph.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)


@needs_shared
def test_one_selection_between_the_graph_the_tables_and_the_detail_panel(qtbot, window):
    view, graph = graph_of(qtbot, window, VWW_INT8)
    scene = graph.scene
    assert sum(1 for n in scene.graph.nodes if n.kind == OP) == len(view.model.subgraphs[0].operators)
    # Clicking a box selects its op: the table's current row and the detail panel follow; the
    # Graph tab stays in front.
    click_node(qtbot, graph, 7)
    assert view.page.selection.place == Place.op(0, 7)
    assert view.op_table.currentIndex().data(INDEX_ROLE) == 7
    opcode = view.model.subgraphs[0].operators[7].opcode
    assert f"{opcode} #7" in view.detail.info.toPlainText()
    assert view.tabs.currentIndex() == GRAPH_TAB
    # Selected anywhere else (the table): outlined and centred on the graph.
    view.tabs.setCurrentIndex(OPERATORS_TAB)
    view.select_operator(20)
    view.tabs.setCurrentIndex(GRAPH_TAB)
    assert not scene._selected.path().isEmpty()
    assert scene._selected.path().boundingRect().contains(scene.node_rect(20).center())
    centre = graph.canvas.mapToScene(graph.canvas.viewport().rect().center())
    assert abs(centre.y() - scene.node_rect(20).center().y()) < graph.canvas.viewport().height()
    # With the graph in front, a detail panel link is followed there, not in the table's tab.
    view.follow_link("op:3")
    assert view.tabs.currentIndex() == GRAPH_TAB and view.op_table.currentIndex().data(INDEX_ROLE) == 3
    assert scene._selected.path().boundingRect().contains(scene.node_rect(3).center())
    view.back()
    # Back and Forward move the outline too.
    view.back()
    assert scene._selected.path().boundingRect().contains(scene.node_rect(7).center())
    # Up and Down: to the producer and to the consumer.
    graph.canvas.setFocus()
    QTest.keyClick(graph.canvas, Qt.Key.Key_Up)
    producer = next(e.source for e in scene.graph.edges if e.target == 7)
    assert view.page.selection.place == Place.op(0, producer)
    QTest.keyClick(graph.canvas, Qt.Key.Key_Down)
    assert view.page.selection.place == Place.op(0, 7)
    # A tensor selected elsewhere outlines its producer and readers.
    tensor = view.model.subgraphs[0].operators[7].outputs[0]
    view.go_to(Place.tensor(0, tensor), switch_tab=False)
    outlined = scene._selected.path().boundingRect()
    assert all(outlined.contains(scene.node_rect(n).center()) for n in scene.graph.nodes_of_tensor(tensor))


@needs_shared
def test_hovering_an_edge_names_its_tensor(qtbot, window):
    view, graph = graph_of(qtbot, window, VWW_INT8)
    scene = graph.scene
    sg = view.model.subgraphs[0]
    for k, route in enumerate(scene.layout.edges):
        (x0, y0), (x1, y1) = route[0], route[1]
        found = scene.edge_at(QPointF((x0 + x1) / 2, (y0 + y1) / 2), 3)
        assert found is not None and scene.graph.edges[found].tensor == scene.graph.edges[k].tensor
        assert graph._edge_tooltip(found).startswith(f"t{scene.graph.edges[k].tensor} {sg.tensors[scene.graph.edges[k].tensor].name}")
    far = scene.node_rect(0).topLeft() - QPointF(200, 0)
    assert scene.edge_at(far, 3) is None


@needs_shared
def test_the_filter_outlines_its_matches(qtbot, window):
    view, graph = graph_of(qtbot, window, VWW_INT8)
    view.filter_edit.setText("depthwise")
    expected = view.op_proxy.matching_indices()
    assert expected and graph.page.highlight == expected
    assert graph.scene._matches.path().elementCount() == 5 * len(expected)  # one closed rectangle each
    view.filter_edit.clear()
    assert graph.page.highlight is None and graph.scene._matches.path().isEmpty()


@needs_shared
def test_a_control_flow_op_opens_its_subgraph(qtbot, window):
    view, graph = graph_of(qtbot, window, LYRAGAN)
    call_once = next(n.id for n in graph.scene.graph.nodes
                     if n.kind == OP and view.model.subgraphs[0].operators[n.op].opcode == "CALL_ONCE")
    click_node(qtbot, graph, call_once, double=True)
    assert view.page.subgraph_index == 1 and view.tabs.currentIndex() == GRAPH_TAB
    qtbot.waitUntil(lambda: graph.scene is not None and graph.scene.graph.subgraph == 1, timeout=LAYOUT_TIMEOUT_MS)
    assert view.subgraph_combo.currentIndex() == 1
    # Each subgraph's layout is kept: going back shows it again without laying it out.
    view.go_to(Place.subgraph_of(0), switch_tab=False)
    assert graph.scene.graph.subgraph == 0 and not graph.runs.running


@needs_shared
def test_overlays_show_the_delegate_reports_and_the_comparison(qtbot, window):
    view, graph = graph_of(qtbot, window, VWW_FLOAT)
    qtbot.waitUntil(lambda: view.page.delegates is not None, timeout=LAYOUT_TIMEOUT_MS)
    graph.set_overlay("delegate", "edgetpu")
    key = view.page.analysis_key(view.page.info("edgetpu"))
    qtbot.waitUntil(lambda: view.reports.state(key) is not None and "predicted by the rules" in graph.scene.paint.note,
                    timeout=LAYOUT_TIMEOUT_MS)
    report = view.reports.state(key).report
    for node in graph.scene.graph.nodes:
        if node.kind == OP:
            verdict = report.ops[node.op]
            assert (graph.scene.paint.fill[node.id] == REFUSED) == (not verdict.supported)
    assert "Delegate: Edge TPU" in graph.legend.text()
    graph.set_overlay("delegate", "xnnpack")
    qtbot.waitUntil(lambda: graph.scene.paint.title == "Delegate: XNNPACK" and "predicted" in graph.scene.paint.note,
                    timeout=LAYOUT_TIMEOUT_MS)
    assert PARTITION_COLOURS[0] in graph.scene.paint.fill

    # Error: nothing to show before a comparison, then the Compare page's candidate and metric.
    graph.set_overlay("error")
    assert "Run a comparison" in graph.scene.paint.note
    compare = view.show_compare()
    compare.add_candidates([str(shared_model(VWW_INT8)), str(shared_model(VWW_FLOAT))])
    compare.add_inputs([str(p) for p in sorted(IMAGES.glob("*.bmp"))[:2]])
    qtbot.waitUntil(compare.run_button.isEnabled, timeout=LAYOUT_TIMEOUT_MS)
    compare.run()
    qtbot.waitUntil(lambda: not compare.running, timeout=LAYOUT_TIMEOUT_MS)
    assert graph.scene.paint.title.startswith("Error: SQNR (dB) of vww_96_int8.tflite")
    candidate = compare.page.shown[compare.page.candidate_index]
    worst = candidate.worst_plotted(compare.page.metric)
    assert worst and all(graph.scene.paint.border[candidate.layers[i].op_index] != "#555555" for i in worst)
    # Switching candidate or metric on the Compare page switches the colours.
    exact = next(i for i, c in enumerate(compare.page.shown) if c.path.endswith("vww_96_float.tflite"))
    compare.page.choose_candidate(exact)
    assert graph.scene.paint.title == "Error: SQNR (dB) of vww_96_float.tflite"
    ops = [n.id for n in graph.scene.graph.nodes if n.kind == OP]
    assert {graph.scene.paint.fill[n] for n in ops if "SQNR" in graph.scene.paint.tip[n]} == {"#8fd18f"}  # exact
    compare.page.set_metric("mean_squared_error")
    assert graph.scene.paint.title == "Error: MSE of vww_96_float.tflite"


@needs_shared
def test_export_writes_svg_and_png(qtbot, window, tmp_path):
    view, graph = graph_of(qtbot, window, VWW_INT8)
    graph.set_overlay("quantization")
    svg, png = tmp_path / "g.svg", tmp_path / "g.png"
    assert graph.export(str(svg)) and graph.export(str(png))
    root = ElementTree.fromstring(svg.read_text())
    assert "Quantization" in root.find("{http://www.w3.org/2000/svg}title").text
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    before = svg.read_bytes()
    assert not graph.export(str(svg)) and svg.read_bytes() == before  # not replaced unasked
    assert "exists" in graph.errors[-1]


@needs_shared
def test_cancel_during_a_layout_leaves_the_page_usable(qtbot, window):
    view = open_and_wait(qtbot, window, shared_model(DP_NET))
    graph = view.show_graph()
    qtbot.waitUntil(lambda: "Laying out 2,338 ops" in graph.run_bar.status.text(), timeout=LAYOUT_TIMEOUT_MS)
    graph.run_bar.cancel_button.click()
    qtbot.waitUntil(lambda: not graph.runs.running, timeout=LAYOUT_TIMEOUT_MS)
    assert graph.scene is None and "Layout cancelled" in graph.run_bar.status.text()
    assert graph.run_bar.run_button.isEnabled()
    # The rest of the page works meanwhile and after.
    view.select_operator(100)
    assert view.op_table.currentIndex().data(INDEX_ROLE) == 100 and view.tabs.currentIndex() == GRAPH_TAB
    graph.run_bar.run_button.click()
    qtbot.waitUntil(lambda: graph.scene is not None, timeout=LAYOUT_TIMEOUT_MS)
    assert graph.scene.layout.engine == "igraph" and "laid out by igraph" in graph.run_bar.status.text()
    assert graph.scene._selected.path().boundingRect().contains(graph.scene.node_rect(100).center())


@needs_shared
def test_a_while_opens_its_body_and_offers_its_condition(qtbot, window):
    view, graph = graph_of(qtbot, window, OCR_WHILE)
    sg = view.model.subgraphs[0]
    node = next(n.id for n in graph.scene.graph.nodes if n.kind == OP and sg.operators[n.op].opcode == "WHILE")
    refs = sg.operators[graph.scene.graph.nodes[node].op].subgraph_refs
    assert graph.called_subgraphs(node) == [("body", refs["body_subgraph_index"]), ("cond", refs["cond_subgraph_index"])]
    assert graph.called_subgraphs(graph.scene.graph.node_of_op(0)) == []  # not a control-flow op
    click_node(qtbot, graph, node, double=True)
    assert view.page.subgraph_index == refs["body_subgraph_index"] and view.tabs.currentIndex() == GRAPH_TAB
    qtbot.waitUntil(lambda: graph.scene is not None and graph.scene.graph.subgraph == refs["body_subgraph_index"],
                    timeout=LAYOUT_TIMEOUT_MS)
