"""What goes into a model for a comparison: images and arrays, preprocessed as the model wants.

The preprocessing is derived from the model (layout, size, channels, dtype) and from
what the files say about normalization, and is shown to the user before anything runs:
`InputSpec` says what was derived and where it came from, `Preprocessing` holds the
choices the user can change.

A sample holds *real* values (the float values the model's maths works in), one array
per model input, in the model's layout with the batch dimension. Each model of a pair
is fed from the same real values: float inputs take them as they are, integer inputs
with quantization take them quantized with that input's own scale and zero point
(`reading.tensor_data.quantize_array`), so a uint8 model and a float model see the same decoded image.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..formatting import format_shape
from ..inspection.shapes import MAX_INPUT_ELEMENTS, check_declared_sizes
from ..reading.model import NUMPY_DTYPES, Model
from ..reading.regular_files import open_regular
from .signatures import Entry, model_entry

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
ARRAY_SUFFIXES = (".npy", ".npz")

RESIZE_MODES = {
    "stretch": "resize to the input size, ignoring the aspect ratio (bilinear)",
    "center-crop": "resize the shorter side to fit, then crop the centre (bilinear)",
}


@dataclass(frozen=True)
class Normalization:
    """real = (pixel − mean) / std per channel, pixels on a 0–255 scale."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str  # a preset key ("unit", "signed", "raw") or "metadata" / "custom"
    source: str  # where it came from, in words

    def real_range(self) -> tuple[float, float]:
        lows = [(0.0 - m) / s for m, s in zip(self.mean, self.std)]
        highs = [(255.0 - m) / s for m, s in zip(self.mean, self.std)]
        return min(lows + highs), max(lows + highs)

    def describe(self) -> str:
        lo, hi = self.real_range()
        if self.name in PRESETS:
            return f"{PRESETS[self.name][2]} ({self.source})"
        return f"mean {_numbers(self.mean)}, std {_numbers(self.std)} → [{lo:.4g}, {hi:.4g}] ({self.source})"


# key -> (mean, std, label); pixels 0..255 map to the label's range.
PRESETS: dict[str, tuple[float, float, str]] = {
    "unit": (0.0, 255.0, "[0, 1]"),
    "signed": (127.5, 127.5, "[−1, 1]"),
    "raw": (0.0, 1.0, "0–255"),
}


def preset(name: str, source: str = "chosen") -> Normalization:
    mean, std, _label = PRESETS[name]
    return Normalization((mean,), (std,), name, source)


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.6g}" for v in values)


@dataclass(frozen=True)
class InputSpec:
    """One input tensor of the subgraph a comparison runs (signatures.py), and how an image would
    be laid into it."""

    position: int  # among the subgraph's inputs, in the order samples hold them
    tensor: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # schema name: FLOAT32, UINT8, INT8, ...
    scale: float | None  # input quantization, when the dtype is an integer with a scale
    zero_point: int | None
    layout: str | None  # "NHWC", "NCHW", "NHW"; None: not an image input
    height: int = 0
    width: int = 0
    channels: int = 0
    signature_name: str = ""  # the signature's name for it, when the model has signatures

    @property
    def is_image(self) -> bool:
        return self.layout is not None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def describe(self) -> str:
        text = f"{self.name}: {self.dtype} {format_shape(self.shape)}"
        if self.is_image:
            colour = {1: "grayscale", 3: "RGB", 4: "RGBA"}.get(self.channels, f"{self.channels} channels")
            text += f", {self.layout} image {self.width}×{self.height} {colour}"
        if self.quantized:
            text += f", quantized (scale {self.scale:.6g}, zero point {self.zero_point})"
        return text


def _image_layout(shape: tuple[int, ...]) -> tuple[str, int, int, int] | None:
    if len(shape) == 4 and shape[0] == 1:
        _, a, b, c = shape
        if c in (1, 3, 4) and a >= 8 and b >= 8:
            return "NHWC", a, b, c
        if a in (1, 3) and b >= 8 and c >= 8:
            return "NCHW", b, c, a
    if len(shape) == 3 and shape[0] == 1 and shape[1] >= 8 and shape[2] >= 8:
        return "NHW", shape[1], shape[2], 1
    return None


