"""The delegate rule tables: `resources/delegates/<delegate>.toml`, one per delegate, written from
the delegate's own source (docs/delegate_rules.md has the format). Loading them, looking an op
up, and filling a reason's template.
"""

from __future__ import annotations

import functools
import importlib.resources
import tomllib
from dataclasses import dataclass, field
from typing import Any

from ..errors import RuleError

GRAPH_RULES = "graph"


@dataclass(frozen=True)
class Reason:
    """Why an op stays on the CPU, in the delegate's terms, and where the rule comes from."""

    text: str
    source: str
    # Which rule gave it: reasons of one rule (rank 5 on different tensors, one
    # partition cap) group together in summaries. Empty = group by text.
    rule: str = field(default="", compare=False)


@functools.cache
def load_rules(name: str) -> dict[str, Any]:
    """A rule table as TOML gives it (rules.checked_rules also checks that the checks it names
    exist). Raises RuleError."""
    resource = importlib.resources.files("tflite_inspector.resources").joinpath("delegates", f"{name}.toml")
    try:
        return tomllib.loads(resource.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RuleError(f"rule table {name}.toml: {e}") from e


@functools.cache
def op_index(name: str) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for entry in load_rules(name).get("op", []):
        for opcode in entry["opcodes"]:
            if opcode in index:
                raise RuleError(f"{name}.toml lists {opcode} twice")
            index[opcode] = entry
    return index


def delegate_title(name: str) -> str:
    return load_rules(name)["delegate"]["title"]


def fmt_template(template: str, **values: Any) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError) as e:
        raise RuleError(f"reason template {template!r}: {e}") from e
