"""Whether an output holds a score per class, and its best classes with their labels."""

from __future__ import annotations

import numpy as np

from ..reading.labels import Labels, label_of
from ..reading.model import Model
from .results import RankedClass

TOP_K = 5
# Ops whose output is a score per class (not LOGISTIC: masks and gates use it too). An output
# they produce (through requantizing or reshaping ops) is read as a classifier's when it is a
# vector of at least two values.
SCORE_OPS = ("SOFTMAX", "LOG_SOFTMAX")
_PASS_THROUGH = ("QUANTIZE", "DEQUANTIZE", "CAST", "RESHAPE", "SQUEEZE")


def is_classifier_output(model: Model, tensor_index: int, labelled: bool, subgraph: int = 0) -> bool:
    """A vector of at least two scores, made by a softmax (or given labels: `labelled`)."""
    sg = model.subgraphs[subgraph]
    t = sg.tensors[tensor_index]
    shape = [d for d in t.shape if d != 1]
    if len(shape) != 1 or shape[0] < 2:
        return False
    if labelled:
        return True
    producers = sg.producers
    index = tensor_index
    for _ in range(4):  # through QUANTIZE/DEQUANTIZE/CAST/RESHAPE to the op that made the scores
        op = producers.get(index)
        if op is None:
            return False
        operator = sg.operators[op]
        if operator.opcode in SCORE_OPS:
            return True
        if operator.opcode not in _PASS_THROUGH or not operator.inputs:
            return False
        index = operator.inputs[0]
    return False


def model_is_classifier(model: Model, subgraph: int = 0) -> bool:
    sg = model.subgraphs[subgraph]
    return bool(sg.outputs) and is_classifier_output(model, sg.outputs[0], False, subgraph)


def top_classes(scores: np.ndarray, k: int, labels: Labels | None) -> tuple[RankedClass, ...]:
    """The k best classes, best first (ties in class order)."""
    flat = scores.ravel()
    order = np.argsort(-flat, kind="stable")[:k]
    return tuple(RankedClass(int(i), label_of(labels, int(i)), float(flat[i])) for i in order)
