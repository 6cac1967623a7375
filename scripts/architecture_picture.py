"""Draw docs/architecture.svg: the packages of tflite_inspector and the direction of their imports,
read from the source (every `import` and `from ... import`, function-level ones included), so the
picture says what the code does, not what we meant it to.

Usage: .venv/bin/python scripts/architecture_picture.py [--check]
Draws the SVG with the Graphviz that pygraphviz's wheel carries (no system Graphviz needed).
--check compares the arrows of docs/architecture.dot with the code's (the import counts in the
tooltips may differ) and exits 1, naming the arrows that differ, when the picture is out of date.
"""

from __future__ import annotations

import argparse
import ast
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tflite_inspector"
DOT, SVG = ROOT / "docs" / "architecture.dot", ROOT / "docs" / "architecture.svg"

# The boxes of the picture: a module belongs to the longest of these that prefixes its name.
# core's sub-packages and its foundation modules each get a box; gui's pages share one per page.
GROUPS = {
    f"{PACKAGE}.main": "cli", f"{PACKAGE}.commands": "cli", f"{PACKAGE}.arguments": "cli",
    f"{PACKAGE}.terminal": "cli", f"{PACKAGE}.__main__": "cli", PACKAGE: "cli",
    f"{PACKAGE}.gui": "gui: app, main window",
    f"{PACKAGE}.gui.report_export": "gui: report export",
    **{f"{PACKAGE}.gui.{name}": "gui: jobs, run controller, selection, forms"
       for name in ("jobs", "run_controller", "selection", "notify", "forms")},
    f"{PACKAGE}.gui.model_page": "gui.model_page", f"{PACKAGE}.gui.compare": "gui.compare",
    f"{PACKAGE}.gui.lab": "gui.lab", f"{PACKAGE}.gui.widgets": "gui.widgets", f"{PACKAGE}.gui.graph": "gui.graph",
    **{f"{PACKAGE}.core.{name}": f"core.{name}" for name in (
        "report", "lab", "graph", "comparison", "delegates", "runtime", "inspection", "reading",
        "formatting", "metrics", "files", "errors", "tasks")},
    f"{PACKAGE}.core": "core (version)",
}
# core's layers, top to bottom, as the import-linter contract in pyproject.toml states them.
CORE_LAYERS = [["core.report"], ["core.lab", "core.graph"], ["core.comparison"], ["core.delegates", "core.runtime"],
               ["core.inspection"], ["core.formatting", "core.metrics", "core.files"], ["core.reading"],
               ["core.errors", "core.tasks"]]


def source_modules() -> dict[str, Path]:
    """Module name -> file, through pyproject's package-dir mapping."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {}
    for package, folder in config["package-dir"].items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            modules[".".join([package, *(p for p in parts if p != "__init__")])] = path
    return modules


def imports_of(name: str, path: Path) -> set[str]:
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def group_of(module: str) -> str | None:
    best = max((prefix for prefix in GROUPS if module == prefix or module.startswith(prefix + ".")),
               key=len, default=None)
    return GROUPS[best] if best is not None else None


def edges() -> Counter:
    modules = source_modules()
    counted: Counter = Counter()
    for name, path in modules.items():
        source = group_of(name)
        for imported in imports_of(name, path):
            if imported not in modules:
                continue
            target = group_of(imported)
            if source and target and source != target:
                counted[(source, target)] += 1
    return counted


def dot_text(counted: Counter) -> str:
    """Arrows between core's boxes and between the fronts' boxes as they are; from a front into core,
    one arrow per front box, to the core cluster (the boxes inside say where exactly)."""
    fronts = {g for g in GROUPS.values() if g == "cli" or g.startswith("gui")}
    into_core = sorted({source for source, target in counted if source in fronts and target not in fronts})
    kept = {(s, t): n for (s, t), n in counted.items() if not (s in fronts and t not in fronts)}
    lines = ["digraph architecture {",
             '  graph [rankdir=TB, compound=true, fontname="Helvetica", nodesep=0.25, ranksep=0.35];',
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, fillcolor="#eef3fb"];',
             '  edge [color="#7a869a", arrowsize=0.6];']
    lines.append('  subgraph cluster_fronts { label="fronts (Qt only in gui)"; color="#c8d1e0"; fontname="Helvetica";')
    lines += [f'    "{g}";' for g in sorted(fronts)]
    lines.append("  }")
    lines.append('  subgraph cluster_core { label="core: pure Python, no Qt, no TensorFlow at import"; '
                 'color="#c8d1e0"; fontname="Helvetica";')
    for layer in CORE_LAYERS:
        lines.append("    { rank=same; " + " ".join(f'"{g}";' for g in layer) + " }")
    lines.append('    "core (version)" [fillcolor="#f4f6f9"];')
    lines.append("  }")
    for (source, target), count in sorted(kept.items()):
        lines.append(f'  "{source}" -> "{target}" [tooltip="{count} import(s)"];')
    for source in into_core:
        lines.append(f'  "{source}" -> "core.report" [lhead=cluster_core, style=bold, color="#4a7bd0"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _arrows(dot: str) -> set[str]:
    """The `a -> b` lines of a dot text, without their attributes."""
    return {line.split("[")[0].strip() for line in dot.splitlines() if " -> " in line}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/architecture.dot is out of date")
    args = parser.parse_args()
    text = dot_text(edges())
    if args.check:
        drawn, wanted = _arrows(DOT.read_text() if DOT.exists() else ""), _arrows(text)
        for arrow in sorted(wanted - drawn):
            print(f"missing from {DOT.name}: {arrow}")
        for arrow in sorted(drawn - wanted):
            print(f"in {DOT.name} but not in the code: {arrow}")
        if drawn != wanted:
            print("redraw it: .venv/bin/python scripts/architecture_picture.py")
            return 1
        print(f"{DOT.name} draws the {len(wanted)} arrows the code has")
        return 0
    DOT.write_text(text)
    # pygraphviz (a dependency, for the Graph page) carries Graphviz's dot in its wheel: no system
    # package needed.
    import pygraphviz

    pygraphviz.AGraph(str(DOT)).draw(str(SVG), prog="dot")
    print(f"wrote {DOT} and {SVG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
