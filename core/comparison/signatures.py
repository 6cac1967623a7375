"""Which signature of a model a comparison (or the lab, or the report) runs, and so which subgraph.

A model with signatures is run through one of them: the one the user names (`--signature KEY`,
the Compare page's Signature box), else `serving_default` when the model has it, else its first
signature. A model without signatures runs subgraph 0, as the interpreter's plain API does.
Candidates run the signature of the same key; a candidate without signatures runs subgraph 0
when the reference's signature is subgraph 0 (what a converter that writes no signatures makes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..reading.model import Model
from ..runtime.protocol import RunEntry

DEFAULT_KEY = "serving_default"


@dataclass(frozen=True)
class Entry:
    """A model's way in: the signature (None: the model has none) and the subgraph it runs, with
    the subgraph's inputs and outputs in the order samples are given and outputs are read."""

    key: str | None
    subgraph: int
    inputs: tuple[int, ...]  # tensor indices in `subgraph`
    outputs: tuple[int, ...]
    input_names: tuple[str, ...]  # the signature's names for `inputs` (the tensors' names without one)
    output_names: tuple[str, ...]
    own_order: bool = True  # inputs and outputs in the subgraph's own order (not another model's)

    def run_entry(self) -> RunEntry:
        """What the interpreter worker needs to run it: subgraph 0 in its own order is the
        worker's default, so the same interpreter serves every caller."""
        if self.subgraph == 0 and self.own_order:
            return RunEntry()
        return RunEntry(self.subgraph, self.inputs, self.outputs)

    def describe(self) -> str:
        if self.key is None:
            return "subgraph 0 (the model has no signatures)"
        return f"signature {self.key!r} (subgraph {self.subgraph})"


def signature_keys(model: Model) -> tuple[str, ...]:
    return tuple(s.key for s in model.signatures)


def default_key(model: Model) -> str | None:
    return default_of(signature_keys(model))


def default_of(keys: Sequence[str]) -> str | None:
    """The signature run when none is named: serving_default, else the first; None for none."""
    if not keys:
        return None
    return DEFAULT_KEY if DEFAULT_KEY in keys else keys[0]


def _names(model: Model, subgraph: int, tensors: tuple[int, ...], named: dict[str, int]) -> tuple[str, ...]:
    by_tensor = {index: name for name, index in named.items()}
    sg = model.subgraphs[subgraph]
    return tuple(by_tensor.get(i) or (sg.tensors[i].name if 0 <= i < len(sg.tensors) else str(i)) for i in tensors)


def model_entry(model: Model, key: str | None = None) -> Entry:
    """The signature `key` of `model` (None: its default), or subgraph 0 for a model without
    signatures. Raises InputError for a key the model does not have."""
    if key is None:
        key = default_key(model)
    if key is None:
        sg = model.main_subgraph
        return Entry(None, 0, sg.inputs, sg.outputs, _names(model, 0, sg.inputs, {}),
                     _names(model, 0, sg.outputs, {}))
    signature = next((s for s in model.signatures if s.key == key), None)
    if signature is None:
        keys = signature_keys(model)
        have = f"its signatures: {', '.join(repr(k) for k in keys)}" if keys else "it has no signatures"
        raise InputError(f"{model.file_name} has no signature {key!r} ({have})")
    if not 0 <= signature.subgraph < len(model.subgraphs):
        raise InputError(f"{model.file_name}: signature {key!r} names subgraph {signature.subgraph}, "
                         f"which the model does not have")
    sg = model.subgraphs[signature.subgraph]
    # The subgraph's own input order, which the interpreter and every earlier release use; the
    # signature's names label it (a signature lists the same tensors, keyed by name).
    return Entry(key, signature.subgraph, sg.inputs, sg.outputs,
                 _names(model, signature.subgraph, sg.inputs, signature.inputs),
                 _names(model, signature.subgraph, sg.outputs, signature.outputs))


def _same_names(mine: tuple[str, ...], theirs: tuple[str, ...]) -> bool:
    """The same distinct names in another order: then they say which is which."""
    return mine != theirs and len(set(mine)) == len(mine) and set(mine) == set(theirs)


def candidate_entry(candidate: Model, reference: Entry) -> Entry:
    """The candidate's entry for the reference's: the signature of the same key; subgraph 0 when
    the candidate has no signatures and the reference runs subgraph 0; and, when the reference
    has no signatures, the candidate's subgraph 0 (under its signature there, if it has one).
    Inputs come in the reference's order: by signature name when both name them alike."""
    if reference.key is None or not candidate.signatures:
        if reference.subgraph != 0:
            raise InputError(f"{candidate.file_name} has no signatures; {reference.describe()} is not subgraph 0")
        on_zero = next((s.key for s in candidate.signatures if s.subgraph == 0), None)
        entry = model_entry(candidate, on_zero) if on_zero is not None else Entry(
            None, 0, candidate.main_subgraph.inputs, candidate.main_subgraph.outputs,
            _names(candidate, 0, candidate.main_subgraph.inputs, {}),
            _names(candidate, 0, candidate.main_subgraph.outputs, {}))
        return entry
    entry = model_entry(candidate, reference.key)
    if _same_names(entry.input_names, reference.input_names):
        order = {name: k for k, name in enumerate(entry.input_names)}
        inputs = tuple(entry.inputs[order[name]] for name in reference.input_names)
        entry = Entry(entry.key, entry.subgraph, inputs, entry.outputs, reference.input_names, entry.output_names,
                      own_order=False)
    if _same_names(entry.output_names, reference.output_names):
        order = {name: k for k, name in enumerate(entry.output_names)}
        outputs = tuple(entry.outputs[order[name]] for name in reference.output_names)
        entry = Entry(entry.key, entry.subgraph, entry.inputs, outputs, entry.input_names, reference.output_names,
                      own_order=False)
    return entry
