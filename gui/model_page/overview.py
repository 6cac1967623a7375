"""The Overview page: HTML for a QTextBrowser, built from the model and its stats.

Every string that comes from the model is escaped. Links: `subgraph:N` selects a
subgraph, `tensor:S:N` a tensor, `file:NAME` shows an attached file, `delegate:KEY`
shows that delegate's verdicts on the Operators page.

The delegate summary arrives later (it is computed in the background); the view
puts `delegate_summary_html` in place of DELEGATES_MARKER as reports come in.
"""

from __future__ import annotations

from html import escape
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...core.formatting import format_bytes, format_count, format_quantization, format_share, tensor_shape_text
from ...core.inspection.stats import PEAK_MEMORY_METHOD, ModelStats
from ...core.inspection.summary import at_least, lower_bound_warning, size_breakdown
from ...core.reading.model import Model, Tensor
from .delegate_state import DelegateInfo, DelegateResult

if TYPE_CHECKING:
    from ...core.delegates.engine import DelegateReport, OpVerdict
    from ...core.delegates.runtime_check import RuntimeComparison

DELEGATES_MARKER = "<!-- delegates -->"
RUNTIME_ROW_LABEL = "↳ runtime"  # the interpreter's row, under the delegate's predicted one
TOP_REASONS = 5
_BAR_CELLS = 20
_OPS_COLOR = "#4a7bd0"
_MACS_COLOR = "#2a9d8f"

_STYLE = """
<style>
 body { font-family: sans-serif; }
 h2 { margin: 12px 0 4px 0; font-size: 14pt; }
 h3 { margin: 10px 0 4px 0; font-size: 11pt; }
 table { border-collapse: collapse; }
 td, th { padding: 2px 8px 2px 0; vertical-align: top; text-align: left; }
 th { color: #555; font-weight: normal; }
 .num { text-align: right; }
 .muted { color: #666; }
 .warn { color: #a04000; }
 .source { color: #888; }
</style>
"""


def _tensor_cell(sg_index: int, t: Tensor) -> str:
    q = format_quantization(t.quantization)
    return (f'<a href="tensor:{sg_index}:{t.index}">{escape(t.name) or f"t{t.index}"}</a> '
            f"{escape(tensor_shape_text(t))} {t.dtype}" + (f' <span class="muted">{escape(q)}</span>' if q else ""))


def _shapes_used(model: Model, stats: ModelStats) -> str:
    if stats.resolved is None:
        return "at static shapes"
    run = len(stats.resolved.run_shaped)
    return (f"at the interpreter's shapes for {stats.resolved.inputs_text(model.subgraphs[0])}"
            + (f" ({run:,} tensors sized by a run on zeros)" if run else ""))


def _bar(fraction: float) -> str:
    # Rich text ignores widths of nested tables; a run of block characters scales reliably.
    return f'<span style="color:#4a7bd0">{"█" * max(1, round(30 * fraction))}</span>'


