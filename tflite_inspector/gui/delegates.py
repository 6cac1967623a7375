"""Delegate compatibility in the desktop app: reports computed off the GUI thread and
kept per (delegate, API level), and what the views show of them.

The rules engine is core/compat.py. It is imported only inside the functions that
run in worker threads: importing it (tomllib, multiprocessing, the rule tables)
takes about 60 ms, which would otherwise be paid before the first model is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QBrush, QColor

from ..core.model import Model
from .jobs import Job, background_pool
from .table_models import ExtraColumn

if TYPE_CHECKING:
    from ..core.compat import DelegateReport, OpVerdict, RuntimeComparison

DELEGATE_COLUMN = "delegate"
RUNTIME_COLUMN = "runtime"
TAKEN = "✓"
# Translucent tints: they darken a light base and lighten a dark one just enough,
# so the palette's own text colour stays readable on both.
FALLBACK_COLOR = QColor(230, 126, 34, 64)
DISAGREEMENT_COLOR = QColor(192, 57, 43, 128)
SOURCE_STYLE = "color:#888"  # mid grey: readable on light and dark backgrounds

AnalysisKey = tuple[str, int | None]  # (delegate, API level for delegates that take one)


@dataclass(frozen=True)
class DelegateInfo:
    key: str
    title: str
    has_api_level: bool
    error: str = ""  # the rule table could not be loaded: shown to the user, never dropped


@dataclass(frozen=True)
class DelegateSetup:
    delegates: tuple[DelegateInfo, ...]
    default_api_level: int


def prepare_delegates() -> DelegateSetup:
    """Runs in a worker thread: import the engine and read every rule table's title."""
    from ..core import compat, delegate_rules

    infos = []
    for key in compat.DELEGATES:
        try:
            has_api_level = bool(delegate_rules.load_rules(key)["delegate"].get("has_api_level"))
            infos.append(DelegateInfo(key, delegate_rules.delegate_title(key), has_api_level))
        except delegate_rules.RuleError as e:
            infos.append(DelegateInfo(key, key, False, str(e)))
    return DelegateSetup(tuple(infos), delegate_rules.DEFAULT_NNAPI_API_LEVEL)


@dataclass(frozen=True)
class DelegateResult:
    """A delegate's report as the views hold it (a result, as opposed to an error message)."""

    report: DelegateReport

    def subgraph_verdicts(self, sg_index: int) -> list[OpVerdict]:
        return self.report.subgraph_verdicts(sg_index)


def analyze_for_display(model: Model, key: str, api_level: int | None) -> DelegateResult:
    """Runs in a worker thread."""
    from ..core import compat, delegate_rules

    level = delegate_rules.DEFAULT_NNAPI_API_LEVEL if api_level is None else api_level
    report = compat.analyze(model, key, api_level=level)
    return DelegateResult(report)


def check_against_runtime(model: Model, report: DelegateReport) -> RuntimeComparison:
    """Runs in a worker thread; the interpreter itself runs in a separate process."""
    from ..core import compat
    from ..core.runtime import RuntimeWorker

    with RuntimeWorker() as worker:
        return compat.check_xnnpack_against_runtime(model, report, worker)


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
            self._running[1].cancel()
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


def percent(part: float, whole: float) -> str:
    """'100%' only when all, '0%' only when none; otherwise one decimal that never rounds to either."""
    if whole <= 0:
        return "—"
    if part >= whole:
        return "100%"
    if part <= 0:
        return "0%"
    return f"{min(max(100 * part / whole, 0.1), 99.9):.1f}%"


def delegate_label(info: DelegateInfo, api_level: int) -> str:
    return f"{info.title} (API level {api_level})" if info.has_api_level else info.title


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
    for index, _opcode, predicted, delegated in comparison.ops:
        did = "delegated" if delegated else "CPU"
        what = f"the runtime {'delegated this op' if delegated else 'ran this op on the CPU'}"
        if predicted == delegated:
            cells[index] = did
            keys[index] = f"0 {did}"
            tooltips[index] = f"{what}, as the rules say"
        else:
            cells[index] = f"{did} (rules: {TAKEN if predicted else 'CPU'})"
            keys[index] = f"1 {did}"  # disagreements first when sorted descending
            tooltips[index] = f"{what}, but the rules say it {'is taken' if predicted else 'stays on the CPU'}"
            backgrounds[index] = brush
    return ExtraColumn(RUNTIME_COLUMN, "Runtime", header_tooltip, cells, keys, tooltips, backgrounds)


def runtime_summary(comparison: RuntimeComparison, subgraphs: int) -> str:
    agree = sum(predicted == delegated for _, _, predicted, delegated in comparison.ops)
    total = len(comparison.ops)
    where = " of subgraph 0" if subgraphs > 1 else ""
    text = f"runtime agrees on {agree:,} of {total:,} ops{where} ({percent(agree, total)})"
    if agree < total:
        text += f"; {total - agree:,} highlighted"
    partitions = "partition" if comparison.partitions == 1 else "partitions"
    return f"{text} · XNNPACK made {comparison.partitions} {partitions}"


def verdict_html(label: str, state: DelegateResult | str | None, sg_index: int, op_index: int,
                 runtime: tuple[int, str, bool, bool] | None = None) -> str:
    """The detail panel's section for one op under the selected delegate."""
    if state is None:
        return f"<p style='{SOURCE_STYLE}'>On {escape(label)}: analysing…</p>"
    if isinstance(state, str):
        return f"<p>On {escape(label)}: could not be analysed: {escape(state)}</p>"
    verdict = state.report.verdict(sg_index, op_index)
    if verdict is None:
        return ""
    if verdict.supported:
        html = [f"<h4>On {escape(label)}: {TAKEN} taken</h4>"]
    else:
        html = [f"<h4>On {escape(label)}: stays on the CPU</h4><ol>"]
        for reason in verdict.reasons:
            html.append(f"<li>{escape(reason.text)}<br>"
                        f"<small style='{SOURCE_STYLE}'>{escape(reason.source)}</small></li>")
        html.append("</ol>")
    if runtime is not None:
        _, _, predicted, delegated = runtime
        did = "delegated" if delegated else "ran on the CPU"
        agrees = "as the rules say" if predicted == delegated else "<b>unlike the rules</b>"
        html.append(f"<p>Runtime (LiteRT interpreter): {did}, {agrees}</p>")
    return "".join(html)


def summary_entries(infos: tuple[DelegateInfo, ...], reports: DelegateReports,
                    api_level: int) -> list[tuple[DelegateInfo, str, Any]]:
    """(info, label, result or error or None) per delegate, for the overview."""
    entries = []
    for info in infos:
        key = (info.key, api_level if info.has_api_level else None)
        state = info.error or reports.state(key)
        entries.append((info, delegate_label(info, api_level), state))
    return entries
