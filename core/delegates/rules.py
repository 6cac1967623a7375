"""Evaluating one op against a delegate's rule table: its table entry (or the delegate's "unknown
op" rule), version caps and API levels, then every check the entry and `all_ops` name.
Graph-level effects (partitions, dynamic tensors) are engine.py's.
"""

from __future__ import annotations

import functools
from typing import Any

# Importing the check modules registers their checks (context.CHECKS, SPECIAL_CHECKS).
from . import checks, delegate_checks, gpu_checks, special_checks  # noqa: F401
from . import tables
from ..errors import RuleError
from .context import CHECKS, OpContext
from .tables import GRAPH_RULES, Reason, fmt_template


@functools.cache
def checked_rules(name: str) -> dict[str, Any]:
    """A delegate's rule table, checked (validate_table). Raises RuleError."""
    table = tables.load_rules(name)
    if name != GRAPH_RULES:
        validate_table(name, table)
    return table


def validate_table(name: str, rules: dict[str, Any]) -> None:
    """A table names only checks that exist and has what the engine reads. Raises RuleError."""
    if "delegate" not in rules:
        raise RuleError(f"{name}.toml has no [delegate] section")
    for entry in rules.get("op", []):
        if not entry.get("opcodes"):
            raise RuleError(f"{name}.toml: an [[op]] entry has no opcodes")
        for check in entry.get("checks", []):
            if check.get("check") not in CHECKS:
                raise RuleError(f"{name}.toml {entry['opcodes']}: unknown check {check.get('check')!r}")
    for check in rules.get("all_ops", []):
        if check.get("check") not in CHECKS:
            raise RuleError(f"{name}.toml all_ops: unknown check {check.get('check')!r}")




def _source(rule: dict[str, Any], entry: dict[str, Any] | None, delegate: dict[str, Any]) -> str:
    return rule.get("source") or (entry or {}).get("source") or delegate["source"]


def _applies(rule: dict[str, Any], ctx: OpContext) -> bool:
    """Conditional rules: `api_below`, `when_dtype` (selector and types), `opcodes`."""
    if "api_below" in rule and ctx.settings.api_level >= rule["api_below"]:
        return False
    if "opcodes" in rule and ctx.op.opcode not in rule["opcodes"]:
        return False
    if "skip_opcodes" in rule and ctx.op.opcode in rule["skip_opcodes"]:
        return False
    when = rule.get("when_dtype")
    if when is not None:
        tensors = ctx.select(when["tensors"])
        if not any(t.dtype in when["dtypes"] for _, t in tensors):
            return False
    when_q = rule.get("when_quantized")
    if when_q is not None:
        tensors = ctx.select(when_q)
        if not any(t.quantization is not None and t.quantization.is_quantized for _, t in tensors):
            return False
    return True


def evaluate_op(ctx: OpContext) -> list[Reason]:
    """Reasons the delegate of `ctx.rules` refuses this op, ignoring graph-level effects; empty = taken."""
    rules, ops_by_code = ctx.rules, ctx.ops_by_code
    delegate = rules["delegate"]
    op = ctx.op
    entry = ops_by_code.get(op.opcode)
    if entry is not None and entry.get("param_inputs"):
        ctx.param_inputs = tuple(entry["param_inputs"])
    if entry is None:
        template = delegate["custom_op_reason"] if op.is_custom else delegate["unknown_op_reason"]
        return [Reason(fmt_template(template, opcode=op.opcode), delegate.get("ops_source", delegate["source"]))]
    reasons: list[Reason] = []
    max_version = entry.get("max_version")
    if max_version is not None and op.version > max_version:
        reasons.append(
            Reason(
                fmt_template(delegate["max_version_reason"], max=max_version, version=op.version, opcode=op.opcode),
                entry.get("version_source") or entry.get("source") or delegate["source"],
            )
        )
    if op.version in entry.get("refused_versions", ()):
        reasons.append(
            Reason(
                fmt_template(
                    delegate.get("refused_version_reason", "unsupported version {version} of {opcode}"),
                    version=op.version,
                    opcode=op.opcode,
                ),
                entry.get("source") or delegate["source"],
            )
        )
    exact_version = entry.get("version")
    if exact_version is not None and op.version != exact_version:
        reasons.append(
            Reason(
                fmt_template(
                    delegate.get("exact_version_reason", "Version {version} is not supported (needs {exact})"),
                    exact=exact_version,
                    version=op.version,
                ),
                entry.get("source") or delegate["source"],
            )
        )
    if "min_api_level" in entry:
        level = ctx.settings.api_level
        if level < entry["min_api_level"]:
            reasons.append(
                Reason(
                    f"Android sdk version less than {entry['min_api_level']}", entry.get("source") or delegate["source"]
                )
            )
    for rule in [*rules.get("all_ops", []), *entry.get("checks", [])]:
        if not _applies(rule, ctx):
            continue
        message = CHECKS[rule["check"]](ctx, rule)
        if message is not None:
            source = _source(rule, entry, delegate)
            key = f"{rule['check']}|{rule.get('name', '')}|{rule.get('reason', '')}|{source}"
            reasons.append(Reason(message, source, key))
            if rule.get("final", False):
                break
    return reasons
