"""Import rules: the contracts in pyproject.toml's [tool.importlinter], checked by import-linter on
the package as it installs, and what importing the engine really loads.

grimp (import-linter's graph builder) cannot follow setuptools' package-dir mapping through the
editable install: it sees only cli/ as `tflite_inspector`. So the contracts are checked on a plain
copy of the package laid out as the wheel installs it, built from pyproject.toml's own mapping.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = PROJECT_ROOT / "pyproject.toml"

# resources/ folders that hold data, not code: listed in `packages` so that their files install.
DATA_PACKAGES = (
    "tflite_inspector.resources.delegates",
    "tflite_inspector.resources.report",
    "tflite_inspector.resources.samples",
)

# Nothing of these may be loaded by importing the engine: the GUI toolkit, the converters, and the
# LiteRT interpreter (it runs in a child process; reading models uses only LiteRT's schema module).
NOT_LOADED_BY_CORE = (
    "PySide6",
    "shiboken6",
    "pyqtgraph",
    "tensorflow",
    "keras",
    "ai_edge_quantizer",
    "ai_edge_litert.interpreter",
    "igraph",  # the layout libraries load when a graph is laid out
    "pygraphviz",
)


def pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def package_source(package: str, package_dir: dict[str, str]) -> Path:
    """The folder setuptools takes `package` from: its longest mapped prefix's folder, then the
    rest of its name as sub-folders."""
    parts = package.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in package_dir:
            return PROJECT_ROOT.joinpath(package_dir[prefix], *parts[n:])
    return PROJECT_ROOT.joinpath(package_dir.get("", ""), *parts)


def installed_modules() -> dict[str, Path]:
    """Every module the wheel installs, by dotted name, with its source file: the .py files of each
    package pyproject.toml lists, from the folder its package-dir maps it to."""
    table = pyproject()["tool"]["setuptools"]
    modules: dict[str, Path] = {}
    for package in table["packages"]:
        for source in sorted(package_source(package, table["package-dir"]).glob("*.py")):
            modules[package if source.stem == "__init__" else f"{package}.{source.stem}"] = source
    return modules


def build_installed_copy(dest: Path) -> None:
    """Copy the package into dest as it installs: dest/tflite_inspector/core/..., code only."""
    for name, source in installed_modules().items():
        parts = name.split(".")
        package = parts if source.stem == "__init__" else parts[:-1]
        target = dest.joinpath(*package, source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


@pytest.fixture(scope="module")
def installed_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("installed")
    build_installed_copy(root)
    return root


def _copy_env(copy: Path) -> dict[str, str]:
    # The copy first on the path: a PathFinder finds it before the editable install's finder
    # (which setuptools appends to sys.meta_path, after the PathFinder).
    return {**os.environ, "PYTHONPATH": str(copy)}


def run_lint_imports(copy: Path, config: Path) -> subprocess.CompletedProcess[str]:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.is_file(), f"{lint_imports} is missing: install the dev extra (import-linter)"
    return subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo", str(config)],
        cwd=copy, env=_copy_env(copy), capture_output=True, text=True, timeout=300,
    )


def _one_line(text: str) -> str:
    """import-linter wraps its report at 80 columns; compare its words, not its lines."""
    return " ".join(text.split())


_GRAPH_OF_THE_COPY = """
import importlib.util, json, sys
import grimp
roots, externals = json.loads(sys.argv[1])
graph = grimp.build_graph(*roots, include_external_packages=externals)
print(json.dumps({
    "origin": importlib.util.find_spec("tflite_inspector").origin,
    "modules": sorted(graph.modules),
}))
"""


def test_the_linted_copy_is_the_whole_installed_package(installed_copy):
    """The graph import-linter builds from the copy holds every module the wheel installs, and
    `tflite_inspector` resolves to the copy, not to the editable install (whose graph is cli/ only)."""
    settings = pyproject()["tool"]["importlinter"]
    result = subprocess.run(
        [sys.executable, "-c", _GRAPH_OF_THE_COPY,
         json.dumps([settings["root_packages"], settings.get("include_external_packages", False)])],
        cwd=installed_copy, env=_copy_env(installed_copy), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    assert Path(graph["origin"]).is_relative_to(installed_copy)
    ours = {m for m in graph["modules"] if m == "tflite_inspector" or m.startswith("tflite_inspector.")}
    expected = set(installed_modules())
    assert len(expected) > 90  # cli, core and gui, not just the package root
    assert ours == expected


def test_import_contracts_hold(installed_copy):
    """Every contract in pyproject.toml's [tool.importlinter] is kept; on a break, the assertion
    shows import-linter's report (the contract and the import chain that breaks it)."""
    contracts = pyproject()["tool"]["importlinter"]["contracts"]
    result = run_lint_imports(installed_copy, PYPROJECT)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report, report


def _toml_value(value) -> str:
    # The values used here (strings, booleans and lists of strings) are written alike in JSON and TOML.
    return json.dumps(value)


