"""A reference model against candidates on the same inputs, layer by layer: inputs and their
preprocessing, tensor matching, the runs (run.py), the results, one tensor pair's values, and
the `compare` command's output."""
