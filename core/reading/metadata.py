"""Reader for the TFLITE_METADATA entry (tflite-support's metadata_schema.fbs, "M001").

`ai_edge_litert` ships the model schema but not the metadata schema, and the
tflite-support package that has it is no longer maintained; this reads the
fields we show through a small bounds-checked table accessor. Field slots
follow the order of fields in metadata_schema.fbs (slot = 4 + 2 * field
number; a union takes two fields: its type, then its value).
"""

from __future__ import annotations

import struct
from typing import Any

from .model import AssociatedFile, SubgraphMetadata, TensorMetadata, TfliteMetadata

IDENTIFIER = b"M001"

ASSOCIATED_FILE_TYPES = (
    "UNKNOWN", "DESCRIPTIONS", "TENSOR_AXIS_LABELS", "TENSOR_VALUE_LABELS",
    "TENSOR_AXIS_SCORE_CALIBRATION", "VOCABULARY",
)
COLOR_SPACES = ("UNKNOWN", "RGB", "GRAYSCALE")
BOUNDING_BOX_TYPES = ("UNKNOWN", "BOUNDARIES", "UPPER_LEFT", "CENTER")
COORDINATE_TYPES = ("RATIO", "PIXEL")
SCORE_TRANSFORMATIONS = ("IDENTITY", "LOG", "INVERSE_LOGISTIC")


class MetadataFormatError(ValueError):
    pass


def _enum(names: tuple[str, ...], value: int) -> str:
    return names[value] if 0 <= value < len(names) else f"UNKNOWN({value})"


class _Table:
    """A flatbuffer table whose every read is checked against the buffer."""

    __slots__ = ("buf", "pos", "vtable", "vtable_len")

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        vtable = pos - self._get("<i", pos)
        self.vtable = vtable
        self.vtable_len = self._get("<H", vtable)

    def _get(self, fmt: str, at: int) -> Any:
        size = struct.calcsize(fmt)
        if at < 0 or at + size > len(self.buf):
            raise MetadataFormatError(f"offset {at} is outside the metadata ({len(self.buf)} bytes)")
        return struct.unpack_from(fmt, self.buf, at)[0]

    def _field(self, slot: int) -> int:
        if slot >= self.vtable_len:
            return 0
        off = self._get("<H", self.vtable + slot)
        return self.pos + off if off else 0

    def scalar(self, slot: int, fmt: str, default: Any = 0) -> Any:
        at = self._field(slot)
        return self._get(fmt, at) if at else default

    def _indirect(self, at: int) -> int:
        return at + self._get("<I", at)

    def table(self, slot: int) -> _Table | None:
        at = self._field(slot)
        return _Table(self.buf, self._indirect(at)) if at else None

    def string(self, slot: int) -> str:
        at = self._field(slot)
        if not at:
            return ""
        start = self._indirect(at)
        length = self._get("<I", start)
        if start + 4 + length > len(self.buf):
            raise MetadataFormatError("a string runs past the end of the metadata")
        return bytes(self.buf[start + 4 : start + 4 + length]).decode("utf-8", "replace")

    def _vector(self, slot: int, elem_size: int) -> tuple[int, int]:
        at = self._field(slot)
        if not at:
            return 0, 0
        start = self._indirect(at)
        n = self._get("<I", start)
        if start + 4 + n * elem_size > len(self.buf):
            raise MetadataFormatError(f"a vector of {n} entries runs past the end of the metadata")
        return start + 4, n

    def numbers(self, slot: int, fmt: str) -> tuple:
        start, n = self._vector(slot, struct.calcsize(fmt))
        return struct.unpack_from(f"<{n}{fmt}", self.buf, start) if n else ()

    def tables(self, slot: int) -> list[_Table]:
        start, n = self._vector(slot, 4)
        return [_Table(self.buf, self._indirect(start + 4 * i)) for i in range(n)]

    def strings(self, slot: int) -> list[str]:
        start, n = self._vector(slot, 4)
        result = []
        for i in range(n):
            s = self._indirect(start + 4 * i)
            length = self._get("<I", s)
            if s + 4 + length > len(self.buf):
                raise MetadataFormatError("a string runs past the end of the metadata")
            result.append(bytes(self.buf[s + 4 : s + 4 + length]).decode("utf-8", "replace"))
        return result


def _associated_files(table: _Table, slot: int) -> tuple[AssociatedFile, ...]:
    return tuple(
        AssociatedFile(
            name=f.string(4),
            description=f.string(6),
            type=_enum(ASSOCIATED_FILE_TYPES, f.scalar(8, "<b")),
            locale=f.string(10),
        )
        for f in table.tables(slot)
    )


