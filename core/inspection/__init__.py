"""What is in a model, as figures: parameters, MACs, peak memory (stats.py), the `inspect`
command's JSON and text (summary.py), and one tensor's values summarised (tensor_values.py)."""
