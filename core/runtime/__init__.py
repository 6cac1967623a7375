"""Worker processes for everything native that runs a model: the LiteRT interpreter and the
TensorFlow converter / ai-edge-quantizer, each behind a typed request protocol with a timeout,
so that a crash or a hang in native code is a message, never the end of the app."""
