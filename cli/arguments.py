"""The command line's arguments: the parser for every subcommand, and the option types that turn
text into values (sizes, percentages, lists) with a message argparse shows when they cannot."""

from __future__ import annotations

import argparse

from .core import __version__
from .core.delegates.settings import DEFAULT_NNAPI_API_LEVEL

_EPILOG = """\
examples:
  tflite-inspector inspect model.tflite
  tflite-inspector inspect models/ --json > models.jsonl
  tflite-inspector compat model.tflite --delegate gpu,nnapi --nnapi-api-level 29
  tflite-inspector compare float.tflite int8.tflite --inputs photos/
  tflite-inspector quantize model.tflite --calibration photos/ -o variants/
  tflite-inspector report float.tflite --compare int8.tflite --inputs photos/ -o report.html
  tflite-inspector graph model.tflite -o model.svg --overlay delegate:gpu
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
            "  tflite-inspector inspect audio.tflite --input-shape waveform=1,144000   (MACs at that size)\n"
        ),
        formatter_class=_formatter,
    )
    inspect.add_argument("paths", nargs="+", metavar="PATH",
                         help="a .tflite file, or a folder to search for them (e.g. models/)")
    _add_input_shape_options(inspect)
    inspect.add_argument("--json", action="store_true",
                         help="print one JSON object per model per line (JSON Lines) instead of text; "
                              "e.g. --json > out.jsonl")
    _add_debug_option(inspect)

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
    _add_debug_option(compat)

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
    _add_debug_option(compare)
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
            "  tflite-inspector quantize model.tflite --modes int8 --keep-float PRELU,27 --calibration photos/ -o out/\n"
            "  tflite-inspector quantize model.tflite --modes int8 --suggest-sqnr 30 --calibration photos/ -o out/\n"
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
    quantize.add_argument("--keep-float", action="append", default=[], metavar="SELECTOR",
                          help="keep these ops in float in every quantized mode (mixed precision, by "
                               "ai-edge-quantizer's per-op recipe scopes): op indices (12, 10-14), op types "
                               "(PRELU) or a regex over output tensor names (re:^model/dense); comma-separated "
                               "or repeated; the variants are named for them")
    quantize.add_argument("--suggest-sqnr", type=float, default=None, metavar="DB",
                          help="Suggest: keep the fewest ops in float (worst own error first) until the "
                               "--suggest-mode variant's output SQNR reaches DB; each step is reported and the "
                               "last becomes a row")
    quantize.add_argument("--suggest-top1", type=_percent, default=None, metavar="PERCENT",
                          help="Suggest: ... until top-1 agreement reaches PERCENT (with or without --suggest-sqnr)")
    quantize.add_argument("--suggest-mode", default="int8", metavar="MODE",
                          help="the mode Suggest starts from (default: int8; it must be among --modes)")
    quantize.add_argument("--suggest-max", type=int, default=8, metavar="N",
                          help="Suggest keeps at most N ops in float (default: 8)")
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
    _add_debug_option(quantize)

    graph = sub.add_parser(
        "graph",
        prog="tflite-inspector graph",
        help="draw a subgraph as an SVG graph, coloured by op type, a delegate, quantization or cost",
        description=(
            "Lay out one subgraph top to bottom (ops as boxes, tensors as edges, constant inputs folded "
            "into their op unless --constants) and write it as one self-contained SVG with its legend; "
            "hovering a box in a browser shows its tensors. Overlays: type (op categories), quantization "
            "(output dtype, per-channel or per-tensor weights, QUANTIZE/DEQUANTIZE), macs or bytes (cost "
            "per op), delegate:NAME (taken and refused ops, with partitions). The app's Graph page shows "
            "the same and more (the Compare page's per-layer error); PNG export is in the app. "
            "Exit status: 0 when the file was written, 2 otherwise."
        ),
        epilog=(
            "examples:\n"
            "  tflite-inspector graph model.tflite -o model.svg\n"
            "  tflite-inspector graph model.tflite -o gpu.svg --overlay delegate:gpu\n"
            "  tflite-inspector graph model.tflite -o loop.svg --subgraph 1 --overlay quantization\n"
        ),
        formatter_class=_formatter,
    )
    graph.add_argument("model", metavar="MODEL", help="the .tflite model")
    graph.add_argument("-o", "--output", required=True, metavar="FILE.svg", help="the SVG file to write")
    graph.add_argument("--overlay", default="type", type=_overlay, metavar="NAME",
                       help="what the colours show (default: type): " + ", ".join(_overlay_names()))
    graph.add_argument("--subgraph", type=int, default=0, metavar="N", help="which subgraph (default: 0)")
    graph.add_argument("--constants", action="store_true",
                       help="draw constant inputs (weights, biases, shapes) as nodes of their own")
    graph.add_argument("--nnapi-api-level", type=_api_level, default=DEFAULT_NNAPI_API_LEVEL, metavar="N",
                       help=f"for --overlay delegate:nnapi (default: {DEFAULT_NNAPI_API_LEVEL})")
    graph.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    _add_debug_option(graph)

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
    _add_input_shape_options(report)
    report.add_argument("--lab", metavar="RESULTS",
                        help="a quantization lab's saved results (<stem>_quantize.json) to include as a table")
    report.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    report.add_argument("--timeout", type=float, default=60.0, metavar="S",
                        help="seconds the interpreter may take per request before it is stopped (default: 60)")
    _add_debug_option(report)
    return parser


def _add_input_shape_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input-shape", action="append", default=[], metavar="NAME=DIMS",
        help="resolve dynamic (-1) dimensions: the interpreter resizes input NAME (tensor or signature name; "
             "the name may be left out when one input is dynamic) to DIMS, e.g. waveform=1,144000, and MACs and "
             "memory are counted at the shapes it reports for every tensor. Inputs not named take the size the "
             "model states (batch 1, the metadata's image size). Repeat for several inputs. Without it, "
             "figures that count a -1 as 1 are shown as lower bounds (>=)")
    parser.add_argument("--resolve-shapes", action="store_true",
                        help="resolve dynamic dimensions at the sizes the model states (batch 1, the metadata's image "
                             "size), as --input-shape does for the inputs it does not name")
    parser.add_argument("--shape-timeout", type=float, default=60.0, metavar="S",
                        help="seconds the interpreter may take to resolve the shapes (default: 60)")


def _add_debug_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true",
                        help="print a traceback with unexpected errors, and the runtime's own log lines (for bug reports)")


def _add_delegate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--delegate", "--delegates", dest="delegate", type=_delegate_list,
                        default=list(_all_delegates()), metavar="LIST",
                        help="comma-separated delegates (default: all): " + ",".join(_all_delegates()))
    parser.add_argument("--nnapi-api-level", type=_api_level, default=DEFAULT_NNAPI_API_LEVEL, metavar="N",
                        help=f"Android API level the NNAPI rules assume (default: {DEFAULT_NNAPI_API_LEVEL} = "
                             "Android 11)")


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
    parser.add_argument("--no-isolated", dest="isolated", action="store_false",
                        help="skip each layer's own error (every candidate op run alone on the reference's "
                             "activations); only end-to-end numbers, about half the run time, no suspect flags")


def _add_preprocessing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--normalization", choices=("auto", *_presets()), default="auto",
                        help="pixel range the model expects: unit = [0, 1], signed = [-1, 1], raw = 0-255 "
                             "(default: auto, from metadata or a quantized input's range)")
    parser.add_argument("--mean", type=_floats, default=None, metavar="M[,M,M]",
                        help="custom normalization: real = (pixel - mean) / std, pixels 0-255")
    parser.add_argument("--std", type=_floats, default=None, metavar="S[,S,S]", help="with --mean")
    parser.add_argument("--resize", choices=("stretch", "center-crop"), default="stretch",
                        help="how images are fitted to the input size (default: stretch)")
    parser.add_argument("--signature", metavar="KEY", default=None,
                        help="the signature to run and compare (its subgraph and inputs; `inspect` lists "
                             "them); default: serving_default, else the model's first, else subgraph 0")


def _overlay_names() -> tuple[str, ...]:
    from .core.graph.drawing import OVERLAY_NAMES

    return OVERLAY_NAMES


def _overlay(value: str) -> str:
    if value not in _overlay_names():
        raise argparse.ArgumentTypeError(f"no overlay {value!r}: choose one of {', '.join(_overlay_names())}")
    return value


def _modes() -> tuple[str, ...]:
    from .core.lab.modes import MODES

    return tuple(MODES)


def _default_modes() -> tuple[str, ...]:
    from .core.lab.modes import DEFAULT_MODES

    return DEFAULT_MODES


def _int8_io_types() -> tuple[str, ...]:
    from .core.lab.modes import INT8_IO_TYPES

    return INT8_IO_TYPES


def _lab_delegates() -> tuple[str, ...]:
    from .core.lab.settings import LAB_DELEGATES

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
    from .core.comparison.inputs import PRESETS

    return tuple(PRESETS)


def _floats(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {value!r}") from None


def _delegate_list(value: str) -> list[str]:
    from .core.delegates.engine import DELEGATES

    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in DELEGATES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown delegate {', '.join(unknown) or repr(value)}; choose from {','.join(DELEGATES)}"
        )
    return list(dict.fromkeys(names))


def _api_level(value: str) -> int:
    try:
        level = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an Android API level (a number), got {value!r}") from None
    if level < 1:
        raise argparse.ArgumentTypeError(f"an Android API level is a positive number, not {value!r}")
    return level


def _all_delegates() -> tuple[str, ...]:
    from .core.delegates.engine import DELEGATES

    return DELEGATES


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)