def input_specs(model: Model, entry: Entry | None = None) -> list[InputSpec]:
    """The inputs of `entry` (default: the model's default signature, or subgraph 0)."""
    entry = entry or model_entry(model)
    sg = model.subgraphs[entry.subgraph]
    specs = []
    for position, index in enumerate(entry.inputs):
        t = sg.tensors[index]
        scale = zero_point = None
        q = t.quantization
        if q is not None and q.is_quantized and t.dtype in ("INT8", "UINT8", "INT16") and q.scale.size == 1:
            scale, zero_point = float(q.scale[0]), int(q.zero_point[0]) if q.zero_point.size else 0
        layout = _image_layout(t.shape) if t.dtype in ("FLOAT32", "FLOAT16", "UINT8", "INT8") else None
        height = width = channels = 0
        if layout is not None:
            layout_name, height, width, channels = layout
        specs.append(
            InputSpec(
                position=position, tensor=index, name=t.name, shape=t.shape, dtype=t.dtype,
                scale=scale, zero_point=zero_point, layout=layout_name if layout else None,
                height=height, width=width, channels=channels,
                signature_name=entry.input_names[position] if entry.key is not None else "",
            )
        )
    return specs


def _entries(models: Sequence[Model], key: str | None) -> list[tuple[Model, Entry]]:
    """Each model with its entry for signature `key`; a model without that signature is left out
    (the comparison itself reports it)."""
    found = []
    for model in models:
        try:
            found.append((model, model_entry(model, key)))
        except InputError:
            continue
    return found


_INT_RANGES = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767)}


def quantized_real_range(spec: InputSpec) -> tuple[float, float] | None:
    """The real values an integer input can express: scale · (q − zero_point) over its range."""
    if not spec.quantized or spec.dtype not in _INT_RANGES:
        return None
    qmin, qmax = _INT_RANGES[spec.dtype]
    assert spec.scale is not None and spec.zero_point is not None
    return spec.scale * (qmin - spec.zero_point), spec.scale * (qmax - spec.zero_point)


def suggest_normalization(models: Sequence[Model], key: str | None = None) -> Normalization:
    """The normalization for image inputs, from the first model of `models` that says.

    In order: TFLite metadata mean/std (NormalizationOptions); the real range of a
    quantized integer image input (a uint8 input with scale 1/128 and zero point 128
    means the model was trained on [−1, 1]); a raw uint8 input (0–255); else [0, 1],
    marked as a default the user should check. Inputs are those of signature `key` (None: each
    model's default).
    """
    entries = _entries(models, key)
    for model, entry in entries:
        md = model.tflite_metadata
        # TFLite metadata describes subgraph 0 only: it says nothing of another signature's inputs.
        if entry.subgraph == 0 and md and md.subgraphs and md.subgraphs[0].inputs:
            tm = md.subgraphs[0].inputs[0]
            if tm.normalization_mean and tm.normalization_std and all(s != 0 for s in tm.normalization_std):
                return Normalization(
                    tuple(tm.normalization_mean), tuple(tm.normalization_std), "metadata",
                    f"TFLite metadata of {model.file_name}",
                )
    for model, entry in entries:
        for spec in input_specs(model, entry):
            real = quantized_real_range(spec) if spec.is_image else None
            if real is None or not real[1] > real[0]:
                continue
            lo, hi = real
            source = f"input quantization of {model.file_name}: real range [{lo:.4g}, {hi:.4g}]"
            for key, (mean, std, _label) in PRESETS.items():
                p_lo, p_hi = (0 - mean) / std, (255 - mean) / std
                if math.isclose(lo, p_lo, abs_tol=0.02 * (p_hi - p_lo)) and math.isclose(
                    hi, p_hi, abs_tol=0.02 * (p_hi - p_lo)
                ):
                    return Normalization((mean,), (std,), key, source)
            std = 255.0 / (hi - lo)
            return Normalization((-lo * std,), (std,), "custom", source)
    for model, entry in entries:
        for spec in input_specs(model, entry):
            if spec.is_image and spec.dtype == "UINT8" and not spec.quantized:
                return preset("raw", f"{model.file_name} takes raw uint8 pixels")
    return preset("unit", "default preset; change it if the model was trained on another range")


@dataclass(frozen=True)
class Preprocessing:
    normalization: Normalization
    resize: str = "stretch"

    def describe(self) -> str:
        return f"normalization {self.normalization.describe()}; resize: {RESIZE_MODES[self.resize]}"


