"""Asking the delegate rules about one model, for the per-delegate rule tests."""

from __future__ import annotations

from tflite_inspector.core import compat
from tflite_inspector.core.model import Model


def taken(model: Model, delegate: str, api_level: int = compat.DEFAULT_NNAPI_API_LEVEL) -> list[bool]:
    """Each op's verdict, in order (all subgraphs)."""
    return [v.supported for v in compat.analyze(model, delegate, api_level=api_level).ops]


def verdict(
    model: Model,
    delegate: str,
    index: int,
    subgraph: int = 0,
    api_level: int = compat.DEFAULT_NNAPI_API_LEVEL,
) -> compat.OpVerdict:
    v = compat.analyze(model, delegate, api_level=api_level).verdict(subgraph, index)
    assert v is not None
    return v


def reason_with(v: compat.OpVerdict, words: str) -> compat.Reason:
    """The op's reason containing `words` (failing if none does)."""
    for r in v.reasons:
        if words in r.text:
            return r
    raise AssertionError(f"no reason of #{v.index} {v.opcode} mentions {words!r}: {[r.text for r in v.reasons]}")
