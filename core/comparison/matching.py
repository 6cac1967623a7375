"""Which tensor of a candidate model holds the same values as which tensor of the reference.

Only the activations of the subgraph each model runs are matched (its signature's, else
subgraph 0: signatures.py): its inputs and the outputs of its ops.
Weights, and the float values a DEQUANTIZE op makes of float16 or int8 weights, are not
layers; they are counted as such, not listed as unmatched.

In order, each step only among tensors still unmatched:
1. the subgraph inputs, by position; the subgraph outputs, by position;
2. by name (converters keep names across modes), when the element counts agree;
3. requantization: a QUANTIZE, DEQUANTIZE or CAST op that one model has and the other
   has not re-expresses the same values, so its output matches what its input matches
   (the int8 candidate's QUANTIZE after a float input, its DEQUANTIZE before a float output);
4. by graph position: the two op sequences in execution order are aligned on (op type,
   output shapes), and aligned ops' outputs are matched.
What is left is listed as unmatched, in both models.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..reading.model import Model, Subgraph, Tensor
from .signatures import Entry, candidate_entry, model_entry

REQUANTIZING_OPS = ("QUANTIZE", "DEQUANTIZE", "CAST")
_NOT_VALUES = ("STRING", "RESOURCE", "VARIANT")


@dataclass(frozen=True)
class TensorPair:
    reference: int  # tensor index in the subgraph the reference runs
    candidate: int  # ... the candidate runs
    how: str  # "input", "output", "name", "requantized", "position"
    reference_op: int  # producing op in the reference, −1 for a model input
    candidate_op: int


@dataclass(frozen=True)
class UnmatchedTensor:
    model: str  # "reference" or "candidate"
    tensor: int
    name: str
    op: int  # producing op, −1 for a model input
    opcode: str
    reason: str


@dataclass(frozen=True)
class SkippedWeights:
    """Weights that a DEQUANTIZE op makes float, in each model: not layers, so neither matched
    nor listed as unmatched."""

    reference: int
    candidate: int


@dataclass(frozen=True)
class TensorMatching:
    pairs: tuple[TensorPair, ...]  # in the reference's execution order
    unmatched: tuple[UnmatchedTensor, ...]
    weights_skipped: SkippedWeights


def _is_weight_dequantize(sg: Subgraph, op_index: int) -> bool:
    op = sg.operators[op_index]
    if op.opcode != "DEQUANTIZE" or not op.inputs:
        return False
    i = op.inputs[0]
    return 0 <= i < len(sg.tensors) and sg.tensors[i].is_constant


def _comparable(t: Tensor) -> bool:
    return t.dtype not in _NOT_VALUES


class _Side:
    """The activations of the subgraph a model runs, in execution order."""

    def __init__(self, model: Model, entry: Entry) -> None:
        self.sg = model.subgraphs[entry.subgraph]
        self.entry = entry
        self.producer: dict[int, int] = {}
        self.activations: list[int] = []
        self.weight_dequantizes = 0
        seen: set[int] = set()
        for i in self.sg.inputs:
            if 0 <= i < len(self.sg.tensors) and i not in seen:
                seen.add(i)
                self.activations.append(i)
                self.producer[i] = -1
        for op in self.sg.operators:
            if _is_weight_dequantize(self.sg, op.index):
                self.weight_dequantizes += 1
                continue
            for o in op.outputs:
                if 0 <= o < len(self.sg.tensors) and o not in seen and not self.sg.tensors[o].is_constant:
                    seen.add(o)
                    self.activations.append(o)
                    self.producer[o] = op.index

    def tensor(self, index: int) -> Tensor:
        return self.sg.tensors[index]

    def opcode(self, index: int) -> str:
        op = self.producer.get(index, -1)
        return "input" if op < 0 else self.sg.operators[op].opcode

    def requantizing_input(self, index: int) -> int | None:
        """The activation a QUANTIZE/DEQUANTIZE/CAST op re-expresses as `index`."""
        op = self.producer.get(index, -1)
        if op < 0:
            return None
        operator = self.sg.operators[op]
        if operator.opcode in REQUANTIZING_OPS and operator.inputs and operator.inputs[0] in self.producer:
            return operator.inputs[0]
        return None


def _same_size(a: Tensor, b: Tensor) -> bool:
    return a.num_elements == b.num_elements and (a.num_elements > 0 or a.shape == b.shape)


def match_tensors(reference: Model, candidate: Model, reference_entry: Entry | None = None,
                  candidate_entry_: Entry | None = None) -> TensorMatching:
    """Match within the subgraphs the entries run (default: the reference's default signature,
    or subgraph 0, and the candidate's of the same key)."""
    reference_entry = reference_entry or model_entry(reference)
    ref = _Side(reference, reference_entry)
    cand = _Side(candidate, candidate_entry_ or candidate_entry(candidate, reference_entry))
    ref_to_cand: dict[int, int] = {}
    cand_to_ref: dict[int, int] = {}
    how: dict[int, str] = {}  # candidate tensor -> how it was matched

    def pair(r: int, c: int, kind: str) -> bool:
        if c in cand_to_ref or not _comparable(ref.tensor(r)) or not _comparable(cand.tensor(c)):
            return False
        if not _same_size(ref.tensor(r), cand.tensor(c)):
            return False
        cand_to_ref[c] = r
        ref_to_cand.setdefault(r, c)
        how[c] = kind
        return True

    # 1. Interface tensors by position.
    for kind, r_list, c_list in (("input", ref.entry.inputs, cand.entry.inputs),
                                 ("output", ref.entry.outputs, cand.entry.outputs)):
        for r, c in zip(r_list, c_list):
            if r in ref.producer and c in cand.producer and r not in ref_to_cand:
                pair(r, c, kind)

    # 2. By name, when a name is unique in both models.
    def unique_names(side: _Side) -> dict[str, int]:
        counts: dict[str, int] = {}
        for i in side.activations:
            name = side.tensor(i).name
            counts[name] = -1 if name in counts else i
        return {n: i for n, i in counts.items() if i >= 0 and n}

    cand_names = unique_names(cand)
    for name, r in unique_names(ref).items():
        c = cand_names.get(name)
        if c is not None and r not in ref_to_cand:
            pair(r, c, "name")

    # 3. Requantizing ops in one model only: same values, re-expressed. Repeat until stable,
    # since chains (QUANTIZE then CAST) pass a match along.
    changed = True
    while changed:
        changed = False
        for c in cand.activations:
            if c in cand_to_ref:
                continue
            source = cand.requantizing_input(c)
            if source is not None and source in cand_to_ref:
                changed |= pair(cand_to_ref[source], c, "requantized")
        # Backwards too: the int8 tensor that a final DEQUANTIZE turns into the float output.
        for c in list(cand_to_ref):
            source = cand.requantizing_input(c)
            if source is not None and source not in cand_to_ref:
                changed |= pair(cand_to_ref[c], source, "requantized")
        for r in ref.activations:
            if r in ref_to_cand:
                continue
            source = ref.requantizing_input(r)
            if source is not None and source in ref_to_cand:
                c = ref_to_cand[source]
                # The reference's own requantization matches the candidate tensor its input
                # matched; the pair is listed under the reference tensor.
                if _comparable(ref.tensor(r)) and _same_size(ref.tensor(r), cand.tensor(c)):
                    ref_to_cand[r] = c
                    changed = True

    # 4. By graph position: align the op sequences on (op type, output shapes).
    def op_sequence(side: _Side) -> list[int]:
        return [
            op.index for op in side.sg.operators
            if not _is_weight_dequantize(side.sg, op.index) and op.opcode not in REQUANTIZING_OPS
        ]

    def op_key(side: _Side, op_index: int) -> tuple:
        op = side.sg.operators[op_index]
        shapes = tuple(side.tensor(o).shape if 0 <= o < len(side.sg.tensors) else () for o in op.outputs)
        return op.opcode, shapes

    r_ops, c_ops = op_sequence(ref), op_sequence(cand)
    matcher = difflib.SequenceMatcher(
        None, [op_key(ref, i) for i in r_ops], [op_key(cand, i) for i in c_ops], autojunk=False
    )
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            r_op = ref.sg.operators[r_ops[block.a + k]]
            c_op = cand.sg.operators[c_ops[block.b + k]]
            for r, c in zip(r_op.outputs, c_op.outputs):
                if r in ref.producer and c in cand.producer and r not in ref_to_cand:
                    pair(r, c, "position")

    pairs = []
    order = {t: k for k, t in enumerate(ref.activations)}
    for c, r in cand_to_ref.items():
        pairs.append(TensorPair(r, c, how[c], ref.producer[r], cand.producer[c]))
    # Reference-only requantizations: the reference tensor paired with the candidate's.
    for r, c in ref_to_cand.items():
        if cand_to_ref.get(c) != r:
            pairs.append(TensorPair(r, c, "requantized", ref.producer[r], cand.producer[c]))
    pairs.sort(key=lambda p: (order[p.reference], p.how == "requantized", p.candidate))

    unmatched = []
    for side_name, side, matched in (("reference", ref, ref_to_cand), ("candidate", cand, cand_to_ref)):
        for i in side.activations:
            if i in matched:
                continue
            t = side.tensor(i)
            reason = f"{t.dtype} holds no values to compare" if not _comparable(t) else "no counterpart found"
            unmatched.append(UnmatchedTensor(side_name, i, t.name, side.producer[i], side.opcode(i), reason))
    return TensorMatching(tuple(pairs), tuple(unmatched), SkippedWeights(ref.weight_dequantizes, cand.weight_dequantizes))
