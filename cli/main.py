"""`tflite-inspector`: a subcommand on the engine, or, with none, the desktop app.

    main(argv) -> exit status;  cli_main() is the console script's entry point.

Importing this costs almost nothing: each subcommand imports the parts of the engine it uses,
and the app's Qt only loads when the app starts.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import sys

from .arguments import parse_args
from .commands import COMMANDS
from .terminal import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, PrintableText, error_line, json_stdout


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-") and not os.path.exists(argv[0]):
        # Neither a command nor a file: a misspelt command (or one this version lacks) would
        # otherwise open the app on a file that is not there — and wait forever without a screen.
        error_line(_not_a_command(argv[0]))
        return EXIT_SOME_FAILED
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        # No subcommand: the desktop app, on the files given (or the bundled sample).
        from .gui.app import run_app

        return run_app(argv)
    args = parse_args(argv)
    if getattr(args, "debug", False):  # the runtime's own log lines too (the worker reads this)
        os.environ.setdefault("TFLITE_INSPECTOR_RUNTIME_LOG", "1")
    run = COMMANDS.get(args.command)
    if run is None:
        error_line(f"unknown command {args.command}")
        return EXIT_SOME_FAILED
    try:
        if getattr(args, "json", False):
            with json_stdout() as out:
                return run(args, out)
        return run(args, PrintableText(sys.stdout))
    except KeyboardInterrupt:
        error_line("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `| head` closed the pipe: not an error of ours.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        return EXIT_OK


def _not_a_command(word: str) -> str:
    if os.sep in word or word.lower().endswith(".tflite"):
        return f"no such file: {word}"
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else f"; commands: {', '.join(COMMANDS)}"
    return f"unknown command '{word}' (and no file of that name){hint}"


def cli_main() -> None:
    sys.exit(main())


if __name__ == "__main__":
    cli_main()
