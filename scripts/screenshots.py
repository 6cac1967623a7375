"""Render screenshots of the main views to PNG (Qt offscreen), for the README.

Usage: .venv/bin/python scripts/screenshots.py [OUTDIR]   (default docs/screenshots)
Uses models from ../shared/models, falling back to the bundled sample.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT.parent / "shared" / "models"
IMAGES = ROOT.parent / "shared" / "images"
SAMPLE = ROOT / "resources" / "samples" / "shapes_int8.tflite"


def wait(app, condition, seconds: float = 20) -> None:
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):  # let pending paints land
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from tflite_inspector.gui.main_window import MainWindow
    from tflite_inspector.gui.model_page.view import ModelView

    parser = argparse.ArgumentParser(description="Render the README's screenshots of the app (Qt offscreen).")
    parser.add_argument("outdir", nargs="?", type=Path, default=ROOT / "docs" / "screenshots",
                        help="where the PNG files go (default: docs/screenshots)")
    out = parser.parse_args().outdir
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    settings = QSettings(str(out / ".screenshots.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    window.resize(1500, 900)
    window.show()

    def open_model(path: Path) -> ModelView:
        window.open_paths([str(path)])
        wait(app, lambda: isinstance(window.tabs.currentWidget(), ModelView)
             and window.tabs.tabToolTip(window.tabs.currentIndex()) == str(path))
        return window.tabs.currentWidget()

    def pick(relative: str) -> Path:
        path = MODELS / relative
        return path if path.exists() else SAMPLE

    def delegates_analysed(view: ModelView) -> bool:
        infos = view.page.delegates
        return infos is not None and all(view.delegate_bar.state(info.key) is not None for info in infos)

    view = open_model(pick("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite"))
    view.select_operator(0)
    view.tabs.setCurrentIndex(0)
    wait(app, lambda: delegates_analysed(view))  # the overview's delegate summary is complete
    window.grab().save(str(out / "overview.png"))

    view = open_model(pick("gh-mlcommons-tiny/vww_96_int8.tflite"))
    sg = view.model.subgraphs[0]
    conv = [op for op in sg.operators if op.opcode == "CONV_2D"][3]
    view.select_tensor(conv.inputs[1])
    wait(app, lambda: view.detail.plots is not None and "std" in view.detail.stats_label.text())
    window.grab().save(str(out / "tensor_detail.png"))

    view = open_model(pick("gh-tensorflow-tflite-micro/dp_net.tflite"))
    view.filter_edit.setText("^fully_connected")
    view.select_operator(next(op.index for op in view.model.subgraphs[0].operators if op.opcode == "FULLY_CONNECTED"))
    wait(app, lambda: True)
    window.grab().save(str(out / "operators.png"))

    # The Operators page with XNNPACK chosen and checked against the interpreter: its
    # verdict per op, CPU fallbacks highlighted, the runtime's own answer beside it, and
    # the detail panel giving every reason with its source.
    view = open_model(pick("gh-tensorflow-tflite-micro/dp_net.tflite"))
    view.filter_edit.setText("")
    view.set_delegate("xnnpack")
    bar = view.delegate_bar
    wait(app, lambda: view.page.delegate_key == "xnnpack" and bar.runtime_button.isEnabled())
    bar.check_runtime()
    wait(app, lambda: bar.runtime_button.isEnabled(), seconds=120)  # a fresh interpreter process
    refused = [v.index for v in bar.state().report.subgraph_verdicts(0) if not v.supported]
    view.select_operator(refused[0])
    view.op_table.scrollTo(view.op_table.currentIndex(), view.op_table.ScrollHint.PositionAtTop)
    wait(app, lambda: True)
    window.grab().save(str(out / "delegates.png"))

    # The Compare page: vww's float model against its int8 version on the shared photos
    # (the bundled pair on random inputs without them), the worst layer by SQNR selected,
    # its values on one photo beside the layer table and its op in the detail panel.
    reference = MODELS / "gh-mlcommons-tiny" / "vww_96_float.tflite"
    candidate = reference.with_name("vww_96_int8.tflite")
    if not (reference.exists() and candidate.exists()):
        reference, candidate = SAMPLE.with_name("shapes_float.tflite"), SAMPLE
    window.resize(1600, 1000)  # the page holds a plot, a table and a tensor's plots at once
    view = open_model(reference)
    view.splitter.setSizes([1200, 400])
    page = view.show_compare()
    page.add_candidates([str(candidate)])
    if IMAGES.is_dir():
        page.add_inputs([str(IMAGES)])
    else:
        page.set_random_inputs(8)
    wait(app, page.run_button.isEnabled)
    page.run()
    wait(app, lambda: not page.running, seconds=120)  # a fresh interpreter process
    page.select_layer(page.page.candidate.worst_plotted(page.page.metric)[0])
    wait(app, lambda: "Reading" not in page.layers.tensor_info.text())
    window.grab().save(str(out / "compare.png"))
    window.resize(1366, 768)  # a laptop screen: the same page must stay usable
    wait(app, lambda: window.width() <= 1366)
    window.grab().save(str(out / "compare_1366.png"))
    window.resize(1600, 1000)
    graph_shots(app, window, view, page, open_model, pick, out)
    quantization_lab_shot(app, window, out)
    report_shot(reference, candidate, out)
    (out / ".screenshots.ini").unlink(missing_ok=True)
    print(f"wrote {sorted(p.name for p in out.glob('*.png'))} to {out}")


def graph_shots(app, window, view, compare, open_model, pick, out: Path) -> None:
    """The Graph page: the comparison's error per layer on the compared model (its worst layer
    selected); then movenet with XNNPACK's partitions and its quantization."""
    from tflite_inspector.gui.selection import Place

    graph = view.show_graph()
    wait(app, lambda: graph.scene is not None, seconds=60)
    graph.set_overlay("error")
    worst = compare.page.candidate.layers[compare.page.candidate.worst_plotted(compare.page.metric)[0]]
    view.go_to(Place.op(0, worst.op_index), switch_tab=False)
    graph.canvas.set_zoom(0.9)
    graph.show_place(view.page.selection.place)
    wait(app, lambda: True)
    window.grab().save(str(out / "graph_error.png"))

    view = open_model(pick("gh-google-coral-test_data/movenet_single_pose_lightning_ptq.tflite"))
    view.splitter.setSizes([1250, 350])
    graph = view.show_graph()
    wait(app, lambda: graph.scene is not None and view.page.delegates is not None, seconds=60)
    graph.set_overlay("delegate", "xnnpack")
    wait(app, lambda: "predicted" in graph.scene.paint.note, seconds=60)
    refused = next(n.id for n in graph.scene.graph.nodes if graph.scene.paint.fill[n.id] == "#f4a6a6")
    view.go_to(Place.op(0, refused), switch_tab=False)
    graph.canvas.set_zoom(0.75)
    graph.show_place(view.page.selection.place)
    wait(app, lambda: True)
    window.grab().save(str(out / "graph_delegate.png"))
    graph.set_overlay("quantization")
    graph.canvas.centerOn(graph.scene.node_rect(0).center())
    wait(app, lambda: True)
    window.grab().save(str(out / "graph_quantization.png"))


