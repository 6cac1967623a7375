"""The engine: pure Python, no Qt, no TensorFlow at import time.

Everything the command line and the app show is computed here, from the object model the
reader makes of a .tflite file. docs/architecture.md lists the sub-packages and the direction
of imports between them.
"""

__version__ = "0.1.0"
