"""Delegate compatibility in the desktop app: reports computed off the GUI thread and kept per
(delegate, settings), and what the views show of them.

The rule engine (core/delegates/) is imported only inside the functions that run in worker
threads: importing it (tomllib, the rule tables) takes about 60 ms, which would otherwise be
paid before the first model is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QBrush, QColor

from ...core.delegates.settings import DelegateSettings
from ...core.formatting import format_share
from ...core.reading.model import Model
from ..jobs import Job, background_pool
from ..widgets.tables import ExtraColumn
from .delegate_state import AnalysisKey, DelegateInfo, DelegateResult

if TYPE_CHECKING:
    from ...core.delegates.engine import DelegateReport, OpVerdict
    from ...core.delegates.runtime_check import OpDelegation, RuntimeComparison

DELEGATE_COLUMN = "delegate"
RUNTIME_COLUMN = "runtime"
TAKEN = "✓"
# Translucent tints: they darken a light base and lighten a dark one just enough,
# so the palette's own text colour stays readable on both.
FALLBACK_COLOR = QColor(230, 126, 34, 64)
DISAGREEMENT_COLOR = QColor(192, 57, 43, 128)
SOURCE_STYLE = "color:#888"  # mid grey: readable on light and dark backgrounds

def analyze_for_display(model: Model, key: str, settings: DelegateSettings | None) -> DelegateResult:
    """Runs in a worker thread."""
    from ...core.delegates.engine import analyze

    return DelegateResult(analyze(model, key, settings or DelegateSettings()))


def check_against_runtime(model: Model, report: DelegateReport) -> RuntimeComparison:
    """Runs in a worker thread; the interpreter itself runs in a separate process."""
    from ...core.delegates.runtime_check import compare_with_runtime
    from ...core.runtime.interpreter import RuntimeWorker

    with RuntimeWorker() as worker:
        nodes = worker.default_delegate_nodes(model.path)
    return compare_with_runtime(report, model.subgraphs[0], nodes.delegate_nodes)


class DelegateReports(QObject):
    """One model's delegate reports, computed one at a time off the GUI thread and kept.

    `request` queues a (delegate, API level); an urgent request (the delegate the user
    just chose) goes to the front. `ready(key)` is emitted when its result or error is in.
    """

    ready = Signal(object)

    def __init__(self, model: Model, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.results: dict[AnalysisKey, DelegateResult] = {}
        self.errors: dict[AnalysisKey, str] = {}
        self._queue: list[AnalysisKey] = []
        self._running: tuple[AnalysisKey, Job] | None = None
        self._closed = False

    def state(self, key: AnalysisKey) -> DelegateResult | str | None:
        """The result, the error message, or None while it is pending."""
        return self.results.get(key) or self.errors.get(key)

    def request(self, key: AnalysisKey, urgent: bool = False) -> None:
        if self._closed or key in self.results or key in self.errors:
            return
        if self._running is not None and self._running[0] == key:
            return
        if key in self._queue:
            if not urgent:
                return
            self._queue.remove(key)
        if urgent:
            self._queue.insert(0, key)
        else:
            self._queue.append(key)
        self._start_next()

    def drop_queued(self, unwanted: Callable[[AnalysisKey], bool]) -> None:
        """Forget queued requests nobody needs any more (an API level the user moved past)."""
        self._queue = [key for key in self._queue if not unwanted(key)]

    def close(self) -> None:
        self._closed = True
        self._queue.clear()
        if self._running is not None:
            self._running[1].drop()
            self._running = None

    def _start_next(self) -> None:
        if self._running is not None or not self._queue or self._closed:
            return
        key = self._queue.pop(0)
        model = self._model
        job = Job(lambda: analyze_for_display(model, *key), owner=self)
        job.finished.connect(self._finished)
        job.failed.connect(self._failed)
        self._running = (key, job)
        job.start(background_pool())

    def _finished(self, result: DelegateResult) -> None:
        if self._running is not None:
            self.results[self._running[0]] = result
            self._announce_and_continue()

    def _failed(self, message: str) -> None:
        if self._running is not None:
            self.errors[self._running[0]] = message
            self._announce_and_continue()

    def _announce_and_continue(self) -> None:
        assert self._running is not None
        key = self._running[0]
        self._running = None
        self._start_next()
        self.ready.emit(key)


# ---------------------------------------------------------------- formatting


def _reasons_tooltip(verdict: OpVerdict) -> str:
    return "Stays on the CPU:\n" + "\n".join(f"• {r.text}\n   ({r.source})" for r in verdict.reasons)


def delegate_column(title: str, result: DelegateResult | str | None, sg_index: int) -> ExtraColumn:
    """'✓' or 'CPU — first reason' per op of the subgraph; pending and failed analyses show so."""
    header = f"On {title}"
    header_tooltip = (f"{TAKEN}: the rules say {title} takes the op; CPU: it stays on the CPU, "
                      "with the first reason (all of them in the tooltip and the detail panel)")
    if result is None:
        return ExtraColumn(DELEGATE_COLUMN, header, header_tooltip, default="analysing…")
    if isinstance(result, str):
        return ExtraColumn(DELEGATE_COLUMN, header, header_tooltip, default="not analysed")
    cells: dict[int, str] = {}
    keys: dict[int, str] = {}
    tooltips: dict[int, str] = {}
    for v in result.subgraph_verdicts(sg_index):
        if v.supported:
            cells[v.index] = TAKEN
            keys[v.index] = "0"  # taken ops first when ascending, CPU fallbacks grouped by reason after
            tooltips[v.index] = f"{title} takes this op"
        else:
            first = v.reasons[0].text if v.reasons else "unknown"
            cells[v.index] = f"CPU — {first}"
            keys[v.index] = f"1 {first}"
            tooltips[v.index] = _reasons_tooltip(v)
    return ExtraColumn(DELEGATE_COLUMN, header, header_tooltip, cells, keys, tooltips)


def fallback_backgrounds(result: DelegateResult, sg_index: int) -> dict[int, QBrush]:
    brush = QBrush(FALLBACK_COLOR)
    return {v.index: brush for v in result.subgraph_verdicts(sg_index) if not v.supported}


def fallback_indices(result: DelegateResult, sg_index: int) -> frozenset[int]:
    return frozenset(v.index for v in result.subgraph_verdicts(sg_index) if not v.supported)


def runtime_column(comparison: RuntimeComparison, sg_index: int) -> ExtraColumn:
    """What the interpreter delegated, per op of subgraph 0; disagreements with the rules highlighted."""
    header_tooltip = ("What the LiteRT interpreter's XNNPACK delegate really took (subgraph 0); "
                      "highlighted where it differs from the rules")
    if sg_index != 0:
        return ExtraColumn(RUNTIME_COLUMN, "Runtime", header_tooltip)  # the check covers subgraph 0
    cells: dict[int, str] = {}
    keys: dict[int, str] = {}
    tooltips: dict[int, str] = {}
    backgrounds: dict[int, QBrush] = {}
    brush = QBrush(DISAGREEMENT_COLOR)
    for op in comparison.ops:
        index = op.index
        did = "delegated" if op.delegated else "CPU"
        what = f"the runtime {'delegated this op' if op.delegated else 'ran this op on the CPU'}"
        if op.agrees:
            cells[index] = did
            keys[index] = f"0 {did}"
            tooltips[index] = f"{what}, as the rules say"
        else:
            cells[index] = f"{did} (rules: {TAKEN if op.predicted else 'CPU'})"
            keys[index] = f"1 {did}"  # disagreements first when sorted descending
            tooltips[index] = f"{what}, but the rules say it {'is taken' if op.predicted else 'stays on the CPU'}"
            backgrounds[index] = brush
    return ExtraColumn(RUNTIME_COLUMN, "Runtime", header_tooltip, cells, keys, tooltips, backgrounds)


def runtime_summary(comparison: RuntimeComparison, subgraphs: int) -> str:
    """How far the runtime agrees with the rules, and what it did: the ops it delegated and the
    partitions (DELEGATE nodes) it made, beside the rules' numbers shown before it."""
    agree = sum(op.agrees for op in comparison.ops)
    total = len(comparison.ops)
    where = " of subgraph 0" if subgraphs > 1 else ""
    text = f"runtime agrees on {agree:,} of {total:,} ops{where} ({format_share(agree, total)})"
    if agree < total:
        text += f"; {total - agree:,} highlighted"
    delegated = sum(op.delegated for op in comparison.ops)
    partitions = "partition" if comparison.partitions == 1 else "partitions"
    return (f"{text} · the interpreter's XNNPACK delegated {delegated:,} of {total:,} ops "
            f"({format_share(delegated, total)}) in {comparison.partitions:,} {partitions}")