@dataclass(frozen=True)
class Sample:
    """One input for every model input: real values in the model's layout, with the batch dimension."""

    name: str  # shown to the user: the file name, with [i] for one row of an array file
    path: str
    # float32 (or the integer dtype of a non-quantized integer input); for images past
    # HELD_SAMPLE_BYTES a DecodedOnUse, which reads as the same sequence
    values: Sequence[np.ndarray]
    thumbnail: np.ndarray | None = None  # uint8 H×W×3 (or H×W), at most 96 pixels a side, for images


@dataclass(frozen=True)
class SampleSet:
    samples: tuple[Sample, ...]
    errors: tuple[str, ...]  # one line per file that could not be used
    description: str  # what the inputs are, e.g. "12 images from photos/" or "8 random inputs (seed 0)"
    random: bool = False


def check_input_sizes(specs: Sequence[InputSpec]) -> None:
    """Refuse inputs whose declared shapes are too large to allocate, before anything is: a
    312-byte model may declare [1,100000,100000,3], and an image would be resized to it."""
    total = 0
    for spec in specs:
        elements = math.prod(max(d, 1) for d in spec.shape)
        total += elements
        if elements > MAX_INPUT_ELEMENTS:
            raise InputError(f"input {spec.name!r} {format_shape(spec.shape)} is {elements:,} elements, more than the "
                             f"{MAX_INPUT_ELEMENTS:,} a run allows")
    if total > MAX_INPUT_ELEMENTS:
        raise InputError(f"the inputs together are {total:,} elements, more than the {MAX_INPUT_ELEMENTS:,} a run allows")


def list_input_files(paths: Iterable[str]) -> list[str]:
    """Files and folders (searched recursively) → image and array files, in a stable order."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    if name.lower().endswith(IMAGE_SUFFIXES + ARRAY_SUFFIXES):
                        found.append(os.path.join(root, name))
        else:
            found.append(path)
    return found


# The most pixels an input image may decode to (after JPEG's reduced-scale decoding), far below
# Pillow's own limit (89 MP warns, 179 MP fails): inputs are resized to a model's input anyway, and
# a 420 KB PNG of 12,000² pixels would otherwise take 1.2 GB.
MAX_IMAGE_PIXELS = 40_000_000


def decode_image(path: str, spec: InputSpec, resize: str = "stretch") -> tuple[np.ndarray, np.ndarray]:
    """An image file → (pixels as float32 H×W×C on a 0–255 scale at the input size, thumbnail).

    Grayscale, palette, RGBA (alpha dropped), CMYK and 16-bit images are converted to the
    input's channel count; EXIF orientation is applied.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = os.path.basename(path)
    if spec.channels not in (1, 3, 4):
        raise InputError(f"{name}: input {spec.name!r} has {spec.channels} channels; an image has 1, 3 or 4")
    try:
        with open_regular(path) as f, warnings.catch_warnings():
            # The size is checked below, at a far lower limit than Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(f) as img:
                if img.format == "JPEG":
                    # Decode at a reduced scale when the image is much larger than the input.
                    img.draft("RGB" if spec.channels != 1 else "L", (spec.width, spec.height))
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise InputError(f"{name}: {width}×{height} is {width * height / 1e6:.0f} megapixels, more than "
                                     f"the {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels an input image may have (make it smaller first)")
                img = ImageOps.exif_transpose(img)
                img.load()
    except (UnidentifiedImageError, OSError, ValueError, EOFError, Image.DecompressionBombError) as e:
        # Pillow names the stream, not the file, when it cannot tell the format.
        reason = "cannot identify the image format" if isinstance(e, UnidentifiedImageError) else (
            getattr(e, "strerror", None) or e)
        raise InputError(f"{name}: not a readable image ({reason})") from None
    except MemoryError:
        raise InputError(f"{name}: too large to decode") from None
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit (and 32-bit) single-channel images: scale to 0–255 before the usual steps.
        wide = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or wide.max(initial=0) > 255 else 255.0
        img = Image.fromarray(np.clip(wide * (255.0 / top), 0, 255).astype(np.uint8), "L")
    target_mode = {1: "L", 3: "RGB", 4: "RGBA"}[spec.channels]
    if img.mode != target_mode:
        if img.mode in ("RGBA", "LA", "PA") and target_mode != "RGBA" or img.mode == "P" and "transparency" in img.info:
            img = img.convert("RGBA" if target_mode == "RGB" else "LA")
        img = img.convert(target_mode)
    thumbnail = img.copy()
    thumbnail.thumbnail((96, 96))
    size = (spec.width, spec.height)
    if resize == "center-crop":
        img = ImageOps.fit(img, size, method=Image.Resampling.BILINEAR)
    elif img.size != size:
        img = img.resize(size, Image.Resampling.BILINEAR)
    pixels = np.asarray(img, dtype=np.float32)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return pixels, np.asarray(thumbnail.convert("RGB" if spec.channels != 1 else "L"))


