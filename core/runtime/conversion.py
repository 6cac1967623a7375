"""TensorFlow's converter and ai-edge-quantizer, in a worker process.

TensorFlow takes seconds to import, must never load into the app, and a native crash of the
converter must not end the caller: `ConversionWorker` is the parent's side, conversion_child.py
the child's, the only module that imports TensorFlow and the quantizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .process import WorkerProcess
from .protocol import ConvertRequest, Produced, QuantizeRequest

# Converting a large model, with calibration, can take minutes.
CONVERSION_TIMEOUT_S = 1800.0


class ConversionWorker(WorkerProcess):
    """The converter and the quantizer in a worker process, one request at a time."""

    def __init__(self, timeout_s: float = CONVERSION_TIMEOUT_S) -> None:
        # The child's module imports TensorFlow only inside its functions: importing it here is cheap.
        from .conversion_child import conversion_main

        super().__init__(conversion_main, name="conversion-worker", what="the converter", timeout_s=timeout_s)

    def produce(self, source: str, kind: str, mode: str, out_path: str, *,
                calibration: Sequence[Sequence[np.ndarray]] = (), int8_io: str = "int8",
                signature: str | None = None, keep_float_scopes: tuple[str, ...] = ()) -> Produced:
        """Write `source` (of `kind`: tflite, saved_model or keras) in `mode` to `out_path`, calibrated
        on `calibration` (empty for the modes that need none), samples for the inputs of `signature`
        (a .tflite's; None: its first). Raises RuntimeFailure, or Cancelled."""
        samples = tuple(tuple(values) for values in calibration)
        if kind == "tflite":
            return self.request(QuantizeRequest(str(source), mode, samples, str(out_path), signature,
                                                keep_float_scopes))
        if keep_float_scopes:
            raise ValueError("ops are kept in float by ai-edge-quantizer, on a .tflite source")
        return self.request(ConvertRequest(str(source), kind, mode, int8_io, samples, str(out_path)))
