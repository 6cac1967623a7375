"""A lab run's settings and the files it writes: what to produce and measure, the device budget,
where each variant goes, and the settings file beside them from which the run can be re-done."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..comparison.inputs import Normalization
from ..errors import ConversionError
from ..reading.regular_files import open_regular
from .keep_float import file_tag
from .suggest import SuggestTarget
from .modes import source_kind

# The delegates whose coverage the lab measures, and which a budget may ask to take every op.
LAB_DELEGATES = ("gpu", "xnnpack", "edgetpu")
# TensorFlow's guidance for a representative dataset is a few hundred inputs; fewer than this
# and the activation ranges of the calibrated modes rest on too little.
MIN_CALIBRATION_SAMPLES = 100
SETTINGS_SUFFIX = "_quantize.json"
SETTINGS_FORMAT = 1


@dataclass(frozen=True)
class Budget:
    """What the target device allows. None: no limit on that."""

    max_size_bytes: int | None = None
    max_latency_ms: float | None = None  # median latency
    min_top1_agreement: float | None = None  # 0..1
    min_output_sqnr_db: float | None = None
    whole_model_delegate: str | None = None  # this delegate must take every op

    @property
    def is_set(self) -> bool:
        return any(v is not None for v in asdict(self).values())


@dataclass(frozen=True)
class LabSettings:
    """Everything a run needs; saved beside the variants so the run can be re-done."""

    source: str
    output_dir: str
    modes: tuple[str, ...]
    calibration: tuple[str, ...] = ()  # image / array files and folders
    evaluation: tuple[str, ...] = ()  # default: the calibration inputs
    normalization: Normalization | None = None  # None: derived from the model
    resize: str = "stretch"
    limit: int | None = None  # at most this many inputs from each set
    random_count: int = 0  # > 0: random inputs instead of files, only when asked for
    seed: int = 0
    int8_io: str = "int8"  # full-integer int8 from TensorFlow: int8, uint8 or float inputs/outputs
    threads: int = 1
    runs: int = 50
    budget: Budget = field(default_factory=Budget)
    # The signature calibrated, timed and compared (comparison/signatures.py); None: the source's
    # default (serving_default, else its first signature, else subgraph 0).
    signature: str | None = None
    # Ops kept in float in every quantized mode (lab/keep_float.py selectors: op indices, op types,
    # regexes over output tensor names); () for none.
    keep_float: tuple[str, ...] = ()
    # After the modes: the fewest ops to keep in float for a target (lab/suggest.py); None: not asked.
    suggest: SuggestTarget | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = SETTINGS_FORMAT
        # Absolute, so a re-run from another working directory finds the same files.
        data["source"], data["output_dir"] = os.path.abspath(self.source), os.path.abspath(self.output_dir)
        data["calibration"] = [os.path.abspath(p) for p in self.calibration]
        data["evaluation"] = [os.path.abspath(p) for p in self.evaluation]
        data["normalization"] = None if self.normalization is None else asdict(self.normalization)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabSettings:
        try:
            values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            for key in ("modes", "calibration", "evaluation", "keep_float"):
                values[key] = tuple(values.get(key) or ())
            norm = values.get("normalization")
            if norm is not None:
                values["normalization"] = Normalization(tuple(norm["mean"]), tuple(norm["std"]), norm["name"],
                                                        norm["source"])
            values["budget"] = Budget(**(values.get("budget") or {}))
            if values.get("suggest") is not None:
                values["suggest"] = SuggestTarget(**values["suggest"])
            return cls(**values)
        except (TypeError, KeyError, ValueError) as e:
            raise ConversionError(f"the saved settings are not usable: {e}") from None


def source_stem(source: str) -> str:
    name = os.path.basename(os.path.normpath(source))
    stem = os.path.splitext(name)[0] if not os.path.isdir(source) else name
    return re.sub(r"[^\w.-]+", "_", stem) or "model"


def variant_path(settings: LabSettings, mode: str) -> str:
    """`<stem>_<mode>.tflite`; with ops kept in float, named for them (`<stem>_int8_keep-PRELU.tflite`).
    The float32 conversion of a TensorFlow source is the same either way."""
    tag = file_tag(settings.keep_float) if mode != "float32" else ""
    return os.path.join(settings.output_dir, f"{source_stem(settings.source)}_{mode}{tag}.tflite")


def settings_path(settings: LabSettings) -> str:
    return os.path.join(settings.output_dir, source_stem(settings.source) + SETTINGS_SUFFIX)


def planned_outputs(settings: LabSettings) -> list[str]:
    """Every file a run writes: one per mode (the float32 conversion too for TensorFlow sources)
    and the saved settings."""
    modes = list(settings.modes)
    if source_kind(settings.source) != "tflite" and "float32" not in modes:
        modes.insert(0, "float32")
    return [variant_path(settings, m) for m in modes] + [settings_path(settings)]


def existing_outputs(settings: LabSettings) -> list[str]:
    """The files a run would replace: the CLI refuses without --overwrite, the app asks."""
    return [p for p in planned_outputs(settings) if os.path.exists(p)]


def load_settings(path: str) -> LabSettings:
    try:
        with open_regular(path) as f:  # a FIFO would block the open
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ConversionError(f"{path}: cannot read the saved settings: {e}") from None
    if not isinstance(data, dict):
        raise ConversionError(f"{path}: not a quantization lab settings file")
    return LabSettings.from_dict(data.get("settings", data))