def overview_html(model: Model, stats: ModelStats) -> str:
    parts = [_STYLE, f"<h2>{escape(model.file_name)}</h2>"]
    rows = [
        ("File", escape(model.path)),
        ("Size", f"{format_bytes(model.size_bytes)} ({model.size_bytes:,} bytes)"),
        ("Schema version", str(model.version)),
        ("Description", escape(model.description) or "—"),
        ("Min runtime version", escape(model.min_runtime_version or "—")),
        ("Parameters", f"{format_count(stats.parameters)} ({stats.parameters:,})"),
        ("MACs", f"{at_least(stats.macs_lower_bound)}{format_count(stats.macs)} "
                 f"({at_least(stats.macs_lower_bound)}{stats.macs:,}) {escape(_shapes_used(model, stats))}"),
        ("Peak activation memory",
         ", ".join(f"subgraph {s.index}: {at_least(s.peak_activation.lower_bound)}"
                   f"{format_bytes(s.peak_activation.bytes)}" for s in stats.subgraphs)
         + ' <span class="muted">(estimate)</span>'),
    ]
    parts.append("<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>")
    shape_warning = lower_bound_warning(model, stats, hint="give the input shape above and press Resolve shapes")
    if shape_warning:
        parts.append(f'<p class="warn">⚠ {escape(shape_warning)}</p>')
    parts.append(f'<p class="muted">{escape(PEAK_MEMORY_METHOD)}</p>')
    for w in model.warnings:
        parts.append(f'<p class="warn">⚠ {escape(w)}</p>')
    parts.append(DELEGATES_MARKER)

    md = model.tflite_metadata
    if md is not None:
        parts.append("<h3>TFLite metadata</h3><table>")
        for label, value in (("Name", md.name), ("Version", md.version), ("Author", md.author),
                             ("License", md.license), ("Description", md.description)):
            if value:
                parts.append(f"<tr><th>{label}</th><td>{escape(value)}</td></tr>")
        for sg in md.subgraphs:
            for kind, tensors in (("input", sg.inputs), ("output", sg.outputs)):
                for tm in tensors:
                    details = []
                    if tm.content.get("type"):
                        details.append(escape(str(tm.content["type"])))
                    if tm.normalization_mean:
                        details.append(f"normalize (x − {list(tm.normalization_mean)}) / {list(tm.normalization_std)}")
                    if tm.stats_min or tm.stats_max:
                        details.append(f"range {list(tm.stats_min)}…{list(tm.stats_max)}")
                    if tm.description:
                        details.append(escape(tm.description))
                    parts.append(f"<tr><th>{kind} {escape(tm.name)}</th><td>{'; '.join(details)}</td></tr>")
        parts.append("</table>")
    files = model.associated_files
    if files:
        parts.append("<h3>Attached files</h3><table>")
        for f in files:
            name = escape(f.name)
            link = f'<a href="file:{name}">{name}</a>' if f.size is not None else name
            size = format_bytes(f.size) if f.size is not None else "named in metadata, not attached"
            parts.append(f"<tr><td>{link}</td><td>{size}</td><td>{escape(f.type)}</td>"
                         f"<td>{escape(f.description)}</td></tr>")
        parts.append("</table>")

    if model.signatures:
        parts.append("<h3>Signatures</h3><table>")
        for s in model.signatures:
            tensors = model.subgraphs[s.subgraph].tensors
            parts.append(f'<tr><th colspan="3"><b>{escape(s.key)}</b> '
                         f'(<a href="subgraph:{s.subgraph}">subgraph {s.subgraph}</a>)</th></tr>')
            for label, mapping in (("in", s.inputs), ("out", s.outputs)):
                for name, idx in mapping.items():
                    parts.append(f"<tr><td>{label}</td><td>{escape(name)}</td>"
                                 f"<td>{_tensor_cell(s.subgraph, tensors[idx])}</td></tr>")
        parts.append("</table>")

    parts.append("<h3>Subgraphs</h3><table><tr><th>#</th><th>name</th><th>ops</th><th>tensors</th>"
                 "<th>inputs</th><th>outputs</th></tr>")
    for sg in model.subgraphs:
        ins = "<br>".join(_tensor_cell(sg.index, sg.tensors[i]) for i in sg.inputs)
        outs = "<br>".join(_tensor_cell(sg.index, sg.tensors[i]) for i in sg.outputs)
        parts.append(f'<tr><td><a href="subgraph:{sg.index}">{sg.index}</a></td><td>{escape(sg.name)}</td>'
                     f'<td class="num">{len(sg.operators)}</td><td class="num">{len(sg.tensors)}</td>'
                     f"<td>{ins}</td><td>{outs}</td></tr>")
    parts.append("</table>")

    breakdown = size_breakdown(model, stats)
    parts.append("<h3>Size</h3><table>")
    for label, key in (("weights", "weights"), ("metadata", "metadata"),
                       ("attached files", "attached_files"), ("graph and other", "graph_and_other")):
        parts.append(f'<tr><td>{label}</td><td class="num">{format_bytes(breakdown[key])}</td>'
                     f"<td>{_bar(breakdown[key] / max(model.size_bytes, 1))}</td></tr>")
    parts.append("</table><h3>Weights by dtype</h3><table>")
    for dtype, size in stats.weight_bytes_by_dtype.items():
        parts.append(f'<tr><td>{dtype}</td><td class="num">{format_bytes(size)}</td>'
                     f'<td class="num">{stats.parameters_by_dtype.get(dtype, 0):,} values</td></tr>')
    parts.append("</table>")

    total_ops = max(sum(stats.op_counts.values()), 1)
    top = max(stats.op_counts.values(), default=1)
    parts.append("<h3>Operators</h3><table>")
    for name, count in stats.op_counts.items():
        parts.append(f'<tr><td>{escape(name)}</td><td class="num">{count}</td>'
                     f'<td class="num muted">{100 * count / total_ops:.1f}%</td><td>{_bar(count / top)}</td></tr>')
    parts.append("</table>")
    if stats.custom_ops:
        parts.append(f"<p>Custom ops: {escape(', '.join(stats.custom_ops))}</p>")
    if stats.flex_ops:
        parts.append(f"<p>Flex (TensorFlow) ops, need the Flex delegate: {escape(', '.join(stats.flex_ops))}</p>")
    return "".join(parts)


