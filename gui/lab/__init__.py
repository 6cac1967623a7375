"""The quantization lab window: its plain model (model.py), its results table and the window."""