def image_to_real(pixels: np.ndarray, spec: InputSpec, normalization: Normalization) -> np.ndarray:
    mean = np.asarray(normalization.mean, dtype=np.float32)
    std = np.asarray(normalization.std, dtype=np.float32)
    if mean.size not in (1, spec.channels) or std.size not in (1, spec.channels):
        raise InputError(
            f"normalization has {mean.size} means and {std.size} stds for {spec.channels} channels"
        )
    real = (pixels - mean) / std
    if spec.layout == "NCHW":
        real = real.transpose(2, 0, 1)
    elif spec.layout == "NHW":
        real = real[:, :, 0]
    return np.ascontiguousarray(real[None], dtype=np.float32)


def _array_rows(name: str, array: np.ndarray, spec: InputSpec) -> list[np.ndarray]:
    """An array for one input → one or more samples: the input's shape, its shape without the
    batch dimension, or a batch of them along the first axis."""
    _check_fits(name, array.shape, array.dtype, spec)
    shape = tuple(spec.shape)
    if array.shape == shape:
        return [array]
    if shape and shape[0] == 1 and array.shape == shape[1:]:
        return [array[None]]
    return [array[i : i + 1] for i in range(array.shape[0])]


def _check_fits(name: str, array_shape: tuple[int, ...], dtype: np.dtype, spec: InputSpec) -> None:
    """InputError unless an array of this shape and dtype feeds `spec` (as `_array_rows` splits
    it); checked on an .npy header before its values are read."""
    shape = tuple(spec.shape)
    if dtype.kind not in "fiub":
        raise InputError(f"{name}: {dtype} values cannot feed {spec.name!r}")
    if array_shape == shape or shape and shape[0] == 1 and array_shape == shape[1:]:
        return
    if shape and len(array_shape) == len(shape) and array_shape[1:] == shape[1:] and array_shape[0] > 0:
        return
    raise InputError(f"{name}: shape {list(array_shape)} does not fit input {spec.name!r} {list(shape)}")


def _as_real(array: np.ndarray, spec: InputSpec) -> np.ndarray:
    # Integer arrays for integer inputs that have no quantization are ids or counts: kept as they are.
    if array.dtype.kind in "iub" and not spec.quantized and spec.dtype not in ("FLOAT32", "FLOAT16"):
        dtype = NUMPY_DTYPES.get(spec.dtype)
        return np.ascontiguousarray(array, dtype=dtype)
    return np.ascontiguousarray(array, dtype=np.float32)


# The most elements an .npy or .npz file may hold for a run, all its samples together (1 GiB of
# float32); a larger batch is refused from its header, before anything is read or decompressed.
MAX_ARRAY_FILE_ELEMENTS = 1 << 28


def _array_header(fp: Any, name: str, member: str = "") -> tuple[tuple[int, ...], bool, np.dtype]:
    """An .npy stream's shape, Fortran order and dtype, from its header alone."""
    fmt = np.lib.format
    what = f"{name}: member {member!r}" if member else name
    version = fmt.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(fp)
    else:
        raise InputError(f"{what}: .npy format version {version[0]}.{version[1]} is not read")
    if dtype.hasobject:
        raise InputError(f"{what}: holds Python objects (a pickle), which are never loaded")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def _read_checked(fp: Any, name: str, spec: InputSpec, member: str = "") -> np.ndarray:
    """One array, after its header shows it fits `spec` and is not too large to load."""
    shape, fortran, dtype = _array_header(fp, name, member)
    _check_fits(name, shape, dtype, spec)
    elements = math.prod(shape)
    if elements > MAX_ARRAY_FILE_ELEMENTS:
        raise InputError(f"{name}: {format_shape(shape)} is {elements:,} elements, more than the "
                         f"{MAX_ARRAY_FILE_ELEMENTS:,} one file may hold (split it)")
    size = elements * dtype.itemsize
    data = bytearray()
    while len(data) < size:  # a zip member's stream may return less than asked
        chunk = fp.read(min(size - len(data), 1 << 24))
        if not chunk:
            raise InputError(f"{name}: {'member ' + repr(member) + ' ' if member else ''}ends before its "
                             f"{size:,} bytes of values")
        data += chunk
    array = np.frombuffer(data, dtype=dtype, count=elements)
    return array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)


