"""Mixed precision: the ops a lab run keeps in float, chosen by the user as selectors, turned into
ai-edge-quantizer's own per-op recipe scopes (never by editing a model by hand).

A selector is one of, comma-separated:
- an op index of subgraph 0 (`12`), or a range (`10-14`);
- an op type (`PRELU`, `softmax`: matched without regard to case against the model's op types);
- otherwise a regular expression searched in the op's output tensor names (`conv2d_2`,
  `re:^model/dense`; the `re:` prefix forces this reading).

ai-edge-quantizer picks each op's recipe by its *scope*: the op's output tensor names joined by
";" with a trailing ";" (tfl_flatbuffer_utils.get_op_scope). A kept op gets a recipe entry whose
regex is exactly its scope, with the algorithm "no_quantize"; as the latest matching entry, it
wins over the mode's own recipe for that op only (runtime/conversion_child.py adds the entries).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConversionError
from ..reading.model import Model, Subgraph

REGEX_PREFIX = "re:"


@dataclass(frozen=True)
class KeptOps:
    """The ops of subgraph 0 the selectors pick, in execution order, and the quantizer's scope regex
    for each."""

    ops: tuple[int, ...]
    scopes: tuple[str, ...]
    describe: str  # e.g. "3 ops (PRELU ×3)"


def split_selectors(text: str | Sequence[str]) -> tuple[str, ...]:
    parts = text.split(",") if isinstance(text, str) else [p for item in text for p in item.split(",")]
    return tuple(p.strip() for p in parts if p.strip())


def op_scope(sg: Subgraph, op_index: int) -> str:
    """The op's scope as ai-edge-quantizer computes it: output tensor names, else input names."""
    op = sg.operators[op_index]
    names = [sg.tensors[i].name for i in op.outputs if i >= 0 and sg.tensors[i].name]
    if not names:
        names = [sg.tensors[i].name for i in op.inputs if i >= 0 and sg.tensors[i].name]
    return ";".join(names) + (";" if names else "")


def resolve(model: Model, selectors: Sequence[str]) -> KeptOps:
    """The ops the selectors pick. Raises ConversionError for a selector that picks nothing or an
    index outside the subgraph, naming it."""
    sg = model.main_subgraph
    types = {op.opcode.upper() for op in sg.operators}
    picked: set[int] = set()
    for selector in selectors:
        found = _pick(sg, types, selector)
        if not found:
            raise ConversionError(f"--keep-float {selector!r} picks no op of subgraph 0 (an op index, an op type of "
                                  f"this model such as {', '.join(sorted(types)[:4])}, or a regex over output "
                                  "tensor names)")
        picked |= found
    ops = tuple(sorted(picked))
    by_type: dict[str, int] = {}
    for i in ops:
        by_type[sg.operators[i].opcode] = by_type.get(sg.operators[i].opcode, 0) + 1
    kinds = ", ".join(f"{t} ×{n}" if n > 1 else t for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])))
    describe = f"{len(ops)} op{'' if len(ops) == 1 else 's'} ({kinds})"
    scopes = tuple(dict.fromkeys("^" + re.escape(scope) + "$" for i in ops if (scope := op_scope(sg, i))))
    return KeptOps(ops, scopes, describe)


def _pick(sg: Subgraph, types: set[str], selector: str) -> set[int]:
    n = len(sg.operators)
    if re.fullmatch(r"\d+", selector):
        index = int(selector)
        if index >= n:
            raise ConversionError(f"--keep-float {selector}: subgraph 0 has ops 0 to {n - 1}")
        return {index}
    if (m := re.fullmatch(r"(\d+)-(\d+)", selector)) is not None:
        low, high = int(m.group(1)), int(m.group(2))
        if low > high or high >= n:
            raise ConversionError(f"--keep-float {selector}: not a range within ops 0 to {n - 1}")
        return set(range(low, high + 1))
    if not selector.startswith(REGEX_PREFIX) and selector.upper() in types:
        return {op.index for op in sg.operators if op.opcode.upper() == selector.upper()}
    pattern_text = selector.removeprefix(REGEX_PREFIX)
    try:
        pattern = re.compile(pattern_text)
    except re.error as e:
        raise ConversionError(f"--keep-float {selector!r} is not a regular expression: {e}") from None
    return {op.index for op in sg.operators
            if any(i >= 0 and pattern.search(sg.tensors[i].name) for i in op.outputs)}


def file_tag(selectors: Sequence[str]) -> str:
    """A short file-name part naming what was kept in float: `_keep-PRELU-12`; a long list is
    cut and given a hash of the whole, so two different lists never share a file name."""
    if not selectors:
        return ""
    full = re.sub(r"[^\w.-]+", "", "-".join(s.removeprefix(REGEX_PREFIX) for s in selectors)) or "float"
    if len(full) > 40 or full != "-".join(selectors):
        digest = hashlib.sha1("\x00".join(selectors).encode()).hexdigest()[:6]
        full = f"{full[:32]}-{digest}"
    return f"_keep-{full}"
