"""The subcommands: each turns its arguments into a call of the engine (tflite_inspector.core) and
prints the result as text or JSON. Thin by design: the app makes the same calls.

Every user-facing failure is an `InspectorError` (core/errors.py) and becomes one error line and
exit status 2; anything else is a bug of ours, reported as such in one line, never a traceback
(unless --debug).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator
from typing import IO, Any

from .core.errors import ConversionError, InspectorError, ModelError
from .terminal import EXIT_OK, EXIT_SOME_FAILED, TerminalProgress, error_line, internal_error


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


def _json_line(out: IO[str], value: Any) -> None:
    out.write(json.dumps(value, ensure_ascii=False, allow_nan=False) + "\n")


def _each_model(args: argparse.Namespace, out: IO[str], handle: Callable[[Any, IO[str], bool], None]) -> int:
    """Read every file named (folders searched); call `handle(model, out, first)`.

    A file that cannot be read, or an internal error on one, is reported on stderr (and as
    {"path", "error"} in JSON mode) and the others go on.
    """
    from .core.reading.reader import read_model

    status = EXIT_OK
    files = list(find_model_files(args.paths))
    if not files:
        error_line("no .tflite files found in " + ", ".join(args.paths))
        return EXIT_SOME_FAILED
    first = True
    for path in files:
        try:
            with read_model(path) as model:
                handle(model, out, first)
        except ModelError as e:
            status = EXIT_SOME_FAILED
            error_line(str(e))
            if args.json:
                _json_line(out, {"path": path, "error": str(e)})
        except Exception as e:  # noqa: BLE001 - a bug must not stop the other files
            status = EXIT_SOME_FAILED
            message = internal_error(path, e, args.debug)
            if args.json:
                _json_line(out, {"path": path, "error": message})
        first = False
        out.flush()
    return status


def _resolved_shapes(model: Any, specs: list[str], worker: Any) -> Any:
    """Subgraph 0's shapes as the interpreter resizes them to `specs` (--input-shape) and the
    model's stated sizes, or None without a worker (neither --input-shape nor --resolve-shapes)
    or for a model without dynamic inputs. Raises InputError / RuntimeFailure."""
    from .core.inspection.shapes import dynamic_inputs, input_shapes

    if worker is None or not dynamic_inputs(model):
        return None
    return worker.resolve_shapes(model.path, input_shapes(model, specs))


def run_inspect(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.inspection.stats import model_stats
    from .core.inspection.summary import format_model_text, model_dict
    from .core.runtime.interpreter import RuntimeWorker

    worker = RuntimeWorker(timeout_s=args.shape_timeout) if args.input_shape or args.resolve_shapes else None

    def handle(model: Any, out: IO[str], first: bool) -> None:
        nonlocal status
        problem = ""
        try:
            resolved = _resolved_shapes(model, args.input_shape, worker)
        except InspectorError as e:
            # The static figures (lower bounds) are shown with the reason. A shape the user gave
            # that does not fit is a failure; a model that states no size (--resolve-shapes) is not.
            problem = str(e).strip().splitlines()[0] if str(e).strip() else "the interpreter failed"
            if args.input_shape:
                error_line(f"{model.path}: shapes not resolved: {problem}")
                status = EXIT_SOME_FAILED
            resolved = None
        stats = model_stats(model, resolved)
        if args.json:
            record = model_dict(model, stats)
            if problem:
                record["stats"]["shapes"]["error"] = problem
            _json_line(out, record)
        else:
            if not first:
                out.write("\n")
            text = format_model_text(model, stats)
            if problem:
                head, _, rest = text.partition("\n")
                text = f"{head}\n  shapes not resolved: {problem}\n{rest}"
            out.write(text + "\n")

    status = EXIT_OK
    try:
        result = _each_model(args, out, handle)
    finally:
        if worker is not None:
            worker.close()
    return max(result, status)


def run_compat(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.delegates.engine import analyze
    from .core.delegates.output import comparison_dict, format_compat_text, report_dict
    from .core.delegates.runtime_check import compare_with_runtime
    from .core.delegates.settings import DelegateSettings
    from .core.errors import RuntimeFailure
    from .core.runtime.interpreter import RuntimeWorker

    settings = DelegateSettings(args.nnapi_api_level)
    check_runtime = "xnnpack" in args.delegate and not args.no_runtime
    worker = RuntimeWorker(timeout_s=args.timeout) if check_runtime else None

    def handle(model: Any, out: IO[str], first: bool) -> None:
        reports = {d: analyze(model, d, settings) for d in args.delegate}
        comparison = failure = None
        if worker is not None:
            try:
                nodes = worker.default_delegate_nodes(model.path)
                comparison = compare_with_runtime(reports["xnnpack"], model.subgraphs[0], nodes.delegate_nodes)
            except RuntimeFailure as e:
                failure = str(e).splitlines()[0] if str(e) else "the interpreter failed"
        if args.json:
            record: dict[str, Any] = {
                "path": str(model.path),
                "delegates": {d: report_dict(r) for d, r in reports.items()},
            }
            if worker is not None:
                record["xnnpack_runtime"] = comparison_dict(comparison) if comparison else {"error": failure}
            _json_line(out, record)
        else:
            if not first:
                out.write("\n")
            out.write(format_compat_text(model, reports, comparison, failure, verbose=args.verbose) + "\n")

    try:
        return _each_model(args, out, handle)
    finally:
        if worker is not None:
            worker.close()


def _normalization(args: argparse.Namespace) -> Any:
    """--mean/--std, else a --normalization preset, else None (derived from the model). Raises InputError."""
    from .core.comparison.inputs import custom_normalization, preset

    if args.mean is not None:
        return custom_normalization(args.mean, args.std)
    if args.normalization != "auto":
        return preset(args.normalization)
    return None


def _comparison_request(args: argparse.Namespace, reference: str, candidates: list[str]) -> Any:
    from .core.comparison.run import ComparisonRequest

    return ComparisonRequest(reference, tuple(candidates), tuple(args.inputs), _normalization(args), args.resize,
                             args.random, args.seed, args.limit, args.labels, isolated=args.isolated,
                             signature=args.signature)


def _input_problem(args: argparse.Namespace, no_inputs: str) -> str | None:
    """Why the inputs given cannot be used, before anything runs (`no_inputs` when there are none)."""
    if not args.inputs and args.random <= 0:
        return no_inputs
    if (args.mean is None) != (args.std is None):
        return "--mean and --std go together"
    return None


def run_compare(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.comparison.output import comparison_dict, format_comparison_text
    from .core.comparison.run import compare_files
    from .core.runtime.interpreter import RuntimeWorker

    problem = _input_problem(args, "give inputs (--inputs FILE_OR_DIR...) or ask for random ones (--random N)")
    if problem:
        error_line(problem)
        return EXIT_SOME_FAILED
    try:
        with RuntimeWorker(timeout_s=args.timeout) as worker:
            run = compare_files(_comparison_request(args, args.reference, args.candidates), worker)
    except InspectorError as e:
        error_line(str(e))
        if args.json:
            _json_line(out, {"reference": args.reference, "error": str(e)})
        return EXIT_SOME_FAILED
    comparison = run.comparison
    for message in run.samples.errors:
        error_line(f"skipped input {message}")
    if args.json:
        _json_line(out, comparison_dict(comparison, per_input=args.per_input))
    else:
        out.write(format_comparison_text(comparison, verbose=args.verbose, worst=args.worst) + "\n")
    for candidate in comparison.candidates:
        if candidate.error:
            error_line(f"{candidate.path}: {candidate.error}")
    failed = run.samples.errors or any(c.error for c in comparison.candidates)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _lab_settings(args: argparse.Namespace) -> Any:
    """The run's settings from the options, or from --rerun's saved file. Raises ConversionError, InputError."""
    from .core.lab.keep_float import split_selectors
    from .core.lab.modes import DEFAULT_MODES, parse_modes, source_kind
    from .core.lab.settings import Budget, LabSettings, load_settings

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
        budget=budget, signature=args.signature, keep_float=split_selectors(args.keep_float),
        suggest=_suggest_target(args, modes),
    )


def _suggest_target(args: argparse.Namespace, modes: tuple[str, ...]) -> Any:
    """Suggest's target from --suggest-*, None when neither target is given."""
    from .core.lab.suggest import SuggestTarget

    if args.suggest_sqnr is None and args.suggest_top1 is None:
        return None
    if args.suggest_mode not in modes:
        raise ConversionError(f"--suggest-mode {args.suggest_mode} is not among the modes run ({', '.join(modes)})")
    if args.suggest_max < 1:
        raise ConversionError("--suggest-max must be at least 1")
    return SuggestTarget(args.suggest_mode, args.suggest_sqnr, args.suggest_top1, args.suggest_max)


