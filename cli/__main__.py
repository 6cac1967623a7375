"""`python -m tflite_inspector`: the same as the `tflite-inspector` command."""

from .main import cli_main

cli_main()
