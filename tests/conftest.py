"""Shared test fixtures: the real models and images in ../shared, found from the project root, and
the project's own samples. The GUI tests' fixtures are in tests/gui/conftest.py."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TFLITE_INSPECTOR_SHARED", PROJECT_ROOT.parent / "shared"))
MODELS = SHARED / "models"
IMAGES = SHARED / "images"
EDGE_CASES = MODELS / "edge_cases"
SAMPLES = PROJECT_ROOT / "resources" / "samples"

needs_shared = pytest.mark.skipif(
    not MODELS.is_dir(), reason=f"the shared model corpus is not at {MODELS} (clone this repo beside shared/)"
)


def all_model_paths() -> list[Path]:
    if not MODELS.is_dir():
        return []
    return sorted(MODELS.rglob("*.tflite"))


def real_model_paths() -> list[Path]:
    """Models from the corpus that are not deliberately broken."""
    return [p for p in all_model_paths() if p.parent.name != "edge_cases"]


def model_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def manifest_rows() -> dict[str, dict[str, str]]:
    """MANIFEST.md rows keyed by path: bytes, ops '(distinct)', notes."""
    manifest = MODELS / "MANIFEST.md"
    if not manifest.is_file():
        return {}
    rows = {}
    for line in manifest.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 7 and cells[0].endswith(".tflite"):
            rows[cells[0]] = {"bytes": cells[2], "ops": cells[3], "quant": cells[4], "notes": cells[6]}
    return rows


def manifest_op_counts(ops_cell: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d+) \((\d+)\)", ops_cell)
    return (int(m.group(1)), int(m.group(2))) if m else None


def shared_model(relative: str) -> Path:
    path = MODELS / relative
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path
