"""Input shapes for models with dynamic (−1) dimensions: which inputs have them, what a user's
`NAME=1,144000` means, the default sizes a model states, and the checks an input shape passes
before the interpreter is asked to resize to it.

The interpreter's worker does the resizing (core/runtime); this module stays pure and only says
what to ask for. The answer, every tensor's shape as the interpreter reports it, is a
`ResolvedShapes`, which `stats.model_stats` takes to count MACs and memory at real sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InputError
from ..formatting import elide_middle, format_bytes, format_shape
from ..reading.model import Model, Subgraph, Tensor, storage_bytes

# The most elements all inputs together may have before the interpreter is asked to resize: a
# declared [1,100000,100000,3] must be refused here, not allocated in the worker. 2^25 elements
# hold a 4096×2048 RGB image or 35 minutes of 16 kHz audio.
MAX_INPUT_ELEMENTS = 1 << 25
# The most bytes the interpreter may allocate for all tensors at the resolved shapes; the worker
# refuses (or stops) a resize that needs more.
MAX_TENSOR_BYTES = 1 << 32
# Dynamic tensors named in a warning; the rest are counted.
NAMED_TENSORS = 3


def check_declared_sizes(model: Model) -> None:
    """InputError when a tensor the model computes declares more than MAX_TENSOR_BYTES: a few
    hundred bytes may declare a 16 GiB activation, which the interpreter would try to allocate.
    (The worker's memory cap catches what this does not, e.g. many large tensors together.)"""
    for sg in model.subgraphs:
        for t in sg.tensors:
            if t.is_constant:
                continue
            size = storage_bytes(t.dtype, t.num_elements) or t.num_elements
            if size > MAX_TENSOR_BYTES:
                raise InputError(f"{model.file_name}: tensor {elide_middle(t.name, 60)!r} {format_shape(t.shape)} "
                                 f"declares {format_bytes(size)}, more than the {format_bytes(MAX_TENSOR_BYTES)} "
                                 "one tensor may have in a run")


def is_unknown(t: Tensor) -> bool:
    """A tensor whose size the file does not fix: a −1 dimension in its shape signature other than
    a leading batch dimension. Figures are per sample, as every tool reports them, so a −1 batch
    (rank ≥ 2, first dimension only, stored as 1) counts as 1 without making them lower bounds:
    a Keras model saved with a None batch is not "dynamic" to its user. (A tensor without a rank
    flag is not counted: converters before TF 2.5 never set it, on any tensor.)"""
    if not t.is_dynamic:
        return False
    dynamic = [k for k, d in enumerate(t.shape_signature) if d < 0]
    batch_only = dynamic == [0] and len(t.shape_signature) >= 2 and t.shape[:1] == (1,)
    return not batch_only


@dataclass(frozen=True)
class DynamicInput:
    """A graph input (subgraph 0) with dynamic dimensions."""

    tensor: int
    name: str  # the tensor's name
    signature_names: tuple[str, ...]  # the names signatures give it
    signature: tuple[int, ...]  # −1 for each dynamic dimension
    default: tuple[int | None, ...]  # the size a model states per dimension; None where it states none
    default_source: str  # where the defaults come from, for messages ("batch 1", "metadata image size")

    @property
    def label(self) -> str:
        """The name a user most likely knows it by: its signature's, else the tensor's."""
        return self.signature_names[0] if self.signature_names else self.name

    @property
    def default_complete(self) -> bool:
        return all(d is not None for d in self.default)

    def default_text(self) -> str:
        return ",".join("?" if d is None else str(d) for d in self.default)


def _metadata_image_size(model: Model, position: int) -> tuple[int, int] | None:
    """(height, width) the TFLite metadata gives an image input, if it does."""
    md = model.tflite_metadata
    if md is None or not md.subgraphs or position >= len(md.subgraphs[0].inputs):
        return None
    size = md.subgraphs[0].inputs[position].content.get("default_size")
    if not size or len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
        return None
    width, height = size
    return height, width


def dynamic_inputs(model: Model) -> tuple[DynamicInput, ...]:
    """Subgraph 0's inputs that have −1 dimensions, with the sizes the model states for them:
    a leading (batch) dimension of an input of rank ≥ 2 defaults to 1; an image input's height
    and width (NHWC) to the size its metadata gives."""
    if not model.subgraphs:
        return ()
    sg = model.subgraphs[0]
    names: dict[int, list[str]] = {}
    for signature in model.signatures:
        if signature.subgraph == 0:
            for name, index in signature.inputs.items():
                names.setdefault(index, []).append(name)
    found = []
    for position, index in enumerate(sg.inputs):
        if not 0 <= index < len(sg.tensors):
            continue
        t = sg.tensors[index]
        if not t.is_dynamic:
            continue
        signature = tuple(t.shape_signature)
        default: list[int | None] = [None if d < 0 else d for d in signature]
        sources = []
        if len(signature) >= 2 and signature[0] < 0:
            default[0] = 1
            sources.append("batch 1")
        image = _metadata_image_size(model, position)
        if image is not None and len(signature) == 4 and (signature[1] < 0 or signature[2] < 0):
            for axis, value in zip((1, 2), image):
                if signature[axis] < 0:
                    default[axis] = value
            sources.append("the metadata's image size")
        found.append(DynamicInput(index, t.name, tuple(names.get(index, ())), signature, tuple(default),
                                  " and ".join(sources)))
    return tuple(found)


def _parse_dims(text: str, what: str) -> tuple[int, ...]:
    if "?" in text:
        raise InputError(f"{what}: give a size for each ? in {text.strip()!r}, e.g. 1,144000")
    parts = [p.strip() for p in text.replace("x", ",").split(",")]
    if not parts or any(not p for p in parts):
        raise InputError(f"{what}: give the shape as numbers separated by commas, e.g. 1,144000")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise InputError(f"{what}: {text!r} is not a shape; give numbers separated by commas, e.g. 1,144000") \
            from None
    return dims


def _find_input(inputs: Sequence[DynamicInput], sg: Subgraph, name: str) -> DynamicInput:
    for candidate in inputs:
        if name == candidate.name or name in candidate.signature_names:
            return candidate
    static = [sg.tensors[i].name for i in sg.inputs if 0 <= i < len(sg.tensors)]
    if name in static:
        raise InputError(f"input {name!r} has no dynamic dimension: its shape is fixed")
    known = ", ".join(repr(n) for d in inputs for n in (d.name, *d.signature_names)) or "none"
    raise InputError(f"no input named {name!r}; the inputs with dynamic dimensions are: {known}")


def check_input_shape(model_input: DynamicInput, dims: Sequence[int]) -> tuple[int, ...]:
    """The shape, if the interpreter may be asked to resize `model_input` to it; else InputError
    saying why in one line."""
    dims = tuple(int(d) for d in dims)
    signature = model_input.signature
    what = f"input {model_input.name!r} {_signature_text(signature)}"
    if len(dims) != len(signature):
        raise InputError(f"{what} has {len(signature)} dimensions; the shape given, "
                         f"{_signature_text(dims)}, has {len(dims)}")
    for axis, (d, s) in enumerate(zip(dims, signature)):
        if d <= 0:
            raise InputError(f"{what}: dimension {axis} must be at least 1, not {d}")
        if s >= 0 and d != s:
            raise InputError(f"{what}: dimension {axis} is fixed at {s}; only the −1 dimensions can change "
                             f"(given {d})")
    elements = 1
    for d in dims:
        elements *= d
    if elements > MAX_INPUT_ELEMENTS:
        raise InputError(f"{what}: {_signature_text(dims)} is {elements:,} elements, more than the "
                         f"{MAX_INPUT_ELEMENTS:,} allowed")
    return dims


def _signature_text(dims: Sequence[int]) -> str:
    return "[" + ",".join(str(d) for d in dims) + "]"


def input_shapes(model: Model, specs: Iterable[str] = ()) -> dict[int, tuple[int, ...]]:
    """Subgraph 0's input tensor → the shape to resize it to: from `specs` ("NAME=1,144000"; a bare
    "1,144000" when one input is dynamic), the model's defaults for the inputs not named. Raises
    InputError when a spec is malformed, names no dynamic input, fails a check, when an input
    has a dimension neither the user nor the model sizes, or when all inputs together are too large.
    """
    inputs = dynamic_inputs(model)
    if not inputs:
        raise InputError("the model's inputs have no dynamic dimension: its shapes are already known")
    sg = model.subgraphs[0]
    given: dict[int, tuple[int, ...]] = {}
    for spec in specs:
        name, sep, dims_text = spec.rpartition("=")
        if not sep:
            if len(inputs) != 1:
                raise InputError(f"{spec!r}: the model has {len(inputs)} inputs with dynamic dimensions; "
                                 "name one, as NAME=1,144000")
            target = inputs[0]
        else:
            target = _find_input(inputs, sg, name.strip())
        if target.tensor in given:
            raise InputError(f"input {target.name!r} is given two shapes")
        given[target.tensor] = check_input_shape(target, _parse_dims(dims_text, f"input {target.name!r}"))
    shapes: dict[int, tuple[int, ...]] = {}
    for model_input in inputs:
        if model_input.tensor in given:
            shapes[model_input.tensor] = given[model_input.tensor]
            continue
        if not model_input.default_complete:
            raise InputError(f"input {model_input.name!r} {_signature_text(model_input.signature)} needs a shape: "
                             f"the model does not size it (give e.g. {_example(model_input)})")
        shapes[model_input.tensor] = check_input_shape(model_input, [int(d) for d in model_input.default
                                                                     if d is not None])
    total = sum(_elements(s) for s in shapes.values())
    if total > MAX_INPUT_ELEMENTS:
        raise InputError(f"the inputs together are {total:,} elements, more than the {MAX_INPUT_ELEMENTS:,} allowed")
    return shapes


def _example(model_input: DynamicInput) -> str:
    dims = ",".join(str(d) if d is not None else "N" for d in model_input.default)
    return f"--input-shape {model_input.label}={dims}"


def _elements(dims: Sequence[int]) -> int:
    n = 1
    for d in dims:
        n *= max(d, 0)
    return n


@dataclass(frozen=True)
class ResolvedShapes:
    """Subgraph 0's tensors as the interpreter shaped them after resizing the inputs.

    `shapes` holds every tensor whose shape the interpreter knows; `unresolved` those it left
    unknown (sized only while running, and the run did not size them). `run_shaped` are the
    tensors the interpreter sized only while running on zeros, which a data-dependent op may size
    differently on other values.
    """

    inputs: Mapping[int, tuple[int, ...]]  # input tensor -> the shape asked for
    shapes: Mapping[int, tuple[int, ...]]
    run_shaped: tuple[int, ...] = ()
    unresolved: tuple[int, ...] = ()
    run_error: str = ""  # why the run on zeros failed, when it was needed and failed
    notes: tuple[str, ...] = field(default=())

    def inputs_text(self, sg: Subgraph) -> str:
        return ", ".join(f"{sg.tensors[i].name}={','.join(str(d) for d in dims)}" for i, dims in self.inputs.items()
                         if 0 <= i < len(sg.tensors))


def dynamic_tensor_names(sg: Subgraph, indices: Sequence[int], limit: int = NAMED_TENSORS) -> str:
    """'a [1,80,-1], b [1,-1,512] and 293 more': a few dynamic tensors by name and signature."""
    named = [f"{elide_middle(sg.tensors[i].name, 48) or f't{i}'} {_signature_text(sg.tensors[i].shape_signature)}"
             for i in indices[:limit]]
    rest = len(indices) - len(named)
    return ", ".join(named) + (f" and {rest:,} more" if rest > 0 else "")
