"""The README's command examples, run as written: every `tflite-inspector` line of its ```sh
blocks, in order (the quantize example writes the variants the report --lab example reads), from
a working folder laid out like the repository's (resources/ and ../shared beside it), so that the
files they write land there and not in the repository. The two set-up commands (scripts/start.sh
and scripts/test.sh) are what runs this test; they are not run again here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import needs_shared

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def readme_commands() -> list[tuple[str, int]]:
    """The ```sh blocks' `tflite-inspector` commands, continuation lines joined, comments cut, each
    with the exit status its comment states ("# exit 2: ..."), else 0."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            command, _, comment = line.partition("   #")  # "   # note" ends an example
            if command.strip().startswith("tflite-inspector "):
                status = re.match(r"\s*exit (\d+)", comment)
                commands.append((command.strip(), int(status.group(1)) if status else 0))
    return commands


def test_the_readme_has_examples_for_every_command():
    commands = readme_commands()
    assert {c.split()[1] for c, _ in commands} >= {"inspect", "compat", "compare", "quantize", "report", "graph"}


@needs_shared
def test_every_readme_example_runs_as_written(tmp_path):
    work = tmp_path / "repository"
    work.mkdir()
    (work / "resources").symlink_to(ROOT / "resources")
    (tmp_path / "shared").symlink_to(SHARED)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("TFLITE_INSPECTOR_RUNTIME_LOG", None)
    failures = []
    for command, status in readme_commands():
        if "| jq" in command and shutil.which("jq") is None:
            pytest.fail("the README pipes an example into jq, which is not installed here (apt install jq)")
        done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=work, env=env, capture_output=True,
                              text=True, timeout=900)
        if done.returncode != status or not (done.stdout.strip() or ">" in command):
            failures.append(f"$ {command}\nexit {done.returncode}\n{done.stderr[-1500:]}")
    assert not failures, "\n\n".join(failures)
    # What the examples say they write is there.
    for written in ("models.jsonl", "model.html", "report.html", "lab.html", "model.svg", "gpu.svg",
                    "variants/shapes_float_quantize.json"):
        assert (work / written).stat().st_size > 0, written