def _load_array_file(path: str, specs: Sequence[InputSpec]) -> list[Sample]:
    name = os.path.basename(path)
    try:
        with open_regular(path) as f:
            if not path.lower().endswith(".npz"):
                if len(specs) != 1:
                    raise InputError(f"{name}: the model has {len(specs)} inputs; give them in one .npz named by input")
                per_input = [_array_rows(name, _read_checked(f, name, specs[0]), specs[0])]
            else:
                with zipfile.ZipFile(f) as archive:
                    keys = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
                    arrays = {}
                    for position, spec in enumerate(specs):
                        key = next((k for k in (spec.name, spec.signature_name, f"arr_{position}") if k and k in keys), None)
                        if key is None and len(specs) == len(keys) == 1:
                            key = keys[0]
                        if key is None:
                            raise InputError(f"{name}: no array named {spec.name!r} (found {', '.join(keys) or 'none'})")
                        with archive.open(key + ".npy") as member:
                            arrays[position] = _read_checked(member, name, spec, key)
                per_input = [_array_rows(name, arrays[i], spec) for i, spec in enumerate(specs)]
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{name}: too large to load") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as e:
        # OSError includes a special file (regular_files.py); BadZipFile a corrupt or truncated
        # archive, zlib.error a corrupt member, RuntimeError an encrypted one.
        reason = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise InputError(f"{name}: not a readable .npy/.npz file ({reason})") from None
    counts = {len(rows) for rows in per_input}
    if len(counts) != 1:
        raise InputError(f"{name}: the arrays hold different numbers of samples ({sorted(counts)})")
    count = counts.pop()
    return [
        Sample(
            name=name if count == 1 else f"{name}[{i}]",
            path=path,
            values=tuple(_as_real(rows[i], spec) for rows, spec in zip(per_input, specs)),
        )
        for i in range(count)
    ]


# Image values kept in memory once decoded; past this, an image's values are decoded again each
# time they are used (DecodedOnUse), so a folder of 2,000 photos at 224 px (1.4 GB of float32) is
# streamed through a run instead of held. Arrays are held: their files are read, not decoded.
HELD_SAMPLE_BYTES = 256 << 20


class DecodedOnUse(Sequence[np.ndarray]):
    """An image sample's values (one array), decoded from its file each time they are read. It is
    sent to a worker as the plain tuple of its values."""

    __slots__ = ("_path", "_spec", "_preprocessing")

    def __init__(self, path: str, spec: InputSpec, preprocessing: Preprocessing) -> None:
        self._path, self._spec, self._preprocessing = path, spec, preprocessing

    def _decode(self) -> tuple[np.ndarray]:
        pixels, _ = decode_image(self._path, self._spec, self._preprocessing.resize)
        return (image_to_real(pixels, self._spec, self._preprocessing.normalization),)

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: Any) -> Any:
        return self._decode()[index]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self._decode())

    def __reduce__(self) -> tuple[Any, ...]:
        return (tuple, (tuple(self),))


def load_samples(paths: Iterable[str], specs: Sequence[InputSpec], preprocessing: Preprocessing,
                 limit: int | None = None) -> SampleSet:
    """Files and folders → samples, with one message per file that cannot be used."""
    check_input_sizes(specs)
    samples: list[Sample] = []
    errors: list[str] = []
    held = 0  # bytes of image values kept in memory
    paths = list(paths)
    files = list_input_files(paths)
    for path in files:
        if limit is not None and len(samples) >= limit:
            break
        name = os.path.basename(path)
        try:
            if not os.path.isfile(path):
                raise InputError(f"{path}: no such file" if not os.path.exists(path) else f"{path}: not a regular file")
            if path.lower().endswith(ARRAY_SUFFIXES):
                samples.extend(_load_array_file(path, specs))
                continue
            if len(specs) != 1 or not specs[0].is_image:
                shapes = ", ".join(f"{s.name} {format_shape(s.shape)}" for s in specs)
                raise InputError(f"{name}: the model does not take an image ({shapes}); give .npy or .npz files")
            pixels, thumbnail = decode_image(path, specs[0], preprocessing.resize)
            real = image_to_real(pixels, specs[0], preprocessing.normalization)
            if held + real.nbytes > HELD_SAMPLE_BYTES:
                samples.append(Sample(name, path, DecodedOnUse(path, specs[0], preprocessing), thumbnail))
            else:
                held += real.nbytes
                samples.append(Sample(name, path, (real,), thumbnail))
        except InputError as e:
            errors.append(str(e))
        except MemoryError:
            errors.append(f"{name}: too large to load")
    if limit is not None:
        samples = samples[:limit]
    where = ", ".join(os.path.basename(os.path.normpath(p)) or p for p in paths[:3])
    if len(paths) > 3:
        where += f" and {len(paths) - 3} more"
    return SampleSet(tuple(samples), tuple(errors), f"{len(samples)} inputs from {where}")


