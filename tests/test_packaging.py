"""The wheel: built from a clean copy of the sources, it holds one package, tflite_inspector (no
top-level core/gui/cli/resources), with its data; installed in a fresh venv, its console script
inspects the bundled sample, writes a report and checks it in the LiteRT interpreter (a child
process), run from outside the repository."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .test_layering import PROJECT_ROOT, installed_modules, package_source, pyproject

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the venv layout checked here (bin/) is POSIX's")

SAMPLE = "shapes_int8.tflite"


def _unmet_build_requirements() -> list[str]:
    """build-system.requires that this environment does not satisfy (for a build without isolation)."""
    unmet = []
    for text in pyproject()["build-system"]["requires"]:
        requirement = Requirement(text)
        try:
            have = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            unmet.append(f"{text} (not installed)")
            continue
        if not requirement.specifier.contains(have, prereleases=True):
            unmet.append(f"{text} (this environment has {have})")
    return unmet


def _copy_build_sources(dest: Path) -> None:
    """What the build reads: pyproject.toml, the readme and licence, and the mapped folders. A copy,
    so that the build neither writes build/ or *.egg-info into the repository nor picks up a stale
    build/lib from an earlier one."""
    project = pyproject()
    shutil.copy2(PROJECT_ROOT / "pyproject.toml", dest)
    for name in [project["project"].get("readme", "README.md"), *(p.name for p in PROJECT_ROOT.glob("LICEN[CS]E*"))]:
        if (PROJECT_ROOT / name).is_file():
            shutil.copy2(PROJECT_ROOT / name, dest)
    for folder in project["tool"]["setuptools"]["package-dir"].values():
        shutil.copytree(PROJECT_ROOT / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Offline when this environment has the build backend (pip --no-build-isolation). Otherwise pip
    must fetch it for an isolated build; if it cannot (no network), the tests skip and say why."""
    source = tmp_path_factory.mktemp("source")
    _copy_build_sources(source)
    out = tmp_path_factory.mktemp("wheel")
    unmet = _unmet_build_requirements()
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(source)]
    env = dict(os.environ)
    if unmet:
        # Fail fast rather than wait out pip's retries when there is no network.
        env.update(PIP_RETRIES="0", PIP_DEFAULT_TIMEOUT="20")
    else:
        command.insert(command.index("--no-deps"), "--no-build-isolation")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, cwd=out)
    except subprocess.TimeoutExpired:
        pytest.skip(f"building the wheel needs {', '.join(unmet)}; pip timed out fetching it")
    output = result.stdout + result.stderr
    if result.returncode != 0:
        if unmet and "installing build dependencies" in output:
            errors = [line.strip() for line in output.splitlines() if "ERROR" in line]
            tail = "\n".join(errors or output.strip().splitlines()[-3:])
            pytest.skip(f"building the wheel needs {', '.join(unmet)}, and pip could not fetch it "
                        f"(offline?):\n{tail}")
        pytest.fail(f"pip wheel failed:\n{output}")
    (built,) = out.glob("*.whl")
    return built


def _wheel_path(package: str, filename: str) -> str:
    return "/".join([*package.split("."), filename])


def test_wheel_holds_one_package_with_its_code_and_data(wheel):
    setuptools = pyproject()["tool"]["setuptools"]
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        assert len(dist_info) == 1, dist_info
        entry_points = archive.read(f"{dist_info.pop()}/entry_points.txt").decode()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert not top_level & {"core", "gui", "cli", "resources"}
    assert top_level == {"tflite_inspector"}

    # The code: exactly the .py files found in the mapped folders (not only in the listed packages:
    # a package missing from the list is missing here), each in its place in the package.
    code = {n for n in names if n.endswith(".py")}
    expected_code = {
        "/".join([*package.split("."), *source.relative_to(PROJECT_ROOT / folder).parts])
        for package, folder in setuptools["package-dir"].items()
        for source in (PROJECT_ROOT / folder).rglob("*.py")
    }
    assert code == expected_code
    assert len(code) == len(installed_modules()) > 90

    # The data: every file package-data names, and nothing else.
    data = {n for n in names if not n.endswith(".py") and not n.split("/")[0].endswith(".dist-info")}
    expected_data = {
        _wheel_path(package, f.name)
        for package, patterns in setuptools["package-data"].items()
        for pattern in patterns
        for f in package_source(package, setuptools["package-dir"]).glob(pattern)
    }
    assert data == expected_data
    rule_tables = {n for n in data if n.startswith("tflite_inspector/resources/delegates/") and n.endswith(".toml")}
    assert len(rule_tables) == len(list((PROJECT_ROOT / "resources" / "delegates").glob("*.toml"))) >= 7
    assert "tflite_inspector/resources/report/report.html.j2" in data
    assert f"tflite_inspector/resources/samples/{SAMPLE}" in data
    assert "tflite_inspector/resources/samples/labels.txt" in data

    for script, target in pyproject()["project"]["scripts"].items():
        assert f"{script} = {target}" in entry_points


_WHERE_FROM = """
import importlib.metadata, importlib.resources, importlib.util, json, sys
import tflite_inspector
print(json.dumps({
    "package": tflite_inspector.__file__,
    "origins": {name: importlib.util.find_spec(name).origin for name in (
        "tflite_inspector.core", "tflite_inspector.gui", "tflite_inspector.resources",
        "tflite_inspector.core.runtime.interpreter_child", "numpy")},
    "sample": str(importlib.resources.files("tflite_inspector.resources").joinpath("samples", %r)),
    "distribution": str(importlib.metadata.distribution("tflite-inspector").locate_file("")),
    "editable": [m for m in sys.modules if m.startswith("__editable__")]
                + [repr(f) for f in sys.meta_path if getattr(f, "__module__", "").startswith("__editable__")],
}))
""" % SAMPLE