def _write_importlinter_config(path: Path, settings: dict, contracts: list[dict]) -> None:
    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in settings.items() if key != "contracts"]
    for contract in contracts:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in contract.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_broken_contract_fails(installed_copy, tmp_path):
    """The check can fail: contracts the code breaks are reported broken, on the same copy with
    the project's own settings. Among them: each project contract without its ignore_imports (the
    exceptions are needed: the function-level imports they name are seen), the layers
    upside down, and imports made only inside functions, in the GUI and in the command line."""
    settings = pyproject()["tool"]["importlinter"]
    broken: list[dict] = []
    for contract in settings["contracts"]:
        label = contract.get("id", contract["name"])
        if contract.get("ignore_imports"):
            unignored = {k: v for k, v in contract.items() if k not in ("id", "ignore_imports")}
            broken.append({**unignored, "name": f"{label} without its ignore_imports"})
        if contract["type"] == "layers":
            upside_down = {k: v for k, v in contract.items() if k not in ("id", "layers")}
            broken.append({**upside_down, "name": f"{label} upside down",
                           "layers": contract["layers"][::-1]})
    broken += [
        {"name": "the GUI imports no Qt", "type": "forbidden",
         "source_modules": ["tflite_inspector.gui"], "forbidden_modules": ["PySide6"]},
        # main.py imports the GUI only inside a function, when no subcommand is given.
        {"name": "the command line imports no GUI", "type": "forbidden",
         "source_modules": ["tflite_inspector.main"], "forbidden_modules": ["tflite_inspector.gui"]},
        {"name": "the interpreter child process imports no LiteRT interpreter", "type": "forbidden",
         "source_modules": ["tflite_inspector.core.runtime.interpreter_child"],
         "forbidden_modules": ["ai_edge_litert.interpreter"]},
    ]
    assert len(broken) >= 7
    config = tmp_path / "broken.toml"
    _write_importlinter_config(config, settings, broken)
    result = run_lint_imports(installed_copy, config)
    report = _one_line(result.stdout + result.stderr)
    assert result.returncode == 1, report
    assert f"Contracts: 0 kept, {len(broken)} broken." in report, report
    # The function-level imports, named by their import-linter chain.
    assert "tflite_inspector.core.runtime.interpreter_child -> ai_edge_litert.interpreter (l." in report
    assert "tflite_inspector.core.runtime.conversion_child -> tensorflow (l." in report
    assert "tflite_inspector.main -> tflite_inspector.gui.app (l." in report


_IMPORT_ALL_OF_CORE = """
import importlib, json, pkgutil, sys
import tflite_inspector.core as core

def fail(name):
    raise ImportError(f"cannot import {name}")

names = [core.__name__] + [m.name for m in pkgutil.walk_packages(core.__path__, core.__name__ + ".", onerror=fail)]
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""


def test_importing_all_of_core_loads_no_qt_converter_or_interpreter(tmp_path):
    """Every module of tflite_inspector.core, found by walking the package, imported in one fresh
    interpreter: none of the GUI toolkit, the converters or the LiteRT interpreter gets loaded."""
    result = subprocess.run([sys.executable, "-c", _IMPORT_ALL_OF_CORE],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    core_modules = {m for m in installed_modules() if m.startswith("tflite_inspector.core")}
    assert set(outcome["imported"]) == core_modules  # the walk found every module: none was left out
    loaded = outcome["loaded"]
    bad = [m for m in loaded if any(m == name or m.startswith(name + ".") for name in NOT_LOADED_BY_CORE)]
    assert not bad, f"importing tflite_inspector.core loaded {bad}"
    # The check sees what is loaded: the reader does load LiteRT's schema (not its interpreter).
    assert "ai_edge_litert.schema_py_generated" in loaded


def test_packages_list_is_exactly_the_package_folders():
    """pyproject's `packages` lists every folder with an __init__.py under the mapped folders (cli/,
    core/, gui/, resources/), by its installed name, plus resources' data folders, and nothing else."""
    table = pyproject()["tool"]["setuptools"]
    expected = set(DATA_PACKAGES)
    for package, folder in table["package-dir"].items():
        base = PROJECT_ROOT / folder
        for init in base.rglob("__init__.py"):
            expected.add(".".join((package, *init.parent.relative_to(base).parts)))
    assert set(table["package-dir"]) == {"tflite_inspector", "tflite_inspector.core",
                                         "tflite_inspector.gui", "tflite_inspector.resources"}
    assert sorted(table["packages"]) == sorted(expected)
    # The data folders are all of resources' folders that are not packages: a new one must be listed.
    resources = PROJECT_ROOT / table["package-dir"]["tflite_inspector.resources"]
    data_folders = {d.name for d in resources.iterdir()
                    if d.is_dir() and d.name != "__pycache__" and not (d / "__init__.py").exists()}
    assert data_folders == {name.rsplit(".", 1)[1] for name in DATA_PACKAGES}


def test_the_architecture_picture_draws_the_imports_the_code_has():
    """docs/architecture.svg is drawn from docs/architecture.dot; its arrows must be the code's."""
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "architecture_picture.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