def quantization_lab_shot(app, window, out: Path) -> None:
    """The Quantization lab window: vww's float model in five modes, calibrated on the shared
    photos (random inputs without them), with a budget that rules most variants out."""
    from tflite_inspector.core.lab.settings import Budget

    source = MODELS / "gh-mlcommons-tiny" / "vww_96_float.tflite"
    if not source.exists():
        source = SAMPLE.with_name("shapes_float.tflite")
    lab = window.open_quantization_lab(str(source))
    lab.resize(1200, 800)
    for key, check in lab.setup.mode_checks.items():
        if check.isEnabled():
            check.setChecked(key in ("float16", "dynamic", "weight-int8", "int8", "int16x8"))
    if IMAGES.is_dir():
        lab.add_calibration([str(IMAGES)])
    else:
        lab.set_random_inputs(100)
    with tempfile.TemporaryDirectory() as folder:
        lab.set_output_dir(os.path.join(folder, f"{source.stem}_variants"))
        lab.run()
        wait(app, lambda: not lab.running, seconds=300)  # fresh interpreter and converter processes
        lab.set_budget(Budget(max_size_bytes=300_000, min_top1_agreement=0.95, whole_model_delegate="xnnpack"))
        wait(app, lambda: True)
        lab.grab().save(str(out / "quantize.png"))
        lab.close()


def report_shot(reference: Path, candidate: Path, out: Path) -> None:
    """The HTML report's comparison section, as headless Chromium (Debian's) shows it; skipped,
    saying why, without the browser or playwright (a dev dependency)."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("report.png not made: playwright is not installed (pip install -e '.[dev]')")
        return
    if not chromium.exists():
        print("report.png not made: no /usr/bin/chromium (apt-get install chromium)")
        return
    from tflite_inspector.core.comparison.run import ComparisonRequest
    from tflite_inspector.core.report.build import ReportRequest, build_report
    from tflite_inspector.core.runtime.interpreter import RuntimeWorker

    inputs = (str(IMAGES),) if IMAGES.is_dir() else ()
    comparison = ComparisonRequest(str(reference), (str(candidate),), inputs, random_count=0 if inputs else 8, limit=6)
    with RuntimeWorker() as worker:
        page_html = build_report(ReportRequest(str(reference), comparison=comparison), worker)
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.html"
        report.write_text(page_html, encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(report.as_uri())
            page.locator("#comparison").screenshot(path=str(out / "report.png"))
            browser.close()


if __name__ == "__main__":
    main()
