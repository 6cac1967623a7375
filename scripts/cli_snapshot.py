"""Record what the command line prints for the model corpus, to diff before and after a change
that must not change it (a restructuring, a refactoring).

Usage:
    .venv/bin/python scripts/cli_snapshot.py OUTDIR [--quick]
    diff -r BEFORE AFTER

Runs the installed `tflite-inspector` (as a user would) over ../shared/models: `inspect` (text and
JSON) and `compat` (text and JSON, XNNPACK checked against the interpreter) for every file, the
edge cases included; `compare`, `report` and `quantize` on a few pairs and sources. Each command's
stdout, stderr and exit status go to one file. What legitimately differs between two runs is
replaced by a placeholder: the report's generation time, latencies, and temporary paths.
--quick leaves out `compat` with the interpreter and `quantize` (about a minute instead of several).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TFLITE_INSPECTOR_SHARED", ROOT.parent / "shared"))
MODELS = SHARED / "models"
IMAGES = SHARED / "images"
CLI = [str(ROOT / ".venv" / "bin" / "tflite-inspector")]

# Pairs a user compares: a float model and its quantized version, inputs as they would give them.
COMPARISONS = [
    ("vww_images", ["gh-mlcommons-tiny/vww_96_float.tflite", "gh-mlcommons-tiny/vww_96_int8.tflite"],
     ["--inputs", str(IMAGES)]),
    ("hello_random", ["gh-tensorflow-tflite-micro/hello_world_float.tflite",
                      "gh-tensorflow-tflite-micro/hello_world_int8.tflite"], ["--random", "5"]),
    ("mobilenet_labels", ["gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite",
                          "gh-google-coral-test_data/mobilenet_v1_0.25_128_quant.tflite"],
     ["--inputs", str(IMAGES), "--limit", "4"]),
    ("bad_candidate", ["gh-mlcommons-tiny/vww_96_float.tflite", "edge_cases/tflm_fuzz_malicious.tflite",
                       "gh-mlcommons-tiny/ad01_fp32.tflite"], ["--random", "2"]),
]


def normalise(text: str, scratch: str) -> str:
    text = text.replace(scratch, "<scratch>")
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "<time> UTC", text)
    text = re.sub(r'("(?:median|p90)": )[-0-9.e]+', r"\1<ms>", text)
    text = re.sub(r'("times_ms": )\[[^\]]*\]', r"\1<ms>", text)
    return text


def run(name: str, args: list[str], out: Path, scratch: str) -> None:
    done = subprocess.run(CLI + args, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    text = f"$ tflite-inspector {' '.join(args)}\nexit {done.returncode}\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}"
    (out / f"{name}.txt").write_text(normalise(text, scratch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--quick", action="store_true", help="no interpreter for compat, no quantize")
    args = parser.parse_args()
    if not MODELS.is_dir():
        sys.exit(f"no model corpus at {MODELS}")
    out = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="cli-snapshot-")
    try:
        models = sorted(MODELS.rglob("*.tflite"))
        for path in models:
            stem = f"{path.parent.name}__{path.stem}"
            run(f"inspect__{stem}", ["inspect", str(path)], out, scratch)
            run(f"inspect_json__{stem}", ["inspect", "--json", str(path)], out, scratch)
            run(f"compat__{stem}", ["compat", "--no-runtime", "-v", str(path)], out, scratch)
            run(f"compat_json__{stem}", ["compat", "--json", *(["--no-runtime"] if args.quick else []), str(path)],
                out, scratch)
        run("compat_nnapi_28__folder", ["compat", "--delegate", "nnapi,gpu", "--nnapi-api-level", "28",
                                        "--no-runtime", str(MODELS / "gh-mlcommons-tiny")], out, scratch)
        for name, models_, extra in COMPARISONS:
            paths = [str(MODELS / m) for m in models_]
            run(f"compare__{name}", ["compare", *paths, *extra], out, scratch)
            run(f"compare_json__{name}", ["compare", *paths, *extra, "--json", "--per-input"], out, scratch)
        vww = [str(MODELS / m) for m in COMPARISONS[0][1]]
        run("compare__no_inputs", ["compare", *vww], out, scratch)
        report = os.path.join(scratch, "report.html")
        run("report__vww", ["report", str(MODELS / "gh-mlcommons-tiny/vww_96_float.tflite"), "--compare",
                            str(MODELS / "gh-mlcommons-tiny/vww_96_int8.tflite"), "--inputs", str(IMAGES),
                            "--limit", "3", "-o", report], out, scratch)
        if os.path.exists(report):
            shutil.copy(report, out / "report__vww.html")
            (out / "report__vww.html").write_text(normalise((out / "report__vww.html").read_text(), scratch))
        run("report__exists", ["report", str(MODELS / "gh-mlcommons-tiny/vww_96_float.tflite"), "-o", report], out,
            scratch)
        if not args.quick:
            variants = os.path.join(scratch, "variants")
            run("quantize__hello", ["quantize", str(MODELS / "gh-tensorflow-tflite-micro/hello_world_float.tflite"),
                                    "--modes", "float16,dynamic,int8", "--random", "20", "--runs", "3", "-o",
                                    variants, "--json"], out, scratch)
            run("quantize__exists", ["quantize", str(MODELS / "gh-tensorflow-tflite-micro/hello_world_float.tflite"),
                                     "--modes", "float16", "--random", "2", "-o", variants], out, scratch)
            run("quantize__rerun_missing", ["quantize", "--rerun", os.path.join(scratch, "nothing.json")], out,
                scratch)
        (out / "INDEX.json").write_text(json.dumps(sorted(p.name for p in out.iterdir()), indent=0))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
