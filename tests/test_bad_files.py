"""Malformed, truncated and hostile files: always one ModelError with a one-line message.

Never another exception, a hang, or a huge allocation. The fuzz part mutates
real models from ../shared/models; the targeted part edits one field of a real
model with the schema's object API and writes it back.

Work is bounded by counting it (function calls), not by timing it, so that the
bounds hold on any machine: a mutated file may cost at most WORK_FACTOR times what
its intact seed costs. (How fast files are read is benchmarks/bench_inspect.py's job.)
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tflite_inspector.core.errors import ModelError
from tflite_inspector.core.inspection.stats import model_stats
from tflite_inspector.core.inspection.summary import format_model_text, model_dict
from tflite_inspector.core.reading.reader import read_model_bytes
from tflite_inspector.core.reading.tensor_data import dequantize, tensor_array, tensor_stats

from .conftest import needs_shared, shared_model
from .graph_builder import pack, unpack

pytestmark = needs_shared

FUZZ_SEEDS = [
    "gh-mlcommons-tiny/kws_ref_model.tflite",
    "gh-google-coral-test_data/keras_lstm_mnist_ptq.tflite",
    "gh-tensorflow-tflite-micro/hello_world_int8.tflite",
    "gh-google-ai-edge-LiteRT/multi_signature_model.tflite",
    "gh-tensorflow-tflite-micro/audio_preprocessor_int8.tflite",
    "gh-tensorflow-tflite-support/test_model_nl_classifier_with_regex_tokenizer.tflite",
    "gh-tensorflow-examples/planestrike_tf_agents.tflite",
    "gh-google-ai-edge-LiteRT/static_w8_a16_quantized_attn_vec_einsum.tflite",
    "gh-tensorflow-tflite-micro/conv0.tflite",
    "edge_cases/tflm_fuzz_malicious_gather.tflite",
]
CASES_PER_SEED = 110  # 1,100 mutated models in all
# A mutated file may cost at most this many times the work of its intact seed. Mutations are
# seeded, so every run makes the same 1,100 files; the largest of them costs about 1.0 times its
# seed: the reader refuses bad counts and offsets before it iterates over them.
WORK_FACTOR = 10
INTERESTING_WORDS = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x80000001, 0x00010000, 0xFFFF, 0, 1, 127, 128]


class WorkExceeded(BaseException):
    """Raised inside the code under test when it exceeds its budget of calls. A BaseException,
    so that the reader's own guards (which turn any Exception into a ModelError) let it through."""


