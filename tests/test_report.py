"""The HTML report: contents from real models, the comparison and the lab's table, escaping of
hostile model strings, size on the largest op-heavy model, the CLI, and the page in a real
headless Chromium (no console errors, no network requests, a screenshot)."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import flatbuffers
import numpy as np
import pytest

from tflite_inspector.core.comparison.run import ComparisonRequest
from tflite_inspector.core.errors import FileExists, ModelError
from tflite_inspector.core.lab.results import lab_result_from_dict
from tflite_inspector.core.report import sections as report_sections
from tflite_inspector.core.report.build import (
    CONTENT_SECURITY_POLICY,
    ReportRequest,
    build_report,
    write_report,
)
from tflite_inspector.core.runtime.interpreter import RuntimeWorker
from tflite_inspector.core.tasks import Cancelled
from tflite_inspector.main import main

from .browser import needs_browser, visit_file
from .conftest import IMAGES, SAMPLES, needs_shared, shared_model
from .graph_builder import GraphBuilder

VWW_FLOAT = "gh-mlcommons-tiny/vww_96_float.tflite"
VWW_INT8 = "gh-mlcommons-tiny/vww_96_int8.tflite"
DP_NET = "gh-tensorflow-tflite-micro/dp_net.tflite"
MAX_REPORT_BYTES = 5_000_000  # the limit for dp_net

SCRIPT = "<script>alert('tensor')</script>"
IMG = '"><img src=x onerror=alert(1)>'


def _metadata_flatbuffer(name: str, description: str, author: str, license_: str) -> bytes:
    """A TFLite metadata table (metadata_schema.fbs, "M001"): name, description, author, license."""
    b = flatbuffers.Builder(256)
    strings = [b.CreateString(v) for v in (name, description, author, license_)]
    b.StartObject(8)
    for slot, offset in zip((0, 1, 4, 5), strings):
        b.PrependUOffsetTRelativeSlot(slot, offset, 0)
    b.Finish(b.EndObject(), file_identifier=b"M001")
    return bytes(b.Output())


def hostile_model(path: Path) -> Path:
    """A real model (ADD and a custom op) whose every user-visible string is markup."""
    b = GraphBuilder()
    x = b.tensor(SCRIPT, [1, 4], scale=0.5, zero_point=3, dtype="INT8")
    w = b.constant(IMG, np.arange(4, dtype=np.int8).reshape(1, 4), dtype="INT8", scale=[0.1], zero_point=[0])
    y = b.tensor("y</td><td>broken", [1, 4], scale=0.5, zero_point=3, dtype="INT8")
    b.op("ADD", [x, w], [y])
    z = b.tensor("z", [1, 4], scale=0.5, zero_point=3, dtype="INT8")
    b.op("<b>Custom</b>", [y], [z])
    b.description = IMG
    b.metadata("TFLITE_METADATA", _metadata_flatbuffer(SCRIPT, IMG, IMG, SCRIPT))
    b.signature(IMG, inputs={SCRIPT: x}, outputs={IMG: z})
    path.write_bytes(b.build())
    return path


def test_every_model_string_is_escaped(tmp_path):
    source = hostile_model(tmp_path / "hostile.tflite")
    page = build_report(ReportRequest(str(source)))
    # No markup from the model: only its escaped text (&lt;img … onerror=…&gt; is harmless text).
    assert "<script" not in page.lower() and "<img src=x" not in page and "<b>Custom" not in page
    assert "</td><td>broken" not in page and '"><img' not in page
    # Each string is there, as text: the tensor names, the metadata, the signature, the custom op.
    assert html.escape(SCRIPT, quote=False) in page.replace("&#39;", "'")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;Custom&lt;/b&gt;" in page
    assert f'content="{CONTENT_SECURITY_POLICY}"' in page.replace("&#39;", "'")


@needs_browser
def test_hostile_strings_are_text_in_the_browser(tmp_path):
    source = hostile_model(tmp_path / "hostile.tflite")
    report = tmp_path / "hostile.html"
    write_report(build_report(ReportRequest(str(source))), str(report))
    visit = visit_file(report, tmp_path / "hostile.png", home=tmp_path / "browser-home")
    assert visit.console_errors == [] and visit.page_errors == [] and visit.requests == []
    assert SCRIPT in visit.text and "onerror=alert(1)>" in visit.text and "<b>Custom</b>" in visit.text
    assert "<script" not in visit.html.split("</head>", 1)[1].lower()  # no element made from a model string
    assert not re.search(r"<img[^>]*onerror", visit.html)


@needs_shared
def test_report_of_a_float_model_has_every_section(tmp_path):
    page = build_report(ReportRequest(str(shared_model(VWW_FLOAT))))
    for heading in ("Overview", "Signatures and inputs/outputs", "Delegate compatibility", "Ops of subgraph 0",
                    "Quantization of subgraph 0"):
        assert f">{heading}" in page, heading
    # Numbers as the app and `inspect` give them: 31 ops, 89 tensors, 866,284 bytes.
    assert "866,284 bytes" in page and ">31</td>" in page and ">89</td>" in page
    for title in ("GPU", "XNNPACK", "NNAPI", "Edge TPU", "Hexagon", "Core ML"):
        assert f">{title}</a>" in page, title
    # Edge TPU refuses every op of a float model, with the reason and where the rule comes from.
    assert "Edge TPU: 31 op(s) stay on the CPU" in page and "coral.ai" in page
    assert "No quantized tensors: a float model." in page
    assert "<script" not in page.lower() and "http-equiv=\"Content-Security-Policy\"" in page


@needs_shared
def test_per_channel_quantization_is_listed_with_its_axis():
    page = build_report(ReportRequest(str(shared_model(VWW_INT8)), delegates=("xnnpack",)))
    assert "per channel (" in page and re.search(r"<td class=\"num\">[0-3]</td>", page)
    assert "quantized tensors" in page and "Granularity" in page


@needs_shared
def test_blockwise_quantization_names_its_block_and_scales_tensor():
    page = build_report(ReportRequest(str(shared_model("gh-google-ai-edge-LiteRT/qwen_fc_blockwise_quantized.tflite")),
                                      delegates=("xnnpack",)))
    assert "blockwise(block 32, scales in t3)" in page


@needs_shared
def test_dp_net_report_is_small_and_its_op_table_starts_collapsed(tmp_path):
    page = build_report(ReportRequest(str(shared_model(DP_NET))))
    size = len(page.encode("utf-8"))
    assert size < MAX_REPORT_BYTES, size
    assert "2,338 ops" in page and "<details>\n<summary>2,338 ops" in page
    assert page.count('<tr><td class="num">') >= 2338


@needs_shared
def test_comparison_and_lab_table(tmp_path):
    reference, candidate = shared_model(VWW_FLOAT), shared_model(VWW_INT8)
    lab = {
        "source": str(reference), "preprocessing": "normalization [0, 1]", "calibration": {"description": "photos"},
        "evaluation": {"description": "photos"}, "random_inputs": False, "warnings": ["only 20 calibration inputs"],
        "recommendation": "int8", "recommendation_reason": "the smallest error of the variants that fit",
        "variants": [
            {"mode": "float32", "title": "float32 (source)", "reference": True, "size_bytes": 866284,
             "size_ratio": 1.0, "latency_ms": {"median": 0.1, "p90": 0.11}, "top1_agreement": 1.0,
             "output_sqnr_db": None, "delegates": {"gpu": {"ops_supported": 31, "ops_total": 31}}},
            {"mode": "int8", "title": "full-integer int8", "size_bytes": 309928, "size_ratio": 0.36,
             "latency_ms": {"median": 0.066, "p90": 0.069}, "top1_agreement": 1.0, "output_sqnr_db": 27.9,
             "worst_layer": {"op": "CONV_2D", "op_index": 22, "sqnr_db": 8.5}, "fits_budget": True,
             "delegates": {"gpu": {"ops_supported": 31, "ops_total": 31}}},
            {"mode": "int16x8", "title": "int16x8", "size_bytes": 320880, "fits_budget": False,
             "ruled_out": ["xnnpack takes 0/31 ops"], "delegates": {}},
        ],
    }
    request = ReportRequest(str(reference), delegates=("xnnpack",), lab=lab_result_from_dict(lab),
                            comparison=ComparisonRequest(str(reference), (str(candidate),), (str(IMAGES),), limit=6))
    steps = []
    with RuntimeWorker() as worker:
        page = build_report(request, worker, progress=lambda done, total, message: steps.append((done, total)))
    assert steps[-1][0] == steps[-1][1] and [d for d, _ in steps] == sorted(d for d, _ in steps)
    assert "SQNR per layer" in page and "<polyline" in page and page.count("<circle") == 5
    assert "vww_96_int8.tflite" in page and "Top-1 agreement" in page and "same top-1" in page
    assert page.count("data:image/jpeg;base64,") == 6  # a thumbnail per input
    assert ">Quantization lab<" in page and "★ full-integer int8" in page and "xnnpack takes 0/31 ops" in page
    assert "309,928" in page and "only 20 calibration inputs" in page


def test_cancel_and_bad_input(tmp_path):
    sample = str(SAMPLES / "shapes_int8.tflite")
    with pytest.raises(Cancelled):
        build_report(ReportRequest(sample), cancelled=lambda: True)
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"TFL3" + b"\xff" * 40)
    with pytest.raises(ModelError):
        build_report(ReportRequest(str(broken)))
    out = tmp_path / "r.html"
    out.write_text("mine")
    with pytest.raises(FileExists):
        write_report("<html></html>", str(out))
    assert out.read_text() == "mine"
    write_report("<html></html>", str(out), overwrite=True)
    assert out.read_text() == "<html></html>"


def test_cli_writes_once_and_reports_errors_in_one_line(tmp_path, capsys):
    sample = str(SAMPLES / "shapes_int8.tflite")
    out = tmp_path / "sample.html"
    assert main(["report", sample, "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out and out.stat().st_size > 10_000
    first = out.read_bytes()
    assert main(["report", sample, "-o", str(out)]) == 2
    assert "exists; not replaced" in capsys.readouterr().err and out.read_bytes() == first
    assert main(["report", sample, "-o", str(out), "--overwrite", "--delegates", "gpu"]) == 0
    capsys.readouterr()
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(os.urandom(64))
    assert main(["report", str(broken), "-o", str(tmp_path / "b.html")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and not (tmp_path / "b.html").exists()
    bad_lab = tmp_path / "lab.json"
    bad_lab.write_text(json.dumps({"variants": "no"}))
    assert main(["report", sample, "-o", str(tmp_path / "c.html"), "--lab", str(bad_lab)]) == 2
    assert "not quantization lab results" in capsys.readouterr().err
    assert main(["report", sample, "-o", str(tmp_path / "d.html"), "--compare", sample]) == 2
    assert "--compare needs inputs" in capsys.readouterr().err
    assert main(["report", sample, "-o", str(tmp_path / "missing" / "e.html")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_edited_lab_results_and_undecodable_names_still_give_a_page(tmp_path, capsys):
    """Lab results edited by hand (fields of the wrong type) and a file name that is not UTF-8."""
    sample = SAMPLES / "shapes_int8.tflite"
    odd = tmp_path / os.fsdecode(b"bad\xffname.tflite")  # a lone surrogate in the str
    odd.write_bytes(sample.read_bytes())
    lab = tmp_path / "lab.json"
    lab.write_text(json.dumps({
        "variants": [{"mode": 3, "ruled_out": 5, "latency_ms": "fast", "delegates": [1]},
                     {"mode": "int8", "title": "full-integer int8", "size_bytes": 1000, "latency_error": "boom"}],
        "calibration": "x", "evaluation": [1], "warnings": "abc", "recommendation": None,
    }))
    out = tmp_path / "odd.html"
    assert main(["report", str(odd), "-o", str(out), "--lab", str(lab), "--delegates", "xnnpack"]) == 0, \
        capsys.readouterr().err
    page = out.read_text(encoding="utf-8")
    assert "bad?name.tflite" in page and "full-integer int8" in page and "latency: boom" in page
    assert "★" not in page and '<div class="warning">a</div>' not in page


@needs_shared
@needs_browser
def test_the_page_in_chromium_loads_nothing_and_prints(tmp_path):
    """The CLI's report with a comparison, in a real browser: it loads with no console errors
    and no requests, and a screenshot is saved."""
    reference, candidate = shared_model(VWW_FLOAT), shared_model(VWW_INT8)
    report = tmp_path / "vww.html"
    result = subprocess.run(
        [sys.executable, "-m", "tflite_inspector", "report", str(reference), "--compare", str(candidate),
         "--inputs", str(IMAGES), "--limit", "8", "-o", str(report)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    screenshot = tmp_path / "vww.png"
    visit = visit_file(report, screenshot, home=tmp_path / "browser-home")
    assert visit.console_errors == [] and visit.page_errors == [], visit.console_messages
    assert visit.requests == [] and visit.failed_requests == []
    assert visit.title.startswith("vww_96_float.tflite") and "SQNR per layer" in visit.text
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 50_000


@needs_shared
@needs_browser
def test_collapsed_sections_are_printed_open(tmp_path, monkeypatch):
    """Large op tables start collapsed on screen; printing opens them (as many pages as open)."""
    pages = {}
    for limit in (0, 10**6):
        monkeypatch.setattr(report_sections, "OPEN_OP_TABLE_LIMIT", limit)
        page = build_report(ReportRequest(str(shared_model(VWW_FLOAT)), delegates=("xnnpack",)))
        assert ("<details>\n<summary>31 ops" in page) == (limit == 0)
        path = tmp_path / f"limit{limit}.html"
        path.write_text(page, encoding="utf-8")
        visit = visit_file(path, pdf_path=tmp_path / f"limit{limit}.pdf", home=tmp_path / "browser-home")
        assert visit.problems == []
        pages[limit] = visit.pdf_page_count
    assert pages[0] == pages[10**6] > 2, pages


@needs_shared
def test_the_report_draws_each_small_subgraph_with_the_first_delegates_verdicts():
    import xml.etree.ElementTree as ElementTree

    page = build_report(ReportRequest(str(shared_model(VWW_INT8)), delegates=("edgetpu", "gpu")))
    section = page.split('<section id="graph-0">', 1)[1].split("</section>", 1)[0]
    svg = ElementTree.fromstring(section[section.index("<svg"):section.index("</svg>") + len("</svg>")])
    ns = "{http://www.w3.org/2000/svg}"
    assert "Delegate: Edge TPU" in svg.find(f"{ns}title").text
    boxes = [g.find(f"{ns}title").text for g in svg.iter(f"{ns}g") if g.find(f"{ns}title") is not None]
    for index in range(31):  # every op of vww_96_int8's subgraph, each with the Edge TPU's verdict
        assert any(f" #{index}\n" in box and "Edge TPU:" in box for box in boxes), index
    big = build_report(ReportRequest(str(shared_model("gh-tensorflow-tflite-micro/dp_net.tflite")), delegates=("gpu",)))
    graph = big.split('<section id="graph-0">', 1)[1].split("</section>", 1)[0]
    assert "<svg" not in graph and "Not drawn: 2,338 ops" in graph
