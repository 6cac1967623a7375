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
    compat.add_argument("--delegate", type=_delegate_list, default=list(_all_delegates()), metavar="LIST",
                        help="comma-separated delegates to check (default: all): " + ",".join(_all_delegates()))
    compat.add_argument("--nnapi-api-level", type=int, default=30, metavar="N",
                        help="Android API level the NNAPI rules assume (default: 30 = Android 11)")
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
    compare.add_argument("--inputs", nargs="+", default=[], metavar="FILE_OR_DIR",
                         help="images (JPEG, PNG, BMP, ...), .npy/.npz arrays, or folders of them (searched "
                              "recursively); an .npz names its arrays by input tensor name")
    compare.add_argument("--random", type=int, default=0, metavar="N",
                         help="use N random inputs instead of files (results are marked as random)")
    compare.add_argument("--seed", type=int, default=0, help="seed of --random (default: 0)")
    compare.add_argument("--limit", type=int, default=None, metavar="N", help="use at most N inputs")
    compare.add_argument("--normalization", choices=("auto", *_presets()), default="auto",
                         help="pixel range the model expects: unit = [0, 1], signed = [-1, 1], raw = 0-255 "
                              "(default: auto, from metadata or a quantized input's range)")
    compare.add_argument("--mean", type=_floats, default=None, metavar="M[,M,M]",
                         help="custom normalization: real = (pixel - mean) / std, pixels 0-255")
    compare.add_argument("--std", type=_floats, default=None, metavar="S[,S,S]", help="with --mean")
    compare.add_argument("--resize", choices=("stretch", "center-crop"), default="stretch",
                         help="how images are fitted to the input size (default: stretch)")
    compare.add_argument("--labels", metavar="FILE",
                         help="label file for a classifier's scores (default: the model's own, from metadata)")
    compare.add_argument("--timeout", type=float, default=60.0, metavar="S",
                         help="seconds the interpreter may take per input before it is stopped (default: 60)")
    compare.add_argument("--worst", type=int, default=10, metavar="N", help="layers listed in text output (default: 10)")
    compare.add_argument("-v", "--verbose", action="store_true", help="list every matched and unmatched tensor")
    compare.add_argument("--per-input", action="store_true", help="with --json: the metrics of every input too")
    compare.add_argument("--json", action="store_true", help="print one JSON object (docs/comparison.md)")
    compare.add_argument("--debug", action="store_true",
                         help="print a traceback with unexpected errors (for bug reports)")
    return parser


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
    from .core.inputs import InputError, custom_normalization, preset
    from .core.runtime import RuntimeFailure, RuntimeWorker

    if not args.inputs and args.random <= 0:
        _error_line("give inputs (--inputs FILE_OR_DIR...) or ask for random ones (--random N)")
        return EXIT_SOME_FAILED
    if (args.mean is None) != (args.std is None):
        _error_line("--mean and --std go together")
        return EXIT_SOME_FAILED
    try:
        normalization = None
        if args.mean is not None:
            normalization = custom_normalization(args.mean, args.std)
        elif args.normalization != "auto":
            normalization = preset(args.normalization)
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


SUBCOMMANDS = ("inspect", "compat", "compare")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        # No subcommand: the desktop app, on the files given (or the bundled sample).
        from .gui.app import run_app

        return run_app(argv)
    args = parse_args(argv)
    try:
        run = {"inspect": run_inspect, "compat": run_compat, "compare": run_compare}.get(args.command)
        if run is not None:
            if args.json:
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
