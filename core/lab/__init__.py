"""The quantization lab: every mode of one source model produced and measured in one table.
Modes, settings and file names, the run (run.py), what each mode made, the device budget,
results (and reading them back from JSON), and the `quantize` command's text."""
