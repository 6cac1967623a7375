"""Class labels: the label file a model carries (named by its TFLite metadata, or attached to it
without metadata) or one the user gives, and the label of a class index."""

from __future__ import annotations

import os
import re

from ..errors import InputError, ModelError
from .model import Model
from .attached_zip import read_associated_file
from .regular_files import open_regular

Labels = list[str] | dict[int, str]  # one label per line, or "<id> <label>" lines (Coral's format)


def parse_labels(text: str) -> Labels:
    """A label file: one label per line, or "<id> <label>" / "<id>: <label>" lines (Coral's format)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    numbered = [re.match(r"^(\d+)[:\s]\s*(.+)$", line) for line in lines]
    if lines and all(numbered):
        return {int(m.group(1)): m.group(2).strip() for m in numbered if m}
    return lines


def model_labels(model: Model, output_position: int, classes: int) -> tuple[Labels, str] | None:
    """The labels a model carries for an output of `classes` scores: the TENSOR_AXIS_LABELS file
    its metadata names, else an attached .txt file (no metadata, a zip after the flatbuffer)
    holding exactly `classes` labels."""
    md = model.tflite_metadata
    named = []
    if md and md.subgraphs and output_position < len(md.subgraphs[0].outputs):
        named = [f.name for f in md.subgraphs[0].outputs[output_position].associated_files
                 if f.type == "TENSOR_AXIS_LABELS"]
    unnamed = [f.name for f in model.zip_files if f.name.lower().endswith(".txt") and f.name not in named]
    for name in named + unnamed:
        try:
            labels = parse_labels(read_associated_file(model, name).decode("utf-8", "replace"))
        except ModelError:
            continue
        if name in named or len(labels) == classes:
            return labels, f"{name} in {model.file_name}"
    return None


def read_label_file(path: str) -> Labels:
    try:
        with open_regular(path) as f:  # a FIFO would block the open
            return parse_labels(f.read(1 << 22).decode("utf-8", "replace"))
    except OSError as e:
        raise InputError(f"{os.path.basename(path)}: cannot read the label file ({e.strerror or e})") from None


def label_of(labels: Labels | None, index: int) -> str:
    if isinstance(labels, dict):
        return labels.get(index, str(index))
    if labels and index < len(labels):
        return labels[index]
    return str(index)