def _process_unit(unit: _Table) -> dict[str, Any]:
    kind = unit.scalar(4, "<B")
    options = unit.table(6)
    if options is None:
        return {"type": "NONE"}
    if kind == 1:
        return {"type": "NormalizationOptions", "mean": list(options.numbers(4, "f")),
                "std": list(options.numbers(6, "f"))}
    if kind == 2:
        return {"type": "ScoreCalibrationOptions",
                "score_transformation": _enum(SCORE_TRANSFORMATIONS, options.scalar(4, "<b")),
                "default_score": options.scalar(6, "<f", 0.0)}
    if kind == 3:
        return {"type": "ScoreThresholdingOptions",
                "global_score_threshold": options.scalar(4, "<f", 0.0)}
    if kind == 4:
        return {"type": "BertTokenizerOptions",
                "vocab_file": [f.name for f in _associated_files(options, 4)]}
    if kind == 5:
        return {"type": "SentencePieceTokenizerOptions",
                "sentencepiece_model": [f.name for f in _associated_files(options, 4)],
                "vocab_file": [f.name for f in _associated_files(options, 6)]}
    return {"type": f"UNKNOWN({kind})"}


def _content(table: _Table | None) -> dict[str, Any]:
    if table is None:
        return {}
    kind = table.scalar(4, "<B")
    props = table.table(6)
    content: dict[str, Any] = {}
    if kind == 1:
        content["type"] = "feature"
    elif kind == 2:
        content["type"] = "image"
        if props is not None:
            content["color_space"] = _enum(COLOR_SPACES, props.scalar(4, "<b"))
            size = props.table(6)
            if size is not None:
                content["default_size"] = [size.scalar(4, "<I"), size.scalar(6, "<I")]
    elif kind == 3:
        content["type"] = "bounding_box"
        if props is not None:
            content["index"] = list(props.numbers(4, "I"))
            content["box_type"] = _enum(BOUNDING_BOX_TYPES, props.scalar(6, "<b"))
            content["coordinate_type"] = _enum(COORDINATE_TYPES, props.scalar(8, "<b"))
    elif kind:
        content["type"] = f"UNKNOWN({kind})"
    value_range = table.table(8)
    if value_range is not None:
        content["range"] = [value_range.scalar(4, "<i"), value_range.scalar(6, "<i")]
    return content


def _tensor_metadata(t: _Table) -> TensorMetadata:
    units = tuple(_process_unit(u) for u in t.tables(12))
    norm = next((u for u in units if u["type"] == "NormalizationOptions"), None)
    stats = t.table(14)
    return TensorMetadata(
        name=t.string(4),
        description=t.string(6),
        dimension_names=tuple(t.strings(8)),
        content=_content(t.table(10)),
        normalization_mean=tuple(norm["mean"]) if norm else (),
        normalization_std=tuple(norm["std"]) if norm else (),
        stats_max=tuple(stats.numbers(4, "f")) if stats else (),
        stats_min=tuple(stats.numbers(6, "f")) if stats else (),
        process_units=units,
        associated_files=_associated_files(t, 16),
    )


def parse_tflite_metadata(buf: bytes) -> TfliteMetadata:
    """Parse the bytes of a TFLITE_METADATA buffer. Raises MetadataFormatError."""
    if len(buf) < 8:
        raise MetadataFormatError(f"only {len(buf)} bytes")
    if bytes(buf[4:8]) != IDENTIFIER:
        raise MetadataFormatError(f"identifier {bytes(buf[4:8])!r}, expected {IDENTIFIER!r}")
    try:
        root = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
        subgraphs = tuple(
            SubgraphMetadata(
                name=sg.string(4),
                description=sg.string(6),
                inputs=tuple(_tensor_metadata(t) for t in sg.tables(8)),
                outputs=tuple(_tensor_metadata(t) for t in sg.tables(10)),
                associated_files=_associated_files(sg, 12),
                input_process_units=tuple(_process_unit(u) for u in sg.tables(14)),
                output_process_units=tuple(_process_unit(u) for u in sg.tables(16)),
            )
            for sg in root.tables(10)
        )
        return TfliteMetadata(
            name=root.string(4),
            description=root.string(6),
            version=root.string(8),
            subgraphs=subgraphs,
            author=root.string(12),
            license=root.string(14),
            associated_files=_associated_files(root, 16),
            min_parser_version=root.string(18),
        )
    except (struct.error, RecursionError) as e:
        raise MetadataFormatError(str(e)) from None
