"""What `compare` prints: the JSON object (docs/comparison.md) and the text summary."""

from __future__ import annotations

import math
from typing import Any

from ..formatting import format_metric
from ..metrics import METRIC_NAMES, SUSPECT_RMSE_OVER_SCALE, ErrorMetrics, json_number
from .results import Comparison, RankedClass

# The metrics of the text table, in its column order.
_TABLE_METRICS = ("sqnr_db", "cosine", "mean_squared_error", "max_abs_error", "rmse_over_scale")


def _metrics_dict(metrics: ErrorMetrics | None) -> dict[str, Any]:
    if metrics is None:
        return {name: None for name in METRIC_NAMES}
    return {name: json_number(getattr(metrics, name)) for name in METRIC_NAMES}


def _classes(top: tuple[RankedClass, ...]) -> list[dict[str, Any]]:
    return [{"class": c.index, "label": c.label, "score": json_number(c.score)} for c in top]


def comparison_dict(comparison: Comparison, *, per_input: bool = False) -> dict[str, Any]:
    """The JSON form (docs/comparison.md): floats that are infinite or NaN become null."""
    candidates = []
    for cand in comparison.candidates:
        layers = []
        for layer in cand.layers:
            entry = {
                "reference_tensor": layer.reference_name,
                "candidate_tensor": layer.candidate_name,
                "op": layer.op,
                "op_index": layer.op_index,
                "candidate_op": layer.candidate_op,
                "matched_by": layer.how,
                "candidate_dtype": layer.candidate_dtype,
                **_metrics_dict(layer.metrics),
                "identical": layer.metrics.sqnr_db == math.inf,
                # The op alone on the reference's activations (docs/comparison.md): with the
                # rounding of its inputs, and without it ("own"); null where not run alone.
                "isolated": _metrics_dict(layer.isolated) if layer.isolated else None,
                "isolated_own": _metrics_dict(layer.isolated_own) if layer.isolated_own else None,
                "suspect": layer.suspect,
            }
            if per_input:
                entry["per_input"] = [_metrics_dict(m) for m in layer.per_input]
            layers.append(entry)
        outputs = []
        for out in cand.outputs:
            entry = {
                "name": out.name,
                "kind": out.kind,
                "top1_agreement": out.top1_agreement,
                "topk_overlap": out.topk_overlap,
                "k": out.k or None,
                "labels": out.labels_source,
                **_metrics_dict(out.metrics),
            }
            if out.top:
                entry["top"] = [
                    {"input": t.input, "reference": _classes(t.reference), "candidate": _classes(t.candidate)}
                    for t in out.top
                ]
            outputs.append(entry)
        candidates.append({
            "path": cand.path,
            "error": cand.error,
            "isolated": cand.isolated,
            "isolated_note": cand.isolated_note,
            "layers": layers,
            "outputs": outputs,
            "unmatched": [
                {"model": u.model, "tensor": u.name, "op": u.opcode, "op_index": u.op, "reason": u.reason}
                for u in cand.unmatched
            ],
            "dequantized_weights_skipped": {"reference": cand.weights_skipped.reference,
                                            "candidate": cand.weights_skipped.candidate},
        })
    return {
        "reference": comparison.reference,
        # The signature run (null: the reference has none and subgraph 0 was run) and its subgraph.
        "signature": comparison.signature,
        "subgraph": comparison.subgraph,
        "signatures": list(comparison.signatures),
        "inputs": list(comparison.inputs),
        "inputs_description": comparison.inputs_description,
        "random_inputs": comparison.random_inputs,
        "input_errors": list(comparison.input_errors),
        "preprocessing": comparison.preprocessing,
        "cancelled": comparison.cancelled,
        "candidates": candidates,
    }


def format_comparison_text(comparison: Comparison, *, verbose: bool = False, worst: int = 10) -> str:
    lines = [f"reference: {comparison.reference}"]
    lines.append(f"run: {comparison.describe_signature()}")
    lines.append(f"inputs: {comparison.inputs_description}" + ("  [RANDOM DATA]" if comparison.random_inputs else ""))
    if comparison.preprocessing:
        lines.append(f"preprocessing: {comparison.preprocessing}")
    for message in comparison.input_errors:
        lines.append(f"  skipped: {message}")
    if comparison.cancelled:
        lines.append(f"cancelled after {len(comparison.inputs)} input(s)")
    for cand in comparison.candidates:
        lines.append("")
        lines.append(f"candidate: {cand.path}")
        if cand.error:
            lines.append(f"  error: {cand.error}")
        if not cand.layers:
            continue
        for out in cand.outputs:
            if out.kind == "classifier":
                lines.append(
                    f"  output {out.name}: top-1 agreement {out.top1_agreement:.0%}, "
                    f"top-{out.k} overlap {out.topk_overlap:.0%}"
                    + (f" (labels: {out.labels_source})" if out.labels_source else "")
                )
            m = out.metrics
            if m is not None:
                lines.append(
                    f"  output {out.name}: SQNR {format_metric('sqnr_db', m.sqnr_db)} dB, "
                    f"cosine {format_metric('cosine', m.cosine)}, "
                    f"MSE {format_metric('mean_squared_error', m.mean_squared_error)}, "
                    f"max |error| {format_metric('max_abs_error', m.max_abs_error)}"
                )
        shown = cand.layers if verbose else cand.worst_layers("sqnr_db", worst)
        lines.append(
            f"  {'all' if verbose else f'worst {len(shown)} of'} {len(cand.layers)} matched tensors"
            + ("" if verbose else " by SQNR")
            + f"; {len(cand.unmatched)} unmatched"
        )
        if cand.isolated_note:
            lines.append(f"  isolated: {cand.isolated_note}")
        lines.append("    end to end (each layer with everything upstream) | isolated: the op alone on the "
                     "reference's activations, own = without its input rounding; ! = suspect (own rmse/scale > "
                     f"{SUSPECT_RMSE_OVER_SCALE})")
        lines.append(f"    {'#':>5} {'op':<18} {'SQNR dB':>8} {'cosine':>8} {'MSE':>10} {'max|err|':>10} "
                     f"{'rmse/scale':>10} | {'iso dB':>7} {'own dB':>7} {'own r/s':>8}  tensor")
        for layer in shown:
            m = layer.metrics
            flag = " !" if layer.suspect else ""
            cells = [format_metric(name, getattr(m, name)) for name in _TABLE_METRICS]
            iso = format_metric("sqnr_db", layer.isolated.sqnr_db) if layer.isolated else "-"
            own = format_metric("sqnr_db", layer.isolated_own.sqnr_db) if layer.isolated_own else "-"
            own_steps = (format_metric("rmse_over_scale", layer.isolated_own.rmse_over_scale)
                         if layer.isolated_own else "-")
            lines.append(
                f"    {layer.op_index if layer.op_index >= 0 else '-':>5} {layer.op[:18]:<18} "
                f"{cells[0]:>8} {cells[1]:>8} {cells[2]:>10} {cells[3]:>10} {cells[4]:>10} | {iso:>7} {own:>7} "
                f"{own_steps:>8}{flag:2} {layer.reference_name[:60]}"
            )
        for u in cand.unmatched[: None if verbose else 10]:
            lines.append(f"  unmatched in {u.model}: {u.name} ({u.opcode}): {u.reason}")
        if not verbose and len(cand.unmatched) > 10:
            lines.append(f"  ... {len(cand.unmatched) - 10} more unmatched (-v lists all)")
    return "\n".join(lines)