def _share_bar(fraction: float | None, color: str) -> str:
    """A fixed-width bar, filled to `fraction`, so delegates compare at a glance."""
    if fraction is None:
        return ""
    filled = round(_BAR_CELLS * fraction)
    if 0 < fraction < 1:  # a sliver stays visible, and only all of it is a full bar
        filled = min(max(filled, 1), _BAR_CELLS - 1)
    return (f'<span style="color:{color}">{"█" * filled}</span>'
            f'<span style="color:#999">{"░" * (_BAR_CELLS - filled)}</span>')


def delegate_summary_html(entries: list[tuple[DelegateInfo, str, Any]], setup_error: str = "",
                          runtime: RuntimeComparison | None = None, subgraphs: int = 1,
                          op_macs: Callable[[OpVerdict], int] | None = None) -> str:
    """Per delegate: ops and MACs taken, partitions, the top reasons ops stay on the CPU, graph notes.

    `entries` are (info, label, state) with state a DelegateResult, an error message,
    or None while the report is computed. With `runtime` (what the interpreter's XNNPACK
    delegated, after "Check against runtime") the XNNPACK row, its partitions and its reasons
    are shown next to what the runtime did: the rules' numbers are a prediction. `op_macs`: each
    op's MACs as the Overview counts them (at resolved shapes, once resolved); else the verdicts'.
    """
    macs_of = op_macs or (lambda v: v.macs)
    parts = ["<h3>Delegates</h3>"]
    if setup_error:
        return parts[0] + f'<p class="warn">Delegate rules could not be loaded: {escape(setup_error)}</p>'
    if not entries:
        return parts[0] + '<p class="muted">Reading the delegate rules…</p>'
    parts.append(
        f'<table><tr><th>delegate</th><th colspan="3">ops taken '
        f'<span style="color:{_OPS_COLOR}">█</span></th>'
        f'<th colspan="2">MACs taken <span style="color:{_MACS_COLOR}">█</span></th><th>partitions</th></tr>')
    details = []
    for info, label, state in entries:
        name = f'<a href="delegate:{escape(info.key)}">{escape(label)}</a>'
        if state is None:
            parts.append(f'<tr><td>{name}</td><td colspan="6" class="muted">analysing…</td></tr>')
            continue
        if isinstance(state, str):
            parts.append(f'<tr><td>{name}</td><td colspan="6" class="warn">not analysed: {escape(state)}</td></tr>')
            continue
        assert isinstance(state, DelegateResult)
        report = state.report
        fraction = report.macs_fraction_at(macs_of, lambda v: v.supported)
        ops_fraction = report.ops_supported / report.ops_total if report.ops_total else None
        parts.append(
            f'<tr><td>{name}</td><td class="num">{report.ops_supported:,} / {report.ops_total:,}</td>'
            f'<td class="num">{format_share(report.ops_supported, report.ops_total)}</td>'
            f"<td>{_share_bar(ops_fraction, _OPS_COLOR)}</td>"
            f'<td class="num">{"—" if fraction is None else format_share(fraction, 1.0)}</td>'
            f"<td>{_share_bar(fraction, _MACS_COLOR)}</td>"
            f'<td class="num">{report.partitions:,}</td></tr>')
        checked = runtime if runtime is not None and runtime.delegate == info.key else None
        if checked is not None:
            parts.append(_runtime_row(report, checked, subgraphs, macs_of))
        details.append(_delegate_details(name, report, checked))
    parts.append("</table>")
    if runtime is not None:
        parts.append('<p class="muted">Rows without "runtime" are the rules\' prediction; the runtime row is what '
                     "the LiteRT interpreter's XNNPACK delegate did with subgraph 0 on this machine.</p>")
    parts.extend(d for d in details if d)
    return "".join(parts)


