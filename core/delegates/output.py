"""What `compat` prints: the JSON object per model and the text table, from delegate reports and
the runtime comparison."""

from __future__ import annotations

from typing import Any

from ..reading.model import Model
from .engine import DelegateReport
from .runtime_check import RuntimeComparison


def report_dict(report: DelegateReport) -> dict[str, Any]:
    fraction = report.macs_supported_fraction
    return {
        "title": report.title,
        "ops_supported": report.ops_supported,
        "ops_total": report.ops_total,
        "macs_supported_fraction": None if fraction is None else round(fraction, 6),
        "partitions": report.partitions,
        "settings": report.settings.as_dict() if report.settings is not None else {},
        "graph_notes": [{"text": r.text, "source": r.source} for r in report.graph_notes],
        "fallbacks_by_reason": [
            {"reason": reason, "count": len(ops), "ops": [[v.subgraph, v.index] for v in ops]}
            for reason, ops in report.fallbacks_by_reason().items()
        ],
        "ops": [
            {
                "subgraph": v.subgraph,
                "index": v.index,
                "opcode": v.opcode,
                "version": v.version,
                "supported": v.supported,
                "reasons": [{"text": r.text, "source": r.source} for r in v.reasons],
            }
            for v in report.ops
        ],
    }


def comparison_dict(comparison: RuntimeComparison) -> dict[str, Any]:
    return {
        "subgraph": 0,
        "partitions": comparison.partitions,
        "predicted_partitions": len(comparison.predicted_groups),
        "agreement": comparison.agreement,
        "ops": [
            {"subgraph": 0, "index": op.index, "opcode": op.opcode, "predicted": op.predicted,
             "delegated": op.delegated}
            for op in comparison.ops
        ],
        "disagreements": [
            {"index": op.index, "opcode": op.opcode, "predicted": op.predicted, "delegated": op.delegated}
            for op in comparison.disagreements()
        ],
    }


_OPS_PER_REASON = 6


def format_compat_text(
    model: Model,
    reports: dict[str, DelegateReport],
    comparison: RuntimeComparison | None = None,
    runtime_failure: str | None = None,
    *,
    verbose: bool = False,
) -> str:
    """A table of delegates, then each delegate's CPU fallbacks grouped by reason."""
    lines = [str(model.path)]
    lines.append(f"  {'delegate':<10} {'ops taken':>16} {'MACs taken':>11} {'partitions':>11}")
    for report in reports.values():
        fraction = report.macs_supported_fraction
        share = report.ops_supported / report.ops_total if report.ops_total else 0.0
        taken = f"{report.ops_supported}/{report.ops_total} ({share:.0%})"
        macs = "-" if fraction is None else f"{fraction:.1%}"
        lines.append(f"  {report.title:<10} {taken:>16} {macs:>11} {report.partitions:>11}")
    for report in reports.values():
        fallbacks = report.fallbacks_by_reason()
        if not fallbacks and not report.graph_notes:
            continue
        lines.append("")
        lines.append(f"{report.title}: {len(report.fallbacks())} op(s) run on the CPU")
        for note in report.graph_notes:
            lines.append(f"  note: {note.text}  [{note.source}]")
        for reason, ops in fallbacks.items():
            shown = ops if verbose else ops[:_OPS_PER_REASON]
            where = ", ".join(f"{'' if v.subgraph == 0 else f'{v.subgraph}:'}#{v.index} {v.opcode}" for v in shown)
            more = f", ... {len(ops) - len(shown)} more" if len(shown) < len(ops) else ""
            lines.append(f"  - {reason}  [{ops[0].reasons[0].source}]")
            lines.append(f"      {len(ops)} op(s): {where}{more}")
    if comparison is not None:
        lines.append("")
        agreement = comparison.agreement
        lines.append(
            f"XNNPACK runtime (LiteRT interpreter, subgraph 0): prediction agrees on "
            f"{len(comparison.ops) - len(comparison.disagreements())} of {len(comparison.ops)} ops"
            + ("" if agreement is None else f" ({agreement:.1%})")
            + f"; the rules predict {len(comparison.predicted_groups)} partition(s), "
            f"the runtime made {comparison.partitions} delegate partition(s)"
        )
        for op in comparison.disagreements():
            lines.append(
                f"  - #{op.index} {op.opcode}: predicted {'XNNPACK' if op.predicted else 'CPU'}, runtime "
                f"{'delegated it' if op.delegated else 'kept it on the CPU'}"
            )
    elif runtime_failure is not None:
        lines.append("")
        lines.append(f"XNNPACK runtime: not checked, the interpreter refused the model: {runtime_failure}")
    return "\n".join(lines)