def verdict_html(label: str, state: DelegateResult | str | None, sg_index: int, op_index: int,
                 runtime: OpDelegation | None = None) -> str:
    """The detail panel's section for one op under the selected delegate."""
    if state is None:
        return f"<p style='{SOURCE_STYLE}'>On {escape(label)}: analysing…</p>"
    if isinstance(state, str):
        return f"<p>On {escape(label)}: could not be analysed: {escape(state)}</p>"
    verdict = state.report.verdict(sg_index, op_index)
    if verdict is None:
        return ""
    # Once the runtime has answered, the rules' verdict is labelled a prediction wherever the
    # runtime did otherwise, so no reason reads as what happened when it did not.
    contradicted = runtime is not None and not runtime.agrees
    if verdict.supported:
        html = [f"<h4>On {escape(label)}: {TAKEN} taken{' by the rules' if contradicted else ''}</h4>"]
    else:
        html = [f"<h4>On {escape(label)}: {'the rules say it stays' if contradicted else 'stays'} on the CPU</h4><ol>"]
        for reason in verdict.reasons:
            html.append(f"<li>{escape(reason.text)}<br>"
                        f"<small style='{SOURCE_STYLE}'>{escape(reason.source)}</small></li>")
        html.append("</ol>")
    if runtime is not None:
        did = "delegated" if runtime.delegated else "ran on the CPU"
        agrees = "as the rules say" if runtime.agrees else "<b>unlike the rules</b>"
        html.append(f"<p>Runtime (LiteRT interpreter): {did}, {agrees}</p>")
    return "".join(html)


def summary_entries(infos: tuple[DelegateInfo, ...], reports: DelegateReports,
                    settings: DelegateSettings) -> list[tuple[DelegateInfo, str, Any]]:
    """(info, label, result or error or None) per delegate, for the overview."""
    entries = []
    for info in infos:
        key = (info.key, settings if info.has_settings else None)
        state = info.error or reports.state(key)
        entries.append((info, info.label(settings), state))
    return entries