def random_samples(specs: Sequence[InputSpec], count: int, preprocessing: Preprocessing,
                   seed: int = 0, models: Sequence[Model] = (), key: str | None = None) -> SampleSet:
    """Random inputs, only when asked for: uniform over the image range for image inputs, over
    a quantized input's real range where a model of the pair has one, else standard normal."""
    check_input_sizes(specs)
    rng = np.random.default_rng(seed)
    ranges: dict[int, tuple[float, float]] = {}
    for model, entry in _entries(models, key):
        for spec in input_specs(model, entry):
            real = quantized_real_range(spec)
            if real is not None and spec.position not in ranges:
                ranges[spec.position] = real
    samples = []
    for i in range(count):
        values = []
        for spec in specs:
            shape = tuple(max(d, 1) for d in spec.shape)
            if spec.is_image:
                lo, hi = preprocessing.normalization.real_range()
                values.append(rng.uniform(lo, hi, shape).astype(np.float32))
            elif spec.position in ranges:
                lo, hi = ranges[spec.position]
                values.append(rng.uniform(lo, hi, shape).astype(np.float32))
            elif spec.dtype in ("FLOAT32", "FLOAT16"):
                values.append(rng.standard_normal(shape).astype(np.float32))
            else:
                dtype = NUMPY_DTYPES.get(spec.dtype) or np.dtype(np.int32)
                values.append(rng.integers(0, 2, shape).astype(dtype))
        samples.append(Sample(f"random {i + 1}", "", tuple(values)))
    return SampleSet(tuple(samples), (), f"{count} random inputs (seed {seed})", random=True)


def check_inputs_agree(reference: Model, candidate: Model, reference_entry: Entry | None = None,
                       candidate_entry: Entry | None = None) -> None:
    """Candidates are fed the reference's samples: their inputs must have the same shapes. Each
    is checked here, before it runs, for tensors too large to allocate (its own error)."""
    check_declared_sizes(candidate)
    ref, cand = input_specs(reference, reference_entry), input_specs(candidate, candidate_entry)
    if len(ref) != len(cand):
        raise InputError(f"{candidate.file_name} has {len(cand)} inputs; {reference.file_name} has {len(ref)}")
    for r, c in zip(ref, cand):
        if tuple(r.shape) != tuple(c.shape):
            raise InputError(
                f"{candidate.file_name}: input {c.name!r} is {format_shape(c.shape)}; "
                f"{reference.file_name}'s {r.name!r} is {format_shape(r.shape)}"
            )



def custom_normalization(mean: Sequence[float], std: Sequence[float]) -> Normalization:
    if not mean or not std or any(v == 0 for v in std):
        raise InputError("normalization needs a mean and a non-zero std (one value, or one per channel)")
    return Normalization(tuple(mean), tuple(std), "custom", "given")


def prepare_samples(models: Sequence[Model], paths: Sequence[str], *, normalization: Normalization | None = None,
                    resize: str = "stretch", random_count: int = 0, seed: int = 0,
                    limit: int | None = None, signature: str | None = None) -> tuple[Preprocessing, SampleSet]:
    """The preprocessing for `models` (the reference first) and the samples from `paths`, or
    `random_count` random inputs when asked for (then the paths are not read), for the inputs of
    `signature` (None: the reference's default; signatures.py). Raises InputError when the
    reference has no such signature."""
    if resize not in RESIZE_MODES:
        raise InputError(f"unknown resize mode {resize!r}; choose from {', '.join(RESIZE_MODES)}")
    entry = model_entry(models[0], signature)
    preprocessing = Preprocessing(normalization or suggest_normalization(models, entry.key), resize)
    specs = input_specs(models[0], entry)
    check_input_sizes(specs)  # the inputs first: the message a user can act on
    check_declared_sizes(models[0])
    if random_count > 0:
        return preprocessing, random_samples(specs, random_count, preprocessing, seed, models, entry.key)
    return preprocessing, load_samples(paths, specs, preprocessing, limit)
