"""The Graph page's speed: first showing, frame times when panning and zooming, and Netron on the
same models in the same run.

For each model, in a fresh process each time (the app as a user starts it: the first Graph page
pays for importing the layout libraries and, for large graphs, starting the layout worker):
- shown: from asking for the Graph tab to the graph drawn and answering input (layout, scene,
  first paint), median of --repeat;
- frames: the time to repaint the canvas after a pan, at fit-to-window and at 100%, median of 30
  frames (the target is 33 ms), on Qt's offscreen platform, and on a real X server when --xvfb
  is given (Xvfb started here).
Netron (the reference): its own server (netron.main, as its `netron MODEL` command) loaded in headless Chromium
(Debian's, through Playwright), timed from navigation to every op's box drawn. Netron is not a
dependency: install it into any Python (`python -m venv /tmp/netron && /tmp/netron/bin/pip install
netron`) and pass that interpreter as --netron-python.

Models: vww_96_int8 (31 ops), mobilenet_v2_1.0_224_quant (66), dp_net (2,338), parallel_wavegan
(1,874), and two synthetic 20,000-op models built here: a chain, and a residual stack (every
fourth op adds a skip connection), which is the harder layout.

Usage: .venv/bin/python benchmarks/bench_graph.py [--repeat N] [--xvfb] [--netron-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_inspect import CACHE, SHARED_MODELS, build_many_ops_model  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


def build_residual_model(path: Path, blocks: int) -> Path:
    """`blocks` residual blocks of four ops: ADD(x, c) → MUL(·, c) → SUB(·, c) → ADD(·, x)."""
    if path.exists():
        return path
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as s

    model = s.ModelT()
    model.version = 3
    model.description = f"synthetic residual stack of {blocks} blocks"
    codes = []
    for builtin in (s.BuiltinOperator.ADD, s.BuiltinOperator.MUL, s.BuiltinOperator.SUB):
        code = s.OperatorCodeT()
        code.builtinCode = code.deprecatedBuiltinCode = builtin
        code.version = 1
        codes.append(code)
    model.operatorCodes = codes
    const = s.BufferT()
    const.data = np.frombuffer(np.float32(0.5).tobytes(), dtype=np.uint8)
    model.buffers = [s.BufferT(), const]
    sg = s.SubGraphT()
    tensors = []

    def tensor(name: str, buffer: int = 0) -> int:
        t = s.TensorT()
        t.name = name
        t.shape = np.array([1] if buffer else [1, 16], dtype=np.int32)
        t.type = s.TensorType.FLOAT32
        t.buffer = buffer
        tensors.append(t)
        return len(tensors) - 1

    c = tensor("c", 1)
    ops = []

    def op(code: int, inputs: list[int], output: int) -> None:
        o = s.OperatorT()
        o.opcodeIndex = code
        o.inputs = np.array(inputs, dtype=np.int32)
        o.outputs = np.array([output], dtype=np.int32)
        ops.append(o)

    x = first = tensor("x0")
    for b in range(blocks):
        a, m, d, y = (tensor(f"b{b}_{k}") for k in "amdy")
        op(0, [x, c], a)
        op(1, [a, c], m)
        op(2, [m, c], d)
        op(0, [d, x], y)
        x = y
    sg.tensors, sg.operators = tensors, ops
    sg.inputs = np.array([first], dtype=np.int32)
    sg.outputs = np.array([x], dtype=np.int32)
    model.subgraphs = [sg]
    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(builder.Output())
    return path


def models() -> list[tuple[str, Path]]:
    return [
        ("vww_96_int8 (31 ops)", SHARED_MODELS / "gh-mlcommons-tiny" / "vww_96_int8.tflite"),
        ("mobilenet_v2 quant (66 ops)", SHARED_MODELS / "gh-google-coral-test_data" / "mobilenet_v2_1.0_224_quant.tflite"),
        ("parallel_wavegan (1,874 ops)", SHARED_MODELS / "gh-tulasiram58827-TTS_TFLite" / "parallel_wavegan_float16.tflite"),
        ("dp_net (2,338 ops)", SHARED_MODELS / "gh-tensorflow-tflite-micro" / "dp_net.tflite"),
        ("chain (20,000 ops)", build_many_ops_model(CACHE / "chain_20000_add.tflite", 20_000)),
        ("residual (20,000 ops)", build_residual_model(CACHE / "residual_5000_blocks.tflite", 5_000)),
    ]


# -- one measurement, in a fresh process ---------------------------------------------------------


def child(model_path: str) -> None:
    """Open the model's page, show its Graph tab, and print what it took as one JSON line."""
    from PySide6.QtWidgets import QApplication

    from tflite_inspector.gui.model_page.loading import load_for_display
    from tflite_inspector.gui.model_page.view import ModelView

    app = QApplication([])
    view = ModelView(load_for_display(model_path))
    view.resize(1500, 900)
    view.show()
    app.processEvents()
    start = time.perf_counter()
    graph = view.show_graph()
    while graph.scene is None:
        if not graph.runs.running and graph.page.problems:
            raise SystemExit(f"layout failed: {graph.page.problems}")
        app.processEvents()
        time.sleep(0.001)
    graph.canvas.viewport().repaint()  # the first paint: the graph is on screen and answers input
    app.processEvents()
    shown = time.perf_counter() - start
    layout = graph.scene.layout

    def frames(zoom: float | None) -> float:
        canvas = graph.canvas
        canvas.fit() if zoom is None else canvas.set_zoom(zoom)
        canvas.centerOn(graph.scene.node_rect(0).center())
        times = []
        for k in range(30):
            bar = canvas.verticalScrollBar() if k % 2 else canvas.horizontalScrollBar()
            bar.setValue(bar.value() + (15 if k % 4 < 2 else -15))
            begin = time.perf_counter()
            canvas.viewport().repaint()
            times.append(time.perf_counter() - begin)
        return statistics.median(times)

    print(json.dumps({"shown_s": shown, "layout_s": layout.seconds, "engine": layout.engine,
                      "fit_frame_ms": frames(None) * 1e3, "actual_frame_ms": frames(1.0) * 1e3,
                      "nodes": len(graph.scene.graph.nodes), "platform": QApplication.platformName()}))
    view.close_model()


