"""TFLite Inspector: see inside .tflite models and decide how to ship them."""

__version__ = "0.1.0"
