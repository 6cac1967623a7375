"""`tflite-inspector inspect` end to end, in a subprocess as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from tflite_inspector.main import main

from .conftest import EDGE_CASES, MODELS, needs_shared, shared_model

pytestmark = needs_shared


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tflite_inspector", *args],
        capture_output=True, text=True, timeout=300,
    )


def test_json_lines_for_a_folder_keeps_going_past_bad_files():
    result = run_cli("inspect", str(MODELS), "--json")
    lines = result.stdout.splitlines()
    objects = [json.loads(line) for line in lines]  # stdout holds JSON only
    files = sorted(MODELS.rglob("*.tflite"))
    assert len(objects) == len(files)
    errors = [o for o in objects if "error" in o]
    assert errors and all(set(o) == {"path", "error"} for o in errors)
    assert result.returncode == 2  # some files could not be read
    # Each error is one line on stderr, without a traceback.
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "error:" in line]) == len(errors)
    good = next(o for o in objects if o.get("path", "").endswith("vww_96_int8.tflite"))
    for key in ("path", "size_bytes", "version", "description", "subgraphs", "signatures",
                "metadata", "associated_files", "stats"):
        assert key in good
    sg = good["subgraphs"][0]
    op = sg["operators"][0]
    assert {"index", "opcode", "custom_code", "version", "inputs", "outputs", "options"} <= set(op)
    assert op["opcode"] == "CONV_2D" and op["options"]["padding"] == "SAME"
    tensor = sg["tensors"][op["inputs"][1]]
    assert {"index", "name", "dtype", "shape", "shape_signature", "buffer", "constant", "quantization"} <= set(tensor)
    assert tensor["dtype"] == "INT8" and tensor["constant"] is True
    assert tensor["quantization"]["quantized_dimension"] == 0
    assert len(tensor["quantization"]["scale"]) == tensor["shape"][0]


def test_exit_status_zero_when_all_read_and_text_output():
    path = shared_model("gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite")
    result = run_cli("inspect", str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "TFLite metadata: name 'ImageClassifier'" in out
    assert "imagenet_labels.txt" in out
    assert "peak activation memory (estimate)" in out
    assert "CONV_2D v1" in out and "per-channel" not in out.split("subgraph 0")[0]


def test_bad_file_gives_one_line_error(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(shared_model("gh-mlcommons-tiny/vww_96_int8.tflite").read_bytes()[:5000])
    result = run_cli("inspect", str(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tflite-inspector: error: ") and str(bad) in lines[0]
    json_result = run_cli("inspect", str(bad), "--json")
    assert json.loads(json_result.stdout) == {"path": str(bad), "error": lines[0].split("error: ", 1)[1]}


def test_edge_cases_never_traceback():
    result = run_cli("inspect", str(EDGE_CASES), "--json")
    assert "Traceback" not in result.stderr
    assert len(result.stdout.splitlines()) == len(list(EDGE_CASES.glob("*.tflite")))


def test_help_explains_options_with_examples():
    result = run_cli("inspect", "--help")
    assert result.returncode == 0
    assert "--json" in result.stdout and "examples:" in result.stdout
    assert "tflite-inspector inspect" in result.stdout


def test_missing_path_and_empty_folder(tmp_path, capsys):
    assert main(["inspect", str(tmp_path)]) == 2
    assert "no .tflite files found" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "absent.tflite")]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_a_misspelt_command_is_named_not_opened_as_a_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file named like the words below
    assert main(["inpsect", "model.tflite"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown command 'inpsect'" in err and "did you mean 'inspect'?" in err
    assert main(["evalute", "x.tflite"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'evalute'" in err and "commands: inspect" in err
    assert main(["missing.tflite"]) == 2
    assert "no such file: missing.tflite" in capsys.readouterr().err