def _venv_site_packages(python: Path) -> Path:
    result = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, check=True, timeout=60)
    return Path(result.stdout.strip())


def test_installed_wheel_runs_outside_the_repository(wheel, tmp_path):
    """A fresh venv (no pip, no network) gets the wheel; the project's dependencies come from this
    environment's site-packages through a .pth file. Such a path is only appended to sys.path, and
    the .pth files in it are not run, so the editable install's finder stays off and the wheel's
    tflite_inspector, in the venv's own site-packages, is the one imported."""
    assert not tmp_path.resolve().is_relative_to(PROJECT_ROOT)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site_packages = _venv_site_packages(python)

    # The wheel first, into a venv that has nothing yet: pip sees no other tflite-inspector to replace.
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=240,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    # This environment's site-packages folders, where the project's dependencies are installed.
    dependencies = dict.fromkeys(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages"))
    assert dependencies
    (site_packages / "_project_dependencies.pth").write_text("\n".join(dependencies) + "\n", encoding="utf-8")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    work = tmp_path / "work"
    work.mkdir()

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(command), cwd=work, env=env, capture_output=True, text=True, timeout=300)

    where = run(str(python), "-c", _WHERE_FROM)
    assert where.returncode == 0, where.stderr
    where = json.loads(where.stdout)
    venv_root = venv.resolve()
    assert Path(where["package"]).resolve().is_relative_to(venv_root), where
    for name, origin in where["origins"].items():
        inside = Path(origin).resolve().is_relative_to(venv_root)
        assert inside == (name != "numpy"), (name, origin)  # numpy: a dependency, from the .pth
    assert Path(where["distribution"]).resolve() == site_packages.resolve()
    assert where["editable"] == []
    sample = Path(where["sample"])
    assert sample.resolve().is_relative_to(venv_root) and sample.is_file()

    script = venv / "bin" / "tflite-inspector"
    inspect = run(str(script), "inspect", str(sample))
    assert inspect.returncode == 0, inspect.stdout + inspect.stderr
    assert str(sample) in inspect.stdout
    assert "CONV_2D" in inspect.stdout and "signature 'serving_default'" in inspect.stdout

    report_path = work / "r.html"
    report = run(str(script), "report", str(sample), "-o", str(report_path))
    assert report.returncode == 0, report.stdout + report.stderr
    assert report_path.is_file()
    assert SAMPLE in report_path.read_text(encoding="utf-8")

    # compat with XNNPACK also loads the model in the LiteRT interpreter, in a child process that
    # starts from the installed package (core.runtime.interpreter_child).
    compat = run(str(script), "compat", str(sample), "--delegate", "xnnpack", "--json")
    assert compat.returncode == 0, compat.stdout + compat.stderr
    runtime = json.loads(compat.stdout.splitlines()[0])["xnnpack_runtime"]
    assert runtime["ops"], runtime
    assert "Traceback" not in inspect.stderr + report.stderr + compat.stderr


def test_a_base_install_names_the_extra_a_feature_needs(wheel, tmp_path):
    """A plain `pip install tflite-inspector` has no quantizer and no TensorFlow: this environment's
    packages without them (a folder of links to every other entry of site-packages). `inspect`
    works; `quantize` says in one line which extra to install, and writes nothing."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=240,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    extras = ("ai_edge_quantizer", "tensorflow", "keras", "tf_keras", "tensorboard")
    base = tmp_path / "base_dependencies"
    base.mkdir()
    for folder in dict.fromkeys(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")):
        for entry in Path(folder).iterdir():
            name = entry.name.lower().replace("-", "_")
            if name.startswith(extras) or name.startswith(("tflite_inspector", "__editable__")) \
                    or (base / entry.name).exists():
                continue
            (base / entry.name).symlink_to(entry)
    (_venv_site_packages(python) / "_base_dependencies.pth").write_text(f"{base}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    script = str(venv / "bin" / "tflite-inspector")
    sample = PROJECT_ROOT / "resources" / "samples" / "shapes_float.tflite"
    check = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('ai_edge_quantizer'), "
                            "u.find_spec('tensorflow'))"], capture_output=True, text=True, env=env, timeout=60)
    assert check.stdout.strip() == "None None", check.stdout + check.stderr

    inspect = subprocess.run([script, "inspect", str(sample)], capture_output=True, text=True, env=env, timeout=300,
                             cwd=tmp_path)
    assert inspect.returncode == 0, inspect.stderr
    out = tmp_path / "out"
    quantize = subprocess.run([script, "quantize", str(sample), "--modes", "float16,int8", "--random", "2", "-o",
                               str(out)], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert quantize.returncode == 2
    lines = quantize.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'tflite-inspector[quantize]'" in lines[0], quantize.stderr
    assert "ModuleNotFoundError" not in quantize.stderr and not out.exists()
    keras = tmp_path / "model.keras"
    keras.write_bytes(b"PK")  # a name is enough: the check comes before the file is read
    convert = subprocess.run([script, "quantize", str(keras), "--modes", "dynamic", "-o", str(out)],
                             capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert convert.returncode == 2 and "pip install 'tflite-inspector[convert]'" in convert.stderr, convert.stderr