def run_quantize(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.lab.output import format_lab_text
    from .core.lab.results import lab_dict
    from .core.lab.run import run_lab
    from .core.lab.settings import existing_outputs
    from .core.runtime.conversion import ConversionWorker
    from .core.runtime.interpreter import RuntimeWorker

    progress = TerminalProgress(enabled=not args.json)
    try:
        settings = _lab_settings(args)
        existing = existing_outputs(settings)
        if existing and not args.overwrite:
            raise ConversionError("these files exist and would be replaced: " + ", ".join(existing)
                                  + " (use --overwrite, or another -o folder)")
        with RuntimeWorker() as runtime, ConversionWorker(timeout_s=args.timeout) as converter:
            result = run_lab(settings, runtime, converter, overwrite=args.overwrite, progress=progress)
    except (InspectorError, OSError) as e:
        progress.clear()
        error_line(str(e))
        if args.json:
            _json_line(out, {"source": args.source, "error": str(e)})
        return EXIT_SOME_FAILED
    progress.clear()
    if args.json:
        _json_line(out, lab_dict(result))
    else:
        out.write(format_lab_text(result) + "\n")
    failed = any(v.error or v.latency_error or v.evaluation_error for v in result.variants)
    return EXIT_SOME_FAILED if failed or result.cancelled else EXIT_OK


def run_report(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.delegates.settings import DelegateSettings
    from .core.lab.results import load_lab_result
    from .core.report.build import ReportRequest, build_report, write_report
    from .core.runtime.interpreter import RuntimeWorker

    problem = _input_problem(args, "--compare needs inputs (--inputs FILE_OR_DIR...) or random ones (--random N)") \
        if args.compare else None
    if problem is None and (args.mean is None) != (args.std is None):
        problem = "--mean and --std go together"
    if problem:
        error_line(problem)
        return EXIT_SOME_FAILED
    if os.path.exists(args.output) and not args.overwrite:
        error_line(f"{args.output} exists; not replaced (use --overwrite, or another -o file)")
        return EXIT_SOME_FAILED
    progress = TerminalProgress()
    worker = None
    try:
        comparison = None
        if args.compare:
            comparison = _comparison_request(args, args.model, args.compare)
            worker = RuntimeWorker(timeout_s=args.timeout)
        request = ReportRequest(args.model, tuple(args.delegate), DelegateSettings(args.nnapi_api_level), comparison,
                                load_lab_result(args.lab) if args.lab else None,
                                input_shapes=tuple(args.input_shape), resolve_shapes=args.resolve_shapes)
        if (args.input_shape or args.resolve_shapes) and worker is None:
            worker = RuntimeWorker(timeout_s=args.timeout)
        html = build_report(request, worker, progress=progress)
        write_report(html, args.output, overwrite=args.overwrite)
    except (InspectorError, OSError) as e:
        progress.clear()
        error_line(str(e))
        return EXIT_SOME_FAILED
    except Exception as e:  # noqa: BLE001 - a bug: one line (a traceback with --debug), never a crash
        progress.clear()
        internal_error(args.model, e, args.debug)
        return EXIT_SOME_FAILED
    finally:
        if worker is not None:
            worker.close()
    progress.clear()
    out.write(f"wrote {args.output} ({len(html.encode('utf-8')):,} bytes)\n")
    return EXIT_OK


def run_graph(args: argparse.Namespace, out: IO[str]) -> int:
    from .core.delegates.settings import DelegateSettings
    from .core.files import write_new_file
    from .core.graph.drawing import draw
    from .core.graph.layout_worker import LayoutWorker
    from .core.graph.svg import graph_svg
    from .core.reading.reader import read_model

    if not args.output.lower().endswith(".svg"):
        error_line(f"{args.output}: the command line writes SVG (name the file .svg); PNG export is in the app")
        return EXIT_SOME_FAILED
    if os.path.exists(args.output) and not args.overwrite:
        error_line(f"{args.output} exists; not replaced (use --overwrite, or another -o file)")
        return EXIT_SOME_FAILED
    worker = LayoutWorker()
    try:
        with read_model(args.model) as model:
            drawing = draw(model, args.subgraph, args.overlay, with_constants=args.constants,
                           settings=DelegateSettings(args.nnapi_api_level), worker=worker)
            title = f"{os.path.basename(args.model)} · subgraph {args.subgraph} · {drawing.paint.title}"
            svg = graph_svg(drawing.graph, drawing.layout, model.subgraphs[args.subgraph], drawing.paint, title=title)
        write_new_file(args.output, svg.encode("utf-8"), overwrite=args.overwrite)
    except (InspectorError, OSError) as e:
        error_line(str(e))
        return EXIT_SOME_FAILED
    except Exception as e:  # noqa: BLE001 - a bug: one line (a traceback with --debug), never a crash
        internal_error(args.model, e, args.debug)
        return EXIT_SOME_FAILED
    finally:
        worker.close()
    layout = drawing.layout
    out.write(f"wrote {args.output} ({len(svg.encode('utf-8')):,} bytes): {drawing.graph.op_count:,} ops, "
              f"{len(drawing.graph.edges):,} edges, laid out by {layout.engine} in {layout.seconds:.2f} s\n")
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, IO[str]], int]] = {
    "inspect": run_inspect,
    "graph": run_graph,
    "compat": run_compat,
    "compare": run_compare,
    "quantize": run_quantize,
    "report": run_report,
}
