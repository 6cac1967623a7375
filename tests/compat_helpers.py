"""Asking the delegate rules about one model, for the per-delegate rule tests."""

from __future__ import annotations

from tflite_inspector.core.delegates.engine import OpVerdict, analyze
from tflite_inspector.core.delegates.settings import DEFAULT_NNAPI_API_LEVEL, DelegateSettings
from tflite_inspector.core.delegates.tables import Reason
from tflite_inspector.core.reading.model import Model


def taken(model: Model, delegate: str, api_level: int = DEFAULT_NNAPI_API_LEVEL) -> list[bool]:
    """Each op's verdict, in order (all subgraphs)."""
    return [v.supported for v in analyze(model, delegate, DelegateSettings(api_level)).ops]


def verdict(
    model: Model,
    delegate: str,
    index: int,
    subgraph: int = 0,
    api_level: int = DEFAULT_NNAPI_API_LEVEL,
) -> OpVerdict:
    v = analyze(model, delegate, DelegateSettings(api_level)).verdict(subgraph, index)
    assert v is not None
    return v


def reason_with(v: OpVerdict, words: str) -> Reason:
    """The op's reason containing `words` (failing if none does)."""
    for r in v.reasons:
        if words in r.text:
            return r
    raise AssertionError(f"no reason of #{v.index} {v.opcode} mentions {words!r}: {[r.text for r in v.reasons]}")
