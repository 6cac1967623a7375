"""The self-contained HTML report: what the app shows of one model, in one file for people who do
not have the app.

`build_report` gathers the facts from the same core objects as the app and the command line (the
reader, the model's stats, the delegate rule engine, a comparison, a quantization lab's result)
into plain values (sections.py, comparison_section.py, lab_section.py, plot.py) and renders them
with jinja2 (autoescape on: every name, label and metadata string from a model is untrusted
text). The page has no scripts at all: plots are inline SVG drawn by the template from numbers,
thumbnails are JPEG data URIs, CSS is inline, and a Content-Security-Policy forbids every
network load. Large op tables are `<details>` elements, collapsed on screen and opened for printing.
"""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..comparison.run import ComparisonRequest, ComparisonRun, compare_files
from ..delegates.engine import DELEGATES, DelegateReport, analyze
from ..delegates.settings import DelegateSettings
from ..files import write_new_file
from ..formatting import format_bytes, format_count, format_metric, format_number, format_percent
from ..inspection.shapes import dynamic_inputs, input_shapes
from ..inspection.stats import model_stats
from ..lab.results import LabResult
from ..reading.reader import read_model
from ..runtime.interpreter import RuntimeWorker
from ..tasks import Cancelled, Progress, Steps
from .comparison_section import comparison_section
from .graph_section import graph_section
from .lab_section import lab_section
from .sections import delegate_section, overview, signatures, subgraph_section, verdict_cell

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "base-uri 'none'; form-action 'none'")


@dataclass(frozen=True)
class ReportRequest:
    model: str
    delegates: tuple[str, ...] = DELEGATES
    settings: DelegateSettings = DelegateSettings()
    # The comparison: a request to run with the worker, or a finished run (the app's Compare
    # page), shown as it is; None: no comparison.
    comparison: ComparisonRequest | ComparisonRun | None = None
    lab: LabResult | None = None
    # --input-shape values: MACs and memory at the shapes the interpreter resizes to (needs the worker).
    input_shapes: tuple[str, ...] = ()
    resolve_shapes: bool = False  # resolve at the model's stated sizes (and `input_shapes`)


def build_report(request: ReportRequest, worker: RuntimeWorker | None = None, *, progress: Progress | None = None,
                 cancelled: Callable[[], bool] | None = None, now: datetime.datetime | None = None) -> str:
    """The report's HTML. `worker` is needed only to run a comparison request. Raises ModelError
    for an unreadable model, InputError / RuntimeFailure from the comparison, and Cancelled when
    `cancelled()` turns true between steps."""
    steps = Steps(2 + len(request.delegates) + (1 if request.comparison is not None else 0), progress, cancelled)

    def step(message: str) -> None:
        steps.check()
        steps.start(message)

    step("reading the model")
    with read_model(request.model) as model:
        resolved = None
        if (request.input_shapes or request.resolve_shapes) and dynamic_inputs(model):
            if worker is None:
                raise ValueError("resolving input shapes needs the interpreter's worker")
            resolved = worker.resolve_shapes(model.path, input_shapes(model, request.input_shapes))
        stats = model_stats(model, resolved)
        context: dict[str, Any] = {
            "title": os.path.basename(model.path),
            "generated": (now or datetime.datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M %Z").strip(),
            "version": __version__,
            "csp": CONTENT_SECURITY_POLICY,
            "overview": overview(model, stats),
            "signatures": signatures(model),
            "subgraphs": [subgraph_section(model, sg, stats) for sg in model.subgraphs],
        }
        steps.finish()
        reports: dict[str, DelegateReport] = {}
        for key in request.delegates:
            step(f"delegate rules: {key}")
            reports[key] = analyze(model, key, request.settings)
            steps.finish()
        context["delegates"] = [delegate_section(report) for report in reports.values()]
        context["op_verdict_columns"] = [report.title for report in reports.values()]
        for sg in context["subgraphs"]:
            for op in sg["ops"]:
                op["verdicts"] = [verdict_cell(report, sg["index"], op["index"]) for report in reports.values()]
        # The graphs show the first delegate asked for (by default the GPU's): the one a reader
        # most often weighs. The SVG is our own, every model string escaped: safe to insert.
        import markupsafe

        first = next(iter(reports.values()), None)
        for sg in context["subgraphs"]:
            drawing = graph_section(model, sg["index"], first)
            sg["graph"] = {"svg": markupsafe.Markup(drawing["svg"]) if drawing["svg"] else None, "note": drawing["note"]}
    context["comparison"] = None
    if request.comparison is not None:
        step("comparing the candidates on the inputs")
        run = request.comparison
        if isinstance(run, ComparisonRequest):
            if worker is None:
                raise ValueError("a comparison request needs the interpreter's worker")
            run = compare_files(run, worker, cancelled=cancelled)
        if run.comparison.cancelled:
            raise Cancelled("cancelled")
        context["comparison"] = comparison_section(run)
        steps.finish()
    context["lab"] = lab_section(request.lab) if request.lab is not None else None
    step("writing the page")
    # Names from a model or a file system may hold lone surrogates (undecodable bytes): as "?", the
    # page encodes as UTF-8 whatever the model says.
    html = render(context).encode("utf-8", "replace").decode("utf-8")
    steps.finish()
    return html


def render(context: dict[str, Any]) -> str:
    return _template().render(**context)


@functools.cache
def _template() -> Any:
    """The compiled page, made once per process (compiling takes longer than rendering a small model)."""
    import jinja2  # only the report needs it

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("tflite_inspector.resources", "report"),
        autoescape=True,  # every string from a model is untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["bytes"] = format_bytes
    environment.filters["count"] = format_count
    environment.filters["num"] = format_number
    environment.filters["percent"] = format_percent
    environment.filters["metric"] = lambda value, name: format_metric(name, value)
    return environment.get_template("report.html.j2")


def write_report(html: str, path: str, *, overwrite: bool = False) -> None:
    """Write the page, never replacing an existing file unless `overwrite` (raises FileExists)."""
    write_new_file(path, html.encode("utf-8"), overwrite=overwrite)