def count_calls(fn: Callable[[], object], budget: int | None = None) -> int:
    """The Python and C function calls made while `fn` runs: the work it did, whatever the speed
    of the machine. With a `budget`, the work is stopped (WorkExceeded) as soon as it exceeds it,
    so a file that would make the reader loop fails the test instead of hanging it."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1
            if budget is not None and calls > budget:
                raise WorkExceeded(calls)

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return calls


def _refused(data: bytes) -> None:
    """Read `data`, expecting the one ModelError."""
    with pytest.raises(ModelError):
        read_model_bytes(data)


def share_tables(data: bytes, rng: random.Random) -> bytes:
    """The DAG mutation: every entry of one vector of tables (a subgraph's operators or tensors,
    the model's buffers or subgraphs) pointed at the same table, as only a crafted file does."""
    buf = bytearray(data)
    model = schema.Model.GetRootAs(buf, 0)
    candidates = [model._tab.Offset(8), model._tab.Offset(12)]  # subgraphs, buffers
    places = [model._tab] * 2
    for i in range(model.SubgraphsLength()):
        sg = model.Subgraphs(i)
        candidates += [sg._tab.Offset(4), sg._tab.Offset(10)]  # tensors, operators
        places += [sg._tab] * 2
    choices = [(tab, o) for tab, o in zip(places, candidates) if o]
    tab, o = rng.choice(choices)
    start, n = tab.Vector(o), tab.VectorLen(o)
    if n < 2:
        return data
    target_at = start + 4 * rng.randrange(n)
    target = target_at + int.from_bytes(buf[target_at : target_at + 4], "little")
    for i in range(n):
        at = start + 4 * i
        if target > at:  # offsets are unsigned: only entries before the table can point at it
            buf[at : at + 4] = (target - at).to_bytes(4, "little")
    return bytes(buf)


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    kind = rng.randrange(6)
    if kind == 5:
        return share_tables(data, rng)
    if kind == 0:  # truncation
        return bytes(buf[: rng.randrange(len(buf))])
    if kind == 1:  # bit flips
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    elif kind == 2:  # an interesting 32-bit word somewhere (offsets, lengths, indices)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(0, len(buf) - 4) & ~3
            buf[i : i + 4] = rng.choice(INTERESTING_WORDS).to_bytes(4, "little")
    elif kind == 3:  # a zeroed or random run
        i = rng.randrange(len(buf))
        n = rng.randint(1, 64)
        filler = bytes(n) if rng.random() < 0.5 else bytes(rng.randrange(256) for _ in range(n))
        buf[i : i + n] = filler[: len(buf) - i]
    else:  # bytes moved from elsewhere in the file (valid-looking offsets in the wrong place)
        i, j = rng.randrange(len(buf)), rng.randrange(len(buf))
        n = rng.randint(4, 32)
        buf[i : i + n] = buf[j : j + n][: len(buf) - i]
    return bytes(buf)


def exercise(data: bytes) -> None:
    """Everything a user can do with a file; only ModelError may come out."""
    model = read_model_bytes(data, "fuzz.tflite")
    stats = model_stats(model)
    json.dumps(model_dict(model, stats), allow_nan=False)
    format_model_text(model, stats)
    for sg in model.subgraphs:
        for t in sg.tensors[:50]:
            if t.is_constant and t.dtype not in ("STRING", "RESOURCE", "VARIANT") and t.sparsity is None:
                tensor_array(model, t)
                tensor_stats(model, t)
                dequantize(model, t)


def _exercise_quietly(data: bytes) -> None:
    """exercise(), with its ModelError (checked separately) left out of the work count."""
    try:
        exercise(data)
    except ModelError:
        pass


def test_fuzz_mutated_real_models():
    rng = random.Random(20261123)
    seeds = [(name, shared_model(name).read_bytes()) for name in FUZZ_SEEDS]
    outcomes = {"read": 0, "refused": 0}
    for name, data in seeds:
        _exercise_quietly(data)  # once first, so lazy imports and caches are not counted as work
        budget = WORK_FACTOR * count_calls(lambda data=data: _exercise_quietly(data))
        for case in range(CASES_PER_SEED):
            mutated = mutate(data, rng)
            try:
                count_calls(lambda mutated=mutated: exercise(mutated), budget)
                outcomes["read"] += 1
            except ModelError as e:
                message = str(e)
                assert message and "\n" not in message, (name, case, message)
                outcomes["refused"] += 1
            except WorkExceeded:
                pytest.fail(f"{name} case {case}: more than {WORK_FACTOR} times the work of the intact file")
            except Exception as e:  # noqa: BLE001
                pytest.fail(f"{name} case {case}: {type(e).__name__}: {e} (not a ModelError)")
    total = outcomes["read"] + outcomes["refused"]
    assert total == len(FUZZ_SEEDS) * CASES_PER_SEED >= 1000
    # Both outcomes occur: the mutations reach past the header checks.
    assert outcomes["read"] > 50 and outcomes["refused"] > 50, outcomes


# -- targeted hostile edits of a real model ----------------------------------------


def _load_object_model(relative: str) -> schema.ModelT:
    return unpack(shared_model(relative).read_bytes())


SEED = "gh-mlcommons-tiny/vww_96_int8.tflite"


def _first_constant(m: schema.ModelT) -> schema.TensorT:
    return next(t for t in m.subgraphs[0].tensors if t.buffer and m.buffers[t.buffer].data is not None)


def test_repacked_model_still_reads():
    # The editing route itself is sound: an unedited round trip reads fine.
    model = read_model_bytes(pack(_load_object_model(SEED)))
    assert len(model.subgraphs[0].operators) == 31


def test_constant_claiming_2_31_elements():
    m = _load_object_model(SEED)
    t = _first_constant(m)
    t.shape = np.array([2**31 - 1, 1, 1, 1], dtype=np.int32)
    with pytest.raises(ModelError, match=r"2147483647 elements.*holds \d+ bytes"):
        read_model_bytes(pack(m))


def test_buffer_pointing_past_the_end():
    m = _load_object_model(SEED)
    t = _first_constant(m)
    buf = m.buffers[t.buffer]
    buf.data = None
    buf.offset, buf.size = 10**9, 1024  # external data far past the end of the file
    with pytest.raises(ModelError, match=rf"buffer {t.buffer}: .*past the end of the file"):
        read_model_bytes(pack(m))


def test_operator_input_out_of_range():
    m = _load_object_model(SEED)
    m.subgraphs[0].operators[3].inputs = np.array([0, 100000, -1], dtype=np.int32)
    with pytest.raises(ModelError, match=r"operator 3 \(DEPTHWISE_CONV_2D\) inputs: tensor 100000 is out of range"):
        read_model_bytes(pack(m))


def test_opcode_index_out_of_range():
    m = _load_object_model(SEED)
    m.subgraphs[0].operators[0].opcodeIndex = 77
    with pytest.raises(ModelError, match=r"operator 0: operator code 77 is out of range"):
        read_model_bytes(pack(m))


def test_tensor_buffer_index_out_of_range():
    m = _load_object_model(SEED)
    m.subgraphs[0].tensors[5].buffer = 123456
    with pytest.raises(ModelError, match=r"tensor 5: buffer 123456 is out of range"):
        read_model_bytes(pack(m))


def test_control_flow_reference_to_missing_subgraph():
    m = _load_object_model("gh-tulasiram58827-ocr_tflite/ocr_dr.tflite")
    op = next(o for o in m.subgraphs[0].operators if o.builtinOptionsType == schema.BuiltinOptions.WhileOptions)
    op.builtinOptions.bodySubgraphIndex = 42
    with pytest.raises(ModelError, match=r"option body_subgraph_index: subgraph 42 is out of range"):
        read_model_bytes(pack(m))


def test_huge_vector_length_is_refused_without_looping():
    intact = shared_model(SEED).read_bytes()
    data = bytearray(intact)
    # Find the tensors vector of subgraph 0 through the generated accessors and
    # overwrite its length with 2^31-1.
    model = schema.Model.GetRootAs(data, 0)
    sg = model.Subgraphs(0)
    o = sg._tab.Offset(4)
    length_at = sg._tab.Vector(o) - 4
    data[length_at : length_at + 4] = (2**31 - 1).to_bytes(4, "little")
    with pytest.raises(ModelError, match=r"tensor list claims 2147483647 entries"):
        read_model_bytes(bytes(data))
    # Refused before iterating: less work than reading the intact file's 89 tensors, not more.
    read_model_bytes(intact)  # once first, so lazy imports and caches are not counted as work
    reading = count_calls(lambda: read_model_bytes(intact))
    refusing = count_calls(lambda: _refused(bytes(data)), budget=reading)
    assert refusing < reading // 2, (refusing, reading)


def test_signature_tensor_out_of_range():
    m = _load_object_model("gh-google-ai-edge-LiteRT/multi_signature_model.tflite")
    m.signatureDefs[0].inputs[0].tensorIndex = 999
    with pytest.raises(ModelError, match=r"signature 0 .* input 0: tensor 999 is out of range"):
        read_model_bytes(pack(m))


def test_scale_and_zero_point_counts_differ():
    m = _load_object_model(SEED)
    q = m.subgraphs[0].tensors[0].quantization
    q.zeroPoint = np.array([0, 0], dtype=np.int64)
    with pytest.raises(ModelError, match="1 scales but 2 zero points"):
        read_model_bytes(pack(m))