def measure(model_path: Path, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", str(model_path)], capture_output=True, text=True,
                          env=env, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{model_path.name}: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(lines[-1])


# -- Netron ----------------------------------------------------------------------------------------


def netron_seconds(python: str, model_path: Path, ops: int, home: Path) -> float | None:
    """Navigation to every op's box drawn, in Netron served by its own server; None past 120 s."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    # netron has no __main__: its console script calls netron.main().
    server = subprocess.Popen([python, "-c", "import sys, netron; sys.argv[0] = 'netron'; sys.exit(netron.main())",
                               str(model_path), "--port", str(port), "--host", "localhost"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("localhost", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run"], env={**os.environ, "HOME": str(home)})
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            start = time.perf_counter()
            page.goto(f"http://localhost:{port}/")
            # Netron first asks to accept its cookies (as it does a new user); it replaces
            # window.eval, so the page is watched through locators, not evaluated scripts.
            page.get_by_text("Accept").click(timeout=60_000)
            boxes = page.locator("g.graph-node")
            while boxes.count() < ops:
                if time.perf_counter() - start > 120:
                    return None
                time.sleep(0.05)
            seconds = time.perf_counter() - start
            browser.close()
            return seconds
    finally:
        server.kill()
        server.wait()


# -- the report ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--xvfb", action="store_true", help="also measure frames on a real X server (Xvfb)")
    parser.add_argument("--netron-python", default="", help="a Python with netron installed, for the reference")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from tflite_inspector.core.reading.reader import read_model

    offscreen = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    offscreen["QT_QPA_PLATFORM"] = "offscreen"
    xvfb = None
    if args.xvfb:
        if shutil.which("Xvfb") is None:
            print("--xvfb: no Xvfb here (Debian: apt-get install xvfb); frames offscreen only")
        else:
            xvfb = subprocess.Popen(["Xvfb", ":93", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.5)
    try:
        netron_ok = bool(args.netron_python) and CHROMIUM.exists()
        print(f"Graph page first shown (fresh process, median of {args.repeat}); frames: repaint after a pan, "
              f"median of 30; Netron: navigation to every op drawn, same run")
        header = f"{'model':30s} {'engine':>6s} {'layout s':>8s} {'shown s':>8s} {'fit ms':>7s} {'100% ms':>8s}"
        if xvfb:
            header += f" {'X fit ms':>8s} {'X 100% ms':>9s}"
        if netron_ok:
            header += f" {'Netron s':>9s} {'Netron/ours':>11s}"
        print(header)
        for name, path in models():
            if not path.exists():
                print(f"{name:30s} missing: {path}")
                continue
            runs = [measure(path, offscreen) for _ in range(args.repeat)]
            shown = statistics.median(r["shown_s"] for r in runs)
            row = (f"{name:30s} {runs[0]['engine']:>6s} {statistics.median(r['layout_s'] for r in runs):8.2f} "
                   f"{shown:8.2f} {statistics.median(r['fit_frame_ms'] for r in runs):7.1f} "
                   f"{statistics.median(r['actual_frame_ms'] for r in runs):8.1f}")
            if xvfb:
                x = measure(path, {**offscreen, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":93"})
                row += f" {x['fit_frame_ms']:8.1f} {x['actual_frame_ms']:9.1f}"
            if netron_ok:
                with read_model(path) as model:
                    ops = len(model.subgraphs[0].operators)
                home = CACHE / "netron-browser"
                home.mkdir(parents=True, exist_ok=True)
                seconds = netron_seconds(args.netron_python, path, ops, home)
                row += f" {seconds:9.2f} {seconds / shown:11.1f}" if seconds is not None else f" {'>120':>9s}"
            print(row, flush=True)
    finally:
        if xvfb is not None:
            xvfb.kill()


if __name__ == "__main__":
    main()
