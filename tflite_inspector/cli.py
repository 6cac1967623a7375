"""`tflite-inspector`: the command line. Thin: parse arguments, call core, print.

    parse_args(argv) -> Namespace;  main(argv) -> exit status;  cli_main() for the entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import IO, Any

from . import __version__
from .core.model import ModelError

EXIT_OK = 0
EXIT_SOME_FAILED = 2

_EPILOG = """\
examples:
  tflite-inspector inspect model.tflite
  tflite-inspector inspect models/ --json > models.jsonl
  tflite-inspector compat model.tflite --delegate gpu,nnapi --nnapi-api-level 29
  tflite-inspector compare float.tflite int8.tflite --inputs photos/
  tflite-inspector quantize model.tflite --calibration photos/ -o variants/
  tflite-inspector report float.tflite --compare int8.tflite --inputs photos/ -o report.html
  tflite-inspector                       open the desktop app on the bundled sample
  tflite-inspector a.tflite b.tflite     open the desktop app on these models
"""


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tflite-inspector",
        usage="%(prog)s [FILE.tflite ...]  |  %(prog)s COMMAND [options]",
        description=("See inside .tflite (TensorFlow Lite / LiteRT) models. With no COMMAND, opens the "
                     "desktop app on the given files (or on the bundled sample)."),
        epilog=_EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    inspect = sub.add_parser(
        "inspect",
        prog="tflite-inspector inspect",
        help="summarise models: ops, tensors, quantization, signatures, metadata, sizes",
        description=(
            "Read .tflite files and print what is in them. Folders are searched recursively "
            "for *.tflite. Files that cannot be read are reported and skipped; the exit "
            "status is 0 when every file was read and 2 otherwise."
        ),
        epilog=(
            "examples:\n"
            "  tflite-inspector inspect mobilenet.tflite\n"
            "  tflite-inspector inspect ~/models --json | jq .stats.macs\n"
        ),
        formatter_class=_formatter,
    )
    inspect.add_argument("paths", nargs="+", metavar="PATH",
                         help="a .tflite file, or a folder to search for them (e.g. models/)")
    inspect.add_argument("--json", action="store_true",
                         help="print one JSON object per model per line (JSON Lines) instead of text; "
                              "e.g. --json > out.jsonl")
    inspect.add_argument("--debug", action="store_true",
                         help="print a traceback with unexpected errors (for bug reports)")

    compat = sub.add_parser(
        "compat",
        prog="tflite-inspector compat",
        help="which ops each delegate (GPU, XNNPACK, NNAPI, Edge TPU, Hexagon, Core ML) takes, and why not",
        description=(
            "Evaluate each delegate's rules (from the delegates' own source; see docs/delegate_rules.md) on "
            "every op: ops taken / total, share of MACs taken, partitions, and the CPU-fallback ops grouped "
            "by reason. With XNNPACK, the model is also loaded in the LiteRT interpreter (in a separate "
            "process) to compare the prediction with the DELEGATE nodes the runtime really made. "
            "Exit status: 0 when every file was read, 2 otherwise."
        ),
        epilog=(
            "examples:\n"
            "  tflite-inspector compat mobilenet.tflite\n"
            "  tflite-inspector compat model.tflite --delegate nnapi --nnapi-api-level 28 -v\n"
            "  tflite-inspector compat models/ --json | jq '.delegates.gpu.ops_supported'\n"
        ),
        formatter_class=_formatter,
    )
    compat.add_argument("paths", nargs="+", metavar="MODEL",
                        help="a .tflite file, or a folder to search for them")
    _add_delegate_options(compat)
    compat.add_argument("--no-runtime", action="store_true",
                        help="do not load the model in the interpreter to check the XNNPACK prediction")
    compat.add_argument("--timeout", type=float, default=60.0, metavar="S",
                        help="seconds the interpreter may take per model before it is stopped (default: 60)")
    compat.add_argument("-v", "--verbose", action="store_true",
                        help="list every CPU-fallback op, not only the first few per reason")
    compat.add_argument("--json", action="store_true",
                        help="print one JSON object per model per line (JSON Lines) instead of text")
    compat.add_argument("--debug", action="store_true",
                        help="print a traceback with unexpected errors (for bug reports)")

    compare = sub.add_parser(
        "compare",
        prog="tflite-inspector compare",
        help="run a reference model and its quantized variants on the same inputs; error per layer",
        description=(
            "Run REFERENCE (usually the float model) and each CANDIDATE on the same inputs in the LiteRT "
            "interpreter (in a separate process, delegates off, all tensors kept), match their tensors (by "
            "name, then by graph position) and print the error of every matched tensor: MSE, max |error|, "
            "mean error, stddev, SQNR, cosine similarity, RMSE/scale, averaged over the inputs; for "
            "classifiers, top-1 agreement and top-k labels. Images are preprocessed as the model says "
            "(size, layout, channels); normalization comes from TFLite metadata, else from a quantized "
            "model's input range, else [0, 1] (override with --normalization or --mean/--std). "
            "Definitions: docs/comparison.md. Exit status: 0 when every candidate was compared on every "
            "input, 2 otherwise."
        ),
        epilog=(
            "examples:\n"
            "  tflite-inspector compare vww_96_float.tflite vww_96_int8.tflite --inputs photos/\n"
            "  tflite-inspector compare model.tflite model_int8.tflite model_fp16.tflite --inputs a.jpg b.png -v\n"
            "  tflite-inspector compare denoiser.tflite denoiser_dr.tflite --inputs frames.npz --json\n"
            "  tflite-inspector compare audio.tflite audio_int8.tflite --random 10   (random data, marked as such)\n"
        ),
        formatter_class=_formatter,
    )
    compare.add_argument("reference", metavar="REFERENCE", help="the model the others are measured against")
    compare.add_argument("candidates", nargs="+", metavar="CANDIDATE", help="quantized (or other) variants of it")
    _add_comparison_input_options(compare)
    compare.add_argument("--timeout", type=float, default=60.0, metavar="S",
                         help="seconds the interpreter may take per input before it is stopped (default: 60)")
    compare.add_argument("--worst", type=int, default=10, metavar="N", help="layers listed in text output (default: 10)")
    compare.add_argument("-v", "--verbose", action="store_true", help="list every matched and unmatched tensor")
    compare.add_argument("--per-input", action="store_true", help="with --json: the metrics of every input too")
    compare.add_argument("--json", action="store_true", help="print one JSON object (docs/comparison.md)")
    compare.add_argument("--debug", action="store_true",
                         help="print a traceback with unexpected errors (for bug reports)")
    quantize = sub.add_parser(
        "quantize",
        prog="tflite-inspector quantize",
        help="produce every quantization mode of a model and compare size, latency and error in one table",
        description=(
            "Quantization lab. From a float .tflite (with ai-edge-quantizer) or a SavedModel folder / Keras "
            "file (with TensorFlow's TFLiteConverter; TensorFlow runs in a separate process), write one variant "
            "per mode to OUTDIR as <source>_<mode>.tflite, then measure each: file size, latency (median and "
            "p90 with the LiteRT interpreter and XNNPACK), top-1 agreement and output SQNR against the float "
            "model on your inputs, the worst layer by SQNR, and the ops GPU, XNNPACK and Edge TPU take. A mode "
            "that leaves the model unchanged is reported with the reason, not listed. With a budget "
            "(--max-size, --max-latency, --min-top1, --min-sqnr, --whole-model) the variants that fit are "
            "marked and the one with the smallest error is recommended. Existing files are never replaced "
            "without --overwrite. The settings are saved in OUTDIR/<source>_quantize.json for --rerun. "
            "Exit status: 0 when every mode was produced and measured, 2 otherwise."
        ),
        epilog=(
            "modes: " + ", ".join(_modes()) + "\n"
            "examples:\n"
            "  tflite-inspector quantize vww_96_float.tflite --calibration photos/ -o variants/\n"
            "  tflite-inspector quantize saved_model/ --modes dynamic,int8,int16x8 --int8-io uint8 \\\n"
            "      --calibration photos/ -o out/ --max-size 500kB --min-top1 95 --whole-model edgetpu\n"
            "  tflite-inspector quantize model.keras --modes float16,int8 --random 100 -o out/   (random, marked)\n"
            "  tflite-inspector quantize --rerun out/model_quantize.json --overwrite\n"
        ),
        formatter_class=_formatter,
    )
    quantize.add_argument("source", nargs="?", metavar="SOURCE",
                          help="a float .tflite, a Keras file (.keras, .h5) or a SavedModel folder")
    quantize.add_argument("--modes", default=None, metavar="LIST",
                          help="comma-separated modes (default: " + ",".join(_default_modes()) + ")")
    quantize.add_argument("-o", "--output", metavar="OUTDIR", help="folder for the variants and the saved settings")
    quantize.add_argument("--calibration", nargs="+", default=[], metavar="FILE_OR_DIR",
                          help="images or .npy/.npz arrays (or folders of them) for calibration and, unless "
                               "--inputs is given, for measuring agreement; 100 or more are recommended")
    quantize.add_argument("--inputs", nargs="+", default=[], metavar="FILE_OR_DIR",
                          help="separate inputs to measure agreement and error on (default: the calibration inputs)")
    quantize.add_argument("--random", type=int, default=0, metavar="N",
                          help="use N random inputs instead of files (every result is marked as random)")
    quantize.add_argument("--seed", type=int, default=0, help="seed of --random (default: 0)")
    quantize.add_argument("--limit", type=int, default=None, metavar="N", help="use at most N inputs of each set")
    _add_preprocessing_options(quantize)
    quantize.add_argument("--int8-io", choices=_int8_io_types(), default="int8",
                          help="input and output type of full-integer int8 from a TensorFlow source (default: int8)")
    quantize.add_argument("--threads", type=int, default=1, metavar="N",
                          help="interpreter threads for the latency runs (default: 1, the steadiest figures)")
    quantize.add_argument("--runs", type=int, default=50, metavar="N",
                          help="timed runs per variant, after 3 untimed ones (default: 50; at most ~20 s)")
    quantize.add_argument("--max-size", type=_size, default=None, metavar="SIZE",
                          help="budget: largest file, e.g. 500kB, 1.5MB or 300000 (bytes)")
    quantize.add_argument("--max-latency", type=float, default=None, metavar="MS",
                          help="budget: slowest median latency in milliseconds")
    quantize.add_argument("--min-top1", type=_percent, default=None, metavar="PERCENT",
                          help="budget: lowest top-1 agreement with the float model, in percent")
    quantize.add_argument("--min-sqnr", type=float, default=None, metavar="DB", help="budget: lowest output SQNR in dB")
    quantize.add_argument("--whole-model", choices=_lab_delegates(), default=None, metavar="DELEGATE",
                          help="budget: this delegate must take every op (" + ", ".join(_lab_delegates()) + ")")
    quantize.add_argument("--overwrite", action="store_true", help="replace variants and settings from an earlier run")
    quantize.add_argument("--rerun", metavar="SETTINGS",
                          help="re-do a run from its saved <source>_quantize.json (other options are ignored)")
    quantize.add_argument("--timeout", type=float, default=1800.0, metavar="S",
                          help="seconds one conversion may take before it is stopped (default: 1800)")
    quantize.add_argument("--json", action="store_true", help="print one JSON object (docs/quantization.md)")
    quantize.add_argument("--debug", action="store_true",
                          help="print a traceback with unexpected errors (for bug reports)")

    report = sub.add_parser(
        "report",
        prog="tflite-inspector report",
        help="write one self-contained HTML file: overview, ops, quantization, delegates, comparison",
        description=(
            "Write a single HTML file to send to people who do not have the app: the model's overview, "
            "signatures and inputs/outputs, op table, quantization parameters and every delegate's verdicts "
            "with reasons; with --compare and inputs, the comparison (SQNR per layer, output agreement, top-k "
            "with thumbnails); with --lab, a quantization lab's table. The page has no scripts and loads nothing "
            "from the network. An existing file is not replaced without --overwrite. "
            "Exit status: 0 when the report was written, 2 otherwise."
        ),
        epilog=(
            "examples:\n"
            "  tflite-inspector report model.tflite -o model.html\n"
            "  tflite-inspector report float.tflite --compare int8.tflite --inputs photos/ -o report.html\n"
            "  tflite-inspector report float.tflite --lab variants/float_quantize.json \\\n"
            "      --compare variants/float_int8.tflite --inputs photos/ -o report.html\n"
        ),
        formatter_class=_formatter,
    )
    report.add_argument("model", metavar="MODEL", help="the .tflite model the report is about")
    report.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    report.add_argument("--compare", nargs="+", default=[], metavar="CANDIDATE",
                        help="quantized (or other) variants to compare with MODEL on the inputs")
    _add_comparison_input_options(report)
    _add_delegate_options(report)
    report.add_argument("--lab", metavar="RESULTS",
                        help="a quantization lab's saved results (<stem>_quantize.json) to include as a table")
    report.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    report.add_argument("--timeout", type=float, default=60.0, metavar="S",
                        help="seconds the interpreter may take per request before it is stopped (default: 60)")
    report.add_argument("--debug", action="store_true",
                        help="print a traceback with unexpected errors (for bug reports)")
    return parser


def _add_delegate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delegate", "--delegates", dest="delegate", type=_delegate_list,
                        default=list(_all_delegates()), metavar="LIST",
                        help="comma-separated delegates (default: all): " + ",".join(_all_delegates()))
    parser.add_argument("--nnapi-api-level", type=int, default=30, metavar="N",
                        help="Android API level the NNAPI rules assume (default: 30 = Android 11)")


def _add_comparison_input_options(parser: argparse.ArgumentParser) -> None:
    """The inputs a comparison runs on, how they are prepared, and the labels: `compare` and `report`."""
    parser.add_argument("--inputs", nargs="+", default=[], metavar="FILE_OR_DIR",
                        help="images (JPEG, PNG, BMP, ...), .npy/.npz arrays, or folders of them (searched "
                             "recursively); an .npz names its arrays by input tensor name")
    parser.add_argument("--random", type=int, default=0, metavar="N",
                        help="use N random inputs instead of files (results are marked as random)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random (default: 0)")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="use at most N inputs")
    _add_preprocessing_options(parser)
    parser.add_argument("--labels", metavar="FILE",
                        help="label file for a classifier's scores (default: the model's own, from metadata)")


def _add_preprocessing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--normalization", choices=("auto", *_presets()), default="auto",
                        help="pixel range the model expects: unit = [0, 1], signed = [-1, 1], raw = 0-255 "
                             "(default: auto, from metadata or a quantized input's range)")
    parser.add_argument("--mean", type=_floats, default=None, metavar="M[,M,M]",
                        help="custom normalization: real = (pixel - mean) / std, pixels 0-255")
    parser.add_argument("--std", type=_floats, default=None, metavar="S[,S,S]", help="with --mean")
    parser.add_argument("--resize", choices=("stretch", "center-crop"), default="stretch",
                        help="how images are fitted to the input size (default: stretch)")


def _modes() -> tuple[str, ...]:
    from .core.conversion import MODES

    return tuple(MODES)


def _default_modes() -> tuple[str, ...]:
    from .core.conversion import DEFAULT_MODES

    return DEFAULT_MODES


def _int8_io_types() -> tuple[str, ...]:
    from .core.conversion import INT8_IO_TYPES

    return INT8_IO_TYPES


def _lab_delegates() -> tuple[str, ...]:
    from .core.quantization_lab import LAB_DELEGATES

    return LAB_DELEGATES


_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "k": 1000, "mb": 1000**2, "m": 1000**2, "gb": 1000**3, "kib": 1024,
               "mib": 1024**2}


def _size(value: str) -> int:
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 500kB, 1.5MB or 300000, got {value!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _percent(value: str) -> float:
    try:
        number = float(value.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {value!r}") from None
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {value!r}")
    return number / 100.0


def _presets() -> tuple[str, ...]:
    from .core.inputs import PRESETS

    return tuple(PRESETS)


def _floats(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {value!r}") from None


def _all_delegates() -> tuple[str, ...]:
    from .core.compat import DELEGATES

    return DELEGATES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def find_model_files(paths: list[str]) -> Iterator[str]:
    """Files as given; folders searched recursively for *.tflite, in sorted order."""
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(root, f) for f in files if f.lower().endswith(".tflite"))
            yield from sorted(found)
        else:
            yield path


@contextlib.contextmanager
def json_stdout() -> Iterator[IO[str]]:
    """Keep stdout for JSON only: anything else written to fd 1 (libraries, native code) goes to stderr."""
    sys.stdout.flush()
    saved_fd = os.dup(1)
    try:
        json_stream = os.fdopen(os.dup(saved_fd), "w", encoding="utf-8")
    except OSError:
        os.close(saved_fd)
        raise
    os.dup2(2, 1)
    old_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield json_stream
    finally:
        json_stream.flush()
        sys.stdout = old_stdout
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        json_stream.close()


def _error_line(message: str) -> None:
    print(f"tflite-inspector: error: {message}", file=sys.stderr)


def _each_model(args: argparse.Namespace, out: IO[str], handle: Callable[[Any, IO[str], bool], None]) -> int:
    """Read every file named (folders searched); call `handle(model, out, first)`.

    A file that cannot be read, or an internal error on one, is reported on
    stderr (and as {"path", "error"} in JSON mode) and the others go on.
    """
    from .core.tflite_reader import read_model

    status = EXIT_OK
    files = list(find_model_files(args.paths))
    if not files:
        _error_line("no .tflite files found in " + ", ".join(args.paths))
        return EXIT_SOME_FAILED
    first = True
    for path in files:
        try:
            with read_model(path) as model:
                handle(model, out, first)
        except ModelError as e:
            status = EXIT_SOME_FAILED
            _error_line(str(e))
            if args.json:
                out.write(json.dumps({"path": path, "error": str(e)}, ensure_ascii=False) + "\n")
        except Exception as e:  # noqa: BLE001 - a bug must not stop the other files
            status = EXIT_SOME_FAILED
            message = f"{path}: internal error ({type(e).__name__}: {e}); please report it"
            _error_line(message)
            if args.debug:
                traceback.print_exc()
            if args.json:
                out.write(json.dumps({"path": path, "error": message}, ensure_ascii=False) + "\n")
        first = False
        out.flush()
    return status


def run_inspect(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.analysis import model_stats
    from .core.summary import format_model_text, model_dict

    def handle(model: Any, out: IO[str], first: bool) -> None:
        stats = model_stats(model)
        if args.json:
            out.write(json.dumps(model_dict(model, stats), ensure_ascii=False, allow_nan=False) + "\n")
        else:
            if not first:
                out.write("\n")
            out.write(format_model_text(model, stats) + "\n")

    return _each_model(args, out, handle)


def _delegate_list(value: str) -> list[str]:
    from .core.compat import DELEGATES

    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in DELEGATES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown delegate {', '.join(unknown) or repr(value)}; choose from {','.join(DELEGATES)}"
        )
    return list(dict.fromkeys(names))


def run_compat(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.compat import (
        analyze,
        check_xnnpack_against_runtime,
        comparison_dict,
        format_compat_text,
        report_dict,
    )
    from .core.runtime import RuntimeFailure, RuntimeWorker

    check_runtime = "xnnpack" in args.delegate and not args.no_runtime
    worker = RuntimeWorker(timeout_s=args.timeout) if check_runtime else None

    def handle(model: Any, out: IO[str], first: bool) -> None:
        reports = {d: analyze(model, d, api_level=args.nnapi_api_level) for d in args.delegate}
        comparison = failure = None
        if worker is not None:
            try:
                comparison = check_xnnpack_against_runtime(model, reports["xnnpack"], worker)
            except RuntimeFailure as e:
                failure = str(e).splitlines()[0] if str(e) else "the interpreter failed"
        if args.json:
            record: dict[str, Any] = {
                "path": str(model.path),
                "delegates": {d: report_dict(r) for d, r in reports.items()},
            }
            if worker is not None:
                record["xnnpack_runtime"] = comparison_dict(comparison) if comparison else {"error": failure}
            out.write(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
        else:
            if not first:
                out.write("\n")
            out.write(format_compat_text(model, reports, comparison, failure, verbose=args.verbose) + "\n")

    try:
        return _each_model(args, out, handle)
    finally:
        if worker is not None:
            worker.close()


def run_compare(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.comparison import ComparisonRequest, compare_files, comparison_dict, format_comparison_text
    from .core.inputs import InputError
    from .core.runtime import RuntimeFailure, RuntimeWorker

    if not args.inputs and args.random <= 0:
        _error_line("give inputs (--inputs FILE_OR_DIR...) or ask for random ones (--random N)")
        return EXIT_SOME_FAILED
    if (args.mean is None) != (args.std is None):
        _error_line("--mean and --std go together")
        return EXIT_SOME_FAILED
    try:
        normalization = _normalization(args)
        request = ComparisonRequest(
            args.reference, tuple(args.candidates), tuple(args.inputs), normalization, args.resize,
            args.random, args.seed, args.limit, args.labels,
        )
        with RuntimeWorker(timeout_s=args.timeout) as worker:
            run = compare_files(request, worker)
    except (ModelError, InputError, RuntimeFailure) as e:
        _error_line(" ".join(str(e).split()))
        if args.json:
            out.write(json.dumps({"reference": args.reference, "error": str(e)}, ensure_ascii=False) + "\n")
        return EXIT_SOME_FAILED
    comparison = run.comparison
    for message in run.samples.errors:
        _error_line(f"skipped input {message}")
    if args.json:
        out.write(json.dumps(comparison_dict(comparison, per_input=args.per_input), ensure_ascii=False,
                             allow_nan=False) + "\n")
    else:
        out.write(format_comparison_text(comparison, verbose=args.verbose, worst=args.worst) + "\n")
    for candidate in comparison.candidates:
        if candidate.error:
            _error_line(f"{candidate.path}: {candidate.error}")
    failed = run.samples.errors or any(c.error for c in comparison.candidates)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _normalization(args: argparse.Namespace) -> Any:
    """--mean/--std, else a --normalization preset, else None (derived from the model). Raises InputError."""
    from .core.inputs import custom_normalization, preset

    if args.mean is not None:
        return custom_normalization(args.mean, args.std)
    if args.normalization != "auto":
        return preset(args.normalization)
    return None


def _lab_settings(args: argparse.Namespace) -> Any:
    """The run's settings from the options, or from --rerun's saved file. Raises ConversionError, InputError."""
    from .core.conversion import DEFAULT_MODES, ConversionError, parse_modes, source_kind
    from .core.quantization_lab import Budget, LabSettings, load_settings

    if args.rerun:
        return load_settings(args.rerun)
    if not args.source or not args.output:
        raise ConversionError("give SOURCE and -o OUTDIR (or --rerun SETTINGS)")
    if (args.mean is None) != (args.std is None):
        raise ConversionError("--mean and --std go together")
    kind = source_kind(args.source)
    modes = parse_modes(args.modes, kind) if args.modes else DEFAULT_MODES
    budget = Budget(args.max_size, args.max_latency, args.min_top1, args.min_sqnr, args.whole_model)
    return LabSettings(
        source=args.source, output_dir=args.output, modes=modes, calibration=tuple(args.calibration),
        evaluation=tuple(args.inputs), normalization=_normalization(args), resize=args.resize, limit=args.limit,
        random_count=args.random, seed=args.seed, int8_io=args.int8_io, threads=args.threads, runs=args.runs,
        budget=budget,
    )


def run_quantize(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.conversion import ConversionError, ConversionWorker
    from .core.inputs import InputError
    from .core.quantization_lab import existing_outputs, format_lab_text, lab_dict, run_lab
    from .core.runtime import RuntimeFailure, RuntimeWorker

    def progress(done: int, total: int, message: str) -> None:
        if message and not args.json and sys.stderr.isatty():
            print(f"\r[{done + 1}/{total}] {message:60.60}", end="", file=sys.stderr, flush=True)

    try:
        settings = _lab_settings(args)
        overwrite = args.overwrite
        existing = existing_outputs(settings)
        if existing and not overwrite:
            raise ConversionError("these files exist and would be replaced: " + ", ".join(existing)
                                  + " (use --overwrite, or another -o folder)")
        with RuntimeWorker() as runtime, ConversionWorker(timeout_s=args.timeout) as converter:
            result = run_lab(settings, runtime, converter, overwrite=overwrite, progress=progress)
    except (ConversionError, ModelError, InputError, RuntimeFailure, OSError) as e:
        if not args.json and sys.stderr.isatty():
            print(file=sys.stderr)
        _error_line(" ".join(str(e).split()))
        if args.json:
            out.write(json.dumps({"source": args.source, "error": str(e)}, ensure_ascii=False) + "\n")
        return EXIT_SOME_FAILED
    if not args.json and sys.stderr.isatty():
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr)
    if args.json:
        out.write(json.dumps(lab_dict(result), ensure_ascii=False, allow_nan=False) + "\n")
    else:
        out.write(format_lab_text(result) + "\n")
    failed = any(v.error or v.latency_error or v.evaluation_error for v in result.variants)
    return EXIT_SOME_FAILED if failed or result.cancelled else EXIT_OK


def run_report(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.comparison import ComparisonRequest
    from .core.files import FileExists
    from .core.inputs import InputError
    from .core.report import ReportError, ReportRequest, build_report, read_lab_results, write_report
    from .core.runtime import RuntimeFailure, RuntimeWorker

    def progress(done: int, total: int, message: str) -> None:
        if message and sys.stderr.isatty():
            print(f"\r[{min(done + 1, total)}/{total}] {message:60.60}", end="", file=sys.stderr, flush=True)

    if args.compare and not args.inputs and args.random <= 0:
        _error_line("--compare needs inputs (--inputs FILE_OR_DIR...) or random ones (--random N)")
        return EXIT_SOME_FAILED
    if (args.mean is None) != (args.std is None):
        _error_line("--mean and --std go together")
        return EXIT_SOME_FAILED
    if os.path.exists(args.output) and not args.overwrite:
        _error_line(f"{args.output} exists; not replaced (use --overwrite, or another -o file)")
        return EXIT_SOME_FAILED
    worker = None
    try:
        comparison = None
        if args.compare:
            comparison = ComparisonRequest(
                args.model, tuple(args.compare), tuple(args.inputs), _normalization(args), args.resize,
                args.random, args.seed, args.limit, args.labels,
            )
            worker = RuntimeWorker(timeout_s=args.timeout)
        request = ReportRequest(args.model, tuple(args.delegate), args.nnapi_api_level, comparison,
                                read_lab_results(args.lab) if args.lab else None)
        html = build_report(request, worker, progress=progress)
        write_report(html, args.output, overwrite=args.overwrite)
    except (ModelError, InputError, RuntimeFailure, ReportError, FileExists, OSError) as e:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        _error_line(" ".join(str(e).split()))
        return EXIT_SOME_FAILED
    except Exception as e:  # noqa: BLE001 - a bug: one line (a traceback with --debug), never a crash
        if sys.stderr.isatty():
            print(file=sys.stderr)
        _error_line(f"{args.model}: internal error ({type(e).__name__}: {e}); please report it")
        if args.debug:
            traceback.print_exc()
        return EXIT_SOME_FAILED
    finally:
        if worker is not None:
            worker.close()
    if sys.stderr.isatty():
        print("\r" + " " * 70 + "\r", end="", file=sys.stderr)
    out.write(f"wrote {args.output} ({len(html.encode('utf-8')):,} bytes)\n")
    return EXIT_OK


SUBCOMMANDS = ("inspect", "compat", "compare", "quantize", "report")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        # No subcommand: the desktop app, on the files given (or the bundled sample).
        from .gui.app import run_app

        return run_app(argv)
    args = parse_args(argv)
    try:
        run = {"inspect": run_inspect, "compat": run_compat, "compare": run_compare,
               "quantize": run_quantize, "report": run_report}.get(args.command)
        if run is not None:
            if getattr(args, "json", False):
                with json_stdout() as out:
                    return run(args, out)
            return run(args, sys.stdout)
    except KeyboardInterrupt:
        _error_line("interrupted")
        return 130
    except BrokenPipeError:
        # `| head` closed the pipe: not an error of ours.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        return EXIT_OK
    _error_line(f"unknown command {args.command}")
    return EXIT_SOME_FAILED


def cli_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    cli_main()