def _runtime_row(report: DelegateReport, runtime: RuntimeComparison, subgraphs: int,
                 macs_of: Callable[[OpVerdict], int]) -> str:
    """The interpreter's numbers under the delegate's predicted row: ops of subgraph 0 it delegated,
    their share of subgraph 0's MACs, and the DELEGATE nodes it made."""
    verdicts = report.subgraph_verdicts(0)
    total = len(runtime.ops)
    delegated = sum(op.delegated for op in runtime.ops)
    macs_total = sum(macs_of(v) for v in verdicts)
    fraction = (None if macs_total == 0
                else sum(macs_of(v) for v in verdicts if v.index in runtime.delegated) / macs_total)
    where = ", subgraph 0" if subgraphs > 1 else ""
    return (f'<tr><td class="muted">{RUNTIME_ROW_LABEL} (LiteRT interpreter{where})</td>'
            f'<td class="num">{delegated:,} / {total:,}</td>'
            f'<td class="num">{format_share(delegated, total)}</td>'
            f"<td>{_share_bar(delegated / total if total else None, _OPS_COLOR)}</td>"
            f'<td class="num">{"—" if fraction is None else format_share(fraction, 1.0)}</td>'
            f"<td>{_share_bar(fraction, _MACS_COLOR)}</td>"
            f'<td class="num">{runtime.partitions:,}</td></tr>')


def _delegate_details(name: str, report: DelegateReport, runtime: RuntimeComparison | None = None) -> str:
    groups = report.fallbacks_by_reason()
    if not groups and not report.graph_notes and runtime is None:
        return ""
    heading = ": ops left on the CPU, by first reason" if groups else ""
    if groups and runtime is not None:
        heading = ": ops the rules leave on the CPU, by first reason, and what the runtime did with them"
    parts = [f"<h4>{name}{heading}</h4>"]
    for note in report.graph_notes:
        parts.append(f'<p class="warn">⚠ {escape(note.text)} <span class="source">({escape(note.source)})</span></p>')
    if runtime is not None:
        parts.append(f"<p>{escape(_runtime_sentence(report, runtime))}</p>")
    if groups:
        parts.append("<table>")
        for reason, ops in list(groups.items())[:TOP_REASONS]:
            parts.append(f'<tr><td class="num">{len(ops):,}</td><td>{escape(reason)}</td>'
                         + (_runtime_cell(ops, runtime) if runtime is not None else "") + "</tr>")
        rest = list(groups.values())[TOP_REASONS:]
        if rest:
            more = sum(len(ops) for ops in rest)
            parts.append(f'<tr><td></td><td class="muted">and {len(rest)} more reason{"s" if len(rest) > 1 else ""} '
                         f'({more:,} op{"s" if more > 1 else ""})</td></tr>')
        parts.append("</table>")
    return "".join(parts)


def _runtime_sentence(report: DelegateReport, runtime: RuntimeComparison) -> str:
    predicted = report.subgraph_verdicts(0)
    taken = sum(v.supported for v in predicted)
    delegated = sum(op.delegated for op in runtime.ops)
    agree = sum(op.agrees for op in runtime.ops)
    total = len(runtime.ops)
    predicted_partitions = len(report.subgraph_partitions(0))
    text = (f"Runtime check (subgraph 0): the rules predict {taken:,} of {total:,} ops in {predicted_partitions:,} "
            f"partition{'' if predicted_partitions == 1 else 's'}; the interpreter delegated {delegated:,} in "
            f"{runtime.partitions:,} partition{'' if runtime.partitions == 1 else 's'}. They agree on {agree:,} of "
            f"{total:,} ops ({format_share(agree, total)}).")
    wrong = runtime.disagreements()
    if wrong:
        shown = ", ".join(f"#{op.index} {op.opcode} ({'delegated' if op.delegated else 'CPU'})" for op in wrong[:5])
        text += f" Where they differ, the runtime did: {shown}" + (f" and {len(wrong) - 5:,} more." if len(wrong) > 5
                                                                 else ".")
    return text


def _runtime_cell(ops: list[OpVerdict], runtime: RuntimeComparison) -> str:
    """Next to a reason of the rules: how many of its ops the runtime nevertheless delegated."""
    ours = [v for v in ops if v.subgraph == 0]
    if not ours:
        return '<td class="muted">not in subgraph 0</td>'
    delegated = sum(v.index in runtime.delegated for v in ours)
    if delegated == 0:
        return '<td class="muted">runtime: on the CPU too</td>'
    return f'<td class="warn">runtime: {delegated:,} of {len(ours):,} delegated</td>'
